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
