package repo_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// TestRepairPacksCountsCopyInIntactNamedPack: blob B is in a damaged pack
// P1 (rotten there) and intact in pack P2. The administrator names both
// packs (e.g. check named P2 earlier for a forged/rotted blob that was
// since found, or by a typo/glob). P2 is found whole and left alone, yet
// its copy of B is not counted: B is reported lost and the command exits
// 3 although B is intact in the repository.
func TestRepairPacksCountsCopyInIntactNamedPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 3)
	ids := slices.Collect(maps.Keys(want))
	_, l1 := packOf(t, r, ids[0])
	// A second copy of every blob, in a new pack P2.
	for _, id := range ids {
		if _, err := r.CopyBlob(ctx, repo.DataBlob, want[id]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var p2 repo.ID
	for _, l := range r.Index().Locations(repo.DataBlob, ids[0]) {
		if l.Pack != l1.Pack {
			p2 = l.Pack
		}
	}
	r.Close()
	flip(t, pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: l1.Pack.String()}), int64(l1.Offset)+int64(l1.Length)/2)
	res, _ := repairPacks(t, dir, l1.Pack, p2)
	t.Logf("removed %v intact %v covered %d salvaged %d lost %v", res.Removed, res.Intact, res.Covered, res.Salvaged, res.Lost)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	if got, err := r.LoadBlob(ctx, repo.DataBlob, ids[0], nil); err != nil || !bytes.Equal(got, want[ids[0]]) {
		t.Fatalf("blob really lost: %v", err)
	}
	if len(res.Lost) > 0 {
		t.Errorf("repair reports %d blob(s) lost (exit 3) although each is intact in the pack it left alone (%v)", len(res.Lost), res.Intact)
	}
}

// TestRepairPacksLeavesWholePackWithForgedIndexEntry: an index file (uploadable
// with the password through an append-only server) names a blob in a
// whole pack at a place where the pack holds no such blob. Repair packs on
// that pack does not leave it alone: it rewrites and deletes a whole pack.
func TestRepairPacksLeavesWholePackWithForgedIndexEntry(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 3)
	ids := slices.Collect(maps.Keys(want))
	_, l := packOf(t, r, ids[0])
	bogus := l
	bogus.ID = repo.ID{0xee, 1, 2, 3}
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: l.Pack, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: bogus.ID, Offset: l.Offset, Length: l.Length, RawLength: 16}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	res, _ := repairPacks(t, dir, l.Pack)
	t.Logf("removed %v intact %v covered %d salvaged %d lost %v", res.Removed, res.Intact, res.Covered, res.Salvaged, res.Lost)
	if len(res.Removed) > 0 {
		t.Errorf("a pack whose bytes hash to its name and whose header's every blob verifies was removed (salvaged %d, 'lost' %d: the forged entry)", res.Salvaged, len(res.Lost))
	}
}

