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
}

func (b *refreshOnLoad) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	if h.Type == repo.LockFile && h.Name == b.victim {
		b.once.Do(b.hook)
	}
	return b.Backend.Load(ctx, h, off, n)
}

// TestListLocksSeesRefreshedLock: a lock refreshed between the listing of
// locks/ and the reading of its old file is still listed (as its new
// file). Prune's wait for the backups before an obsolete set relies on it:
// missing the holder, it deleted packs a running backup then named.
func TestListLocksSeesRefreshedLock(t *testing.T) {
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
	rb := &refreshOnLoad{Backend: be, victim: old.String(), hook: func() {
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
