package pgdb

import (
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/jobs"
)

// TestCommandConn: the server of a pg_dump or pg_dumpall command line, as
// getopt reads it (bundled and attached short options, --opt=value and
// --opt value, the last of each, arguments after the database name); a
// command line it cannot read whole gives nothing rather than a guess.
func TestCommandConn(t *testing.T) {
	cases := []struct {
		cmd        string
		host, user string
		port       int
		ok         bool
	}{
		{"pg_dump -h 127.0.0.1 -p 55432 -U epns -Fc -Z0 epns_prod", "127.0.0.1", "epns", 55432, true},
		{"/usr/lib/postgresql/15/bin/pg_dump --host=db.lpse --port 5433 --username=epns epns_prod", "db.lpse", "epns", 5433, true},
		{"pg_dump -Fc -h127.0.0.1 -p55432 -Uepns epns_prod", "127.0.0.1", "epns", 55432, true},
		{"pg_dump -vh 10.0.0.5 -xOU epns epns_prod", "10.0.0.5", "epns", 0, true},
		{"pg_dump epns_prod -h first -h /var/run/postgresql", "/var/run/postgresql", "", 0, true},
		{"pg_dump -Fc -Z0 epns_prod", "", "", 0, true},
		{"pg_dump -j 4 -Fd --no-synchronized-snapshots -h 10.0.0.5 -f /tmp/d epns_prod", "10.0.0.5", "", 0, true},
		{"pg_dump -Fc -U epns epns_prod", "", "epns", 0, true},
		// PostgreSQL 18's flags
		{"pg_dump -Fc -Z0 --no-statistics --sequence-data --no-policies -h db epns_prod", "db", "", 0, true},
		{"pg_dump --statistics-only --no-data --no-schema --statistics -U epns epns_prod", "", "epns", 0, true},
		{"pg_dumpall --globals-only --no-policies --no-statistics -h db", "db", "", 0, true},
		{"pg_dump --no-statistics=1 -h db epns_prod", "", "", 0, false},
		// -t's argument is a pattern, not an option
		{"pg_dump -t -h -T --port=1 -n=x -h db epns_prod", "db", "", 0, true},
		{"pg_dump -d epns_prod -h db -- -weird-name", "db", "", 0, true}, // the name after -- wins over -d
		{"pg_dump -h db epns_prod helpdesk", "", "", 0, false},           // two: pg_dump refuses it
		{"pg_dump -h db -- epns_prod", "db", "", 0, true},
		{"pg_dumpall --globals-only -h db -p 5433 -l postgres", "db", "", 5433, true},
		{"pg_dumpall -g -h db -d host=other", "", "", 0, false},
		{"pg_dump -h db host=other dbname=epns_prod", "", "", 0, false},
		{"pg_dump -h db postgresql://other:5433/epns_prod", "", "", 0, false},
		{"pg_dump -h db --dbname=postgres://other/epns_prod", "", "", 0, false},
		{"pg_dump -h db --dbname epns_prod", "db", "", 0, true},
		{"pg_dump --ho=db epns_prod", "", "", 0, false},                 // abbreviated
		{"pg_dump --cluster 15/main -h db epns_prod", "", "", 0, false}, // pg_wrapper's, unknown here
		{"pg_dump -K -h db epns_prod", "", "", 0, false},
		{"pg_dump -h db -p 5432,5433 epns_prod", "", "", 0, false},
		{"pg_dump -h db -p", "", "", 0, false},
		{"pg_dump --no-owner=1 -h db epns_prod", "", "", 0, false},
		{"sudo -u postgres pg_dump -h db epns_prod", "", "", 0, false},
		{"sh -c pg_dump", "", "", 0, false},
		{"pg_restore -h db", "", "", 0, false},
	}
	for _, c := range cases {
		host, port, user, ok := CommandConn(strings.Fields(c.cmd))
		if host != c.host || port != c.port || user != c.user || ok != c.ok {
			t.Errorf("%s: %q %d %q %v, want %q %d %q %v", c.cmd, host, port, user, ok, c.host, c.port, c.user, c.ok)
		}
	}
}

// TestFromSourceCommand: the restore test of a dump command's source loads
// the dump into the server the command dumped (README's example, which
// failed on the local socket): pg_host, pg_port and pg_user win where set.
func TestFromSourceCommand(t *testing.T) {
	t.Setenv("PGHOST", "")
	t.Setenv("PGPORT", "")
	src := jobs.Source{Name: "database", Command: []string{"pg_dump", "-h", "127.0.0.1", "-p", "55432", "-U", "epns", "-Fc", "epns_prod"}, Filename: "epns_prod.dump"}
	if c := FromSource(src); c.Host != "127.0.0.1" || c.Port != 55432 || c.User != "epns" || c.String() != "127.0.0.1:55432" {
		t.Errorf("from the command: %+v %s", c, c)
	}
	src.PGHost, src.PGUser = "10.1.2.3", "restore"
	if c := FromSource(src); c.Host != "10.1.2.3" || c.Port != 55432 || c.User != "restore" {
		t.Errorf("pg_host and pg_user set: %+v", c)
	}
	// a databases source takes no command
	db := jobs.Source{Databases: []string{"all"}, Command: src.Command}
	if c := FromSource(db); c.Host != "" || c.Port != 0 || c.User != "" {
		t.Errorf("databases source: %+v", c)
	}
	// a command line it cannot read: libpq's defaults, as before
	src = jobs.Source{Command: []string{"sh", "-c", "pg_dump -h 127.0.0.1 epns_prod | gzip"}}
	if c := FromSource(src); c.Host != "" || c.String() != "local server (libpq defaults)" {
		t.Errorf("a wrapper: %+v %s", c, c)
	}
}
