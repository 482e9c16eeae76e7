package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/lpse/cadang/repo/backend"
)

// Lock timing. A lock is rewritten every LockRefresh while held and is
// stale when it was not rewritten for LockStaleAfter, or when it names a
// process on this host that no longer exists.
const (
	LockRefresh    = 5 * time.Minute
	LockStaleAfter = 30 * time.Minute
)

// LockInfo is the content of a lock file.
type LockInfo struct {
	ID        ID        `json:"-"`
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Host      string    `json:"host"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
}

func (l LockInfo) String() string {
	kind := "shared"
	if l.Exclusive {
		kind = "exclusive"
	}
	return fmt.Sprintf("%s lock %s held by %s@%s (PID %d) since %s", kind, l.ID.Short(), l.Username, l.Host, l.PID, l.Time.Format(time.RFC3339))
}

// Stale reports whether the lock can safely be removed: its process on this
// host is gone, or nobody has refreshed it for LockStaleAfter.
func (l LockInfo) Stale(now time.Time, host string) bool {
	if now.Sub(l.Time) > LockStaleAfter {
		return true
	}
	if l.Host == host && l.PID > 0 {
		err := syscall.Kill(l.PID, 0)
		return errors.Is(err, syscall.ESRCH)
	}
	return false
}

// LockedError says the repository is locked by someone else.
type LockedError struct{ Holder LockInfo }

func (e *LockedError) Error() string {
	return fmt.Sprintf("repository is already locked: %s (if that process is gone, 'cadang unlock' removes stale locks)", e.Holder)
}

// Lock is a held repository lock. It refreshes itself until Unlock.
type Lock struct {
	r      *Repository
	info   LockInfo
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error // the last refresh error
}

// Info returns the lock's current file content and ID.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// ListLocks returns every lock file. Files that cannot be read are
// returned as errors after the others are listed.
func (r *Repository) ListLocks(ctx context.Context) ([]LockInfo, error) {
	var out []LockInfo
	var errs []error
	err := r.ListFiles(ctx, LockFile, func(id ID) error {
		b, err := r.LoadFile(ctx, LockFile, id)
		if err != nil {
			if backend.IsNotExist(err) {
				return nil // removed while we listed
			}
			errs = append(errs, err)
			return nil
		}
		var li LockInfo
		if err := json.Unmarshal(b, &li); err != nil {
			errs = append(errs, damaged(backend.Handle{Type: LockFile, Name: id.String()}, nil, "decode: %v", err))
			return nil
		}
		li.ID = id
		out = append(out, li)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// RemoveStaleLocks removes locks whose holder is gone and returns them.
func (r *Repository) RemoveStaleLocks(ctx context.Context) ([]LockInfo, error) {
	locks, err := r.ListLocks(ctx)
	host, _ := hostAndUser()
	var removed []LockInfo
	for _, l := range locks {
		if !l.Stale(r.opts.Now(), host) {
			continue
		}
		if err := r.RemoveFile(ctx, LockFile, l.ID); err != nil && !backend.IsNotExist(err) {
			return removed, err
		}
		removed = append(removed, l)
	}
	return removed, err
}

// RemoveAllLocks removes every lock, stale or not.
func (r *Repository) RemoveAllLocks(ctx context.Context) ([]LockInfo, error) {
	locks, err := r.ListLocks(ctx)
	for _, l := range locks {
		if rerr := r.RemoveFile(ctx, LockFile, l.ID); rerr != nil && !backend.IsNotExist(rerr) {
			return nil, rerr
		}
	}
	return locks, err
}

func conflicts(exclusive bool, other LockInfo) bool { return exclusive || other.Exclusive }

// Lock takes a shared (backup, restore, check) or exclusive (maintenance)
// lock. Stale locks in the way are removed, and each removal is reported
// through Options.Logf. A live conflicting lock gives a *LockedError.
func (r *Repository) Lock(ctx context.Context, exclusive bool) (*Lock, error) {
	host, user := hostAndUser()
	check := func(self ID) error {
		locks, err := r.ListLocks(ctx)
		if err != nil && locks == nil {
			return err
		}
		for _, l := range locks {
			if l.ID == self || !conflicts(exclusive, l) {
				continue
			}
			if l.Stale(r.opts.Now(), host) {
				if err := r.RemoveFile(ctx, LockFile, l.ID); err != nil && !backend.IsNotExist(err) {
					return fmt.Errorf("remove stale lock: %w", err)
				}
				r.opts.Logf("removed stale %s", l)
				continue
			}
			return &LockedError{Holder: l}
		}
		return nil
	}
	if err := check(ID{}); err != nil {
		return nil, err
	}
	info := LockInfo{Time: r.opts.Now(), Exclusive: exclusive, Host: host, Username: user, PID: os.Getpid()}
	id, err := r.saveLock(ctx, info)
	if err != nil {
		return nil, err
	}
	info.ID = id
	// Someone may have written a conflicting lock at the same moment; if so
	// both back off, which is safe.
	if err := check(id); err != nil {
		_ = r.RemoveFile(context.WithoutCancel(ctx), LockFile, id)
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lock{r: r, info: info, cancel: cancel, done: make(chan struct{})}
	go l.refreshLoop(rctx)
	return l, nil
}

func (r *Repository) saveLock(ctx context.Context, info LockInfo) (ID, error) {
	b, err := json.Marshal(info)
	if err != nil {
		return ID{}, err
	}
	id, err := r.SaveFile(ctx, LockFile, b)
	if err != nil {
		return ID{}, fmt.Errorf("write lock: %w", err)
	}
	return id, nil
}

// refreshLoop writes a new lock file and removes the old one every
// LockRefresh: lock files, like all files, are never modified in place.
func (l *Lock) refreshLoop(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(LockRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.refresh(ctx)
		}
	}
}

func (l *Lock) refresh(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := l.info
	info.Time = l.r.opts.Now()
	id, err := l.r.saveLock(ctx, info)
	if err != nil {
		l.err = err
		l.r.opts.Logf("refreshing lock failed: %v", err)
		return
	}
	old := l.info.ID
	info.ID = id
	l.info = info
	// The new lock file is written; the old one must go even if the lock
	// is being released right now.
	if err := l.r.RemoveFile(context.WithoutCancel(ctx), LockFile, old); err != nil && !backend.IsNotExist(err) {
		l.r.opts.Logf("removing old lock file %s failed: %v", old.Short(), err)
	}
}

// Refresh rewrites the lock now.
func (l *Lock) Refresh(ctx context.Context) error {
	l.refresh(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = nil
	return err
}

// Unlock stops refreshing and removes the lock file.
func (l *Lock) Unlock(ctx context.Context) error {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.r.RemoveFile(ctx, LockFile, l.info.ID); err != nil && !backend.IsNotExist(err) {
		return fmt.Errorf("remove lock %s: %w", l.info.ID.Short(), err)
	}
	return nil
}
