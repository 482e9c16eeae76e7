package main

// End-to-end tests of the command line against a real SFTP server
// (OpenSSH; scripts/test.sh starts one). Skipped without one.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/location"
)

// sftpTestRepo returns an sftp:// location in a fresh directory of the
// server named by CADANG_TEST_SFTP and the global flags that reach it (the
// identity and known hosts files), or skips the test.
func sftpTestRepo(t *testing.T) (loc string, flags []string) {
	t.Helper()
	base := os.Getenv("CADANG_TEST_SFTP")
	if base == "" {
		t.Skip("sshd not running: set CADANG_TEST_SFTP (e.g. sftp://root@127.0.0.1:2222/tmp/dir), CADANG_TEST_SFTP_IDENTITY and CADANG_TEST_SFTP_KNOWN_HOSTS (scripts/test.sh starts one)")
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "sftp" || u.Host == "" {
		t.Fatalf("CADANG_TEST_SFTP=%q: want sftp://USER@HOST:PORT/DIR", base)
	}
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	// cliBackup puts its flags after the command: the files reach it
	// through the flags' variables; other runs give the flags.
	t.Setenv("CADANG_SFTP_IDENTITY", os.Getenv("CADANG_TEST_SFTP_IDENTITY"))
	t.Setenv("CADANG_SFTP_KNOWN_HOSTS", os.Getenv("CADANG_TEST_SFTP_KNOWN_HOSTS"))
	t.Setenv("SSH_AUTH_SOCK", "")
	var b [6]byte
	_, _ = rand.Read(b[:])
	loc = strings.TrimRight(base, "/") + "/cadang-cli-" + hex.EncodeToString(b[:]) + "/repo"
	return loc, []string{
		"--sftp-identity", os.Getenv("CADANG_TEST_SFTP_IDENTITY"),
		"--sftp-known-hosts", os.Getenv("CADANG_TEST_SFTP_KNOWN_HOSTS"),
	}
}

// sftpCount counts the files of a repository at loc (0 for no directory).
func sftpCount(t *testing.T, loc string) int {
	t.Helper()
	location.SFTPIdentityFile = os.Getenv("CADANG_TEST_SFTP_IDENTITY")
	location.SFTPKnownHostsFile = os.Getenv("CADANG_TEST_SFTP_KNOWN_HOSTS")
	defer func() { location.SFTPIdentityFile, location.SFTPKnownHostsFile = "", "" }()
	l, err := location.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	l.SFTP.RetryTimeout = 5 * time.Second
	be, err := location.Open(context.Background(), l)
	if err != nil {
		if strings.Contains(err.Error(), "directory not found") {
			return 0
		}
		be, err = location.Create(context.Background(), l)
		if err != nil {
			t.Fatalf("count files at %s: %v", loc, err)
		}
	}
	defer be.Close()
	n := 0
	for _, ft := range []backend.FileType{backend.ConfigFile, backend.KeyFile, backend.PackFile, backend.IndexFile, backend.SnapshotFile, backend.LockFile} {
		_ = be.List(context.Background(), ft, func(backend.FileInfo) error { n++; return nil })
	}
	return n
}

func TestSFTPBackupRestoreCheck(t *testing.T) {
	loc, fl := sftpTestRepo(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	nfiles := makeSourceTree(t, src)
	args := func(a ...string) []string { return append(append([]string{}, fl...), a...) }

	start := time.Now()
	cliOK(t, args("-r", loc, "init")...)
	t.Logf("init at %s: %v", loc, time.Since(start))

	start = time.Now()
	sum := cliBackup(t, loc, src)
	if got := num(t, sum, "files_new"); got != float64(nfiles) {
		t.Errorf("files_new = %v, want %d", got, nfiles)
	}
	first := str(t, sum, "snapshot_id")
	t.Logf("first backup of %d files: %v", nfiles, time.Since(start))

	writeFileT(t, filepath.Join(src, "new-file"), randBytes(98, 200_000), 0o644)
	start = time.Now()
	sum = cliBackup(t, loc, src)
	if got := num(t, sum, "files_new"); got != 1 {
		t.Errorf("second backup: files_new = %v, want 1", got)
	}
	if got := num(t, sum, "files_unmodified"); got != float64(nfiles) {
		t.Errorf("second backup: files_unmodified = %v, want %d", got, nfiles)
	}
	if added := num(t, sum, "data_added"); added > 1<<20 {
		t.Errorf("second backup added %v bytes: not incremental", added)
	}
	t.Logf("incremental backup: %v", time.Since(start))

	res := cliOK(t, args("-r", loc, "snapshots", "--json")...)
	if !strings.Contains(res.stdout, first) {
		t.Errorf("snapshots do not list the first backup %s:\n%s", first, res.stdout)
	}

	want := scanDir(t, src)
	target := filepath.Join(dir, "restore")
	start = time.Now()
	cliOK(t, args("-r", loc, "restore", "latest", "--target", target)...)
	compareTrees(t, want, scanDir(t, filepath.Join(target, src)), false)
	t.Logf("restore: %v", time.Since(start))

	start = time.Now()
	res = cliOK(t, args("-r", loc, "check", "--read-data")...)
	t.Logf("check --read-data: %v\n%s", time.Since(start), res.stdout)
}

func TestSFTPHostKeyRefused(t *testing.T) {
	loc, fl := sftpTestRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("data"), 0o644)

	// Unknown host: an empty known hosts file.
	empty := filepath.Join(t.TempDir(), "known_hosts")
	writeFileT(t, empty, nil, 0o600)
	res := cliCode(t, 1, "--sftp-identity", fl[1], "--sftp-known-hosts", empty, "-r", loc, "backup", "--init", src)
	if !strings.Contains(res.stderr, "unknown host") || !strings.Contains(res.stderr, empty) {
		t.Errorf("want a clear unknown-host error naming the file:\n%s", res)
	}

	// Changed host key: the host's line with another key.
	data, err := os.ReadFile(fl[3])
	if err != nil {
		t.Fatal(err)
	}
	host := strings.Fields(string(data))[0]
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "known_hosts")
	writeFileT(t, changed, []byte(host+" "+string(ssh.MarshalAuthorizedKey(other))), 0o600)
	res = cliCode(t, 1, "--sftp-identity", fl[1], "--sftp-known-hosts", changed, "-r", loc, "backup", "--init", src)
	if !strings.Contains(res.stderr, "HOST KEY CHANGED") || !strings.Contains(res.stderr, changed) {
		t.Errorf("want a clear changed-host-key error naming the file:\n%s", res)
	}

	if n := sftpCount(t, loc); n != 0 {
		t.Errorf("%d files written after a refused host key", n)
	}
	// With the right files, a missing repository is reported as such.
	res = cliCode(t, 10, append(fl, "-r", loc, "snapshots")...)
	if !strings.Contains(res.stderr, "repository does not exist") {
		t.Errorf("snapshots of a missing repository:\n%s", res)
	}
}

func TestSFTPBadLocation(t *testing.T) {
	res := cliRun(t, nil, "-r", "sftp://u@host/~/repo", "snapshots")
	if res.code == 0 || !strings.Contains(res.stderr, "absolute") {
		t.Errorf("home-relative location: %s", res)
	}
}
