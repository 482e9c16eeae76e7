package main

// PostgreSQL, for real: a throwaway server (internal/testpg), a database of
// an LPSE-like shape with hundreds of thousands of rows, backed up with
// `cadang backup --stdin-from-command -- pg_dump ...`, restored with
// `cadang dump latest /spse.dump | pg_restore`, and compared table by
// table. A second day with ~1% of the rows changed must add far less than
// the dump's size. Skips (saying why) where PostgreSQL is not installed.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/testpg"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// pgTables are the tables of the test database, each with an integer
// primary key "id".
var pgTables = []string{"penyedia", "paket", "penawaran", "dokumen"}

// pgSchema creates and fills the database: 295,000 rows in all, with text,
// numeric, timestamps, booleans and bytea. Values are deterministic
// functions of the row number, so every run dumps the same bytes.
//
// The updated tables have fillfactor 50, so that an UPDATE writes the new
// row version into the row's own page (a HOT update) and pg_dump, which
// writes rows in physical order, shows the change where the row was. With
// the default fillfactor 100 PostgreSQL puts new row versions into free
// space all over the table (one per page here), every part of the dump
// changes, and no chunking can deduplicate it: measured, day 2 then adds
// ~65-70% of the dump whatever the format. That is PostgreSQL's row
// placement, not cadang's chunking, so this test keeps the rows in place and
// checks that cadang stores only the regions that changed.
const pgSchema = `
CREATE TABLE penyedia (
  id integer PRIMARY KEY, nama text NOT NULL, npwp text NOT NULL, alamat text,
  terdaftar timestamptz NOT NULL, aktif boolean NOT NULL) WITH (fillfactor = 50);
INSERT INTO penyedia
SELECT i, 'CV Penyedia ' || md5(i::text), lpad((i::bigint * 7919 % 1000000000)::text, 15, '0'),
       'Jl. ' || substr(md5((i*3)::text), 1, 12) || ' No. ' || (i % 200) || ', Kota ' || (i % 97),
       timestamptz '2015-01-01 00:00:00+07' + i * interval '17 minutes', i % 11 <> 0
FROM generate_series(1, 20000) i;

CREATE TABLE paket (
  id integer PRIMARY KEY, kode text NOT NULL, nama text NOT NULL, pagu numeric(18,2) NOT NULL,
  hps numeric(18,2) NOT NULL, status text NOT NULL, dibuat timestamptz NOT NULL, diubah timestamp) WITH (fillfactor = 50);
INSERT INTO paket
SELECT i, 'PKT-' || to_char(i, 'FM0000000'),
       'Pengadaan ' || md5((i*5)::text) || ' tahun anggaran ' || (2016 + i % 10),
       (i::bigint * 104729 % 9999999999)::numeric / 100, (i::bigint * 15485863 % 8999999999)::numeric / 100,
       (ARRAY['draft','tayang','evaluasi','selesai','batal'])[1 + i % 5],
       timestamptz '2016-01-01 00:00:00+07' + i * interval '7 minutes 13 seconds',
       timestamp '2016-01-02 00:00:00' + i * interval '7 minutes 29 seconds'
FROM generate_series(1, 60000) i;

CREATE TABLE penawaran (
  id integer PRIMARY KEY, paket_id integer NOT NULL, penyedia_id integer NOT NULL,
  harga numeric(18,2) NOT NULL, dikirim timestamptz NOT NULL, catatan text) WITH (fillfactor = 50);
INSERT INTO penawaran
SELECT i, 1 + i % 60000, 1 + (i * 31) % 20000, (i::bigint * 7727 % 999999999)::numeric / 10,
       timestamptz '2016-02-01 00:00:00+07' + i * interval '2 minutes 3 seconds',
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'catatan ' || md5((i*11)::text) END
FROM generate_series(1, 200000) i;

CREATE TABLE dokumen (
  id integer PRIMARY KEY, paket_id integer NOT NULL, nama_file text NOT NULL,
  isi bytea NOT NULL, diunggah timestamptz NOT NULL);
INSERT INTO dokumen
SELECT i, 1 + i % 60000, 'dok-' || i || '.pdf',
       decode(repeat(md5(i::text) || md5((i+1)::text), 1 + i % 4), 'hex'),
       timestamptz '2016-03-01 00:00:00+07' + i * interval '11 minutes'
FROM generate_series(1, 15000) i;
VACUUM ANALYZE;
`

