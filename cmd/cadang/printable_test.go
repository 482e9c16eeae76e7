package main

import (
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
	if !strings.Contains(res.stdout, `h\x1b[2J`) {
		t.Errorf("the host is not shown escaped:\n%s", res.stdout)
	}
	if res := cliOK(t, "-r", r, "--json", "snapshots"); !strings.Contains(res.stdout, `h\u001b[2J`) {
		t.Errorf("--json: %s", res.stdout)
	}
}
