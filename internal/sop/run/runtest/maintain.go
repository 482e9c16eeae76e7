package runtest

import (
	"context"
	"sync"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// Maintainer is a fake run.Maintainer: each repository of the bay has an
// in-memory snapshot store (snapshottest.Repo) that a test fills with Add;
// Forget removes from it, Prune records the medium and returns Result.
type Maintainer struct {
	Bay *Bay

	mu    sync.Mutex
	snaps map[string]*snapshottest.Repo // by repository ID
	// SnapshotsErr, ForgetErr and PruneErr, when set, are returned.
	SnapshotsErr, ForgetErr, PruneErr error
	// ForgottenErr, when set, fails the saving of forgotten records, as
	// storage of an older cadang serve does: every removal is done and
	// Forget's error wraps snapshot.ErrNotRecorded.
	ForgottenErr error
	// RemoveErr, when set, fails the RemoveAt-th removal of a snapshot
	// file (1 for the first) in each Forget.
	RemoveErr error
	RemoveAt  int
	// ForgetCalls counts Forget; Prunes lists the media pruned.
	ForgetCalls int
	Prunes      []string
	Result      prune.Result
}

func (m *Maintainer) store(id string) *snapshottest.Repo {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snaps == nil {
		m.snaps = map[string]*snapshottest.Repo{}
	}
	s := m.snaps[id]
	if s == nil {
		s = snapshottest.New(snapshottest.SmallParams)
		m.snaps[id] = s
	}
	return s
}

// Add saves a snapshot made at t with tags into the repository with ID
// repoID and returns its ID.
func (m *Maintainer) Add(repoID string, t time.Time, paths []string, tags ...string) string {
	sn := &snapshot.Snapshot{Time: t, Paths: paths, Hostname: "lpse", Tags: tags}
	id, err := snapshot.SaveSnapshot(context.Background(), m.store(repoID), sn)
	if err != nil {
		panic(err)
	}
	return id.String()
}

// IDs returns the IDs of the snapshots in the repository with ID repoID.
func (m *Maintainer) IDs(repoID string) map[string]bool {
	out := map[string]bool{}
	_ = m.store(repoID).ListFiles(context.Background(), repo.SnapshotFile, func(id repo.ID) error {
		out[id.String()] = true
		return nil
	})
	return out
}

// Snapshots implements run.Maintainer.
func (m *Maintainer) Snapshots(ctx context.Context, r run.Repository) ([]*snapshot.Snapshot, error) {
	if m.SnapshotsErr != nil {
		return nil, m.SnapshotsErr
	}
	return snapshot.ListSnapshots(ctx, m.store(r.ID()), snapshot.Filter{})
}

// Protect protects the snapshot snapID (hex) in the repository with ID
// repoID until the given time (zero: forever), as `cadang protect` does.
func (m *Maintainer) Protect(repoID, snapID string, until time.Time, reason string) {
	id, err := repo.ParseID(snapID)
	if err != nil {
		panic(err)
	}
	if _, err := snapshot.Protect(context.Background(), m.store(repoID), id, until, reason); err != nil {
		panic(err)
	}
}

// Protections implements run.Maintainer.
func (m *Maintainer) Protections(ctx context.Context, r run.Repository) ([]snapshot.Protection, error) {
	if m.SnapshotsErr != nil {
		return nil, m.SnapshotsErr
	}
	return snapshot.Protections(ctx, m.store(r.ID()))
}

// Forget implements run.Maintainer.
func (m *Maintainer) Forget(ctx context.Context, r run.Repository, groups []retention.Group) ([]string, error) {
	m.mu.Lock()
	m.ForgetCalls++
	m.mu.Unlock()
	if m.ForgetErr != nil {
		return nil, m.ForgetErr
	}
	var rm retention.Remover = m.store(r.ID())
	if m.ForgottenErr != nil || m.RemoveErr != nil {
		rm = &faultyRemover{Remover: rm, forgotten: m.ForgottenErr, remove: m.RemoveErr, at: m.RemoveAt}
	}
	ids, err := retention.Forget(ctx, rm, groups)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out, err
}

// Prune implements run.Maintainer: it opens the medium from the bay.
func (m *Maintainer) Prune(ctx context.Context, med jobs.Medium) (run.Repository, *prune.Result, error) {
	m.mu.Lock()
	m.Prunes = append(m.Prunes, med.Name)
	m.mu.Unlock()
	r, err := m.Bay.Open(ctx, med)
	if err != nil {
		return nil, nil, err
	}
	res := m.Result
	return r, &res, m.PruneErr
}

// faultyRemover is a Remover whose storage fails: it keeps no forgotten
// records (forgotten), or fails a removal (remove, at the at-th).
type faultyRemover struct {
	retention.Remover
	forgotten, remove error
	at, removals      int
}

func (f *faultyRemover) SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	if t == repo.ForgottenFile && f.forgotten != nil {
		return repo.ID{}, f.forgotten
	}
	return f.Remover.SaveFile(ctx, t, data)
}

func (f *faultyRemover) RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error {
	if t == repo.SnapshotFile {
		f.removals++
		if f.remove != nil && f.removals == f.at {
			return f.remove
		}
	}
	return f.Remover.RemoveFile(ctx, t, id)
}
