package main

// End-to-end tests of the command line against a real S3 server
// (versitygw; scripts/test.sh starts one). Skipped without one.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/location"
)

// s3TestRepo returns an s3: location in a fresh bucket of the server named
// by CADANG_TEST_S3_ENDPOINT, with the credentials in the environment, or
// skips the test.
func s3TestRepo(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("CADANG_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("versitygw not running: set CADANG_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:7070), CADANG_TEST_S3_ACCESS and CADANG_TEST_S3_SECRET (scripts/test.sh starts one)")
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		t.Fatalf("CADANG_TEST_S3_ENDPOINT=%q: want http[s]://HOST:PORT", ep)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("CADANG_TEST_S3_ACCESS"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("CADANG_TEST_S3_SECRET"))
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "s3:" + u.Scheme + "://" + u.Host + "/cadang-cli-" + hex.EncodeToString(b[:]) + "/host/repo"
}

// s3Count counts the objects of a repository at loc (0 for no bucket).
func s3Count(t *testing.T, loc string) int {
	t.Helper()
	l, err := location.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	l.S3.RetryTimeout = 5 * time.Second
	be, err := location.Create(context.Background(), l)
	if err != nil {
		return 0 // a repository is there (config exists): count below
	}
	defer be.Close()
	n := 0
	for _, ft := range []backend.FileType{backend.ConfigFile, backend.KeyFile, backend.PackFile, backend.IndexFile, backend.SnapshotFile, backend.LockFile} {
		_ = be.List(context.Background(), ft, func(backend.FileInfo) error { n++; return nil })
	}
	return n
}

func TestS3BackupRestoreCheck(t *testing.T) {
	loc := s3TestRepo(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	nfiles := makeSourceTree(t, src)

	start := time.Now()
	sum := cliBackup(t, loc, "--init", src)
	if got := num(t, sum, "files_new"); got != float64(nfiles) {
		t.Errorf("files_new = %v, want %d", got, nfiles)
	}
	first := str(t, sum, "snapshot_id")
	t.Logf("first backup (with init) of %d files to %s: %v", nfiles, loc, time.Since(start))

	// A second backup of changed data is incremental.
	writeFileT(t, filepath.Join(src, "new-file"), randBytes(99, 200_000), 0o644)
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

	sns := cliSnapshots(t, loc)
	if len(sns) != 2 || sns[0].ID != first && sns[1].ID != first {
		t.Fatalf("snapshots: %+v", sns)
	}

	// Restore is byte-identical.
	want := scanDir(t, src)
	target := filepath.Join(dir, "restore")
	start = time.Now()
	cliOK(t, "-r", loc, "restore", "latest", "--target", target)
	compareTrees(t, want, scanDir(t, filepath.Join(target, src)), false)
	t.Logf("restore: %v", time.Since(start))

	start = time.Now()
	res := cliOK(t, "-r", loc, "check", "--read-data")
	t.Logf("check --read-data: %v\n%s", time.Since(start), res.stdout)

	// The location shows in messages as given.
	if res := cliOK(t, "-r", loc, "snapshots"); strings.Contains(res.stderr, "local") {
		t.Errorf("snapshots: %s", res)
	}
}

func TestS3WrongSecret(t *testing.T) {
	loc := s3TestRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("data"), 0o644)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	res := cliCode(t, 1, "-r", loc, "backup", "--init", src)
	if !strings.Contains(res.stderr, "Access Denied") || !strings.Contains(res.stderr, "credentials") {
		t.Errorf("want a clear credentials error:\n%s", res)
	}
	cliCode(t, 1, "-r", loc, "snapshots")
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("CADANG_TEST_S3_SECRET"))
	if n := s3Count(t, loc); n != 0 {
		t.Errorf("%d objects written with a wrong secret", n)
	}
	// A missing repository is reported as such, with its own exit code.
	res = cliCode(t, 10, "-r", loc, "snapshots")
	if !strings.Contains(res.stderr, "repository does not exist") {
		t.Errorf("snapshots of a missing repository:\n%s", res)
	}
}

func TestS3BadLocation(t *testing.T) {
	res := cliRun(t, nil, "-r", "s3:http:///nobucket", "snapshots")
	if res.code == 0 || !strings.Contains(res.stderr, "s3:http:///nobucket") {
		t.Errorf("bad location: %s", res)
	}
}
