package repo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
)

// hugeFiles is a backend that also holds files that exist only as a size
// (a server that answers with gigabytes): their loads hand out that many
// zero bytes, and every load's bytes are counted. It has no MaxLoader, so
// bounded loads go through Stat and an exact-length Load.
type hugeFiles struct {
	backend.Backend
	sizes  map[backend.Handle]int64
	handed atomic.Int64
}

func (b *hugeFiles) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if n, ok := b.sizes[h]; ok {
		return backend.FileInfo{Name: h.Name, Size: n}, nil
	}
	return b.Backend.Stat(ctx, h)
}

func (b *hugeFiles) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	n, ok := b.sizes[h]
	if !ok {
		data, err := b.Backend.Load(ctx, h, offset, length)
		b.handed.Add(int64(len(data)))
		return data, err
	}
	if length == 0 {
		length = n - offset
	}
	b.handed.Add(length)
	return make([]byte, length), nil
}

func (b *hugeFiles) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	for h, n := range b.sizes {
		if h.Type == t {
			if err := fn(backend.FileInfo{Name: h.Name, Size: n}); err != nil {
				return err
			}
		}
	}
	return b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		if _, ok := b.sizes[backend.Handle{Type: t, Name: fi.Name}]; ok {
			return nil // listed above, with the size the server gives
		}
		return fn(fi)
	})
}

// fakeID is a file name no file's bytes hash to.
func fakeID(i int) repo.ID {
	var id repo.ID
	for j := range id {
		id[j] = byte(0xa0 + i)
	}
	return id
}

// checkTooLarge checks that err refuses file h of type t as larger than
// LoadLimit(t), naming the file, its type and the bound.
func checkTooLarge(t *testing.T, what string, h backend.Handle, err error) {
	t.Helper()
	max := repo.LoadLimit(h.Type)
	switch {
	case !errors.Is(err, repo.ErrTooLarge) || !repo.IsDamaged(err):
		t.Errorf("%s of %s: want a damage error wrapping ErrTooLarge, got %v", what, h, err)
	case !strings.Contains(err.Error(), h.String()) || !strings.Contains(err.Error(), fmt.Sprint(max)) ||
		!strings.Contains(err.Error(), "any "+string(h.Type)+" file"):
		t.Errorf("%s of %s: error does not name the file, its type and the bound %d: %v", what, h, max, err)
	}
}

