package repo

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestRemoveAllLocksButRunning: the lock of a process running on this host
// stays (and is named), the live lock of another host and a stale one of
// this host go; RemoveAllLocks still removes all.
func TestRemoveAllLocksButRunning(t *testing.T) {
	ctx := context.Background()
	r, _, clk := lockTestRepo(t)
	l, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	host, user := hostAndUser()
	for _, li := range []LockInfo{
		{Time: clk.Now(), Host: "another-host", Username: user, PID: l.Info().PID},
		{Time: clk.Now().Add(-LockStaleAfter - time.Minute), Host: host, Username: user, PID: l.Info().PID},
	} {
		b, _ := json.Marshal(li)
		if _, err := r.SaveFile(ctx, LockFile, b); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := r.RemoveAllLocksButRunning(ctx)
	var rl *RunningLocksError
	if !errors.As(err, &rl) || len(rl.Locks) != 1 || rl.Locks[0].ID != l.Info().ID {
		t.Fatalf("RemoveAllLocksButRunning: %v, want the running lock %s named", err, l.Info().ID.Short())
	}
	if len(removed) != 2 {
		t.Errorf("removed %v, want the other host's and the stale one", removed)
	}
	if ids := lockFiles(t, r); len(ids) != 1 || ids[0] != l.Info().ID {
		t.Errorf("lock files left: %v", ids)
	}
	if err := l.Err(); err != nil {
		t.Errorf("the running lock was lost: %v", err)
	}
	if removed, err := r.RemoveAllLocks(ctx); err != nil || len(removed) != 1 {
		t.Errorf("RemoveAllLocks: %v, %v", removed, err)
	}
}
