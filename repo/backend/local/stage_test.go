package local_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// TestStageLeavesNoTemporaryFiles: a staged save that is refused or
// cancelled at its commit removes its temporary file, and a committed one
// leaves only its final name, read-only.
func TestStageLeavesNoTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	be := newBackend(t)
	defer be.Close()
	name := strings.Repeat("ab", 32)
	h := backend.Handle{Type: backend.PackFile, Name: name}
	a, b := bytes.Repeat([]byte{1}, 2<<20), bytes.Repeat([]byte{2}, 2<<20)
	ca, err := be.Stage(ctx, h, a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := be.Stage(ctx, h, b)
	if err != nil {
		t.Fatal(err)
	}
	h2 := backend.Handle{Type: backend.PackFile, Name: strings.Repeat("cd", 32)}
	cc, err := be.Stage(ctx, h2, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cb(ctx); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second commit with other bytes: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := cc(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled commit: %v", err)
	}
	var files []string
	root := be.Location()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	final := filepath.Join("data", name[:2], name)
	var packs []string
	for _, f := range files {
		if strings.HasPrefix(strings.TrimPrefix(f, string(filepath.Separator)), "data") {
			packs = append(packs, f)
		}
	}
	if len(packs) != 1 || !strings.HasSuffix(packs[0], final) {
		t.Fatalf("files under data/ after the commits: %v, want only %s", packs, final)
	}
	fi, err := os.Stat(filepath.Join(root, final))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("committed pack is writable: %v", fi.Mode())
	}
}
