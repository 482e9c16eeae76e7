package main

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
	"github.com/lpse/cadang/snapshot"
	"golang.org/x/sys/unix"
)

func TestLsMode(t *testing.T) {
	for _, c := range []struct {
		typ  snapshot.NodeType
		mode uint32
		want string
	}{
		{snapshot.TypeFile, 0o4755, "-rwsr-xr-x"},
		{snapshot.TypeFile, 0o4644, "-rwSr--r--"},
		{snapshot.TypeFile, 0o2711, "-rwx--s--x"},
		{snapshot.TypeDir, 0o1777, "drwxrwxrwt"},
		{snapshot.TypeDir, 0o1776, "drwxrwxrwT"},
		{snapshot.TypeDir, 0o2775, "drwxrwsr-x"},
		{snapshot.TypeSymlink, 0o777, "lrwxrwxrwx"},
		{snapshot.TypeCharDev, 0o666, "crw-rw-rw-"},
		{snapshot.TypeFIFO, 0o640, "prw-r-----"},
		{snapshot.TypeFile, 0o7000, "---S--S--T"},
	} {
		if got := lsMode(&snapshot.Node{Type: c.typ, Mode: c.mode}); got != c.want {
			t.Errorf("%s %04o: %s, want %s", c.typ, c.mode, got, c.want)
		}
	}
}

// TestCLIRestoreSafety: ls shows special mode bits; restore --no-owner
// drops setuid, --no-devices lists what it leaves out, --xattr-exclude
// filters; and a symlink left in the target by an earlier restore is
// replaced, not followed (issue 13).
func TestCLIRestoreSafety(t *testing.T) {
	repoDir := cliNewRepo(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o750); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(src, "bin", "su"), []byte("#!/bin/sh\n"), 0o755)
	if err := unix.Chmod(filepath.Join(src, "bin", "su"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(src, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	unix.Chmod(filepath.Join(src, "tmp"), 0o1777)
	xattrs := unix.Setxattr(filepath.Join(src, "bin", "su"), "user.keep", []byte("k"), 0) == nil &&
		unix.Setxattr(filepath.Join(src, "bin", "su"), "user.drop", []byte("d"), 0) == nil
	devices := os.Geteuid() == 0 && unix.Mknod(filepath.Join(src, "mem"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 1))) == nil
	if err := os.Symlink(outside, filepath.Join(src, "escape")); err != nil {
		t.Fatal(err)
	}
	cliBackup(t, repoDir, src)

	ls := cliOK(t, "-r", repoDir, "ls", "latest", src).stdout
	for _, want := range []string{"-rwsr-xr-x", "drwxrwxrwt"} {
		if !strings.Contains(ls, want) {
			t.Errorf("ls does not show %s:\n%s", want, ls)
		}
	}

	// Snapshot 2: escape is now a directory with a file in it.
	os.Remove(filepath.Join(src, "escape"))
	writeFileT(t, filepath.Join(src, "escape", "pwned"), []byte("pwned"), 0o644)
	unix.Chmod(filepath.Join(src, "escape"), 0o777)
	cliBackup(t, repoDir, src)
	snaps := cliSnapshots(t, repoDir)
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots", len(snaps))
	}

	target := filepath.Join(base, "target")
	res := cliOK(t, "-r", repoDir, "restore", snaps[0].ID, "--target", target, "--no-owner")
	// The dropped bit is said, with the path in the target and the way
	// to keep it (a program that needs it fails only when it is run).
	su := filepath.Join(target, src, "bin", "su")
	for _, want := range []string{su + ": restored without its setuid/setgid bit", "(--no-owner)", "restore as root without --no-owner"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("restore --no-owner: no %q in\n%s", want, res.stderr)
		}
	}
	cliOK(t, "-r", repoDir, "restore", snaps[1].ID, "--target", target, "--overwrite", "if-changed")
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("restore wrote %d entries into the symlink's target", len(ents))
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("outside: %v %v", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "escape", "pwned")); err != nil || string(b) != "pwned" {
		t.Errorf("escape/pwned: %q %v", b, err)
	}

	// The filters, into a fresh target.
	target = filepath.Join(base, "target-filtered")
	res = cliOK(t, "-r", repoDir, "--json", "restore", snaps[1].ID, "--target", target,
		"--no-owner", "--no-devices", "--xattr-exclude", "user.drop")
	if sum := summaryOf(t, res); sum["setid_dropped"] != 1.0 ||
		fmt.Sprint(sum["setid_dropped_paths"]) != fmt.Sprint([]any{filepath.Join(target, src, "bin", "su")}) {
		t.Errorf("--json: setid_dropped %v, paths %v", sum["setid_dropped"], sum["setid_dropped_paths"])
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(target, src, "bin", "su"), &st); err != nil || st.Mode&0o7777 != 0o755 {
		t.Errorf("--no-owner: su restored %04o (%v), want 0755", st.Mode&0o7777, err)
	}
	if xattrs {
		buf := make([]byte, 16)
		if _, err := unix.Getxattr(filepath.Join(target, src, "bin", "su"), "user.keep", buf); err != nil {
			t.Errorf("user.keep: %v", err)
		}
		if _, err := unix.Getxattr(filepath.Join(target, src, "bin", "su"), "user.drop", buf); err == nil {
			t.Error("user.drop restored despite --xattr-exclude")
		}
	}
	if devices {
		sum := summaryOf(t, res)
		if d, ok := sum["skipped_devices"].([]any); !ok || len(d) != 1 || d[0] != filepath.Join(src, "mem") {
			t.Errorf("skipped_devices: %v", sum["skipped_devices"])
		}
		if _, err := os.Lstat(filepath.Join(target, src, "mem")); !os.IsNotExist(err) {
			t.Errorf("device restored with --no-devices (%v)", err)
		}
	}

	// --overwrite never keeps the symlink, names it, and exits 3.
	target2 := filepath.Join(base, "target2")
	cliOK(t, "-r", repoDir, "restore", snaps[0].ID, "--target", target2)
	res = cliCode(t, 3, "-r", repoDir, "restore", snaps[1].ID, "--target", target2, "--overwrite", "never")
	if !strings.Contains(res.stderr, "escape") || !strings.Contains(res.stderr, "in the way") {
		t.Errorf("never: %s", res)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("restore --overwrite never wrote %d entries into the symlink's target", len(ents))
	}
}

