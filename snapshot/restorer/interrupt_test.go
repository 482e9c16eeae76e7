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
	_, err := (&Restorer{Repo: cr, Workers: 1}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the restore to stop with context.Canceled, got %v", err)
	}
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
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
}
