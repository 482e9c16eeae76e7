package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestRepairIndexNamesWhatWasLost: a pack file deleted by hand (a medium
// that lost a file) and an index file naming a pack that never existed.
// repair index names both missing packs, and counts as lost exactly the
// blobs no remaining pack holds: those of the deleted pack, not the one
// the phantom pack shared with a pack that exists.
func TestRepairIndexNamesWhatWasLost(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	save := func(seed uint64) repo.ID {
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(seed, 3_000))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	kept := []repo.ID{save(1), save(2)}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	lost := []repo.ID{save(3), save(4), save(5)}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Blobs saved concurrently may go to packs of their own.
	packsOf := func(ids []repo.ID) []repo.ID {
		var out []repo.ID
		for _, id := range ids {
			l, ok := r.LookupBlob(repo.DataBlob, id)
			if !ok {
				t.Fatalf("blob %v not indexed", id)
			}
			if !slices.Contains(out, l.Pack) {
				out = append(out, l.Pack)
			}
		}
		return out
	}
	keptPacks, gonePacks := packsOf(kept), packsOf(lost)
	for _, p := range gonePacks {
		if slices.Contains(keptPacks, p) {
			t.Fatal("precondition: one pack holds both groups")
		}
	}
	phantom := repo.ID{0xee, 1}
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: phantom, Blobs: []repo.PackBlob{
		{Type: repo.DataBlob, ID: kept[0], Offset: 0, Length: 100, RawLength: 3_000}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, p := range gonePacks {
		name := p.String()
		if err := os.Remove(filepath.Join(dir, "data", name[:2], name)); err != nil {
			t.Fatal(err)
		}
	}
	ex := openLocal(t, dir, repo.ExclusiveLock)
	defer ex.Close()
	res, err := ex.RepairIndex(ctx, repo.RepairIndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantMissing := append(gonePacks, phantom)
	slices.SortFunc(wantMissing, repo.ID.Compare)
	if !slices.Equal(res.MissingPacks, wantMissing) {
		t.Errorf("missing packs %v, want %v", res.MissingPacks, wantMissing)
	}
	var got []repo.ID
	for _, b := range res.LostBlobs {
		if b.Type != repo.DataBlob {
			t.Errorf("lost %v", b)
		}
		got = append(got, b.ID)
	}
	slices.SortFunc(lost, repo.ID.Compare)
	if !slices.Equal(got, lost) {
		t.Errorf("lost blobs %v, want %v", got, lost)
	}
	if res.Packs != len(keptPacks) || res.Blobs != len(kept) {
		t.Errorf("new index: %d packs, %d blobs; want %d and %d", res.Packs, res.Blobs, len(keptPacks), len(kept))
	}
}
