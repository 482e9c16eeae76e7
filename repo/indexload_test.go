package repo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// collectIndex lists an index's contents in a canonical order.
func collectIndex(t *testing.T, idx *Index) []string {
	t.Helper()
	var out []string
	err := idx.Each(func(l BlobLocation) error {
		out = append(out, fmt.Sprintf("%d %x %x %d %d", l.Type, l.ID, l.Pack, l.Offset, l.Length))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	for bt := range 3 {
		out = append(out, fmt.Sprintf("len %d: %d", bt, idx.Len(BlobType(bt))))
	}
	return append(out, fmt.Sprintf("packs %d", idx.Packs()))
}

// TestIndexLoaderMatchesBulkAdd: decoding index files straight into the
// tables (indexLoader) gives the index bulkAdd builds from the decoded
// files, with blobs stored in several packs (in one bucket, across files,
// in obsolete packs, among large blobs), packs listed in several files,
// and every blob type.
func TestIndexLoaderMatchesBulkAdd(t *testing.T) {
	for seed := range 20 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			// A small pool of IDs, many sharing a bucket, so that packs
			// share blobs.
			pool := make([]ID, 40+rng.IntN(400))
			for i := range pool {
				for j := range pool[i] {
					pool[i][j] = byte(rng.Uint32())
				}
				if rng.IntN(3) == 0 {
					pool[i][0], pool[i][1] = 7, byte(rng.IntN(2))
				}
			}
			var packs []IndexPack
			for p := range 1 + rng.IntN(30) {
				var ip IndexPack
				ip.ID[0], ip.ID[1], ip.ID[31] = 'p', byte(p), byte(seed)
				for b := range rng.IntN(40) {
					l := uint32(1 + rng.IntN(5000))
					if rng.IntN(30) == 0 {
						l = maxBlobLength + 1 + uint32(rng.IntN(2))
					}
					ip.Blobs = append(ip.Blobs, PackBlob{Type: BlobType(1 + rng.IntN(2)), ID: pool[rng.IntN(len(pool))], Offset: uint32(b * 5000), Length: l, RawLength: l + uint32(rng.IntN(2))})
				}
				packs = append(packs, ip)
			}
			var obsolete []ID
			for _, p := range packs {
				if rng.IntN(4) == 0 {
					obsolete = append(obsolete, p.ID)
				}
			}
			// Split into files, some packs listed twice.
			var files [][]IndexPack
			for rest := packs; len(rest) > 0; {
				k := 1 + rng.IntN(len(rest))
				f := slices.Clone(rest[:k])
				if rng.IntN(3) == 0 {
					f = append(f, packs[rng.IntN(len(packs))])
				}
				files = append(files, f)
				rest = rest[k:]
			}
			want := NewIndex()
			want.SetObsolete(obsolete)
			var all []IndexPack
			for _, f := range files {
				all = append(all, f...)
			}
			if err := want.bulkAdd(all); err != nil {
				t.Fatal(err)
			}
			fresh := NewIndex()
			fresh.SetObsolete(obsolete)
			ld := indexLoader{idx: fresh, seen: make(map[ID]uint32)}
			if rng.IntN(2) == 0 {
				ld.buf = make([]byte, 0, len(all)*40*loadRecSize)
			}
			for _, f := range files {
				if err := ld.add(encodeIndexFile(f)); err != nil {
					t.Fatal(err)
				}
			}
			ld.build()
			got, exp := collectIndex(t, fresh), collectIndex(t, want)
			if !slices.Equal(got, exp) {
				t.Fatalf("loader:\n%s\nbulkAdd:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
			for _, p := range packs {
				for _, b := range p.Blobs {
					if want.HasLive(b.Type, b.ID) != fresh.HasLive(b.Type, b.ID) {
						t.Fatalf("HasLive %s differs", b.ID.Short())
					}
				}
			}
			// The loaded index takes new packs and merges like any other.
			extra := idxPacks(1000, 3, 50)
			for _, p := range extra {
				if err := fresh.AddPack(p.ID, p.Blobs); err != nil {
					t.Fatal(err)
				}
			}
			fresh.mu.Lock()
			fresh.mergeLocked()
			fresh.mu.Unlock()
			wantIndexed(t, fresh, extra)
		})
	}
}

// TestIndexLoaderRejects: a damaged file is refused whole, with
// decodeIndexFile's error.
func TestIndexLoaderRejects(t *testing.T) {
	good := encodeIndexFile(idxPacks(0, 3, 4))
	bad := slices.Clone(good)
	bad[5+IDSize+4+2*indexEntrySize] = 9 // third blob's type
	for _, b := range [][]byte{bad, good[:len(good)-3], good[:3], append([]byte("CDIX\x02"), good[5:]...)} {
		_, want := decodeIndexFile(b)
		ld := indexLoader{idx: NewIndex(), seen: make(map[ID]uint32)}
		err := ld.add(b)
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Fatalf("got %v, want %v", err, want)
		}
		if len(ld.buf) != 0 || len(ld.idx.packs) != 0 {
			t.Fatalf("a refused file added %d bytes, %d packs", len(ld.buf), len(ld.idx.packs))
		}
	}
}
