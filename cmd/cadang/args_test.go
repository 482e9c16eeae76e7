package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"cadang restore latest --target /t --verify", "cadang restore --target /t --verify latest"},
		{"cadang -r /r restore latest:/etc -t /t", "cadang -r /r restore -t /t latest:/etc"},
		{"cadang backup /srv --json --tag a", "cadang --json backup --tag a /srv"},
		{"cadang backup --stdin-from-command --stdin-filename x.dump -- pg_dump -Fc --verbose db", "cadang backup --stdin-from-command --stdin-filename x.dump -- pg_dump -Fc --verbose db"},
		{"cadang key add --new-password-file f", "cadang key add --new-password-file f"},
		{"cadang check --read-data-subset=5%", "cadang check --read-data-subset=5%"},
		{"cadang nosuch a --b", "cadang nosuch a --b"},
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// ls writes a name as it is unless it could be read as another name: a
// name with control characters, one that would read as holding an escape,
// and one that begins with a quote are quoted, so that a quoted name is
// never one that was written as it is.
func TestQuoteName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/srv/spse/dok.pdf", "/srv/spse/dok.pdf"},
		{"/srv/a\nb", `"/srv/a\nb"`},
		{`/srv/a\u000ab`, `"/srv/a\\u000ab"`},
		{`"/srv/a\nb"`, `"\"/srv/a\\nb\""`},
		{"/srv/file\u202egpj.exe", `"/srv/file\u202egpj.exe"`},
		{"/srv/bad\x9b", `"/srv/bad\x9b"`},
		{`C:\Users`, `C:\Users`},
		{`C:\xampp\htdocs`, `C:\xampp\htdocs`},
		{"/srv/p -> q", `"/srv/p -> q"`},
		{"/srv/\ufffd.txt", "\"/srv/\ufffd.txt\""}, // quoted, as invalid bytes are
	} {
		if got := quoteName(c.in); got != c.want {
			t.Errorf("quoteName(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// A name with a newline inside an error (here the repository path) cannot
// start a line that reads as cadang's own: the error's further lines are
// indented.
func TestErrorLinesIndented(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", "pw")
	res := cliRun(t, nil, "-r", filepath.Join(t.TempDir(), "x\nhint: all backups are fine"), "snapshots")
	if res.code == 0 || strings.Contains("\n"+res.stderr, "\nhint: all backups are fine") ||
		!strings.Contains(res.stderr, "x\n  hint: all backups are fine") {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
}
