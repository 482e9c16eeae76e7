package pgdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/testpg"
)

// TestThrowawayPrivate: the throwaway server listens on no TCP address,
// only on a socket in its 0700 directory, and rejects TCP connections in
// its pg_hba.conf; a plain script loads there in one transaction, and a
// --create script fails rather than dropping and creating databases.
func TestThrowawayPrivate(t *testing.T) {
	s := testpg.Start(t) // skips without PostgreSQL
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	parent := scratchParent(t)
	tw, err := StartThrowaway(ctx, s.Bin, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop()
	if got, err := tw.Query(ctx, "postgres", "SHOW listen_addresses"); err != nil || got != "" {
		t.Errorf("listen_addresses %q %v", got, err)
	}
	if tw.Host != tw.dir {
		t.Errorf("host %q, want the socket directory %q", tw.Host, tw.dir)
	}
	if fi, err := os.Stat(tw.dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory %v %v", fi.Mode(), err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(tw.Port), time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on 127.0.0.1:%d", tw.Port)
	}
	hba, _ := os.ReadFile(filepath.Join(tw.dir, "data", "pg_hba.conf"))
	for _, l := range strings.Split(string(hba), "\n") {
		if strings.HasPrefix(l, "host") && !strings.HasSuffix(strings.TrimSpace(l), "reject") {
			t.Errorf("pg_hba.conf: %q", l)
		}
	}

	// Plain scripts: only the throwaway takes them.
	s.Exec(t, "postgres", "CREATE DATABASE spse")
	s.Exec(t, "spse", "CREATE TABLE tender (id int); INSERT INTO tender VALUES (1), (2);")
	dir := t.TempDir()
	plain, create := filepath.Join(dir, "plain.sql"), filepath.Join(dir, "create.sql")
	for file, args := range map[string][]string{plain: {"-Fp"}, create: {"-Fp", "--clean", "--create"}} {
		if out, err := s.Command(ctx, "pg_dump", append(args, "-f", file, "spse")...).CombinedOutput(); err != nil {
			t.Fatalf("pg_dump: %v %s", err, out)
		}
	}
	c := Conn{Bin: s.Bin, Host: s.Host, Port: s.Port, User: s.User}
	if err := c.CreateDB(ctx, "cadang_rt_plain"); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, "cadang_rt_plain", create); !errors.Is(err, ErrPlainScript) {
		t.Errorf("a --clean --create script on a server: %v", err)
	}
	if got := strings.TrimSpace(s.Exec(t, "spse", "SELECT count(*) FROM tender")); got != "2" {
		t.Errorf("the source database after the refused load: %s rows", got)
	}
	if err := tw.CreateDB(ctx, "scratch"); err != nil {
		t.Fatal(err)
	}
	if err := tw.Load(ctx, "scratch", plain); err != nil {
		t.Fatal(err)
	}
	if got, err := tw.Query(ctx, "scratch", "SELECT count(*) FROM tender"); err != nil || got != "2" {
		t.Errorf("plain script on the throwaway: %q %v", got, err)
	}
	tw.CreateDB(ctx, "scratch2")
	if err := tw.Load(ctx, "scratch2", create); err == nil || !strings.Contains(err.Error(), "transaction block") {
		t.Errorf("a --create script on the throwaway: %v", err)
	}
	if got, _ := tw.Query(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'spse'"); got != "0" {
		t.Errorf("the --create script created its database")
	}
}

// TestThrowawayStaleCleaned: a throwaway server whose cadang was killed
// (its lock released without Stop) is stopped and removed by the next
// StartThrowaway in the same directory; one whose cadang still runs is
// not, nor a directory without cadang's lock file.
func TestThrowawayStaleCleaned(t *testing.T) {
	s := testpg.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	parent := scratchParent(t)
	live, err := StartThrowaway(ctx, s.Bin, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Stop()
	killed, err := StartThrowaway(ctx, s.Bin, parent)
	if err != nil {
		t.Fatal(err)
	}
	pidLine, _ := os.ReadFile(filepath.Join(killed.dir, "data", "postmaster.pid"))
	pid, _ := strconv.Atoi(strings.SplitN(string(pidLine), "\n", 2)[0])
	if pid <= 0 {
		t.Fatalf("postmaster.pid %q", pidLine)
	}
	killed.lock.Close() // what the death of its process does
	other := filepath.Join(parent, throwawayPrefix+"other")
	os.Mkdir(other, 0o700)

	next, err := StartThrowaway(ctx, s.Bin, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Stop()
	if _, err := os.Stat(killed.dir); !os.IsNotExist(err) {
		t.Errorf("stale directory left: %v", err)
	}
	// pg_ctl -w stop returns once postmaster.pid is gone, a moment before
	// the process has exited (and it may linger as a zombie of an init
	// that reaps slowly): give it a few seconds.
	if !exited(pid, 10*time.Second) {
		exec.Command("kill", "-9", strconv.Itoa(pid)).Run()
		t.Errorf("stale server %d still runs", pid)
	}
	if _, err := live.Query(ctx, "postgres", "SELECT 1"); err != nil {
		t.Errorf("the live server was stopped: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a directory without the lock file was removed: %v", err)
	}
}

// scratchParent is a directory the postgres user can enter (t.TempDir's
// parent is 0700), removed after the test.
func scratchParent(t *testing.T) string {
	d, err := os.MkdirTemp("", "cadang-tw-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// exited waits up to d for process pid to be gone or a zombie.
func exited(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := strings.LastIndexByte(string(st), ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				return true
			}
		}
		if time.Now().After(end) {
			return false
		}
	}
}
