package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/lpse/cadang/crypto"
)

// idxID returns a distinct, well-spread ID for (kind, n).
func idxID(kind byte, n int) ID {
	var b [9]byte
	b[0] = kind
	binary.LittleEndian.PutUint64(b[1:], uint64(n))
	return sha256.Sum256(b[:])
}

// idxPacks makes packs with blobsPer blobs each, of alternating types.
func idxPacks(first, packs, blobsPer int) []IndexPack {
	out := make([]IndexPack, packs)
	for p := range out {
		out[p].ID = idxID('p', first+p)
		off := uint32(0)
		for b := range blobsPer {
			n := (first+p)*blobsPer + b
			l := uint32(crypto.Overhead + 1 + n%5000)
			out[p].Blobs = append(out[p].Blobs, PackBlob{Type: BlobType(1 + n%2), ID: idxID('b', n), Offset: off, Length: l, RawLength: l})
			off += l
		}
	}
	return out
}

func wantIndexed(t *testing.T, idx *Index, packs []IndexPack) {
	t.Helper()
	for _, p := range packs {
		for _, b := range p.Blobs {
			loc, ok := idx.Lookup(b.Type, b.ID)
			if !ok {
				t.Fatalf("blob %s of pack %s not found", b.ID.Short(), p.ID.Short())
			}
			want := BlobLocation{Type: b.Type, ID: b.ID, Pack: p.ID, Offset: b.Offset, Length: b.Length}
			if loc != want {
				t.Fatalf("lookup %s: got %+v, want %+v", b.ID.Short(), loc, want)
			}
			if !idx.Has(b.Type, b.ID) {
				t.Fatal("Has disagrees with Lookup")
			}
			other := DataBlob
			if b.Type == DataBlob {
				other = TreeBlob
			}
			if idx.Has(other, b.ID) {
				t.Fatalf("blob %s found under the other type", b.ID.Short())
			}
		}
	}
}

func TestIndexAddPackLookup(t *testing.T) {
	idx := NewIndex()
	packs := idxPacks(0, 10, 7)
	for _, p := range packs {
		if err := idx.AddPack(p.ID, p.Blobs); err != nil {
			t.Fatal(err)
		}
	}
	wantIndexed(t, idx, packs)
	if idx.Packs() != 10 || idx.Len(DataBlob)+idx.Len(TreeBlob) != 70 {
		t.Fatalf("Packs %d Len %d+%d", idx.Packs(), idx.Len(DataBlob), idx.Len(TreeBlob))
	}
	if idx.Has(DataBlob, idxID('x', 1)) || idx.Has(BlobType(0), packs[0].Blobs[0].ID) || idx.Has(BlobType(9), packs[0].Blobs[0].ID) {
		t.Fatal("unknown blob or type found")
	}
	if err := idx.AddPack(idxID('p', 99), []PackBlob{{Type: 7, ID: idxID('b', 1)}}); err == nil {
		t.Fatal("invalid blob type accepted")
	}
}

