package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLICopyBackByOriginalID: the README's route for a snapshot damaged
// on one medium, 'forget ID' there and then 'copy --from-repo OTHER ID',
// with the ID that medium and its records know. The other medium holds
// the snapshot under an ID of its own (every copy gets one); a README walk
// got "no matching snapshot found". The copy finds it by its original.
func TestCLICopyBackByOriginalID(t *testing.T) {
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	a, src, _ := cliBackedUp(t, 51)
	b := filepath.Join(t.TempDir(), "b")
	cliOK(t, "-r", b, "init", "--copy-chunker-params", "--from-repo", a)
	cliRunCopy(t, "-r", b, "copy", "--from-repo", a)
	id := str(t, cliBackup(t, a, src), "snapshot_id") // a second, newer one on a only
	cliOK(t, "-r", b, "copy", "--from-repo", a)
	cliOK(t, "-r", a, "forget", id[:8])

	res := cliOK(t, "-r", a, "copy", "--from-repo", b, id[:8])
	if !strings.Contains(res.stderr, "snapshot "+id[:8]+" is held in the source as ") || !strings.Contains(res.stdout, "1 snapshot(s) copied") {
		t.Fatalf("copy back by the original's ID:\n%s", res)
	}
	// A short prefix is not taken for one.
	if res := cliRun(t, nil, "-r", a, "copy", "--from-repo", b, id[:4]); res.code == 0 {
		t.Errorf("a 4-digit prefix picked a snapshot:\n%s", res)
	}
	cliOK(t, "-r", a, "check", "--read-data")
}
