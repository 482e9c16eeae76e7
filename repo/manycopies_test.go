package repo_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

// TestManyForgedCopies: one index file names a blob N times in its
// good pack, at offsets before the good copy (so every forged record sorts
// first). It times Open, LoadBlob (which reads every failing copy and
// compares each with all tried before) and VerifyCopies (one round, one
// read, per copy).
func TestManyForgedCopies(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	var ids []repo.ID
	data := map[repo.ID][]byte{}
	for i := range 40 {
		d := randBytes(uint64(10+i), 10_000)
		if i%8 == 0 {
			d = randBytes(uint64(10+i), 200_000)
		}
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		ids, data[id] = append(ids, id), d
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The blob stored furthest into its pack.
	var id repo.ID
	var l repo.BlobLocation
	for _, x := range ids {
		if lx, _ := r.LookupBlob(repo.DataBlob, x); lx.Offset >= l.Offset && len(data[x]) == 10_000 {
			id, l = x, lx
		}
	}
	b := data[id]
	ns := []int{2000, 32000}
	r.Close()
	for _, n := range ns {
		if int(l.Offset) < n {
			t.Fatalf("good copy at %d, need > %d", l.Offset, n)
		}
		r := reopen(t, dir)
		var blobs []repo.PackBlob
		for i := range n {
			blobs = append(blobs, repo.PackBlob{Type: repo.DataBlob, ID: id, Offset: uint32(i), Length: 40, RawLength: 10_000})
		}
		fi, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: l.Pack, Blobs: blobs}})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		t0 := time.Now()
		r = reopen(t, dir)
		tOpen := time.Since(t0)
		t0 = time.Now()
		got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
		tLoad := time.Since(t0)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("LoadBlob: %v", err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t0 = time.Now()
		ok, err := r.VerifyCopies(ctx, []repo.BlobHandle{{Type: repo.DataBlob, ID: id}}, nil)
		tVerify := time.Since(t0)
		if err != nil || len(ok) != 1 {
			t.Fatalf("VerifyCopies: %v %d", err, len(ok))
		}
		t.Logf("N=%6d copies: open %v, LoadBlob %v, VerifyCopies %v", n, tOpen, tLoad, tVerify)
		if err := r.RemoveFile(ctx, repo.IndexFile, fi); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
}
