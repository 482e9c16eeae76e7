package pgdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/testpg"
)

// fakeBin is a directory whose psql, pg_dump and pg_restore write their
// arguments, one a line, to args and succeed.
func fakeBin(t *testing.T) (bin, args string) {
	bin = t.TempDir()
	args = filepath.Join(bin, "args")
	for _, p := range []string{"psql", "pg_dump", "pg_restore"} {
		script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> " + args + "\n"
		if err := os.WriteFile(filepath.Join(bin, p), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin, args
}

// TestDatabaseNameIsNoConnectionString: a database name goes to libpq's
// programs as the quoted dbname of a connection string, so that a name
// such as "host=evil dbname=postgres" or "postgresql://evil/x" (libpq
// reads either as a connection string) names a database, not a server.
func TestDatabaseNameIsNoConnectionString(t *testing.T) {
	ctx := context.Background()
	bin, args := fakeBin(t)
	c := Conn{Bin: bin}
	dump := filepath.Join(bin, "x.dump")
	os.WriteFile(dump, []byte("PGDMP"), 0o600)
	for _, db := range []string{"host=evil.example dbname=postgres", "postgresql://evil.example/x", `it's\`} {
		os.Remove(args)
		c.Query(ctx, db, "SELECT 1")
		c.Dump(ctx, db, "", dump)
		c.Load(ctx, db, dump)
		b, _ := os.ReadFile(args)
		lines := strings.Split(string(b), "\n")
		n := 0
		for i, l := range lines {
			if l != "-d" {
				continue
			}
			n++
			if got, want := lines[i+1], DBArg(db); got != want {
				t.Errorf("%q: -d %q, want %q", db, got, want)
			}
		}
		if n != 3 {
			t.Errorf("%q: %d -d arguments in %q", db, n, b)
		}
	}
	if got := DBArg(`it's\`); got != `dbname='it\'s\\'` {
		t.Errorf("DBArg %s", got)
	}
}

// TestDumpFile: a database's file name stays in the spool directory, and
// ordinary names keep their files (name.dump).
func TestDumpFile(t *testing.T) {
	for db, want := range map[string]string{
		"epns_prod":       "epns_prod.dump",
		"Helpdesk 2.0":    "Helpdesk 2.0.dump",
		"../../etc/x":     "%2E.%2F..%2Fetc%2Fx.dump",
		"a/b":             "a%2Fb.dump",
		"..":              "%2E..dump",
		".hidden":         "%2Ehidden.dump",
		"100%":            "100%25.dump",
		"line\nbreak":     "line%0Abreak.dump",
		"postgresql://x/": "postgresql:%2F%2Fx%2F.dump",
	} {
		got := DumpFile(db)
		if got != want || strings.Contains(got, "/") || filepath.Base(got) != got {
			t.Errorf("DumpFile(%q) = %q, want %q", db, got, want)
		}
		if back := DumpFileDatabase(got); back != db {
			t.Errorf("DumpFileDatabase(%q) = %q, want %q", got, back, db)
		}
	}
	if got := DumpFileDatabase("old%zz.dump"); got != "old%zz" {
		t.Errorf("undecodable name: %q", got)
	}
}

// TestDatabaseNamesOnServer: databases whose names libpq would read as a
// connection string, or which hold a newline, are listed, queried, dumped
// in a session's snapshot and loaded as themselves.
func TestDatabaseNamesOnServer(t *testing.T) {
	s := testpg.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := Conn{Bin: s.Bin, Host: s.Host, Port: s.Port, User: s.User}
	odd := []string{"dbname=postgres", "postgresql://127.0.0.1/postgres", "a'b\\c", "two\nlines"}
	for _, db := range odd {
		s.Exec(t, "postgres", "CREATE DATABASE "+QuoteIdent(db))
	}
	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, db := range dbs {
		got[db] = true
	}
	for _, db := range odd {
		if !got[db] {
			t.Errorf("database %q not listed in %q", db, dbs)
		}
	}
	dir := t.TempDir()
	for _, db := range odd {
		if cur, err := c.Query(ctx, db, "SELECT current_database()"); err != nil || cur != db {
			t.Errorf("Query on %q ran on %q (%v)", db, cur, err)
		}
		sess, err := c.Begin(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if cur, err := sess.Query("SELECT current_database()"); err != nil || cur != db {
			t.Errorf("session on %q ran on %q (%v)", db, cur, err)
		}
		s.Exec(t, "postgres", "SELECT 1") // keep the session's snapshot in use while dumping
		file := filepath.Join(dir, DumpFile(db))
		if err := c.Dump(ctx, db, sess.Snapshot, file); err != nil {
			t.Fatal(err)
		}
		sess.Close()
		out, err := c.run(ctx, nil, "pg_restore", "--list", file)
		if err != nil || !strings.Contains(out, "dbname: "+strings.SplitN(db, "\n", 2)[0]) {
			t.Errorf("dump of %q: %v\n%s", db, err, out)
		}
		if err := c.Load(ctx, db, file); err != nil {
			t.Errorf("load into %q: %v", db, err)
		}
	}
}
