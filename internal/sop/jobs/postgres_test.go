package jobs

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestPostgresSourceKeys: a source may name PostgreSQL databases
// (databases = ["all"] or a list) for cadang to dump itself, and a job may
// carry [[job.check]] queries for its restore tests (issue 15). Both are
// checked when the configuration loads, naming the key.
func TestPostgresSourceKeys(t *testing.T) {
	base, _ := os.ReadFile(example)
	const anchor = "  [[job.source]]\n  name = \"upload\""
	with := func(extra string) string {
		s := strings.Replace(string(base), anchor, extra+"\n"+anchor, 1)
		if s == string(base) {
			t.Fatal("replacement did not apply")
		}
		return s
	}
	cfg, err := Load(writeConf(t, with(`  [[job.source]]
  databases = ["all"]
  pg_host = "127.0.0.1"
  pg_port = 5433
  pg_bin = "/usr/lib/postgresql/15/bin"
  restore_into = "throwaway"

  [[job.check]]
  database = "epns_prod"
  query = "SELECT count(*) FROM tender"
  compare = "source"

  [[job.check]]
  database = "epns_prod"
  query = "SELECT 1"
  expect = "1"
`)))
	if err != nil {
		t.Fatal(err)
	}
	j := &cfg.Jobs[0]
	s := j.Sources[1]
	if s.Name != "postgresql" || !s.IsDump() || !s.IsPostgres() || s.PGPort != 5433 || s.RestoreInto != RestoreIntoThrowaway {
		t.Errorf("databases source: %+v", s)
	}
	// The existing pg_dump command source is a PostgreSQL source too: its
	// restore test loads the dump.
	if !j.Sources[0].IsPostgres() || j.Sources[2].IsPostgres() {
		t.Errorf("IsPostgres: command %v, paths %v", j.Sources[0].IsPostgres(), j.Sources[2].IsPostgres())
	}
	if got := j.ChecksFor("epns_prod", 2); len(got) != 2 || *got[1].Expect != "1" {
		t.Errorf("checks for epns_prod: %+v", got)
	}
	if got := j.ChecksFor("helpdesk", 2); len(got) != 0 {
		t.Errorf("checks for helpdesk: %+v", got)
	}

	for _, bad := range []struct{ extra, key, msg string }{
		{"  [[job.source]]\n  databases = [\"all\", \"x\"]", "source[1].databases", "alone"},
		{"  [[job.source]]\n  databases = [\"a/b\"]", "source[1].databases", "file"},
		{"  [[job.source]]\n  databases = [\"x\"]\n  filename = \"x.dump\"", "source[1].filename", "no filename"},
		{"  [[job.source]]\n  databases = [\"x\"]\n  command = [\"pg_dump\"]", "source[1].databases", "either"},
		{"  [[job.source]]\n  databases = [\"x\"]\n  restore_into = \"elsewhere\"", "source[1].restore_into", "server, throwaway or none"},
		{"  [[job.source]]\n  name = \"docs\"\n  paths = [\"/srv\"]\n  pg_host = \"db\"", "source[1].restore_into", "database sources"},
		{"  [[job.check]]\n  query = \"SELECT 1\"", "check[0].expect", "missing"},
		{"  [[job.check]]\n  query = \"SELECT 1\"\n  expect = \"1\"\n  compare = \"source\"", "check[0].compare", "not both"},
		{"  [[job.check]]\n  query = \"SELECT 1\"\n  compare = \"source\"", "check[0].compare", "databases source"},
		{"  [[job.check]]\n  query = \"SELECT 1\"\n  compare = \"yesterday\"", "check[0].compare", "only comparison"},
		{"  [[job.source]]\n  databases = [\"a\", \"b\"]\n\n  [[job.check]]\n  query = \"SELECT 1\"\n  expect = \"1\"", "check[0].database", "several"},
		{"  [[job.source]]\n  databases = [\"a\", \"b\"]\n\n  [[job.check]]\n  database = \"c\"\n  query = \"SELECT 1\"\n  expect = \"1\"", "check[0].database", "not one of"},
	} {
		_, err := Load(writeConf(t, with(bad.extra)))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "job[0]."+bad.key) || !strings.Contains(ce.Msg, bad.msg) {
			t.Errorf("%q: %v, want an error naming job[0].%s (%q)", bad.extra, err, bad.key, bad.msg)
		}
	}
	// A job without a PostgreSQL source has nothing to check.
	srv := strings.Replace(string(base), "schedule = \"weekly\"", "schedule = \"weekly\"\n\n  [[job.check]]\n  query = \"SELECT 1\"\n  expect = \"1\"", 1)
	if _, err := Load(writeConf(t, srv)); err == nil || !strings.Contains(err.Error(), "no PostgreSQL source") {
		t.Errorf("check on a job without a database: %v", err)
	}
}
