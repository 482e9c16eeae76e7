package main

import (
	"io"
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
	} {
		if got := quoteName(c.in); got != c.want {
			t.Errorf("quoteName(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
