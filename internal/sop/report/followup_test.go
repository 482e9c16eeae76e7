package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
)

// TestFollowupRuleShared: status and the monthly analysis (section 4) ask
// a follow-up of the same failed runs (runlog.Record.AsksFollowup). A
// restore that failed on a read-only target asks none in either (its
// minutes account for it); a restore that found damaged backup data
// (failure kind integrity) is a failed backup in step 5's sense and asks
// one in both. The monthly analysis listed every failed restore as open
// while status listed none.
func TestFollowupRuleShared(t *testing.T) {
	cfg, loc, at := offsiteConfig(t)
	job := cfg.Jobs[0].Name
	rec := func(id string, op runlog.Operation, h int, res runlog.Result, k runlog.FailureKind) runlog.Record {
		s := at.Add(time.Duration(h) * time.Hour)
		return runlog.Record{ID: id, Op: op, Job: job, Medium: "disk-A", Start: s, End: s.Add(10 * time.Minute), Result: res, Failure: k}
	}
	failedBackup := rec("failed-backup", runlog.OpBackup, 3, runlog.Failed, runlog.KindDumpFailed)
	fu := rec("fu-1", runlog.OpFollowup, 5, runlog.OK, "")
	fu.Ref, fu.Message = failedBackup.ID, "disk replaced"
	recs := []runlog.Record{
		rec("backup", runlog.OpBackup, 0, runlog.OK, ""),
		rec("read-only", runlog.OpRestore, 1, runlog.Failed, runlog.KindOther),
		rec("full-disk", runlog.OpRestore, 2, runlog.Failed, runlog.KindOutOfSpace),
		failedBackup, fu,
		rec("damaged", runlog.OpRestore, 6, runlog.Failed, runlog.KindIntegrity),
		rec("backup-2", runlog.OpBackup, 20, runlog.OK, ""),
	}
	now := at.Add(30 * time.Hour)
	st := status.Compute(cfg, recs, now)
	if got := st.Jobs[0].OpenFollowups; !slices.Equal(got, []string{"damaged"}) {
		t.Errorf("status: open follow-ups %v, want [damaged]", got)
	}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := Env{Config: cfg, Lang: l, Now: now}
		d, err := e.Monthly(recs, time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		var open, done []string
		for _, b := range d.Blocks {
			tb, ok := b.(doc.Table)
			if !ok || len(tb.Header) < 5 || tb.Header[0] != l.T("col.id") || tb.Header[3] != l.T("mon.fu_state") {
				continue
			}
			for _, r := range tb.Rows {
				if r[3] == l.T("mon.fu_open") {
					open = append(open, r[0])
				} else {
					done = append(done, r[0])
				}
			}
		}
		if !slices.Equal(open, st.Jobs[0].OpenFollowups) || !slices.Equal(done, []string{"failed-backup"}) {
			t.Errorf("%s monthly: open %v, done %v; want open as status has it (%v), done [failed-backup]", l, open, done, st.Jobs[0].OpenFollowups)
		}
		md := render(t, d).md
		if !strings.Contains(md, l.T("mon.fu_summary", 1, 1)) || !strings.Contains(md, l.T("mon.fu_restores", "read-only, full-disk")) {
			t.Errorf("%s monthly: no summary of 1 and 1, or no note of the restores that ask none:\n%s", l, md)
		}
	}
}
