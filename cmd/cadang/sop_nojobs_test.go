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