// TestIndexMergeAndBulk crosses the merge threshold, mixes AddPack (recent
// map) with bulkAdd (sorted table) and checks every entry survives.
func TestIndexMergeAndBulk(t *testing.T) {
	idx := NewIndex()
	a := idxPacks(0, 10, 100)    // recent
	b := idxPacks(10, 700, 100)  // 70,000 entries: forces a merge
	c := idxPacks(710, 30, 100)  // recent again
	d := idxPacks(740, 100, 100) // bulk, merging recent
	for _, p := range append(a, b...) {
		if err := idx.AddPack(p.ID, p.Blobs); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c {
		if err := idx.AddPack(p.ID, p.Blobs); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.bulkAdd(d); err != nil {
		t.Fatal(err)
	}
	all := append(append(append(a, b...), c...), d...)
	wantIndexed(t, idx, all)
	if n := idx.Len(DataBlob) + idx.Len(TreeBlob); n != 84000 {
		t.Fatalf("Len = %d, want 84000", n)
	}
	seen := map[ID]int{}
	if err := idx.Each(func(l BlobLocation) error { seen[l.ID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 84000 {
		t.Fatalf("Each saw %d blobs, want 84000", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("Each saw %s %d times", id.Short(), n)
		}
	}
}

// TestIndexManyPacks checks the 3-byte pack numbers beyond 2^16 packs.
func TestIndexManyPacks(t *testing.T) {
	packs := idxPacks(0, 70000, 1)
	idx := NewIndex()
	if err := idx.bulkAdd(packs); err != nil {
		t.Fatal(err)
	}
	wantIndexed(t, idx, packs)
}

// TestIndexKeepsEveryCopy: a blob stored in two packs keeps both
// locations through AddPack, merges and bulkAdd, the first one preferred
// unless its pack is obsolete, and the same pack added twice adds nothing.
// Keeping only the first let an uploaded index or pack with wrong bytes
// for an existing blob shadow its good copy.
func TestIndexKeepsEveryCopy(t *testing.T) {
	dup := idxID('d', 0)
	p1 := IndexPack{ID: idxID('p', 1), Blobs: []PackBlob{{Type: DataBlob, ID: dup, Offset: 0, Length: 100}}}
	p2 := IndexPack{ID: idxID('p', 2), Blobs: []PackBlob{{Type: DataBlob, ID: dup, Offset: 500, Length: 100}}}
	want := func(t *testing.T, idx *Index, packs ...ID) {
		t.Helper()
		var got []ID
		for _, l := range idx.Locations(DataBlob, dup) {
			got = append(got, l.Pack)
		}
		if !slices.Equal(got, packs) || idx.Len(DataBlob) != len(packs) {
			t.Fatalf("locations in %v (Len %d), want %v", got, idx.Len(DataBlob), packs)
		}
		if l, _ := idx.Lookup(DataBlob, dup); l.Pack != packs[0] {
			t.Fatalf("Lookup gives %s, want %s", l.Pack.Short(), packs[0].Short())
		}
		n := 0
		_ = idx.Each(func(BlobLocation) error { n++; return nil })
		if n != len(packs) {
			t.Fatalf("Each saw %d locations, want %d", n, len(packs))
		}
	}

	idx := NewIndex()
	for _, p := range []IndexPack{p1, p2, p1} {
		if err := idx.AddPack(p.ID, p.Blobs); err != nil {
			t.Fatal(err)
		}
	}
	want(t, idx, p1.ID, p2.ID)
	idx.mu.Lock()
	idx.mergeLocked()
	idx.mu.Unlock()
	want(t, idx, p1.ID, p2.ID)
	idx.SetObsolete([]ID{p1.ID})
	want(t, idx, p2.ID, p1.ID)
	if !idx.HasLive(DataBlob, dup) {
		t.Fatal("HasLive is false with a copy in a live pack")
	}
	idx.SetObsolete([]ID{p1.ID, p2.ID})
	if idx.HasLive(DataBlob, dup) {
		t.Fatal("HasLive is true with every copy in an obsolete pack")
	}

	idx = NewIndex()
	if err := idx.bulkAdd([]IndexPack{p1, p2, p1}); err != nil {
		t.Fatal(err)
	}
	want(t, idx, p1.ID, p2.ID)
	if err := idx.bulkAdd([]IndexPack{p2}); err != nil {
		t.Fatal(err)
	}
	want(t, idx, p1.ID, p2.ID)
	// A pack named twice with another location for the blob (a crafted
	// index file) adds that location.
	evil := IndexPack{ID: p1.ID, Blobs: []PackBlob{{Type: DataBlob, ID: dup, Offset: 900, Length: 100}}}
	idx = NewIndex()
	if err := idx.bulkAdd([]IndexPack{evil, p1}); err != nil {
		t.Fatal(err)
	}
	if ls := idx.Locations(DataBlob, dup); len(ls) != 2 || ls[0].Offset != 900 || ls[1].Offset != 0 {
		t.Fatalf("locations %+v, want offsets 900 and 0", ls)
	}
}

func TestIndexLimits(t *testing.T) {
	big := IndexPack{ID: idxID('p', 1), Blobs: []PackBlob{
		{Type: DataBlob, ID: idxID('l', 0), Offset: 0, Length: maxBlobLength},
		{Type: DataBlob, ID: idxID('l', 1), Offset: maxBlobLength, Length: maxBlobLength + 1},
		{Type: TreeBlob, ID: idxID('l', 2), Offset: 1<<32 - 100, Length: 1 << 30},
		{Type: TreeBlob, ID: idxID('l', 3), Offset: 1<<32 - 1, Length: 1},
	}}
	for _, bulk := range []bool{false, true} {
		idx := NewIndex()
		var err error
		if bulk {
			err = idx.bulkAdd([]IndexPack{big})
		} else {
			err = idx.AddPack(big.ID, big.Blobs)
		}
		if err != nil {
			t.Fatal(err)
		}
		wantIndexed(t, idx, []IndexPack{big})
		n := 0
		_ = idx.Each(func(BlobLocation) error { n++; return nil })
		if n != 4 {
			t.Fatalf("Each saw %d blobs, want 4", n)
		}
	}
}

func TestIndexConcurrent(t *testing.T) {
	idx := NewIndex()
	packs := idxPacks(0, 400, 200)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(packs); i += 4 {
				if err := idx.AddPack(packs[i].ID, packs[i].Blobs); err != nil {
					t.Error(err)
					return
				}
				// Everything added so far by this writer stays visible.
				for j := w; j <= i; j += 4 * 17 {
					b := packs[j].Blobs[0]
					if !idx.Has(b.Type, b.ID) {
						t.Errorf("blob of pack %d lost while adding pack %d", j, i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	wantIndexed(t, idx, packs)
}

func TestIndexFileRoundTrip(t *testing.T) {
	packs := append(idxPacks(0, 3, 5), IndexPack{ID: idxID('p', 50)})
	packs[1].Blobs[2].Compression = compressZstd
	enc := encodeIndexFile(packs)
	dec, err := decodeIndexFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dec) != fmt.Sprint(packs) {
		t.Fatalf("round trip changed the index:\n%v\n%v", dec, packs)
	}
	// Every truncation either fails or ends exactly at a pack boundary.
	for n := range len(enc) {
		got, err := decodeIndexFile(enc[:n])
		if err != nil {
			continue
		}
		if !bytes.Equal(encodeIndexFile(got), enc[:n]) {
			t.Fatalf("prefix of %d bytes decoded to something else", n)
		}
	}
	bad := bytes.Clone(enc)
	bad[4] = 2
	if _, err := decodeIndexFile(bad); err == nil {
		t.Fatal("unknown index version accepted")
	}
	bad = bytes.Clone(enc)
	bad[5+IDSize+4] = 3 // type of the first entry
	if _, err := decodeIndexFile(bad); err == nil {
		t.Fatal("unknown blob type accepted")
	}
	bad = bytes.Clone(enc)
	binary.LittleEndian.PutUint32(bad[5+IDSize:], 1<<31)
	if _, err := decodeIndexFile(bad); err == nil {
		t.Fatal("absurd blob count accepted")
	}
}

func TestPackHeaderRoundTrip(t *testing.T) {
	blobs := idxPacks(0, 1, 9)[0].Blobs
	blobs[3].Compression = compressZstd
	var size int64
	for _, b := range blobs {
		size += int64(b.Length)
	}
	hdr := encodePackHeader(blobs)
	got, err := decodePackHeader(hdr, size)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(blobs) {
		t.Fatalf("round trip changed the header:\n%v\n%v", got, blobs)
	}
	for _, n := range []int64{size - 1, size + 1, 0} {
		if _, err := decodePackHeader(hdr, n); err == nil {
			t.Fatalf("header accepted for a pack of %d data bytes (want %d)", n, size)
		}
	}
	for n := range len(hdr) {
		if _, err := decodePackHeader(hdr[:n], size); err == nil {
			t.Fatalf("truncated header of %d bytes accepted", n)
		}
	}
	mutate := func(i int, v byte) []byte { b := bytes.Clone(hdr); b[i] = v; return b }
	for name, b := range map[string][]byte{
		"version":     mutate(0, 2),
		"type":        mutate(1, 0),
		"compression": mutate(2, 9),
		"short":       mutate(3, 1), // first length byte: 41 -> 1
	} {
		if _, err := decodePackHeader(b, size); err == nil {
			t.Fatalf("%s: damaged header accepted", name)
		}
	}
}

func TestPackTrailer(t *testing.T) {
	var tail [4]byte
	for _, tc := range []struct {
		size, hdrLen int64
		ok           bool
	}{
		{100, 50, true},
		{100, 96, true},
		{100, 97, false},
		{100, crypto.Overhead, false},
		{100, 1 << 31, false},
		{4, 0, false},
	} {
		binary.LittleEndian.PutUint32(tail[:], uint32(tc.hdrLen))
		off, n, err := packTrailer(tc.size, tail[:])
		if (err == nil) != tc.ok {
			t.Fatalf("size %d header %d: err %v", tc.size, tc.hdrLen, err)
		}
		if err == nil && (off+n+4 != tc.size || n != tc.hdrLen) {
			t.Fatalf("size %d header %d: got %d+%d", tc.size, tc.hdrLen, off, n)
		}
	}
	if _, _, err := packTrailer(100, tail[:3]); err == nil {
		t.Fatal("short trailer accepted")
	}
}

func TestIndexRandomAgainstMap(t *testing.T) {
	// A random mix of operations, checked against a plain map. A blob
	// stored in several packs may be found in any of them.
	rng := rand.New(rand.NewPCG(3, 4))
	idx := NewIndex()
	ref := map[ID][]BlobLocation{}
	for round := range 20 {
		var packs []IndexPack
		for p := range 1 + rng.IntN(20) {
			pid := idxID('P', round*100+p)
			var blobs []PackBlob
			for range rng.IntN(300) {
				var id ID
				if len(ref) > 0 && rng.IntN(10) == 0 {
					for k := range ref { // an existing blob again
						id = k
						break
					}
				} else {
					id = idxID('R', rng.Int())
				}
				blobs = append(blobs, PackBlob{Type: DataBlob, ID: id, Offset: rng.Uint32(), Length: 1 + rng.Uint32N(maxBlobLength)})
			}
			packs = append(packs, IndexPack{ID: pid, Blobs: blobs})
		}
		if rng.IntN(2) == 0 {
			if err := idx.bulkAdd(packs); err != nil {
				t.Fatal(err)
			}
		} else {
			for _, p := range packs {
				if err := idx.AddPack(p.ID, p.Blobs); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, p := range packs {
			for _, b := range p.Blobs {
				ref[b.ID] = append(ref[b.ID], BlobLocation{Type: DataBlob, ID: b.ID, Pack: p.ID, Offset: b.Offset, Length: b.Length})
			}
		}
	}
	n := 0
	for id, want := range ref {
		n += len(want)
		if got, ok := idx.Lookup(DataBlob, id); !ok || got != want[0] {
			t.Fatalf("lookup %s: %+v %v, want the first of %+v", id.Short(), got, ok, want)
		}
		if got := idx.Locations(DataBlob, id); !slices.Equal(got, want) {
			t.Fatalf("locations of %s: %+v, want %+v", id.Short(), got, want)
		}
	}
	if idx.Len(DataBlob) != n {
		t.Fatalf("Len %d, want %d", idx.Len(DataBlob), n)
	}
}

// ByPack groups exactly the blobs Each lists, from the merged tables and
// from packs added since the last merge.
func TestIndexByPack(t *testing.T) {
	idx := NewIndex()
	packs := idxPacks(0, 12, 9)
	if err := idx.bulkAdd(packs[:8]); err != nil {
		t.Fatal(err)
	}
	for _, p := range packs[8:] {
		if err := idx.AddPack(p.ID, p.Blobs); err != nil {
			t.Fatal(err)
		}
	}
	// A pack added twice (AddPack does not look for the ID) is one group.
	again := idxPacks(1000, 1, 4)[0]
	again.ID = packs[3].ID
	if err := idx.AddPack(again.ID, again.Blobs); err != nil {
		t.Fatal(err)
	}
	want := map[ID][]BlobLocation{}
	_ = idx.Each(func(b BlobLocation) error {
		want[b.Pack] = append(want[b.Pack], b)
		return nil
	})
	got := idx.ByPack()
	if len(want[again.ID]) != len(packs[3].Blobs)+len(again.Blobs) {
		t.Fatalf("Each lists %d blobs of the pack added twice", len(want[again.ID]))
	}
	if len(got) != len(packs) || len(want) != len(packs) {
		t.Fatalf("ByPack has %d packs, Each %d, want %d", len(got), len(want), len(packs))
	}
	cmp := func(a, b BlobLocation) int { return bytes.Compare(a.ID[:], b.ID[:]) }
	for id, w := range want {
		g := slices.Clone(got[id])
		slices.SortFunc(g, cmp)
		slices.SortFunc(w, cmp)
		if !slices.Equal(g, w) {
			t.Fatalf("pack %s: ByPack %v, Each %v", id.Short(), g, w)
		}
	}
}
