package restoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/pgdb"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// GlobalsFile is the file of a databases source's snapshot with the
// cluster's roles and tablespaces (engine.GlobalsFile).
const GlobalsFile = "globals.sql"

// Postgres gives a restore test a server to load the PostgreSQL dumps of a
// source into.
type Postgres interface {
	Server(ctx context.Context, src jobs.Source) (DBServer, error)
}

// DBServer is a PostgreSQL server as a restore test uses it (pgdb.Conn,
// or a pgdb.Throwaway).
type DBServer interface {
	String() string
	// IsThrowaway reports whether the server is the test's own: only then
	// are a dump's globals (roles) loaded into it.
	IsThrowaway() bool
	CreateDB(ctx context.Context, name string) error
	DropDB(ctx context.Context, name string) error
	Load(ctx context.Context, db, file string) error
	LoadGlobals(ctx context.Context, file string) error
	Query(ctx context.Context, db, sql string) (string, error)
	Tables(ctx context.Context, db string) ([]string, error)
	DumpTables(ctx context.Context, file string) ([]string, error)
	// Close stops a throwaway server.
	Close() error
}

// PGServers is the Postgres of the real programs: the source's server
// (restore_into = "server"), or a throwaway server started with the
// source's PostgreSQL programs below Scratch.
type PGServers struct {
	Scratch string // parent of a throwaway server's directory
}

// Server implements Postgres.
func (p PGServers) Server(ctx context.Context, src jobs.Source) (DBServer, error) {
	c := pgdb.FromSource(src)
	if src.RestoreInto == jobs.RestoreIntoThrowaway {
		t, err := pgdb.StartThrowaway(ctx, c.Bin, p.Scratch)
		if err != nil {
			return nil, err
		}
		return throwaway{t}, nil
	}
	return conn{c}, nil
}

type conn struct{ pgdb.Conn }

func (conn) IsThrowaway() bool { return false }
func (conn) Close() error      { return nil }

type throwaway struct{ *pgdb.Throwaway }

func (throwaway) IsThrowaway() bool { return true }
func (t throwaway) Close() error    { return t.Stop() }

// ServerHint explains, with the first dump of a dump command's source
// that found no scratch database on server, which server that is and how
// it is chosen: pg_host, pg_port and pg_user, else the command line's -h,
// -p and -U (pgdb.FromSource), else libpq's defaults.
func ServerHint(src jobs.Source, server string) string {
	as := ""
	if u := pgdb.FromSource(src).User; u != "" {
		as = " as user " + u
	}
	return fmt.Sprintf("source %s: the dump of a dump command is loaded into the server that pg_host, pg_port and pg_user name; "+
		"one not set is taken from the -h, -p or -U of a pg_dump or pg_dumpall command, else from libpq's defaults "+
		"(PGHOST, PGPORT, PGUSER, the local socket): this test used %s%s", src.Name, server, as)
}

// dropTimeout bounds the drop of a scratch database after the test, which
// runs even when the test was cancelled.
const dropTimeout = 2 * time.Minute

// runTag names the scratch databases of one test: cadang_rt_TAG_N.
func runTag() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprint(time.Now().UnixNano() % 1e8)
	}
	return hex.EncodeToString(b[:])
}

// dbLoad is the state of the database part of one restore test.
type dbLoad struct {
	t       *Tester
	clk     clock.Clock
	job     *jobs.Job
	tag     string
	n       int                 // scratch databases made
	servers map[string]DBServer // by source name
	failed  []string            // the dump or a check is wrong
	infra   []string            // the test could not be carried out
	notes   []string            // said in the record, not counted as checks
	hinted  map[string]bool     // sources whose server ServerHint explained
	checks  int                 // check queries run
	passed  int
}

func (d *dbLoad) close() {
	for _, s := range d.servers {
		s.Close()
	}
}

func (d *dbLoad) server(ctx context.Context, src jobs.Source) (DBServer, error) {
	if s, ok := d.servers[src.Name]; ok {
		return s, nil
	}
	s, err := d.t.Postgres.Server(ctx, src)
	if err != nil {
		return nil, err
	}
	d.servers[src.Name] = s
	return s, nil
}

