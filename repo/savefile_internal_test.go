package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestSaveFileVerifiesSeal: SaveFile saves nothing whose seal it cannot
// open again with a subkey derived afresh, here because the key changed in
// memory after it was loaded: such a file would have a name its bytes match
// and a seal no reader opens, which readers take for junk (ErrForeignFile).
func TestSaveFileVerifiesSeal(t *testing.T) {
	ctx := context.Background()
	r := NewTestRepository(t, mem.New(), budgetPw, InitOptions{})
	defer r.Close()
	count := func() int {
		n := 0
		if err := r.ListFiles(ctx, SnapshotFile, func(ID) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := r.SaveFile(ctx, SnapshotFile, []byte(`{"paths":["/srv"]}`)); err != nil {
		t.Fatal(err)
	}
	r.key.Encrypt[7] ^= 0x80
	_, err := r.SaveFile(ctx, SnapshotFile, []byte(`{"paths":["/etc"]}`))
	r.key.Encrypt[7] ^= 0x80
	if !errors.Is(err, crypto.ErrKeyChanged) {
		t.Fatalf("SaveFile with a key changed in memory: %v", err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d snapshot files, want the first only", n)
	}
}

// TestKeysTriedCheapestFirst: key files are tried in ascending order of
// their KDF cost, names breaking ties, so that a key file uploaded with
// the highest cost the bounds allow, under a name that sorts first, runs
// after the genuine one, not before it at every open.
func TestKeysTriedCheapestFirst(t *testing.T) {
	kf := func(mem, passes uint32) *crypto.KeyFile {
		return &crypto.KeyFile{Params: crypto.KDFParams{Memory: mem, Time: passes, Threads: 1}}
	}
	cands := []keyCandidate{
		{ID{0x00}, kf(4<<20, 100)}, // junk, ground to sort first
		{ID{0x10}, kf(64<<10, 3)},  // genuine default
		{ID{0x20}, kf(19<<10, 2)},  // genuine at the floor
		{ID{0x30}, kf(64<<10, 3)},  // another at the default
		{ID{0x40}, kf(8<<10, 1)},   // cheap junk: tried, fails quickly
	}
	byKDFCost(cands)
	var got []byte
	for _, c := range cands {
		got = append(got, c.id[0])
	}
	if want := []byte{0x40, 0x20, 0x10, 0x30, 0x00}; string(got) != string(want) {
		t.Errorf("order %x, want %x", got, want)
	}
}
