package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/restorer"
)

// mountTmpfsT mounts a tmpfs with opts on a new directory, or skips the
// test where this user may not mount.
func mountTmpfsT(t *testing.T, opts string) string {
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

// lastRecord is the newest record of the run log that CADANG_LOG names.
func lastRecord(t *testing.T) runlog.Record {
	t.Helper()
	recs := jsonLog(t)
	if len(recs) == 0 {
		t.Fatal("the run log is empty")
	}
	return recs[len(recs)-1]
}

// restoreSource backs up n files of size bytes into a new repository.
func restoreSource(t *testing.T, n, size int) string {
	t.Helper()
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	src := t.TempDir()
	for i := range n {
		writeFileT(t, filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%03d", i)), randBytes(uint64(i), size), 0o644)
	}
	cliBackup(t, repoDir, src)
	return repoDir
}

// A restore onto a full disk ended with "N file(s) could not be restored
// (listed above)" after a line per file, its cause buried among them, and
// recorded 20 paths with failure "other" (README walk, a 1 MiB tmpfs). Its
// closing line now names the cause with its count and what to do, it
// stops once the disk refused many files in a row, and its record says
// out-of-space, puts the cause first and counts what it left out.
func TestCLIRestoreFullTarget(t *testing.T) {
	dir := mountTmpfsT(t, "size=1m")
	repoDir := restoreSource(t, 300, 20<<10)
	res := cliCode(t, 3, "-r", repoDir, "restore", "latest", "--target", filepath.Join(dir, "r"))
	last := res.stderr[strings.LastIndex(strings.TrimRight(res.stderr, "\n"), "\n")+1:]
	for _, want := range []string{"could not be restored", "no space left on device (the target's file system is full: free space or choose another --target)", "stopped writing to a file system after 50 files in a row on it failed", "were not tried"} {
		if !strings.Contains(last, want) {
			t.Errorf("no %q in the closing line %q", want, last)
		}
	}
	if n := strings.Count(res.stderr, "NOT RESTORED"); n >= 200 {
		t.Errorf("%d files reported not restored: the restore did not stop", n)
	}
	rec := lastRecord(t)
	if rec.Result != runlog.Partial || rec.Failure != runlog.KindOutOfSpace {
		t.Errorf("record: %s, %s; want partial, out-of-space", rec.Result, rec.Failure)
	}
	if len(rec.Errors) < 2 || !strings.Contains(rec.Errors[0], "no space left on device") || !strings.Contains(rec.Errors[len(rec.Errors)-1], "more error(s) not recorded") {
		t.Errorf("record's errors: %q", rec.Errors)
	}
}

// A read-only target that exists restored nothing, yet exited 3 and was
// recorded partial, while the same fault one level down exited 1 and was
// recorded failed (README walk). Nothing restored is a failure, exit 1,
// both ways, and each names the cause and what to do.
func TestCLIRestoreReadOnlyTarget(t *testing.T) {
	dir := mountTmpfsT(t, "ro")
	repoDir := restoreSource(t, 5, 100)
	for _, target := range []string{dir, filepath.Join(dir, "r")} {
		res := cliCode(t, 1, "-r", repoDir, "restore", "latest", "--target", target)
		if !strings.Contains(res.stderr, "read-only file system") || !strings.Contains(res.stderr, "remount it read-write or choose another --target") {
			t.Errorf("--target %s:\n%s", target, res.stderr)
		}
		if rec := lastRecord(t); rec.Result != runlog.Failed {
			t.Errorf("--target %s recorded %s, want failed", target, rec.Result)
		}
	}
}

// A --target that is a file got only "mkdir PATH: not a directory", which
// did not name --target (README walk): it is a usage error, exit 1, that
// says what to give, and no run is recorded for it.
func TestCLIRestoreTargetIsAFile(t *testing.T) {
	repoDir := restoreSource(t, 1, 10)
	before := len(jsonLog(t))
	f := filepath.Join(t.TempDir(), "afile")
	writeFileT(t, f, []byte("x"), 0o644)
	for _, extra := range [][]string{nil, {"--dry-run"}} {
		res := cliCode(t, 1, append([]string{"-r", repoDir, "restore", "latest", "--target", f}, extra...)...)
		if want := "--target " + f + ": is a file, not a directory; give --target a directory (it is made if missing)"; !strings.Contains(res.stderr, want) {
			t.Errorf("%v: no %q in\n%s", extra, want, res.stderr)
		}
	}
	// A path below the file (the README walk's --target file/sub) is the
	// same mistake, and names the file.
	sub := filepath.Join(f, "sub", "dir")
	res := cliCode(t, 1, "-r", repoDir, "restore", "latest", "--target", sub)
	if want := "--target " + sub + ": " + f + " is a file, not a directory"; !strings.Contains(res.stderr, want) {
		t.Errorf("--target below a file: no %q in\n%s", want, res.stderr)
	}
	if after := len(jsonLog(t)); after != before {
		t.Errorf("%d records added for a mistyped --target", after-before)
	}
}

// jsonLog is the run log's records.
func jsonLog(t *testing.T) []runlog.Record {
	t.Helper()
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(cliOK(t, "log", "--json").stdout), &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// mountTmpfsAtT mounts a tmpfs with opts on dir, which it makes, or skips
// the test where this user may not mount.
func mountTmpfsAtT(t *testing.T, dir, opts string) {
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

// A full tmpfs mounted at src/big below the target stopped the whole
// restore: "did not try 215 more", src/z on the main disk among them, and
// the files not tried were named nowhere, nor counted in the minutes'
// "N files could not be restored" (review). Only the files on the full
// file system are not tried; each is listed (NOT TRIED, --json, the
// record), and the record's failed count and note include them. The
// record names each failed file once, with its error, and counts what
// it left out by item.
func TestCLIRestoreFullMountBelowTarget(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	src := t.TempDir()
	for _, d := range []struct {
		name    string
		n, size int
	}{{"big", 300, 20 << 10}, {"small", 100, 1 << 10}, {"z", 200, 1 << 10}} {
		for i := range d.n {
			writeFileT(t, filepath.Join(src, d.name, fmt.Sprintf("f%03d", i)), randBytes(uint64(len(d.name)*1000+i), d.size), 0o644)
		}
	}
	cliBackup(t, repoDir, src)
	big := filepath.Join(src, "big") + "/"

	// Text: the files not tried are listed, and only those on the mount.
	target := t.TempDir()
	mountTmpfsAtT(t, filepath.Join(target, src, "big"), "size=1m")
	res := cliCode(t, 3, "-r", repoDir, "restore", "latest", "--target", target)
	notTried := 0
	for _, line := range strings.Split(res.stderr, "\n") {
		p, ok := strings.CutPrefix(line, "NOT TRIED: ")
		if !ok {
			p, ok = strings.CutPrefix(line, "NOT RESTORED: ")
		} else {
			notTried++
		}
		if ok && !strings.HasPrefix(p, big) {
			t.Errorf("%q: only the files on the full mount may fail", line)
		}
	}
	if notTried == 0 || !strings.Contains(res.stderr, fmt.Sprintf(": %d of the files above were not tried", notTried)) {
		t.Errorf("%d NOT TRIED lines:\n%s", notTried, res.stderr[max(0, len(res.stderr)-2000):])
	}
	for _, d := range []string{"small", "z"} {
		if ents, err := os.ReadDir(filepath.Join(target, src, d)); err != nil || len(ents) == 0 {
			t.Errorf("%s: %d entries restored (%v)", d, len(ents), err)
		}
	}
	rec := lastRecord(t)
	failed := strings.Count(res.stderr, "NOT RESTORED: ") + notTried
	if rec.Restore == nil || rec.Restore.FilesFailed != int64(failed) || rec.Note == nil || len(rec.Note.Args) != 4 || fmt.Sprint(rec.Note.Args[3]) != fmt.Sprint(failed) {
		t.Errorf("record: restore %+v, note %+v; want %d files failed", rec.Restore, rec.Note, failed)
	}

	// --json names them too; the record lists each failed file once,
	// with its error, and counts by item what it left out.
	target = t.TempDir()
	mountTmpfsAtT(t, filepath.Join(target, src, "big"), "size=1m")
	res = cliCode(t, 3, "--json", "-r", repoDir, "restore", "latest", "--target", target)
	var sum struct {
		FailedFiles   []string             `json:"failed_files"`
		NotTried      uint64               `json:"files_not_tried"`
		NotTriedFiles []string             `json:"not_tried_files"`
		Errors        []snapshot.ItemError `json:"errors"`
	}
	for _, line := range strings.Split(res.stdout, "\n") {
		if strings.Contains(line, `"message_type":"summary"`) {
			if err := json.Unmarshal([]byte(line), &sum); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sum.NotTried == 0 || uint64(len(sum.NotTriedFiles)) != sum.NotTried {
		t.Errorf("--json: %d not tried, %d named", sum.NotTried, len(sum.NotTriedFiles))
	}
	rec = lastRecord(t)
	items := map[string]bool{}
	for _, f := range sum.FailedFiles {
		items[f] = true
	}
	for _, ie := range sum.Errors {
		items[ie.Path] = true
	}
	all := len(items) + len(sum.NotTriedFiles) + 2 // and the lines of causes and of the stop
	for _, e := range rec.Errors[2 : len(rec.Errors)-1] {
		p, ok := strings.CutPrefix(e, "not restored: ")
		if !ok || !strings.HasPrefix(p, big) || !strings.Contains(strings.TrimPrefix(p, big), ": ") {
			t.Errorf("record's error %q: want 'not restored: PATH: why'", e)
		}
	}
	want := fmt.Sprintf("... and %d more error(s) not recorded", all-(len(rec.Errors)-1))
	if last := rec.Errors[len(rec.Errors)-1]; !strings.HasPrefix(last, want) {
		t.Errorf("record's last error %q, want %q", last, want)
	}
}

// A restore of d = {a, b, symlink l} into a target with directories at
// d/a, d/b and d/l under --overwrite never restored nothing, yet exited
// 3, "no file was restored", and was recorded partial: the directories
// above them counted as restored (review). It fails, exit 1, and so does
// a dry run of it (the files kept out are files not restored); a restore
// that kept everything succeeds.
func TestCLIRestoreNothingButInTheWay(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "d", "a"), []byte("a"), 0o644)
	writeFileT(t, filepath.Join(src, "d", "b"), []byte("b"), 0o644)
	if err := os.Symlink("a", filepath.Join(src, "d", "l")); err != nil {
		t.Fatal(err)
	}
	cliBackup(t, repoDir, src)
	target := t.TempDir()
	for _, n := range []string{"a", "b", "l"} {
		if err := os.MkdirAll(filepath.Join(target, src, "d", n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The two files kept out are files not restored (README walk: they
	// were in no count of them), and the dry run, which judges by what
	// failed, now fails as the run does.
	res := cliCode(t, 1, "-r", repoDir, "restore", "latest", "--target", target, "--overwrite", "never", "--dry-run")
	if !strings.Contains(res.stderr, "2 file(s) would not be restored") {
		t.Errorf("dry run:\n%s", res.stderr)
	}
	res = cliCode(t, 1, "-r", repoDir, "restore", "latest", "--target", target, "--overwrite", "never")
	if !strings.Contains(res.stderr, "2 file(s) could not be restored") || !strings.Contains(res.stderr, "no file was restored") {
		t.Errorf("restore:\n%s", res.stderr)
	}
	if rec := lastRecord(t); rec.Result != runlog.Failed {
		t.Errorf("recorded %s, want failed", rec.Result)
	}
	// Everything kept: a success.
	target2 := t.TempDir()
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target2)
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target2, "--overwrite", "never")
}

// closingLine is the last line of a command's stderr.
func closingLine(stderr string) string {
	s := strings.TrimRight(stderr, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// A directory where the snapshot has a file, under --overwrite never, was
// said as an error but in no count of files not restored: the closing
// line, the record's files_failed and the minutes said 103 where 104
// files were not restored, the causes said "106 other error(s)" with no
// hint, and the record's twenty lines were all "its directory could not
// be restored", never the entries in the way (README walk). The file is
// not restored, everywhere; the cause is named with what to do; and the
// errors that say why come first in the record.
func TestCLIRestoreInTheWayCounted(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a", "f1.pdf"), []byte("pdf"), 0o644)
	writeFileT(t, filepath.Join(src, "a", "f2.pdf"), []byte("pdf2"), 0o644)
	for i := range 30 {
		writeFileT(t, filepath.Join(src, "b", fmt.Sprintf("g%02d", i)), []byte("g"), 0o644)
	}
	writeFileT(t, filepath.Join(src, "big"), []byte("big"), 0o644)
	cliBackup(t, repoDir, src)
	mk := func() string {
		target := t.TempDir()
		if err := os.MkdirAll(filepath.Join(target, "a", "f1.pdf"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(t.TempDir(), filepath.Join(target, "b")); err != nil {
			t.Fatal(err)
		}
		writeFileT(t, filepath.Join(target, "big"), []byte("x\n"), 0o644)
		return target
	}
	const notRestored = 31 // a/f1.pdf and the 30 files of b
	res := cliCode(t, 3, "-r", repoDir, "restore", "latest:"+src, "--target", mk(), "--overwrite", "never")
	if !strings.Contains(res.stderr, "NOT RESTORED: "+filepath.Join(src, "a", "f1.pdf")+": a directory is in the way") {
		t.Errorf("a/f1.pdf is not listed as not restored:\n%s", res.stderr)
	}
	last := closingLine(res.stderr)
	for _, want := range []string{fmt.Sprintf("%d file(s) could not be restored (listed above)", notRestored),
		"entry/entries in the way, left as they are (move them aside", "--overwrite always replaces a file or symlink in the way of a directory"} {
		if !strings.Contains(last, want) {
			t.Errorf("no %q in the closing line %q", want, last)
		}
	}
	if strings.Contains(last, "other error") {
		t.Errorf("entries in the way counted as other errors: %q", last)
	}
	rec := lastRecord(t)
	if rec.Result != runlog.Partial || rec.Restore == nil || rec.Restore.FilesFailed != notRestored {
		t.Fatalf("record: %s, %+v; want partial, %d files failed", rec.Result, rec.Restore, notRestored)
	}
	if rec.Note == nil || rec.Note.Code != "restored-partial" {
		t.Errorf("note %+v", rec.Note)
	}
	// The kind says nothing ("other"): the record counts the cause, for
	// the minutes to name it.
	if rec.Failure != runlog.KindOther || rec.Restore.InTheWay < 2 {
		t.Errorf("record: kind %s, in the way %d; want other, at least the 2 entries in the way", rec.Failure, rec.Restore.InTheWay)
	}
	// The causes, then the two entries in the way, then what failed
	// with b.
	if len(rec.Errors) < 4 || !strings.Contains(rec.Errors[0], "by cause") ||
		!strings.Contains(rec.Errors[1], "a/f1.pdf: a directory is in the way") ||
		!strings.Contains(rec.Errors[2], "b: a symbolic link is in the way of the directory") ||
		!strings.Contains(rec.Errors[3], restorer.ParentFailedMessage) {
		t.Errorf("record's errors:\n%s", strings.Join(rec.Errors, "\n"))
	}

	// --json: the total, and stderr does not point at a list it lacks.
	res = cliCode(t, 3, "-r", repoDir, "--json", "restore", "latest:"+src, "--target", mk(), "--overwrite", "never")
	var sum struct {
		FailedFiles      []string `json:"failed_files"`
		FilesNotRestored *int     `json:"files_not_restored"`
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("%v: %s", err, res.stdout)
	}
	if sum.FilesNotRestored == nil || *sum.FilesNotRestored != notRestored || len(sum.FailedFiles) != notRestored {
		t.Errorf("--json: files_not_restored %v, %d failed files; want %d", sum.FilesNotRestored, len(sum.FailedFiles), notRestored)
	}
	if last := closingLine(res.stderr); !strings.Contains(last, "(listed in the JSON summary)") || strings.Contains(last, "listed above") {
		t.Errorf("--json closing line %q", last)
	}
}

// A read-only target one level down said "303 file(s) could not be
// restored ...; errors by cause: 306 read-only file system", a count in
// another unit; recorded failure kind other ("Failed (Other)" in the
// minutes), the note restored-partial of a failed run, and only the
// files' "its directory could not be restored" lines, never the mkdir
// that says why (README walk).
func TestCLIRestoreReadOnlyCounted(t *testing.T) {
	dir := mountTmpfsT(t, "ro")
	repoDir := restoreSource(t, 30, 10)
	target := dir // existing: its first directory cannot be made
	for _, asJSON := range []bool{false, true} {
		args := []string{"-r", repoDir, "restore", "latest", "--target", target}
		if asJSON {
			args = append([]string{"--json"}, args...)
		}
		res := cliCode(t, 1, args...)
		last := closingLine(res.stderr)
		if !strings.Contains(last, "30 file(s) could not be restored") ||
			!strings.Contains(last, "31 errors (30 of files not restored, 1 of directories not restored) by cause: 31 read-only file system") {
			t.Errorf("asJSON %v: closing line %q", asJSON, last)
		}
		rec := lastRecord(t)
		if rec.Result != runlog.Failed || rec.Failure != runlog.KindTargetNotWritable {
			t.Errorf("asJSON %v: record %s, %s; want failed, %s", asJSON, rec.Result, rec.Failure, runlog.KindTargetNotWritable)
		}
		if rec.Note == nil || rec.Note.Code != "restored-nothing" {
			t.Errorf("asJSON %v: note %+v", asJSON, rec.Note)
		}
		if len(rec.Errors) < 3 || !strings.Contains(rec.Errors[0], "by cause") || !strings.Contains(rec.Errors[1], "read-only file system") ||
			strings.Contains(rec.Errors[1], restorer.ParentFailedMessage) {
			t.Errorf("asJSON %v: record's errors:\n%s", asJSON, strings.Join(rec.Errors, "\n"))
		}
	}
	// The target itself cannot be made: the same kind.
	cliCode(t, 1, "-r", repoDir, "restore", "latest", "--target", filepath.Join(dir, "r"))
	if rec := lastRecord(t); rec.Result != runlog.Failed || rec.Failure != runlog.KindTargetNotWritable {
		t.Errorf("--target below a read-only mount: record %s, %s", rec.Result, rec.Failure)
	}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		if s := runlog.KindLabel(l, runlog.KindTargetNotWritable); strings.HasPrefix(s, i18n.Missing) || s == string(runlog.KindOther) {
			t.Errorf("%v: label %q", l, s)
		}
	}
}
