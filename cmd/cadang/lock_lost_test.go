package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// removeLocksReader removes every lock file of a repository on its first
// Read, as 'cadang unlock --remove-all' run elsewhere (or a process on
// another host that judged the lock stale) would, and then reads data.
type removeLocksReader struct {
	t       testing.TB
	repoDir string
	removed bool
	data    io.Reader
}

func (r *removeLocksReader) Read(p []byte) (int, error) {
	if !r.removed {
		r.removed = true
		locks, _ := filepath.Glob(filepath.Join(r.repoDir, "locks", "*"))
		if len(locks) == 0 {
			r.t.Error("backup is reading its source without holding a lock")
		}
		for _, l := range locks {
			if err := os.Remove(l); err != nil {
				r.t.Error(err)
			}
		}
	}
	return r.data.Read(p)
}

// TestCLIBackupLockLost: a backup whose lock is removed while it runs must
// fail saying so, and must not write a snapshot: another process may have
// taken the repository (an exclusive prune) in the meantime.
func TestCLIBackupLockLost(t *testing.T) {
	repoDir := cliNewRepo(t)
	in := &removeLocksReader{t: t, repoDir: repoDir, data: bytes.NewReader(randBytes(11, 1<<20))}
	res := cliRun(t, in, "-r", repoDir, "backup", "--stdin", "--stdin-filename", "db.sql")
	if res.code == exitOK || !strings.Contains(res.stderr, "lock") || !strings.Contains(res.stderr, "lost") {
		t.Fatalf("backup under a lost lock should fail naming the lock:\n%s", res)
	}
	t.Logf("stderr: %s", res.stderr)
	if n := len(repoFiles(t, repoDir, "snapshots")); n != 0 {
		t.Errorf("%d snapshots written under a lost lock", n)
	}
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Errorf("%d lock files left behind (a lost lock must not be written again)", n)
	}
}
