package main

// `cadang run` onto a medium that is read-only or missing: the record's
// failure kind, the failure report's advice, and the plain command's hint.

import (
	"os"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// `cadang run` onto a read-only medium: the same kind and hint as the
// plain backup, and the failure report and the monthly analysis name the
// kind, the report with what to do, in both languages.
func TestReadOnlyMediumRun(t *testing.T) {
	h := readOnlyHarness(t)
	hint := readOnlyHint(h)
	_, errs, code := h.cad("run", "spse-db")
	if code != exitFatal || !strings.Contains(errs, hint) {
		t.Errorf("run onto a read-only medium: exit %d, want %d with %q\nstderr:\n%s", code, exitFatal, hint, errs)
	}
	r := h.last()
	if r.Op != runlog.OpBackup || r.Failure != kindReadOnly {
		t.Fatalf("run recorded as %s %s (%s), want failure %s", r.Op, r.Result, r.Failure, kindReadOnly)
	}
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"id", []string{"Media backup terpasang hanya-baca", "Pasang ulang dengan akses baca-tulis", "mount -o remount,rw"}},
		{"en", []string{"Medium mounted read-only", "Remount it read-write", "mount -o remount,rw"}},
	} {
		rep := h.must(0, "report", "failure", r.ID, "--lang", c.lang)
		for _, w := range c.want {
			if !strings.Contains(rep, w) {
				t.Errorf("failure report (%s) lacks %q:\n%s", c.lang, w, rep)
			}
		}
		if strings.Contains(rep, "The cause is not one of the known kinds") || strings.Contains(rep, "tidak termasuk jenis yang dikenal") {
			t.Errorf("failure report (%s) calls the cause unknown:\n%s", c.lang, rep)
		}
		md := h.must(0, "report", "monthly", "--month", "2026-12", "--lang", c.lang)
		if !strings.Contains(md, "| "+c.want[0]+" | 1 |") {
			t.Errorf("monthly report (%s) does not count the read-only failure:\n%s", c.lang, md)
		}
	}
}

// The missing medium's hint reaches `cadang run` as it reaches backup.
func TestRunMissingMediumHint(t *testing.T) {
	h := newSOPHarness(t)
	if err := os.Rename(h.repoA, h.repoA+".away"); err != nil {
		t.Fatal(err)
	}
	_, plain, _ := h.cad("backup", "-r", h.repoA, "--password-file", h.pw, h.src)
	i := strings.Index(plain, "hint: ")
	if i < 0 {
		t.Fatalf("backup onto a missing medium gives no hint:\n%s", plain)
	}
	hint := strings.TrimSpace(plain[i:])
	_, errs, code := h.cad("run", "spse-db")
	if code != exitFatal || !strings.Contains(errs, hint) {
		t.Errorf("run onto a missing medium: exit %d, want %d with %q\nstderr:\n%s", code, exitFatal, hint, errs)
	}
}
