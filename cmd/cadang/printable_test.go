package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// A snapshot's host and tags are written by whoever holds the password:
// printed as they were, an escape sequence in them drove the terminal of
// the administrator who listed snapshots. Tables and messages escape them;
// --json and dump give them as they are (JSON escapes them itself).
func TestCLIOutputEscapesControlCharacters(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "f\x1b[31m"), []byte("x"), 0o644)
	cliOK(t, "-r", r, "backup", "--host", "h\x1b[2J", "--tag", "t\x1b]52;c;aGk=\x07", data)
	for _, args := range [][]string{{"snapshots"}, {"ls", "latest"}, {"find", "latest", "f*"}} {
		res := cliOK(t, append([]string{"-r", r}, args...)...)
		if strings.ContainsAny(res.stdout+res.stderr, "\x1b\x07") {
			t.Errorf("%s printed a control character:\n%q", args, res.stdout+res.stderr)
		}
	}
	res := cliOK(t, "-r", r, "snapshots")
	if !strings.Contains(res.stdout, `h\u001b[2J`) {
		t.Errorf("the host is not shown escaped:\n%s", res.stdout)
	}
	if res := cliOK(t, "-r", r, "--json", "snapshots"); !strings.Contains(res.stdout, `h\u001b[2J`) {
		t.Errorf("--json: %s", res.stdout)
	}
}

// One-line fields stay on one line (a newline or form feed in a host or
// reason would forge a row), and --json stays JSON however its strings
// are escaped.
func TestCLIOutputKeepsLinesAndJSON(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "f"), []byte("x"), 0o644)
	cliOK(t, "-r", r, "backup", "--host", "h\nFORGED ROW", "--tag", "del\x7f\u0085x", "--reason", "audit\fFF", data)
	res := cliOK(t, "-r", r, "snapshots")
	if n := strings.Count(res.stdout, "\n"); n != 3 || strings.Contains(res.stdout, "\nFORGED") {
		t.Errorf("snapshots table: %d lines:\n%s", n, res.stdout)
	}
	res = cliOK(t, "-r", r, "--json", "snapshots")
	var sns []snapJSON
	if err := json.Unmarshal([]byte(res.stdout), &sns); err != nil || len(sns) != 1 || sns[0].Hostname != "h\nFORGED ROW" || sns[0].Tags[0] != "del\x7f\u0085x" {
		t.Fatalf("--json snapshots: %v, %+v\n%q", err, sns, res.stdout)
	}
	if strings.ContainsAny(res.stdout, "\x7f\u0085") {
		t.Errorf("--json passed a control character: %q", res.stdout)
	}
}
