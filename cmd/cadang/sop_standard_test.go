package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestCLIPartialRestoreStandardMet: a partial restore's record says
// standard_met false (a run that left part of its work undone did not do
// it within the standard, design.md), and its minutes said "met: -", a
// document an auditor holds beside 'cadang log' saying something else.
// The minutes now say No, and why, in both languages.
func TestCLIPartialRestoreStandardMet(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	t.Setenv("CADANG_CONFIG", "")
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a", "f1.pdf"), []byte("pdf"), 0o644)
	writeFileT(t, filepath.Join(src, "a", "f2.pdf"), []byte("pdf2"), 0o644)
	cliBackup(t, repoDir, src)
	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(target, "a", "f1.pdf"), 0o755); err != nil { // in the way
		t.Fatal(err)
	}
	cliCode(t, 3, "-r", repoDir, "restore", "latest:"+src, "--target", target, "--overwrite", "never")
	rec := lastRecord(t)
	if rec.Op != runlog.OpRestore || rec.Result != runlog.Partial || rec.StandardMet || rec.TimeStandard <= 0 {
		t.Fatalf("record: %s %s, standard_met %v, standard %d ms; want a partial restore with a standard, not met", rec.Op, rec.Result, rec.StandardMet, rec.TimeStandard)
	}
	for _, c := range []struct{ lang, want, not string }{
		{"en", "met: No (a partial run: part of its work was not done)", "met: -"},
		{"id", "terpenuhi: Tidak (pelaksanaan sebagian: sebagian pekerjaannya tidak selesai)", "terpenuhi: -"},
	} {
		res := cliOK(t, "--lang", c.lang, "report", "restore", rec.ID)
		text := strings.Join(strings.Fields(res.stdout), " ")
		if !strings.Contains(text, c.want) || strings.Contains(text, c.not) {
			t.Errorf("minutes --lang %s of the partial restore %s (standard_met false): want %q:\n%s", c.lang, rec.ID, c.want, res.stdout)
		}
	}
}
