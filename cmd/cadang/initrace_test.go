package main

import (
	"bytes"
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
