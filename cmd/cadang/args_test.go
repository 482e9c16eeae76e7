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
