package main

// A medium mounted read-only, as an administrator mounts a rescue or
// rotation disk after a disaster: commands that only read run on it
// without a lock, with a note; commands that write fail with an error
// that says so, a hint, and the failure kind media-read-only.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// kindReadOnly is runlog.KindMediaReadOnly, spelt out so that the test
// also builds against code without it.
const kindReadOnly runlog.FailureKind = "media-read-only"

// mountReadOnly bind-mounts dir onto itself read-only until the test
// ends (also when it fails); it skips the test where that cannot be done
// (not root, no mount(8)).
func mountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a read-only bind mount needs root")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("a read-only bind mount needs mount(8)")
	}
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("mount --bind %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", dir).CombinedOutput(); err != nil {
		t.Skipf("mount -o remount,ro,bind %s: %v: %s", dir, err, out)
	}
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Skipf("%s is still writable after the read-only remount", dir)
	}
}

// readOnlyHarness is a SOP harness whose medium disk-A holds one run of
// the job and is then mounted read-only.
func readOnlyHarness(t *testing.T) *sopHarness {
	h := newSOPHarness(t)
	h.at("2026-12-02T01:00:00Z")
	h.must(0, "run", "-q", "spse-db")
	mountReadOnly(t, h.repoA)
	return h
}

// The hint of a repository on a read-only medium, up to the mount point.
func readOnlyHint(h *sopHarness) string {
	return "hint: remount it read-write, e.g. mount -o remount,rw " + h.repoA + " "
}

