package run_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/run/runtest"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
)

// maintEnv is newEnv with a fake Maintainer, a job that keeps 3 daily
// snapshots per source and prunes weekly, and disk-A connected (and alone
// in the rotation, so every run goes to it).
func maintEnv(t *testing.T) (*env, *runtest.Maintainer) {
	e := newEnv(t)
	mt := &runtest.Maintainer{Bay: e.bay, Result: prune.Result{Snapshots: 7, Deleted: prune.Counts{Packs: 2, Blobs: 9, Bytes: 5 << 20},
		MarkedUnused: prune.Counts{Packs: 1, Bytes: 1 << 20}}}
	e.r.Maintainer = mt
	j := &e.cfg.Jobs[0]
	j.Retention = jobs.Retention{Daily: 3}
	j.Prune.Every = jobs.Duration(7 * 24 * time.Hour)
	j.Media = j.Media[:1]
	e.bay.Connect(e.a)
	return e, mt
}

func recOf(t *testing.T, out run.Outcome, op runlog.Operation) runlog.Record {
	t.Helper()
	for _, r := range out.Maintenance {
		if r.Op == op {
			return r
		}
	}
	t.Fatalf("no %s record in %+v", op, out.Maintenance)
	return runlog.Record{}
}

func TestRetentionAfterBackup(t *testing.T) {
	e, mt := maintEnv(t)
	ctx := context.Background()
	now := e.clk.Now()
	day := 24 * time.Hour
	// Ten days of the job's snapshots of both sources (at 01:00 UTC,
	// 09:00 WITA), plus what retention must never touch.
	var upload, database []string
	for d := 10; d >= 1; d-- {
		at := now.Add(-time.Duration(d) * day)
		upload = append(upload, mt.Add(e.a, at, []string{"/home/appserv/file_upload"}, "job:spse-prod", "source:upload"))
		database = append(database, mt.Add(e.a, at, []string{"/epns_prod.dump"}, "job:spse-prod", "source:database"))
	}
	other := mt.Add(e.a, now.Add(-300*day), []string{"/etc"}, "job:server-security", "source:source1")
	manual := mt.Add(e.a, now.Add(-300*day), []string{"/home/appserv/file_upload"})
	noSource := mt.Add(e.a, now.Add(-300*day), []string{"/x"}, "job:spse-prod")
	beforeChange := mt.Add(e.a, now.Add(-20*day), []string{"/home/appserv/file_upload"}, "job:spse-prod", "source:upload", runlog.TagBeforeChange)
	oldBeforeChange := mt.Add(e.a, now.Add(-200*day), []string{"/home/appserv/file_upload"}, "job:spse-prod", "source:upload", runlog.TagBeforeChange)

	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || out.Record.Result != runlog.OK {
		t.Fatalf("backup: %v %+v", err, out.Record)
	}
	if len(out.Maintenance) != 2 {
		t.Fatalf("want a forget and a prune record, got %+v", out.Maintenance)
	}
	fr := recOf(t, out, runlog.OpForget)
	if fr.Result != runlog.OK || fr.Ref != out.Record.ID || fr.Medium != "disk-A" || fr.RepositoryID != e.a || fr.Forget == nil ||
		fr.Forget.Zone != "Asia/Makassar" || fr.Forget.Policy.Daily != 3 || fr.Forget.Policy.ProtectMS != (90*day).Milliseconds() {
		t.Fatalf("forget record: %+v", fr)
	}
	// Per source: the 3 newest days stay, the 7 older go; the protected
	// before-change backup stays, the one older than 90 days goes.
	ids := mt.IDs(e.a)
	for _, keep := range append(append([]string{other, manual, noSource, beforeChange}, upload[7:]...), database[7:]...) {
		if !ids[keep] {
			t.Errorf("snapshot %.8s was removed", keep)
		}
	}
	gone := append(append([]string{oldBeforeChange}, upload[:7]...), database[:7]...)
	for _, id := range gone {
		if ids[id] {
			t.Errorf("snapshot %.8s was kept", id)
		}
	}
	if len(fr.Forget.Removed) != len(gone) || len(fr.Snapshots) != len(gone) || len(fr.Forget.Kept) != 7 || fr.Forget.Protected != 1 {
		t.Fatalf("forget info: removed %d kept %d protected %d", len(fr.Forget.Removed), len(fr.Forget.Kept), fr.Forget.Protected)
	}
	for _, it := range fr.Forget.Removed {
		if it.Time.IsZero() || it.Source == "" || len(it.Reasons) != 1 || it.Reasons[0] != runlog.ReasonNotKept {
			t.Fatalf("removed item: %+v", it)
		}
	}
	protected := false
	for _, it := range fr.Forget.Kept {
		if it.Snapshot == beforeChange && len(it.Reasons) == 1 && it.Reasons[0] == "protected: before-change" {
			protected = true
		}
	}
	if !protected {
		t.Fatalf("before-change backup not kept as protected: %+v", fr.Forget.Kept)
	}
	if got := runlog.MessageText(i18n.EN, &fr); got != "Retention applied: 15 snapshots removed, 7 kept" {
		t.Fatalf("forget note: %q", got)
	}
	pr := recOf(t, out, runlog.OpPrune)
	if pr.Result != runlog.OK || pr.Prune == nil || pr.Prune.DeletedPacks != 2 || pr.Prune.DeletedBytes != 5<<20 || pr.Prune.MarkedPacks != 1 ||
		pr.Prune.EveryMS != (7*day).Milliseconds() || len(mt.Prunes) != 1 {
		t.Fatalf("prune record: %+v %+v", pr, pr.Prune)
	}
	// Both records are in the run log and on the medium.
	if got := records(t, e.bay.Repo(e.a)); len(got) != 3 || got[1].Op != runlog.OpForget || got[2].Op != runlog.OpPrune {
		t.Fatalf("repository records: %+v", got)
	}

	// The next day: retention again, but no prune (every 7d).
	e.clk.Advance(day)
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || len(out.Maintenance) != 1 || out.Maintenance[0].Op != runlog.OpForget || len(mt.Prunes) != 1 {
		t.Fatalf("day 2: %v %+v", err, out.Maintenance)
	}
	// A week after the first prune: prune again.
	e.clk.Advance(6 * day)
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || len(out.Maintenance) != 2 || len(mt.Prunes) != 2 {
		t.Fatalf("day 8: %v %+v", err, out.Maintenance)
	}
}

