package restorer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// cancellingRepo cancels the restore's context after the first pack has
// been handed over, as a Ctrl-C in the middle of a restore would.
type cancellingRepo struct {
	Repository
	cancel context.CancelFunc
	packs  atomic.Int64
}

func (c *cancellingRepo) LoadBlobsFromPack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, fn func(repo.BlobLocation, []byte, error) error) error {
	if c.packs.Add(1) > 1 {
		c.cancel()
		return ctx.Err()
	}
	return c.Repository.LoadBlobsFromPack(ctx, pack, locs, fn)
}

// TestRestoreInterruptedLeavesNoPartialFiles: after an interrupted restore,
// every file in the target is complete; unfinished ones are removed.
func TestRestoreInterruptedLeavesNoPartialFiles(t *testing.T) {
	r := newTestRepo(t)
	src := t.TempDir()
	want := map[string][]byte{}
	for i := 0; i < 12; i++ {
		name := filepath.Join(src, "d", string(rune('a'+i)))
		want[name] = snapshottest.RandBytes(uint64(100+i), 600<<10) // several chunks, spread over packs
		snapshottest.WriteFile(t, name, want[name])
	}
	sn := mustSnapshot(t, &archiver.Archiver{Repo: r, Hostname: "h"}, src)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cr := &cancellingRepo{Repository: r, cancel: cancel}
	target := t.TempDir()
	sum, err := (&Restorer{Repo: cr, Workers: 1}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the restore to stop with context.Canceled, got %v", err)
	}
	complete := uint64(0)
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		complete++
		orig, ok := want[p[len(target):]]
		got, rerr := os.ReadFile(p)
		if !ok || rerr != nil || !bytes.Equal(got, orig) {
			t.Errorf("%s is left in the target but is not a complete copy (%d bytes)", p, len(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The summary says what is complete in the target.
	if sum == nil || !sum.Interrupted || sum.Files != complete || sum.Bytes != complete*(600<<10) {
		t.Errorf("summary %+v, %d files complete", sum, complete)
	}
}

// cancelAtPack cancels the restore when it asks the real repository for
// its at-th pack.
type cancelAtPack struct {
	*repo.Repository
	at     int64
	calls  atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAtPack) LoadBlobsFromPack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, fn func(repo.BlobLocation, []byte, error) error) error {
	if k := c.calls.Add(1); c.at > 0 && k == c.at {
		c.cancel()
	}
	return c.Repository.LoadBlobsFromPack(ctx, pack, locs, fn)
}

// A restore interrupted while its last pack loads says it was interrupted.
// The real repository hands every blob it could not load to the callback
// with the cancellation and returns nil (the fake above returns at once);
// the restore took those for failed files, finished as if it had run to its
// end, and reported files that could not be restored, which the run log
// records as an integrity failure. No partial file may stay.
func TestRestoreCancelledDuringLastPack(t *testing.T) {
	r, _ := newRealRepo(t)
	src := t.TempDir()
	for i := range 12 {
		snapshottest.WriteFile(t, filepath.Join(src, "d", string(rune('a'+i))), snapshottest.RandBytes(uint64(100+i), 600<<10))
	}
	sn := mustSnapshot(t, &archiver.Archiver{Repo: r, Hostname: "h"}, src)
	count := &cancelAtPack{Repository: r}
	if _, err := (&Restorer{Repo: count, Workers: 1}).Restore(context.Background(), sn, "/", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	packs := count.calls.Load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := t.TempDir()
	sum, err := (&Restorer{Repo: &cancelAtPack{Repository: r, at: packs, cancel: cancel}, Workers: 1}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRestoreIncomplete) {
		t.Fatalf("restore cancelled in its last of %d packs: %v, want context.Canceled", packs, err)
	}
	if sum != nil && len(sum.FailedFiles) > 0 {
		t.Errorf("an interrupted restore reports failed files: %v", sum.FailedFiles)
	}
	// What remains is whole: each file either has its content or is gone.
	for i := range 12 {
		p := filepath.Join(target, src, "d", string(rune('a'+i)))
		got, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, snapshottest.RandBytes(uint64(100+i), 600<<10)) {
			t.Errorf("%s: a partial file stayed after the interruption", p)
		}
	}
}