// Commands that only read run on a read-only medium, without a lock and
// with a note, and a restore from it gives the files back byte for byte.
func TestReadOnlyMediumReads(t *testing.T) {
	h := readOnlyHarness(t)
	note := "note: the repository " + h.repoA + " is on a read-only file system, so it is read without a lock; a prune running elsewhere on a writable mount of the same storage could remove data under it"
	out, errs, code := h.cad("snapshots", "-r", h.repoA, "--password-file", h.pw)
	if code != 0 || strings.Count(errs, note) != 1 || !strings.Contains(out, "2 snapshots") {
		t.Fatalf("snapshots on a read-only medium: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	target := filepath.Join(h.dir, "restored")
	_, errs, code = h.cad("restore", "-r", h.repoA, "--password-file", h.pw, "latest", "--path", h.src, "--target", target)
	if code != 0 || strings.Count(errs, note) != 1 {
		t.Fatalf("restore from a read-only medium: exit %d\nstderr:\n%s", code, errs)
	}
	for _, rel := range []string{"dokumen/kontrak.txt", "dokumen/spek.txt", "foto.bin"} {
		want := mustRead(t, filepath.Join(h.src, rel))
		if got := mustRead(t, filepath.Join(target, h.src, rel)); got != want {
			t.Errorf("restored %s differs from the source (%d bytes, want %d)", rel, len(got), len(want))
		}
	}
	if r := h.last(); r.Op != runlog.OpRestore || r.Result != runlog.OK {
		t.Errorf("restore recorded as %s %s (%s), want an ok restore", r.Op, r.Result, r.Failure)
	}

	// A forget's dry run only reads; a forget writes.
	if _, errs, code = h.cad("forget", "-r", h.repoA, "--password-file", h.pw, "--keep-last", "1", "--dry-run"); code != 0 || strings.Count(errs, note) != 1 {
		t.Errorf("forget --dry-run on a read-only medium: exit %d\nstderr:\n%s", code, errs)
	}
	if _, errs, code = h.cad("forget", "-r", h.repoA, "--password-file", h.pw, "--keep-last", "1"); code != exitFatal || !strings.Contains(errs, readOnlyHint(h)) {
		t.Errorf("forget on a read-only medium: exit %d, want %d with the hint\nstderr:\n%s", code, exitFatal, errs)
	}

	// protect writes: it must fail as a writer, with the repository's own
	// error and hint, not open as a reader without a lock (the hostile
	// review of 2026-12-08: it called needLock only once opened).
	for _, args := range [][]string{{"protect", "--for", "1d", "latest"}, {"protect", "--remove", "latest"}, {"protect", "--remove-unreadable"}} {
		_, errs, code = h.cad(append([]string{args[0], "-r", h.repoA, "--password-file", h.pw}, args[1:]...)...)
		if code != exitFatal || !strings.Contains(errs, readOnlyHint(h)) || strings.Contains(errs, note) {
			t.Errorf("%v on a read-only medium: exit %d, want %d with the hint and no reader's note\nstderr:\n%s", args, code, exitFatal, errs)
		}
	}

	// So does a prune's dry run, which changes nothing; a prune writes.
	out, errs, code = h.cad("prune", "-r", h.repoA, "--password-file", h.pw, "--dry-run")
	if code != 0 || strings.Count(errs, note) != 1 || !strings.Contains(out, "dry run: nothing was changed") {
		t.Errorf("prune --dry-run on a read-only medium: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if _, errs, code = h.cad("prune", "-r", h.repoA, "--password-file", h.pw); code != exitFatal || !strings.Contains(errs, readOnlyHint(h)) {
		t.Errorf("prune on a read-only medium: exit %d, want %d with the hint\nstderr:\n%s", code, exitFatal, errs)
	}

	// The SOP's restore test reads the job's medium as restore does.
	_, errs, code = h.cad("restore-test", "spse-db")
	if code != 0 || strings.Count(errs, note) != 1 {
		t.Errorf("restore-test from a read-only medium: exit %d\nstderr:\n%s", code, errs)
	}
	if r := h.last(); r.Op != runlog.OpRestoreTest || r.Result != runlog.OK {
		t.Errorf("restore-test recorded as %s %s (%s), want an ok one", r.Op, r.Result, r.Failure)
	}

	// A copy reads its source: from a read-only medium into another.
	out, errs, code = h.cad("copy", "-r", h.repoB, "--password-file", h.pw, "--from-repo", h.repoA, "--from-password-file", h.pw)
	if code != 0 || strings.Count(errs, note) != 1 {
		t.Errorf("copy from a read-only medium: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	out = h.must(0, "snapshots", "-r", h.repoB, "--password-file", h.pw)
	if !strings.Contains(out, "2 snapshots") {
		t.Errorf("the copy did not bring the job's 2 snapshots:\n%s", out)
	}
}

// A backup onto a read-only medium fails, says why and what to do, and
// records the kind media-read-only.
func TestReadOnlyMediumBackupFails(t *testing.T) {
	h := readOnlyHarness(t)
	_, errs, code := h.cad("backup", "-r", h.repoA, "--password-file", h.pw, h.src)
	hint := readOnlyHint(h)
	if code != exitFatal || !strings.Contains(errs, "repository "+h.repoA+" is on a read-only file system") || !strings.Contains(errs, hint) {
		t.Errorf("backup onto a read-only medium: exit %d, want %d with the cause and %q\nstderr:\n%s", code, exitFatal, hint, errs)
	}
	if r := h.last(); r.Op != runlog.OpBackup || r.Failure != kindReadOnly {
		t.Errorf("backup recorded as %s %s (%s), want failure %s", r.Op, r.Result, r.Failure, kindReadOnly)
	}
	if strings.Contains(errs, "write lock") {
		t.Errorf("a backup's error speaks of a write lock, which it does not take:\n%s", errs)
	}
}

// Each recorded command on a read-only medium says once, in one line in
// the chosen language, that its own record (by run ID) and the earlier
// ones that could not be copied stay in the local run log until a command
// can write there, not the copy's error, which named the first of them
// (an earlier record) and a temporary file. A command that can write
// there copies them all.
func TestReadOnlyMediumRecordWarning(t *testing.T) {
	h := readOnlyHarness(t)
	readOnlyLines := func(errs string) []string {
		var ls []string
		for _, l := range strings.Split(errs, "\n") {
			if strings.Contains(l, "read-only") && !strings.HasPrefix(l, "note: ") || strings.Contains(l, "kept locally only") {
				ls = append(ls, l)
			}
		}
		return ls
	}
	n := 0
	restore := func(args ...string) (string, string, int) {
		n++
		target := filepath.Join(h.dir, fmt.Sprintf("restored-%d", n))
		return h.cad(append(args, "restore", "-r", h.repoA, "--password-file", h.pw, "latest", "--path", h.src, "--target", target)...)
	}

	_, errs, code := restore()
	first := h.last()
	want := "warning: the repository " + h.repoA + " is read-only: this command's record (" + first.ID + ") stays in the local run log and is copied there by the next command that can write there"
	if ls := readOnlyLines(errs); code != 0 || len(ls) != 1 || ls[0] != want {
		t.Fatalf("first read on a read-only medium: exit %d, lines %q, want only\n%s\nstderr:\n%s", code, ls, want, errs)
	}

	_, errs, code = restore("--lang", "id")
	second := h.last()
	want = "peringatan: repositori " + h.repoA + " hanya-baca (read-only): catatan perintah ini (" + second.ID + ") dan 1 catatan sebelumnya tetap di log pelaksanaan lokal dan disalin ke sana oleh perintah berikutnya yang dapat menulis di sana"
	if ls := readOnlyLines(errs); code != 0 || second.ID == first.ID || len(ls) != 1 || ls[0] != want {
		t.Fatalf("second read, --lang id: exit %d, lines %q, want only\n%s\nstderr:\n%s", code, ls, want, errs)
	}

	_, errs, _ = restore()
	if ls := readOnlyLines(errs); len(ls) != 1 || !strings.Contains(ls[0], "and 2 earlier records stay in the local run log") {
		t.Fatalf("third read: lines %q\nstderr:\n%s", ls, errs)
	}
	// The SOP's restore test says it as restore does.
	_, errs, code = h.cad("restore-test", "spse-db")
	if ls := readOnlyLines(errs); code != 0 || len(ls) != 1 || !strings.Contains(ls[0], "("+h.last().ID+") and 3 earlier records stay") {
		t.Fatalf("restore-test: exit %d, lines %q\nstderr:\n%s", code, ls, errs)
	}
}

// A backup that fails on a read-only medium read the repository's config
// before its lock failed: its record names the repository (ID and
// medium), which the failure report showed as "-", and says the cause
// as a note in each document's language, the error following as the
// program's message.
func TestReadOnlyMediumFailureNamesRepository(t *testing.T) {
	h := readOnlyHarness(t)
	opened := h.last() // the run before the remount
	h.cad("backup", "-r", h.repoA, "--password-file", h.pw, h.src)
	r := h.last()
	if r.Op != runlog.OpBackup || r.Failure != kindReadOnly {
		t.Fatalf("backup recorded as %s %s (%s), want failure %s", r.Op, r.Result, r.Failure, kindReadOnly)
	}
	if r.RepositoryID == "" || r.RepositoryID != opened.RepositoryID || r.Medium != opened.Medium {
		t.Errorf("record of the failed backup: repository ID %q, medium %q; want %q, %q", r.RepositoryID, r.Medium, opened.RepositoryID, opened.Medium)
	}
	if r.Note == nil || r.Note.Code != "repo-read-only" || !strings.Contains(r.Message, "read-only file system") {
		t.Errorf("record of the failed backup: note %+v, message %q", r.Note, r.Message)
	}
}