func TestRetentionOnlyAfterSuccess(t *testing.T) {
	e, mt := maintEnv(t)
	ctx := context.Background()
	id := mt.Add(e.a, e.clk.Now().Add(-100*24*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
	for d := 1; d <= 4; d++ {
		// newer days, so that the policy (3 daily) has the old one go
		mt.Add(e.a, e.clk.Now().Add(-time.Duration(d)*24*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
	}
	e.bk.Errs = map[string]error{"database": errors.New("pg_dump exited with status 1")}
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err == nil || out.Record.Result != runlog.Failed || len(out.Maintenance) != 0 || mt.ForgetCalls != 0 || len(mt.Prunes) != 0 || !mt.IDs(e.a)[id] {
		t.Fatalf("failed backup: %v %+v, forget %d prune %v", err, out.Maintenance, mt.ForgetCalls, mt.Prunes)
	}
	// A partial backup is a success: retention runs.
	e.bk.Errs = nil
	e.bk.Results = map[string]run.BackupResult{"upload": {Snapshot: "s", Skipped: []string{"/a"}}}
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	var fe *run.FailedError
	if !errors.As(err, &fe) || fe.Record.Result != runlog.Partial || len(out.Maintenance) != 2 || mt.IDs(e.a)[id] {
		t.Fatalf("partial backup: %v %+v", err, out.Maintenance)
	}
	// No Maintainer, or no retention and no prune: nothing.
	e2 := newEnv(t)
	e2.bay.Connect(e2.a)
	if out, err := e2.r.Backup(ctx, "spse-prod", run.Options{}); err != nil || len(out.Maintenance) != 0 {
		t.Fatalf("without maintainer: %v %+v", err, out.Maintenance)
	}
	e3, mt3 := maintEnv(t)
	e3.cfg.Jobs[0].Retention = jobs.Retention{}
	e3.cfg.Jobs[0].Prune = jobs.Prune{}
	if out, err := e3.r.Backup(ctx, "spse-prod", run.Options{}); err != nil || len(out.Maintenance) != 0 || mt3.ForgetCalls != 0 {
		t.Fatalf("without retention: %v %+v", err, out.Maintenance)
	}
}

func TestRetentionFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("forget fails", func(t *testing.T) {
		e, mt := maintEnv(t)
		mt.ForgetErr = errors.New("remove snapshot: input/output error")
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		var me *run.MaintenanceError
		if !errors.As(err, &me) || me.Record.Op != runlog.OpForget || out.Record.Result != runlog.OK {
			t.Fatalf("%v %+v", err, out.Record)
		}
		fr := recOf(t, out, runlog.OpForget)
		if fr.Result != runlog.Failed || fr.Failure != runlog.KindRetention || fr.Message == "" || len(e.nt.Sent) != 1 || e.nt.Sent[0].Op != runlog.OpForget {
			t.Fatalf("forget record %+v, sent %+v", fr, e.nt.Sent)
		}
		// The backup record in the log stays OK, and the prune still ran.
		recs, _ := e.log.Records()
		if recs[0].Op != runlog.OpBackup || recs[0].Result != runlog.OK || recOf(t, out, runlog.OpPrune).Result != runlog.OK {
			t.Fatalf("records: %+v", recs)
		}
	})
	t.Run("forgotten not recorded", func(t *testing.T) {
		// Storage of an older cadang serve keeps no forgotten records:
		// the retention is done, and its record says that a copy into
		// the medium may bring the removed snapshots back.
		e, mt := maintEnv(t)
		mt.ForgottenErr = errors.New(`unknown file type "forgotten"`)
		for d := 5; d >= 1; d-- {
			mt.Add(e.a, e.clk.Now().Add(-time.Duration(d)*24*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
		}
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		if err != nil || out.Record.Result != runlog.OK {
			t.Fatalf("%v %+v", err, out.Record)
		}
		fr := recOf(t, out, runlog.OpForget)
		if fr.Result != runlog.OK || fr.Forget == nil || !fr.Forget.NotRecorded || len(fr.Forget.Removed) != 2 || len(fr.Forget.Failed) != 0 {
			t.Fatalf("forget record %+v %+v", fr, fr.Forget)
		}
		if got := runlog.MessageText(i18n.EN, &fr); fr.Note.Code != "forget-done" || !strings.HasPrefix(got, "Retention applied: 2 snapshots removed, 3 kept; the removals could not be recorded on this medium") {
			t.Fatalf("forget note: %q", got)
		}
		warned := false
		for _, w := range out.Warnings {
			warned = warned || errors.Is(w, snapshot.ErrNotRecorded) && strings.Contains(w.Error(), "medium disk-A")
		}
		if !warned {
			t.Fatalf("warnings: %v", out.Warnings)
		}
		if ids := mt.IDs(e.a); len(ids) != 3 {
			t.Fatalf("%d snapshots left", len(ids))
		}
	})
	t.Run("a removal fails and nothing is recorded", func(t *testing.T) {
		// Not every removal done: a failed retention, whether or not
		// the record of the done ones could be saved.
		e, mt := maintEnv(t)
		mt.ForgottenErr = errors.New(`unknown file type "forgotten"`)
		mt.RemoveErr, mt.RemoveAt = errors.New("remove: input/output error"), 2
		for d := 5; d >= 1; d-- {
			mt.Add(e.a, e.clk.Now().Add(-time.Duration(d)*24*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
		}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		fr := recOf(t, out, runlog.OpForget)
		if fr.Result != runlog.Failed || fr.Note == nil || fr.Note.Code != "forget-failed" || fr.Forget.NotRecorded ||
			len(fr.Forget.Removed) != 1 || len(fr.Forget.Failed) != 1 {
			t.Fatalf("forget record %+v %+v", fr, fr.Forget)
		}
	})
	t.Run("prune locked", func(t *testing.T) {
		e, mt := maintEnv(t)
		mt.PruneErr = runlog.Failf(runlog.KindLock, "repository is locked by another prune")
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		pr := recOf(t, out, runlog.OpPrune)
		var me *run.MaintenanceError
		if !errors.As(err, &me) || pr.Failure != runlog.KindLock || out.Record.Result != runlog.OK {
			t.Fatalf("%v %+v", err, pr)
		}
		// A failed prune is no prune: the next run tries again.
		e.clk.Advance(24 * time.Hour)
		mt.PruneErr = nil
		out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
		if recOf(t, out, runlog.OpPrune).Result != runlog.OK || len(mt.Prunes) != 2 {
			t.Fatalf("retry: %+v", out.Maintenance)
		}
	})
	t.Run("prune fails", func(t *testing.T) {
		e, mt := maintEnv(t)
		mt.PruneErr = errors.New("boom")
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if pr := recOf(t, out, runlog.OpPrune); pr.Failure != runlog.KindPrune || pr.Message != "boom" {
			t.Fatalf("%+v", pr)
		}
	})
}

// TestPruneRecordsForeignSnapshotFiles: a prune that passed over junk in
// snapshots/ (not written with the repository's key) records how many,
// and the run's notice warns of it: someone without the key wrote to the
// medium's storage, which the administrator must hear of, not only cron.
func TestPruneRecordsForeignSnapshotFiles(t *testing.T) {
	e, mt := maintEnv(t)
	mt.Result.ForeignSnapshots = []repo.ID{{1}, {2}}
	out, err := e.r.Backup(context.Background(), "spse-prod", run.Options{})
	if err != nil || out.Record.Result != runlog.OK {
		t.Fatalf("backup: %v %+v", err, out.Record)
	}
	pr := recOf(t, out, runlog.OpPrune)
	if pr.Result != runlog.OK || pr.Prune == nil || pr.Prune.ForeignSnapshotFiles != 2 {
		t.Fatalf("prune record: %+v %+v", pr, pr.Prune)
	}
	found := false
	for _, w := range out.Warnings {
		found = found || strings.Contains(w.Error(), "medium disk-A: prune passed over 2 snapshot file(s) not written with the repository's key")
	}
	if !found {
		t.Errorf("warnings: %v", out.Warnings)
	}
}
