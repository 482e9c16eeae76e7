package repo_test

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// TestRepairIndexHugeJunkPack: a junk "pack" of 768 MiB (sparse; any name,
// it fails its header anyway) and one forged index entry naming it. A
// review measured repair index allocating 779 MiB when it loaded such a
// pack whole to check the old entries; it reads each entry alone now. The
// allocation is logged, not asserted (shared machines).
func TestRepairIndexHugeJunkPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	savedBlobs(t, r, 2)
	jid := repo.ID(sha256.Sum256([]byte("junk")))
	p := pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: jid.String()})
	os.MkdirAll(filepath.Dir(p), 0o700)
	f, _ := os.Create(p)
	f.Truncate(768 << 20) // sparse
	f.Close()
	fid := r.BlobID([]byte("x"))
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: jid, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: fid, Offset: 0, Length: 100, RawLength: 1}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	rebuildIndex(t, dir)
	runtime.ReadMemStats(&b)
	t.Logf("repair index allocated %d MiB (TotalAlloc delta) for a %d MiB junk pack named by one forged entry", (b.TotalAlloc-a.TotalAlloc)>>20, 768)
}
