package repo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// savedBlobs stores n random data blobs in one session and returns them.
func savedBlobs(t *testing.T, r *repo.Repository, n int) map[repo.ID][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[repo.ID][]byte{}
	for i := range n {
		d := randBytes(uint64(500+i), 15_000+i)
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = d
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return out
}

func repairPacks(t *testing.T, dir string, packs ...repo.ID) (*repo.RepairPacksResult, map[repo.ID][]byte) {
	t.Helper()
	r := openLocal(t, dir, repo.ExclusiveLock)
	defer r.Close()
	kept := map[repo.ID][]byte{}
	res, err := r.RepairPacks(context.Background(), packs, repo.RepairPacksOptions{Keep: func(p repo.ID, b []byte) error {
		kept[p] = bytes.Clone(b)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, kept
}

// checkClean runs check --read-data and fails on any problem.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	r := openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	res, err := r.Check(context.Background(), repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) > 0 || len(res.UnindexedPacks) > 0 {
		t.Fatalf("check --read-data after the repair: %v %v, unindexed %v", err, res.Problems, res.UnindexedPacks)
	}
}

// TestRepairPacksRemovesForgedPack: every blob of a forged pack has its
// good copy elsewhere; the repair removes the pack, keeps its bytes, and
// check is clean again.
func TestRepairPacksRemovesForgedPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 6)
	var locs []repo.BlobLocation
	for id := range want {
		l, _ := r.LookupBlob(repo.DataBlob, id)
		locs = append(locs, l)
	}
	forged := repo.ForgeCopies(t, r, locs)
	r.Close()
	res, kept := repairPacks(t, dir, forged)
	if len(res.Removed) != 1 || res.Removed[0] != forged || res.Covered != len(want) || res.Salvaged != 0 || len(res.Lost) != 0 {
		t.Fatalf("repair: %+v", res)
	}
	if len(kept[forged]) == 0 {
		t.Fatal("the forged pack's bytes were not handed to Keep")
	}
	checkClean(t, dir)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	for id, d := range want {
		if got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil || !bytes.Equal(got, d) {
			t.Fatalf("blob %s after the repair: %v", id.Short(), err)
		}
		if n := len(r.Index().Locations(repo.DataBlob, id)); n != 1 {
			t.Fatalf("blob %s has %d locations after the repair, want 1", id.Short(), n)
		}
	}
}

// TestRepairPacksSalvagesDamagedPack: one blob of a pack rots; the others,
// which have no other copy, are stored again from the damaged pack, and
// the rotten one is reported lost. An intact pack named too is left alone.
func TestRepairPacksSalvagesDamagedPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 8)
	var victim repo.ID
	var h backend.Handle
	var vloc repo.BlobLocation
	packs := map[repo.ID]int{}
	for id := range want {
		hh, l := packOf(t, r, id)
		packs[l.Pack]++
		if packs[l.Pack] == 2 {
			victim, h, vloc = id, hh, l
		}
	}
	if victim == (repo.ID{}) {
		t.Fatal("precondition: no pack with two blobs")
	}
	var other repo.ID
	for p := range packs {
		if p != vloc.Pack {
			other = p
		}
	}
	r.Close()
	flip(t, pathOf(t, dir, h), int64(vloc.Offset)+int64(vloc.Length)/2)
	targets := []repo.ID{vloc.Pack}
	if other != (repo.ID{}) {
		targets = append(targets, other)
	}
	res, kept := repairPacks(t, dir, targets...)
	if len(res.Removed) != 1 || res.Removed[0] != vloc.Pack || res.Salvaged != packs[vloc.Pack]-1 ||
		len(res.Lost) != 1 || res.Lost[0].ID != victim {
		t.Fatalf("repair: %+v (pack had %d blobs)", res, packs[vloc.Pack])
	}
	if other != (repo.ID{}) && (len(res.Intact) != 1 || res.Intact[0] != other) {
		t.Fatalf("the intact pack %s was not left alone: %+v", other.Short(), res)
	}
	if _, ok := kept[vloc.Pack]; !ok {
		t.Fatal("the damaged pack's bytes were not kept")
	}
	checkClean(t, dir)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	for id, d := range want {
		got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
		if id == victim {
			if !errors.Is(err, repo.ErrBlobNotFound) {
				t.Fatalf("lost blob: %v", err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, d) {
			t.Fatalf("blob %s after the repair: %v", id.Short(), err)
		}
	}
}

func TestRepairPacksNeedsExclusiveLock(t *testing.T) {
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 1)
	r.Close()
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	for id := range want {
		l, _ := r.LookupBlob(repo.DataBlob, id)
		if _, err := r.RepairPacks(context.Background(), []repo.ID{l.Pack}, repo.RepairPacksOptions{}); err == nil {
			t.Fatal("repair packs under a shared lock: no error")
		}
	}
}

