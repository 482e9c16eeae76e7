package run_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/run/runtest"
	"github.com/lpse/cadang/internal/sop/runlog"
)

type env struct {
	cfg  *jobs.Config
	clk  *clock.Fake
	bay  *runtest.Bay
	bk   *runtest.Backupper
	nt   *runtest.Notifier
	log  *runlog.Log
	r    *run.Runner
	a, b string // repository IDs of disk-A and disk-B
}

func newEnv(t *testing.T) *env {
	cfg, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, clk: clock.NewFake(time.Date(2026, 2, 2, 1, 0, 0, 0, time.UTC))}
	e.bay = runtest.NewBay(cfg)
	e.bk = &runtest.Backupper{Clock: e.clk, Took: 20 * time.Minute}
	e.nt = &runtest.Notifier{}
	e.log = runlog.Open(filepath.Join(t.TempDir(), "runlog.jsonl"), runlog.Options{Clock: e.clk, Host: "lpse", Operator: "budi"})
	e.r = &run.Runner{Config: cfg, Log: e.log, Opener: e.bay, Backupper: e.bk, Notifier: e.nt, Clock: e.clk}
	e.a, e.b = cfg.Jobs[0].Media[0].RepositoryID, cfg.Jobs[0].Media[1].RepositoryID
	return e
}

