package restoretest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// fakePG is a PostgreSQL server in memory: a dump "loads" when it starts
// with PGDMP; the database then has the table public.tender and
// SELECT count(*) FROM tender answers the rest of the dump's first line.
type fakePG struct {
	mu            sync.Mutex
	throwaway     bool
	live          map[string]string // scratch database -> dump content
	created       []string
	dropped       []string
	globals       int
	failCreate    error
	createdAnyway bool // CreateDB fails with failCreate after creating the database
	queries       []string
	block         bool // Load waits for its context to end
	dropCtxErr    error
	failDrop      error // DropDB fails with it
	closed        int
}

func newFakePG() *fakePG { return &fakePG{live: map[string]string{}} }

func (f *fakePG) Server(context.Context, jobs.Source) (DBServer, error) { return f, nil }
func (f *fakePG) String() string                                        { return "fake:5432" }
func (f *fakePG) IsThrowaway() bool                                     { return f.throwaway }
func (f *fakePG) Close() error                                          { f.closed++; return nil }

func (f *fakePG) CreateDB(_ context.Context, name string) error {
	if f.failCreate != nil && !f.createdAnyway {
		return f.failCreate
	}
	f.mu.Lock()
	if f.failCreate != nil {
		f.live[name] = ""
		f.mu.Unlock()
		return f.failCreate
	}
	defer f.mu.Unlock()
	f.live[name] = ""
	f.created = append(f.created, name)
	return nil
}

func (f *fakePG) DropDB(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropCtxErr = ctx.Err()
	if f.failDrop != nil {
		return f.failDrop
	}
	delete(f.live, name)
	f.dropped = append(f.dropped, name)
	return nil
}

func (f *fakePG) Load(ctx context.Context, db, file string) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(b), "PGDMP") {
		return errors.New("pg_restore: error: input file does not appear to be a valid archive")
	}
	f.mu.Lock()
	f.live[db] = strings.TrimPrefix(string(b), "PGDMP")
	f.mu.Unlock()
	return nil
}

func (f *fakePG) LoadGlobals(context.Context, string) error { f.globals++; return nil }

func (f *fakePG) Query(_ context.Context, db, sql string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, sql)
	switch sql {
	case "SELECT count(*) FROM tender":
		return f.live[db], nil
	case "SELECT 1":
		return "1", nil
	}
	return "", fmt.Errorf("ERROR: syntax error at or near %q", sql)
}

func (f *fakePG) Tables(_ context.Context, db string) ([]string, error) {
	if strings.Contains(f.live[db], "notables") {
		return nil, nil
	}
	return []string{"public.tender"}, nil
}

func (f *fakePG) DumpTables(context.Context, string) ([]string, error) {
	return []string{"public.tender"}, nil
}

// dbFake is a repository of a databases source: each snapshot holds
// /globals.sql and the dumps of epns_prod and helpdesk, whose "row count"
// is the day.
func dbFake() *fakeSource {
	f := &fakeSource{content: map[string]map[string][]byte{}, corrupt: map[string]bool{}}
	t0 := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	for d := 0; d < 4; d++ {
		s := Snapshot{ID: fmt.Sprintf("pg%02d", d), Source: "postgresql", Time: t0.AddDate(0, 0, d)}
		f.snaps = append(f.snaps, s)
		f.content[s.ID] = map[string][]byte{
			"/globals.sql":    []byte("CREATE ROLE epns;"),
			"/epns_prod.dump": []byte(fmt.Sprintf("PGDMP%d", 100+d)),
			"/helpdesk.dump":  []byte(fmt.Sprintf("PGDMP%d", 7+d)),
		}
	}
	return f
}

func dbJob(checks ...jobs.Check) *jobs.Job {
	return &jobs.Job{Name: "spse-db", Sources: []jobs.Source{{Name: "postgresql", Databases: []string{"all"}}}, Checks: checks}
}

// backups are the backup records of dbFake's snapshots with the
// compare = "source" value of epns_prod's count.
func backups(src *fakeSource) []runlog.Record {
	var recs []runlog.Record
	for _, s := range src.snaps {
		v := strings.TrimPrefix(string(src.content[s.ID]["/epns_prod.dump"]), "PGDMP")
		recs = append(recs, runlog.Record{Op: runlog.OpBackup, Sources: []runlog.Source{{Name: "postgresql", Snapshot: s.ID,
			Databases: []string{"epns_prod", "helpdesk"}, Checks: []runlog.CheckValue{{Database: "epns_prod", Query: "SELECT count(*) FROM tender", Value: v}}}}})
	}
	return recs
}

