package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// addJob appends a second job, spse-config, that backs up to the same
// disk-A with the same password file as spse-db (as the two jobs of a
// README walk did), and returns the line of its password_file key.
func (h *sopHarness) addJob(t *testing.T) int {
	t.Helper()
	cfg := mustRead(t, h.cfg)
	id := cfgValue(t, cfg, "repository_id")
	cfg += fmt.Sprintf(`
[[job]]
name = "spse-config"
info_class = 6
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "config"
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
`, h.extra, h.repoA, id, h.pw)
	writeFileT(t, h.cfg, []byte(cfg), 0o600)
	return strings.Count(cfg[:strings.LastIndex(cfg, "password_file")], "\n") + 1
}

// cfgValue is the first string value of key in a configuration's text.
func cfgValue(t *testing.T, cfg, key string) string {
	t.Helper()
	for _, l := range strings.Split(cfg, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatalf("no %s in the configuration", key)
	return ""
}

// A wrong password in a password file two jobs share names the key and
// line of the job that ran, not of the first job naming that file (a
// README walk: spse-config's failure pointed at spse-prod's line 55).
func TestRunWrongPasswordNamesTheJobsKey(t *testing.T) {
	h := newSOPHarness(t)
	line := h.addJob(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-config")
	if err := os.WriteFile(h.pw, []byte("salah\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := h.cad("run", "spse-config")
	if code != exitWrongPassword {
		t.Fatalf("run with a wrong password: exit %d\n%s", code, errs)
	}
	want := fmt.Sprintf("%s:%d key job[1].medium[0].password_file", h.cfg, line)
	if !strings.Contains(errs, want) {
		t.Errorf("run's error lacks %q:\n%s", want, errs)
	}
	r := h.last()
	if r.Job != "spse-config" || r.Failure != runlog.KindWrongPassword || !strings.Contains(r.Message, want) {
		t.Errorf("its record does not name %q: %+v", want, r)
	}
	if strings.Contains(errs+r.Message, "job[0]") {
		t.Errorf("spse-config's failure names job[0]'s key:\n%s\n%s", errs, r.Message)
	}
}
