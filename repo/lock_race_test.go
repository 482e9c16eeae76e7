package repo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// refreshOnLoad is a backend that, when the lock file victim is first
// loaded, has its holder refresh the lock (a new file saved, the old one
// removed) just before the load: the race a slow listing meets every
// five minutes.
type refreshOnLoad struct {
	backend.Backend
	victim string
	hook   func()
	once   sync.Once
	onList bool // refresh while listing (and skip the file), not while loading it
}

// List hides the victim once, after having its holder refresh the lock,
// as a backend does with a file that vanishes between its directory read
// and its stat (the local backend's listDir).
func (b *refreshOnLoad) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	return b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		if b.onList && t == repo.LockFile && fi.Name == b.victim {
			hidden := false
			b.once.Do(func() { b.hook(); hidden = true })
			if hidden {
				return nil
			}
		}
		return fn(fi)
	})
}

func (b *refreshOnLoad) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	if !b.onList && h.Type == repo.LockFile && h.Name == b.victim {
		b.once.Do(b.hook)
	}
	return b.Backend.Load(ctx, h, off, n)
}

// TestListLocksSeesRefreshedLock: a lock refreshed between the listing of
// locks/ and the reading of its old file is still listed (as its new
// file). Prune's wait for the backups before an obsolete set relies on it:
// missing the holder, it deleted packs a running backup then named.
func TestListLocksSeesRefreshedLock(t *testing.T) {
	for _, onList := range []bool{false, true} {
		name := "refreshed while its file is read"
		if onList {
			name = "refreshed while the directory is read, the old file dropped from the listing"
		}
		t.Run(name, func(t *testing.T) { testListLocksSeesRefreshedLock(t, onList) })
	}
}

func testListLocksSeesRefreshedLock(t *testing.T, onList bool) {
	ctx := context.Background()
	dir, holder := newLocal(t)
	defer holder.Close()
	l, err := holder.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	old := l.Info().ID
	be, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	rb := &refreshOnLoad{Backend: be, victim: old.String(), onList: onList, hook: func() {
		if err := l.Refresh(ctx); err != nil {
			t.Errorf("refresh: %v", err)
		}
	}}
	pruner, err := repo.Open(ctx, rb, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pruner.Close()
	locks, err := pruner.ListLocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := l.Info().ID
	if now == old {
		t.Fatal("the lock was not refreshed during the listing")
	}
	if len(locks) != 1 || locks[0].ID != now {
		t.Fatalf("locks listed %v, want the holder's refreshed lock %s", locks, now.Short())
	}
}