// TestCLIRestoreExponentialChain: a snapshot of 31 tiny trees, each naming
// the next twice, would expand to 2^31 entries. restore refuses it at once
// with an error naming the snapshot and a tree, records the failure in the
// run log and leaves no lock.
func TestCLIRestoreExponentialChain(t *testing.T) {
	repoDir := cliNewRepo(t)
	logFile := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv(envLog, logFile)
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	save := func(nodes ...*snapshot.Node) repo.ID {
		b, err := snapshot.EncodeTree(&snapshot.Tree{Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := r.SaveBlob(ctx, repo.TreeBlob, b)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := save()
	for i := 0; i < 30; i++ {
		id = save(&snapshot.Node{Name: "a", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id},
			&snapshot.Node{Name: "b", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sid, err := snapshot.SaveSnapshot(ctx, r, &snapshot.Snapshot{Time: time.Now(), Tree: id, Paths: []string{"/srv"}, Hostname: "evil"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	res := cliRun(t, nil, "-r", repoDir, "restore", "--target", target, "latest")
	if res.code == 0 || !strings.Contains(res.stderr, "snapshot "+sid.Short()) || !strings.Contains(res.stderr, "tree ") ||
		strings.Contains(res.stderr, "panic") {
		t.Fatalf("restore of the chain:\n%s", res)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("the refused restore wrote %d entries", len(ents))
	}
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Errorf("%d lock files left behind", n)
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), `"op":"restore"`) || !strings.Contains(string(b), `"result":"failed"`) {
		t.Errorf("the run log has no failed restore (%v):\n%s", err, b)
	}
}

// TestCLIRestoreNotRecorded: a restore whose record cannot be written (here
// the run log's directory is a file) is done, but ends with exit code 13
// and says so: at 3 a.m. a warning alone was missed, and no minutes could
// ever be made for that restore (README walk).
func TestCLIRestoreNotRecorded(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "kontrak.txt"), []byte("kontrak\n"), 0o644)
	cliBackup(t, repoDir, src)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	writeFileT(t, blocker, nil, 0o644)
	t.Setenv(envLog, filepath.Join(blocker, "runlog.jsonl"))
	target := filepath.Join(t.TempDir(), "t")
	res := cliCode(t, 13, "-r", repoDir, "restore", "latest", "--target", target)
	for _, want := range []string{"run log", "the restore itself succeeded, but it is not in the run log", "--log-file"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("no %q in\n%s", want, res.stderr)
		}
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "kontrak.txt")); err != nil || string(b) != "kontrak\n" {
		t.Errorf("not restored: %q %v", b, err)
	}
	// A run log that cannot even be opened (a signing key that is not
	// there) is the same: done, not recorded, exit 13.
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	res = cliCode(t, 13, "-r", repoDir, "--sign-key", filepath.Join(t.TempDir(), "none"), "restore", "latest", "--target", filepath.Join(t.TempDir(), "t2"))
	if !strings.Contains(res.stderr, "this restore is not recorded") {
		t.Errorf("sign key missing:\n%s", res.stderr)
	}
}
