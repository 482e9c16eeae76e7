package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/retention"
)

// Tags that the Backupper puts on every snapshot of a job run: the job and
// the source. Retention applies only to snapshots that carry the job's tag.
const (
	TagJob    = "job:"
	TagSource = "source:"
)

// SourceName is the name of a source in its snapshot tag: its name, or
// "default" when the configuration gives none.
func SourceName(s jobs.Source) string {
	if s.Name != "" {
		return s.Name
	}
	return "default"
}

// Maintainer applies retention to an open repository and prunes a medium;
// the CLI implements it over snapshot/retention and snapshot/prune
// (engine.Maintainer), tests with fakes.
type Maintainer interface {
	// Snapshots returns every snapshot in r.
	Snapshots(ctx context.Context, r Repository) ([]*snapshot.Snapshot, error)
	// Protections returns every protection in r (snapshot.Protections),
	// expired ones too. Retention never forgets a snapshot that one that
	// holds covers.
	Protections(ctx context.Context, r Repository) ([]snapshot.Protection, error)
	// Forget removes the snapshot files of the snapshots the groups do not
	// keep (retention.Forget) and returns the IDs removed, also on error.
	Forget(ctx context.Context, r Repository, groups []retention.Group) ([]string, error)
	// Prune opens the repository on m for a prune (the run has closed its
	// own handle by then), checks that it is the medium's, and prunes it.
	// The repository it returns, if not nil, is where the record is
	// copied; the runner closes it. The result is filled as far as the
	// prune got, also on error.
	Prune(ctx context.Context, m jobs.Medium) (Repository, *prune.Result, error)
}

// PolicyOf returns the retention policy of a job as snapshot/retention
// takes it.
func PolicyOf(r jobs.Retention) retention.Policy {
	return retention.Policy{Last: r.Last, Hourly: r.Hourly, Daily: r.Daily, Weekly: r.Weekly, Monthly: r.Monthly, Yearly: r.Yearly,
		Within: retention.DurationOf(r.Within.D())}
}

// PolicyFacts returns the policy of a job as a record keeps it.
func PolicyFacts(r jobs.Retention) runlog.Policy {
	p := PolicyOf(r)
	f := runlog.Policy{Last: p.Last, Hourly: p.Hourly, Daily: p.Daily, Weekly: p.Weekly, Monthly: p.Monthly, Yearly: p.Yearly,
		ProtectMS: r.Protect().Milliseconds()}
	if !p.Within.IsZero() {
		f.Within = p.Within.String()
	}
	return f
}

// LastPrune returns the job's last successful prune on the medium.
func LastPrune(recs []runlog.Record, job, medium string) (runlog.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		x := recs[i]
		if x.Op == runlog.OpPrune && x.Job == job && x.Medium == medium && x.Result == runlog.OK {
			return x, true
		}
	}
	return runlog.Record{}, false
}

// PruneSlack is how much earlier than [job.prune] every a prune may come,
// so that a run at the same time each day prunes on the seventh day of
// "7d", not the eighth, when it starts a little earlier than the last.
const PruneSlack = time.Hour

// PruneDue reports whether the job's medium is due for a prune at now:
// Every (less PruneSlack) has passed since the job's last successful prune
// on it, or none was recorded.
func PruneDue(recs []runlog.Record, j *jobs.Job, medium string, now time.Time) bool {
	every := j.Prune.Every.D()
	if every <= 0 {
		return false
	}
	last, ok := LastPrune(recs, j.Name, medium)
	return !ok || !now.Before(last.Start.Add(every-min(PruneSlack, every/2)))
}

