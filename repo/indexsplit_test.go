package repo

import (
	"context"
	"fmt"
	"testing"

	"github.com/lpse/cadang/repo/backend/mem"
)

// TestIndexFilesBounded: the packs pending an index file are written as
// several index files, none over indexFileBlobs blobs unless one pack has
// more, as soon as they fill one; a reopened repository finds every blob.
func TestIndexFilesBounded(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := NewTestRepository(t, be, "pw", InitOptions{})
	per := indexFileBlobs / 10
	packs := idxPacks(0, 25, per)
	big := idxPacks(100, 1, indexFileBlobs+3)
	packs = append(packs[:12], append(big, packs[12:]...)...)
	r.mu.Lock()
	for i, p := range packs {
		if full := r.indexFullLocked(); full != (i >= 11) {
			t.Errorf("%d packs of %d blobs pending: full %v", i, per, full)
		}
		r.unsaved = append(r.unsaved, p)
	}
	r.mu.Unlock()
	if err := r.writeIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.unsaved) != 0 {
		t.Fatalf("%d packs still pending", len(r.unsaved))
	}
	var sizes []int
	err := r.ListFiles(ctx, IndexFile, func(id ID) error {
		got, err := r.ReadIndexFile(ctx, id)
		if err != nil {
			return err
		}
		blobs := 0
		for _, p := range got {
			blobs += len(p.Blobs)
		}
		if blobs > indexFileBlobs && len(got) != 1 {
			t.Errorf("index file %s holds %d blobs in %d packs", id.Short(), blobs, len(got))
		}
		sizes = append(sizes, blobs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 10 packs fill a file, the next 2 do not have room for the big
	// one, which gets a file of its own; then 10 and 3 packs.
	if len(sizes) != 5 || len(r.indexFile) != 5 {
		t.Errorf("index files of %v blobs (%d recorded), want 5", sizes, len(r.indexFile))
	}
	r.Close()
	r2, err := Open(ctx, be, []byte("pw"), Options{NoIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	wantIndexed(t, r2.Index(), packs)
}

// TestRebuildIndexFilesBounded: repair index wrote 20,000 packs per file
// whatever their blobs, so packs of many small blobs made files of
// gigabytes, which every open reads whole. It splits as a session does.
func TestRebuildIndexFilesBounded(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := NewTestRepository(t, be, "pw", InitOptions{})
	defer r.Close()
	n := indexFileBlobs + indexFileBlobs/2
	for i := range n {
		if _, _, err := r.SaveBlob(ctx, DataBlob, []byte(fmt.Sprintf("small file %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.RebuildIndex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	files, blobs := 0, 0
	err := r.ListFiles(ctx, IndexFile, func(id ID) error {
		got, err := r.ReadIndexFile(ctx, id)
		if err != nil {
			return err
		}
		inFile := 0
		for _, p := range got {
			inFile += len(p.Blobs)
		}
		if inFile > indexFileBlobs && len(got) != 1 {
			t.Errorf("index file %s holds %d blobs in %d packs", id.Short(), inFile, len(got))
		}
		files++
		blobs += inFile
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 || blobs != n {
		t.Fatalf("%d index files with %d blobs, want at least 2 with %d", files, blobs, n)
	}
}
