package checker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

func TestCheckTrees(t *testing.T) {
	ctx := context.Background()
	r, src, sn1, sn2 := twoSnapshots(t)

	// CheckTrees: all good, then a missing blob.
	used, err := CheckTrees(ctx, r, []*snapshot.Snapshot{sn1, sn2}, func(p Problem) error { return p })
	if err != nil || len(used) < 5 {
		t.Fatalf("check: %v %d", err, len(used))
	}
	n, _ := walker.FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d", "f.sql"))
	r.Damage(n.Content[0].ID) // LoadBlob fails, but it is indexed: not a structural problem
	dn, _ := walker.FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d"))
	r.Damage(dn.Subtree) // a tree that does not load is one
	var probs []Problem
	CheckTrees(ctx, r, []*snapshot.Snapshot{sn1}, func(p Problem) error { probs = append(probs, p); return nil })
	if len(probs) != 1 || probs[0].Blob.ID != dn.Subtree || probs[0].Path != filepath.Join(src, "d") {
		t.Fatalf("problems: %v", probs)
	}
	p := probs[0]
	if p.Kind != repo.ProblemBlobDamaged || *p.Snapshot != sn1.ID() || p.Blob.Type != repo.TreeBlob || !errors.Is(p, snapshottest.ErrDamaged) {
		t.Errorf("problem: %+v", p)
	}
}

// twoSnapshots backs up a small tree twice, with changes in between
// (change, added, remove), into a fresh in-memory repository.
func twoSnapshots(t *testing.T) (r *snapshottest.Repo, src string, sn1, sn2 *snapshot.Snapshot) {
	t.Helper()
	src = t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "keep"), []byte("same"))
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v1"))
	snapshottest.WriteFile(t, filepath.Join(src, "remove"), []byte("bye"))
	snapshottest.WriteFile(t, filepath.Join(src, "d", "f.sql"), snapshottest.RandBytes(5, 70<<10))
	r = snapshottest.New(snapshottest.SmallParams)
	a := &archiver.Archiver{Repo: r, Hostname: "h", Tags: []string{"t1"}}
	sn1 = mustSnapshot(t, a, src)
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v2!"))
	snapshottest.WriteFile(t, filepath.Join(src, "added"), []byte("new"))
	if err := os.Remove(filepath.Join(src, "remove")); err != nil {
		t.Fatal(err)
	}
	sn2 = mustSnapshot(t, a, src)
	return r, src, sn1, sn2
}

func mustSnapshot(t *testing.T, a *archiver.Archiver, paths ...string) *snapshot.Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}

// The real repository implements what Check asks for, the in-memory one
// what CheckTrees does.
var (
	_ Repository     = (*repo.Repository)(nil)
	_ TreeRepository = (*snapshottest.Repo)(nil)
)

// hidingRepo is a TreeRepository whose index lacks one blob.
type hidingRepo struct {
	TreeRepository
	gone repo.ID
}

func (h hidingRepo) LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool) {
	if id == h.gone {
		return repo.BlobLocation{}, false
	}
	return h.TreeRepository.LookupBlob(t, id)
}

// TestCheckTreesNamesEverySnapshot: a blob missing from the index that two
// snapshots share (an unchanged directory) is reported once, but both
// snapshots are named: a review found check naming only the first, so that
// an administrator who forgot it found the next one at the next check.
func TestCheckTreesNamesEverySnapshot(t *testing.T) {
	ctx := context.Background()
	r, src, sn1, sn2 := twoSnapshots(t)
	n, _ := walker.FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d", "f.sql"))
	h := hidingRepo{TreeRepository: r, gone: n.Content[0].ID}
	var probs []Problem
	if _, err := CheckTrees(ctx, h, []*snapshot.Snapshot{sn1, sn2}, func(p Problem) error { probs = append(probs, p); return nil }); err != nil {
		t.Fatal(err)
	}
	named := map[repo.ID]bool{}
	for _, p := range probs {
		named[*p.Snapshot] = true
		if p.Kind != repo.ProblemBlobNotIndexed || p.Blob.ID != n.Content[0].ID || !errors.Is(p, snapshot.ErrBlobNotIndexed) {
			t.Errorf("problem: %v", p)
		}
	}
	if len(probs) != 2 || !named[sn1.ID()] || !named[sn2.ID()] {
		t.Fatalf("want one problem for each snapshot, got %v", probs)
	}
}

// TestCheckTreesPathInLaterSnapshot: a directory renamed between two
// backups keeps its tree; the later snapshot's problem gives the path as
// that snapshot has it (a review saw the earlier snapshot's).
func TestCheckTreesPathInLaterSnapshot(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "d", "f"), snapshottest.RandBytes(9, 10<<10))
	r := snapshottest.New(snapshottest.SmallParams)
	a := &archiver.Archiver{Repo: r, Hostname: "h"}
	sn1 := mustSnapshot(t, a, src)
	if err := os.Rename(filepath.Join(src, "d"), filepath.Join(src, "e")); err != nil {
		t.Fatal(err)
	}
	sn2 := mustSnapshot(t, a, src)
	n, _ := walker.FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d", "f"))
	h := hidingRepo{TreeRepository: r, gone: n.Content[0].ID}
	paths := map[repo.ID]string{}
	if _, err := CheckTrees(ctx, h, []*snapshot.Snapshot{sn1, sn2}, func(p Problem) error { paths[*p.Snapshot] = p.Path; return nil }); err != nil {
		t.Fatal(err)
	}
	if paths[sn1.ID()] != filepath.Join(src, "d", "f") || paths[sn2.ID()] != filepath.Join(src, "e", "f") {
		t.Fatalf("paths %v, want .../d/f for the first snapshot and .../e/f for the second", paths)
	}
}
