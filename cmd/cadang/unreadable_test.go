package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/repotest"
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
	// Junk (its bytes as saved, its seal not this repository's) was never
	// a snapshot here and cannot be the newest: "latest" is known.
	target := filepath.Join(dir, "restore")
	// The same for junk that starts with the seal byte (as a genuine file
	// of another repository does), which fails the seal, not its version.
	name2 := uploadJunkFile(t, r, "snapshots", 35)
	res = cliOK(t, "-r", r, "restore", "latest", "--target", target)
	if !strings.Contains(res.stderr, "snapshot file "+name[:8]+" is passed over: it was not written with the repository's key") ||
		!strings.Contains(res.stderr, "snapshot file "+name2[:8]+" is passed over") {
		t.Errorf("restore latest beside junk snapshot files:\n%s", res)
	}
	compareTrees(t, want, scanDir(t, filepath.Join(target, data)), false)
	os.RemoveAll(target)

	// A genuine snapshot file damaged on the medium may be the newest:
	// "latest" is not known, and a restore must not quietly take an older
	// snapshot. By ID, it restores.
	id2 := str(t, cliBackup(t, r, data), "snapshot_id")
	flipByte(t, filepath.Join(r, "snapshots", id2), 60)
	res = cliCode(t, 1, "-r", r, "restore", "latest", "--target", target)
	if !strings.Contains(res.stderr, "the latest snapshot is not known") || !strings.Contains(res.stderr, id2[:8]) {
		t.Errorf("restore latest beside a damaged snapshot file:\n%s", res)
	}
	cliOK(t, "-r", r, "restore", id[:8], "--target", target)
	compareTrees(t, want, scanDir(t, filepath.Join(target, data)), false)
	cliOK(t, "-r", r, "forget", id2[:8])
	cliBackup(t, r, data)

	// Out of the repository: junk was never a snapshot and is passed over;
	// a damaged snapshot file counts as a snapshot not copied (exit 3,
	// partial). Into it, both are passed over.
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	res = cliOK(t, "-r", other, "copy", "--from-repo", r)
	if !strings.Contains(res.stdout, "2 snapshot(s) copied, 0 skipped") || !strings.Contains(res.stderr, "snapshot file "+name[:8]+" of the source is passed over") {
		t.Errorf("copy past the junk file:\n%s", res)
	}
	id3 := str(t, cliBackup(t, r, data), "snapshot_id")
	flipByte(t, filepath.Join(r, "snapshots", id3), 60)
	res = cliCode(t, 3, "-r", other, "copy", "--from-repo", r)
	if !strings.Contains(res.stdout, "0 snapshot(s) copied, 2 skipped, 1 could not be read") || !strings.Contains(res.stderr, "could not copy "+id3[:8]) {
		t.Errorf("copy past the damaged file:\n%s", res)
	}
	cliOK(t, "-r", r, "forget", id3[:8])
	res = cliOK(t, "-r", r, "copy", "--from-repo", other)
	if !strings.Contains(res.stdout, "0 snapshot(s) copied, 2 skipped") || !strings.Contains(res.stderr, "of the destination cannot be read") {
		t.Errorf("copy into the repository with the unreadable file:\n%s", res)
	}

	// Prune passes over junk, which needs no blob, and names it; it
	// refuses to run past a damaged snapshot file, whose data a good copy
	// of the file put back would need.
	res = cliOK(t, "-r", r, "prune")
	if !strings.Contains(res.stderr, "warning: snapshot file "+name[:8]+" is passed over") || !strings.Contains(res.stderr, "'cadang forget "+name+"' removes it") ||
		!strings.Contains(res.stdout, "passed over: 2 snapshot file(s) not written with this repository's key") {
		t.Errorf("prune beside a junk snapshot file:\n%s", res)
	}
	id4 := str(t, cliBackup(t, r, data), "snapshot_id")
	flipByte(t, filepath.Join(r, "snapshots", id4), 60)
	res = cliCode(t, 1, "-r", r, "prune")
	if !strings.Contains(res.stderr, "prune refuses to run: it cannot know which blobs 1 snapshot file(s) that cannot be read use (the first: repository file snapshots/"+id4) ||
		!strings.Contains(res.stderr, "such a file restores nothing, and 'cadang forget "+id4+"' removes it") || strings.Contains(res.stderr, "hint:") {
		t.Errorf("prune ran past a damaged snapshot file, or did not name the remedy:\n%s", res)
	}
	cliOK(t, "-r", r, "forget", id4[:8])

	// The remedy works beside protections, which it once did not: forget
	// loaded every named snapshot to match it against them, and failed. A
	// protection that names the file still stops it.
	cliOK(t, "-r", r, "protect", id[:8])
	junkID, err := repo.ParseID(name)
	if err != nil {
		t.Fatal(err)
	}
	rr := openTestRepo(t, r)
	if _, err := snapshot.Protect(context.Background(), rr, junkID, time.Time{}, "named"); err != nil {
		t.Fatal(err)
	}
	res = cliCode(t, 1, "-r", r, "forget", name[:8])
	if !strings.Contains(res.stderr, "snapshot "+name[:8]+" is protected forever (named)") {
		t.Errorf("forget of an unreadable file that a protection names:\n%s", res)
	}
	cliOK(t, "-r", r, "protect", "--remove", name[:8])
	res = cliOK(t, "-r", r, "forget", name[:8])
	if !strings.Contains(res.stderr, "snapshot "+name[:8]+" cannot be read") || !strings.Contains(res.stderr, "only protections that name it were checked") {
		t.Errorf("forget of the unreadable file does not say what it could check:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(r, "snapshots", name)); !os.IsNotExist(err) {
		t.Fatalf("the unreadable file is still there: %v", err)
	}
	cliOK(t, "-r", r, "forget", name2)
	cliOK(t, "-r", r, "prune")
	cliOK(t, "-r", r, "check")
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
	repotest.DamageBlob(t, rp, r, repo.TreeBlob, tree)

	target := filepath.Join(dir, "restore")
	res := cliCode(t, 3, "-r", r, "restore", "latest", "--target", target)
	if !strings.Contains(res.stderr, "1 item(s) could not be restored") || !strings.Contains(res.stderr, "; the rest was restored") {
		t.Errorf("restore with a damaged tree:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(target, data, "etc", "spse.conf")); err != nil {
		t.Errorf("the rest was not restored: %v", err)
	}
	// A damaged backup is an integrity failure in the run log.
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(cliOK(t, "-r", r, "log", "--json").stdout), &recs); err != nil {
		t.Fatal(err)
	}
	if n := len(recs); n == 0 || recs[n-1].Op != runlog.OpRestore || recs[n-1].Failure != runlog.KindIntegrity {
		t.Errorf("records: %+v", recs)
	}
}

// TestCLICopyNothingCopiedFails: a copy whose only snapshot is damaged in
// the source copied nothing: it fails (exit 1), and says so, rather than
// calling itself partial.
func TestCLICopyNothingCopiedFails(t *testing.T) {
	src, dst := cliNewRepo(t), cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "only.bin"), randBytes(9, 200<<10), 0o644)
	cliBackup(t, src, data)
	ents, err := filepath.Glob(filepath.Join(src, "data", "*", "*"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("packs: %v %v", ents, err)
	}
	for _, p := range ents { // every pack: the file's blob is in one of them
		fi, err := os.Stat(p)
		if err != nil || fi.Size() < 100<<10 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0x55, 0xaa}, 50<<10); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	res := cliCode(t, 1, "-r", dst, "copy", "--from-repo", src)
	if !strings.Contains(res.stderr, "no snapshot could be copied") || strings.Contains(res.stderr, "the other snapshots were copied") {
		t.Errorf("copy of a damaged snapshot alone:\n%s", res)
	}
}
