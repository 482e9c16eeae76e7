package monitor

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

func TestTextfile(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
	ok := runlog.Record{ID: "b1", Job: "spse-prod", Op: runlog.OpBackup, Start: day.Add(-10 * time.Minute), End: day, DurationMS: 600_000,
		Result: runlog.OK, BytesAdded: 4096}
	failed := runlog.Record{ID: "b2", Job: "spse-prod", Op: runlog.OpBackup, Start: day.Add(23 * time.Hour), End: day.Add(24 * time.Hour),
		Result: runlog.Failed, Failure: runlog.KindMedia}
	test := runlog.Record{ID: "t1", Job: "spse-prod", Op: runlog.OpRestoreTest, End: day.Add(-48 * time.Hour), Result: runlog.OK}
	now := day.Add(25 * time.Hour)
	out := string(Textfile(c, []runlog.Record{test, ok, failed}, nil, now))
	for _, want := range []string{
		`cadang_last_success_timestamp_seconds{job="spse-prod"} ` + itoa(day.Unix()),
		`cadang_last_backup_ok{job="spse-prod"} 0`,
		`cadang_failures_total{job="spse-prod",kind="media"} 1`,
		`cadang_restore_test_age_seconds{job="spse-prod"} ` + itoa(int64((73 * time.Hour).Seconds())),
		`cadang_job_state{job="spse-prod"} 2`,
		`cadang_textfile_written_timestamp_seconds ` + itoa(now.Unix()),
		"# TYPE cadang_failures_total counter",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("textfile lacks %q:\n%s", want, out)
		}
	}
	// Every line is a comment or a sample of the text format.
	sample := regexp.MustCompile(`^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?$`)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "# ") && !sample.MatchString(l) {
			t.Errorf("not a sample line: %q", l)
		}
	}
	p := filepath.Join(t.TempDir(), "cadang.prom")
	if err := WriteTextfile(p, c, []runlog.Record{ok}, nil, now); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("%v %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".cadang-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTextfileRunLogState: the job's state counts what the run log says
// of itself, as 'cadang status' does: a log with an error (no head reaches
// the repositories) makes a job that is otherwise ok a warning.
func TestTextfileRunLogState(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
	recs := []runlog.Record{
		{ID: "t1", Job: "spse-prod", Op: runlog.OpRestoreTest, End: day.Add(-48 * time.Hour), Result: runlog.OK},
		{ID: "b1", Job: "spse-prod", Op: runlog.OpBackup, Start: day.Add(-10 * time.Minute), End: day, Result: runlog.OK},
	}
	now := day.Add(time.Hour)
	if out := string(Textfile(c, recs, nil, now)); !strings.Contains(out, `cadang_job_state{job="spse-prod"} 0`+"\n") {
		t.Fatalf("without findings the job is not ok:\n%s", out)
	}
	bad := []runlog.Finding{{Copy: "local", Problem: runlog.Reordered, Seq: 2, RecordID: "b1", Detail: "comes after record t1"}}
	if out := string(Textfile(c, recs, bad, now)); !strings.Contains(out, `cadang_job_state{job="spse-prod"} 1`+"\n") {
		t.Fatalf("a run log with problems does not make the job a warning:\n%s", out)
	}
}
