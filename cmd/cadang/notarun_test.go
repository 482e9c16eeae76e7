package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A snapshot argument that names nothing (a typo at 3 a.m.) is a mistake,
// not a failed restore: the run log gets no record for it, so 'cadang
// status' asks no follow-up of it, and the error says what to do. A
// restore that ran is recorded as before.
func TestCLISnapshotTypoIsNotARun(t *testing.T) {
	log := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", log)
	repoDir := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "a"), []byte("one"), 0o644)
	first := str(t, cliBackup(t, repoDir, "--tag", "x", data), "snapshot_id")
	writeFileT(t, filepath.Join(data, "a"), []byte("two"), 0o644)
	last := str(t, cliBackup(t, repoDir, "--tag", "x", data), "snapshot_id")
	cliOK(t, "-r", repoDir, "forget", "--keep-last", "1")
	records := func() int {
		b, err := os.ReadFile(log)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	before := records()
	target := filepath.Join(t.TempDir(), "t")
	for _, c := range []struct{ arg, want string }{
		{"Latest", `snapshot "Latest": not a snapshot ID (the newest snapshot is written latest, in lower case)`},
		{last[:7] + "x", "not a snapshot ID (an ID is up to 64 hex digits"},
		{"7d", "too short"},
		{"0000ffff", "snapshot ID 0000ffff: no matching snapshot found ('cadang -r " + repoDir + " snapshots' lists the snapshots)"},
		{first[:8], "snapshot ID " + first[:8] + ": no matching snapshot found; a snapshot with that ID was forgotten on "},
		{"latest:/nonexist", "/nonexist: not found in snapshot " + last[:8] + " ("},
	} {
		res := cliCode(t, 1, "-r", repoDir, "restore", c.arg, "--target", target)
		if !strings.Contains(res.stderr, c.want) {
			t.Errorf("restore %s: want %q in\n%s", c.arg, c.want, res.stderr)
		}
	}
	// A mistyped tag on latest is the same mistake as a mistyped ID.
	if res := cliCode(t, 1, "-r", repoDir, "restore", "latest", "--tag", "source:uplaod", "--target", target); !strings.Contains(res.stderr, `snapshot "latest": no matching snapshot found for`) {
		t.Errorf("restore latest with a mistyped tag:\n%s", res.stderr)
	}
	// No repository given (the README's restore on request, typed
	// without -r): an error, no failed restore, no minutes number taken.
	t.Setenv("CADANG_REPOSITORY", "")
	for _, args := range [][]string{{"restore", "latest", "--target", target, "--requested-by", "Andi"}, {"backup", target}, {"check"}} {
		if res := cliCode(t, 1, args...); !strings.Contains(res.stderr, "no repository given") {
			t.Errorf("%s without -r:\n%s", args[0], res.stderr)
		}
	}
	t.Setenv("CADANG_FROM_REPOSITORY", "")
	if res := cliCode(t, 1, "-r", repoDir, "copy"); !strings.Contains(res.stderr, "no source repository given") {
		t.Errorf("copy without --from-repo:\n%s", res.stderr)
	}
	if n := records(); n != before {
		t.Fatalf("%d run-log records for mistyped snapshots or a missing -r", n-before)
	}
	if res := cliCode(t, 1, "-r", repoDir, "ls", "latest", "/etc"); !strings.Contains(res.stderr, "/etc: not found in snapshot "+last[:8]) {
		t.Errorf("ls of a path not there:\n%s", res.stderr)
	}
	// A whole ID is pasted from a record, not typed: its snapshot is gone,
	// which the run log keeps.
	gone := strings.Repeat("0", 56) + "0000ffff"
	if res := cliCode(t, 1, "-r", repoDir, "restore", gone, "--target", target); !strings.Contains(res.stderr, "snapshot ID "+gone+": no matching snapshot found") {
		t.Errorf("restore of a whole ID that is gone:\n%s", res.stderr)
	}
	if n := records(); n != before+1 {
		t.Fatalf("a whole ID that is gone: %d records, want 1", n-before)
	}
	// latest with a filter that matches nothing says which.
	if res := cliCode(t, 1, "-r", repoDir, "restore", "latest", "--host", "nosuchhost", "--target", target); !strings.Contains(res.stderr, "no matching snapshot found for --host nosuchhost") {
		t.Errorf("latest --host nosuchhost:\n%s", res.stderr)
	}
	before = records()
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target)
	if n := records(); n != before+1 {
		t.Fatalf("a restore that ran: %d records, want 1", n-before)
	}
}

