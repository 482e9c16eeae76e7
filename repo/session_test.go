package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
)

// lockFiles lists the lock files on disk, read with the file system rather
// than through the repository, so that a leaked lock cannot hide.
func lockFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "locks"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func newSessionRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	ctx := context.Background()
	be, err := local.OpenOrCreate(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, created, err := repo.OpenOrInit(ctx, be, []byte("pw"), repo.Options{Lock: repo.SharedLock}, repo.InitOptions{KDF: crypto.CheapKDFParams()})
	if err != nil || !created {
		t.Fatalf("OpenOrInit: created=%v err=%v", created, err)
	}
	if n := len(lockFiles(t, dir)); n != 1 {
		t.Fatalf("%d lock files while the new repository is open, want 1", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openSession(ctx context.Context, t *testing.T, dir string, mode repo.LockMode) (*repo.Repository, error) {
	t.Helper()
	be, err := local.OpenOrCreate(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, created, err := repo.OpenOrInit(ctx, be, []byte("pw"), repo.Options{Lock: mode}, repo.InitOptions{})
	if created {
		t.Fatal("OpenOrInit created a second repository over the first")
	}
	return r, err
}

// TestSessionCloseReleasesEverything shows that one Close ends a session:
// no goroutine (lock refresh, uploads, zstd) and no lock file survive it,
// after work that succeeded, work that failed, work whose context was
// cancelled, and a lock taken by hand and never unlocked.
func TestSessionCloseReleasesEverything(t *testing.T) {
	dir := newSessionRepo(t)
	cases := []struct {
		name string
		mode repo.LockMode
		work func(ctx context.Context, cancel context.CancelFunc, r *repo.Repository) error
	}{
		{"success", repo.SharedLock, func(ctx context.Context, _ context.CancelFunc, r *repo.Repository) error {
			if _, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("isi berkas")); err != nil {
				return err
			}
			return r.Flush(ctx)
		}},
		{"error", repo.ExclusiveLock, func(ctx context.Context, _ context.CancelFunc, r *repo.Repository) error {
			_, err := r.LoadBlob(ctx, repo.DataBlob, repo.ID{1}, nil)
			if err == nil {
				return errors.New("loading an unknown blob succeeded")
			}
			return nil
		}},
		{"cancelled", repo.ExclusiveLock, func(ctx context.Context, cancel context.CancelFunc, r *repo.Repository) error {
			if _, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("setengah jalan")); err != nil {
				return err
			}
			cancel() // Ctrl-C in the middle of the work
			if err := r.Flush(ctx); !errors.Is(err, context.Canceled) {
				return errors.New("Flush after cancel did not fail with context.Canceled")
			}
			return nil
		}},
		{"manual lock", repo.NoLock, func(ctx context.Context, _ context.CancelFunc, r *repo.Repository) error {
			_, err := r.Lock(ctx, true) // never unlocked: Close must do it
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r, err := openSession(ctx, t, dir, c.mode)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.work(ctx, cancel, r); err != nil {
				t.Error(err)
			}
			if c.mode != repo.NoLock || c.name == "manual lock" {
				if n := len(lockFiles(t, dir)); n != 1 {
					t.Errorf("%d lock files during the work, want 1", n)
				}
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if l := lockFiles(t, dir); len(l) != 0 {
				t.Errorf("lock files left after Close: %v", l)
			}
		})
	}
}

// TestSessionOpenLockedLeavesNothing: an Open that fails because another
// session holds an exclusive lock returns a *LockedError, leaves only the
// holder's lock file and starts no goroutine that outlives it.
func TestSessionOpenLockedLeavesNothing(t *testing.T) {
	dir := newSessionRepo(t)
	ctx := context.Background()
	holder, err := openSession(ctx, t, dir, repo.ExclusiveLock)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	before := lockFiles(t, dir)

	func() {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		r, err := openSession(ctx, t, dir, repo.SharedLock)
		var le *repo.LockedError
		if !errors.As(err, &le) || r != nil {
			t.Fatalf("Open beside an exclusive lock: r=%v err=%v, want a *LockedError", r, err)
		}
	}()
	if after := lockFiles(t, dir); len(after) != len(before) || after[0] != before[0] {
		t.Errorf("lock files %v after the refused Open, want only the holder's %v", after, before)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	if l := lockFiles(t, dir); len(l) != 0 {
		t.Errorf("lock files left after the holder's Close: %v", l)
	}
}

// TestOpenOrInitOneSentinel: a location with no repository is one error,
// repo.ErrNoRepository, whether the backend or the repository layer notices.
func TestOpenOrInitOneSentinel(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nothing-here")
	if _, err := local.Open(ctx, missing); !errors.Is(err, repo.ErrNoRepository) {
		t.Errorf("local.Open of a missing directory: %v, want repo.ErrNoRepository", err)
	}
	be, err := local.Create(ctx, missing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Open(ctx, be, []byte("pw"), repo.Options{}); !errors.Is(err, repo.ErrNoRepository) {
		t.Errorf("repo.Open of an empty backend: %v, want repo.ErrNoRepository", err)
	}
}

// TestOpenOrInitFinishesInterruptedCreate: an init killed after its key
// file and before its config leaves the layout and a key file. Running
// OpenOrInit again (backup --init) finishes the job instead of calling the
// directory foreign, and the stale key, which the same password opens,
// does not stand in for the new repository's: Open passes over a key that
// opens no config.
func TestOpenOrInitFinishesInterruptedCreate(t *testing.T) {
	ctx := context.Background()
	dir := newSessionRepo(t)
	if err := os.Remove(filepath.Join(dir, "config")); err != nil {
		t.Fatal(err)
	}
	r, err := openSessionCreate(ctx, t, dir)
	if err != nil {
		t.Fatalf("OpenOrInit over an interrupted create: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	keys, _ := os.ReadDir(filepath.Join(dir, "keys"))
	if len(keys) != 2 {
		t.Fatalf("%d key files, want the stale one and the new one", len(keys))
	}
	// Whichever key file sorts first, every open finds the right key.
	for range 3 {
		be, err := local.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err = repo.Open(ctx, be, []byte("pw"), repo.Options{})
		if err != nil {
			t.Fatalf("reopen beside a stale key file: %v", err)
		}
		r.Close()
	}

	// Anything else in the directory is someone's data: refused.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "catatan.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.OpenOrCreate(ctx, other); err == nil {
		t.Error("OpenOrCreate filled a directory that holds a foreign file")
	}
}

func openSessionCreate(ctx context.Context, t *testing.T, dir string) (*repo.Repository, error) {
	t.Helper()
	be, err := local.OpenOrCreate(ctx, dir)
	if err != nil {
		return nil, err
	}
	r, created, err := repo.OpenOrInit(ctx, be, []byte("pw"), repo.Options{Lock: repo.SharedLock}, repo.InitOptions{KDF: crypto.CheapKDFParams()})
	if err == nil && !created {
		t.Error("OpenOrInit opened instead of creating")
	}
	return r, err
}

// TestOpenPassesOverAStaleKey: on any backend, a key file that the password
// opens but that is not the repository's (left by an interrupted Init) does
// not make the repository read as damaged.
func TestOpenPassesOverAStaleKey(t *testing.T) {
	ctx := context.Background()
	for i := range 8 { // key file names are random: try both orders
		be := mem.New()
		r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
		r.Close()
		if err := be.Remove(ctx, backend.Handle{Type: repo.ConfigFile}); err != nil {
			t.Fatal(err)
		}
		r, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{KDF: crypto.CheapKDFParams()})
		if err != nil {
			t.Fatal(err)
		}
		want := r.ID()
		r.Close()
		r, err = repo.Open(ctx, be, []byte("pw"), repo.Options{})
		if err != nil || r.ID() != want {
			t.Fatalf("round %d: Open beside a stale key: %v", i, err)
		}
		r.Close()
	}
}

// TestUnlockAfterCancel: Unlock with a context that Ctrl-C cancelled still
// removes the lock file.
func TestUnlockAfterCancel(t *testing.T) {
	dir := newSessionRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := openSession(ctx, t, dir, repo.NoLock)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := l.Unlock(ctx); err != nil {
		t.Errorf("Unlock after cancel: %v", err)
	}
	if left := lockFiles(t, dir); len(left) != 0 {
		t.Errorf("lock files left: %v", left)
	}
	if _, err := r.Lock(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.Lock(context.Background(), false); err == nil {
		t.Error("Lock after Close succeeded")
	}
	if left := lockFiles(t, dir); len(left) != 0 {
		t.Errorf("lock files left after Close and a refused Lock: %v", left)
	}
}

// TestCopyLockExcludesCopies: a copy lock coexists with shared and prune
// locks (backups and prune run beside a copy) and excludes another copy
// lock and an exclusive lock, so that two copies into one repository
// cannot both find a snapshot missing and both save it.
func TestCopyLockExcludesCopies(t *testing.T) {
	dir := newSessionRepo(t)
	ctx := context.Background()
	backup, err := openSession(ctx, t, dir, repo.SharedLock)
	if err != nil {
		t.Fatal(err)
	}
	defer backup.Close()
	cp, err := openSession(ctx, t, dir, repo.CopyLock)
	if err != nil {
		t.Fatalf("copy beside a backup: %v", err)
	}
	defer cp.Close()
	for _, m := range []repo.LockMode{repo.SharedLock, repo.PruneLock} {
		r, err := openSession(ctx, t, dir, m)
		if err != nil {
			t.Fatalf("%v lock beside a copy: %v", m, err)
		}
		r.Close()
	}
	for _, m := range []repo.LockMode{repo.CopyLock, repo.ExclusiveLock} {
		_, err := openSession(ctx, t, dir, m)
		var le *repo.LockedError
		if !errors.As(err, &le) || m == repo.CopyLock && le.Holder.Mode() != repo.CopyLock {
			t.Errorf("%v lock beside a copy lock: %v, want a LockedError naming the copy lock", m, err)
		}
		if err != nil && m == repo.CopyLock && !strings.Contains(err.Error(), "copy lock") {
			t.Errorf("the error does not say a copy holds the lock: %v", err)
		}
	}
	locks, err := cp.ListLocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range locks {
		if l.Copy {
			n++
			if l.Exclusive || l.Prune || l.Mode() != repo.CopyLock {
				t.Errorf("copy lock %+v", l)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d copy locks among %v", n, locks)
	}
}

// TestLockWait: with Options.LockWait, Open waits for a conflicting lock
// to be released and then takes its own; without, it refuses at once; a
// cancelled wait ends the wait.
func TestLockWait(t *testing.T) {
	dir := newSessionRepo(t)
	ctx := context.Background()
	first, err := openSession(ctx, t, dir, repo.CopyLock)
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, wait time.Duration) (*repo.Repository, error) {
		be, err := local.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{Lock: repo.CopyLock, LockWait: wait})
		if err != nil {
			be.Close()
		}
		return r, err
	}
	var le *repo.LockedError
	if _, err := open(ctx, 0); !errors.As(err, &le) {
		t.Fatalf("no wait: %v, want a LockedError", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, err = open(cctx, time.Hour)
	cancel()
	if !errors.As(err, &le) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("cancelled wait: %v after %v, want the LockedError and the context's error", err, time.Since(start))
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		first.Close()
	}()
	second, err := open(ctx, time.Minute)
	if err != nil {
		t.Fatalf("waiting for the lock: %v", err)
	}
	second.Close()
}

// TestPruneLockCoexistsWithBackups: a prune lock coexists with shared
// locks (backups run beside prune), excludes another prune lock and an
// exclusive lock, and records when it was first taken; refreshes keep that.
func TestPruneLockCoexistsWithBackups(t *testing.T) {
	dir := newSessionRepo(t)
	ctx := context.Background()
	backupA, err := openSession(ctx, t, dir, repo.SharedLock)
	if err != nil {
		t.Fatal(err)
	}
	defer backupA.Close()
	prune, err := openSession(ctx, t, dir, repo.PruneLock)
	if err != nil {
		t.Fatalf("prune beside a backup: %v", err)
	}
	defer prune.Close()
	backupB, err := openSession(ctx, t, dir, repo.SharedLock)
	if err != nil {
		t.Fatalf("backup beside a prune: %v", err)
	}
	defer backupB.Close()
	for _, m := range []repo.LockMode{repo.PruneLock, repo.ExclusiveLock} {
		_, err := openSession(ctx, t, dir, m)
		var le *repo.LockedError
		if !errors.As(err, &le) || le.Holder.Mode() == repo.SharedLock && m == repo.PruneLock {
			t.Errorf("%v lock beside a prune lock: %v, want a LockedError naming the prune lock", m, err)
		}
	}
	locks, err := prune.ListLocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pl *repo.LockInfo
	for i := range locks {
		if locks[i].Prune {
			pl = &locks[i]
		}
		if locks[i].Started.IsZero() || locks[i].Started.After(locks[i].Time) {
			t.Errorf("lock %v: started %v, time %v", locks[i].ID.Short(), locks[i].Started, locks[i].Time)
		}
	}
	if pl == nil || pl.Exclusive || pl.Mode() != repo.PruneLock {
		t.Fatalf("no prune lock among %v", locks)
	}
}
