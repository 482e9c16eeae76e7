// Package testpg starts a throwaway PostgreSQL server for integration
// tests: initdb into a temporary directory, pg_ctl start on a loopback port,
// and stop plus removal when the test ends. Tests skip, saying why, when
// PostgreSQL is not installed or the server cannot be run.
package testpg

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// Server is a running PostgreSQL server.
type Server struct {
	Bin  string // directory with initdb, pg_ctl, psql, pg_dump, pg_restore
	Host string
	Port int
	User string
	dir  string
	asPG bool
}

// BinDir finds PostgreSQL's server binaries (Debian's /usr/lib/postgresql/N/bin).
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb) not found; install Debian's postgresql package (bash scripts/test.sh does)")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server for the test, or skips the test with the reason.
func Start(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL integration test skipped in -short mode")
	}
	bin, err := BinDir()
	if err != nil {
		t.Skipf("skipping PostgreSQL integration test: %v", err)
	}
	s := &Server{Bin: bin, Host: "127.0.0.1", User: "postgres"}
	s.asPG = os.Geteuid() == 0
	if s.asPG {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skipf("skipping PostgreSQL integration test: running as root but there is no postgres user: %v", err)
		}
	}
	// The data directory must be reachable by the postgres user, so it is
	// not under the test's (root-only) temp dir.
	s.dir, err = os.MkdirTemp("", "cadang-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	if s.asPG {
		if err := os.Chmod(s.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres:postgres", s.dir).CombinedOutput(); err != nil {
			t.Skipf("skipping PostgreSQL integration test: chown: %v %s", err, out)
		}
	}
	if out, err := s.run("initdb", "-D", filepath.Join(s.dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Skipf("skipping PostgreSQL integration test: initdb failed: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		s.Port, err = freePort()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60",
			"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c full_page_writes=off", s.Port, s.dir), "start")
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Skipf("skipping PostgreSQL integration test: pg_ctl start failed: %v\n%s\n%s", err, out, log)
		}
	}
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	})
	return s
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.Bin, name)
	var cmd *exec.Cmd
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = os.TempDir()
	return cmd.CombinedOutput()
}

// Env returns the environment for client programs (psql, pg_dump) to reach
// the server.
func (s *Server) Env() []string {
	return append(os.Environ(), "PGHOST="+s.Host, "PGPORT="+strconv.Itoa(s.Port), "PGUSER="+s.User)
}

// Command returns a client command (psql, pg_dump, ...) set up for the server.
func (s *Server) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, name), args...)
	cmd.Env = s.Env()
	return cmd
}

// Exec runs SQL through psql and returns its output (unaligned, tuples only).
func (s *Server) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := s.Command(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db)
	cmd.Stdin = bytes.NewBufferString(sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("psql on %s: %v\n%s", db, err, stderr.String())
	}
	return string(out)
}