// TestManyForgedCopiesDistinctPacks: as TestManyForgedCopies, but
// each forged copy names a pack of its own (that does not exist): one
// VerifyCopies round per copy, and each round rescans the copies left.
func TestManyForgedCopiesDistinctPacks(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	d := randBytes(77, 10_000)
	id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, n := range []int{2000, 8000, 32000} {
		r := reopen(t, dir)
		var packs []repo.IndexPack
		for i := range n {
			var p repo.ID
			p[0], p[1], p[2], p[3] = 0, byte(i>>16), byte(i>>8), byte(i)
			packs = append(packs, repo.IndexPack{ID: p, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: id, Offset: 0, Length: 40, RawLength: 10_000}}})
		}
		var first repo.ID
		if err := r.ListFiles(ctx, repo.IndexFile, func(id repo.ID) error {
			if first == (repo.ID{}) || bytes.Compare(id[:], first[:]) < 0 {
				first = id
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var fi repo.ID
		for try := 0; ; try++ {
			fi, err = r.WriteIndex(ctx, packs)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Compare(fi[:], first[:]) < 0 {
				break
			}
			if err := r.RemoveFile(ctx, repo.IndexFile, fi); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
		r = reopen(t, dir)
		good := func(l repo.BlobLocation) bool { return l.Pack[0] != 0 } // skip the good copy
		t0 := time.Now()
		_, _, err = r.LoadBlobSkipping(ctx, repo.DataBlob, id, good)
		tLoad := time.Since(t0)
		if err == nil {
			t.Fatalf("LoadBlob without the good copy: no error")
		}
		t0 = time.Now()
		ok, err := r.VerifyCopies(ctx, []repo.BlobHandle{{Type: repo.DataBlob, ID: id}}, func(l repo.BlobLocation) bool { return !good(l) })
		tVerify := time.Since(t0)
		if err != nil || len(ok) != 0 {
			t.Fatalf("VerifyCopies: %v %d", err, len(ok))
		}
		t.Logf("N=%6d forged copies in distinct packs: LoadBlob %v, VerifyCopies %v", n, tLoad, tVerify)
		if err := r.RemoveFile(ctx, repo.IndexFile, fi); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
}

// TestSameIDOtherTypeAtSamePlace: an index entry (uploadable with
// the password) names a data blob with a tree blob's ID at the tree blob's
// place. loadBlobsFromPack opens "a blob listed twice" once, comparing
// offset, length and ID but not the type: the tree blob's good copy then
// gets the forged data entry's failure (in-place decryption already wiped
// the bytes), and VerifyCopies reports the tree blob as having no intact copy.
func TestSameIDOtherTypeAtSamePlace(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	tree := []byte(`{"nodes":[{"name":"x","type":"file"}]}` + "\n")
	id, _, err := r.SaveBlob(ctx, repo.TreeBlob, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ := r.Index().Lookup(repo.TreeBlob, id)
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: l.Pack, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: id, Offset: l.Offset, Length: l.Length, RawLength: uint32(len(tree))}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	fails, falseOK := 0, 0
	for range 20 {
		r := reopen(t, dir)
		ok, err := r.VerifyCopies(ctx, []repo.BlobHandle{{Type: repo.TreeBlob, ID: id}, {Type: repo.DataBlob, ID: id}}, nil)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, good := ok[repo.BlobHandle{Type: repo.TreeBlob, ID: id}]; !good {
			fails++
		}
		if l, bad := ok[repo.BlobHandle{Type: repo.DataBlob, ID: id}]; bad {
			falseOK++
			_, err := reopenLoad(t, dir, l)
			t.Logf("data blob %s reported intact at %s/%d, but LoadBlob(data) gives: %v", id.Short(), l.Pack.Short(), l.Offset, err)
		}
	}
	if falseOK > 0 {
		t.Errorf("a data blob that exists nowhere was reported intact in %d of 20 runs: prune phase B would delete its real copy on that", falseOK)
	}
	if fails > 0 {
		t.Errorf("the tree blob's only (good) copy failed to verify in %d of 20 runs", fails)
	}
}

func reopenLoad(t *testing.T, dir string, l repo.BlobLocation) ([]byte, error) {
	r := reopen(t, dir)
	defer r.Close()
	return r.LoadBlob(context.Background(), l.Type, l.ID, nil)
}

// TestRepairPacksForgedPackManyEntries times repair packs on a forged
// pack (as check names it) of n entries: the header merge in RepairPacks
// scans the pack's blob list once per header entry.
func TestRepairPacksForgedPackManyEntries(t *testing.T) {
	for _, n := range []int{40_000} {
		dir, r := newLocal(t)
		var locs []repo.BlobLocation
		for i := range n {
			var id repo.ID
			id[0], id[1], id[2], id[3] = 0xab, byte(i>>16), byte(i>>8), byte(i)
			locs = append(locs, repo.BlobLocation{Type: repo.DataBlob, ID: id})
		}
		forged := repo.ForgePack(t, r, locs)
		r.Close()
		t0 := time.Now()
		res, _ := repairPacks(t, dir, forged)
		t.Logf("n=%6d: repair packs took %v (lost %d)", n, time.Since(t0), len(res.Lost))
	}
}

// TestVerifyCopiesRawsKeyedByBlob: VerifyCopies keys the raw
// lengths of a round by place (pack, offset, length) without the blob: a
// forged entry naming blob X, with another raw length, at blob Y's good
// place makes Y's good copy fail when X's raws overwrite Y's.
func TestVerifyCopiesRawsKeyedByBlob(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := savedBlobs(t, r, 2)
	ids := slices.Collect(maps.Keys(want))
	x, y := ids[0], ids[1]
	ly, _ := r.LookupBlob(repo.DataBlob, y)
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: ly.Pack, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: x, Offset: ly.Offset, Length: ly.Length, RawLength: 7}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	fails := 0
	for range 20 {
		r := reopen(t, dir)
		ok, err := r.VerifyCopies(ctx, []repo.BlobHandle{{Type: repo.DataBlob, ID: x}, {Type: repo.DataBlob, ID: y}}, nil)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, good := ok[repo.BlobHandle{Type: repo.DataBlob, ID: y}]; !good {
			fails++
		}
	}
	if fails > 0 {
		t.Errorf("blob y, intact in its only copy, failed to verify in %d of 20 runs", fails)
	}
}
