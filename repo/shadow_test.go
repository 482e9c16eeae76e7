package repo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/prune"
)

// Copies of stored blobs with wrong bytes, as a client holding the
// password can upload through an append-only server (repo.ForgeCopies),
// must not stop a restore, must be reported by check, and must never lead
// prune to delete the good copy. The index once kept one location per
// blob: a forged pack named to sort first shadowed every blob.

func openLocal(t *testing.T, dir string, mode repo.LockMode) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{Lock: mode})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rebuildIndex runs repair index, which orders packs by name: a forged
// pack named 00... comes first.
func rebuildIndex(t *testing.T, dir string) {
	t.Helper()
	r := openLocal(t, dir, repo.ExclusiveLock)
	defer r.Close()
	if _, _, err := r.RebuildIndex(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestForgedCopiesArePassedOver(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	want := map[repo.BlobHandle][]byte{}
	for i := range 8 {
		d := randBytes(uint64(100+i), 20_000+i)
		if i%2 == 0 {
			d = bytes.Repeat([]byte("INSERT INTO tender VALUES (7, 'spse');\n"), 900+i) // compressed
		}
		typ := repo.DataBlob
		if i == 7 {
			typ = repo.TreeBlob
		}
		id, _, err := r.SaveBlob(ctx, typ, d)
		if err != nil {
			t.Fatal(err)
		}
		want[repo.BlobHandle{Type: typ, ID: id}] = d
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var locs []repo.BlobLocation
	for h := range want {
		l, _ := r.LookupBlob(h.Type, h.ID)
		locs = append(locs, l)
	}
	forged := repo.ForgeCopies(t, r, locs)
	r.Close()

	for _, rebuilt := range []bool{false, true} {
		if rebuilt {
			rebuildIndex(t, dir)
		}
		r := openLocal(t, dir, repo.SharedLock)
		var first []repo.BlobLocation
		for h, d := range want {
			l, _ := r.LookupBlob(h.Type, h.ID)
			if rebuilt && l.Pack != forged {
				t.Fatalf("precondition: after repair index the forged pack %s is not the first copy of %s", forged.Short(), h.ID.Short())
			}
			if l.Pack == forged {
				first = append(first, l)
			}
			got, at, err := r.LoadBlobLocated(ctx, h.Type, h.ID, nil)
			if err != nil || !bytes.Equal(got, d) {
				t.Fatalf("rebuilt %v: load %s blob %s: %v (%d bytes)", rebuilt, h.Type, h.ID.Short(), err, len(got))
			}
			if at.Pack == forged {
				t.Fatalf("LoadBlobLocated says it read the forged copy")
			}
			if n := len(r.Index().Locations(h.Type, h.ID)); n != 2 {
				t.Fatalf("%d locations of %s, want 2", n, h.ID.Short())
			}
		}
		// The restore path: the blobs of the forged pack, as the planner
		// asks for them, come back right from the good copies.
		n := 0
		err := r.LoadBlobsFromPack(ctx, forged, first, func(l repo.BlobLocation, plain []byte, err error) error {
			n++
			if err != nil || !bytes.Equal(plain, want[repo.BlobHandle{Type: l.Type, ID: l.ID}]) {
				t.Errorf("LoadBlobsFromPack %s: %v", l.ID.Short(), err)
			}
			return nil
		})
		if err != nil || n != len(first) {
			t.Fatalf("LoadBlobsFromPack: %v, %d of %d blobs", err, n, len(first))
		}
		// check reads every copy and reports the forged pack, and only it.
		res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Problems) == 0 {
			t.Fatal("check --read-data found nothing wrong with the forged pack")
		}
		for _, p := range res.Problems {
			if !strings.Contains(p.Error(), forged.String()) {
				t.Errorf("check problem not about the forged pack: %v", p)
			}
		}
		r.Close()
	}
}

// TestForgedIndexEntryInGoodPack: an index file that names a blob at
// another blob's place in the right pack, with another raw length, comes
// first (same pack, smaller offset) and must not fail the good entry.
func TestForgedIndexEntryInGoodPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	// Two blobs of one pack, a before b.
	data := map[repo.ID][]byte{}
	byPack := map[repo.ID][]repo.BlobLocation{}
	for i := range 12 {
		d := randBytes(uint64(i), 10_000+i)
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
		if err != nil {
			t.Fatal(err)
		}
		data[id] = d
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var la, lb repo.BlobLocation
	for id := range data {
		l, _ := r.LookupBlob(repo.DataBlob, id)
		byPack[l.Pack] = append(byPack[l.Pack], l)
		if ls := byPack[l.Pack]; len(ls) == 2 {
			la, lb = ls[0], ls[1]
			if la.Offset > lb.Offset {
				la, lb = lb, la
			}
		}
	}
	if la.Pack == (repo.ID{}) {
		t.Fatal("precondition: no two blobs in one pack")
	}
	idB, a, b := lb.ID, data[la.ID], data[lb.ID]
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: la.Pack, Blobs: []repo.PackBlob{
		{Type: repo.DataBlob, ID: idB, Offset: la.Offset, Length: la.Length, RawLength: 7}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = reopen(t, dir)
	defer r.Close()
	if l, _ := r.LookupBlob(repo.DataBlob, idB); l.Offset != la.Offset {
		t.Fatalf("precondition: the forged entry is not the first location: %+v", l)
	}
	got, err := r.LoadBlob(ctx, repo.DataBlob, idB, nil)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("LoadBlob: %v", err)
	}
	first, _ := r.LookupBlob(repo.DataBlob, idB)
	err = r.LoadBlobsFromPack(ctx, la.Pack, []repo.BlobLocation{first, la}, func(l repo.BlobLocation, plain []byte, err error) error {
		w := a
		if l.ID == idB {
			w = b
		}
		if err != nil || !bytes.Equal(plain, w) {
			t.Errorf("LoadBlobsFromPack %s: %v", l.ID.Short(), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newBackupRepo makes a local repository with 4 MiB packs for tests that
// back up with package backup, and returns its directory.
func newBackupRepo(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(ctx, be, []byte(pw), repo.InitOptions{KDF: crypto.CheapKDFParams(), PackSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return dir
}

// backupWith backs up src into the open repository r.
func backupWith(t *testing.T, r *repo.Repository, src string) *snapshot.Snapshot {
	t.Helper()
	res, err := backup.Run(context.Background(), r, backup.Options{Paths: []string{src}, Host: "spse"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Snapshot
}

// forgedPruneRepo backs up a and b (one pack), then a alone, forgets the
// first snapshot, and forges copies of a's data blobs named to come first.
// It returns the repository, the remaining snapshot, a's bytes and the
// packs holding the good copies.
func forgedPruneRepo(t *testing.T) (dir string, sn *snapshot.Snapshot, a []byte, good []repo.ID) {
	t.Helper()
	ctx := context.Background()
	dir = newBackupRepo(t)
	src := t.TempDir()
	a = randBytes(11, 600_000)
	if err := os.WriteFile(filepath.Join(src, "a"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "b"), randBytes(12, 600_000), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() *snapshot.Snapshot {
		r := openLocal(t, dir, repo.SharedLock)
		defer r.Close()
		return backupWith(t, r, src)
	}
	first := run()
	if err := os.Remove(filepath.Join(src, "b")); err != nil {
		t.Fatal(err)
	}
	sn = run()
	r := openLocal(t, dir, repo.SharedLock)
	if err := r.RemoveFile(ctx, repo.SnapshotFile, first.ID()); err != nil {
		t.Fatal(err)
	}
	var locs []repo.BlobLocation
	for _, id := range fileBlobs(t, r, sn, "a") {
		l, _ := r.LookupBlob(repo.DataBlob, id)
		if !slices.Contains(good, l.Pack) {
			good = append(good, l.Pack)
		}
		locs = append(locs, l)
	}
	repo.ForgeCopies(t, r, locs)
	r.Close()
	rebuildIndex(t, dir)
	return dir, sn, a, good
}

// fileBlobs returns the content blobs of the file called name in sn.
func fileBlobs(t *testing.T, r *repo.Repository, sn *snapshot.Snapshot, name string) []repo.ID {
	t.Helper()
	var out []repo.ID
	var walk func(id repo.ID)
	walk = func(id repo.ID) {
		tr, err := snapshot.LoadTree(context.Background(), r, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tr.Nodes {
			if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
				walk(n.Subtree)
			}
			if n.Name == name && n.Type == snapshot.TypeFile {
				for _, e := range n.Content {
					out = append(out, e.ID)
				}
			}
		}
	}
	walk(sn.Tree)
	if len(out) == 0 {
		t.Fatalf("no file %s in snapshot %s", name, sn.ID().Short())
	}
	return out
}

// readFile loads the file called name from sn, every blob by LoadBlob.
func readFile(t *testing.T, dir string, sn *snapshot.Snapshot, name string) []byte {
	t.Helper()
	r := openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	var out []byte
	for _, id := range fileBlobs(t, r, sn, name) {
		d, err := r.LoadBlob(context.Background(), repo.DataBlob, id, nil)
		if err != nil {
			t.Fatalf("file %s, blob %s: %v", name, id.Short(), err)
		}
		out = append(out, d...)
	}
	return out
}

func runPrune(t *testing.T, dir string) *prune.Result {
	t.Helper()
	r := openLocal(t, dir, repo.PruneLock)
	defer r.Close()
	res, err := prune.Run(context.Background(), r, prune.Options{MaxUnusedBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPruneKeepsGoodCopyOfForgedBlobs: the good copies of a's blobs share
// a pack with b's, which no snapshot uses any more. With the forged copies
// taking their place in the index, that pack once looked unused, and two
// prunes deleted it: a was lost.
func TestPruneKeepsGoodCopyOfForgedBlobs(t *testing.T) {
	dir, sn, a, _ := forgedPruneRepo(t)
	runPrune(t, dir)
	runPrune(t, dir)
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatalf("file a after two prunes: %d bytes, want %d identical", len(got), len(a))
	}
	// The forged copies counted as unused (each blob counts once, where a
	// copy reads back intact), so the two prunes also took them out.
	checkClean(t, dir)
}

// TestPruneVerifiesBeforeDeletingMarkedPack: an obsolete set uploaded with
// the password marks the pack of a's good copies, while forged copies of
// a's blobs lie in a live pack. Phase B must read those copies back before
// it trusts them, and keep the pack.
func TestPruneVerifiesBeforeDeletingMarkedPack(t *testing.T) {
	dir, sn, a, good := forgedPruneRepo(t)
	r := openLocal(t, dir, repo.SharedLock)
	var marked []repo.IndexPack
	for _, p := range good {
		marked = append(marked, repo.IndexPack{ID: p})
	}
	if _, err := r.MarkObsolete(context.Background(), marked); err != nil {
		t.Fatal(err)
	}
	r.Close()
	res := runPrune(t, dir)
	if res.Resurrected == 0 {
		t.Errorf("the marked pack holding a's only good copies was not kept: %+v", res)
	}
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatalf("file a after prune: %d bytes, want %d identical", len(got), len(a))
	}
}
