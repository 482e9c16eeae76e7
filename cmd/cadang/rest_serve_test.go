package main

// End-to-end tests of `cadang serve` and rest: locations: the command line
// as a client of an in-process server over loopback HTTP, and the serve
// command itself.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lpse/cadang/repo/backend/rest/server"
)

// restServer serves a new root directory on a loopback port until the
// test ends; it returns the root and the address.
func restServer(t *testing.T, cfg server.Config) (root, addr string) {
	t.Helper()
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	t.Setenv("CADANG_REST_CACERT", "")
	cfg.Root = t.TempDir()
	var mu sync.Mutex
	cfg.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("server: "+format, args...)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, "", "") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cfg.Root, ln.Addr().String()
}

// filesUnder lists the files under dir with their sizes, locks left out.
func filesUnder(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "locks/") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[rel] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRESTBackupRestoreCheck(t *testing.T) {
	root, addr := restServer(t, server.Config{})
	loc := "rest:http://" + addr + "/spse"
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	nfiles := makeSourceTree(t, src)

	sum := cliBackup(t, loc, "--init", src)
	if got := num(t, sum, "files_new"); got != float64(nfiles) {
		t.Errorf("files_new = %v, want %d", got, nfiles)
	}
	writeFileT(t, filepath.Join(src, "new-file"), randBytes(99, 200_000), 0o644)
	sum = cliBackup(t, loc, src)
	if got := num(t, sum, "files_new"); got != 1 {
		t.Errorf("second backup: files_new = %v, want 1", got)
	}
	if added := num(t, sum, "data_added"); added > 1<<20 {
		t.Errorf("second backup added %v bytes: not incremental", added)
	}
	if sns := cliSnapshots(t, loc); len(sns) != 2 {
		t.Fatalf("snapshots: %+v", sns)
	}
	want := scanDir(t, src)
	target := filepath.Join(dir, "restore")
	cliOK(t, "-r", loc, "restore", "latest", "--target", target)
	compareTrees(t, want, scanDir(t, filepath.Join(target, src)), false)
	cliOK(t, "-r", loc, "check", "--read-data")

	// The server stored a local repository: the directory itself opens
	// and checks, with the same snapshots.
	if sns := cliSnapshots(t, filepath.Join(root, "spse")); len(sns) != 2 {
		t.Errorf("snapshots of the directory: %+v", sns)
	}
	cliOK(t, "-r", filepath.Join(root, "spse"), "check")
}

// TestRESTAppendOnly: a client of an append-only server backs up, but its
// forget and prune are refused with a clear error and nothing is deleted.
// Forget and prune run on the backup host, against the directory.
func TestRESTAppendOnly(t *testing.T) {
	root, addr := restServer(t, server.Config{AppendOnly: true})
	loc := "rest:http://" + addr + "/spse"
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	first := str(t, cliBackup(t, loc, "--init", src), "snapshot_id")
	_ = first
	// A large file that only the first snapshot has: its packs become
	// wholly unused when that snapshot is forgotten.
	writeFileT(t, filepath.Join(src, "only-in-first"), randBytes(5, 12<<20), 0o644)
	first = str(t, cliBackup(t, loc, src), "snapshot_id")
	if err := os.Remove(filepath.Join(src, "only-in-first")); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(src, "new-file"), randBytes(7, 300_000), 0o644)
	cliBackup(t, loc, src)
	repoDir := filepath.Join(root, "spse")

	before := filesUnder(t, repoDir)
	assertKept := func(what string) {
		t.Helper()
		after := filesUnder(t, repoDir)
		for f, size := range before {
			if after[f] != size {
				t.Errorf("%s: %s (%d bytes) is gone or changed", what, f, size)
			}
		}
	}
	for _, args := range [][]string{
		{"forget", first},
		{"forget", "--keep-last", "1"},
		{"forget", "--keep-last", "1", "--prune"},
	} {
		res := cliCode(t, 1, append([]string{"-r", loc}, args...)...)
		want := "the server at " + loc + " is append-only: deleting snapshots/"
		if !strings.Contains(res.stderr, want) {
			t.Errorf("%s: want %q in the error:\n%s", strings.Join(args, " "), want, res)
		}
		assertKept(strings.Join(args, " "))
	}
	if sns := cliSnapshots(t, loc); len(sns) != 3 {
		t.Errorf("snapshots after refused forgets: %+v", sns)
	}

	// On the backup host, forget works against the directory; prune from
	// the client, which would delete or mark the freed packs, is refused.
	cliOK(t, "-r", repoDir, "forget", first)
	before = filesUnder(t, repoDir)
	// Prune refuses before it writes anything: no repacked copies, no
	// obsolete list. A dry run only reads, and runs.
	for _, args := range [][]string{{"prune"}, {"prune", "--max-unused", "0", "--repack-small"}} {
		res := cliCode(t, 1, append([]string{"-r", loc}, args...)...)
		if !strings.Contains(res.stderr, "prune: the server at "+loc+" is append-only") || !strings.Contains(res.stderr, "run it on the backup host") {
			t.Errorf("prune through an append-only server:\n%s", res)
		}
		for f := range filesUnder(t, repoDir) {
			if _, ok := before[f]; !ok && !strings.HasPrefix(f, "records/") { // the run-log record of the refusal
				t.Errorf("%s wrote %s", strings.Join(args, " "), f)
			}
		}
		before = filesUnder(t, repoDir)
	}
	cliOK(t, "-r", loc, "prune", "--dry-run")
	assertKept("prune")
	// The prune on the backup host does its work.
	cliOK(t, "-r", repoDir, "prune")
	cliOK(t, "-r", loc, "check")
}

