package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRepoOneLevelOff: -r naming a repository's data/ (or keys/), or
// the medium directory that holds the repository, names the repository
// meant, and does not suggest making a new one there (inside or beside it).
func TestCLIRepoOneLevelOff(t *testing.T) {
	r := cliNewRepo(t)
	medium := filepath.Dir(r)
	for _, dir := range []string{filepath.Join(r, "data"), filepath.Join(r, "keys"), filepath.Join(r, "data", "00"), medium} {
		res := cliCode(t, 10, "-r", dir, "snapshots")
		if !strings.Contains(res.stderr, "there is a cadang repository at "+r+": did you mean -r "+r+"?") {
			t.Errorf("-r %s does not name the repository at %s:\n%s", dir, r, res)
		}
		if strings.Contains(res.stderr, "directory below it") || strings.Contains(res.stderr, "'cadang init' (in") {
			t.Errorf("-r %s suggests a new repository:\n%s", dir, res)
		}
	}
	// Nor does init make one inside it.
	inside := filepath.Join(r, "data", "cadang")
	res := cliCode(t, 1, "-r", inside, "init")
	if !strings.Contains(res.stderr, "inside the cadang repository at "+r) {
		t.Errorf("init inside a repository:\n%s", res)
	}
}
