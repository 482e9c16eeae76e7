package status

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// everyProblem is a report in which the jobs have between them every
// kind of problem that status reports, for the tests of its lines.
func everyProblem(t *testing.T) *Report {
	t.Helper()
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	c.Jobs[0].ActiveSince, c.Jobs[1].ActiveSince = time.Time{}, time.Time{}
	c.Jobs[0].Offsite = &jobs.Offsite{Name: "kominfo", Repository: "sftp://cadang@10.1.2.3/srv/cadang", MaxAge: jobs.Duration(48 * time.Hour)}
	c.Jobs[1].Offsite = &jobs.Offsite{Name: "bsn", Repository: "/mnt/bsn", MaxAge: jobs.Duration(48 * time.Hour)}
	now := day.Add(10 * 24 * time.Hour)
	copyOK := rec("spse-prod", runlog.OpCopy, day.Add(-24*time.Hour), runlog.OK, "")
	copyFailed := rec("spse-prod", runlog.OpCopy, day.Add(2*24*time.Hour), runlog.Failed, runlog.KindOffsite)
	copyOK.Tags, copyFailed.Tags = []string{runlog.TagOffsite}, []string{runlog.TagOffsite}
	recs := []runlog.Record{
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
		copyOK,
		copyFailed,
		rec("spse-prod", runlog.OpBackup, now.Add(-5*24*time.Hour), runlog.Failed, runlog.KindMedia),
		rec("spse-prod", runlog.OpBackup, now.Add(-2*time.Hour), runlog.Partial, runlog.KindSourceUnreadable),
	}
	r := Compute(c, recs, now)
	log := []runlog.Record{
		{Chain: "c", Seq: 1, ID: "r1", Logged: now.Add(-3 * time.Hour)},
		{Chain: "c", Seq: 2, ID: "r2", Logged: now.Add(-4 * time.Hour)},
		{Chain: "c", Seq: 3, ID: "r3", Logged: now.Add(90 * time.Minute)},
	}
	r.AddRunLog([]runlog.Finding{
		{Copy: "local", Problem: runlog.Reordered, Seq: 2, RecordID: "r2", Detail: "comes after record r1"},
		{Copy: "repository", Problem: runlog.NotCopied, Chain: "c", Seq: 3, RecordID: "r3", Warning: true, Detail: "not copied into this repository yet"},
		{Copy: "local", Problem: runlog.ClockBack, Chain: "c", Seq: 2, RecordID: "r2", Warning: true, Detail: "logged at an earlier time"},
	}, log)
	// A failed last backup, a backup and a restore test overdue: a
	// hundred days after the last backup that went well.
	later := Compute(c, []runlog.Record{
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
		rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Failed, runlog.KindMedia),
	}, day.Add(100*24*time.Hour))
	r.Jobs = append(r.Jobs, later.Jobs[0])
	return r
}

// TestWriteTextEveryProblem: the line of every problem, byte for byte,
// in both languages (testdata/every-problem.*.txt).
func TestWriteTextEveryProblem(t *testing.T) {
	r := everyProblem(t)
	zone, _ := time.LoadLocation("Asia/Makassar")
	for _, l := range []i18n.Lang{i18n.EN, i18n.ID} {
		var b bytes.Buffer
		if err := r.WriteText(&b, l, zone); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "every-problem."+string(l)+".txt")
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s: the lines differ from %s:\n%s", l, golden, b.String())
		}
	}
}

// TestClockMargin: a clock up to ClockMargin behind the newest record
// (another host's clock a little ahead, NTP still slewing) raises no
// clock-behind; a second more does.
func TestClockMargin(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ahead time.Duration // of the newest record's time over now
		want  string
	}{
		{-time.Second, ""},
		{0, ""},
		{time.Second, ""},
		{2 * time.Minute, ""},
		{2*time.Minute + time.Second, "clock-behind"},
		{time.Hour, "clock-behind"},
	} {
		r := &Report{At: now, Jobs: []Job{{Name: "a", Problems: []Problem{}}}}
		r.AddRunLog(nil, []runlog.Record{{Chain: "c", Seq: 1, ID: "r1", Logged: now.Add(-time.Hour)}, {Chain: "c", Seq: 2, ID: "r2", Logged: now.Add(tc.ahead)}})
		var got []string
		for _, p := range r.Jobs[0].Problems {
			got = append(got, p.What)
		}
		if fmt.Sprint(got) != fmt.Sprint(strings.Fields(tc.want)) {
			t.Errorf("newest record %v ahead of the clock: problems %v, want %q", tc.ahead, got, tc.want)
		}
	}
}
