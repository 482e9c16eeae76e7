package local_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// writeTemp leaves a temporary file as a killed Save would, last modified
// age ago.
func writeTemp(t *testing.T, dir, name string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("partial"), 0o400); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSweepTemp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	b, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	old := []string{
		writeTemp(t, root, ".tmp-config", 2*time.Hour),
		writeTemp(t, filepath.Join(root, "data", "ab"), ".tmp-0001", 2*time.Hour),
		writeTemp(t, filepath.Join(root, "locks"), ".tmp-0002", 3*time.Hour),
	}
	fresh := writeTemp(t, filepath.Join(root, "index"), ".tmp-0003", time.Minute)
	// Names that are not temporary files are never touched, however old.
	other := writeTemp(t, filepath.Join(root, "snapshots"), ".keep", 5*time.Hour)
	if err := b.Save(ctx, backend.Handle{Type: backend.SnapshotFile, Name: "0123"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-time.Hour)

	listed, err := b.SweepTemp(ctx, cutoff, false)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(old)
	if !slices.Equal(listed, old) {
		t.Fatalf("listed %v, want %v", listed, old)
	}
	for _, p := range old {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("listing removed %s", p)
		}
	}

	removed, err := b.SweepTemp(ctx, cutoff, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(old) {
		t.Fatalf("removed %v, want %v", removed, old)
	}
	for _, p := range old {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	for _, p := range []string{fresh, other, b.Path(backend.Handle{Type: backend.SnapshotFile, Name: "0123"})} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if again, err := b.SweepTemp(ctx, cutoff, true); err != nil || len(again) != 0 {
		t.Fatalf("second sweep: %v %v", again, err)
	}
}

func TestModTime(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	b, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.LockFile, Name: "abcd"}
	if _, err := b.ModTime(ctx, h); !backend.IsNotExist(err) {
		t.Fatalf("ModTime of a missing file: %v", err)
	}
	if err := b.Save(ctx, h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	mt, err := b.ModTime(ctx, h)
	if err != nil || time.Since(mt) > time.Minute || time.Since(mt) < -time.Minute {
		t.Fatalf("ModTime: %v %v", mt, err)
	}
}
