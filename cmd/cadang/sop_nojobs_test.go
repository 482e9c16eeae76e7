package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The second host of an append-only setup runs no job: its configuration
// has [organization], [log] path and trust_keys, and no [[job]]. It was
// refused whole ("no [[job]] defined"), so its trust_keys were never read
// and the other host's records stayed unknown-key; only the commands that
// need a job may say there is none.
func TestSOPConfigWithoutJobsTrustsKeys(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20)
	var a struct {
		Fingerprint string `json:"fingerprint"`
	}
	oneLine(t, "log key", h.must(0, "--json", "log", "key"), &a)

	hostB := t.TempDir()
	cfgB := filepath.Join(hostB, "cadang.toml")
	write := func(trust string) {
		writeFileT(t, cfgB, []byte(fmt.Sprintf("[organization]\ntimezone = \"Asia/Makassar\"\n[log]\npath = %q\n%s",
			filepath.Join(hostB, "runlog.jsonl"), trust)), 0o600)
	}
	write(fmt.Sprintf("trust_keys = [%q]\n", a.Fingerprint))
	b := func(args ...string) cliResult {
		return cliRun(t, nil, append([]string{"--config", cfgB, "-r", h.repoA, "--password-file", h.pw}, args...)...)
	}
	t.Setenv(envNow, "2026-11-21T03:00:00+08:00")
	if res := b("forget", "--keep-last", "5"); res.code != 0 {
		t.Fatalf("forget on the host without jobs:\n%s", res)
	}
	if res := b("log", "verify"); res.code != 0 || strings.Contains(res.stdout, "unknown-key") {
		t.Errorf("log verify on the host without jobs, trusting the other's key in [log] trust_keys:\n%s", res)
	}
	// Without the key it is unknown: the configuration is what trusted it.
	write("")
	if res := b("log", "verify"); res.code != 1 || !strings.Contains(res.stdout, "unknown-key") {
		t.Errorf("log verify without trust_keys:\n%s", res)
	}
	// The commands that need a job say there is none, naming the file.
	for _, args := range [][]string{{"job", "list"}, {"run", "spse-db"}} {
		if res := b(args...); res.code == 0 || !strings.Contains(res.stderr, cfgB+": key job: no [[job]] defined") {
			t.Errorf("%s on the host without jobs:\n%s", args, res)
		}
	}
	// status without -r has no job to report on: unknown (3), as without
	// a configuration.
	if res := cliRun(t, nil, "--config", cfgB, "status"); res.code != 3 || !strings.Contains(res.stderr, "no [[job]] defined; without one, give -r REPOSITORY") {
		t.Errorf("status on the host without jobs:\n%s", res)
	}
}

// TestSOPReportsWithoutJobs: the documents that come from the run log
// (the execution log, a failure's analysis, a restore test's report, the
// monthly analysis) need no job, and were refused on a host whose
// configuration has no [[job]] ("no [[job]] defined"), and without any
// configuration. They are made from either; only the inventory, a list
// of the configured jobs, refuses, naming the file. The monthly analysis
// says there is no schedule to count against rather than showing empty
// tables, which would read as a month with nothing missed.
func TestSOPReportsWithoutJobs(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20)
	writeFileT(t, h.fail, nil, 0o600) // the dump fails: a failure to analyse
	h.at("2026-11-21T02:00:00+08:00")
	h.cad("run", "spse-db")
	h.must(0, "restore-test", "--job", "spse-db", "--sample", "2")
	failed := ""
	for _, r := range h.records() {
		if r.Result != "ok" && failed == "" {
			failed = r.ID
		}
	}
	if failed == "" {
		t.Fatal("no failed run recorded")
	}

	cfgB := filepath.Join(t.TempDir(), "cadang.toml")
	writeFileT(t, cfgB, []byte(fmt.Sprintf("[organization]\ntimezone = \"Asia/Makassar\"\n[log]\npath = %q\n", h.log)), 0o600)
	docs := []struct {
		args []string
		want string
	}{
		{[]string{"report", "runlog"}, "Backup Execution Log"},
		{[]string{"report", "failure", failed}, failed},
		{[]string{"report", "failure", "latest"}, "Backup Failure Analysis Report"},
		{[]string{"report", "restore-test", "latest"}, "Restore Test Report"},
		{[]string{"report", "monthly", "--month", "2026-11"}, "No job is configured ([[job]]), so no scheduled backup is expected"},
	}
	for _, with := range []struct {
		name string
		pre  []string
	}{{"a configuration without [[job]]", []string{"--config", cfgB}}, {"no configuration", []string{"--log-file", h.log}}} {
		for _, d := range docs {
			res := cliRun(t, nil, append(append(append([]string{}, with.pre...), "--lang", "en"), d.args...)...)
			text := strings.ReplaceAll(res.stdout, `\`, "")
			if res.code != 0 || !strings.Contains(text, d.want) {
				t.Errorf("%s with %s: exit %d, want %q:\n%s", d.args, with.name, res.code, d.want, res)
			}
		}
	}
	if res := cliRun(t, nil, "--config", cfgB, "report", "inventory"); res.code == 0 || !strings.Contains(res.stderr, cfgB+": key job: no [[job]] defined") {
		t.Errorf("report inventory on the host without jobs should refuse, naming the file:\n%s", res)
	}
}
