package repo_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// Forged entries of length 0 were charged nothing against the budget, and
// backend.Load(off, 0) means "to the end of the file": a review saw each
// read and authenticate the rest of the pack (7 s, 12.8 GiB allocated for
// 200 entries over 32 MiB).
func TestRepairIndexZeroLengthEntries(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	savedBlobs(t, r, 2)
	jid := writeJunkPack(t, dir, onesJunk())
	var bl []repo.PackBlob
	for i := range 200 {
		bl = append(bl, repo.PackBlob{Type: repo.DataBlob, ID: r.BlobID([]byte{byte(i)}), Offset: uint32(i), Length: 0, RawLength: 1})
	}
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: jid, Blobs: bl}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	start := time.Now()
	rebuildIndex(t, dir)
	runtime.ReadMemStats(&b)
	t.Logf("200 zero-length forged entries over a 32 MiB junk pack: %v, %d MiB allocated (budget would allow 64 MiB authenticated)",
		time.Since(start), (b.TotalAlloc-a.TotalAlloc)>>20)
}

// Forged entries at a genuine blob's offset (ties in an unstable sort) used
// up the budget before the genuine entries of a truncated pack, which a
// review saw dropped (repair packs then salvaged nothing).
func TestRepairIndexBudgetKeepsGenuine(t *testing.T) {
	for _, nForged := range []int{2, 3, 5, 20} {
		ctx := context.Background()
		dir, r := newLocal(t)
		want := savedBlobs(t, r, 10)
		var pack repo.ID
		for id := range want {
			_, l := packOf(t, r, id)
			pack = l.Pack
			break
		}
		path := pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: pack.String()})
		size := fileSize(t, path)
		truncate(t, path, size-10) // header gone, every blob intact
		size -= 10
		var bl []repo.PackBlob
		for i := range nForged {
			bl = append(bl, repo.PackBlob{Type: repo.DataBlob, ID: r.BlobID([]byte{byte(i), 7}), Offset: 0, Length: uint32(size - 1), RawLength: 1})
		}
		if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: pack, Blobs: bl}}); err != nil {
			t.Fatal(err)
		}
		r.Close()
		// repair index either checks every entry or stops, changing
		// nothing; either way no genuine entry leaves the index.
		r = openLocal(t, dir, repo.ExclusiveLock)
		_, _, rerr := r.RebuildIndex(ctx, nil)
		r.Close()
		t.Logf("%d forged entries: repair index: %v", nForged, rerr)
		r = openLocal(t, dir, repo.SharedLock)
		kept := 0
		for id := range want {
			if _, ok := r.LookupBlob(repo.DataBlob, id); ok {
				kept++
			}
		}
		r.Close()
		t.Logf("%d forged entries at offset 0: %d of %d genuine entries of the truncated pack stay indexed", nForged, kept, len(want))
		if kept != len(want) {
			t.Errorf("%d forged entries: genuine entries dropped (%d of %d kept)", nForged, kept, len(want))
		}
	}
}

type flakyIndex struct {
	backend.Backend
	on bool
	n  int
}

func (f *flakyIndex) Load(ctx context.Context, h backend.Handle, off, l int64) ([]byte, error) {
	if f.on && h.Type == repo.IndexFile {
		f.n++
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.Backend.Load(ctx, h, off, l)
}

// keepDamagedHeaders passed over an old index file it could not read for
// any reason, a transient one too, and RebuildIndex then removed that
// file (a review). Only damage, a newer format or a vanished file may be
// passed over; another error stops it with nothing changed.
func TestRepairIndexTransientIndexLoad(t *testing.T) {
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
	truncate(t, path, fileSize(t, path)-10)
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := &flakyIndex{Backend: lb}
	r, err = repo.Open(ctx, fb, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	fb.on = true // the index was read at open; the network fails now
	_, blobs, err := r.RebuildIndex(ctx, func(f string, a ...any) { t.Logf("  log: "+f, a...) })
	r.Close()
	t.Logf("RebuildIndex: err=%v blobs=%d failed index loads=%d", err, blobs, fb.n)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	lost := 0
	for id := range want {
		if _, ok := r.LookupBlob(repo.DataBlob, id); !ok {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("a transient error reading an old index file: %d of %d blobs of the truncated pack left the index, and the old index files were removed (err=%v)", lost, len(want), err)
	}
}
