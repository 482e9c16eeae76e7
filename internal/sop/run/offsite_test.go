package run_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/run/runtest"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/copier"
)

// fakeCopier copies snapshots of the fake Maintainer's stores to a fake
// offsite repository by their IDs.
type fakeCopier struct {
	mt               *runtest.Maintainer
	offsite          *runtest.Repo
	openErr, copyErr error
	there            map[string]bool // source snapshot IDs on the offsite
	unreadable       map[string]bool // source snapshot IDs that fail alone, as a damaged one does
	forgotten        map[string]bool // source snapshot IDs the offsite forgot
	calls            [][]string      // the snapshots each Copy was given
}

func (c *fakeCopier) OpenOffsite(_ context.Context, o jobs.Offsite) (run.Repository, error) {
	if c.openErr != nil {
		return nil, c.openErr
	}
	return c.offsite, nil
}

func (c *fakeCopier) Snapshots(ctx context.Context, r run.Repository) ([]*snapshot.Snapshot, error) {
	return c.mt.Snapshots(ctx, r)
}

func (c *fakeCopier) Copy(_ context.Context, dst, src run.Repository, sns []*snapshot.Snapshot) (copier.Result, error) {
	var res copier.Result
	var inc copier.IncompleteError
	var ids []string
	for _, sn := range sns {
		id := sn.ID()
		ids = append(ids, id.String())
		if c.there[id.String()] {
			res.Skipped++
			res.Snapshots = append(res.Snapshots, copier.SnapshotResult{Source: id, Dest: id, Skipped: true})
			continue
		}
		if c.forgotten[id.String()] {
			res.NotAgain++
			res.Snapshots = append(res.Snapshots, copier.SnapshotResult{Source: id, Forgotten: time.Unix(1, 0)})
			continue
		}
		if c.copyErr != nil {
			c.calls = append(c.calls, ids)
			return res, c.copyErr
		}
		if c.unreadable[id.String()] {
			err := fmt.Errorf("snapshot %s: data/ab is damaged", id.Short())
			inc.Failed = append(inc.Failed, copier.SnapshotResult{Source: id, Error: err.Error()})
			inc.Errs = append(inc.Errs, err)
			res.Failed++
			res.Snapshots = append(res.Snapshots, inc.Failed[len(inc.Failed)-1])
			continue
		}
		c.there[id.String()] = true
		res.Copied++
		res.DataBlobs += 3
		res.Bytes += 1 << 20
		res.Snapshots = append(res.Snapshots, copier.SnapshotResult{Source: id, Dest: id})
	}
	c.calls = append(c.calls, ids)
	if len(inc.Failed) > 0 {
		return res, &inc
	}
	return res, nil
}

const offsiteID = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

func offsiteEnv(t *testing.T) (*env, *runtest.Maintainer, *fakeCopier) {
	e, mt := maintEnv(t)
	c := &fakeCopier{mt: mt, offsite: &runtest.Repo{RepoID: offsiteID, MemStore: runlogtest.New()}, there: map[string]bool{}}
	e.r.Copier = c
	e.cfg.Jobs[0].Offsite = &jobs.Offsite{Name: "kominfo", Repository: "s3:https://s3.kominfo.example/offsite", PasswordFile: "p",
		MaxAge: jobs.Duration(48 * time.Hour)}
	return e, mt, c
}

