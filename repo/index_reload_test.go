package repo

import (
	"context"
	"testing"

	"github.com/lpse/cadang/repo/backend/mem"
)

// TestLoadIndexTwice: loading the index files again, also those this
// session wrote, leaves the index as it was.
func TestLoadIndexTwice(t *testing.T) {
	ctx := context.Background()
	r := NewTestRepository(t, mem.New(), "pw", InitOptions{})
	defer r.Close()
	for i := range 20 {
		if _, _, err := r.SaveBlob(ctx, DataBlob, []byte{byte(i), 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	packs, blobs := r.idx.Packs(), r.idx.Len(DataBlob)
	if packs == 0 || blobs != 20 {
		t.Fatalf("after flush: %d packs, %d blobs", packs, blobs)
	}
	for range 2 {
		if err := r.LoadIndex(ctx); err != nil {
			t.Fatal(err)
		}
		if p, b := r.idx.Packs(), r.idx.Len(DataBlob); p != packs || b != blobs {
			t.Fatalf("LoadIndex again: %d packs, %d blobs; want %d, %d", p, b, packs, blobs)
		}
	}
}

// TestIndexBulkAddKnownPacks: packs already known are not added again,
// new ones beside them are.
func TestIndexBulkAddKnownPacks(t *testing.T) {
	idx := NewIndex()
	a, b := idxPacks(0, 10, 5), idxPacks(10, 5, 5)
	if err := idx.bulkAdd(a); err != nil {
		t.Fatal(err)
	}
	if err := idx.bulkAdd(append(append([]IndexPack(nil), a...), b...)); err != nil {
		t.Fatal(err)
	}
	if idx.Packs() != 15 {
		t.Fatalf("want 15 packs, got %d", idx.Packs())
	}
	wantIndexed(t, idx, a)
	wantIndexed(t, idx, b)
}

// TestIndexNoPartialAdd: a pack with an invalid blob changes nothing.
func TestIndexNoPartialAdd(t *testing.T) {
	good := idxPacks(0, 3, 4)
	bad := idxPacks(3, 1, 4)
	bad[0].Blobs[2].Type = 7

	idx := NewIndex()
	if err := idx.AddPack(bad[0].ID, bad[0].Blobs); err == nil {
		t.Fatal("AddPack accepted an unknown blob type")
	}
	if idx.Packs() != 0 || idx.Has(bad[0].Blobs[0].Type, bad[0].Blobs[0].ID) {
		t.Fatalf("failed AddPack left %d packs and its first blob behind", idx.Packs())
	}

	if err := idx.bulkAdd(append(append([]IndexPack(nil), good...), bad...)); err == nil {
		t.Fatal("bulkAdd accepted an unknown blob type")
	}
	if n := idx.Packs(); n != 0 {
		t.Fatalf("failed bulkAdd left %d packs in the pack table", n)
	}
	if idx.Len(DataBlob)+idx.Len(TreeBlob) != 0 {
		t.Fatal("failed bulkAdd left blobs behind")
	}
	// The index is still usable and consistent afterwards.
	if err := idx.bulkAdd(good); err != nil {
		t.Fatal(err)
	}
	if idx.Packs() != len(good) {
		t.Fatalf("want %d packs, got %d", len(good), idx.Packs())
	}
	wantIndexed(t, idx, good)
}
