package repo_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

type countingBE struct {
	backend.Backend
	indexLists atomic.Int64
}

func (c *countingBE) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == repo.IndexFile {
		c.indexLists.Add(1)
	}
	return c.Backend.List(ctx, t, fn)
}

// TestForgedMissingPackReloadsOnce: an index file naming every
// blob in a pack that does not exist, read first. Every LoadBlob then
// tries that copy first, gets "not found", and reloads the whole index
// (r.moved) before it reads the good copy: one full index reload per blob.
func TestForgedMissingPackReloadsOnce(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	data := map[repo.ID][]byte{}
	var blobs []repo.PackBlob
	for i := range 200 {
		d := randBytes(uint64(1000+i), 2_000)
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		data[id] = d
		blobs = append(blobs, repo.PackBlob{Type: repo.DataBlob, ID: id, Offset: uint32(i * 100), Length: 100, RawLength: 2_000})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	missing := repo.ID{0, 0, 1}
	for try := 0; ; try++ {
		fi, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: missing, Blobs: blobs}})
		if err != nil {
			t.Fatal(err)
		}
		var listed []repo.ID
		_ = r.ListFiles(ctx, repo.IndexFile, func(id repo.ID) error { listed = append(listed, id); return nil })
		first := len(listed) > 0 && listed[0] == fi
		if first {
			break
		}
		if err := r.RemoveFile(ctx, repo.IndexFile, fi); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	be := &countingBE{Backend: lb}
	r, err = repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if l, _ := r.LookupBlob(repo.DataBlob, blobs[0].ID); l.Pack != missing {
		t.Fatalf("precondition: the missing pack is not the first copy")
	}
	before := be.indexLists.Load()
	t0 := time.Now()
	for id, d := range data {
		got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
		if err != nil || !bytes.Equal(got, d) {
			t.Fatalf("LoadBlob: %v", err)
		}
	}
	n := be.indexLists.Load() - before
	t.Logf("%d LoadBlob calls took %v and listed (reloaded) the index %d times", len(data), time.Since(t0), n)
	if n > 1 {
		t.Errorf("a full index reload per LoadBlob: %d reloads for %d blobs", n, len(data))
	}
}
