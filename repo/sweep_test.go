package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// TestSweepTempFiles: check reports temporary files left by killed saves;
// RebuildIndex removes the old ones, but only under an exclusive lock.
func TestSweepTempFiles(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(1, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mk := func(rel string, age time.Duration) string {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, []byte("partial pack"), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := mk("data/7f/.tmp-0123456789abcdef", 2*repo.TempSweepAge)
	fresh := mk("index/.tmp-fedcba9876543210", time.Minute)

	res, err := r.Check(ctx, repo.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TempFiles) != 1 || res.TempFiles[0] != old {
		t.Fatalf("check reported temporary files %v, want [%s]", res.TempFiles, old)
	}
	if len(res.Problems) != 0 {
		t.Fatalf("leftover temporary files are not problems: %v", res.Problems)
	}

	// Without an exclusive lock, another writer might be saving: no sweep.
	if _, _, err := r.RebuildIndex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("swept without an exclusive lock: %v", err)
	}

	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	var msgs []string
	if _, _, err := r.RebuildIndex(ctx, func(f string, a ...any) { msgs = append(msgs, f) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("old temporary file not swept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file swept: %v", err)
	}
	// The exclusive lock itself swept the old file (see
	// TestSweepOnMaintenanceLock), so RebuildIndex may find nothing left.
	_ = msgs
	res, err = r.Check(ctx, repo.CheckOptions{})
	if err != nil || len(res.TempFiles) != 0 {
		t.Fatalf("after the sweep check still reports %v (%v)", res.TempFiles, err)
	}
}

// TestSweepOnMaintenanceLock: leftover temporary files were removed only by
// 'repair index' (issue 14). Taking an exclusive or a prune lock sweeps the
// old ones and says so; a shared lock (a backup) leaves them, and no lock
// removes a fresh one, which a concurrent save may still be writing.
func TestSweepOnMaintenanceLock(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []repo.LockMode{repo.SharedLock, repo.PruneLock, repo.ExclusiveLock} {
		t.Run(mode.String(), func(t *testing.T) {
			dir, r := newLocal(t)
			defer r.Close()
			var msgs []string
			r2 := reopenWithLog(t, dir, func(f string, a ...any) { msgs = append(msgs, fmt.Sprintf(f, a...)) })
			defer r2.Close()
			mk := func(rel string, age time.Duration) string {
				p := filepath.Join(dir, rel)
				if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
					t.Fatal(err)
				}
				mt := time.Now().Add(-age)
				if err := os.Chtimes(p, mt, mt); err != nil {
					t.Fatal(err)
				}
				return p
			}
			old := mk("data/3c/.tmp-00112233445566778899", 2*repo.TempSweepAge)
			fresh := mk("snapshots/.tmp-99887766554433221100", time.Minute)
			l, err := r2.Acquire(ctx, mode)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock(ctx)
			_, oldErr := os.Stat(old)
			if _, err := os.Stat(fresh); err != nil {
				t.Errorf("a fresh temporary file was swept: %v", err)
			}
			if mode == repo.SharedLock {
				if oldErr != nil {
					t.Errorf("a shared lock swept: %v", oldErr)
				}
				return
			}
			if !os.IsNotExist(oldErr) {
				t.Errorf("%v lock: old temporary file not swept (%v)", mode, oldErr)
			}
			if !strings.Contains(strings.Join(msgs, "\n"), "removed 1 temporary file") {
				t.Errorf("the sweep was not reported: %q", msgs)
			}
		})
	}
}

func reopenWithLog(t *testing.T, dir string, logf func(string, ...any)) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{Lock: repo.NoLock, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
