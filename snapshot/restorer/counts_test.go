package restorer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// The existing entries a restore replaces or keeps are the names of
// non-directory entries, as a person counts them in the target: each name
// of a hardlink pair, the symlink and the FIFO once, a deleted file not at
// all, directories never (README walk: the counts were taken for one too
// many).
func TestRestoreExistingCounts(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	d := filepath.Join(src, "d")
	for _, n := range []string{"a", "b", "h1"} {
		snapshottest.WriteFile(t, filepath.Join(d, n), []byte(n))
	}
	if err := os.Link(filepath.Join(d, "h1"), filepath.Join(d, "sub-h2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(d, "s")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(d, "p"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	names := func() uint64 { // what a person counts: find ! -type d
		var n uint64
		filepath.WalkDir(target, func(_ string, e os.DirEntry, _ error) error {
			if e != nil && !e.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	check := func(what string, m OverwriteMode, wantReplaced, wantKept uint64) {
		t.Helper()
		for _, dry := range []bool{true, false} {
			sum, err := (&Restorer{Repo: r, Overwrite: m, DryRun: dry}).Restore(ctx, sn, "/", target)
			if err != nil || sum.Replaced != wantReplaced || sum.Skipped != wantKept {
				t.Errorf("%s, %s, dry run %v: replaced %d kept %d, want %d and %d (%v)", what, m, dry, sum.Replaced, sum.Skipped, wantReplaced, wantKept, err)
			}
		}
	}
	if n := names(); n != 6 {
		t.Fatalf("target holds %d names, want 6", n)
	}
	check("complete target", OverwriteAlways, 6, 0)
	check("complete target", OverwriteNever, 0, 6)
	check("complete target", OverwriteIfChanged, 0, 6)
	for _, gone := range []string{"b", "sub-h2"} {
		if err := os.Remove(filepath.Join(target, d, gone)); err != nil {
			t.Fatal(err)
		}
	}
	check("two names deleted", OverwriteNever, 0, names())
	for _, gone := range []string{"b", "h1"} {
		if err := os.Remove(filepath.Join(target, d, gone)); err != nil {
			t.Fatal(err)
		}
	}
	n := names()
	check("two names deleted", OverwriteAlways, n, 0)
}
