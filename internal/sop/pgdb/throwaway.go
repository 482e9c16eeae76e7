package pgdb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/childenv"
)

// Throwaway is a PostgreSQL server of its own for a restore test:
// initdb on a temporary directory, started on a free loopback port with
// trust authentication, stopped and removed by Stop. The dump is loaded
// there, so that a test touches no production server (nor its roles).
type Throwaway struct {
	Conn
	dir  string
	asPG bool // run the server programs as the postgres user (cadang is root)
}

// StartThrowaway starts a server with the programs of bin (empty: as
// Conn.Program finds them) in a directory below parent (empty: the OS
// temp directory). PostgreSQL refuses to run as root: when cadang is
// root, the server runs as the postgres user, which then owns the
// directory.
func StartThrowaway(ctx context.Context, bin, parent string) (*Throwaway, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	if os.Geteuid() == 0 {
		if err := reachable(parent); err != nil {
			return nil, fmt.Errorf("throwaway PostgreSQL server: the postgres user it runs as cannot reach %s (%v): use a scratch directory others may enter, e.g. /var/tmp", parent, err)
		}
	}
	dir, err := os.MkdirTemp(parent, "cadang-pg-")
	if err != nil {
		return nil, fmt.Errorf("throwaway PostgreSQL server: %w", err)
	}
	t := &Throwaway{Conn: Conn{Bin: bin, Host: "127.0.0.1", User: "postgres"}, dir: dir, asPG: os.Geteuid() == 0}
	if err := t.start(ctx); err != nil {
		t.Stop()
		return nil, fmt.Errorf("throwaway PostgreSQL server in %s: %w", dir, err)
	}
	return t, nil
}

func (t *Throwaway) start(ctx context.Context) error {
	if t.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("cadang runs as root and PostgreSQL refuses to: a postgres user is needed: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(t.dir, 0o700); err != nil {
			return err
		}
		if err := os.Chown(t.dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(t.dir, "data")
	if out, err := t.server(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return progError("initdb", err, string(out))
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		t.Port = port
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c full_page_writes=off", port, t.dir)
		out, err := t.server(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(t.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err == nil {
			return nil
		}
		log, _ := os.ReadFile(filepath.Join(t.dir, "server.log"))
		lastErr = progError("pg_ctl start", err, string(out)+"\n"+string(log))
	}
	return lastErr
}

// server returns a server program (initdb, pg_ctl), run as the postgres
// user when cadang is root.
func (t *Throwaway) server(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := t.Program(name)
	var cmd *exec.Cmd
	if t.asPG {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = t.dir // a directory the postgres user can enter
	cmd.Env = serverEnv()
	return cmd
}

// serverEnv is the environment of initdb and pg_ctl: cadang's, without
// its secrets and without libpq's PG* variables, which the server reads
// too (an empty PGPORT stops it) and which name the source's server, not
// this one.
func serverEnv() []string {
	var env []string
	for _, kv := range childenv.Environ(childenv.CloudCredentials...) {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// Load loads a dump into database db as Conn.Load does, and a plain SQL
// script too (psql, in one transaction, stopping at the first error): the
// server is the test's own.
func (t *Throwaway) Load(ctx context.Context, db, file string) error {
	return t.Conn.load(ctx, db, file, true)
}

// String names the server for records.
func (t *Throwaway) String() string {
	return fmt.Sprintf("throwaway server 127.0.0.1:%d (%s)", t.Port, filepath.Dir(t.Program("initdb")))
}

// Stop stops the server, even when the test's context has ended, and
// removes its directory.
func (t *Throwaway) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if fileExists(filepath.Join(t.dir, "data", "postmaster.pid")) {
		if out, e := t.server(ctx, "pg_ctl", "-D", filepath.Join(t.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput(); e != nil {
			err = progError("pg_ctl stop", e, string(out))
		}
	}
	if e := os.RemoveAll(t.dir); e != nil && err == nil {
		err = e
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// reachable reports an error unless every directory from / down to dir
// may be entered by others (the execute bit for others), which the
// postgres user needs to reach its data directory below dir.
func reachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s has mode %s", p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
