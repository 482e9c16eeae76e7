package repotest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
)

// DamageBlob flips one byte in the middle of the stored blob (t, id) of
// r, a repository in the local directory dir: a blob that then fails
// authentication, for fault tests.
func DamageBlob(tb testing.TB, r *repo.Repository, dir string, t repo.BlobType, id repo.ID) {
	tb.Helper()
	loc, ok := r.LookupBlob(t, id)
	if !ok {
		tb.Fatalf("blob %s not indexed", id.Short())
	}
	p := filepath.Join(dir, "data", loc.Pack.String()[:2], loc.Pack.String())
	if err := os.Chmod(p, 0o600); err != nil {
		tb.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	off := int64(loc.Offset) + int64(loc.Length)/2
	if _, err := f.ReadAt(b, off); err != nil {
		tb.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		tb.Fatal(err)
	}
}
