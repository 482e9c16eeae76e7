package repo_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// TestLoadBlobsFromPackInPlace: the restore path decrypts blobs inside its
// pack buffer. Blobs listed twice, compressed and raw blobs side by side,
// and a damaged blob between good ones must all come back as LoadBlob
// returns them, and the buffers must be reusable by the next call.
func TestLoadBlobsFromPackInPlace(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	var datas [][]byte
	var ids []repo.ID
	for i := range 12 {
		var d []byte
		if i%2 == 0 {
			d = bytes.Repeat([]byte("INSERT INTO paket VALUES (1, 'x');\n"), 2000+i) // compresses
		} else {
			d = randBytes(uint64(i), 30_000+i) // stored raw
		}
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		datas, ids = append(datas, d), append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	byPack := map[repo.ID][]repo.BlobLocation{}
	want := map[repo.ID][]byte{}
	for i, id := range ids {
		loc, ok := r.LookupBlob(repo.DataBlob, id)
		if !ok {
			t.Fatalf("blob %d not indexed", i)
		}
		// Every blob twice, the second time at the front.
		byPack[loc.Pack] = append([]repo.BlobLocation{loc}, append(byPack[loc.Pack], loc)...)
		want[id] = datas[i]
	}
	load := func(r *repo.Repository) (calls int, bad map[repo.ID]bool) {
		bad = map[repo.ID]bool{}
		for pack, locs := range byPack {
			err := r.LoadBlobsFromPack(ctx, pack, locs, func(loc repo.BlobLocation, data []byte, err error) error {
				calls++
				if err != nil {
					if !repo.IsDamaged(err) {
						t.Errorf("blob %s: %v", loc.ID.Short(), err)
					}
					bad[loc.ID] = true
					return nil
				}
				if !bytes.Equal(data, want[loc.ID]) {
					t.Errorf("blob %s came back wrong", loc.ID.Short())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return calls, bad
	}
	for round := range 3 { // pooled buffers must not leak state between calls
		if calls, bad := load(r); calls != 2*len(ids) || len(bad) != 0 {
			t.Fatalf("round %d: %d calls, damaged %v", round, calls, bad)
		}
	}

	victim := ids[5]
	h, loc := packOf(t, r, victim)
	flip(t, pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: h.Name}), int64(loc.Offset)+int64(loc.Length)/2)
	calls, bad := load(reopen(t, dir))
	if calls != 2*len(ids) || len(bad) != 1 || !bad[victim] {
		t.Fatalf("after flipping blob %s: %d calls, damaged %v", victim.Short(), calls, bad)
	}
}

// TestLoadBlobsFromPackDamagedIndex: locations no real pack has (a damaged
// or forged index) must not cost a good blob its bytes, nor allocate what
// the index claims.
func TestLoadBlobsFromPackDamagedIndex(t *testing.T) {
	ctx := context.Background()
	_, r := newLocal(t)
	good := randBytes(7, 50_000)
	id, _, err := r.SaveBlob(ctx, repo.DataBlob, good)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	loc, _ := r.LookupBlob(repo.DataBlob, id)
	bogus := repo.BlobLocation{Type: repo.DataBlob, ID: repo.ID{1, 2, 3}, Pack: loc.Pack, Offset: loc.Offset, Length: loc.Length / 2}
	got := map[repo.ID]error{}
	err = r.LoadBlobsFromPack(ctx, loc.Pack, []repo.BlobLocation{bogus, loc, bogus}, func(l repo.BlobLocation, data []byte, err error) error {
		if err == nil && !bytes.Equal(data, good) {
			t.Errorf("blob %s came back wrong", l.ID.Short())
		}
		got[l.ID] = err
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[id] != nil || !repo.IsDamaged(got[bogus.ID]) {
		t.Fatalf("overlapping bogus location: good blob %v, bogus %v", got[id], got[bogus.ID])
	}

	huge := repo.BlobLocation{Type: repo.DataBlob, ID: repo.ID{9}, Pack: loc.Pack, Offset: 0, Length: 1<<32 - 1}
	calls := 0
	err = r.LoadBlobsFromPack(ctx, loc.Pack, []repo.BlobLocation{huge}, func(l repo.BlobLocation, data []byte, err error) error {
		calls++
		if err == nil {
			t.Error("a 4 GiB location in a small pack loaded")
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("huge location: %v, %d calls", err, calls)
	}
}
