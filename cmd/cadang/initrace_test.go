package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// cliProcess returns the command that runs cadang with args as a separate
// process (the test binary, which TestMain turns into cadang). In-process
// runs share the flag destinations of one process; these do not.
func cliProcess(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "CADANG_TEST_AS_CLI=1")
	return cmd
}

// TestCLIBackupInitRace is the issue-14 case: two `backup --init` started
// at once on a missing repository (a cron job on a freshly attached
// medium). Before the fix the loser exited 1 ("directory is not empty",
// "config: file exists") and its backup was lost; now both snapshots land
// in the one repository the winner created.
func TestCLIBackupInitRace(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a.txt"), []byte("first source"), 0o644)
	for round := range 3 {
		dir := filepath.Join(t.TempDir(), "medium", "repo")
		var wg sync.WaitGroup
		outs := make([]string, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out bytes.Buffer
				cmd := cliProcess(t, "-r", dir, "backup", "--init", "--tag", "racer", src)
				cmd.Stdout, cmd.Stderr = &out, &out
				errs[i] = cmd.Run()
				outs[i] = out.String()
			}()
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("round %d: backup --init %d: %v\n%s", round, i, errs[i], outs[i])
			}
		}
		if snaps := cliSnapshots(t, dir); len(snaps) != 2 {
			t.Fatalf("round %d: %d snapshots, want 2 (one per racer)", round, len(snaps))
		}
		if keys := repoFiles(t, dir, "keys"); len(keys) != 1 {
			t.Errorf("round %d: %d key files, want 1", round, len(keys))
		}
		cliOK(t, "-r", dir, "check")
	}
}

// A reader that stops reading (cadang ls | head) killed cadang by SIGPIPE,
// with its lock left in the repository (and, for a restore, a file half
// written). It now stops as on Ctrl-C, silently, with the code a shell
// gives a process SIGPIPE killed.
func TestCLIBrokenPipe(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	for i := range 40 {
		for j := range 100 {
			writeFileT(t, filepath.Join(src, fmt.Sprintf("d%02d", i), fmt.Sprintf("berkas-%03d.txt", j)), []byte{byte(j)}, 0o644)
		}
	}
	cliBackup(t, repoDir, src)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := cliProcess(t, "-r", repoDir, "ls", "latest")
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// More than a pipe buffer of listing follows this line.
	if _, err := io.ReadFull(pr, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitBrokenPipe || stderr.Len() != 0 {
		t.Fatalf("ls into a closed pipe: %v, stderr %q", err, stderr.String())
	}
	if locks, err := os.ReadDir(filepath.Join(repoDir, "locks")); err != nil || len(locks) != 0 {
		t.Fatalf("locks left: %v %v", locks, err)
	}
}

// A backup that ends partial keeps its exit code 3 when the pipe its
// summary goes to is closed by then: the closed pipe stopped nothing.
func TestCLIBrokenPipeAfterPartialBackup(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close() // the reader is gone before the backup writes anything
	var stderr bytes.Buffer
	cmd := cliProcess(t, "-r", repoDir, "backup", src, filepath.Join(t.TempDir(), "missing"))
	cmd.Stdout, cmd.Stderr = pw, &stderr
	err = cmd.Run()
	pw.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitPartial {
		t.Fatalf("partial backup into a closed pipe: %v, stderr %q", err, stderr.String())
	}
	if n := len(cliSnapshots(t, repoDir)); n != 1 {
		t.Fatalf("%d snapshots", n)
	}
}