// pgDay2 changes about 1% of the rows: mostly the newest, a few old ones,
// plus some new rows, as a day of e-procurement does.
const pgDay2 = `
UPDATE paket SET status = 'selesai', diubah = diubah + interval '1 day' WHERE id > 59400 OR id IN (17, 33333);
UPDATE penawaran SET harga = harga + 1, catatan = 'revisi harga' WHERE id > 198000 OR id IN (101, 123456);
UPDATE penyedia SET alamat = alamat || ' (pindah)' WHERE id > 19800 OR id = 4242;
INSERT INTO penawaran SELECT i, 1 + i % 60000, 1 + (i * 31) % 20000, i::numeric / 3,
       timestamptz '2026-11-27 08:00:00+07' + i * interval '1 second', 'baru'
FROM generate_series(200001, 201000) i;
INSERT INTO dokumen SELECT i, 1 + i % 60000, 'dok-' || i || '.pdf', decode(md5(i::text), 'hex'), now()
FROM generate_series(15001, 15200) i;
`

// pgChecksums returns each table's row count and an MD5 of all its rows in
// id order.
func pgChecksums(t testing.TB, s *testpg.Server, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range pgTables {
		out[tbl] = strings.TrimSpace(s.Exec(t, db, fmt.Sprintf(
			"SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM %s t", tbl)))
	}
	return out
}

