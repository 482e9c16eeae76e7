package repo

import (
	"bytes"
	"context"
	"testing"

	"github.com/lpse/cadang/repo/backend/mem"
)

// TestLoadScratchKeepsFullCapacity: the buffer compressed blobs are
// decompressed into keeps its full size between blobs and calls. It used
// to keep the last blob's size (the decoder's bounded slice), so every
// blob larger than the one before allocated anew: 317 MB of garbage in a
// 1 GB restore.
func TestLoadScratchKeepsFullCapacity(t *testing.T) {
	ctx := context.Background()
	r := NewTestRepository(t, mem.New(), "pw", InitOptions{})
	defer r.Close()
	var ids []ID
	largest := 0
	for i := range 8 {
		n := 100 + i // large and small compressible blobs, alternating
		if i%2 == 0 {
			n = 4000 + i
		}
		d := bytes.Repeat([]byte("INSERT INTO paket VALUES (1, 'x');\n"), n)
		id, _, err := r.SaveBlob(ctx, DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		ids, largest = append(ids, id), max(largest, len(d))
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	load := func(ids ...ID) {
		t.Helper()
		byPack := map[ID][]BlobLocation{}
		for _, id := range ids {
			loc, ok := r.LookupBlob(DataBlob, id)
			if !ok {
				t.Fatalf("blob %s not indexed", id.Short())
			}
			byPack[loc.Pack] = append(byPack[loc.Pack], loc)
		}
		for p, locs := range byPack {
			if err := r.LoadBlobsFromPack(ctx, p, locs, func(_ BlobLocation, _ []byte, err error) error { return err }); err != nil {
				t.Fatal(err)
			}
		}
	}
	load(ids...)
	load(ids[len(ids)-1]) // a small blob last: the scratch must not shrink to it
	lb := r.loadBufs.Get()
	if lb == nil {
		t.Fatal("no pooled load buffer after the loads")
	}
	if cap(lb.plain) < largest {
		t.Errorf("decompression scratch has room for %d bytes after a %d-byte blob; the largest was %d", cap(lb.plain), 107*35, largest)
	}
	if r.loadBufs.Get() != nil {
		t.Error("more than one pooled load buffer for loads made one after another")
	}
}
