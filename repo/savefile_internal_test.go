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
