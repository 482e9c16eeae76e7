// Package testexec runs a copy of the running test binary as another
// user, for tests of what a user who is not root can and cannot do (a
// restore of read-only files, a monitoring user who cannot read the run
// log). Only tests import it.
package testexec

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Nobody is the uid and gid of the user nobody, as whom the copies run.
const Nobody = 65534

// PublicCopy copies the running test binary, as name, into a new directory
// that every user may enter and that is removed when the test ends: the
// test binary's own directory is usually private to root. It returns the
// directory and the copy's path.
func PublicCopy(t testing.TB, name string) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cadang-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin = filepath.Join(dir, name)
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// AsNobody makes cmd run as the user nobody (the caller must be root).
func AsNobody(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
}
