package pgdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/internal/childenv"
)

// Throwaway is a PostgreSQL server of its own for a restore test:
// initdb on a temporary directory (mode 0700), started with no TCP
// listener (listen_addresses = ”) and its unix socket in that directory,
// which only cadang (and the postgres user it runs the server as) may
// enter, stopped and removed by Stop. Local connections are trusted, TCP
// ones rejected: no other local user can reach the server, which holds a
// production dump and whose superuser can run programs as the server's
// OS user. The dump is loaded there, so that a test touches no
// production server (nor its roles).
//
// The directory holds a lock file, locked while its cadang runs; a later
// StartThrowaway in the same parent stops and removes the servers whose
// lock is free (their cadang was killed).
type Throwaway struct {
	Conn
	dir  string
	asPG bool     // run the server programs as the postgres user (cadang is root)
	lock *os.File // lockName, flocked while the server is this process's
}

// throwawayPrefix names the directories of throwaway servers; lockName is
// the lock file that marks one as cadang's.
const (
	throwawayPrefix = "cadang-pg-"
	lockName        = "cadang-throwaway.lock"
)

// StartThrowaway starts a server with the programs of bin (empty: as
// Conn.Program finds them) in a directory below parent (empty: the OS
// temp directory), after stopping the servers that killed runs left
// there. PostgreSQL refuses to run as root: when cadang is root, the
// server runs as the postgres user, which then owns the directory.
func StartThrowaway(ctx context.Context, bin, parent string) (*Throwaway, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	if os.Geteuid() == 0 {
		if err := reachable(parent); err != nil {
			return nil, fmt.Errorf("throwaway PostgreSQL server: the postgres user it runs as cannot reach %s (%v): use a scratch directory others may enter, e.g. /var/tmp", parent, err)
		}
	}
	cleanStale(bin, parent)
	dir, err := os.MkdirTemp(parent, throwawayPrefix)
	if err != nil {
		return nil, fmt.Errorf("throwaway PostgreSQL server: %w", err)
	}
	// The socket is in dir; the port only names it (.s.PGSQL.5432).
	t := &Throwaway{Conn: Conn{Bin: bin, Host: dir, Port: 5432, User: "postgres"}, dir: dir, asPG: os.Geteuid() == 0}
	if t.lock, err = lockDir(dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("throwaway PostgreSQL server: %w", err)
	}
	if err := t.start(ctx); err != nil {
		t.Stop()
		return nil, fmt.Errorf("throwaway PostgreSQL server in %s: %w", dir, err)
	}
	return t, nil
}

// lockDir creates and locks dir's lock file. It is locked under another
// name and then renamed, so that cleanStale never finds it unlocked.
func lockDir(dir string) (*os.File, error) {
	tmp := filepath.Join(dir, lockName+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	if err := os.Rename(tmp, filepath.Join(dir, lockName)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// cleanStale stops and removes the throwaway servers below parent whose
// lock file no process holds: their cadang was killed before Stop. A
// directory without the lock file is not cadang's and is left alone, as
// is one whose server pg_ctl cannot stop.
func cleanStale(bin, parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, throwawayPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a running cadang's
			continue
		}
		old := &Throwaway{Conn: Conn{Bin: bin}, dir: dir, asPG: os.Geteuid() == 0, lock: f}
		old.Stop() // closes f
	}
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
	if out, err := t.server(ctx, "initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return progError("initdb", err, string(out))
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses='' -k %s -c unix_socket_permissions=0700 -c fsync=off -c full_page_writes=off", t.Port, t.dir)
	out, err := t.server(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(t.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(t.dir, "server.log"))
		return progError("pg_ctl start", err, string(out)+"\n"+string(log))
	}
	return nil
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
	return fmt.Sprintf("throwaway server on socket %s (%s)", t.dir, filepath.Dir(t.Program("initdb")))
}

// Stop stops the server, even when the test's context has ended, and
// removes its directory; a server that pg_ctl could not stop keeps its
// directory (and an unlocked lock file), for the next StartThrowaway.
func (t *Throwaway) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if t.lock != nil {
		defer t.lock.Close()
	}
	data := filepath.Join(t.dir, "data")
	if fileExists(filepath.Join(data, "postmaster.pid")) {
		if out, err := t.server(ctx, "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			// pg_ctl status exits 3 when no server runs (a stale pid file).
			var ee *exec.ExitError
			if st := t.server(ctx, "pg_ctl", "-D", data, "status").Run(); !errors.As(st, &ee) || ee.ExitCode() != 3 {
				return progError("pg_ctl stop", err, string(out))
			}
		}
	}
	return os.RemoveAll(t.dir)
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
