package repo

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/mem"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockTestRepo is a repository on a fault-injecting in-memory backend whose
// clock the test drives. The refresh loop's own ticker (a minute of real
// time) never fires in these tests; they call tick, as the loop would.
func lockTestRepo(t *testing.T) (*Repository, *faulty.Backend, *fakeClock) {
	t.Helper()
	be := faulty.New(mem.New())
	r := NewTestRepository(t, be, "pw", InitOptions{})
	t.Cleanup(func() { r.Close() })
	clk := &fakeClock{now: time.Now()}
	r.opts.Now = clk.Now
	return r, be, clk
}

func isLockFile(h backend.Handle) bool { return h.Type == LockFile }

func lockFiles(t *testing.T, r *Repository) []ID {
	t.Helper()
	var ids []ID
	if err := r.ListFiles(context.Background(), LockFile, func(id ID) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func isLost(l *Lock) bool {
	select {
	case <-l.Lost():
		return true
	default:
		return false
	}
}

// TestLockLostAfterFailedRefreshes: refreshes that keep failing make the lock
// lost before it can be judged stale, and from then on the repository
// refuses to write.
func TestLockLostAfterFailedRefreshes(t *testing.T) {
	ctx := context.Background()
	r, be, clk := lockTestRepo(t)
	l, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.SaveBlob(ctx, DataBlob, []byte("before")); err != nil {
		t.Fatal(err)
	}
	be.FailSaves(isLockFile, errors.New("disk full"))
	for elapsed := time.Duration(0); elapsed+lockPoll <= LockLostAfter; elapsed += lockPoll {
		clk.Add(lockPoll)
		l.tick(ctx)
		if err := l.Err(); err != nil || isLost(l) {
			t.Fatalf("lock lost after %v, before LockLostAfter: %v", elapsed+lockPoll, err)
		}
	}
	if l.Refresh(ctx) == nil {
		t.Fatal("Refresh hides the failing refresh")
	}
	clk.Add(lockPoll)
	l.tick(ctx)
	if !isLost(l) {
		t.Fatalf("lock not lost after %v without a refresh", LockLostAfter+lockPoll)
	}
	err = l.Err()
	if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), l.Info().ID.Short()) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("lost lock error should wrap ErrLockLost and name the lock and the cause: %v", err)
	}
	if LockLostAfter+lockPoll >= LockStaleAfter {
		t.Fatal("the lock is given up too late: others may already take it as stale")
	}

	if _, _, err := r.SaveBlob(ctx, DataBlob, []byte("after")); !errors.Is(err, ErrLockLost) {
		t.Errorf("SaveBlob under a lost lock: %v", err)
	}
	if err := r.Flush(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("Flush under a lost lock: %v", err)
	}
	for _, ft := range []FileType{SnapshotFile, IndexFile} {
		if _, err := r.SaveFile(ctx, ft, []byte("{}")); !errors.Is(err, ErrLockLost) {
			t.Errorf("SaveFile(%s) under a lost lock: %v", ft, err)
		}
	}
	if _, err := r.SaveFile(ctx, RecordFile, []byte("{}")); err != nil {
		t.Errorf("the run log must still be writable: %v", err)
	}

	// A lost lock stays lost, and is not written again, even once the
	// backend works: another process may have taken the repository.
	be.Heal()
	saves := be.Counts().Saves
	clk.Add(LockRefresh)
	l.tick(ctx)
	if !errors.Is(l.Refresh(ctx), ErrLockLost) || be.Counts().Saves != saves {
		t.Fatal("a lost lock was refreshed")
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := lockFiles(t, r); len(ids) != 0 {
		t.Fatalf("%d lock files left after Unlock", len(ids))
	}
}

// TestLockRecoversFromFailedRefresh: a refresh that succeeds in time keeps
// the lock.
func TestLockRecoversFromFailedRefresh(t *testing.T) {
	ctx := context.Background()
	r, be, clk := lockTestRepo(t)
	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	first := l.Info().ID
	be.FailSaves(isLockFile, nil)
	clk.Add(LockLostAfter - lockPoll)
	l.tick(ctx)
	if l.Info().ID != first {
		t.Fatal("failed refresh replaced the lock")
	}
	be.Heal()
	clk.Add(lockPoll / 2)
	l.tick(ctx)
	if l.Info().ID == first || l.Err() != nil {
		t.Fatalf("lock not refreshed after the backend healed: %v", l.Err())
	}
	if err := l.Refresh(ctx); err != nil {
		t.Fatalf("Refresh after recovery still reports the old failure: %v", err)
	}
	clk.Add(LockLostAfter - lockPoll)
	if l.Err() != nil || isLost(l) {
		t.Fatal("lock lost although it was refreshed")
	}
	if ids := lockFiles(t, r); len(ids) != 1 || ids[0] != l.Info().ID {
		t.Fatalf("lock files after refreshes: %v", ids)
	}
}

// TestLockLostWhileSuspended: after the machine slept past the stale time,
// the first write notices, before the refresh loop wakes.
func TestLockLostWhileSuspended(t *testing.T) {
	ctx := context.Background()
	r, _, clk := lockTestRepo(t)
	l, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	clk.Add(2 * time.Hour)
	if _, _, err := r.SaveBlob(ctx, DataBlob, []byte("x")); !errors.Is(err, ErrLockLost) {
		t.Fatalf("SaveBlob after a long suspend: %v", err)
	}
	if !isLost(l) {
		t.Fatal("Lost not closed")
	}
}

// TestLockRemovedByOther: a lock file removed by someone else (unlock
// --remove-all, or a process that took it for stale) is lost: at the next
// refresh, and before a snapshot is saved even without one.
func TestLockRemovedByOther(t *testing.T) {
	ctx := context.Background()
	r, _, _ := lockTestRepo(t)
	l, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RemoveAllLocks(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveFile(ctx, SnapshotFile, []byte("{}")); !errors.Is(err, ErrLockLost) {
		t.Fatalf("snapshot saved although the lock was removed: %v", err)
	}
	if !isLost(l) {
		t.Fatal("Lost not closed")
	}
	l.Unlock(ctx)

	l, err = r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	if _, err := r.RemoveAllLocks(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Refresh(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("refresh of a removed lock: %v", err)
	}
	if ids := lockFiles(t, r); len(ids) != 0 {
		t.Fatalf("a removed lock was written again: %v", ids)
	}
}

// TestUnlockedLockDoesNotBlockWrites: only held locks are checked.
func TestUnlockedLockDoesNotBlockWrites(t *testing.T) {
	ctx := context.Background()
	r, _, clk := lockTestRepo(t)
	l, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	if _, _, err := r.SaveBlob(ctx, DataBlob, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Fatalf("an unlocked lock reports an error: %v", l.Err())
	}
}
