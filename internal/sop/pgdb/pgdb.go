// Package pgdb runs PostgreSQL's own client programs (psql, pg_dump,
// pg_dumpall, pg_restore) and server programs (initdb, pg_ctl) for the SOP
// layer: the dumps of a databases source, taken with the checks recorded in
// the same snapshot of the database, and the scratch databases and
// throwaway servers a restore test loads a dump into.
//
// It speaks to PostgreSQL only through those programs, as an administrator
// would, so that cadang needs no driver and uses the server's own
// versions of them (pg_bin).
package pgdb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/internal/childenv"
	"github.com/lpse/cadang/internal/sop/jobs"
)

// Conn says how to reach a server and where its programs are.
type Conn struct {
	Bin  string // directory of the programs; empty: $PATH, then Debian's newest
	Host string // empty: libpq's PGHOST or its default
	Port int    // 0: libpq's PGPORT or 5432
	User string // empty: libpq's PGUSER or the login name
	// Env is added to the programs' environment (a throwaway server's
	// PGHOST...); nil adds nothing.
	Env []string
}

// FromSource returns the connection of a job's PostgreSQL source: its
// pg_host, pg_port and pg_user; for a dump command's source, each of them
// not set is the pg_dump or pg_dumpall command line's -h, -p or -U
// (CommandConn), so that a restore test loads the dump into the server it
// came from. What neither gives is libpq's default, as for the command.
func FromSource(s jobs.Source) Conn {
	c := Conn{Bin: s.PGBin, Host: s.PGHost, Port: s.PGPort, User: s.PGUser}
	if len(s.Databases) > 0 || len(s.Command) == 0 {
		return c
	}
	if host, port, user, ok := CommandConn(s.Command); ok {
		if c.Host == "" {
			c.Host = host
		}
		if c.Port == 0 {
			c.Port = port
		}
		if c.User == "" {
			c.User = user
		}
	}
	return c
}

// String names the server for records: host:port, or libpq's defaults.
func (c Conn) String() string {
	h, p := c.Host, ""
	if h == "" {
		h = os.Getenv("PGHOST")
	}
	if c.Port != 0 {
		p = strconv.Itoa(c.Port)
	} else {
		p = os.Getenv("PGPORT")
	}
	switch {
	case h == "" && p == "":
		return "local server (libpq defaults)"
	case h == "":
		h = "local"
	}
	if p == "" {
		p = "5432"
	}
	return h + ":" + p
}

// Program returns the path of a PostgreSQL program: in Bin if set, else
// on $PATH, else in Debian's newest /usr/lib/postgresql/N/bin (where
// initdb and pg_ctl are, off $PATH).
func (c Conn) Program(name string) string {
	if c.Bin != "" {
		return filepath.Join(c.Bin, name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if p := filepath.Join(dirs[i], name); fileExists(p) {
			return p
		}
	}
	return name // exec then says it is not found, naming it
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// env is the programs' environment: cadang's, without its passwords and
// cloud credentials (a dump never needs them, and its stderr is kept in
// the run log), with the connection as libpq variables.
func (c Conn) env() []string {
	e := childenv.Environ(childenv.CloudCredentials...)
	if c.Host != "" {
		e = append(e, "PGHOST="+c.Host)
	}
	if c.Port != 0 {
		e = append(e, "PGPORT="+strconv.Itoa(c.Port))
	}
	if c.User != "" {
		e = append(e, "PGUSER="+c.User)
	}
	// A psqlrc could change the output cadang reads; -X is given too.
	e = append(e, "PSQLRC=/dev/null")
	return append(e, c.Env...)
}

// Command returns a PostgreSQL program set up for the connection. It runs
// in its own process group, killed as a whole when ctx ends.
func (c Conn) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Program(name), args...)
	cmd.Env = c.env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a program and returns its standard output; the error names the
// program and carries the end of its standard error.
func (c Conn) run(ctx context.Context, stdin io.Reader, name string, args ...string) (string, error) {
	cmd := c.Command(ctx, name, args...)
	cmd.Stdin = stdin
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), progError(name, err, stderr.String())
	}
	return out.String(), nil
}

