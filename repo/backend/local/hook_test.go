package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

func withHook(t *testing.T, hook func(tmp string)) {
	testHookBeforeLink = hook
	t.Cleanup(func() { testHookBeforeLink = nil })
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// A Save cancelled after its data is written, before it is linked, leaves
// neither the final name nor the temporary file.
func TestCancelBeforeLink(t *testing.T) {
	be, err := Create(context.Background(), filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	withHook(t, func(string) { cancel() })
	h := backend.Handle{Type: backend.IndexFile, Name: "i1"}
	if err := be.Save(ctx, h, []byte("data")); !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if _, err := os.Lstat(be.Path(h)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("final name exists: %v", err)
	}
	noTemp(t, filepath.Dir(be.Path(h)))
}

// Another writer wins the race between the existence check and the link.
func TestLostRace(t *testing.T) {
	be, err := Create(context.Background(), filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := backend.Handle{Type: backend.IndexFile, Name: "i1"}
	other := []byte("other")
	withHook(t, func(string) { _ = os.WriteFile(be.Path(h), other, 0o400) })
	if err := be.Save(ctx, h, []byte("mine!")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("lost race with different bytes: want fs.ErrExist, got %v", err)
	}
	if got, _ := os.ReadFile(be.Path(h)); string(got) != "other" {
		t.Errorf("the winner's file was replaced: %q", got)
	}
	noTemp(t, filepath.Dir(be.Path(h)))

	h2 := backend.Handle{Type: backend.IndexFile, Name: "i2"}
	withHook(t, func(string) { _ = os.WriteFile(be.Path(h2), other, 0o400) })
	if err := be.Save(ctx, h2, other); err != nil {
		t.Errorf("lost race with the same bytes: %v", err)
	}
	noTemp(t, filepath.Dir(be.Path(h2)))
}
