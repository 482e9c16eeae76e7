package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRestoreTestLanguage: what restore-test prints is terminal output,
// in English unless --lang or CADANG_LANG says otherwise, as run, status
// and log print; the report it writes with --output is a document, in
// Bahasa Indonesia unless --lang en, as every document. The README said
// the first, the help the second, and the command printed Indonesian.
func TestCLIRestoreTestLanguage(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	const id, en = "Laporan Hasil Pengujian Restore", "Restore Test Report"

	out, errs, code := h.cad("restore-test", "--job", "spse-db", "--sample", "2")
	if code != 0 || !strings.Contains(out, en) || strings.Contains(out, id) || !strings.Contains(errs, "restore test ") {
		t.Errorf("restore-test on the terminal: exit %d, want English:\n%s\n%s", code, out, errs)
	}
	if out := h.must(0, "restore-test", "--job", "spse-db", "--sample", "2", "--lang", "id"); !strings.Contains(out, id) {
		t.Errorf("restore-test --lang id, want Indonesian:\n%s", out)
	}
	t.Setenv("CADANG_LANG", "id")
	if out := h.must(0, "restore-test", "--job", "spse-db", "--sample", "2"); !strings.Contains(out, id) {
		t.Errorf("restore-test with CADANG_LANG=id, want Indonesian:\n%s", out)
	}
	t.Setenv("CADANG_LANG", "")

	// The document written to a file is in the documents' language.
	for _, c := range []struct {
		args []string
		want string
	}{{nil, id}, {[]string{"--lang", "en"}, en}} {
		file := filepath.Join(t.TempDir(), "uji-restore.md")
		h.must(0, append([]string{"restore-test", "--job", "spse-db", "--sample", "2", "--output", file}, c.args...)...)
		if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), c.want) {
			t.Errorf("restore-test --output %v: want %q: %v\n%s", c.args, c.want, err, b)
		}
	}

	// The help says the same.
	help := h.must(0, "help", "restore-test")
	for _, want := range []string{"printed on the terminal in English unless --lang id", "Bahasa Indonesia unless --lang en"} {
		if !strings.Contains(strings.Join(strings.Fields(help), " "), want) {
			t.Errorf("help restore-test lacks %q:\n%s", want, help)
		}
	}
}

// TestCLIWroteLineLanguage: the line that names the file a document, its
// signature or a systemd unit was written to is terminal output like every
// other line of the SOP commands: Indonesian under --lang id, English
// without it. It was English always, in the middle of Indonesian lines.
func TestCLIWroteLineLanguage(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	file := filepath.Join(t.TempDir(), "log.md")

	_, errs, code := h.cad("report", "runlog", "--output", file, "--sign", "--lang", "id")
	want := []string{"berkas " + file + " ditulis\n", "berkas " + file + ".sig ditulis (kunci "}
	for _, w := range want {
		if code != 0 || !strings.Contains(errs, w) || strings.Contains(errs, "wrote") {
			t.Errorf("report runlog --output --sign --lang id: exit %d, want %q and no English:\n%s", code, w, errs)
		}
	}
	if _, errs, code := h.cad("report", "runlog", "--output", file); code != 0 || !strings.Contains(errs, "wrote "+file+"\n") {
		t.Errorf("report runlog --output without --lang: exit %d, want English:\n%s", code, errs)
	}

	dir := t.TempDir()
	out := h.must(0, "job", "schedule", "install", "--dir", dir, "--lang", "id", "spse-db")
	unit := filepath.Join(dir, "cadang-backup-spse-db.timer")
	if !strings.Contains(out, "berkas "+unit+" ditulis\n") || !strings.Contains(out, "untuk menjalankannya: systemctl") ||
		strings.Contains(out, "wrote") || strings.Contains(out, "to start them") {
		t.Errorf("job schedule install --lang id, want Indonesian lines:\n%s", out)
	}
}