func progError(name string, err error, stderr string) error {
	if s := lastLines(stderr, 10); s != "" {
		return fmt.Errorf("%s: %w: %s", name, err, s)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Query runs one SQL statement on database db with psql and returns its
// result unaligned, without headers: rows on lines, columns separated by
// "|", the trailing newline removed.
func (c Conn) Query(ctx context.Context, db, sql string) (string, error) {
	out, err := c.run(ctx, nil, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DBArg(db), "-c", sql)
	if err != nil {
		return "", fmt.Errorf("database %s: %w", db, err)
	}
	return strings.TrimRight(out, "\n"), nil
}

// DBArg is the -d argument that names database db to psql, pg_dump and
// pg_restore: a connection string whose dbname is db, quoted. libpq
// takes a -d value that contains "=" or starts with postgresql:// for a
// connection string, and database names (those of databases = ["all"]
// come from pg_database, which any role with CREATEDB can add to) must
// name a database, never a server or other connection options.
func DBArg(db string) string {
	return "dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db) + "'"
}

// DumpFile is the name of the file that holds database db in a
// databases source's snapshot (and the spool directory): db + ".dump",
// with "/", "%", control characters and a leading "." percent-encoded,
// so that no name leaves the directory ("../x", "a/b") and ordinary
// names keep the file names of earlier snapshots.
func DumpFile(db string) string {
	var b strings.Builder
	for i := 0; i < len(db); i++ {
		c := db[i]
		if c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String() + ".dump"
}

// DumpFileDatabase is the database whose dump is the file name (base
// name), the inverse of DumpFile; a name that does not decode is taken
// as it is.
func DumpFileDatabase(name string) string {
	name = strings.TrimSuffix(name, ".dump")
	if db, err := url.PathUnescape(name); err == nil {
		return db
	}
	return name
}

// Databases lists the databases a dump of "all" covers: those that allow
// connections and are not templates, as borgmatic lists them.
// The names are separated by NUL bytes (psql -0), which no name holds: a
// name with a newline is one database, not two.
func (c Conn) Databases(ctx context.Context) ([]string, error) {
	out, err := c.run(ctx, nil, "psql", "-X", "-q", "-A", "-t", "-0", "-v", "ON_ERROR_STOP=1", "-d", DBArg("postgres"),
		"-c", "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	var dbs []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\x00") {
		if l != "" {
			dbs = append(dbs, l)
		}
	}
	return dbs, nil
}

// DumpGlobals writes the cluster's roles and tablespaces (pg_dumpall
// --globals-only) to file.
func (c Conn) DumpGlobals(ctx context.Context, file string) error {
	_, err := c.run(ctx, nil, "pg_dumpall", "--globals-only", "-f", file)
	return err
}

// Dump writes database db in the custom format, uncompressed (-Z0, so
// that content-defined chunking finds yesterday's data again), to file;
// snapshot, if not empty, is an exported snapshot (Session) that the dump
// reads.
func (c Conn) Dump(ctx context.Context, db, snapshot, file string) error {
	args := []string{"-Fc", "-Z0", "-f", file}
	if snapshot != "" {
		args = append(args, "--snapshot="+snapshot)
	}
	_, err := c.run(ctx, nil, "pg_dump", append(args, "-d", DBArg(db))...)
	if err != nil {
		return fmt.Errorf("database %s: %w", db, err)
	}
	return nil
}

// QuoteIdent quotes a name for SQL.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes a string for SQL.
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// CreateDB creates an empty database (from template0, so that nothing a
// template1 holds mixes with the dump).
func (c Conn) CreateDB(ctx context.Context, name string) error {
	_, err := c.Query(ctx, "postgres", "CREATE DATABASE "+QuoteIdent(name)+" TEMPLATE template0")
	return err
}

// DropDB drops a database, ending the sessions still connected to it
// (WITH (FORCE), PostgreSQL 13 and later; before, a plain DROP).
func (c Conn) DropDB(ctx context.Context, name string) error {
	_, err := c.Query(ctx, "postgres", "DROP DATABASE IF EXISTS "+QuoteIdent(name)+" WITH (FORCE)")
	if err != nil && strings.Contains(err.Error(), "syntax error") {
		_, err = c.Query(ctx, "postgres", "DROP DATABASE IF EXISTS "+QuoteIdent(name))
	}
	return err
}

// IsCustomFormat reports whether file is a pg_dump archive (custom
// format), which pg_restore loads, rather than a plain SQL script for psql.
func IsCustomFormat(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var b [5]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(b[:n]) == "PGDMP", nil
}

// ErrPlainScript is the error of Conn.Load given a plain SQL script.
var ErrPlainScript = errors.New("a plain SQL script (pg_dump -Fp) is loaded only into a throwaway server: psql obeys what it says, and a script made with --clean --create begins DROP DATABASE, CREATE DATABASE and \\connect to the production database; dump with pg_dump -Fc, or set restore_into = \"throwaway\"")

// Load loads a custom-format archive into database db with pg_restore,
// stopping at the first error, without -C (an archive made with --create
// or --clean still loads into db, creating and dropping nothing else).
// Owners and privileges are not restored: the scratch database is not the
// production one and its roles may not exist. A plain SQL script is
// refused (ErrPlainScript): Conn may be the production server, and a
// script runs whatever it holds there; Throwaway.Load takes scripts.
func (c Conn) Load(ctx context.Context, db, file string) error {
	return c.load(ctx, db, file, false)
}

func (c Conn) load(ctx context.Context, db, file string, script bool) error {
	custom, err := IsCustomFormat(file)
	if err != nil {
		return err
	}
	switch {
	case custom:
		_, err = c.run(ctx, nil, "pg_restore", "--exit-on-error", "--no-owner", "--no-privileges", "-d", DBArg(db), file)
	case !script:
		err = ErrPlainScript
	default:
		// One transaction, stopping at the first error: a script that
		// creates or drops databases (--create, --clean of a whole
		// database) fails at once rather than loading elsewhere than db.
		_, err = c.run(ctx, nil, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", DBArg(db), "-f", file)
	}
	if err != nil {
		return fmt.Errorf("load %s into %s: %w", filepath.Base(file), db, err)
	}
	return nil
}

// LoadGlobals runs a pg_dumpall --globals-only script; a role that exists
// already (the superuser) is an error psql reports and passes over.
func (c Conn) LoadGlobals(ctx context.Context, file string) error {
	_, err := c.run(ctx, nil, "psql", "-X", "-q", "-d", DBArg("postgres"), "-f", file)
	if err != nil {
		return fmt.Errorf("load %s: %w", filepath.Base(file), err)
	}
	return nil
}

// userTables lists the user tables of a database as schema.name.
const userTables = `SELECT schemaname || '.' || tablename FROM pg_tables
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`

// Tables lists the user tables of database db as schema.name.
func (c Conn) Tables(ctx context.Context, db string) ([]string, error) {
	out, err := c.Query(ctx, db, userTables)
	if err != nil {
		return nil, err
	}
	return nonEmpty(strings.Split(out, "\n")), nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// DumpTables lists the tables a dump creates, as schema.name: from
// pg_restore --list for an archive, from its CREATE TABLE statements for
// a plain script.
func (c Conn) DumpTables(ctx context.Context, file string) ([]string, error) {
	custom, err := IsCustomFormat(file)
	if err != nil {
		return nil, err
	}
	if custom {
		out, err := c.run(ctx, nil, "pg_restore", "--list", file)
		if err != nil {
			return nil, err
		}
		return tablesOfList(out), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tablesOfScript(f)
}

// tablesOfList reads the TABLE entries of pg_restore --list, lines such
// as "215; 1259 16390 TABLE public penyedia postgres".
func tablesOfList(out string) []string {
	var ts []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && !strings.HasPrefix(l, ";") && f[3] == "TABLE" && f[4] != "DATA" {
			ts = append(ts, f[4]+"."+f[5])
		}
	}
	return ts
}

// tablesOfScript reads "CREATE TABLE schema.name (" lines of a plain dump.
func tablesOfScript(r io.Reader) ([]string, error) {
	var ts []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		l := sc.Text()
		name, ok := strings.CutPrefix(l, "CREATE TABLE ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " (")
		ts = append(ts, strings.ReplaceAll(name, `"`, ""))
	}
	return ts, sc.Err()
}
