package repo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
)

// saveCorruptLock stores a lock file whose bytes no longer match its name,
// as a live holder's lock damaged on the medium would be, and returns its
// name.
func saveCorruptLock(t *testing.T, be backend.Backend, seed string) string {
	t.Helper()
	data := []byte("not a sealed lock " + seed)
	sum := sha256.Sum256(append(data, " as it was written"...))
	name := hex.EncodeToString(sum[:])
	if err := be.Save(context.Background(), backend.Handle{Type: repo.LockFile, Name: name}, data); err != nil {
		t.Fatal(err)
	}
	return name
}

func wantUnreadableConflict(t *testing.T, err error, name string) {
	t.Helper()
	var le *repo.LockedError
	if !errors.As(err, &le) || le.Unreadable == nil {
		t.Fatalf("want a LockedError for the unreadable lock, got %v", err)
	}
	if le.Holder.ID.String() != name || !strings.Contains(err.Error(), name) {
		t.Fatalf("error should name lock file %s: %v", name, err)
	}
}

// TestLockUnreadableConflicts: a lock file that cannot be read is a
// conflict unless its age shows it is stale, whether or not readable locks
// are listed with it.
func TestLockUnreadableConflicts(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	be := r.Backend().(*local.Backend)
	name := saveCorruptLock(t, be, "a")
	if _, err := r.Lock(ctx, false); err != nil {
		wantUnreadableConflict(t, err, name)
	} else {
		t.Fatal("lock taken over an unreadable lock file")
	}
	// With a readable, compatible lock beside it, the unreadable one used
	// to be ignored.
	other := reopen(t, dir)
	defer other.Close()
	ol, err := other.RemoveAllLocks(ctx) // remove the corrupt one to take a shared lock
	if err != nil || len(ol) != 1 || ol[0].ID.String() != name {
		t.Fatalf("RemoveAllLocks should remove the unreadable lock: %v %v", ol, err)
	}
	shared, err := other.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Unlock(ctx)
	name = saveCorruptLock(t, be, "b")
	_, err = r.Lock(ctx, false)
	wantUnreadableConflict(t, err, name)
	if _, err := r.RemoveStaleLocks(ctx); err == nil {
		t.Fatal("unlock should report the fresh unreadable lock it keeps")
	}
	if _, err := os.Stat(be.Path(backend.Handle{Type: repo.LockFile, Name: name})); err != nil {
		t.Fatalf("a fresh unreadable lock was removed: %v", err)
	}

	// Old enough by its modification time: stale, removed, and reported.
	old := time.Now().Add(-repo.LockStaleAfter - time.Minute)
	if err := os.Chtimes(be.Path(backend.Handle{Type: repo.LockFile, Name: name}), old, old); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	be2, _ := local.Open(ctx, dir)
	r2, err := repo.Open(ctx, be2, []byte(pw), repo.Options{Logf: func(f string, a ...any) { msgs = append(msgs, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	l, err := r2.Lock(ctx, false)
	if err != nil {
		t.Fatalf("stale unreadable lock still blocks: %v", err)
	}
	defer l.Unlock(ctx)
	if len(msgs) == 0 {
		t.Error("removing the stale unreadable lock was not reported")
	}
	if _, err := os.Stat(be.Path(backend.Handle{Type: repo.LockFile, Name: name})); !os.IsNotExist(err) {
		t.Errorf("stale unreadable lock not removed: %v", err)
	}
}

// TestLockUnreadableAgeUnknown: without modification times (this backend
// has none), an unreadable lock is never taken for stale.
func TestLockUnreadableAgeUnknown(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	defer r.Close()
	name := saveCorruptLock(t, be, "c")
	_, err := r.Lock(ctx, true)
	wantUnreadableConflict(t, err, name)
	if removed, _ := r.RemoveStaleLocks(ctx); len(removed) != 0 {
		t.Fatalf("unlock removed a lock of unknown age: %v", removed)
	}
}

// corruptLockOnSave writes an unreadable lock file right after the first
// lock file saved through it, as another process locking at the same
// moment might leave one.
type corruptLockOnSave struct {
	backend.Backend
	t    *testing.T
	once sync.Once
	name string
}

func (b *corruptLockOnSave) Unwrap() backend.Backend { return b.Backend }

func (b *corruptLockOnSave) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.Backend.Save(ctx, h, data); err != nil {
		return err
	}
	if h.Type == repo.LockFile {
		b.once.Do(func() { b.name = saveCorruptLock(b.t, b.Backend, "race") })
	}
	return nil
}

// TestLockUnreadableOnSecondCheck: an unreadable lock that appears while we
// write ours makes us back off, like a readable one.
func TestLockUnreadableOnSecondCheck(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	r.Close()
	inner, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	be := &corruptLockOnSave{Backend: inner, t: t}
	r, err = repo.Open(ctx, be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Lock(ctx, false)
	wantUnreadableConflict(t, err, be.name)
	locks, _ := r.ListLocks(ctx)
	if len(locks) != 0 {
		t.Fatalf("our lock was not removed after backing off: %v", locks)
	}
}

// saveForeignLock stores junk named by its SHA-256 in locks/, as anyone
// who can write to the storage (an append-only server's client, without
// the password) can, and returns its name.
func saveForeignLock(t *testing.T, be backend.Backend, seed string) string {
	t.Helper()
	data := append([]byte{1}, []byte("junk that no holder of the key sealed "+seed)...)
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:])
	if err := be.Save(context.Background(), backend.Handle{Type: repo.LockFile, Name: name}, data); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestLockForeignFile: a junk file in locks/ stopped every command until
// it was 30 minutes old (or forever on a backend without modification
// times), and someone who kept uploading one stopped every backup. No
// holder of the key writes a seal it cannot open, and the file's hash
// shows its bytes are as they were saved: it is nobody's lock. Taking a
// lock removes it with a warning; unlock removes it whatever its age;
// ListLocks does not report it; a damaged genuine lock still conflicts.
func TestLockForeignFile(t *testing.T) {
	ctx := context.Background()
	be := mem.New() // no modification times: age cannot excuse anything
	var warnings []string
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	r.Close()
	r, err := repo.Open(ctx, be, []byte(pw), repo.Options{Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	name := saveForeignLock(t, be, "a")
	if _, err := r.ListLocks(ctx); err != nil {
		t.Errorf("ListLocks reports a foreign file: %v", err)
	}
	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatalf("a foreign lock file stopped an exclusive lock: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "removed lock file "+name[:8]) || !strings.Contains(warnings[0], "not written with this repository's key") {
		t.Errorf("warnings: %q", warnings)
	}
	if _, err := be.Stat(ctx, backend.Handle{Type: repo.LockFile, Name: name}); !backend.IsNotExist(err) {
		t.Errorf("the foreign lock file is still there: %v", err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	name = saveForeignLock(t, be, "b")
	removed, err := r.RemoveStaleLocks(ctx)
	if err != nil || len(removed) != 1 || removed[0].ID.String() != name {
		t.Fatalf("unlock of a foreign lock file: %v, %v", removed, err)
	}

	// Beside a damaged genuine one, the foreign one still goes and the
	// damaged one still stops us.
	c := saveForeignLock(t, be, "c")
	damaged := saveCorruptLock(t, be, "d")
	_, err = r.Lock(ctx, false)
	wantUnreadableConflict(t, err, damaged)
	if _, err := be.Stat(ctx, backend.Handle{Type: repo.LockFile, Name: c}); !backend.IsNotExist(err) {
		t.Errorf("the foreign lock file beside the damaged one is still there: %v", err)
	}
	if _, err := r.ListLocks(ctx); err == nil || !strings.Contains(err.Error(), damaged) {
		t.Errorf("ListLocks beside a damaged lock: %v", err)
	}
}

// noLockRemoval refuses to remove lock files, as a backend might whose
// operator keeps them.
type noLockRemoval struct{ backend.Backend }

func (b noLockRemoval) Remove(ctx context.Context, h backend.Handle) error {
	if h.Type == repo.LockFile {
		return errors.New("removal refused")
	}
	return b.Backend.Remove(ctx, h)
}

func (b noLockRemoval) Unwrap() backend.Backend { return b.Backend }

// TestLockForeignFileKept: a foreign lock file that cannot be removed is
// still nobody's lock; it is warned of once per session, not at every
// listing (each lock taken lists twice).
func TestLockForeignFileKept(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	repo.NewTestRepository(t, inner, pw, repo.InitOptions{}).Close()
	var warnings []string
	r, err := repo.Open(ctx, noLockRemoval{inner}, []byte(pw), repo.Options{Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	name := saveForeignLock(t, inner, "kept")
	for range 3 {
		l, err := r.Lock(ctx, true)
		if err != nil {
			t.Fatalf("a foreign lock file that could not be removed stopped a lock: %v", err)
		}
		// Our own lock file stays too (the backend keeps lock files).
		_ = l.Unlock(ctx)
		locks, _ := r.ListLocks(ctx)
		for _, l := range locks {
			if err := inner.Remove(ctx, backend.Handle{Type: repo.LockFile, Name: l.ID.String()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "lock file "+name[:8]+" was not written with this repository's key") || !strings.Contains(warnings[0], "could not be removed: removal refused") {
		t.Errorf("warnings: %q", warnings)
	}
}
