package main

// Tests of issue 13's "Secrets": what child processes see, the modes of
// the files cadang writes, password files that others can read, and the
// KDF floor of new key files.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCLIDumpCommandDoesNotStorePassword backs up a dump command that
// prints its environment, restores the backup and greps it: the
// repository password must not be there.
func TestCLIDumpCommandDoesNotStorePassword(t *testing.T) {
	repoDir := cliNewRepo(t) // sets CADANG_PASSWORD
	t.Setenv("CADANG_FROM_PASSWORD", "from-password-2e9d")
	t.Setenv("PGPASSWORD", "pg-secret-for-pg_dump")
	cliOK(t, "-r", repoDir, "backup", "--stdin-from-command", "--stdin-filename", "env.txt", "--", "sh", "-c", "env; echo end-of-env")
	target := t.TempDir()
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target)
	got, err := os.ReadFile(filepath.Join(target, "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("end-of-env")) || !bytes.Contains(got, []byte("PGPASSWORD=pg-secret-for-pg_dump")) {
		t.Fatalf("restored dump is not the command's output:\n%s", got)
	}
	for _, secret := range []string{cliTestPassword, "from-password-2e9d"} {
		if bytes.Contains(got, []byte(secret)) {
			t.Errorf("the backup holds the password %q:\n%s", secret, got)
		}
	}
}

// TestCLIPasswordCommandEnvironment: the password command does not see a
// CADANG_PASSWORD exported beside it (it wins over that variable, and
// has no business reading it).
func TestCLIPasswordCommandEnvironment(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(cliTestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "env.txt")
	cliOK(t, "-r", repoDir, "--password-command", "env > "+envFile+"; cat "+pwFile, "snapshots")
	got, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), cliTestPassword) {
		t.Errorf("the password command saw the password in its environment:\n%s", got)
	}
	if !strings.Contains(string(got), "PATH=") {
		t.Errorf("the password command lost its environment:\n%s", got)
	}
}

// TestCLIPasswordFileModeWarnings: every password file the CLI reads
// warns on stderr, even with --quiet, when its group or others can read
// it, naming the file and its mode; a private file is read silently.
func TestCLIPasswordFileModeWarnings(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	pwFile := func(name, pw string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not left to the umask
			t.Fatal(err)
		}
		return p
	}
	wantWarning := func(res cliResult, file, mode string) {
		t.Helper()
		want := "warning: password file " + file + " can be read by "
		if !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "(mode "+mode+")") {
			t.Errorf("no warning naming %s and mode %s:\n%s", file, mode, res)
		}
	}

	open := pwFile("repo.pw", cliTestPassword, 0o644)
	wantWarning(cliOK(t, "-r", repoDir, "--quiet", "--password-file", open, "snapshots"), open, "0644")
	private := pwFile("private.pw", cliTestPassword, 0o600)
	if res := cliOK(t, "-r", repoDir, "--password-file", private, "snapshots"); strings.Contains(res.stderr, "password file") {
		t.Errorf("a private password file gave a warning:\n%s", res)
	}

	newPw := pwFile("new.pw", "a second password", 0o640)
	wantWarning(cliOK(t, "-r", repoDir, "key", "add", "--new-password-file", newPw), newPw, "0640")

	fromPw := pwFile("from.pw", cliTestPassword, 0o604)
	wantWarning(cliOK(t, "-r", filepath.Join(dir, "copy"), "init", "--copy-chunker-params", "--from-repo", repoDir, "--from-password-file", fromPw), fromPw, "0604")
}

// TestCLIDumpTargetIsPrivate: `dump -t FILE` writes backup contents, so
// a new FILE is 0600 whatever the umask allows; an existing file keeps
// the mode its owner gave it, with a warning when others can read it.
func TestCLIDumpTargetIsPrivate(t *testing.T) {
	repoDir := cliNewRepo(t)
	cliOK(t, "-r", repoDir, "backup", "--stdin-from-command", "--stdin-filename", "db.sql", "--", "echo", "INSERT INTO rahasia")
	dir := t.TempDir()
	out := filepath.Join(dir, "db.sql")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	cliOK(t, "-r", repoDir, "dump", "latest", "/db.sql", "-t", out)
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("dump -t created %s with mode %04o, want 0600", out, fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(out); string(b) != "INSERT INTO rahasia\n" {
		t.Errorf("dump -t wrote %q", b)
	}

	shared := filepath.Join(dir, "shared.sql")
	if err := os.WriteFile(shared, []byte("old content that is longer than the new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o644); err != nil {
		t.Fatal(err)
	}
	res := cliOK(t, "-r", repoDir, "dump", "latest", "/db.sql", "-t", shared)
	if !strings.Contains(res.stderr, shared) || !strings.Contains(res.stderr, "0644") {
		t.Errorf("no warning about the existing target readable by others:\n%s", res)
	}
	if b, _ := os.ReadFile(shared); string(b) != "INSERT INTO rahasia\n" {
		t.Errorf("dump -t onto an existing file left %q", b)
	}
}

// TestCLIKDFFloor: key add, key passwd and init refuse a CADANG_KDF below
// OWASP's argon2id minimum unless --insecure-kdf (or
// CADANG_INSECURE_KDF=1, as TestMain sets for the other tests); key list
// shows each key's cost and the host that made it.
func TestCLIKDFFloor(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv("CADANG_INSECURE_KDF", "")
	t.Setenv("CADANG_KDF", "1,8192,1")
	dir := t.TempDir()
	newPw := filepath.Join(dir, "new.pw")
	if err := os.WriteFile(newPw, []byte("another password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-r", repoDir, "key", "add", "--new-password-file", newPw},
		{"-r", repoDir, "key", "passwd", "--new-password-file", newPw},
		{"-r", filepath.Join(dir, "new-repo"), "init"},
		{"-r", filepath.Join(dir, "new-repo2"), "backup", "--init", dir},
	} {
		res := cliRun(t, nil, args...)
		if res.code == 0 || !strings.Contains(res.stderr, "below OWASP's minimum") || !strings.Contains(res.stderr, "--insecure-kdf") {
			t.Errorf("a KDF below the floor was not refused:\n%s", res)
		}
	}
	var keys []map[string]any
	if err := json.Unmarshal([]byte(cliOK(t, "-r", repoDir, "--json", "key", "list").stdout), &keys); err != nil || len(keys) != 1 {
		t.Fatalf("refused commands left %d keys (%v)", len(keys), err)
	}
	cliOK(t, "-r", repoDir, "key", "add", "--insecure-kdf", "--new-password-file", newPw)
	cliOK(t, "-r", filepath.Join(dir, "new-repo"), "init", "--insecure-kdf")
	t.Setenv("CADANG_KDF", "2,19456,1") // the floor itself
	cliOK(t, "-r", repoDir, "key", "add", "--new-password-file", newPw)

	host, _ := os.Hostname()
	text := cliOK(t, "-r", repoDir, "key", "list").stdout
	for _, want := range []string{"KDF", "argon2id t=1 m=8MiB p=1 (below minimum)", "argon2id t=2 m=19MiB p=1\n", host} {
		if !strings.Contains(text, want) {
			t.Errorf("key list does not show %q:\n%s", want, text)
		}
	}
}
