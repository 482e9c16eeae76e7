package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSOPScheduleInstall (issue 15): 'job schedule install' writes a
// service and a Persistent, randomly delayed timer per job that systemd
// accepts; 'job schedule status' says when each runs next even where
// systemd is not running.
func TestSOPScheduleInstall(t *testing.T) {
	h := newSOPHarness(t)
	dir := t.TempDir()
	out := h.must(0, "job", "schedule", "install", "--dir", dir, "--at", "01:30", "spse-db")
	svc := filepath.Join(dir, "cadang-backup-spse-db.service")
	tmr := filepath.Join(dir, "cadang-backup-spse-db.timer")
	if !strings.Contains(out, "wrote "+svc) || !strings.Contains(out, "systemctl enable --now cadang-backup-spse-db.timer") {
		t.Fatalf("install output:\n%s", out)
	}
	s, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s), "--config "+h.cfg+" run spse-db") {
		t.Errorf("the service does not run the job with this configuration:\n%s", s)
	}
	tm, err := os.ReadFile(tmr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tm), "OnCalendar=*-*-* 01:30:00") || !strings.Contains(string(tm), "Persistent=true") {
		t.Errorf("timer:\n%s", tm)
	}
	if _, err := os.Stat(filepath.Join(dir, "cadang-backup-arsip.timer")); err == nil {
		t.Error("a job not named got units")
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := exec.Command(sa, "verify", tmr, svc).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze is not installed: the units were not checked by systemd")
	}
	if _, errs, code := h.cad("job", "schedule", "install", "--dir", dir, "nope"); code == 0 || !strings.Contains(errs, "nope") {
		t.Errorf("install of an unknown job: exit %d: %s", code, errs)
	}
	st := h.must(0, "job", "schedule", "status", "spse-db")
	if !strings.Contains(st, "spse-db") || !strings.Contains(st, "next") && !strings.Contains(st, "NEXT") {
		t.Errorf("schedule status:\n%s", st)
	}
}
