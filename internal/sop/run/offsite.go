package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/copier"
)

// Copier copies a job's snapshots to its offsite medium ([job.offsite]);
// the CLI implements it over repo/backend/location and snapshot/copier
// (engine.Copier), tests with fakes.
type Copier interface {
	// OpenOffsite opens the offsite repository with a copy lock
	// (repo.CopyLock), which excludes another copy into it.
	OpenOffsite(ctx context.Context, o jobs.Offsite) (Repository, error)
	// Snapshots returns every snapshot in r.
	Snapshots(ctx context.Context, r Repository) ([]*snapshot.Snapshot, error)
	// Copy copies sns from src into dst (re-encrypting, uploading only the
	// blobs dst lacks, skipping snapshots dst already has). The result
	// counts what was done, also on error.
	Copy(ctx context.Context, dst, src Repository, sns []*snapshot.Snapshot) (copier.Result, error)
}

// CopyStandard is the time standard of a copy: a day, as for a restore.
// The SOP sets none for it; a copy that takes longer than a day overlaps
// the next daily run, which is worth a record.
const CopyStandard = 24 * time.Hour

// OffsiteError is returned by Backup when the backup (and its retention and
// prune) succeeded but the copy to the offsite medium did not: Record is
// the failed copy record. The CLI ends with exit code 3, as for a backup
// that is on its medium but not complete.
type OffsiteError struct{ FailedError }

func (e *OffsiteError) Error() string {
	return fmt.Sprintf("the backup succeeded, but %s", e.FailedError.Error())
}

func (e *OffsiteError) Unwrap() error { return &e.FailedError }

// LastOffsite returns the job's last successful copy to its offsite
// medium. A copy that only exceeded its time standard counts: its
// snapshots are there.
func LastOffsite(recs []runlog.Record, job string) (runlog.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		x := recs[i]
		if IsOffsiteCopy(&x, job) && (x.Result == runlog.OK || x.Failure == runlog.KindTimeStandard) {
			return x, true
		}
	}
	return runlog.Record{}, false
}

// IsOffsiteCopy reports whether x is a copy of job to its offsite medium
// made by `cadang run` (not a `cadang copy` by hand).
func IsOffsiteCopy(x *runlog.Record, job string) bool {
	return x.Op == runlog.OpCopy && x.Job == job && x.HasTag(runlog.TagOffsite)
}

