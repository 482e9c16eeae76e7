package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/testexec"
)

// TestSOPInvalidConfigIsAnError (issue 15): with a configuration that did
// not load, 'log verify' checked the default run log and called it intact.
// Every SOP command now fails and names the file; the engine commands
// (backup) go on with a warning, as their work does not need it.
func TestSOPInvalidConfigIsAnError(t *testing.T) {
	repoDir := cliNewRepo(t)
	cfg := filepath.Join(t.TempDir(), "cadang.toml")
	writeFileT(t, cfg, []byte("[organization\nname = \"broken\n"), 0o600)
	for _, args := range [][]string{{"log", "verify"}, {"log"}, {"job", "list"}, {"report", "monthly", "--month", "2026-11"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"cadang", "--config", cfg}, args...), strings.NewReader(""), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), cfg) {
			t.Errorf("cadang %s with a broken configuration: exit %d, want an error naming %s\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), code, cfg, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"cadang", "--config", cfg, "status"}, strings.NewReader(""), &out, &errb); code != 3 {
		t.Errorf("status with a broken configuration: exit %d, want 3 (unknown)\n%s", code, errb.String())
	}
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)
	res := cliRun(t, nil, "--config", cfg, "-r", repoDir, "backup", src)
	if res.code != 0 || !strings.Contains(res.stderr, "ignoring the SOP configuration") {
		t.Errorf("backup with a broken configuration: want exit 0 with a warning:\n%s", res)
	}
}

// TestSOPStatusUnreadableLog (issue 15): a monitoring user who could not
// read the run log got an empty fallback log and CRITICAL "never backed
// up". It is UNKNOWN (exit 3) and says why. The check runs cadang as the
// user nobody, so it needs root.
func TestSOPStatusUnreadableLog(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run cadang as another user")
	}
	pub, bin := testexec.PublicCopy(t, "cadang.test")
	logFile := filepath.Join(pub, "runlog.jsonl")
	writeFileT(t, logFile, []byte(`{"record":{"op":"backup"}}`+"\n"), 0o600) // root's, unreadable to nobody
	cfg := filepath.Join(pub, "cadang.toml")
	writeFileT(t, cfg, []byte("[log]\npath = \""+logFile+"\"\n[[job]]\nname = \"spse\"\ninfo_class = 1\nclassification = \"rahasia\"\n[[job.source]]\nname = \"upload\"\npaths = [\"/srv\"]\n[[job.medium]]\nname = \"disk\"\nrepository = \"/mnt/x\"\nrepository_id = \""+strings.Repeat("ab", 32)+"\"\npassword_file = \"/etc/pw\"\n"), 0o644)

	cmd := exec.Command(bin, "--config", cfg, "status")
	cmd.Env = append(os.Environ(), "CADANG_TEST_AS_CLI=1", "HOME="+pub, "XDG_STATE_HOME="+pub, envLog+"=")
	testexec.AsNobody(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 3 || !strings.Contains(out.String(), "cannot be read") || strings.Contains(out.String(), "CRITICAL") {
		t.Fatalf("status as a user who cannot read the run log: exit %d (%v), want 3 and why:\n%s", code, err, out.String())
	}
}

// TestSOPOutputInOneLanguage (issue 15): 'cadang run' printed "... ok in
// 1.674s / 1 snapshot tersimpan". Terminal output is English unless --lang
// or CADANG_LANG says otherwise, and then wholly in that language.
func TestSOPOutputInOneLanguage(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	en := h.must(0, "run", "spse-db")
	if !strings.Contains(en, "snapshot(s) saved") || strings.Contains(en, "tersimpan") {
		t.Errorf("run without --lang is not English only:\n%s", en)
	}
	h.at("2026-11-28T02:00:00+08:00")
	id := h.must(0, "--lang", "id", "run", "spse-db")
	if !strings.Contains(id, "snapshot tersimpan") || strings.Contains(id, "saved") ||
		!strings.Contains(id, "job spse-db di ") || !strings.Contains(id, ": Berhasil dalam ") || strings.Contains(id, " of spse-db on ") {
		t.Errorf("run --lang id is not Indonesian:\n%s", id)
	}
	// The tags cadang gives its own runs are not the user's to add.
	for _, tag := range []string{"manual", "before-change", "offsite", "job:x", "source:y"} {
		if _, errs, code := h.cad("run", "spse-db", "--tag", tag); code != 1 || !strings.Contains(errs, "--tag "+tag+": cadang sets this tag itself") {
			t.Errorf("run --tag %s: exit %d\n%s", tag, code, errs)
		}
	}
	t.Setenv("CADANG_LANG", "id")
	h.at("2026-11-28T03:00:00+08:00")
	if out := h.must(0, "log"); !strings.Contains(out, "Hasil") {
		t.Errorf("log with CADANG_LANG=id is not Indonesian:\n%s", out)
	}
}