func TestOffsiteCopyAfterBackup(t *testing.T) {
	e, mt, c := offsiteEnv(t)
	ctx := context.Background()
	now := e.clk.Now()
	mine := []string{
		mt.Add(e.a, now.Add(-2*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database"),
		mt.Add(e.a, now.Add(-time.Hour), []string{"/home/appserv/file_upload"}, "job:spse-prod", "source:upload"),
	}
	mt.Add(e.a, now.Add(-time.Hour), []string{"/etc"}, "job:server-security", "source:source1")
	mt.Add(e.a, now.Add(-time.Hour), []string{"/tmp/by-hand"})

	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || out.Record.Result != runlog.OK {
		t.Fatalf("backup: %v %+v", err, out.Record)
	}
	// forget, prune, then the copy.
	if len(out.Maintenance) != 3 || out.Maintenance[0].Op != runlog.OpForget || out.Maintenance[1].Op != runlog.OpPrune || out.Maintenance[2].Op != runlog.OpCopy {
		t.Fatalf("records after the backup: %+v", out.Maintenance)
	}
	cr := out.Maintenance[2]
	if cr.Result != runlog.OK || !cr.HasTag(runlog.TagOffsite) || cr.Medium != "kominfo" || cr.RepositoryID != offsiteID || cr.Ref != out.Record.ID ||
		cr.Copy == nil || cr.Copy.FromID != e.a || cr.Copy.Copied != 2 || cr.Copy.DataBlobs != 6 || cr.TimeStandard != run.CopyStandard.Milliseconds() {
		t.Fatalf("copy record: %+v %+v", cr, cr.Copy)
	}
	if got := runlog.MessageText(i18n.EN, &cr); got != "2 snapshot(s) copied to offsite medium kominfo, 0 already there; 6 new blobs uploaded" {
		t.Errorf("message: %q", got)
	}
	// Only the job's snapshots go offsite.
	if len(c.calls) != 1 || strings.Join(c.calls[0], ",") != strings.Join(mine, ",") && strings.Join(c.calls[0], ",") != mine[1]+","+mine[0] {
		t.Fatalf("copied %v, want the job's %v", c.calls, mine)
	}
	// The record is in the offsite repository too.
	found := false
	for _, r := range records(t, c.offsite) {
		found = found || r.ID == cr.ID
	}
	if !found {
		t.Error("the copy record is not in the offsite repository")
	}
	// And on the medium it read, which it concerns too (copy.from_id):
	// the medium may be taken away before the next run opens it.
	found = false
	for _, r := range records(t, e.bay.Repo(e.a)) {
		found = found || r.ID == cr.ID
	}
	if !found {
		t.Error("the copy record is not on the medium it copied from")
	}
	recs, _ := e.log.Records()
	if last, ok := run.LastOffsite(recs, "spse-prod"); !ok || last.ID != cr.ID {
		t.Errorf("LastOffsite: %v %+v", ok, last)
	}

	// The next run sends only what is new.
	e.clk.Advance(24 * time.Hour)
	third := mt.Add(e.a, e.clk.Now(), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	cr = recOf(t, out, runlog.OpCopy)
	if err != nil || cr.Copy.Copied != 1 || cr.Copy.Skipped != 2 || len(cr.Snapshots) != 1 || cr.Snapshots[0] != third {
		t.Fatalf("second copy: %v %+v %+v", err, cr, cr.Copy)
	}
}

func TestOffsiteCopyFailures(t *testing.T) {
	ctx := context.Background()
	var offErr *run.OffsiteError
	var fe *run.FailedError

	// Unreachable: a failed copy record of its own kind; the backup stands.
	e, mt, c := offsiteEnv(t)
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	c.openErr = errors.New("dial tcp 10.1.2.3:443: connect: connection refused")
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	cr := recOf(t, out, runlog.OpCopy)
	if out.Record.Result != runlog.OK || !errors.As(err, &offErr) || !errors.As(err, &fe) || fe.Record.ID != cr.ID {
		t.Fatalf("backup %+v, err %v", out.Record, err)
	}
	if cr.Result != runlog.Failed || cr.Failure != runlog.KindOffsite || cr.Note.Code != "offsite-open-failed" ||
		!strings.Contains(runlog.MessageText(i18n.ID, &cr), "Media offsite kominfo") || !strings.Contains(cr.Message, "connection refused") {
		t.Fatalf("copy record: %+v", cr)
	}
	if len(c.calls) != 0 {
		t.Fatal("copied with no offsite open")
	}
	if n := len(e.nt.Sent); n == 0 || e.nt.Sent[n-1].ID != cr.ID {
		t.Error("the failed copy was not notified")
	}
	recs, _ := e.log.Records()
	if _, ok := run.LastOffsite(recs, "spse-prod"); ok {
		t.Error("a failed copy counts as the last offsite copy")
	}

	// The wrong repository at the location: nothing is copied.
	e, mt, c = offsiteEnv(t)
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	e.cfg.Jobs[0].Offsite.RepositoryID = strings.Repeat("f", 64)
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	cr = recOf(t, out, runlog.OpCopy)
	if !errors.As(err, &offErr) || cr.Failure != runlog.KindOffsite || cr.Note.Code != "offsite-wrong-id" || len(c.calls) != 0 || cr.RepositoryID != offsiteID {
		t.Fatalf("wrong offsite: %v %+v calls %v", err, cr, c.calls)
	}

	// A copy that breaks off: failed, with what was copied.
	e, mt, c = offsiteEnv(t)
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	c.copyErr = errors.New("s3: PUT data/ab: 503 Slow Down (gave up after 5m)")
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	cr = recOf(t, out, runlog.OpCopy)
	if !errors.As(err, &offErr) || cr.Failure != runlog.KindOffsite || cr.Note.Code != "offsite-failed" {
		t.Fatalf("broken copy: %v %+v", err, cr)
	}

	// A damaged old snapshot on the medium fails the copy record, but the
	// snapshots after it are copied, and only they are listed.
	e, mt, c = offsiteEnv(t)
	old := mt.Add(e.a, e.clk.Now().Add(-48*time.Hour), []string{"/x"}, "job:spse-prod", "source:upload")
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	c.unreadable = map[string]bool{old: true}
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	cr = recOf(t, out, runlog.OpCopy)
	if !errors.As(err, &offErr) || cr.Result != runlog.Failed || cr.Failure != runlog.KindOffsite || cr.Note.Code != "offsite-failed" ||
		!strings.Contains(cr.Message, old[:8]) {
		t.Fatalf("copy past a damaged snapshot: %v %+v", err, cr)
	}
	if cr.Copy == nil || cr.Copy.Copied != 1 || len(cr.Snapshots) != 1 {
		t.Fatalf("copy past a damaged snapshot: copied %+v, snapshots %v", cr.Copy, cr.Snapshots)
	}
	for _, id := range cr.Snapshots {
		if id == old || strings.Trim(id, "0") == "" {
			t.Errorf("the damaged snapshot is listed as copied: %v", cr.Snapshots)
		}
	}

	// A failed retention outranks a failed copy (exit 1, not 3); both are recorded.
	e, mt, c = offsiteEnv(t)
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	mt.ForgetErr = errors.New("remove snapshot: read-only file system")
	c.openErr = errors.New("no route to host")
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	var me *run.MaintenanceError
	if !errors.As(err, &me) || errors.As(err, &offErr) || recOf(t, out, runlog.OpCopy).Failure != runlog.KindOffsite {
		t.Fatalf("forget and copy failed: %v %+v", err, out.Maintenance)
	}

	// A failed backup is not copied.
	e, _, c = offsiteEnv(t)
	e.bay.Connect("")
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	if !errors.As(err, &fe) || errors.As(err, &offErr) || len(out.Maintenance) != 0 || len(c.calls) != 0 {
		t.Fatalf("failed backup: %v %+v", err, out.Maintenance)
	}

	// Without retention or prune (no Maintainer), the copy still runs.
	e, mt, c = offsiteEnv(t)
	mt.Add(e.a, e.clk.Now(), []string{"/x"}, "job:spse-prod", "source:upload")
	e.r.Maintainer = nil
	out, err = e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil || len(out.Maintenance) != 1 || out.Maintenance[0].Op != runlog.OpCopy || len(c.calls) != 1 {
		t.Fatalf("copy without maintenance: %v %+v", err, out.Maintenance)
	}
}

// Snapshots the offsite forgot are not copied again, and the record and its
// message say how many, so that an administrator or auditor sees them.
func TestOffsiteCopyPassesOverForgotten(t *testing.T) {
	e, mt, c := offsiteEnv(t)
	ctx := context.Background()
	now := e.clk.Now()
	old := mt.Add(e.a, now.Add(-2*time.Hour), []string{"/epns_prod.dump"}, "job:spse-prod", "source:database")
	c.forgotten = map[string]bool{old: true}
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cr := recOf(t, out, runlog.OpCopy)
	if cr.Copy == nil || cr.Copy.Forgotten != 1 || slices.Contains(cr.Snapshots, repo.ID{}.String()) || slices.Contains(cr.Snapshots, old) {
		t.Fatalf("copy record: %+v %+v", cr, cr.Copy)
	}
	if got := runlog.MessageText(i18n.EN, &cr); !strings.Contains(got, "1 forgotten there and not copied again") {
		t.Errorf("message: %q", got)
	}
}