// offsite copies the job's snapshots on medium m that the offsite medium
// lacks, and records it. It copies every snapshot of the job on m (tag
// job:NAME), not only this run's: copies skip what the offsite already
// has, so a run after a failed copy catches up, and the snapshots that
// retention just removed are not sent at all.
func (r *Runner) offsite(ctx context.Context, j *jobs.Job, m jobs.Medium, backup runlog.Record, out *Outcome) runlog.Record {
	o := *j.Offsite
	rec := runlog.Record{Op: runlog.OpCopy, Job: j.Name, Medium: o.Name, Repository: location.Redact(o.Repository), RepositoryID: o.RepositoryID,
		Start: r.clock().Now(), Ref: backup.ID, Tags: []string{runlog.TagOffsite},
		TimeStandard: StandardFor(runlog.OpCopy, j).Milliseconds()}
	info := &runlog.CopyInfo{From: m.Repository, FromID: backup.RepositoryID}
	rec.Copy = info
	var store, medium runlog.RecordStore
	// finish records the copy in the offsite repository and then on the
	// medium it read, once that is open: the record concerns both, and
	// the medium may leave the building before the next run opens it.
	finish := func() runlog.Record {
		written := r.finishExtra(ctx, j, rec, store, out)
		if medium != nil && written.ID != "" {
			if _, err := r.Log.Sync(context.WithoutCancel(ctx), medium); err != nil {
				out.Warnings = append(out.Warnings, err)
			}
		}
		return written
	}
	fail := func(err error, note *runlog.Note) runlog.Record {
		rec.Result, rec.Failure = runlog.Failed, runlog.KindOffsite
		if r.classify(err) == runlog.KindInterrupted {
			rec.Failure = runlog.KindInterrupted
		}
		rec.Note, rec.Message = note, err.Error()
		return finish()
	}

	dst, err := r.Copier.OpenOffsite(ctx, o)
	if err != nil {
		return fail(err, runlog.NewNote("offsite-open-failed", o.Name, o.Repository))
	}
	defer dst.Close()
	rec.RepositoryID = dst.ID()
	if o.RepositoryID != "" && !strings.EqualFold(dst.ID(), o.RepositoryID) {
		// Nothing is copied to a repository that is not the one named.
		return fail(fmt.Errorf("offsite %s: the repository at %s has ID %s, not %s", o.Name, o.Repository, short(dst.ID()), short(o.RepositoryID)),
			runlog.NewNote("offsite-wrong-id", short(o.RepositoryID), o.Repository, short(dst.ID())))
	}
	store = dst
	// The run closed its handle on the medium for the prune; the copy
	// reads it under a shared lock of its own.
	src, err := r.Opener.Open(ctx, m)
	if err != nil {
		return fail(err, runlog.NewNote("offsite-source-failed", m.Name))
	}
	defer src.Close()
	info.FromID = src.ID()
	if !strings.EqualFold(src.ID(), m.RepositoryID) {
		return fail(fmt.Errorf("medium %s: the repository at %s has ID %s, not %s", m.Name, m.Repository, short(src.ID()), short(m.RepositoryID)),
			runlog.NewNote("offsite-source-failed", m.Name))
	}
	medium = src // the medium named: the record goes there too
	all, err := r.Copier.Snapshots(ctx, src)
	if err != nil {
		return fail(err, runlog.NewNote("offsite-failed", o.Name, 0))
	}
	var sns []*snapshot.Snapshot
	for _, sn := range all {
		if hasTag(sn, TagJob+j.Name) {
			sns = append(sns, sn)
		}
	}
	res, err := r.Copier.Copy(ctx, dst, src, sns)
	info.Copied, info.Skipped, info.DataBlobs, info.TreeBlobs, info.Bytes = res.Copied, res.Skipped, res.DataBlobs, res.TreeBlobs, res.Bytes
	info.Forgotten = res.NotAgain
	info.UnreadableProtections = UnreadableProtections(res)
	out.OffsiteProtectionsAdded = res.ProtectionsAdded
	for _, s := range res.Snapshots {
		// Copied: not found there already, not forgotten there, not failed.
		if !s.Skipped && s.Error == "" && !s.Dest.IsNull() {
			rec.Snapshots = append(rec.Snapshots, s.Dest.String())
		}
	}
	rec.BytesAdded = res.Bytes
	if err != nil {
		return fail(err, runlog.NewNote("offsite-failed", o.Name, res.Copied))
	}
	rec.Result = runlog.OK
	rec.Note = runlog.NewNote("offsite-copied", res.Copied, o.Name, res.Skipped, res.DataBlobs+res.TreeBlobs)
	if res.NotAgain > 0 {
		rec.Note = runlog.NewNote("offsite-copied-forgotten", res.Copied, o.Name, res.Skipped, res.NotAgain, res.DataBlobs+res.TreeBlobs)
	}
	return finish()
}

// UnreadableProtections lists, for a copy's record (runlog.CopyInfo), the
// source's protection files that the copy could not read: the copy is not
// failed for them, so without them the record would not tell that what
// they protect is unprotected on the destination.
func UnreadableProtections(res copier.Result) []runlog.UnreadableFile {
	var out []runlog.UnreadableFile
	for _, b := range res.UnreadableProtections {
		out = append(out, runlog.UnreadableFile{File: b.ID.String(), Error: b.Error})
	}
	return out
}

// offsiteFailed is the error Backup returns for a failed offsite copy
// record, or nil.
func offsiteFailed(x runlog.Record) error {
	if x.Result == runlog.OK {
		return nil
	}
	return &OffsiteError{FailedError{Record: x}}
}