// 'restore latest' of a job's medium names each source's latest, but only
// of the sources the configuration has: a renamed source's old snapshots
// (which the job's retention leaves alone) do not make it ask for good,
// and a subpath takes the newest snapshot that holds it.
func TestSOPRestoreLatestConfiguredSources(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	b, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.cfg, []byte(strings.Replace(string(b), `name = "upload"`, `name = "uploads"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-28T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	_, errs, code := h.cad("-r", h.repoA, "--password-file", h.pw, "restore", "latest", "--target", filepath.Join(h.dir, "t1"))
	if code != 1 || !strings.Contains(errs, "is one of 2") || !strings.Contains(errs, "uploads: ") || strings.Contains(errs, "upload: ") {
		t.Errorf("restore latest after a source was renamed: exit %d\n%s", code, errs)
	}
	target := filepath.Join(h.dir, "t2")
	h.must(0, "-r", h.repoA, "--password-file", h.pw, "-q", "restore", "latest:"+filepath.Join(h.src, "dokumen"), "--target", target)
	if _, err := os.Stat(filepath.Join(target, "kontrak.txt")); err != nil {
		t.Errorf("the subpath was not restored: %v", err)
	}
}

// A restore with --overwrite if-changed --verify recorded "verified, all"
// (and the minutes said so) while a file it kept, changed with its size and
// time put back, was still on the server (README walk). Kept files are now
// read back with --verify, a changed one is written anew, and the record
// counts the kept files it verified; without --verify, they are counted as
// kept, neither written nor verified.
func TestSOPRestoreIfChangedVerifyRecord(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	target := filepath.Join(h.dir, "t")
	restore := func(extra ...string) runlog.Record {
		t.Helper()
		args := append([]string{"-r", h.repoA, "--password-file", h.pw, "-q", "restore", "latest:" + h.src, "--target", target}, extra...)
		h.must(0, args...)
		return h.last()
	}
	restore()
	p := filepath.Join(target, "dokumen", "spek.txt")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte("X"), int(fi.Size())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	rec := restore("--overwrite", "if-changed")
	if r := rec.Restore; r == nil || r.VerifyKind != runlog.VerifyBlobs || r.FilesKept != 3 {
		t.Errorf("if-changed: %+v", rec.Restore)
	}
	rec = restore("--overwrite", "if-changed", "--verify")
	if r := rec.Restore; r == nil || r.VerifyKind != runlog.VerifyAll || !r.Verified || r.FilesVerified != 1 || r.FilesKeptVerified != 2 || r.FilesKept != 0 {
		t.Errorf("if-changed --verify: %+v", rec.Restore)
	}
	if b, _ := os.ReadFile(p); string(b) != "spesifikasi teknis\n" {
		t.Errorf("the changed file was kept: %q", b)
	}
	// The minutes say that the target changed: the file found changed was
	// replaced (README walk: the CLI said so, the minutes did not).
	if r := rec.Restore; r.Replaced != 1 || r.OwnersNotRestored != (os.Geteuid() != 0) {
		t.Errorf("if-changed --verify: replaced %d, owners not restored %v", r.Replaced, r.OwnersNotRestored)
	}
	if en := h.must(0, "--lang", "en", "report", "restore", "latest"); !strings.Contains(en, "1 existing entry of the target was replaced by the snapshot's.") {
		t.Errorf("minutes do not say the changed file was replaced:\n%s", en)
	}
	rec = restore("--overwrite", "if-changed", "--no-owner")
	if r := rec.Restore; !r.OwnersNotRestored {
		t.Errorf("--no-owner not recorded: %+v", r)
	}
	if id := h.must(0, "report", "restore", "latest"); !strings.Contains(id, "Pemilik berkas tidak di-restore (tidak dijalankan sebagai root, atau --no-owner)") {
		t.Errorf("minutes (id) do not say owners were not restored:\n%s", id)
	}
	rec = restore("--overwrite", "never", "--verify")
	if r := rec.Restore; r == nil || r.VerifyKind != runlog.VerifySome || r.Verified || r.FilesKept != 3 {
		t.Errorf("never --verify: %+v", rec.Restore)
	}
}

// A restore whose only problem was an entry it could not make (here a
// symlink's name taken by a directory) recorded the generic "partial"
// note, and its minutes said "0 could not be restored" above the error
// naming that entry. The record now counts the entries the errors name
// apart from the failed files, and the note and the minutes say so. A
// file that a directory keeps from its place is a file not restored
// (README walk: it was counted as neither), in the record's files_failed,
// its note and the minutes.
func TestSOPRestoreProblemsRecorded(t *testing.T) {
	h := newSOPHarness(t)
	if err := os.Symlink("dokumen/spek.txt", filepath.Join(h.src, "link")); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	restore := func(blocked string, failed, items int64, note string) runlog.Record {
		t.Helper()
		target := filepath.Join(h.dir, "t-"+filepath.Base(blocked))
		if err := os.MkdirAll(filepath.Join(target, blocked, "in-the-way"), 0o755); err != nil {
			t.Fatal(err)
		}
		h.must(3, "-r", h.repoA, "--password-file", h.pw, "-q", "restore", "latest:"+h.src, "--target", target, "--overwrite", "always", "--verify")
		rec := h.last()
		// Nothing in the repository is damaged: no integrity failure
		// for the monthly analysis to count, but a failure all the same.
		if r := rec.Restore; r == nil || r.ItemsWithErrors != items || r.FilesFailed != failed || rec.Note == nil || rec.Note.Code != note ||
			rec.Failure != runlog.KindOther {
			t.Fatalf("%s blocked: failure %q, note %+v, restore %+v", blocked, rec.Failure, rec.Note, rec.Restore)
		}
		return rec
	}
	// A file that a directory keeps from its place is missing: the files
	// written were read back, but the restore is not "verified, all".
	rec := restore(filepath.Join("dokumen", "spek.txt"), 1, 0, "restored-partial")
	if r := rec.Restore; r.Verified || r.VerifyKind != runlog.VerifySome {
		t.Errorf("a file missing, yet verified: %+v", r)
	}
	en := h.must(0, "--lang", "en", "report", "restore", "latest")
	for _, want := range []string{"NOT verified", "1 file could not be restored", "a directory is in the way"} {
		if !strings.Contains(en, want) {
			t.Errorf("minutes: no %q in\n%s", want, en)
		}
	}
	if strings.Contains(en, "had problems") {
		t.Errorf("minutes say an entry had problems where a file was not restored:\n%s", en)
	}
	// Only a symlink kept from its place: an entry with problems.
	rec = restore("link", 0, 1, "restored-problems")
	en = h.must(0, "--lang", "en", "report", "restore", "latest")
	for _, want := range []string{"1 entry had problems (see the error messages)", "; 1 entry had problems"} {
		if !strings.Contains(en, want) {
			t.Errorf("minutes: no %q in\n%s", want, en)
		}
	}
	if strings.Contains(en, "could not be restored") {
		t.Errorf("minutes say files could not be restored where none failed:\n%s", en)
	}
	if id := h.must(0, "report", "restore", "latest"); !strings.Contains(id, "1 entri bermasalah (lihat pesan kesalahan)") {
		t.Errorf("minutes (id):\n%s", id)
	}
	// Where only a symlink is kept from its place, every file is there
	// and was read back: verified, with the symlink counted apart (the
	// minutes said "NOT verified" beside "2 of 2 files verified").
	if r := rec.Restore; !r.Verified || r.VerifyKind != runlog.VerifyAll || r.FilesVerified != rec.FilesRead {
		t.Errorf("only a symlink blocked: %+v (files read %d)", r, rec.FilesRead)
	}
	en = h.must(0, "--lang", "en", "report", "restore", "latest")
	if !strings.Contains(en, "all match") || strings.Contains(en, "NOT verified") {
		t.Errorf("minutes:\n%s", en)
	}
}