func hasTag(sn *snapshot.Snapshot, t string) bool {
	for _, x := range sn.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// maintainOK is the result of the backup that lets retention run.
func maintainOK(res runlog.Result) bool { return res == runlog.OK || res == runlog.Partial }

// forget applies the job's retention to its snapshots in repo, source by
// source, and records it. It returns the record written.
func (r *Runner) forget(ctx context.Context, j *jobs.Job, m jobs.Medium, repo Repository, backup runlog.Record, out *Outcome) runlog.Record {
	clk := r.clock()
	loc := r.Config.Location()
	rec := runlog.Record{Op: runlog.OpForget, Job: j.Name, Medium: m.Name, Repository: location.Redact(m.Repository), RepositoryID: repo.ID(),
		Start: clk.Now(), Ref: backup.ID}
	info := &runlog.ForgetInfo{Policy: PolicyFacts(j.Retention), Zone: loc.String()}
	rec.Forget = info
	err := func() error {
		sns, err := r.Maintainer.Snapshots(ctx, repo)
		if err != nil {
			return err
		}
		now := clk.Now()
		protectFrom := now.Add(-j.Retention.Protect())
		restored := r.restoredSince(j.Name, protectFrom)
		explicit, err := r.Maintainer.Protections(ctx, repo)
		if err != nil {
			return err
		}
		protected := func(sn *snapshot.Snapshot) (bool, string) {
			// `cadang protect`: whatever the snapshot's age.
			if ok, p := snapshot.ProtectionOf(explicit, sn, now); ok {
				return true, p.Reason
			}
			if sn.Time.Before(protectFrom) {
				return false, ""
			}
			if hasTag(sn, runlog.TagBeforeChange) {
				return true, runlog.TagBeforeChange
			}
			if restored[sn.ID().String()] {
				return true, "restore"
			}
			return false, ""
		}
		policy := PolicyOf(j.Retention)
		var groups []retention.Group
		source := map[string]string{}
		for _, src := range j.Sources {
			var mine []*snapshot.Snapshot
			for _, sn := range sns {
				// Only the snapshots `cadang run` made for this source of
				// this job: never another job's, a manual backup's, or
				// those of a source no longer configured.
				if hasTag(sn, TagJob+j.Name) && hasTag(sn, TagSource+SourceName(src)) {
					mine = append(mine, sn)
					source[sn.ID().String()] = src.Name
				}
			}
			if len(mine) == 0 {
				continue
			}
			groups = append(groups, retention.Plan(mine, policy, retention.Options{Location: loc, Now: now, Protected: protected})...)
		}
		removed, err := r.Maintainer.Forget(ctx, repo, groups)
		planned := 0
		for _, g := range groups {
			planned += len(g.Removed())
		}
		if errors.Is(err, snapshot.ErrNotRecorded) && len(removed) == planned {
			// Every removal done; only the record that copies read is
			// missing (storage that keeps no such records, an older REST
			// server, or a fault while saving it): the run did its job,
			// and its record says that a copy into this medium may bring
			// the snapshots back.
			info.NotRecorded = true
			out.Warnings = append(out.Warnings, fmt.Errorf("medium %s: %w", m.Name, err))
			err = nil
		}
		gone := map[string]bool{}
		for _, id := range removed {
			gone[id] = true
		}
		for _, g := range groups {
			for _, d := range g.Snapshots {
				id := d.Snapshot.ID().String()
				it := runlog.ForgetItem{Snapshot: id, Source: source[id], Time: d.Snapshot.Time, Reasons: d.Reasons}
				switch {
				case d.Keep:
					info.Kept = append(info.Kept, it)
					if len(d.Reasons) == 1 && strings.HasPrefix(d.Reasons[0], "protected") {
						info.Protected++
					}
				case gone[id]:
					it.Reasons = []string{runlog.ReasonNotKept}
					info.Removed = append(info.Removed, it)
					rec.Snapshots = append(rec.Snapshots, id)
				default:
					it.Reasons = []string{runlog.ReasonNotKept}
					info.Failed = append(info.Failed, it)
				}
			}
		}
		return err
	}()
	if err != nil {
		rec.Result, rec.Failure = runlog.Failed, r.classify(err)
		if rec.Failure == runlog.KindOther {
			rec.Failure = runlog.KindRetention
		}
		rec.Note, rec.Message = runlog.NewNote("forget-failed", len(info.Removed), len(info.Removed)+len(info.Failed)), err.Error()
	} else {
		rec.Result = runlog.OK
		rec.Note = runlog.NewNote("forget-done", len(info.Removed), len(info.Kept))
	}
	return r.finishExtra(ctx, j, rec, repo, out)
}

// restoredSince returns the snapshots that restores of the job used since t.
func (r *Runner) restoredSince(job string, t time.Time) map[string]bool {
	out := map[string]bool{}
	recs, err := r.Log.Records()
	if err != nil {
		return out
	}
	for _, x := range recs {
		if x.Op == runlog.OpRestore && x.Restore != nil && x.Restore.Snapshot != "" && !x.Start.Before(t) && (x.Job == job || x.Job == "") {
			out[x.Restore.Snapshot] = true
		}
	}
	return out
}

// prune prunes the medium and records it.
func (r *Runner) prune(ctx context.Context, j *jobs.Job, m jobs.Medium, backup runlog.Record, out *Outcome) runlog.Record {
	rec := runlog.Record{Op: runlog.OpPrune, Job: j.Name, Medium: m.Name, Repository: location.Redact(m.Repository), RepositoryID: backup.RepositoryID,
		Start: r.clock().Now(), Ref: backup.ID}
	repo, res, err := r.Maintainer.Prune(ctx, m)
	var store runlog.RecordStore
	if repo != nil {
		defer repo.Close()
		store = repo
		rec.RepositoryID = repo.ID()
	}
	if res != nil {
		rec.Prune = PruneFacts(res)
		rec.Prune.EveryMS = j.Prune.Every.D().Milliseconds()
		if n := len(res.ForeignSnapshots); n > 0 {
			// Junk on the medium means someone who can write to its
			// storage, without the key, did: the notice must say so.
			out.Warnings = append(out.Warnings, fmt.Errorf("medium %s: prune passed over %d snapshot file(s) not written with the repository's key (junk that someone who can write to its storage added); 'cadang check' names them", m.Name, n))
		}
	}
	if err != nil {
		rec.Result, rec.Failure = runlog.Failed, r.classify(err)
		if rec.Failure == runlog.KindOther {
			rec.Failure = runlog.KindPrune
		}
		rec.Note, rec.Message = runlog.NewNote("prune-failed"), err.Error()
	} else {
		rec.Result = runlog.OK
		p := rec.Prune
		if p == nil {
			p = &runlog.PruneInfo{}
		}
		rec.Note = runlog.NewNote("prune-done", p.DeletedPacks, p.MarkedPacks, p.WaitingSets)
	}
	return r.finishExtra(ctx, j, rec, store, out)
}

// PruneFacts returns the numbers of a prune result as a record keeps them.
func PruneFacts(res *prune.Result) *runlog.PruneInfo {
	return &runlog.PruneInfo{
		Snapshots: res.Snapshots, PacksBefore: res.Before.Packs, BytesBefore: res.Before.Bytes,
		UsedBytes: res.UsedBytes, UnusedBytes: res.UnusedBytes,
		MarkedPacks:   res.MarkedUnused.Packs + res.MarkedRepacked.Packs + res.Orphans.Packs,
		MarkedBytes:   res.MarkedUnused.Bytes + res.MarkedRepacked.Bytes + res.Orphans.Bytes,
		RepackedPacks: res.MarkedRepacked.Packs, RepackedBytes: res.RepackedBytes,
		DeletedPacks: res.Deleted.Packs, DeletedBytes: res.Deleted.Bytes,
		Resurrected: res.Resurrected, WaitingSets: res.Waiting, ForeignSnapshotFiles: len(res.ForeignSnapshots),
	}
}

// finishExtra finishes a record made after the backup (forget, prune): it
// is appended and notified like any run, its warnings and failure go to
// out, and it never changes the backup's record.
func (r *Runner) finishExtra(ctx context.Context, j *jobs.Job, rec runlog.Record, store runlog.RecordStore, out *Outcome) runlog.Record {
	o, err := r.finish(ctx, j, rec, store)
	out.Warnings = append(out.Warnings, o.Warnings...)
	var fe *FailedError
	if err != nil && !errors.As(err, &fe) {
		out.Warnings = append(out.Warnings, err)
	}
	if o.Record.ID != "" {
		out.Maintenance = append(out.Maintenance, o.Record)
		return o.Record
	}
	return rec
}

// MaintenanceError is returned by Backup when the backup succeeded but the
// retention or prune after it did not: Record is the failed record.
type MaintenanceError struct{ FailedError }

func (e *MaintenanceError) Error() string {
	return fmt.Sprintf("the backup succeeded, but %s", e.FailedError.Error())
}

func (e *MaintenanceError) Unwrap() error { return &e.FailedError }