func one(s string) *string { return &s }

// TestDatabaseRestoreTest: each database of a databases source is loaded
// into its own scratch database, the job's checks run on it, with values
// compared against those recorded at backup time, and every scratch
// database is dropped (issue 15: pg_restore --list alone is no restore
// test).
func TestDatabaseRestoreTest(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	src := dbFake()
	pg := newFakePG()
	j := dbJob(jobs.Check{Database: "epns_prod", Query: "SELECT count(*) FROM tender", Compare: jobs.CompareSource},
		jobs.Check{Database: "helpdesk", Query: "SELECT 1", Expect: one("1")})
	tester := &Tester{Source: src, Clock: clk, Postgres: pg, Records: backups(src)}
	var rec runlog.Record
	if err := tester.Run(context.Background(), j, Options{Snapshots: 2, Seed: 3, HasSeed: true, Scratch: t.TempDir()}, &rec); err != nil {
		t.Fatalf("%v %q", err, rec.Errors)
	}
	dts := rec.Test.Databases
	// 2 snapshots x (globals + 2 databases)
	if len(dts) != 6 || len(pg.created) != 4 || len(pg.live) != 0 || pg.globals != 0 || pg.closed != 1 {
		t.Fatalf("databases %+v; created %v, left %v, globals loaded %d, closed %d", dts, pg.created, pg.live, pg.globals, pg.closed)
	}
	seen := map[string]bool{}
	for _, d := range dts {
		if d.Globals {
			// Not loaded into the configured server: its roles are not
			// the test's to change.
			if d.Loaded || !d.OK || d.File != "/globals.sql" {
				t.Errorf("globals %+v", d)
			}
			continue
		}
		seen[d.Database] = true
		if !d.OK || !d.Loaded || !d.Dropped || d.Tables != 1 || len(d.Checks) != 1 || !d.Checks[0].OK || !strings.HasPrefix(d.Scratch, "cadang_rt_") {
			t.Errorf("database %+v", d)
		}
		if d.Database == "epns_prod" && (d.Checks[0].Want != d.Checks[0].Got || d.Checks[0].Compare != "source") {
			t.Errorf("compare with source %+v", d.Checks[0])
		}
	}
	if !seen["epns_prod"] || !seen["helpdesk"] {
		t.Errorf("databases tested %v", seen)
	}
	if rec.Note.Code != "test-ok-db" || rec.Note.Args[2] != 4 || rec.Note.Args[3] != 4 {
		t.Errorf("note %+v", rec.Note)
	}

	// A dump whose data differs from what the backup recorded fails the
	// test as an integrity problem, naming the query.
	recs := backups(src)
	for i := range recs {
		recs[i].Sources[0].Checks[0].Value = "999"
	}
	tester.Records = recs
	rec = runlog.Record{}
	err := tester.Run(context.Background(), j, Options{Snapshots: 1, Seed: 3, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || !strings.Contains(strings.Join(rec.Errors, "\n"), `check "SELECT count(*) FROM tender" on epns_prod`) || len(pg.live) != 0 {
		t.Fatalf("%v %q", err, rec.Errors)
	}
	errorsSaid(t, rec)
	// No value recorded (the check was added after the backup): failed,
	// saying so, not passed.
	tester.Records = nil
	rec = runlog.Record{}
	err = tester.Run(context.Background(), j, Options{Snapshots: 1, Seed: 3, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || !strings.Contains(fmt.Sprint(rec.Test.Databases), "no value of this query was recorded") {
		t.Fatalf("%v %+v", err, rec.Test.Databases)
	}

	// A dump that does not load: failed, and its scratch database dropped
	// (on a throwaway server: on the source's, what is not an archive is
	// not loaded at all, TestPlainScriptNotOnSourceServer).
	pg.throwaway = true
	tester.Records = backups(src)
	for _, s := range src.snaps {
		src.content[s.ID]["/helpdesk.dump"] = []byte("garbage")
	}
	rec = runlog.Record{}
	err = tester.Run(context.Background(), j, Options{Snapshots: 1, Seed: 3, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || !strings.Contains(strings.Join(rec.Errors, "\n"), "/helpdesk.dump in pg") || len(pg.live) != 0 {
		t.Fatalf("%v %q, left %v", err, rec.Errors, pg.live)
	}
	errorsSaid(t, rec)
}

// errorsSaid fails unless every error of rec is said by its test's tables
// (TestInfo.Said), so that the restore-test minutes need not repeat it in
// English after the tables. What the tables do not say whole stays in the
// list: a scratch database left behind, and an error of a database or a
// check too long for its cell.
func errorsSaid(t *testing.T, rec runlog.Record) {
	t.Helper()
	if len(rec.Errors) == 0 {
		t.Fatal("no errors to compare")
	}
	var long []string
	for _, dt := range rec.Test.Databases {
		long = append(long, dt.Error)
		for _, c := range dt.Checks {
			long = append(long, c.Error)
		}
	}
	long = slices.DeleteFunc(long, func(e string) bool { return len(e) <= 40 && !strings.Contains(e, "\n") })
	said := rec.Test.Said()
	for _, e := range rec.Errors {
		if said[e] || strings.Contains(e, "dropped") || slices.ContainsFunc(long, func(l string) bool { return strings.Contains(e, l) }) {
			continue
		}
		t.Errorf("error not said by the test's tables: %q", e)
	}
}

// TestDatabaseRestoreTestCleansUp: a server that cannot be reached is a
// test not carried out (kind other, not a broken backup); a test cancelled
// while a dump loads still drops its scratch database; a throwaway server
// gets the globals and is stopped.
func TestDatabaseRestoreTestCleansUp(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	src := dbFake()
	pg := newFakePG()
	pg.failCreate = errors.New("connection refused")
	tester := &Tester{Source: src, Clock: clk, Postgres: pg}
	var rec runlog.Record
	err := tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther || !strings.Contains(strings.Join(rec.Errors, "\n"), "connection refused") {
		t.Fatalf("%v %q", err, rec.Errors)
	}
	errorsSaid(t, rec)

	pg = newFakePG()
	pg.block = true
	tester.Postgres = pg
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			pg.mu.Lock()
			n := len(pg.created)
			pg.mu.Unlock()
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rec = runlog.Record{}
	err = tester.Run(ctx, dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if !errors.Is(err, context.Canceled) || len(pg.dropped) != 1 || len(pg.live) != 0 || pg.dropCtxErr != nil || pg.closed != 1 {
		t.Fatalf("cancelled: %v; dropped %v, left %v, drop ctx %v, closed %d", err, pg.dropped, pg.live, pg.dropCtxErr, pg.closed)
	}

	pg = newFakePG()
	pg.throwaway = true
	tester.Postgres = pg
	rec = runlog.Record{}
	if err := tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec); err != nil {
		t.Fatal(err)
	}
	if pg.globals != 1 || pg.closed != 1 || !rec.Test.Databases[0].Loaded || path.Base(rec.Test.Databases[0].File) != "globals.sql" {
		t.Fatalf("throwaway: globals %d, closed %d, %+v", pg.globals, pg.closed, rec.Test.Databases)
	}
}

// TestScratchDroppedWhenCreateFails: a create that reports an error may
// have created the database all the same (psql killed, or its connection
// lost after the server ran it): it is dropped (IF EXISTS) all the same.
func TestScratchDroppedWhenCreateFails(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	pg := newFakePG()
	pg.failCreate = errors.New("psql: signal: killed")
	pg.createdAnyway = true
	tester := &Tester{Source: dbFake(), Clock: clk, Postgres: pg}
	var rec runlog.Record
	err := tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther || len(pg.live) != 0 || len(pg.dropped) != 2 {
		t.Fatalf("%v %q; left %v, dropped %v", err, rec.Errors, pg.live, pg.dropped)
	}
}

// TestScratchNotCreatedNotReported: a server that cannot be reached
// refuses the create and the drop alike. No scratch database was made, so
// the record names none and says nothing of dropping one (an
// administrator would go looking for "not dropped" databases); a scratch
// database that was created and could not be dropped is still reported.
func TestScratchNotCreatedNotReported(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	pg := newFakePG()
	down := errors.New(`psql: exit status 2: psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory`)
	pg.failCreate, pg.failDrop = down, down
	tester := &Tester{Source: dbFake(), Clock: clk, Postgres: pg}
	var rec runlog.Record
	err := tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther {
		t.Fatalf("%v %q", err, rec.Errors)
	}
	n := 0
	for _, dt := range rec.Test.Databases {
		if dt.Globals {
			continue
		}
		n++
		if dt.Scratch != "" || dt.Dropped || dt.Loaded || dt.Server != "fake:5432" || !strings.Contains(dt.Error, "connection to server") {
			t.Errorf("a scratch database that was never created: %+v", dt)
		}
	}
	if n != 2 {
		t.Fatalf("%d dumps in %+v", n, rec.Test.Databases)
	}
	for _, e := range rec.Errors {
		if strings.Contains(e, "dropped") || strings.Contains(e, "cadang_rt_") {
			t.Errorf("error about a database never created: %q", e)
		}
	}
	errorsSaid(t, rec)

	// Created, loaded, and then the drop fails: that one is left behind.
	pg = newFakePG()
	pg.failDrop = errors.New("connection lost")
	tester.Postgres = pg
	rec = runlog.Record{}
	err = tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther || !strings.Contains(strings.Join(rec.Errors, "\n"), "was not dropped: connection lost") {
		t.Fatalf("%v %q", err, rec.Errors)
	}
	for _, dt := range rec.Test.Databases {
		if !dt.Globals && (!strings.HasPrefix(dt.Scratch, "cadang_rt_") || dt.Dropped || !dt.Loaded) {
			t.Errorf("a scratch database left behind: %+v", dt)
		}
	}
}

// TestCheckQueryOneStatement: a check query of more than one statement
// is not run (on restore_into = "server" it would run on the source's
// server): the check fails, saying why.
func TestCheckQueryOneStatement(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	src := dbFake()
	pg := newFakePG()
	j := dbJob(jobs.Check{Database: "helpdesk", Query: "SELECT 1; DROP DATABASE epns_prod", Expect: one("1")})
	tester := &Tester{Source: src, Clock: clk, Postgres: pg, Records: backups(src)}
	var rec runlog.Record
	err := tester.Run(context.Background(), j, Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || !strings.Contains(fmt.Sprint(rec.Test.Databases), "one statement") {
		t.Fatalf("%v %+v", err, rec.Test.Databases)
	}
	for _, q := range pg.queries {
		if strings.Contains(q, "DROP") {
			t.Errorf("ran %q", q)
		}
	}
}

// TestPlainScriptNotOnSourceServer: a plain SQL dump is not run on the
// source's server (a --clean --create script drops the production
// database there): the test is not carried out (kind other), saying to
// use -Fc or a throwaway server, and no scratch database is made; a
// throwaway server takes it.
func TestPlainScriptNotOnSourceServer(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	src := dbFake()
	for _, s := range src.snaps {
		src.content[s.ID]["/helpdesk.dump"] = []byte("DROP DATABASE helpdesk;\nCREATE DATABASE helpdesk;\n\\connect helpdesk\n")
	}
	pg := newFakePG()
	tester := &Tester{Source: src, Clock: clk, Postgres: pg, Records: backups(src)}
	var rec runlog.Record
	err := tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	errs := strings.Join(rec.Errors, "\n")
	if runlog.KindOf(err) != runlog.KindOther || !strings.Contains(errs, "/helpdesk.dump") || !strings.Contains(errs, `restore_into = "throwaway"`) || len(pg.created) != 1 {
		t.Fatalf("%v %q; created %v", err, rec.Errors, pg.created)
	}
	errorsSaid(t, rec)
	pg = newFakePG()
	pg.throwaway = true
	tester.Postgres = pg
	rec = runlog.Record{}
	tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if len(pg.created) != 2 {
		t.Fatalf("throwaway: created %v", pg.created)
	}
}

// TestNoteCountsAddUp: the note's "N of M checks" adds up from what the
// report lists. With the server down (a new administrator's first test):
// 13 files identical, 3 verify commands passed, 3 dumps not loaded, which
// is 3 checks not carried out of 19, none failed (it was "6 of 16 checks
// failed": the failed creates and the failed drops of databases never
// made, of files and commands only). A dump missing a table and a wrong
// check query are one failed check each; a scratch database left behind
// is no check.
func TestNoteCountsAddUp(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	pg := newFakePG()
	down := errors.New("psql: exit status 2: psql: error: connection to server on socket failed")
	pg.failCreate, pg.failDrop = down, down
	tester := &Tester{Source: newFake(), Clock: clk, Postgres: pg}
	var rec runlog.Record
	err := tester.Run(context.Background(), job(t), Options{Sample: 10, Snapshots: 3, Seed: 5, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther || rec.Note == nil || rec.Note.Code != "test-checks" {
		t.Fatalf("%v; note %+v", err, rec.Note)
	}
	if want := []any{0, 3, 19, 13, 3, 3, 0}; !reflect.DeepEqual(rec.Note.Args, want) {
		t.Errorf("server down: note %v, want %v (failed, not carried out, checks, files, commands, dumps, queries)", rec.Note.Args, want)
	}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		if msg := l.Note(rec.Note.Code, rec.Note.Args...); strings.Contains(msg, "%!") || strings.Contains(msg, "note.") {
			t.Errorf("%s: %q", l, msg)
		}
	}
	if c := Count(rec.Test, rec.Errors); c.Checks() != 19 || c.Passed() != 16 || c.NotDone() != 3 || c.Failed() != 0 || c.Left != 0 {
		t.Errorf("tally %+v", c)
	}

	src := dbFake()
	for _, s := range src.snaps {
		src.content[s.ID]["/helpdesk.dump"] = []byte("PGDMPnotables")
	}
	pg = newFakePG()
	pg.failDrop = errors.New("connection lost")
	j := dbJob(jobs.Check{Database: "epns_prod", Query: "SELECT count(*) FROM tender", Expect: one("999")})
	tester = &Tester{Source: src, Clock: clk, Postgres: pg}
	rec = runlog.Record{}
	err = tester.Run(context.Background(), j, Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || rec.Note == nil || rec.Note.Code != "test-checks" {
		t.Fatalf("%v; note %+v", err, rec.Note)
	}
	// 3 files, 2 dumps (helpdesk lacks its table), 1 query (wrong)
	if want := []any{2, 0, 6, 3, 0, 2, 1}; !reflect.DeepEqual(rec.Note.Args, want) {
		t.Errorf("missing table and wrong query: note %v, want %v", rec.Note.Args, want)
	}
	if c := Count(rec.Test, rec.Errors); c.Left != 2 || c.DumpsOK != 1 {
		t.Errorf("tally %+v", c)
	}

	// Every check passes, and the scratch databases stay behind.
	for _, s := range src.snaps {
		src.content[s.ID]["/helpdesk.dump"] = []byte("PGDMP7")
	}
	rec = runlog.Record{}
	err = tester.Run(context.Background(), dbJob(), Options{Snapshots: 1, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindOther || rec.Note == nil || rec.Note.Code != "test-scratch-left" || !reflect.DeepEqual(rec.Note.Args, []any{5, 2}) {
		t.Fatalf("%v; note %+v", err, rec.Note)
	}
}

// TestCommandSourceServerSaid: when no scratch database can be made for a
// dump command's dump, the record says once which server that was and
// how it is chosen (pg_host, pg_port, pg_user, else the pg_dump command's
// -h, -p, -U, else libpq's defaults); a new administrator's first test
// failed on libpq's local socket with no word of pg_host.
func TestCommandSourceServerSaid(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	pg := newFakePG()
	pg.failCreate = errors.New("psql: exit status 2: connection refused")
	tester := &Tester{Source: newFake(), Clock: clk, Postgres: pg}
	var rec runlog.Record
	j := job(t) // command = ["pg_dump", "-Fc", "-U", "epns", "epns_prod"]
	tester.Run(context.Background(), j, Options{Sample: 2, Snapshots: 3, Seed: 5, HasSeed: true, Scratch: t.TempDir()}, &rec)
	want := ServerHint(j.Sources[0], "fake:5432")
	n := 0
	for _, e := range rec.Errors {
		if e == want {
			n++
		}
	}
	if n != 1 || !strings.Contains(want, "pg_host, pg_port and pg_user") || !strings.Contains(want, "used fake:5432 as user epns") {
		t.Errorf("%d times %q in %q", n, want, rec.Errors)
	}
	if c := Count(rec.Test, rec.Errors); c.NotDone() != 3 || c.Checks() != 2+3+3+3 {
		t.Errorf("the hint is no check: %+v", c)
	}
}