func records(t *testing.T, s *runtest.Repo) []runlog.Record {
	rs, err := runlog.StoreRecords(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestBackupRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.bay.Connect(e.a)
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := out.Record
	if rec.Result != runlog.OK || rec.Medium != "disk-A" || rec.RepositoryID != e.a || len(rec.Snapshots) != 2 ||
		rec.BytesAdded != 24<<20 || rec.DurationMS != (40*time.Minute).Milliseconds() || !rec.StandardMet || rec.Host != "lpse" {
		t.Fatalf("record: %+v", rec)
	}
	if got := records(t, e.bay.Repo(e.a)); len(got) != 1 || got[0].ID != rec.ID {
		t.Fatalf("repository copy: %+v", got)
	}
	if len(e.nt.Sent) != 0 {
		t.Fatal("notified an OK run")
	}
	// next day disk-B is due; disk-A is still connected: a media failure
	e.clk.Advance(24 * time.Hour)
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	var fe *run.FailedError
	if !errors.As(err, &fe) || out.Record.Failure != runlog.KindMedia || out.Record.Medium != "disk-B" ||
		out.Record.Note == nil || out.Record.Note.Code != "wrong-medium-known" ||
		!strings.Contains(runlog.MessageText(i18n.EN, &out.Record), "medium disk-A") || len(e.bk.Calls) != 2 {
		t.Fatalf("wrong medium: %v %+v", err, out.Record)
	}
	if len(e.nt.Sent) != 1 || e.nt.Sent[0].ID != out.Record.ID {
		t.Fatalf("not notified: %+v", e.nt.Sent)
	}
	if got := records(t, e.bay.Repo(e.a)); len(got) != 1 {
		t.Fatalf("wrote to the wrong medium: %d records", len(got))
	}
	// disk B connected: OK; it receives only its own records, not disk-A's
	// (whoever holds one medium's password must not read the others')
	e.bay.Connect(e.b)
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || out.Record.Medium != "disk-B" {
		t.Fatalf("%v %+v", err, out.Record)
	}
	if got := records(t, e.bay.Repo(e.b)); len(got) != 1 || got[0].ID != out.Record.ID {
		t.Fatalf("disk-B holds %d records, want its own (1)", len(got))
	}
	// no medium at all
	e.bay.Connect("")
	out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
	if out.Record.Failure != runlog.KindMedia || out.Record.Medium != "disk-C" {
		t.Fatalf("missing medium: %+v", out.Record)
	}
}

func TestFailureKinds(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong password gets a local record", func(t *testing.T) {
		e := newEnv(t)
		e.bay.OpenErr = runlog.Failf(runlog.KindWrongPassword, "no key found for the password")
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		if err == nil || out.Record.Failure != runlog.KindWrongPassword || out.Record.Seq != 1 {
			t.Fatalf("%v %+v", err, out.Record)
		}
		recs, _ := e.log.Records()
		if len(recs) != 1 {
			t.Fatal("no local record")
		}
	})
	t.Run("another medium with its own password is no wrong password", func(t *testing.T) {
		// Rotation disks at one mount point, each with its own password:
		// disk-B connected when disk-A is due.
		e := newEnv(t)
		for i := range e.cfg.Jobs[0].Media {
			e.cfg.Jobs[0].Media[i].PasswordFile = fmt.Sprintf("/etc/cadang/pw-%d", i)
		}
		e.bay.PasswordOf = map[string]string{e.a: "/etc/cadang/pw-0", e.b: "/etc/cadang/pw-1"}
		e.bay.Connect(e.b)
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		if err == nil || out.Record.Failure != runlog.KindMedia || out.Record.Note == nil || out.Record.Note.Code != "wrong-medium-known" ||
			!strings.Contains(runlog.MessageText(i18n.EN, &out.Record), "medium disk-B") || len(e.bk.Calls) != 0 {
			t.Fatalf("%v %+v", err, out.Record)
		}
		// The due disk, which only another medium's password opens, is
		// a wrong password for it, not a wrong medium.
		e.bay.Connect(e.a)
		e.bay.PasswordOf = map[string]string{e.a: "/etc/cadang/pw-1"}
		out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Failure != runlog.KindWrongPassword {
			t.Fatalf("%+v", out.Record)
		}
		// A password that opens nothing there stays a wrong password.
		e.bay.Connect(e.b)
		e.bay.PasswordOf = map[string]string{e.b: "/etc/cadang/other"}
		out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Failure != runlog.KindWrongPassword {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		e := newEnv(t)
		e.bay.OpenErr = errors.New("sftp: connection refused")
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Failure != runlog.KindRepoUnreachable {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("dump failed", func(t *testing.T) {
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Errs = map[string]error{"database": errors.New("pg_dump exited with status 1")}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Failure != runlog.KindDumpFailed || out.Record.Sources[1].Result != runlog.OK || len(out.Record.Snapshots) != 1 {
			t.Fatalf("%+v", out.Record)
		}
		// Well within its time, but a failed run did not do its work
		// within the standard (the monthly analysis's rule); neither does
		// the record the failure hook gets say so.
		if out.Record.StandardMet || len(e.nt.Sent) != 1 || e.nt.Sent[0].StandardMet {
			t.Errorf("a failed run within the standard: %+v", out.Record)
		}
	})
	t.Run("partial", func(t *testing.T) {
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Results = map[string]run.BackupResult{"upload": {Snapshot: "s", Skipped: []string{"/a", "/b"}}}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Result != runlog.Partial || out.Record.Failure != runlog.KindSourceUnreadable || len(out.Record.Errors) != 2 || len(e.nt.Sent) != 1 {
			t.Fatalf("%+v", out.Record)
		}
		if out.Record.StandardMet {
			t.Errorf("a partial run within the standard: %+v", out.Record)
		}
	})
	t.Run("partial beyond the snapshot's list", func(t *testing.T) {
		// More unreadable items than a snapshot lists: the count of the
		// rest reaches the source's record, its note and the errors.
		e := newEnv(t)
		e.bay.Connect(e.a)
		var listed []string
		for i := range 5000 { // a full list is thousands of items
			listed = append(listed, fmt.Sprintf("/srv/spse/upload/%d.pdf: permission denied", i))
		}
		e.bk.Results = map[string]run.BackupResult{"upload": {Snapshot: "s", Skipped: listed, Unlisted: 5000}}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		var up *runlog.Source
		for i := range out.Record.Sources {
			if out.Record.Sources[i].Name == "upload" {
				up = &out.Record.Sources[i]
			}
		}
		if out.Record.Result != runlog.Partial || up == nil || up.Skipped != 10000 || up.Note == nil || up.Note.Code != "files-unreadable" ||
			fmt.Sprint(up.Note.Args) != "[10000]" || !strings.HasPrefix(out.Record.Errors[0], "upload: 5000 item(s) that could not be read or changed while being read are counted but not named") {
			t.Fatalf("%+v %+v", out.Record, up)
		}
		// Only unlisted ones: still partial.
		e = newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Results = map[string]run.BackupResult{"upload": {Snapshot: "s", Unlisted: 7}}
		out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Result != runlog.Partial || out.Record.Failure != runlog.KindSourceUnreadable {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("changed while read", func(t *testing.T) {
		// A file that changed while it was read is in the snapshot as read:
		// the run log says so instead of calling it skipped.
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Results = map[string]run.BackupResult{"upload": {Snapshot: "s", Changed: []string{"/var/log/app.log: file changed while being read"}}}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Result != runlog.Partial || len(out.Record.Errors) != 1 ||
			!strings.Contains(out.Record.Errors[0], "changed during the backup, stored as read") || strings.Contains(out.Record.Errors[0], "skipped") {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("time standard exceeded", func(t *testing.T) {
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Took = 100 * time.Minute
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Result != runlog.Failed || out.Record.Failure != runlog.KindTimeStandard || out.Record.StandardMet || len(out.Record.Snapshots) != 2 {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bk.Errs = map[string]error{"database": fmt.Errorf("backup: %w", context.Canceled)}
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{})
		if out.Record.Failure != runlog.KindInterrupted {
			t.Fatalf("%+v", out.Record)
		}
	})
	t.Run("repository write fails", func(t *testing.T) {
		e := newEnv(t)
		e.bay.Connect(e.a)
		e.bay.Repo(e.a).FailSave = errors.New("no space left")
		out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
		if err != nil || len(out.Warnings) != 1 || !errors.Is(out.Warnings[0], runlog.ErrNotStored) {
			t.Fatalf("%v %v", err, out.Warnings)
		}
	})
}

func TestBeforeChangeAndFollowup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	job := &e.cfg.Jobs[0]
	e.bay.Connect(e.a)
	if _, err := e.r.Backup(ctx, "spse-prod", run.Options{}); err != nil { // disk-A due: ok, disk-B next
		t.Fatal(err)
	}
	e.clk.Advance(time.Hour)
	// Issue 15: a before-change backup took the next rotation slot, so the
	// disk due tomorrow was refused. It goes to the disk that is connected
	// (disk-A, though disk-B is due), is recorded as such, and leaves the
	// rotation where it was.
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{BeforeChange: "upgrade SPSE 4.5"})
	if err != nil || !out.Record.HasTag(runlog.TagBeforeChange) || out.Record.Reason != "upgrade SPSE 4.5" ||
		e.bk.Calls[len(e.bk.Calls)-1].Tags[0] != runlog.TagBeforeChange {
		t.Fatalf("%v %+v", err, out.Record)
	}
	if out.Record.Medium != job.Media[0].Name || out.Record.Note == nil || out.Record.Note.Code != "snapshots-saved-connected" {
		t.Fatalf("before-change backup: medium %q note %+v, want the connected %s", out.Record.Medium, out.Record.Note, job.Media[0].Name)
	}
	if due, err := e.r.DueMedium(job); err != nil || due.Name != job.Media[1].Name {
		t.Fatalf("after the before-change backup %q is due (%v), want %s still", due.Name, err, job.Media[1].Name)
	}
	if _, err := e.r.Followup(ctx, out.Record.ID, "nothing", nil); err == nil {
		t.Fatal("follow-up of an OK run accepted")
	}
	e.clk.Advance(time.Hour)
	failed, _ := e.r.Backup(ctx, "spse-prod", run.Options{}) // disk-B due, disk-A connected
	if failed.Record.Result != runlog.Failed || failed.Record.Failure != runlog.KindMedia {
		t.Fatalf("an ordinary run on the wrong disk: %+v", failed.Record)
	}
	f, err := e.r.Followup(ctx, failed.Record.ID[:15], "Jadwal rotasi ditempel di rak server", e.bay.Repo(e.a))
	if err != nil || f.Ref != failed.Record.ID || f.Op != runlog.OpFollowup {
		t.Fatalf("%v %+v", err, f)
	}
	// the failed run found disk-A; its follow-up is copied there with it
	if n := len(records(t, e.bay.Repo(e.a))); n != 4 {
		t.Fatalf("records in repository: %d", n)
	}
}

// TestFollowupMany: one follow-up of several failures of one cause gives
// each its own record; a run that is not a failure, among them, records
// nothing at all; a run named twice is followed up once.
func TestFollowupMany(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.bay.Connect(e.a)
	ok, err := e.r.Backup(ctx, "spse-prod", run.Options{}) // disk-A due: ok, disk-B next
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for range 2 {
		e.clk.Advance(time.Hour)
		out, _ := e.r.Backup(ctx, "spse-prod", run.Options{}) // disk-B due, disk-A connected
		if out.Record.Result != runlog.Failed {
			t.Fatalf("run on the wrong disk: %+v", out.Record)
		}
		failed = append(failed, out.Record.ID)
	}
	count := func() int {
		recs, err := e.r.Log.Records()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Op == runlog.OpFollowup {
				n++
			}
		}
		return n
	}
	o := run.FollowupOptions{Action: "jadwal rotasi ditempel di rak", Cause: "disk tertukar"}
	if recs, err := e.r.FollowupMany(ctx, []string{failed[0], ok.Record.ID, failed[1]}, o, nil); err == nil || len(recs) != 0 ||
		!strings.Contains(err.Error(), ok.Record.ID) {
		t.Fatalf("a follow-up naming an OK run: %v, %d records", err, len(recs))
	}
	if _, err := e.r.FollowupMany(ctx, []string{failed[0], "nope"}, o, nil); err == nil {
		t.Fatal("a follow-up naming an unknown run was accepted")
	}
	if n := count(); n != 0 {
		t.Fatalf("refused follow-ups recorded %d records", n)
	}
	recs, err := e.r.FollowupMany(ctx, []string{failed[1], failed[0][:15], failed[1]}, o, nil)
	if err != nil || len(recs) != 2 || recs[0].Ref != failed[1] || recs[1].Ref != failed[0] ||
		recs[0].Cause != o.Cause || recs[1].Message != o.Action || count() != 2 {
		t.Fatalf("%v %+v (%d in the log)", err, recs, count())
	}
}

func TestDo(t *testing.T) {
	e := newEnv(t)
	store := &runtest.Repo{RepoID: e.a}
	store.MemStore = e.bay.Repo(e.a).MemStore
	out, err := e.r.Do(context.Background(), runlog.OpCheck, "spse-prod", func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		rec.RepositoryID = e.a
		e.clk.Advance(time.Minute)
		return store, runlog.Failf(runlog.KindIntegrity, "pack 1234 damaged")
	})
	if err == nil || out.Record.Failure != runlog.KindIntegrity || out.Record.DurationMS != 60000 || len(e.nt.Sent) != 1 {
		t.Fatalf("%v %+v", err, out.Record)
	}
	// a raw error only: kept as it is, after a note that says it is one
	if out.Record.Note == nil || out.Record.Note.Code != runlog.NoteError || out.Record.Message != "pack 1234 damaged" {
		t.Fatalf("raw error: %+v %q", out.Record.Note, out.Record.Message)
	}
	// an error the note already says (Noted) is not copied into Message
	out, _ = e.r.Do(context.Background(), runlog.OpRestoreTest, "spse-prod", func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		rec.Note = runlog.NewNote("test-failed", 1, 3)
		return nil, runlog.Noted(runlog.Failf(runlog.KindIntegrity, "restore test: 1 of 3 checks failed"))
	})
	if out.Record.Failure != runlog.KindIntegrity || out.Record.Note.Code != "test-failed" || out.Record.Message != "" {
		t.Fatalf("noted error: %+v %q", out.Record.Note, out.Record.Message)
	}
	if n := len(records(t, store)); n != 1 {
		t.Fatalf("stored %d", n)
	}
}

// TestPingAndTextfile (issue 15): 'cadang run' pings the job's
// dead-man's switch at the start and with the result, a ping that fails is
// a warning and never fails the backup, and the monitoring textfile is
// rewritten after the run.
func TestPingAndTextfile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.cfg.Jobs[0].Notify.PingURL = "https://hc.example/uuid"
	prom := filepath.Join(t.TempDir(), "cadang.prom")
	e.cfg.Monitoring.Textfile = prom
	var events []string
	var pingErr error
	e.r.Ping = func(_ context.Context, url, event string, _ time.Duration, msg string) error {
		events = append(events, url+"|"+event)
		return pingErr
	}
	e.bay.Connect(e.a)
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || out.Record.Result != runlog.OK {
		t.Fatalf("%v %+v", err, out.Record)
	}
	if strings.Join(events, " ") != "https://hc.example/uuid|start https://hc.example/uuid|" {
		t.Errorf("pings of an ok run: %v", events)
	}
	b, err := os.ReadFile(prom)
	if err != nil || !strings.Contains(string(b), `cadang_last_backup_ok{job="spse-prod"} 1`) {
		t.Fatalf("textfile after the run: %v\n%s", err, b)
	}
	// disk-B is due, disk-A connected: failed; the ping says fail. A
	// ping service that is down is a warning only.
	events, pingErr = nil, errors.New("connection refused")
	e.clk.Advance(24 * time.Hour)
	out, _ = e.r.Backup(ctx, "spse-prod", run.Options{})
	if out.Record.Result != runlog.Failed || strings.Join(events, " ") != "https://hc.example/uuid|start https://hc.example/uuid|fail" {
		t.Errorf("failed run: %s, pings %v", out.Record.Result, events)
	}
	if len(out.Warnings) < 2 {
		t.Errorf("the failed pings are not warnings: %v", out.Warnings)
	}
	b, _ = os.ReadFile(prom)
	if !strings.Contains(string(b), `cadang_failures_total{job="spse-prod",kind="media"} 1`) {
		t.Errorf("textfile after the failed run:\n%s", b)
	}
}

// A plain `cadang backup` of one of the job's media (tag manual) is not
// the job's backup: neither its last success nor the rotation's last
// medium.
func TestManualBackupNotTheJobs(t *testing.T) {
	at := time.Date(2026, 2, 2, 2, 0, 0, 0, time.UTC)
	jobRun := runlog.Record{ID: "job", Op: runlog.OpBackup, Job: "spse-prod", Medium: "disk-A", Result: runlog.OK, End: at}
	manual := runlog.Record{ID: "manual", Op: runlog.OpBackup, Job: "spse-prod", Medium: "disk-B", Result: runlog.OK, End: at.Add(time.Hour),
		Tags: []string{runlog.TagManual}}
	recs := []runlog.Record{jobRun, manual}
	if last, ok := run.LastSuccess(recs, "spse-prod"); !ok || last.ID != "job" {
		t.Errorf("last success %q, want the job's run", last.ID)
	}
	if m := run.LastRotationMedium(recs, "spse-prod"); m != "disk-A" {
		t.Errorf("rotation's last medium %q, want disk-A", m)
	}
	if _, ok := run.LastSuccess(recs[1:], "spse-prod"); ok {
		t.Error("a manual backup alone is the job's last success")
	}
	// The runner's rotation too: disk-B is due after disk-A.
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.log.Append(ctx, jobRun, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.Append(ctx, manual, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := e.r.DueMedium(&e.cfg.Jobs[0]); err != nil || m.Name != "disk-B" {
		t.Errorf("due medium %q %v, want disk-B", m.Name, err)
	}
}
