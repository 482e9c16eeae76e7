package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/lpse/cadang/repo/backend"
)

// Lock timing. A lock is rewritten every LockRefresh while held and is
// stale when it was not rewritten for LockStaleAfter, or when it names a
// process on this host that no longer exists.
//
// A holder whose refreshes keep failing gives its lock up after
// LockLostAfter: from LockStaleAfter on, another process may remove the lock
// as stale and take an exclusive one, so the margin (one and a half refresh
// periods, as in restic) leaves time to stop writing before that can happen.
const (
	LockRefresh    = 5 * time.Minute
	LockStaleAfter = 30 * time.Minute
	LockLostAfter  = LockStaleAfter - LockRefresh*3/2
	// lockPoll is how often a held lock checks its age. A failed refresh is
	// retried at every poll, not only after another LockRefresh.
	lockPoll = time.Minute
)

// ErrLockLost is wrapped by the errors of a lost lock (see Lock.Lost) and by
// the errors of writes refused because of it.
var ErrLockLost = errors.New("repository lock lost")

// LockInfo is the content of a lock file.
type LockInfo struct {
	ID        ID        `json:"-"`
	Time      time.Time `json:"time"` // last written (refreshes rewrite it)
	Exclusive bool      `json:"exclusive"`
	Host      string    `json:"host"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
	// Started is when the lock was first taken; refreshes keep it. Zero in
	// locks of older cadang versions (doc/design.md, "Lock fields for
	// prune"): whoever compares it must then take the lock as older.
	Started time.Time `json:"started,omitzero"`
	// Prune marks a prune lock: it conflicts with prune and exclusive
	// locks and coexists with shared ones.
	Prune bool `json:"prune,omitempty"`
	// Copy marks a copy lock: it conflicts with copy and exclusive locks
	// and coexists with shared and prune ones.
	Copy bool `json:"copy,omitempty"`
}

// Mode is the lock's kind as a LockMode.
func (l LockInfo) Mode() LockMode {
	switch {
	case l.Exclusive:
		return ExclusiveLock
	case l.Prune:
		return PruneLock
	case l.Copy:
		return CopyLock
	}
	return SharedLock
}

func (l LockInfo) String() string {
	if l.Time.IsZero() && l.Host == "" && l.PID == 0 {
		// Only the name is known: the file could not be read.
		return fmt.Sprintf("unreadable lock %s", l.ID.Short())
	}
	since := l.Started
	if since.IsZero() {
		since = l.Time
	}
	return fmt.Sprintf("%s lock %s held by %s@%s (PID %d) since %s", l.Mode(), l.ID.Short(), oneLineText(l.Username), oneLineText(l.Host), l.PID, since.Format(time.RFC3339))
}

// oneLineText quotes s (Go's %q) when it holds a control character: a lock
// file's host and user are written by whoever holds the password, and the
// lock's description goes into error messages, which keep their newlines.
func oneLineText(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
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

// RunningHere reports whether the lock is held by a process that runs on
// this host now: its host is host, its PID exists, and it is not stale by
// age. Such a lock is surely in use (unless the PID was reused by another
// program); one of another host cannot be told from a dead one's.
func (l LockInfo) RunningHere(now time.Time, host string) bool {
	return l.Host == host && l.PID > 0 && !l.Stale(now, host)
}

// LockedError says the repository is locked by someone else. When the lock
// file in the way could not be read, Unreadable says why and Holder has only
// its ID.
type LockedError struct {
	Holder     LockInfo
	Unreadable error
	// Waited is how long Open waited for the lock to go
	// (Options.LockWait) before it gave up; zero when it did not wait.
	Waited time.Duration
}

// Unwrap returns why the lock file in the way could not be read, if that
// is what the error is about.
func (e *LockedError) Unwrap() error { return e.Unreadable }

func (e *LockedError) Error() string {
	if e.Unreadable != nil {
		return fmt.Sprintf("repository is locked by lock file %s, which cannot be read (%v); it counts as held until it is %v old",
			e.Holder.ID, e.Unreadable, LockStaleAfter)
	}
	if e.Waited > 0 {
		return fmt.Sprintf("repository is already locked: %s (still after waiting %s)", e.Holder, e.Waited.Round(time.Second))
	}
	return fmt.Sprintf("repository is already locked: %s", e.Holder)
}

// Lock is a held repository lock. It refreshes itself until Unlock, and is
// lost when that fails for LockLostAfter or when another process removes its
// file; see Lost.
type Lock struct {
	r      *Repository
	mu     sync.Mutex // serialises refreshes; held across backend calls
	cancel context.CancelFunc
	done   chan struct{}

	// cur is the lock file now in the repository. It is read without mu so
	// that a write checking the lock never waits for a slow refresh.
	cur        atomic.Pointer[LockInfo]
	refreshErr atomic.Pointer[error] // the last refresh error, nil after a success
	released   atomic.Bool

	lost     chan struct{}
	lostOnce sync.Once
	lostErr  error // set before lost is closed
}

// Info returns the lock's current file content and ID.
func (l *Lock) Info() LockInfo { return *l.cur.Load() }

// Lost returns a channel that is closed when the lock is lost: it could not
// be refreshed for LockLostAfter, or its file was removed by someone else
// (RemoveAllLocks, or a process that judged it stale). From
// then on another process may hold the repository, so the Repository that
// took the lock refuses to write (SaveBlob, Flush and SaveFile fail with an
// error wrapping ErrLockLost); Lost lets a caller stop other work early.
// A lost lock is not refreshed again, but Unlock is still needed.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err returns nil while the lock is held (or after Unlock) and an error
// wrapping ErrLockLost once it is lost. It also notices a lock that has gone
// unrefreshed too long before the refresh loop has run again, as after the
// machine was suspended.
func (l *Lock) Err() error {
	select {
	case <-l.lost:
		return l.lostErr
	default:
	}
	if l.released.Load() {
		return nil
	}
	cur := l.cur.Load()
	if age := l.age(cur); age > LockLostAfter {
		cause := fmt.Sprintf("was not refreshed for %v", age.Round(time.Second))
		if p := l.refreshErr.Load(); p != nil {
			cause += fmt.Sprintf(" (last error: %v)", *p)
		}
		l.markLost(cur, cause)
		return l.lostErr
	}
	return nil
}

// age is how long ago the lock file cur was written, by the wall clock:
// other processes judge the lock by the wall-clock time in its file, and
// the monotonic clock stops while the machine is suspended.
func (l *Lock) age(cur *LockInfo) time.Duration {
	return l.r.opts.Now().Round(0).Sub(cur.Time.Round(0))
}

func (l *Lock) markLost(cur *LockInfo, cause string) {
	l.lostOnce.Do(func() {
		l.lostErr = fmt.Errorf("%w: %s lock %s %s; another process may treat it as stale and change the repository, so nothing more is written under it",
			ErrLockLost, cur.Mode(), cur.ID.Short(), cause)
		l.r.opts.Logf("%v", l.lostErr)
		close(l.lost)
	})
}

// heldLocks are the locks taken through a Repository, which its write paths
// check. Few locks are ever held at once; a slice is enough.
type heldLocks struct {
	mu     sync.Mutex
	locks  []*Lock
	closed bool
}

// errClosed is returned by Lock on a Repository that is being closed.
var errClosed = errors.New("repository is closed")

func (h *heldLocks) add(l *Lock) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errClosed
	}
	h.locks = append(h.locks, l)
	return nil
}

func (h *heldLocks) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// close refuses new locks, so that Close sees every lock it must release.
func (h *heldLocks) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
}

func (h *heldLocks) remove(l *Lock) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.locks = slices.DeleteFunc(h.locks, func(x *Lock) bool { return x == l })
}

func (h *heldLocks) list() []*Lock {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.locks)
}

// lockErr returns the error of a lost lock held through r, or nil. It is
// cheap enough for every SaveBlob: no backend call.
func (r *Repository) lockErr() error {
	// Iterate under the mutex rather than copy the list: this runs for
	// every blob, and Err takes no lock of heldLocks.
	r.held.mu.Lock()
	defer r.held.mu.Unlock()
	for _, l := range r.held.locks {
		if err := l.Err(); err != nil {
			return err
		}
	}
	return nil
}

// verifyLocks is lockErr plus a check that each held lock's file is still in
// the repository. It runs before a snapshot is saved, the one write that
// makes earlier ones reachable, so that a lock removed by someone else since
// the last refresh does not let the snapshot through.
func (r *Repository) verifyLocks(ctx context.Context) error {
	for _, l := range r.held.list() {
		if err := l.verify(ctx); err != nil {
			return err
		}
	}
	return nil
}

// holdsExclusiveLock reports whether an exclusive lock that is not lost is
// held through r.
func (r *Repository) holdsExclusiveLock() bool {
	for _, l := range r.held.list() {
		if l.Info().Exclusive && l.Err() == nil {
			return true
		}
	}
	return false
}

func (l *Lock) verify(ctx context.Context) error {
	if err := l.Err(); err != nil {
		return err
	}
	l.mu.Lock() // a refresh replaces the file; wait for it
	defer l.mu.Unlock()
	cur := l.cur.Load()
	h := backend.Handle{Type: LockFile, Name: cur.ID.String()}
	_, err := l.r.be.Stat(ctx, h)
	// This runs once, right before a snapshot is saved at the end of a
	// long backup: a passing network error should not fail all of it.
	for try := 1; err != nil && !backend.IsNotExist(err) && try < 3 && ctx.Err() == nil; try++ {
		time.Sleep(time.Duration(try) * time.Second)
		_, err = l.r.be.Stat(ctx, h)
	}
	if backend.IsNotExist(err) {
		l.markLost(cur, "was removed by another process")
		return l.lostErr
	}
	if err != nil {
		return fmt.Errorf("check lock %s: %w", cur.ID.Short(), err)
	}
	return l.Err()
}

// unreadableLock is a lock file that could not be loaded or decoded.
type unreadableLock struct {
	id  ID
	err error
}

// firstForeignWarning reports whether the foreign lock file id was not
// warned of before in this session, and notes it.
func (r *Repository) firstForeignWarning(id ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.foreignLocks[id]; ok {
		return false
	}
	if r.foreignLocks == nil {
		r.foreignLocks = map[ID]struct{}{}
	}
	r.foreignLocks[id] = struct{}{}
	return true
}

// foreign reports whether no holder of the key wrote the file
// (ErrForeignFile): then it is nobody's lock, and is passed over and
// removed. Any other unreadable lock file may be a live holder's, damaged.
func (b unreadableLock) foreign() bool { return errors.Is(b.err, ErrForeignFile) }

// dropForeign removes the foreign lock files among bad, warning of each
// (they are a sign that someone who holds no key writes to the storage),
// and returns the others. A removal that fails is warned of too: the file
// is no lock either way.
func (r *Repository) dropForeign(ctx context.Context, bad []unreadableLock) []unreadableLock {
	var out []unreadableLock
	for _, b := range bad {
		if !b.foreign() {
			out = append(out, b)
			continue
		}
		if err := r.RemoveFile(ctx, LockFile, b.id); err != nil && !backend.IsNotExist(err) {
			// Each lock taken lists twice, and waits list again: one
			// warning per file is the signal, more is noise.
			if r.firstForeignWarning(b.id) {
				r.warnf("lock file %s was not written with this repository's key (junk that someone who can write to the storage added); it is no lock and is passed over, but it could not be removed: %v", b.id.Short(), err)
			}
			continue
		}
		r.warnf("removed lock file %s: it was not written with this repository's key (junk that someone who can write to the storage added), so it is nobody's lock", b.id.Short())
	}
	return out
}

// lockListFor bounds how long listLocks lists again while lock files
// change under it. Two refreshes of one lock are LockRefresh apart, and a
// holder can be missing from two listings in a row only if both overlap a
// refresh of its lock; listings that together take less than LockRefresh
// cannot both miss it.
const lockListFor = LockRefresh / 2

// listLocks returns the readable lock files and, apart, the unreadable ones.
// err is set only when listing failed.
//
// A refresh replaces a lock file: the holder saves a new file and then
// removes the old one. A listing that overlaps it can miss both, the new
// file not yet listed where the listing read, the old one gone before it
// was read (a backend drops a file that vanishes between its directory
// read and its stat; this repository's load finds it gone). Going on
// without the holder, prune deleted packs a running backup still built on
// (a review slowed the listing down to show it). So every listing is
// checked by a second one: if that shows a lock file the first did not,
// or a file of the first vanished before it was read, the holder's new
// file may have been missed, and the listing is made again; the new file,
// saved before the old one was removed, is in it. After lockListFor of
// listings that changed, it fails.
func (r *Repository) listLocks(ctx context.Context) (locks []LockInfo, bad []unreadableLock, err error) {
	start := time.Now()
	for n := 1; ; n++ {
		seen := map[ID]bool{}
		var vanished bool
		locks, bad, vanished, err = r.listLocksOnce(ctx, seen)
		if err != nil {
			return nil, nil, err
		}
		stable := !vanished
		if stable {
			err = r.ListFiles(ctx, LockFile, func(id ID) error {
				stable = stable && seen[id]
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("list locks: %w", err)
			}
		}
		if stable {
			return locks, bad, nil
		}
		if time.Since(start) > lockListFor {
			return nil, nil, fmt.Errorf("list locks of %s: %w (%d listing(s) in %v)", r.be.Location(), errLocksChanging, n, time.Since(start).Round(time.Second))
		}
		// Other processes are taking and dropping locks: give them a
		// moment rather than list back to back.
		t := time.NewTimer(min(time.Duration(n)*50*time.Millisecond, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("list locks: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// errLocksChanging is wrapped by listLocks's error when lock files kept
// changing under it; taking a lock with Options.LockWait tries again.
var errLocksChanging = errors.New("lock files kept changing while they were listed")

// listLocksOnce is one listing of listLocks: it adds every file listed to
// seen, and vanished says whether one was gone when it was read.
func (r *Repository) listLocksOnce(ctx context.Context, seen map[ID]bool) (locks []LockInfo, bad []unreadableLock, vanished bool, err error) {
	err = r.ListFiles(ctx, LockFile, func(id ID) error {
		seen[id] = true
		b, err := r.LoadFile(ctx, LockFile, id)
		if err != nil {
			if backend.IsNotExist(err) {
				vanished = true // removed (or replaced) while we listed
				return nil
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr // interrupted, not an unreadable lock
			}
			bad = append(bad, unreadableLock{id, err})
			return nil
		}
		var li LockInfo
		if err := json.Unmarshal(b, &li); err != nil {
			bad = append(bad, unreadableLock{id, damaged(backend.Handle{Type: LockFile, Name: id.String()}, nil, "decode: %v", err)})
			return nil
		}
		li.ID = id
		locks = append(locks, li)
		return nil
	})
	if err != nil {
		return nil, nil, false, fmt.Errorf("list locks: %w", err)
	}
	return locks, bad, vanished, nil
}

// ListLocks returns every lock file. Files that cannot be read are
// returned as errors after the others are listed, but for foreign ones
// (ErrForeignFile), which are nobody's lock: those it passes over.
func (r *Repository) ListLocks(ctx context.Context) ([]LockInfo, error) {
	locks, bad, err := r.listLocks(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, b := range bad {
		if !b.foreign() {
			errs = append(errs, b.err)
		}
	}
	return locks, errors.Join(errs...)
}

// modTimer is implemented by backends that can tell when a file was written
// (local). It lets an unreadable lock file be judged stale by its age.
type modTimer interface {
	ModTime(ctx context.Context, h backend.Handle) (time.Time, error)
}

// optional finds an optional interface on be or on a backend it wraps
// (test decorators such as faulty have Unwrap).
func optional[T any](be backend.Backend) (T, bool) {
	for {
		if v, ok := be.(T); ok {
			return v, true
		}
		u, ok := be.(interface{ Unwrap() backend.Backend })
		if !ok {
			var zero T
			return zero, false
		}
		be = u.Unwrap()
	}
}

// unreadableStale reports whether an unreadable lock file is old enough by
// its modification time to be stale. When the age cannot be told, it is
// not: an unreadable lock may belong to a live process.
func (r *Repository) unreadableStale(ctx context.Context, b unreadableLock) bool {
	mt, ok := optional[modTimer](r.be)
	if !ok {
		return false
	}
	t, err := mt.ModTime(ctx, backend.Handle{Type: LockFile, Name: b.id.String()})
	if err != nil {
		return false
	}
	return r.opts.Now().Round(0).Sub(t) > LockStaleAfter
}

// RemoveStaleLocks removes locks whose holder is gone and returns them.
// An unreadable lock file is removed when its modification time says it is
// stale, and a foreign one (ErrForeignFile) whatever its age.
func (r *Repository) RemoveStaleLocks(ctx context.Context) ([]LockInfo, error) {
	locks, bad, err := r.listLocks(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := hostAndUser()
	var removed []LockInfo
	var errs []error
	for _, l := range locks {
		if !l.Stale(r.opts.Now(), host) {
			continue
		}
		if err := r.RemoveFile(ctx, LockFile, l.ID); err != nil && !backend.IsNotExist(err) {
			return removed, fmt.Errorf("remove stale lock %s: %w", l.ID.Short(), err)
		}
		removed = append(removed, l)
	}
	for _, b := range bad {
		if !b.foreign() && !r.unreadableStale(ctx, b) {
			errs = append(errs, b.err)
			continue
		}
		if err := r.RemoveFile(ctx, LockFile, b.id); err != nil && !backend.IsNotExist(err) {
			return removed, fmt.Errorf("remove stale unreadable lock %s: %w", b.id.Short(), err)
		}
		removed = append(removed, LockInfo{ID: b.id})
	}
	return removed, errors.Join(errs...)
}

// RemoveAllLocks removes every lock, stale or not, readable or not, also
// those of processes running on this host (RemoveAllLocksButRunning keeps
// them).
func (r *Repository) RemoveAllLocks(ctx context.Context) ([]LockInfo, error) {
	removed, _, err := r.removeLocksBut(ctx, nil)
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// removeLocksBut removes every lock file, readable or not, but those keep
// (nil: none) picks, and returns the locks removed (as far as it got) and
// those kept.
func (r *Repository) removeLocksBut(ctx context.Context, keep func(LockInfo) bool) (removed, kept []LockInfo, err error) {
	locks, bad, err := r.listLocks(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range bad {
		locks = append(locks, LockInfo{ID: b.id})
	}
	removed = []LockInfo{}
	for _, l := range locks {
		if keep != nil && keep(l) {
			kept = append(kept, l)
			continue
		}
		if rerr := r.RemoveFile(ctx, LockFile, l.ID); rerr != nil && !backend.IsNotExist(rerr) {
			return removed, kept, fmt.Errorf("remove lock %s: %w", l.ID.Short(), rerr)
		}
		removed = append(removed, l)
	}
	return removed, kept, nil
}

// RunningLocksError says that RemoveAllLocksButRunning left locks in place
// because their processes run on this host (LockInfo.RunningHere).
type RunningLocksError struct {
	Locks []LockInfo
}

func (e *RunningLocksError) Error() string {
	var b strings.Builder
	if len(e.Locks) == 1 {
		b.WriteString("kept 1 lock, whose process runs on this host:")
	} else {
		fmt.Fprintf(&b, "kept %d locks, whose processes run on this host:", len(e.Locks))
	}
	for _, l := range e.Locks {
		fmt.Fprintf(&b, "\n%s", l)
	}
	return b.String()
}

// RemoveAllLocksButRunning removes every lock, as RemoveAllLocks does, but
// for those held by a process that runs on this host now
// (LockInfo.RunningHere): removing one makes that process fail with
// ErrLockLost, and lets a prune or repair run beside it. It returns the
// locks it removed and, when it kept some, a *RunningLocksError naming
// them. Locks of other hosts go: whether their processes live cannot be
// told from here.
func (r *Repository) RemoveAllLocksButRunning(ctx context.Context) ([]LockInfo, error) {
	host, _ := hostAndUser()
	now := r.opts.Now()
	removed, running, err := r.removeLocksBut(ctx, func(l LockInfo) bool { return l.RunningHere(now, host) })
	if err != nil {
		return removed, err
	}
	if len(running) > 0 {
		return removed, &RunningLocksError{Locks: running}
	}
	return removed, nil
}

// conflicts reports whether a lock of mode m may not be taken beside
// other: exclusive locks exclude everything, prune locks each other, copy
// locks each other.
func conflicts(m LockMode, other LockInfo) bool {
	o := other.Mode()
	return m == ExclusiveLock || o == ExclusiveLock || (m == PruneLock || m == CopyLock) && o == m
}

// Lock takes a shared (backup, restore, check) or exclusive (maintenance)
// lock; see Acquire.
func (r *Repository) Lock(ctx context.Context, exclusive bool) (*Lock, error) {
	m := SharedLock
	if exclusive {
		m = ExclusiveLock
	}
	return r.Acquire(ctx, m)
}

// Acquire takes a lock of mode m (not NoLock). Stale locks in the way are
// removed, and each removal is reported through Options.Logf. A live
// conflicting lock gives a *LockedError; so does a lock file that cannot be
// read, unless its modification time shows it is stale: whose it is and
// what kind cannot be told. A foreign lock file (ErrForeignFile) is
// nobody's: it is removed with a warning (Options.Warnf).
//
// Until Unlock, the Repository's writes fail once the lock is lost (see
// Lock.Lost).
func (r *Repository) Acquire(ctx context.Context, m LockMode) (*Lock, error) {
	switch m {
	case SharedLock, ExclusiveLock, PruneLock, CopyLock:
	default:
		return nil, fmt.Errorf("lock %s: cannot take a lock of mode %v", r.be.Location(), m)
	}
	if r.held.isClosed() {
		return nil, fmt.Errorf("lock %s: %w", r.be.Location(), errClosed)
	}
	host, user := hostAndUser()
	check := func(self ID) error {
		locks, bad, err := r.listLocks(ctx)
		if err != nil {
			return err
		}
		for _, b := range r.dropForeign(ctx, bad) {
			if b.id == self {
				continue
			}
			if !r.unreadableStale(ctx, b) {
				return &LockedError{Holder: LockInfo{ID: b.id}, Unreadable: b.err}
			}
			if err := r.RemoveFile(ctx, LockFile, b.id); err != nil && !backend.IsNotExist(err) {
				return fmt.Errorf("remove stale unreadable lock %s: %w", b.id.Short(), err)
			}
			r.opts.Logf("removed stale unreadable lock %s (%v)", b.id.Short(), b.err)
		}
		for _, l := range locks {
			if l.ID == self || !conflicts(m, l) {
				continue
			}
			if l.Stale(r.opts.Now(), host) {
				if err := r.RemoveFile(ctx, LockFile, l.ID); err != nil && !backend.IsNotExist(err) {
					return fmt.Errorf("remove stale lock %s: %w", l.ID.Short(), err)
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
	now := r.opts.Now()
	info := LockInfo{Time: now, Started: now, Exclusive: m == ExclusiveLock, Prune: m == PruneLock, Copy: m == CopyLock, Host: host, Username: user, PID: os.Getpid()}
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
	l := &Lock{r: r, cancel: cancel, done: make(chan struct{}), lost: make(chan struct{})}
	l.cur.Store(&info)
	if err := r.held.add(l); err != nil {
		cancel()
		_ = r.RemoveFile(context.WithoutCancel(ctx), LockFile, id)
		return nil, fmt.Errorf("lock %s: %w", r.be.Location(), err)
	}
	go l.refreshLoop(rctx)
	if m == ExclusiveLock || m == PruneLock {
		r.sweepLeftovers(ctx)
	}
	return l, nil
}

// sweepLeftovers removes the temporary files that killed saves left, once
// an exclusive or prune lock is held: maintenance then cleans up as it goes,
// rather than waiting for 'repair index'. Only files older than
// TempSweepAge go, since backups may run beside a prune. A failure is
// reported, not returned: the leftovers are harmless and the lock is good.
func (r *Repository) sweepLeftovers(ctx context.Context) {
	swept, err := r.sweepTemp(ctx, true)
	switch {
	case err != nil:
		r.opts.Logf("removing temporary files left by interrupted saves: %v", err)
	case len(swept) > 0:
		r.opts.Logf("removed %d temporary file(s) left by interrupted saves", len(swept))
	}
}

func (r *Repository) saveLock(ctx context.Context, info LockInfo) (ID, error) {
	b, err := json.Marshal(info)
	if err != nil {
		return ID{}, err
	}
	id, err := r.SaveFile(ctx, LockFile, b)
	if err != nil {
		return ID{}, fmt.Errorf("save the %s lock file: %w", info.Mode(), err)
	}
	return id, nil
}

// refreshLoop rewrites the lock once it is LockRefresh old, retrying a
// failed refresh at every poll, and stops when the lock is lost.
func (l *Lock) refreshLoop(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.lost:
			return
		case <-t.C:
			l.tick(ctx)
		}
	}
}

// tick is one wake-up of the refresh loop.
func (l *Lock) tick(ctx context.Context) {
	if l.Err() != nil {
		return
	}
	if l.age(l.cur.Load()) >= LockRefresh {
		l.refresh(ctx)
	}
}

// refresh writes a new lock file and removes the old one: lock files, like
// all files, are never modified in place.
func (l *Lock) refresh(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err() != nil {
		// Another process may hold the repository by now; writing the lock
		// again would not undo that.
		return
	}
	cur := l.cur.Load()
	info := *cur
	info.Time = l.r.opts.Now()
	id, err := l.r.saveLock(ctx, info)
	if err != nil {
		l.refreshErr.Store(&err)
		l.r.opts.Logf("refreshing lock %s failed (retrying; the lock is given up once it is %v old): %v", cur.ID.Short(), LockLostAfter, err)
		return
	}
	info.ID = id
	// The new lock file is written; the old one must go even if the lock
	// is being released right now.
	wctx := context.WithoutCancel(ctx)
	err = l.r.RemoveFile(wctx, LockFile, cur.ID)
	if backend.IsNotExist(err) {
		// Someone removed our lock, so someone may have taken the
		// repository meanwhile: the new file must not pretend otherwise.
		_ = l.r.RemoveFile(wctx, LockFile, id)
		l.markLost(cur, "was removed by another process")
		return
	}
	if err != nil {
		l.r.opts.Logf("removing old lock file %s failed: %v", cur.ID.Short(), err)
	}
	l.refreshErr.Store(nil)
	l.cur.Store(&info)
}

// Refresh rewrites the lock now. It returns the refresh error, or the lock's
// error if it is lost.
func (l *Lock) Refresh(ctx context.Context) error {
	l.refresh(ctx)
	if err := l.Err(); err != nil {
		return err
	}
	if p := l.refreshErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Unlock stops refreshing and removes the lock file. The removal is not
// cut short by ctx's cancellation (a Ctrl-C must not leave the lock
// behind); ctx's deadline, or closeTimeout, bounds it.
func (l *Lock) Unlock(ctx context.Context) error {
	l.r.held.remove(l)
	l.released.Store(true)
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	id := l.cur.Load().ID
	if err := l.r.RemoveFile(rctx, LockFile, id); err != nil && !backend.IsNotExist(err) {
		return fmt.Errorf("remove lock %s: %w", id.Short(), err)
	}
	return nil
}

// HoldsLock reports whether the lock file id is one this Repository holds
// (prune tells its own lock from the others by it).
func (r *Repository) HoldsLock(id ID) bool {
	for _, l := range r.held.list() {
		if l.Info().ID == id {
			return true
		}
	}
	return false
}