// TestRESTAppendOnlyReplacements: the commands that write a new file and
// then remove the old one (tag, repair index, key passwd) are refused
// through an append-only server before they write anything, instead of
// leaving a second snapshot, a second index or the old password behind.
func TestRESTAppendOnlyReplacements(t *testing.T) {
	root, addr := restServer(t, server.Config{AppendOnly: true})
	loc := "rest:http://" + addr + "/spse"
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	id := str(t, cliBackup(t, loc, "--init", src), "snapshot_id")
	repoDir := filepath.Join(root, "spse")
	pw2 := filepath.Join(t.TempDir(), "pw2")
	writeFileT(t, pw2, []byte("another password"), 0o600)

	for _, args := range [][]string{
		{"tag", "--add", "evil", "latest"},
		{"tag", "--set", "x", id[:8]},
		{"repair", "index"},
		{"key", "passwd", "--new-password-file", pw2},
	} {
		before := filesUnder(t, repoDir)
		res := cliCode(t, 1, append([]string{"-r", loc}, args...)...)
		op := strings.Join(args[:2], " ")
		if args[0] == "tag" {
			op = "tag"
		}
		want := op + ": the server at " + loc + " is append-only"
		if !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "nothing was changed") {
			t.Errorf("want %q and \"nothing was changed\" in the error:\n%s", want, res)
		}
		after := filesUnder(t, repoDir)
		for f := range after {
			if _, ok := before[f]; !ok && !strings.HasPrefix(f, "records/") { // the run-log record of the refusal
				t.Errorf("%s wrote %s", strings.Join(args, " "), f)
			}
		}
		if len(after) < len(before) {
			t.Errorf("%s removed files", strings.Join(args, " "))
		}
	}
	sns := cliSnapshots(t, loc)
	if len(sns) != 1 || sns[0].ID != id {
		t.Errorf("snapshots after the refused tags: %+v, want only %s", sns, id)
	}
	// The old password still opens, the new one does not.
	t.Setenv("CADANG_PASSWORD", "another password")
	cliCode(t, 12, "-r", loc, "snapshots")
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	// Lock files may still go: unlock works through the server.
	cliOK(t, "-r", loc, "unlock", "--remove-all")
	// Against the directory, tag works.
	cliOK(t, "-r", repoDir, "tag", "--add", "ok", "latest")
	if sns := cliSnapshots(t, loc); len(sns) != 1 || len(sns[0].Tags) != 1 {
		t.Errorf("snapshots after the tag on the backup host: %+v", sns)
	}
}

func TestRESTWrongCredentials(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("rest-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := server.ParseHtpasswd(strings.NewReader("spse:" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	root, addr := restServer(t, server.Config{Users: users})
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("data"), 0o644)

	for _, loc := range []string{
		"rest:http://spse:wrong-pw@" + addr + "/spse",
		"rest:http://intruder:rest-s3cret@" + addr + "/spse",
	} {
		res := cliCode(t, 1, "-r", loc, "backup", "--init", src)
		user := strings.TrimPrefix(strings.Split(loc, ":")[2], "//")
		want := "wrong user or password for rest:http://" + user + "@" + addr + "/spse"
		if !strings.Contains(res.stderr, want) {
			t.Errorf("want %q:\n%s", want, res)
		}
		if strings.Contains(res.stderr+res.stdout, "wrong-pw") || strings.Contains(res.stderr+res.stdout, "rest-s3cret") {
			t.Errorf("the output shows the password:\n%s", res)
		}
	}
	// No user at all: the error says how to give one.
	res := cliCode(t, 1, "-r", "rest:http://"+addr+"/spse", "snapshots")
	if !strings.Contains(res.stderr, "CADANG_REST_PASSWORD") {
		t.Errorf("no user:\n%s", res)
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("files written with wrong credentials: %v", files)
	}
	// The right password, from the environment.
	t.Setenv("CADANG_REST_PASSWORD", "rest-s3cret")
	cliBackup(t, "rest:http://spse@"+addr+"/spse", "--init", src)
	if n := len(cliSnapshots(t, "rest:http://spse@"+addr+"/spse")); n != 1 {
		t.Errorf("%d snapshots", n)
	}
}

