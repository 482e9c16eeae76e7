package sftp_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/sftp"
)

// localRepo creates a repository on the test server and returns its
// backend and its directory, which must be a directory of this machine
// too (a server on the loopback, as scripts/test.sh starts): the test
// changes it under the server. It skips where it cannot (not root, a
// server elsewhere).
func localRepo(t *testing.T) (*sftp.Backend, string) {
	t.Helper()
	cfg := testConfig(t)
	if os.Geteuid() != 0 {
		t.Skip("a read-only bind mount and chattr need root")
	}
	be, err := sftp.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	if _, err := os.Stat(cfg.Path); err != nil {
		t.Skipf("the server's directory %s is not on this machine: %v", cfg.Path, err)
	}
	return be, cfg.Path
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Skipf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// The test server (OpenSSH's internal-sftp) answers a write into a file
// system mounted read-only with SSH_FX_FAILURE and the message "Failure",
// and one into a directory that may not be written (chattr +i, as root)
// with SSH_FX_PERMISSION_DENIED. Only the first is read-only storage
// (backend.ErrReadOnly, which the repository turns into its ReadOnlyError
// and its readers' warning); the second stays a permission error. The
// server's own error is kept in the message.
func TestReadOnlyRefusal(t *testing.T) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.LockFile, Name: strings.Repeat("ab", 32)}

	be, dir := localRepo(t)
	run(t, "mount", "--bind", dir, dir)
	roBe, roDir := be, dir // be and dir are the next case's below
	t.Cleanup(func() {
		// The server's session holds the directory until the backend
		// closes: closed first, or the mount is busy and stays.
		roBe.Close()
		if out, err := exec.Command("umount", roDir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", roDir, err, out)
		}
	})
	run(t, "mount", "-o", "remount,ro,bind", dir)
	err := be.Save(ctx, h, []byte("lock"))
	if !errors.Is(err, backend.ErrReadOnly) || !strings.Contains(err.Error(), "SSH_FX_FAILURE") {
		t.Errorf("save into a read-only file system: want backend.ErrReadOnly with the server's error, got %v", err)
	}

	be, dir = localRepo(t)
	locks := dir + "/locks"
	run(t, "chattr", "+i", locks)
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", locks).Run() })
	err = be.Save(ctx, h, []byte("lock"))
	if err == nil || errors.Is(err, backend.ErrReadOnly) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("save into a directory that may not be written: want a permission error, not read-only, got %v", err)
	}
}
