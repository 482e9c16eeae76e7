package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIUnreadableSnapshotFile: a snapshot file that cannot be read (a
// damaged one, or junk a client of an append-only server added under its
// SHA-256) is named and passed over by the everyday commands, so that
// listing, restoring the latest snapshot, backing up and copying go on;
// prune still refuses to run past it, since it cannot know what that
// snapshot needs.
func TestCLIUnreadableSnapshotFile(t *testing.T) {
	r, other := cliNewRepo(t), cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	makeSourceTree(t, data)
	want := scanDir(t, data)
	id := str(t, cliBackup(t, r, data), "snapshot_id")

	junk := []byte("not a snapshot, but named by its SHA-256 as the server checks")
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(r, "snapshots", name), junk, 0o400); err != nil {
		t.Fatal(err)
	}
	warned := func(res cliResult) {
		t.Helper()
		if !strings.Contains(res.stderr, "snapshot "+name[:8]+" cannot be read") {
			t.Errorf("no warning naming the unreadable file:\n%s", res)
		}
	}

	res := cliOK(t, "-r", r, "snapshots")
	warned(res)
	if !strings.Contains(res.stdout, id[:8]) {
		t.Errorf("the readable snapshot is not listed:\n%s", res)
	}
	target := filepath.Join(dir, "restore")
	warned(cliOK(t, "-r", r, "restore", "latest", "--target", target))
	compareTrees(t, want, scanDir(t, filepath.Join(target, data)), false)
	cliBackup(t, r, data)

	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	res = cliOK(t, "-r", other, "copy", "--from-repo", r)
	warned(res)
	if !strings.Contains(res.stdout, "2 snapshot(s) copied") {
		t.Errorf("copy past the unreadable file:\n%s", res)
	}

	res = cliRun(t, nil, "-r", r, "prune")
	if res.code == 0 || !strings.Contains(res.stderr, name[:8]) {
		t.Errorf("prune ran past an unreadable snapshot file:\n%s", res)
	}
}
