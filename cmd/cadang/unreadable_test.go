package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
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

// TestCLIRestoreDamagedTree: a restore whose snapshot has a damaged tree
// (one directory's listing) restores the rest, exits 3, and says how many
// items failed; it used to say that 0 files could not be restored.
func TestCLIRestoreDamagedTree(t *testing.T) {
	r := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	makeSourceTree(t, data)
	id := str(t, cliBackup(t, r, data), "snapshot_id")

	// Damage the tree of data/many.
	rp := openForTest(t, r, cliTestPassword)
	ctx := context.Background()
	sid, err := repo.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := snapshot.LoadSnapshot(ctx, rp, sid)
	if err != nil {
		t.Fatal(err)
	}
	tree := sn.Tree
	for _, name := range append(strings.Split(strings.TrimPrefix(data, "/"), "/"), "many") {
		tr, err := snapshot.LoadTree(ctx, rp, tree)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range tr.Nodes {
			if n.Name == name {
				tree, found = n.Subtree, true
			}
		}
		if !found {
			t.Fatalf("no %s in tree %s", name, tree.Short())
		}
	}
	loc, ok := rp.LookupBlob(repo.TreeBlob, tree)
	if !ok {
		t.Fatal("tree not indexed")
	}
	p := filepath.Join(r, "data", loc.Pack.String()[:2], loc.Pack.String())
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	off := int64(loc.Offset) + int64(loc.Length)/2
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	f.Close()

	target := filepath.Join(dir, "restore")
	res := cliCode(t, 3, "-r", r, "restore", "latest", "--target", target)
	if !strings.Contains(res.stderr, "1 item(s) could not be restored") || !strings.Contains(res.stderr, "the rest was restored") {
		t.Errorf("restore with a damaged tree:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(target, data, "etc", "spse.conf")); err != nil {
		t.Errorf("the rest was not restored: %v", err)
	}
}
