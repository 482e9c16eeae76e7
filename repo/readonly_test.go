package repo_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// readOnlyBackend refuses every write and removal with EROFS, as a local
// directory on a file system mounted read-only does.
type readOnlyBackend struct{ backend.Backend }

func (b readOnlyBackend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	return fmt.Errorf("save %s: %w", h, syscall.EROFS)
}

func (b readOnlyBackend) Remove(ctx context.Context, h backend.Handle) error {
	return fmt.Errorf("remove %s: %w", h, syscall.EROFS)
}

// A shared lock that cannot be written on read-only storage: with
// ReadOnlyUnlocked the repository opens unlocked and says so; without it,
// and for any other lock (which only writers take), Open fails with a *ReadOnlyError that names the
// repository.
func TestReadOnlyStorage(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	r.Close()
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	be := readOnlyBackend{lb}

	ro, err := repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.SharedLock, ReadOnlyUnlocked: true})
	if err != nil {
		t.Fatalf("a reader on read-only storage: %v", err)
	}
	if !ro.Unlocked() {
		t.Error("Unlocked is false for a repository opened without its lock")
	}
	n := 0
	if err := ro.ListFiles(ctx, repo.SnapshotFile, func(repo.ID) error { n++; return nil }); err != nil {
		t.Errorf("listing snapshots unlocked: %v", err)
	}

	for _, o := range []repo.Options{{Lock: repo.SharedLock}, {Lock: repo.PruneLock, ReadOnlyUnlocked: true}, {Lock: repo.ExclusiveLock}} {
		_, err := repo.Open(ctx, be, []byte(pw), o)
		var roe *repo.ReadOnlyError
		if !errors.As(err, &roe) || roe.Location != dir || !errors.Is(err, syscall.EROFS) {
			t.Errorf("%v lock on read-only storage: error %v, want a *ReadOnlyError for %s", o.Lock, err, dir)
		}
	}
}