// pick loads the dumps of one pick whose files were restored below sub;
// restored holds the paths that were restored intact.
func (d *dbLoad) pick(ctx context.Context, src jobs.Source, p Pick, sub string, restored map[string]bool) []runlog.DatabaseTest {
	var dumps []File
	var globals *File
	for i, f := range p.Files {
		if len(src.Databases) > 0 && path.Base(f.Path) == GlobalsFile {
			globals = &p.Files[i]
			continue
		}
		dumps = append(dumps, f)
	}
	srv, err := d.server(ctx, src)
	if err != nil {
		dt := runlog.DatabaseTest{Snapshot: p.Snapshot.ID, Source: src.Name, Error: err.Error()}
		d.infra = append(d.infra, runlog.NoServerFailure(dt))
		return []runlog.DatabaseTest{dt}
	}
	var out []runlog.DatabaseTest
	local := func(f File) string { return filepath.Join(sub, filepath.FromSlash(f.Path)) }
	if globals != nil && restored[globals.Path] {
		dt := runlog.DatabaseTest{Snapshot: p.Snapshot.ID, Source: src.Name, File: globals.Path, Globals: true, Server: srv.String(), OK: true}
		if srv.IsThrowaway() {
			start := d.clk.Now()
			// Roles that exist already (the superuser) are reported by
			// psql and passed over; the globals are not the test.
			if err := srv.LoadGlobals(ctx, local(*globals)); err == nil {
				dt.Loaded = true
			} else {
				dt.Error = err.Error()
			}
			dt.LoadMS = d.clk.Now().Sub(start).Milliseconds()
		}
		out = append(out, dt)
	}
	for _, f := range dumps {
		if ctx.Err() != nil {
			break
		}
		if !restored[f.Path] {
			continue // its restore failed, and is counted already
		}
		db := src.DumpDatabase()
		if len(src.Databases) > 0 {
			db = pgdb.DumpFileDatabase(path.Base(f.Path))
		}
		out = append(out, d.load(ctx, srv, src, p, f, local(f), db, len(dumps)))
	}
	return out
}

// load loads one dump into a new scratch database, checks it and drops it.
// dt.Scratch names the scratch database only once it was created: one
// whose create failed is not reported as "not dropped" (an administrator
// would go looking for it).
func (d *dbLoad) load(ctx context.Context, srv DBServer, src jobs.Source, p Pick, f File, file, db string, n int) (dt runlog.DatabaseTest) {
	d.n++
	scratch := fmt.Sprintf("cadang_rt_%s_%d", d.tag, d.n)
	dt = runlog.DatabaseTest{Snapshot: p.Snapshot.ID, Source: src.Name, File: f.Path, Database: db, Server: srv.String()}
	if !srv.IsThrowaway() {
		// A plain script runs whatever it holds on the source's server
		// (DROP DATABASE, \connect): only a throwaway server takes one.
		// (A file that cannot be read fails in Load, as before.)
		if custom, err := pgdb.IsCustomFormat(file); err == nil && !custom {
			err = pgdb.ErrPlainScript
			dt.Error = err.Error()
			d.infra = append(d.infra, runlog.NotLoadedFailure(dt))
			return dt
		}
	}
	var createErr error
	defer func() {
		// Always dropped, on failure and on cancellation too, and also
		// when the create failed: a psql killed by a cancellation, or
		// whose connection broke, may have created it all the same (DROP
		// DATABASE IF EXISTS).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
		defer cancel()
		err := srv.DropDB(dctx, scratch)
		switch {
		case err == nil:
			dt.Dropped = createErr == nil
		case createErr == nil:
			d.infra = append(d.infra, fmt.Sprintf("scratch database %s on %s was not dropped: %v", scratch, srv, err))
		case err.Error() == createErr.Error():
			// The server answered the drop as it answered the create
			// (it cannot be reached, typically): nothing was created.
		default:
			// Not a check of the dump, and most likely nothing is
			// left: said, not counted.
			d.notes = append(d.notes, fmt.Sprintf("scratch database %s on %s was most likely never created (its create failed); DROP DATABASE IF EXISTS, run in case it was, failed too: %v", scratch, srv, err))
		}
	}()
	if createErr = srv.CreateDB(ctx, scratch); createErr != nil {
		dt.Error = createErr.Error()
		d.infra = append(d.infra, runlog.NotLoadedFailure(dt))
		if len(src.Databases) == 0 && !srv.IsThrowaway() && !d.hinted[src.Name] {
			// Which server a dump command's dump goes to is not
			// obvious from the configuration: said once per source.
			if d.hinted == nil {
				d.hinted = map[string]bool{}
			}
			d.hinted[src.Name] = true
			d.notes = append(d.notes, ServerHint(src, dt.Server))
		}
		return dt
	}
	dt.Scratch = scratch
	start := d.clk.Now()
	err := srv.Load(ctx, dt.Scratch, file)
	dt.LoadMS = d.clk.Now().Sub(start).Milliseconds()
	if err != nil {
		dt.Error = err.Error()
		d.failed = append(d.failed, runlog.LoadFailure(dt))
		return dt
	}
	dt.Loaded = true
	bad := d.tables(ctx, srv, &dt, file)
	for _, c := range d.job.ChecksFor(db, n) {
		cr := d.check(ctx, srv, dt.Scratch, p.Snapshot.ID, db, c)
		dt.Checks = append(dt.Checks, cr)
		if !cr.OK {
			bad = true
			d.failed = append(d.failed, runlog.CheckFailure(dt, cr))
		}
	}
	dt.OK = !bad
	return dt
}

