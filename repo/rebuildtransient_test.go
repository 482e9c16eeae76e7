package repo_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// truncatedPack saves ten blobs and cuts 10 bytes off the end of the pack
// of one of them: its header is gone, every blob in it intact. The
// repository r is left open.
func truncatedPack(t *testing.T) (dir string, r *repo.Repository, want map[repo.ID][]byte, pack repo.ID, size int64) {
	t.Helper()
	dir, r = newLocal(t)
	want = savedBlobs(t, r, 10)
	for id := range want {
		_, l := packOf(t, r, id)
		pack = l.Pack
		break
	}
	path := pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: pack.String()})
	size = fileSize(t, path) - 10
	truncate(t, path, size)
	return dir, r, want, pack, size
}

// stillIndexed counts the blobs of want the repository in dir indexes.
func stillIndexed(t *testing.T, dir string, want map[repo.ID][]byte) int {
	t.Helper()
	r := openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	n := 0
	for id := range want {
		if _, ok := r.LookupBlob(repo.DataBlob, id); ok {
			n++
		}
	}
	return n
}

// failingLoads fails, as a dropped connection would, every load that fail
// reports.
type failingLoads struct {
	backend.Backend
	fail func(h backend.Handle, off, l int64) bool
	n    atomic.Int64 // loads are made concurrently
}

func (f *failingLoads) Load(ctx context.Context, h backend.Handle, off, l int64) ([]byte, error) {
	if f.fail(h, off, l) {
		f.n.Add(1)
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.Backend.Load(ctx, h, off, l)
}

// rebuildFailing runs repair index on dir through a backend that fails the
// loads fail reports once the repository is open, and returns its error
// and the number of failed loads.
func rebuildFailing(t *testing.T, dir string, fail func(h backend.Handle, off, l int64) bool) (error, int) {
	t.Helper()
	ctx := context.Background()
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	on := false // the index is read at open; the network fails after
	fb := &failingLoads{Backend: lb, fail: func(h backend.Handle, off, l int64) bool { return on && fail(h, off, l) }}
	r, err := repo.Open(ctx, fb, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	on = true
	_, _, err = r.RebuildIndex(ctx, func(f string, a ...any) { t.Logf("  log: "+f, a...) })
	r.Close()
	t.Logf("RebuildIndex: %v (%d failed loads)", err, fb.n.Load())
	return err, int(fb.n.Load())
}

// TestRepairIndexStopsOnTransientError: a review saw a transient error,
// while repair index read a header-damaged pack's old entries back, taken
// for "nothing opens": every entry was dropped, the old index files were
// removed, and the next repair packs removed the pack salvaging nothing.
// Now repair index stops and changes nothing. The loads that fail are
// those of single blobs of the pack, not the header's tail read.
func TestRepairIndexStopsOnTransientError(t *testing.T) {
	dir, r, want, pack, size := truncatedPack(t)
	r.Close()
	err, n := rebuildFailing(t, dir, func(h backend.Handle, off, l int64) bool {
		return h.Type == repo.PackFile && h.Name == pack.String() && l != 0 && off+l != size
	})
	if err == nil || n == 0 {
		t.Fatalf("repair index went on past a failed read (%d failed loads)", n)
	}
	if got := stillIndexed(t, dir, want); got != len(want) {
		t.Fatalf("%d of %d blobs left the index", len(want)-got, len(want))
	}
}

// TestRepairIndexTransientIndexLoad: keepDamagedHeaders passed over an old
// index file it could not read for any reason, a transient one too, and
// RebuildIndex then removed that file (a review). Only damage, a newer
// format or a vanished file may be passed over; another error stops it
// with nothing changed.
func TestRepairIndexTransientIndexLoad(t *testing.T) {
	dir, r, want, _, _ := truncatedPack(t)
	r.Close()
	err, _ := rebuildFailing(t, dir, func(h backend.Handle, _, _ int64) bool { return h.Type == repo.IndexFile })
	if lost := len(want) - stillIndexed(t, dir, want); lost > 0 {
		t.Errorf("a transient error reading an old index file: %d of %d blobs of the truncated pack left the index, and the old index files were removed (err=%v)", lost, len(want), err)
	}
}