// copy looks for the snapshots it names in the source: its hint names the
// source's listing, not --repo's.
func TestCLICopyNamedSnapshotHint(t *testing.T) {
	src, dst := cliNewRepo(t), cliNewRepo(t)
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "f"), []byte("x"), 0o644)
	cliBackup(t, src, data)
	res := cliCode(t, 1, "-r", dst, "copy", "--from-repo", src, "abcd1234")
	if !strings.Contains(res.stderr, "('cadang -r "+src+" snapshots' lists the snapshots)") {
		t.Errorf("copy of a snapshot the source lacks:\n%s", res.stderr)
	}
}

// A wrong password names where it came from: a password file exported
// long ago wins over the CADANG_PASSWORD just typed, as documented, and
// the error says so.
func TestCLIWrongPasswordNamesItsSource(t *testing.T) {
	repoDir := cliNewRepo(t)
	pw := filepath.Join(t.TempDir(), "pw")
	writeFileT(t, pw, []byte("stale\n"), 0o600)
	t.Setenv("CADANG_PASSWORD_FILE", pw)
	res := cliCode(t, exitWrongPassword, "-r", repoDir, "snapshots")
	if !strings.Contains(res.stderr, "(the password came from the password file "+pw) ||
		!strings.Contains(res.stderr, "; CADANG_PASSWORD set too, but not used: a password file wins over a command, and either over CADANG_PASSWORD") {
		t.Errorf("wrong password from a file:\n%s", res.stderr)
	}
	res = cliCode(t, exitWrongPassword, "-r", repoDir, "--password-command", "echo "+cliTestPassword, "snapshots")
	if !strings.Contains(res.stderr, "--password-command (or CADANG_PASSWORD_COMMAND) and CADANG_PASSWORD set too, but not used") {
		t.Errorf("wrong password from a file beside a command:\n%s", res.stderr)
	}
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD", "typo")
	if res := cliCode(t, exitWrongPassword, "-r", repoDir, "snapshots"); !strings.Contains(res.stderr, "(the password came from CADANG_PASSWORD)") {
		t.Errorf("wrong password from CADANG_PASSWORD:\n%s", res.stderr)
	}
}

// In a repository that holds no snapshot at all, an ID that matches none
// is no typo: the backups are missing, which the run log keeps.
func TestCLIRestoreFromEmptyRepositoryIsRecorded(t *testing.T) {
	log := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", log)
	repoDir := cliNewRepo(t)
	cliCode(t, 1, "-r", repoDir, "restore", "abcd1234", "--target", filepath.Join(t.TempDir(), "t"))
	b, err := os.ReadFile(log)
	if err != nil || strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), `"op":"restore"`) {
		t.Fatalf("run log after a restore from an empty repository: %v\n%s", err, b)
	}
}

// A plain command given no password at all (no CADANG_PASSWORD, no
// password file or command, stdin no terminal) was called wrong: nothing
// ran, so the run log gets no failed forget, prune, check, restore, backup,
// repair or copy to follow up, and the error says what to set.
func TestCLINoPasswordIsNotARun(t *testing.T) {
	log := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", log)
	repoDir := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "a"), []byte("one"), 0o644)
	cliBackup(t, repoDir, data)
	before := strings.Count(mustRead(t, log), "\n")
	for _, k := range []string{"CADANG_PASSWORD", "CADANG_PASSWORD_FILE", "CADANG_PASSWORD_COMMAND", "CADANG_FROM_PASSWORD", "CADANG_FROM_PASSWORD_FILE"} {
		t.Setenv(k, "")
	}
	target := filepath.Join(t.TempDir(), "t")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"forget", "--keep-last", "1"}, "no password given"},
		{[]string{"forget", "--keep-last", "1", "--prune"}, "no password given"},
		{[]string{"prune"}, "no password given"},
		{[]string{"check"}, "no password given"},
		{[]string{"restore", "latest", "--target", target}, "no password given"},
		{[]string{"backup", data}, "no password given"},
		{[]string{"repair", "index"}, "no password given"},
		{[]string{"copy", "--from-repo", repoDir}, "no source password given"},
	} {
		res := cliCode(t, 1, append([]string{"-r", repoDir}, c.args...)...)
		if !strings.Contains(res.stderr, c.want) || !strings.Contains(res.stderr, "stdin is not a terminal") {
			t.Errorf("%s without a password:\n%s", c.args, res)
		}
		if n := strings.Count(mustRead(t, log), "\n"); n != before {
			t.Fatalf("%s without a password: %d run-log record(s), want none:\n%s", c.args, n-before, mustRead(t, log))
		}
	}
	// A password file that is named and cannot be read is a run that
	// failed (a scheduled backup's password file gone): recorded.
	t.Setenv("CADANG_PASSWORD_FILE", filepath.Join(t.TempDir(), "gone"))
	cliCode(t, 1, "-r", repoDir, "backup", data)
	if n := strings.Count(mustRead(t, log), "\n"); n != before+1 {
		t.Fatalf("backup with a missing password file: %d records, want 1", n-before)
	}
}