// TestUnknownLocationScheme: a location with a scheme cadang does not know
// is an error listing the known ones, and nothing is created on disk.
func TestUnknownLocationScheme(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	cwd := t.TempDir()
	t.Chdir(cwd)
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("data"), 0o644)
	for _, args := range [][]string{
		{"-r", "b2:bucket/repo", "init"},
		{"-r", "S3:http://127.0.0.1:7091/bucket/repo", "init"},
		{"-r", "rclone:remote:repo", "backup", "--init", src},
		{"-r", "foo:bar", "snapshots"},
	} {
		res := cliCode(t, 1, args...)
		for _, want := range []string{args[1], "local:PATH", "s3:", "sftp://", "rest:http"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%s: want %q in the error:\n%s", args[1], want, res)
			}
		}
	}
	if ents, err := os.ReadDir(cwd); err != nil || len(ents) != 0 {
		t.Errorf("the working directory after refused locations: %v, %v", ents, err)
	}
	// A directory whose name has a colon, written so, works.
	cliOK(t, "-r", "./s3:odd", "init")
	cliOK(t, "-r", "local:b2:odd", "init")
	ents, _ := os.ReadDir(cwd)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "b2:odd s3:odd" {
		t.Errorf("directories: %v", names)
	}
}

// syncBuffer is a bytes.Buffer for a goroutine's output read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs `cadang serve` itself: it prints where it
// listens, serves a backup, and stops cleanly when interrupted.
func TestServeCommand(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	root := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htp := filepath.Join(t.TempDir(), "htpasswd")
	writeFileT(t, htp, []byte("spse:"+string(hash)+"\n"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"cadang", "serve", "--listen", "127.0.0.1:0", "--root", root, "--append-only", "--htpasswd", htp},
			strings.NewReader(""), &syncBuffer{}, &stderr)
	}()
	re := regexp.MustCompile(`serving .* at (http://127\.0\.0\.1:\d+)/ \(append-only\)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	loc := strings.Replace(base, "http://", "rest:http://spse:pw@", 1) + "/arsip"
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), randBytes(3, 100_000), 0o644)
	cliBackup(t, loc, "--init", src)
	if _, err := os.Stat(filepath.Join(root, "arsip", "config")); err != nil {
		t.Errorf("the repository is not in --root: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 && code != exitInterrupted {
			t.Errorf("serve exited %d after the interrupt:\n%s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}

	// Refusals at start: a weak htpasswd entry, TLS half given, no root.
	writeFileT(t, htp+"2", []byte("spse:$apr1$abcdefgh$0123456789012345678901\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "127.0.0.1:0", "--root", root, "--htpasswd", htp + "2"}, "only bcrypt entries"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--root", root, "--tls-cert", htp}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--root", filepath.Join(root, "missing")}, "missing"},
	} {
		res := cliCode(t, 1, c.args...)
		if !strings.Contains(res.stderr, c.want) {
			t.Errorf("want %q:\n%s", c.want, res)
		}
	}
}

// TestRESTKilledClient kills a real cadang process in the middle of a
// backup to the server, several times: the server keeps no half file and
// no temporary file, keeps serving, and the next backup completes and
// restores byte for byte.
func TestRESTKilledClient(t *testing.T) {
	root, addr := restServer(t, server.Config{})
	loc := "rest:http://" + addr + "/spse"
	repoDir := filepath.Join(root, "spse")
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	for i := range 3 {
		writeFileT(t, filepath.Join(src, "big", fmt.Sprint(i)), randBytes(uint64(100+i), 16<<20), 0o644)
	}
	packs := func() int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(repoDir, "data"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
				n++
			}
			return nil
		})
		return n
	}
	for round := range 3 {
		before := packs()
		args := []string{"-r", loc, "backup", src}
		if round == 0 {
			args = []string{"-r", loc, "backup", "--init", src}
		}
		cmd := cliProcess(t, args...)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it has stored a few packs: uploads are under way.
		deadline := time.Now().Add(time.Minute)
		for packs() < before+2+round && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Logf("round %d: killed after %d new packs", round, packs()-before)
		// Every stored pack is whole: its name is the SHA-256 of its bytes.
		_ = filepath.WalkDir(filepath.Join(repoDir, "data"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
				return err // a temporary file: see below
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Error(err)
				return nil
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.Name() {
				t.Errorf("round %d: %s is not whole (%d bytes)", round, p, len(b))
			}
			return nil
		})
		// Uploads in flight end with the connection: no temporary file stays.
		// (Looked for after the packs: the server may still be ending a
		// request of the killed client, and start its temporary file
		// after a first look found none.)
		var tmp []string
		for deadline := time.Now().Add(10 * time.Second); ; {
			tmp = tmp[:0]
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
					tmp = append(tmp, p)
				}
				return nil
			})
			if len(tmp) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(tmp) != 0 {
			t.Errorf("round %d: temporary files left: %v", round, tmp)
		}
	}
	// The server still serves: a backup completes, checks and restores.
	cliBackup(t, loc, src)
	cliOK(t, "-r", loc, "check", "--read-data")
	target := filepath.Join(t.TempDir(), "restore")
	cliOK(t, "-r", loc, "restore", "latest", "--target", target)
	compareTrees(t, scanDir(t, src), scanDir(t, filepath.Join(target, src)), false)
}

// TestRESTTwoListeners is the placement the README gives: the SPSE server
// backs up through an append-only server, and retention runs through a
// second, normal server on the same directory.
func TestRESTTwoListeners(t *testing.T) {
	root, appendAddr := restServer(t, server.Config{AppendOnly: true})
	s, err := server.New(server.Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, "", "") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	client := "rest:http://" + appendAddr + "/spse"
	admin := "rest:http://" + ln.Addr().String() + "/spse"

	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	for i := range 3 {
		writeFileT(t, filepath.Join(src, "day"), randBytes(uint64(i), 2<<20), 0o644)
		cliBackup(t, client, "--init", src)
	}
	dataBytes := func() (n int64) {
		for f, size := range filesUnder(t, filepath.Join(root, "spse")) {
			if strings.HasPrefix(f, "data/") {
				n += size
			}
		}
		return n
	}
	before := dataBytes()
	cliCode(t, 1, "-r", client, "forget", "--keep-last", "1")
	cliOK(t, "-r", admin, "forget", "--keep-last", "1", "--prune")
	cliOK(t, "-r", admin, "prune") // the second prune deletes what the first marked
	if after := dataBytes(); after > before-3<<20 {
		t.Errorf("packs: %d bytes before, %d after forgetting two 2 MiB days", before, after)
	}
	if sns := cliSnapshots(t, client); len(sns) != 1 {
		t.Errorf("snapshots after the admin's forget: %d, want 1", len(sns))
	}
	cliOK(t, "-r", client, "check", "--read-data")
	target := filepath.Join(t.TempDir(), "restore")
	cliOK(t, "-r", client, "restore", "latest", "--target", target)
	compareTrees(t, scanDir(t, src), scanDir(t, filepath.Join(target, src)), false)
}

// TestRESTServerRestart stops the server in the middle of a backup and
// starts it again two seconds later on the same address: the client
// retries, and the backup completes and checks.
func TestRESTServerRestart(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	root := t.TempDir()
	serve := func(addr string) (stop func()) {
		s, err := server.New(server.Config{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		var ln net.Listener
		for deadline := time.Now().Add(10 * time.Second); ; {
			if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, ln, "", "") }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	// A free port, for both servers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop := serve(addr)

	loc := "rest:http://" + addr + "/spse"
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	for i := range 3 {
		writeFileT(t, filepath.Join(src, "big", fmt.Sprint(i)), randBytes(uint64(200+i), 16<<20), 0o644)
	}
	cmd := cliProcess(t, "-r", loc, "backup", "--init", src)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(root, "spse", "data")
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		n := 0
		_ = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		if n >= 2 {
			break
		}
	}
	stop()
	t.Log("server stopped mid-backup")
	time.Sleep(2 * time.Second)
	stop = serve(addr)
	defer stop()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("backup across the restart: %v\n%s", err, out.String())
	}
	if sns := cliSnapshots(t, loc); len(sns) != 1 {
		t.Fatalf("snapshots: %+v", sns)
	}
	cliOK(t, "-r", loc, "check", "--read-data")
}
