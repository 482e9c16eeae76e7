package repo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// flakyRanges fails every load of a range of one pack that does not reach
// its end: not the header's tail read, but the reads of single blobs.
type flakyRanges struct {
	backend.Backend
	pack string
	size int64
	n    int
}

func (f *flakyRanges) Load(ctx context.Context, h backend.Handle, off, l int64) ([]byte, error) {
	if h.Type == repo.PackFile && h.Name == f.pack && l != 0 && off+l != f.size {
		f.n++
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.Backend.Load(ctx, h, off, l)
}

// TestRepairIndexStopsOnTransientError: a review saw a transient error,
// while repair index read a header-damaged pack's old entries back, taken
// for "nothing opens": every entry was dropped, the old index files were
// removed, and the next repair packs removed the pack salvaging nothing.
// Now repair index stops and changes nothing.
func TestRepairIndexStopsOnTransientError(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 10)
	var pack repo.ID
	for id := range want {
		_, l := packOf(t, r, id)
		pack = l.Pack
		break
	}
	r.Close()
	path := pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: pack.String()})
	truncate(t, path, fileSize(t, path)-10) // header damaged, every blob intact

	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := &flakyRanges{Backend: lb, pack: pack.String(), size: fileSize(t, path)}
	r, err = repo.Open(ctx, fb, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	_, blobs, err := r.RebuildIndex(ctx, func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) })
	r.Close()
	t.Logf("RebuildIndex: err=%v blobs=%d failed loads=%d", err, blobs, fb.n)
	for _, l := range logs {
		t.Logf("  log: %s", l)
	}
	if err == nil || fb.n == 0 {
		t.Fatalf("repair index went on past a failed read (%d failed loads)", fb.n)
	}
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	for id := range want {
		if _, ok := r.LookupBlob(repo.DataBlob, id); !ok {
			t.Fatalf("blob %s left the index", id.Short())
		}
	}
}
