package repo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// appendOnlyBackend refuses to remove anything but lock files, and says so,
// as the rest backend of an append-only server does.
type appendOnlyBackend struct{ backend.Backend }

func (b appendOnlyBackend) AppendOnly() bool { return true }

func (b appendOnlyBackend) Remove(ctx context.Context, h backend.Handle) error {
	if h.Type == backend.LockFile {
		return b.Backend.Remove(ctx, h)
	}
	return fmt.Errorf("deleting %s is refused: %w", h, backend.ErrAppendOnly)
}

// wrapped is a decorator that only unwraps (like faulty).
type wrapped struct{ backend.Backend }

func (w wrapped) Unwrap() backend.Backend { return w.Backend }

func countStored(t *testing.T, be backend.Backend) map[backend.FileType]int {
	t.Helper()
	n := map[backend.FileType]int{}
	for _, ft := range []backend.FileType{repo.KeyFile, repo.IndexFile, repo.PackFile, repo.SnapshotFile, repo.ObsoleteFile} {
		if err := be.List(context.Background(), ft, func(backend.FileInfo) error { n[ft]++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestRefuseAppendOnly: the operations that write a new file and then remove
// old ones refuse on a storage that refuses removals before they write
// anything, with an error that names the operation and wraps
// backend.ErrAppendOnly; a decorator in between does not hide it.
func TestRefuseAppendOnly(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(1, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r.AppendOnly() || r.RefuseAppendOnly("x") != nil {
		t.Fatal("a local repository says it is append-only")
	}
	r.Close()

	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	be := wrapped{appendOnlyBackend{lb}}
	ao, err := repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	defer ao.Close()
	if !ao.AppendOnly() {
		t.Fatal("AppendOnly is false through the decorator")
	}
	before := countStored(t, lb)
	check := func(op string, err error) {
		t.Helper()
		var ae *repo.AppendOnlyError
		if !errors.Is(err, backend.ErrAppendOnly) || !errors.As(err, &ae) || ae.Op != op {
			t.Errorf("%s: error %v, want an *AppendOnlyError for %q", op, err, op)
		}
		if after := countStored(t, lb); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: files %v before, %v after", op, before, after)
		}
	}
	_, err = ao.RepairIndex(ctx, repo.RepairIndexOptions{})
	check("repair index", err)
	_, err = ao.ChangePassword(ctx, []byte("new password"), repo.KeyOptions{KDF: crypto.CheapKDFParams(), InsecureKDF: true})
	check("key passwd", err)
	_, err = ao.RepairPacks(ctx, nil, repo.RepairPacksOptions{})
	check("repair packs", err)
}
