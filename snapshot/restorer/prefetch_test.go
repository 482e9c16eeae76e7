package restorer

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// prefetchRepo records the pack ranges asked for ahead and checks each
// load against them.
type prefetchRepo struct {
	*snapshottest.Repo
	mu      sync.Mutex
	ranges  map[repo.ID][2]int64 // pack -> [start, end) asked for ahead
	loaded  map[repo.ID]bool
	missing []string // loads not asked for ahead, or outside the range
}

func (p *prefetchRepo) PrefetchPack(ctx context.Context, pack repo.ID, offset, length int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ranges[pack] = [2]int64{offset, offset + length}
}

func (p *prefetchRepo) LoadBlobsFromPack(ctx context.Context, pack repo.ID, blobs []repo.BlobLocation, fn func(repo.BlobLocation, []byte, error) error) error {
	p.mu.Lock()
	p.loaded[pack] = true
	r, ok := p.ranges[pack]
	for _, b := range blobs {
		if !ok || int64(b.Offset) < r[0] || int64(b.Offset)+int64(b.Length) > r[1] {
			p.missing = append(p.missing, fmt.Sprintf("pack %s blob at %d+%d (asked for %v, %v)", pack.Short(), b.Offset, b.Length, ok, r))
		}
	}
	p.mu.Unlock()
	return p.Repo.LoadBlobsFromPack(ctx, pack, blobs, fn)
}

// TestRestorePrefetchesPacks: every pack a restore loads was asked for
// ahead, a range covering the blobs it loads from it (on a cold backup
// medium the disk then reads the next packs while the workers write), and
// the restore is still exact.
func TestRestorePrefetchesPacks(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	for i := range 120 {
		snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("d%d/f%03d", i%4, i)), snapshottest.RandBytes(uint64(7000+i), 40<<10+i*131))
	}
	r := snapshottest.New(testParams)
	r.PackSize = 256 << 10 // many packs from a small tree
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	pr := &prefetchRepo{Repo: r, ranges: map[repo.ID][2]int64{}, loaded: map[repo.ID]bool{}}
	target := filepath.Join(t.TempDir(), "t")
	rs := &Restorer{Repo: pr, Workers: 2}
	if _, err := rs.Restore(context.Background(), sn, "/", target); err != nil {
		t.Fatal(err)
	}
	snapshottest.CompareTrees(t, snapshottest.ScanTree(t, src), snapshottest.ScanTree(t, filepath.Join(target, src)))
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.loaded) <= 2*rs.Workers {
		t.Fatalf("%d packs loaded: the test needs more than the %d asked for at the start", len(pr.loaded), 2*rs.Workers)
	}
	for _, m := range pr.missing {
		t.Error(m)
	}
}
