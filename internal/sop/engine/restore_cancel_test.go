package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// cancelOnLoad cancels the restore test at its at-th pack load and, as
// the real repository does for a cancelled load, hands every blob to the
// callback with the cancellation.
type cancelOnLoad struct {
	*snapshottest.Repo
	at     int32
	loads  atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelOnLoad) LoadBlobsFromPack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, fn func(repo.BlobLocation, []byte, error) error) error {
	if c.loads.Add(1) == c.at {
		c.cancel()
	}
	if err := ctx.Err(); err != nil {
		for _, l := range locs {
			if ferr := fn(l, nil, err); ferr != nil {
				return ferr
			}
		}
		return nil
	}
	return c.Repo.LoadBlobsFromPack(ctx, pack, locs, fn)
}

// A restore test interrupted while it restores a file returns the
// interruption; the file it was restoring is not an item that failed its
// check (the run log would record an integrity failure for a Ctrl-C).
func TestRestoreTestSourceInterrupted(t *testing.T) {
	src := t.TempDir()
	a, b := filepath.Join(src, "a"), filepath.Join(src, "b")
	snapshottest.WriteFile(t, a, snapshottest.RandBytes(1, 5000))
	snapshottest.WriteFile(t, b, snapshottest.RandBytes(2, 5000))
	r := snapshottest.New(snapshottest.SmallParams)
	sn, err := archiver.NewArchiver(r).Snapshot(context.Background(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	files := []restoretest.File{{Path: a, Size: 5000}, {Path: b, Size: 5000}}
	// How many loads the first file's restore makes.
	count := &cancelOnLoad{Repo: r}
	s := &engine.Source{Repo: count}
	if items, err := s.Restore(context.Background(), restoretest.Snapshot{ID: sn.ID().String()}, files[:1], t.TempDir()); err != nil || len(items) != 1 || !items[0].OK {
		t.Fatalf("restore test of one file: %v %+v", err, items)
	}
	first := count.loads.Load()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s = &engine.Source{Repo: &cancelOnLoad{Repo: r, at: first + 1, cancel: cancel}}
	items, err := s.Restore(ctx, restoretest.Snapshot{ID: sn.ID().String()}, files, t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted restore test: %v, items %+v; want context.Canceled", err, items)
	}
	for _, it := range items {
		if !it.OK {
			t.Errorf("the interrupted file is an item that failed: %+v", it)
		}
	}
}