// TestRepairIndexKeepsEntriesOfPackWithDamagedHeader: a truncated pack has
// lost its header but still holds most blobs. repair index must keep what
// the old index says of it, so that repair packs can salvage those blobs;
// a review lost 40 readable blobs by following check's notes in the other
// order. Without any index entry, repair packs leaves such a pack alone.
func TestRepairIndexKeepsEntriesOfPackWithDamagedHeader(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 10)
	// The pack holding most blobs, and the blob furthest into it.
	count := map[repo.ID]int{}
	var pack repo.ID
	for id := range want {
		_, l := packOf(t, r, id)
		if count[l.Pack]++; count[l.Pack] > count[pack] {
			pack = l.Pack
		}
	}
	var last repo.BlobLocation
	for id := range want {
		if _, l := packOf(t, r, id); l.Pack == pack && l.Offset >= last.Offset {
			last = l
		}
	}
	r.Close()
	path := pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: pack.String()})
	truncate(t, path, int64(last.Offset)+int64(last.Length)/2) // the header and the last blob gone

	rebuildIndex(t, dir)
	r = openLocal(t, dir, repo.SharedLock)
	for id := range want {
		_, ok := r.LookupBlob(repo.DataBlob, id)
		switch {
		case id == last.ID && ok:
			// A review: kept, it made the next backup deduplicate
			// against a blob that is not there.
			t.Fatalf("repair index kept the entry of blob %s, cut off by the truncation", id.Short())
		case id != last.ID && !ok:
			t.Fatalf("repair index dropped blob %s of the pack whose header is damaged", id.Short())
		}
	}
	r.Close()
	res, _ := repairPacks(t, dir, pack)
	if len(res.Removed) != 1 || res.Salvaged != count[pack]-1 || len(res.Lost) != 0 {
		t.Fatalf("repair packs after repair index: %+v (pack held %d blobs)", res, count[pack])
	}
	checkClean(t, dir)

	// A pack with neither a header nor an index entry: nothing to salvage;
	// its bytes are kept and it is removed, or it would fail every check.
	dir2, r2 := newLocal(t)
	w2 := savedBlobs(t, r2, 3)
	var p2 repo.ID
	for id := range w2 {
		_, l := packOf(t, r2, id)
		p2 = l.Pack
	}
	var idx []repo.ID
	_ = r2.ListFiles(ctx, repo.IndexFile, func(id repo.ID) error { idx = append(idx, id); return nil })
	for _, id := range idx {
		if err := r2.RemoveFile(ctx, repo.IndexFile, id); err != nil {
			t.Fatal(err)
		}
	}
	r2.Close()
	p2path := pathOf(t, dir2, backend.Handle{Type: repo.PackFile, Name: p2.String()})
	truncate(t, p2path, fileSize(t, p2path)-10)
	res, kept := repairPacks(t, dir2, p2)
	if len(res.Unknown) != 1 || len(res.Removed) != 1 || len(kept[p2]) == 0 {
		t.Fatalf("repair packs of a pack whose blobs are not known: %+v", res)
	}
	if _, err := os.Stat(p2path); !os.IsNotExist(err) {
		t.Fatalf("the pack is still there: %v", err)
	}
}