func TestPostgreSQLBackupRestore(t *testing.T) {
	s := testpg.Start(t)
	start := time.Now()
	repoDir := cliNewRepo(t)
	// The dump command inherits cadang's environment: point it at the test
	// server both ways (flags and PG* variables).
	t.Setenv("PGHOST", s.Host)
	t.Setenv("PGPORT", strconv.Itoa(s.Port))
	t.Setenv("PGUSER", s.User)
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGDATABASE", "")
	pgDump := filepath.Join(s.Bin, "pg_dump")
	conn := []string{"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User}

	s.Exec(t, "postgres", "CREATE DATABASE spse")
	s.Exec(t, "spse", pgSchema)
	want := pgChecksums(t, s, "spse")
	rows := 0
	for _, tbl := range pgTables {
		n, _ := strconv.Atoi(strings.Fields(want[tbl])[0])
		rows += n
	}
	if rows < 250000 {
		t.Fatalf("only %d rows", rows)
	}
	t.Logf("database: %d rows in %d tables, created in %s", rows, len(pgTables), time.Since(start).Round(time.Millisecond))

	// The three ways to dump: custom format (pg_dump's default zlib
	// compression), custom format uncompressed, and plain SQL.
	type format struct {
		file string
		args []string
		size [2]int64 // dump size, day 1 and day 2
		add  [2]float64
	}
	formats := []*format{
		{file: "spse.dump", args: []string{"-Fc"}},
		{file: "spse-z0.dump", args: []string{"-Fc", "-Z0"}},
		{file: "spse.sql", args: []string{"-Fp"}},
	}
	backupAll := func(day int, tag string) {
		t.Helper()
		for _, f := range formats {
			argv := append(append([]string{pgDump}, f.args...), append(append([]string(nil), conn...), "spse")...)
			t0 := time.Now()
			sum := cliBackup(t, repoDir, append([]string{"--tag", tag, "--stdin-from-command", "--stdin-filename", f.file, "--"}, argv...)...)
			f.add[day] = num(t, sum, "data_added")
			f.size[day] = int64(num(t, sum, "total_bytes_processed"))
			if f.size[day] < 1<<20 {
				t.Fatalf("%s: a dump of %d bytes is too small: %v", f.file, f.size[day], sum)
			}
			t.Logf("day %d %-13s pg_dump %-8s %9d bytes, data_added %9.0f (%5.1f%%) in %s", day+1, f.file, strings.Join(f.args, " "),
				f.size[day], f.add[day], 100*f.add[day]/float64(f.size[day]), time.Since(t0).Round(time.Millisecond))
		}
	}
	backupAll(0, "db")
	if sns := cliSnapshots(t, repoDir); len(sns) != len(formats) {
		t.Fatalf("%d snapshots after day 1, want %d", len(sns), len(formats))
	}

	// Restore the custom-format dump into a fresh database through
	// `cadang dump latest /spse.dump | pg_restore`. "latest" is the newest
	// snapshot of any kind, so select the dump's snapshots with --path.
	restoreInto := func(db, file string) {
		t.Helper()
		res := cliOK(t, "-r", repoDir, "dump", "latest", "/"+file, "--path", "/"+file)
		s.Exec(t, "postgres", "CREATE DATABASE "+db)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var cmd = s.Command(ctx, "pg_restore", "--exit-on-error", "--no-owner", "-d", db)
		if strings.HasSuffix(file, ".sql") {
			cmd = s.Command(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db)
		}
		cmd.Stdin = strings.NewReader(res.stdout)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("restoring %s into %s: %v\n%s", file, db, err, out)
		}
		got := pgChecksums(t, s, db)
		for _, tbl := range pgTables {
			if got[tbl] != want[tbl] {
				t.Errorf("%s restored from %s: table %s is %q, want %q", db, file, tbl, got[tbl], want[tbl])
			}
		}
	}

	// Day 2: ~1% of the rows change.
	s.Exec(t, "spse", pgDay2)
	want = pgChecksums(t, s, "spse")
	backupAll(1, "db")

	plain, z0, fc := formats[2], formats[1], formats[0]
	ratio := func(f *format) float64 { return f.add[1] / float64(f.size[1]) }
	t.Logf("day-2 data_added / dump size: -Fp %.1f%%, -Fc -Z0 %.1f%%, -Fc (compressed) %.1f%%",
		100*ratio(plain), 100*ratio(z0), 100*ratio(fc))
	// A change costs the chunk around it (about 1.1 MB on average with the
	// default 256K/512K/4M chunk sizes), so with 5 old rows and 3 table
	// tails changed, this ~32 MB dump stores about 8-10 MB again; a 300 MB
	// dump with the same changes would store about 3%.
	if ratio(plain) > 0.40 {
		t.Errorf("day-2 plain dump added %.0f bytes of %d (%.1f%%); want under 40%%", plain.add[1], plain.size[1], 100*ratio(plain))
	}
	if ratio(z0) > 0.40 {
		t.Errorf("day-2 -Fc -Z0 dump added %.0f bytes of %d (%.1f%%); want under 40%%", z0.add[1], z0.size[1], 100*ratio(z0))
	}
	// pg_dump's own compression (-Fc without -Z0) defeats content-defined
	// chunking: a change early in a compressed block changes all its
	// bytes. Only report it.

	// `cadang dump latest /spse.dump | pg_restore` into a fresh database
	// gives back every table as it was at the day-2 backup.
	restoreInto("spse_restored", "spse.dump")

	// A failing dump (a database that does not exist) writes no snapshot.
	before := len(cliSnapshots(t, repoDir))
	argv := append(append([]string{pgDump, "-Fc"}, conn...), "no_such_database")
	res := cliRun(t, nil, append([]string{"-r", repoDir, "backup", "--stdin-from-command", "--stdin-filename", "spse.dump", "--"}, argv...)...)
	if res.code == 0 {
		t.Fatalf("backup of a failing pg_dump succeeded:\n%s", res)
	}
	if !strings.Contains(res.stderr, "no_such_database") || !strings.Contains(res.stderr, "exited with status 1") {
		t.Errorf("the error should carry pg_dump's exit status and stderr:\n%s", res)
	}
	if after := len(cliSnapshots(t, repoDir)); after != before {
		t.Errorf("a failed pg_dump changed the number of snapshots from %d to %d", before, after)
	}
	// The newest /spse.dump is still the good day-2 dump.
	ls := cliOK(t, "-r", repoDir, "--json", "ls", "latest", "/spse.dump", "--path", "/spse.dump")
	if !strings.Contains(ls.stdout, `"size":`+strconv.FormatInt(fc.size[1], 10)) {
		t.Errorf("latest /spse.dump should be the day-2 dump of %d bytes:\n%s", fc.size[1], ls.stdout)
	}
	// Without --path, "latest" is the newest snapshot (the plain dump), which
	// has no /spse.dump: an error, never another file's bytes.
	if res := cliRun(t, nil, "-r", repoDir, "dump", "latest", "/spse.dump"); res.code == 0 || res.stdout != "" {
		t.Errorf("dump latest /spse.dump without --path: exit %d, %d bytes on stdout:\n%.300s", res.code, len(res.stdout), res.stderr)
	}
	cliOK(t, "-r", repoDir, "check")
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// TestPostgreSQLDatabasesJobRestoreTest: a job whose source is
// databases = ["all"] dumps the cluster's globals and every database into
// one snapshot (/globals.sql, /DB.dump), recording the compare = "source"
// checks in the dump's own snapshot; its restore test loads each dump into
// a scratch database on the server (dropped afterwards) or into a
// throwaway server, and compares the checks. Rows written after the
// backup change nothing: the test compares with the backup's values.
func TestPostgreSQLDatabasesJobRestoreTest(t *testing.T) {
	s := testpg.Start(t)
	repoDir := cliNewRepo(t)
	clearJobEnv(t)
	s.Exec(t, "postgres", "CREATE DATABASE spse; CREATE DATABASE helpdesk;")
	s.Exec(t, "spse", "CREATE TABLE tender (id int PRIMARY KEY, nama text); INSERT INTO tender SELECT i, 'paket ' || i FROM generate_series(1, 2500) i;")
	s.Exec(t, "helpdesk", "CREATE TABLE tiket (id int PRIMARY KEY); INSERT INTO tiket SELECT generate_series(1, 40);")

	id := cliRepoID(t, repoDir)
	dir := t.TempDir()
	cfg, log := filepath.Join(dir, "cadang.toml"), filepath.Join(dir, "runlog.jsonl")
	writeCfg := func(restoreInto string) {
		t.Helper()
		text := fmt.Sprintf(`[log]
path = %q
[restore_test]
scratch = %q
[[job]]
name = "spse-db"
info_class = 7
classification = "rahasia"
  [[job.source]]
  databases = ["all"]
  pg_host = %q
  pg_port = %d
  pg_user = %q
  pg_bin = %q
  spool = %q
  restore_into = %q
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  [[job.check]]
  database = "spse"
  query = "SELECT count(*) FROM tender"
  compare = "source"
  [[job.check]]
  database = "helpdesk"
  query = "SELECT max(id) FROM tiket"
  expect = "40"
`, log, dir, s.Host, s.Port, s.User, s.Bin, dir, restoreInto, repoDir, id)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("server")
	cliOK(t, "--config", cfg, "run", "spse-db")
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(cliOK(t, "--config", cfg, "log", "--json").stdout), &recs); err != nil {
		t.Fatal(err)
	}
	src := recs[0].Sources[0]
	if !slices.Equal(src.Databases, []string{"helpdesk", "postgres", "spse"}) || len(src.Checks) != 1 || src.Checks[0].Value != "2500" {
		t.Fatalf("backup record source %+v", src)
	}
	ls := cliOK(t, "-r", repoDir, "ls", "latest").stdout
	for _, f := range []string{"/globals.sql", "/spse.dump", "/helpdesk.dump", "/postgres.dump"} {
		if !strings.Contains(ls, f) {
			t.Errorf("the snapshot lacks %s:\n%s", f, ls)
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "cadang-pgdump-*")); len(ents) != 0 {
		t.Errorf("the spool directory was not removed: %v", ents)
	}

	// After the backup the database moves on; the test compares the dump
	// with what the backup recorded.
	s.Exec(t, "spse", "INSERT INTO tender VALUES (2501, 'baru')")
	restoreTest := func() runlog.Record {
		t.Helper()
		res := cliOK(t, "--config", cfg, "--json", "restore-test", "--job", "spse-db")
		var rec runlog.Record
		if err := json.Unmarshal([]byte(strings.SplitN(res.stdout, "\n", 2)[0]), &rec); err != nil {
			t.Fatalf("%v\n%s", err, res)
		}
		return rec
	}
	rec := restoreTest()
	loaded := map[string]bool{}
	for _, d := range rec.Test.Databases {
		if d.Globals {
			continue
		}
		loaded[d.Database] = d.Loaded && d.Dropped && d.OK && d.Tables >= 0
		if d.Database == "spse" && (len(d.Checks) != 1 || d.Checks[0].Got != "2500" || !d.Checks[0].OK) {
			t.Errorf("spse check %+v", d.Checks)
		}
	}
	if rec.Result != runlog.OK || !loaded["spse"] || !loaded["helpdesk"] || !loaded["postgres"] {
		t.Fatalf("restore test %s: %+v %q", rec.Result, rec.Test.Databases, rec.Errors)
	}
	if left := strings.TrimSpace(s.Exec(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cadang_rt_%'")); left != "0" {
		t.Errorf("%s scratch databases left on the server", left)
	}

	// The same test in a throwaway server started from the job's binaries:
	// the globals are loaded there too.
	// Its data directory is below the scratch directory, which the
	// postgres user (the server refuses to run as root) must reach.
	writeCfg("throwaway")
	if os.Geteuid() == 0 {
		res := cliCode(t, 1, "--config", cfg, "restore-test", "--job", "spse-db")
		if !strings.Contains(res.stdout+res.stderr, "cannot reach") {
			t.Errorf("a scratch directory the postgres user cannot reach:\n%s", res)
		}
		for p := dir; p != "/"; p = filepath.Dir(p) {
			os.Chmod(p, 0o755)
		}
	}
	rec = restoreTest()
	if rec.Result != runlog.OK || len(rec.Test.Databases) != 4 || !rec.Test.Databases[0].Globals || !rec.Test.Databases[0].Loaded ||
		!strings.Contains(rec.Test.Databases[1].Server, "throwaway") {
		t.Fatalf("throwaway restore test %s: %+v %q", rec.Result, rec.Test.Databases, rec.Errors)
	}
}

// TestPostgreSQLCommandSourceRestoreTest: README's dump command source,
// command = ["pg_dump", "-h", HOST, "-p", PORT, "-U", USER, ...] without
// pg_host, pg_port or pg_user. The restore test loads the dump into the
// server the command dumped; it went to libpq's local socket and failed.
// A command line cadang does not read (a shell) leaves libpq's defaults,
// and the failure says which server it used and how one is chosen.
func TestPostgreSQLCommandSourceRestoreTest(t *testing.T) {
	s := testpg.Start(t)
	repoDir := cliNewRepo(t)
	clearJobEnv(t)
	s.Exec(t, "postgres", "CREATE DATABASE spse;")
	s.Exec(t, "spse", "CREATE TABLE tender (id int PRIMARY KEY); INSERT INTO tender SELECT generate_series(1, 300);")
	id := cliRepoID(t, repoDir)
	dir := t.TempDir()
	cfg, log := filepath.Join(dir, "cadang.toml"), filepath.Join(dir, "runlog.jsonl")
	writeCfg := func(command string) {
		t.Helper()
		text := fmt.Sprintf(`[log]
path = %q
[restore_test]
scratch = %q
[[job]]
name = "spse-db"
info_class = 7
classification = "rahasia"
  [[job.source]]
  name = "database"
  command = %s
  filename = "spse.dump"
  verify = [%q, "--list", "{file}"]
  restore_into = "server"
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  [[job.check]]
  query = "SELECT count(*) FROM tender"
  expect = "300"
`, log, dir, command, filepath.Join(s.Bin, "pg_restore"), repoDir, id)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	restoreTest := func(code int) runlog.Record {
		t.Helper()
		res := cliCode(t, code, "--config", cfg, "--json", "restore-test", "--job", "spse-db")
		var rec runlog.Record
		if err := json.Unmarshal([]byte(strings.SplitN(res.stdout, "\n", 2)[0]), &rec); err != nil {
			t.Fatalf("%v\n%s", err, res)
		}
		return rec
	}
	writeCfg(fmt.Sprintf(`[%q, "-h", %q, "-p", "%d", "-U", %q, "-Fc", "-Z0", "spse"]`, filepath.Join(s.Bin, "pg_dump"), s.Host, s.Port, s.User))
	cliOK(t, "--config", cfg, "run", "spse-db")
	rec := restoreTest(0)
	server := fmt.Sprintf("%s:%d", s.Host, s.Port)
	if rec.Result != runlog.OK || len(rec.Test.Databases) != 1 || !rec.Test.Databases[0].Loaded || !rec.Test.Databases[0].Dropped ||
		rec.Test.Databases[0].Server != server || len(rec.Test.Databases[0].Checks) != 1 || !rec.Test.Databases[0].Checks[0].OK {
		t.Fatalf("restore test %s: %+v %q", rec.Result, rec.Test.Databases, rec.Errors)
	}
	if left := strings.TrimSpace(s.Exec(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cadang_rt_%'")); left != "0" {
		t.Errorf("%s scratch databases left on the server", left)
	}

	// Behind a shell the command names no server cadang reads: libpq's
	// defaults, here a port where nothing listens.
	closed := strconv.Itoa(freeTCPPort(t))
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", closed)
	writeCfg(fmt.Sprintf(`["sh", "-c", "exec %s -h %s -p %d -U %s -Fc -Z0 spse"]`, filepath.Join(s.Bin, "pg_dump"), s.Host, s.Port, s.User))
	rec = restoreTest(1)
	errs := strings.Join(rec.Errors, "\n")
	if rec.Failure != runlog.KindOther || len(rec.Test.Databases) != 1 || rec.Test.Databases[0].Scratch != "" || rec.Test.Databases[0].Dropped ||
		!strings.Contains(errs, "pg_host, pg_port and pg_user") || !strings.Contains(errs, "this test used 127.0.0.1:"+closed) ||
		strings.Contains(errs, "dropped") {
		t.Fatalf("restore test %s %s: %+v\n%s", rec.Result, rec.Failure, rec.Test.Databases, errs)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cliRepoID returns the ID of the repository at repoDir (cliNewRepo's).
func cliRepoID(t *testing.T, repoDir string) string {
	t.Helper()
	be, err := local.Open(context.Background(), repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.ID()
}

// clearJobEnv empties what would steer a job's test away from its own
// configuration: libpq's PG* variables, the configuration, run log and
// clock that the environment may name.
func clearJobEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "CADANG_CONFIG", envLog, envNow} {
		t.Setenv(k, "")
	}
}
