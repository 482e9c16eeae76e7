package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A hardlink that the target cannot make (here its two names are on two
// file systems) is restored as a copy: the restore succeeds (exit 0), says
// so in its summary and on stderr, even with --quiet, and --json carries
// the count and the reason.
func TestCLIRestoreLinkCopy(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tmpfs inside the target (a link across file systems)")
	}
	repoDir := cliNewRepo(t)
	t.Setenv("CADANG_LOG", filepath.Join(t.TempDir(), "runlog"))
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a", "x"), []byte("one inode, two names"), 0o644)
	if err := os.MkdirAll(filepath.Join(src, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "a", "x"), filepath.Join(src, "b", "y")); err != nil {
		t.Fatal(err)
	}
	cliOK(t, "backup", "-r", repoDir, "--quiet", src)
	target := t.TempDir()
	b := filepath.Join(target, src, "b")
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", b, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v)", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(b, syscall.MNT_DETACH) })

	res := cliOK(t, "restore", "-r", repoDir, "latest", "--target", target)
	if !strings.Contains(res.stdout, "2 files,") || !strings.Contains(res.stdout, "1 hardlink written as a copy") {
		t.Errorf("summary does not say the link was copied:\n%s", res)
	}
	if !strings.Contains(res.stderr, "warning: "+filepath.Join(src, "b", "y")+": written as a file of its own, not as a hardlink: link ") ||
		!strings.Contains(res.stderr, "cross-device link") {
		t.Errorf("no warning naming the member and why:\n%s", res)
	}
	if got, err := os.ReadFile(filepath.Join(b, "y")); err != nil || string(got) != "one inode, two names" {
		t.Errorf("b/y: %q %v", got, err)
	}
	res = cliOK(t, "restore", "-r", repoDir, "latest", "--target", target, "--quiet")
	if !strings.Contains(res.stderr, "not as a hardlink") {
		t.Errorf("--quiet hid the warning:\n%s", res)
	}
	res = cliOK(t, "restore", "-r", repoDir, "latest", "--target", target, "--json")
	sum := summaryOf(t, res)
	if num(t, sum, "hardlink_copies") != 1 || num(t, sum, "hardlinks") != 0 || num(t, sum, "files_restored") != 2 {
		t.Errorf("--json summary: %v", sum)
	}
	notes, _ := sum["hardlink_copy_notes"].([]any)
	if len(notes) != 1 || !strings.Contains(notes[0].(map[string]any)["error"].(string), "cross-device link") {
		t.Errorf("--json notes: %v", sum["hardlink_copy_notes"])
	}
}

// A dry run that finds an item it could not restore says that it would
// not be, not that it was not, and that the rest would be.
func TestCLIRestoreDryRunWording(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv("CADANG_LOG", filepath.Join(t.TempDir(), "runlog"))
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)
	writeFileT(t, filepath.Join(src, "b"), []byte("b"), 0o644)
	cliOK(t, "backup", "-r", repoDir, "--quiet", src)
	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(target, src, "a", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := cliCode(t, 3, "restore", "-r", repoDir, "latest", "--target", target, "--dry-run")
	if !strings.Contains(res.stderr, "1 file(s) would not be restored (listed above); errors by cause: 1 entry/entries in the way") {
		t.Errorf("dry run wording:\n%s", res)
	}
	if !strings.Contains(res.stderr, "the rest would be (a dry run wrote nothing)") {
		t.Errorf("dry run wording:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(target, src, "b")); !os.IsNotExist(err) {
		t.Errorf("the dry run wrote b: %v", err)
	}
}
