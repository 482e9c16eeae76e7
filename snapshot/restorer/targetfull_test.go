package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// mountTmpfs mounts a tmpfs with opts on a new directory, or skips the
// test where this user may not mount.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// manyFiles snapshots n files of size bytes each, in a few directories.
func manyFiles(t *testing.T, n, size int) (*snapshottest.Repo, *snapshot.Snapshot) {
	t.Helper()
	src := t.TempDir()
	for i := range n {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%03d", i))
		snapshottest.WriteFile(t, p, snapshottest.RandBytes(uint64(i), size))
	}
	r := newTestRepo(t)
	return r, mustSnapshot(t, archiver.NewArchiver(r), src)
}

// A restore onto a file system that fills up stopped at nothing: it tried
// every file (a create, a write and an unlink each on the full disk) and
// ended with a line per file and no word of why (README walk, a 1 MiB
// tmpfs). It stops once StopAfterFailures files in a row failed with
// ENOSPC, says so, and counts the errors by cause.
func TestRestoreStopsOnFullTarget(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	const n = 300
	r, sn := manyFiles(t, n, 20<<10)
	sum, err := (&Restorer{Repo: r, Workers: 2}).Restore(context.Background(), sn, "/", filepath.Join(dir, "r"))
	if !errors.Is(err, ErrRestoreIncomplete) || sum == nil {
		t.Fatalf("restore onto a full disk: %v", err)
	}
	if sum.StoppedBy != syscall.ENOSPC || sum.NotTried == 0 {
		t.Errorf("stopped by %v with %d not tried; want ENOSPC and some not tried", sum.StoppedBy, sum.NotTried)
	}
	if f := uint64(len(sum.FailedFiles)); f < StopAfterFailures || sum.Files+f+sum.NotTried != n {
		t.Errorf("%d restored, %d failed, %d not tried: want at least %d failed, %d in all", sum.Files, f, sum.NotTried, StopAfterFailures, n)
	}
	if len(sum.Causes) == 0 || sum.Causes[0].Errno != syscall.ENOSPC || sum.Causes[0].Count < StopAfterFailures {
		t.Errorf("causes %+v: want ENOSPC first", sum.Causes)
	}
	noTemp(t, dir)
}

// A read-only target fails its directories, and every file below counts
// under the directories' cause, EROFS, not as "its directory could not be
// restored" of no cause.
func TestRestoreCausesReadOnlyTarget(t *testing.T) {
	dir := mountTmpfs(t, "ro")
	r, sn := manyFiles(t, 20, 100)
	sum, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, "/", dir)
	if !errors.Is(err, ErrRestoreIncomplete) || sum == nil {
		t.Fatalf("restore onto a read-only target: %v", err)
	}
	if sum.Files != 0 || len(sum.FailedFiles) != 20 {
		t.Errorf("%d restored, %d failed: want 0 and 20", sum.Files, len(sum.FailedFiles))
	}
	if len(sum.Causes) != 1 || sum.Causes[0].Errno != syscall.EROFS || sum.Causes[0].Count != uint64(len(sum.Errors)) {
		t.Errorf("causes %+v of %d errors: want all EROFS", sum.Causes, len(sum.Errors))
	}
}

// Causes are counted without a mount too: a damaged blob and a directory
// in the way of a file.
func TestRestoreCausesCounted(t *testing.T) {
	ctx := context.Background()
	r, sn := manyFiles(t, 3, 100)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	var victim string
	filepath.WalkDir(target, func(p string, e os.DirEntry, _ error) error {
		if e != nil && !e.IsDir() && victim == "" {
			victim = p
		}
		return nil
	})
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	sum, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	// A cause of its own, and the file is not restored (README walk: it
	// was in no count of files not restored).
	if !errors.Is(err, ErrRestoreIncomplete) || len(sum.Causes) != 1 || sum.Causes[0] != (Cause{InTheWay: true, Count: 1}) {
		t.Errorf("a directory in the way: %v, causes %+v", err, sum.Causes)
	}
	if len(sum.FailedFiles) != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "in the way") {
		t.Errorf("a directory in the way: failed files %q, errors %+v", sum.FailedFiles, sum.Errors)
	}
	if sum.Files+uint64(len(sum.FailedFiles)) != 3 {
		t.Errorf("%d files restored and %d failed, of 3", sum.Files, len(sum.FailedFiles))
	}
}

// A --target that is a file was refused by MkdirAll's "not a directory"
// on a path the administrator did not give (README walk): the error is a
// TargetError that says it.
func TestRestoreTargetIsAFile(t *testing.T) {
	r, sn := manyFiles(t, 1, 10)
	f := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{false, true} {
		_, err := (&Restorer{Repo: r, DryRun: dry}).Restore(context.Background(), sn, "/", f)
		var te *TargetError
		if !errors.As(err, &te) || te.Target != f || !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), f) {
			t.Errorf("dry run %v: %v", dry, err)
		}
	}
}

// mountTmpfsAt mounts a tmpfs with opts on dir, which it makes, or skips
// the test where this user may not mount.
func mountTmpfsAt(t *testing.T, dir, opts string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// The early stop counted the failures of the whole restore: a full 1 MiB
// tmpfs mounted at src/big in the target stopped the files of src/z too,
// on the main disk with room to spare ("did not try 215 more", review).
// It counts per file system: only the files whose directory is on the
// full one are not tried, and they are named.
func TestRestoreStopsPerFileSystem(t *testing.T) {
	src := t.TempDir()
	write := func(dir string, n, size int) {
		for i := range n {
			snapshottest.WriteFile(t, filepath.Join(src, dir, fmt.Sprintf("f%03d", i)), snapshottest.RandBytes(uint64(len(dir)*1000+i), size))
		}
	}
	write("big", 300, 20<<10)
	write("small", 100, 1<<10)
	write("z", 300, 1<<10)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mountTmpfsAt(t, filepath.Join(target, src, "big"), "size=1m")
	sum, err := (&Restorer{Repo: r, Workers: 2}).Restore(context.Background(), sn, "/", target)
	if !errors.Is(err, ErrRestoreIncomplete) || sum == nil {
		t.Fatalf("restore onto a full mount: %v", err)
	}
	if sum.StoppedBy != syscall.ENOSPC || sum.NotTried == 0 || uint64(len(sum.NotTriedFiles)) != sum.NotTried {
		t.Errorf("stopped by %v, %d not tried, %d named: want ENOSPC, some not tried, each named", sum.StoppedBy, sum.NotTried, len(sum.NotTriedFiles))
	}
	big := filepath.Join(src, "big") + "/"
	for _, list := range [][]string{sum.FailedFiles, sum.NotTriedFiles} {
		for _, p := range list {
			if !strings.HasPrefix(p, big) {
				t.Errorf("%s not restored: only the files on the full file system may fail", p)
			}
		}
	}
	for _, dir := range []string{"small", "z"} {
		ents, err := os.ReadDir(filepath.Join(target, src, dir))
		if err != nil || len(ents) == 0 {
			t.Errorf("%s: %d entries restored (%v)", dir, len(ents), err)
		}
	}
	if n := sum.Files + uint64(len(sum.FailedFiles)) + sum.NotTried; n != 700 {
		t.Errorf("%d restored, %d failed, %d not tried: want 700 in all", sum.Files, len(sum.FailedFiles), sum.NotTried)
	}
	if sum.Files < 400 {
		t.Errorf("%d files restored: want every one of small and z", sum.Files)
	}
}
