package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/retention"
)

// Maintainer applies retention and prunes with the library
// (run.Maintainer): snapshot/retention's Forget on the run's repository,
// and snapshot/prune's Run on the medium reopened with a repo.PruneLock,
// so that backups go on beside it and prunes exclude each other.
type Maintainer struct {
	Opener *Opener
	// Options tune the prune (its Logf defaults to the Opener's).
	Options prune.Options
	// Now, if set, is the SOP layer's clock: a protection has expired
	// when its end is before Now (default time.Now).
	Now func() time.Time
}

// Snapshots implements run.Maintainer.
func (mt *Maintainer) Snapshots(ctx context.Context, r run.Repository) ([]*snapshot.Snapshot, error) {
	fl, ok := r.(snapshot.FileLoader)
	if !ok {
		return nil, fmt.Errorf("engine: %T is not a snapshot repository", r)
	}
	// Retention passes over a snapshot file it cannot load (which it
	// then neither keeps nor removes); prune itself lists strictly.
	return snapshot.ListSnapshotsSkipping(ctx, fl, snapshot.Filter{}, unreadableWarner(mt.Opener.warn))
}

// unreadableWarner is the bad function of snapshot.ListSnapshotsSkipping
// for a run: it warns of an unreadable file (snapshot.IsUnreadable) and
// goes on; any other error stops the listing.
func unreadableWarner(warn func(string)) func(repo.ID, error) error {
	return snapshot.PassUnreadable(func(id repo.ID, err error) {
		warn(fmt.Sprintf("snapshot %s is left out: %v ('cadang check' names every file that cannot be read)", id.Short(), err))
	})
}

// Protections implements run.Maintainer.
func (mt *Maintainer) Protections(ctx context.Context, r run.Repository) ([]snapshot.Protection, error) {
	fl, ok := r.(snapshot.FileLoader)
	if !ok {
		return nil, fmt.Errorf("engine: %T is not a snapshot repository", r)
	}
	return snapshot.ProtectionsPassing(ctx, fl, func(f snapshot.UnreadableProtection) {
		mt.Opener.warn(fmt.Sprintf("protection file %s of repository %.8s is passed over: it was not written with its key (junk that someone who can write to the storage added); 'cadang protect --remove-unreadable' removes it", f.ID.Short(), r.ID()))
	})
}

// Forget implements run.Maintainer.
func (mt *Maintainer) Forget(ctx context.Context, r run.Repository, groups []retention.Group) ([]string, error) {
	rm, ok := r.(retention.Remover)
	if !ok {
		return nil, fmt.Errorf("engine: %T cannot remove snapshots", r)
	}
	// An error that wraps snapshot.ErrNotRecorded after every removal is
	// the run's to judge (run.Runner notes it in the record).
	ids, err := retention.Forget(ctx, rm, groups)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	if err == nil || errors.Is(err, snapshot.ErrNotRecorded) {
		mt.removeStaleProtections(ctx, r)
	}
	return out, err
}

// removeStaleProtections removes the expired protections of snapshots
// that are gone (snapshot.RemoveStaleProtections), as cadang forget does,
// so that they do not pile up under a job's retention. A failure is a
// warning: the next run tries again, and nothing kept depends on it.
func (mt *Maintainer) removeStaleProtections(ctx context.Context, r run.Repository) {
	fr, ok := r.(snapshot.FileRemover)
	if !ok {
		return
	}
	now := time.Now
	if mt.Now != nil {
		now = mt.Now
	}
	removed, err := snapshot.RemoveStaleProtections(ctx, fr, now())
	if err != nil {
		mt.Opener.warn(fmt.Sprintf("expired protections of snapshots that are gone were not all removed (the next run tries again): %v", err))
	}
	if len(removed) > 0 && mt.Opener.Logf != nil {
		mt.Opener.Logf("removed %d expired protection(s) of snapshots that are gone", len(removed))
	}
}

// Prune implements run.Maintainer.
func (mt *Maintainer) Prune(ctx context.Context, m jobs.Medium) (run.Repository, *prune.Result, error) {
	x, err := mt.Opener.OpenLock(ctx, m, repo.PruneLock)
	if err != nil {
		return nil, nil, err
	}
	r, ok := x.(*repo.Repository)
	if !ok {
		x.Close()
		return nil, nil, fmt.Errorf("engine: %T is not a repository", x)
	}
	if !strings.EqualFold(r.ID(), m.RepositoryID) {
		// The medium was swapped since the backup: prune nothing.
		r.Close()
		return nil, nil, runlog.Failf(runlog.KindMedia, "medium %s: the repository at %s has ID %.8s, not %.8s", m.Name, m.Repository, r.ID(), m.RepositoryID)
	}
	o := mt.Options
	if o.Logf == nil {
		o.Logf = mt.Opener.Logf
	}
	if o.Warnf == nil {
		o.Warnf = mt.Opener.Warnf
	}
	res, err := prune.Run(ctx, r, o)
	return r, res, err
}