// TestLoadByIDBounded: a file loaded by ID that the storage gives one byte
// more than its type's bound fails as damaged, naming file, type and bound,
// and none of its bytes are handed out; LoadStored and LoadFileSized refuse
// it too. A file of exactly the bound is read (and then fails its name).
func TestLoadByIDBounded(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	repo.NewTestRepository(t, inner, pw, repo.InitOptions{})
	types := []repo.FileType{repo.SnapshotFile, repo.IndexFile, repo.LockFile, repo.ProtectFile,
		repo.RecordFile, repo.ObsoleteFile, repo.ForgottenFile}
	be := &hugeFiles{Backend: inner, sizes: map[backend.Handle]int64{}}
	for i, ft := range types {
		be.sizes[backend.Handle{Type: ft, Name: fakeID(i).String()}] = repo.LoadLimit(ft) + 1
	}
	r, err := repo.Open(ctx, be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, ft := range types {
		id := fakeID(i)
		h := backend.Handle{Type: ft, Name: id.String()}
		before := be.handed.Load()
		_, err := r.LoadFile(ctx, ft, id)
		checkTooLarge(t, "LoadFile", h, err)
		_, err = r.LoadStored(ctx, ft, id)
		checkTooLarge(t, "LoadStored", h, err)
		_, err = r.LoadFileSized(ctx, ft, id, repo.LoadLimit(ft)+1)
		checkTooLarge(t, "LoadFileSized", h, err)
		if n := be.handed.Load() - before; n != 0 {
			t.Errorf("%s: %d bytes handed out for a file of %d", h, n, repo.LoadLimit(ft)+1)
		}
	}

	// Exactly the bound: read, and junk like any file whose bytes do not
	// match its name.
	h := backend.Handle{Type: repo.ProtectFile, Name: fakeID(20).String()}
	be.sizes[h] = repo.LoadLimit(repo.ProtectFile)
	before := be.handed.Load()
	_, err = r.LoadFile(ctx, repo.ProtectFile, fakeID(20))
	if !repo.IsDamaged(err) || errors.Is(err, repo.ErrTooLarge) {
		t.Errorf("file of exactly the bound: want damage other than ErrTooLarge, got %v", err)
	}
	if n := be.handed.Load() - before; n != repo.LoadLimit(repo.ProtectFile) {
		t.Errorf("file of exactly the bound: %d bytes handed out", n)
	}
}

// TestOpenBoundedKeyAndConfig: a key file larger than its bound is passed
// over like a damaged one (the good key still opens the repository), and
// a config larger than its bound stops Open as damage of the config, in
// both cases without its bytes being handed out.
func TestOpenBoundedKeyAndConfig(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	repo.NewTestRepository(t, inner, pw, repo.InitOptions{}).Close()
	key := backend.Handle{Type: repo.KeyFile, Name: fakeID(1).String()}
	be := &hugeFiles{Backend: inner, sizes: map[backend.Handle]int64{key: repo.LoadLimit(repo.KeyFile) + 1}}
	r, err := repo.Open(ctx, be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatalf("open beside an oversized key file: %v", err)
	}
	r.Close()
	if n := be.handed.Load(); n > repo.LoadLimit(repo.KeyFile) {
		t.Errorf("%d bytes handed out", n)
	}

	cfg := backend.Handle{Type: repo.ConfigFile}
	be = &hugeFiles{Backend: inner, sizes: map[backend.Handle]int64{cfg: 3 << 30}}
	_, err = repo.Open(ctx, be, []byte(pw), repo.Options{})
	checkTooLarge(t, "Open", cfg, err)
	if n := be.handed.Load(); n != 0 {
		t.Errorf("%d bytes of the config handed out", n)
	}
}

// TestPaddedSnapshotNotRead: a snapshot file of the bound plus one byte in
// a local repository (sparse, so the test costs no disk) is refused by ID
// without its 256 MiB being allocated.
func TestPaddedSnapshotNotRead(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	be, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	id := fakeID(3)
	h := backend.Handle{Type: repo.SnapshotFile, Name: id.String()}
	f, err := os.OpenFile(be.Path(h), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o400)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(repo.LoadLimit(repo.SnapshotFile) + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = r.LoadFile(ctx, repo.SnapshotFile, id)
	runtime.ReadMemStats(&after)
	checkTooLarge(t, "LoadFile", h, err)
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("refusing it allocated %d bytes", n)
	}
}

// TestSaveFileBounded: a file that loads by ID would refuse is not saved.
func TestSaveFileBounded(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	defer r.Close()
	big := make([]byte, repo.LoadLimit(repo.ProtectFile))
	if _, err := r.SaveFile(ctx, repo.ProtectFile, big); err == nil || !strings.Contains(err.Error(), "nothing was saved") {
		t.Errorf("save of a protection file over the bound: %v", err)
	}
	n := 0
	_ = r.ListFiles(ctx, repo.ProtectFile, func(repo.ID) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d protection files saved", n)
	}
	if _, err := r.SaveFile(ctx, repo.ProtectFile, big[:1000]); err != nil {
		t.Errorf("save of a small protection file: %v", err)
	}
}

// TestWholePackLoadsBounded: the commands that read a pack whole (the tree
// cache, check --read-data, repair packs) refuse one that the storage gives
// more bytes than any pack of the repository may hold, as damage naming the
// pack, without being handed its bytes; before, each asked for all of them.
func TestWholePackLoadsBounded(t *testing.T) {
	ctx := context.Background()
	be := &hugeFiles{Backend: mem.New(), sizes: map[backend.Handle]int64{}}
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	defer r.Close()
	tree := []byte(`{"nodes":[]}`)
	id, _, err := r.SaveBlob(ctx, repo.TreeBlob, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	locs := r.Index().Locations(repo.TreeBlob, id)
	if len(locs) != 1 {
		t.Fatalf("%d locations of the tree blob", len(locs))
	}
	h := backend.Handle{Type: repo.PackFile, Name: locs[0].Pack.String()}
	be.sizes[h] = 8 << 30
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, repo.ErrTooLarge) || !repo.IsDamaged(err) || !strings.Contains(err.Error(), h.String()) {
			t.Errorf("%s: want a damage error naming %s and wrapping ErrTooLarge, got %v", what, h, err)
		}
	}

	_, err = r.LoadBlob(ctx, repo.TreeBlob, id, nil)
	refused("tree load", err)

	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	found := false
	for _, p := range res.Problems {
		if p.File == h && p.Kind == repo.ProblemFileDamaged {
			found = true
			refused("check", p.Err)
		}
	}
	if !found {
		t.Errorf("check did not report %s: %+v", h, res.Problems)
	}

	r.Close()
	r, err = repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.RepairPacks(ctx, []repo.ID{locs[0].Pack}, repo.RepairPacksOptions{})
	refused("repair packs", err)

	if n := be.handed.Load(); n > 16<<20 {
		t.Errorf("%d bytes were handed out", n)
	}
}