// tables compares the tables the dump creates with those of the loaded
// database; it reports whether any is missing.
func (d *dbLoad) tables(ctx context.Context, srv DBServer, dt *runlog.DatabaseTest, file string) bool {
	want, err := srv.DumpTables(ctx, file)
	if err == nil {
		var got []string
		if got, err = srv.Tables(ctx, dt.Scratch); err == nil {
			have := map[string]bool{}
			for _, t := range got {
				have[t] = true
			}
			for _, t := range want {
				if !have[t] {
					dt.MissingTables = append(dt.MissingTables, t)
				}
			}
			dt.Tables = len(want)
		}
	}
	switch {
	case err != nil:
		dt.Error = err.Error()
		d.failed = append(d.failed, runlog.TablesFailure(*dt))
		return true
	case len(dt.MissingTables) > 0:
		d.failed = append(d.failed, runlog.MissingTablesFailure(*dt))
		return true
	}
	return false
}

func (d *dbLoad) check(ctx context.Context, srv DBServer, scratch, snapID, db string, c jobs.Check) runlog.CheckRun {
	d.checks++
	cr := runlog.CheckRun{Query: c.Query, Compare: c.Compare}
	if c.Expect != nil {
		cr.Want = *c.Expect
	} else if v, ok := d.t.recorded(snapID, db, c.Query); ok {
		cr.Want = v
	} else {
		cr.Error = runlog.NoRecordedValue
		return cr
	}
	// One statement only: a check runs on the source's server too
	// (restore_into = "server"), where "...; DROP ..." must not run.
	q, err := pgdb.OneStatement(c.Query)
	if err != nil {
		cr.Error = err.Error()
		return cr
	}
	got, err := srv.Query(ctx, scratch, q)
	if err != nil {
		cr.Error = err.Error()
		return cr
	}
	cr.Got = got
	cr.OK = strings.TrimSpace(got) == strings.TrimSpace(cr.Want)
	if cr.OK {
		d.passed++
	}
	return cr
}

// recorded finds the value of query on database db recorded by the backup
// that made snapshot snapID.
func (t *Tester) recorded(snapID, db, query string) (string, bool) {
	for i := len(t.Records) - 1; i >= 0; i-- {
		r := &t.Records[i]
		if r.Op != runlog.OpBackup {
			continue
		}
		for _, s := range r.Sources {
			if s.Snapshot != snapID {
				continue
			}
			for _, c := range s.Checks {
				if c.Database == db && c.Query == query {
					return c.Value, true
				}
			}
		}
	}
	return "", false
}
