package repo_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

// Forged entries of length 0 were charged nothing against the budget, and
// backend.Load(off, 0) means "to the end of the file": a review saw each
// read and authenticate the rest of the pack (7 s, 12.8 GiB allocated for
// 200 entries over 32 MiB).
func TestRepairIndexZeroLengthEntries(t *testing.T) {
	dir, r := newLocal(t)
	savedBlobs(t, r, 2)
	jid := writeJunkPack(t, dir, onesJunk())
	forgeIndexEntries(t, r, jid, 200, func(i int) repo.PackBlob {
		return repo.PackBlob{Type: repo.DataBlob, ID: r.BlobID([]byte{byte(i)}), Offset: uint32(i), Length: 0, RawLength: 1}
	})
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
		dir, r, want, pack, size := truncatedPack(t)
		forgeIndexEntries(t, r, pack, nForged, func(i int) repo.PackBlob {
			return repo.PackBlob{Type: repo.DataBlob, ID: r.BlobID([]byte{byte(i), 7}), Offset: 0, Length: uint32(size - 1), RawLength: 1}
		})
		r.Close()
		// repair index either checks every entry or stops, changing
		// nothing; either way no genuine entry leaves the index.
		r = openLocal(t, dir, repo.ExclusiveLock)
		_, _, rerr := r.RebuildIndex(ctx, nil)
		r.Close()
		kept := stillIndexed(t, dir, want)
		t.Logf("%d forged entries at offset 0: repair index: %v; %d of %d genuine entries of the truncated pack stay indexed", nForged, rerr, kept, len(want))
		if kept != len(want) {
			t.Errorf("%d forged entries: genuine entries dropped (%d of %d kept)", nForged, kept, len(want))
		}
	}
}
