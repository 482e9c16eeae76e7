package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// A medium's password file that is missing is a mistake in the
// configuration: `cadang run` fails naming the file, the line and the key,
// and is recorded as a failed run (a scheduled run's failure must reach
// the run log, the failure report and the notification, as before the
// check existed); `cadang job check` finds it without a run.
func TestSOPRunMissingPasswordFile(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	before := len(h.records())

	cfg := mustRead(t, h.cfg)
	nope := filepath.Join(h.dir, "NOPE")
	writeFileT(t, h.cfg, []byte(strings.Replace(cfg, "password_file = \""+h.pw+"\"", "password_file = \""+nope+"\"", 1)), 0o600)
	want := []string{h.cfg + ":", "key job[0].medium[0].password_file", nope, "does not exist"}

	_, errs, code := h.cad("run", "spse-db")
	if code != 1 {
		t.Fatalf("run with a missing password file: exit %d\n%s", code, errs)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("run's error lacks %q:\n%s", w, errs)
		}
	}
	if n := len(h.records()); n != before+1 {
		t.Errorf("a run that could not read its medium's password wrote %d records, want 1", n-before)
	} else if r := h.last(); r.Result != runlog.Failed || r.Failure != runlog.KindOther || !strings.Contains(r.Message, "key job[0].medium[0].password_file") {
		t.Errorf("its record: %+v", r)
	}

	_, errs, code = h.cad("job", "check")
	if code != 1 {
		t.Fatalf("job check: exit %d\n%s", code, errs)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("job check's error lacks %q:\n%s", w, errs)
		}
	}
	// An unreadable file (a directory) is one too; a readable one passes.
	if err := os.Mkdir(nope, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, errs, code = h.cad("job", "check", "spse-db"); code != 1 || !strings.Contains(errs, "key job[0].medium[0].password_file") {
		t.Fatalf("job check with a directory as password file: exit %d\n%s", code, errs)
	}
	writeFileT(t, h.cfg, []byte(cfg), 0o600)
	if out := h.must(0, "job", "check"); !strings.Contains(out, "1 password file(s) read") {
		t.Errorf("job check of a good configuration: %s", out)
	}
	// One that others may read is warned of, as the commands that read
	// it warn (a README walk: job check passed it in silence).
	if err := os.Chmod(h.pw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := h.cad("job", "check"); code != 0 || !strings.Contains(errs, "chmod 600") {
		t.Errorf("job check of a password file others may read: exit %d\n%s", code, errs)
	}
}

// The offsite medium's password file: its absence is said before the
// backup, which still runs; the failed copy names the key.
func TestSOPRunMissingOffsitePasswordFile(t *testing.T) {
	h := newSOPHarness(t)
	nope := filepath.Join(h.dir, "offsite-NOPE.pw")
	cfg := mustRead(t, h.cfg)
	writeFileT(t, h.cfg, []byte(cfg+"  [job.offsite]\n  repository = \""+filepath.Join(h.dir, "offsite")+"\"\n  password_file = \""+nope+"\"\n"), 0o600)
	h.at("2026-11-27T02:00:00+08:00")
	out, errs, code := h.cad("run", "spse-db")
	if code != 3 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	warn := strings.Index(errs, "warning: "+h.cfg)
	if warn < 0 || !strings.Contains(errs[warn:], "key job[0].offsite.password_file: password file "+nope+" does not exist") {
		t.Errorf("no warning naming the offsite's password file before the run:\n%s", errs)
	}
	b, cp := offsiteRuns(t, h)
	if b.Result != runlog.OK || cp.Failure != runlog.KindOffsite || !strings.Contains(cp.Message, "key job[0].offsite.password_file") {
		t.Fatalf("backup %+v\ncopy %+v", b, cp)
	}
}

// A medium without password_file takes the password from the command's
// environment; a scheduled `cadang run` that finds none is a failed run,
// recorded and notified, unlike a plain command called without one
// (TestCLINoPasswordIsNotARun).
func TestSOPRunWithoutPasswordIsRecorded(t *testing.T) {
	h := newSOPHarness(t)
	cfg := mustRead(t, h.cfg)
	writeFileT(t, h.cfg, []byte(strings.Replace(cfg, "  password_file = \""+h.pw+"\"\n", "", 1)), 0o600)
	h.at("2026-11-27T02:00:00+08:00")
	_, errs, code := h.cad("run", "spse-db")
	if code != 1 || !strings.Contains(errs, "no password given") {
		t.Fatalf("run without a password: exit %d\n%s", code, errs)
	}
	r := h.last()
	if r.Op != runlog.OpBackup || r.Result != runlog.Failed || !strings.Contains(r.Message, "no password given") {
		t.Errorf("its record: %+v", r)
	}
	hooked := mustRead(t, h.hookOut)
	if !strings.Contains(hooked, r.ID) {
		t.Errorf("the hook was not told of %s: %s", r.ID, hooked)
	}
}
