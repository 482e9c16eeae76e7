package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

var day = time.Date(2026, 4, 10, 3, 0, 0, 0, time.UTC)

func rec(job string, op runlog.Operation, end time.Time, res runlog.Result, k runlog.FailureKind) runlog.Record {
	return runlog.Record{ID: job + end.Format("0102150405") + string(op), Job: job, Op: op, Start: end.Add(-time.Hour), End: end, Result: res, Failure: k}
}

func TestExitCodes(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	healthy := []runlog.Record{
		rec("spse-prod", runlog.OpBackup, day.Add(-24*time.Hour), runlog.OK, ""),
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -6), runlog.OK, ""),
		rec("server-security", runlog.OpRestoreTest, day.AddDate(0, -2, 0), runlog.OK, ""),
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
	}
	cases := []struct {
		name string
		recs []runlog.Record
		now  time.Time
		code int
		what string
	}{
		{"healthy", healthy, day.Add(time.Hour), ExitOK, ""},
		{"last run failed", append(append([]runlog.Record{}, healthy...), rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Failed, runlog.KindMedia)), day.Add(2 * time.Hour), ExitCritical, "backup-failed"},
		{"partial", append(append([]runlog.Record{}, healthy...), rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Partial, runlog.KindSourceUnreadable)), day.Add(2 * time.Hour), ExitWarning, "backup-partial"},
		{"backup overdue", healthy, day.Add(28 * time.Hour), ExitCritical, "backup-overdue"},
		{"restore test overdue", healthy[:4], day.AddDate(0, 0, 62).Add(-25 * time.Hour), ExitCritical, "restore-test-overdue"},
		{"never", nil, day, ExitCritical, "never-backed-up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(c, tc.recs, tc.now)
			if tc.name == "restore test overdue" {
				// only look at the restore-test problem of server-security
				found := false
				for _, p := range r.Jobs[1].Problems {
					found = found || p.What == tc.what
				}
				if !found {
					t.Fatalf("%+v", r.Jobs[1])
				}
				return
			}
			if got := r.ExitCode(); got != tc.code {
				t.Fatalf("exit %d, want %d: %+v", got, tc.code, r.Jobs)
			}
			if tc.what != "" && !strings.Contains(problems(r), tc.what) {
				t.Fatalf("want %s in %s", tc.what, problems(r))
			}
		})
	}
	r := Compute(c, healthy, day.Add(time.Hour))
	if want := day.AddDate(0, -1, 0).Add(90 * 24 * time.Hour); !r.Jobs[0].RestoreTestDue.Equal(want) {
		t.Errorf("restore test due %v, want %v", r.Jobs[0].RestoreTestDue, want)
	}
	var b bytes.Buffer
	r.WriteJSON(&b)
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["exit_code"].(float64) != 0 {
		t.Fatalf("json: %v %s", err, b.String())
	}
	b.Reset()
	Compute(c, cases[1].recs, day.Add(2*time.Hour)).WriteText(&b, i18n.ID, time.UTC)
	if !strings.Contains(b.String(), "KRITIS") || !strings.Contains(b.String(), "Media backup salah") {
		t.Fatalf("text:\n%s", b.String())
	}
}

func problems(r *Report) string {
	var s []string
	for _, j := range r.Jobs {
		for _, p := range j.Problems {
			s = append(s, j.Name+":"+p.What)
		}
	}
	return strings.Join(s, " ")
}
