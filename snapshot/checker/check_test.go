package checker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
)

// oldProblemString is how Check formatted a tree finding when Problems
// were strings; `cadang check` prints the same lines today.
func oldProblemString(p repo.Problem, cause error) string {
	return fmt.Sprintf("snapshot %s: %s: %s blob %s: %v", p.Snapshot.Short(), p.Path, p.Blob.Type, p.Blob.ID, cause)
}

// TestCheckTypedProblems damages a real repository in three ways and
// checks that Check reports each as a typed finding: a tree whose pack was
// removed, a file referencing a blob the index does not know, and a tree of
// a newer format (not damage: listed in Unsupported).
func TestCheckTypedProblems(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	saveTree := func(nodes ...*snapshot.Node) repo.ID {
		t.Helper()
		id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: nodes})
		must(err)
		return id
	}
	t0 := time.Unix(1700000000, 0)

	// Snapshot A: /d/f, with the tree of /d alone in a pack, then removed.
	content := []byte("file content")
	dataID, _, err := r.SaveBlob(ctx, repo.DataBlob, content)
	must(err)
	dTree := saveTree(&snapshot.Node{Name: "f", Type: snapshot.TypeFile, Size: int64(len(content)),
		Content: []snapshot.Extent{{ID: dataID, Size: int64(len(content))}}})
	must(r.Flush(ctx))
	loc, ok := r.LookupBlob(repo.TreeBlob, dTree)
	if !ok {
		t.Fatal("tree not indexed")
	}
	rootA := saveTree(&snapshot.Node{Name: "d", Type: snapshot.TypeDir, Subtree: dTree})
	must(r.Flush(ctx))
	if l, _ := r.LookupBlob(repo.TreeBlob, rootA); l.Pack == loc.Pack {
		t.Fatal("root and subtree share a pack")
	}
	must(be.Remove(ctx, backend.Handle{Type: repo.PackFile, Name: loc.Pack.String()}))

	// Snapshot B: /f references a data blob that was never saved; /new is
	// a tree of format version 2, as a newer cadang might write.
	missing := repo.ID{0xde, 0xad, 0xbe, 0xef}
	newer, _, err := r.SaveBlob(ctx, repo.TreeBlob, []byte{'C', 'D', 'T', 2, 0})
	must(err)
	rootB := saveTree(
		&snapshot.Node{Name: "f", Type: snapshot.TypeFile, Size: 5, Content: []snapshot.Extent{{ID: missing, Size: 5}}},
		&snapshot.Node{Name: "new", Type: snapshot.TypeDir, Subtree: newer},
	)
	must(r.Flush(ctx))

	snA := &snapshot.Snapshot{Time: t0, Tree: rootA, Paths: []string{"/"}, Hostname: "h"}
	snB := &snapshot.Snapshot{Time: t0.Add(time.Hour), Tree: rootB, Paths: []string{"/"}, Hostname: "h"}
	for _, sn := range []*snapshot.Snapshot{snA, snB} {
		_, err := snapshot.SaveSnapshot(ctx, r, sn)
		must(err)
	}

	rep, err := Check(ctx, r, repo.CheckOptions{})
	must(err)
	if rep.OK() || rep.Snapshots != 2 {
		t.Fatalf("OK %v, %d snapshots", rep.OK(), rep.Snapshots)
	}
	for _, p := range append(rep.Problems, rep.Unsupported...) {
		t.Logf("%s: %v", p.Kind, p)
	}

	type want struct {
		kind  repo.ProblemKind
		sn    repo.ID
		path  string
		blob  repo.BlobHandle
		cause error // errors.Is
	}
	check := func(what string, p repo.Problem, w want) {
		t.Helper()
		if p.Kind != w.kind {
			t.Errorf("%s: kind %q, want %q", what, p.Kind, w.kind)
		}
		if p.Snapshot == nil || *p.Snapshot != w.sn {
			t.Errorf("%s: snapshot %v, want %s", what, p.Snapshot, w.sn.Short())
		}
		if p.Path != w.path {
			t.Errorf("%s: path %q, want %q", what, p.Path, w.path)
		}
		if p.Blob == nil || *p.Blob != w.blob {
			t.Errorf("%s: blob %v, want %v", what, p.Blob, w.blob)
		}
		if w.cause != nil && !errors.Is(p, w.cause) {
			t.Errorf("%s: %v does not wrap %v", what, p, w.cause)
		}
	}

	// Tree findings first, in snapshot order, then the repository's.
	if len(rep.Problems) < 3 {
		t.Fatalf("%d problems, want 2 tree findings and the repository's: %v", len(rep.Problems), rep.Problems)
	}
	pm := rep.Problems[0]
	check("pack of /d removed", pm, want{repo.ProblemPackMissing, snA.ID(), "/d", repo.BlobHandle{Type: repo.TreeBlob, ID: dTree}, backend.ErrNotExist})
	ni := rep.Problems[1]
	check("unindexed /f", ni, want{repo.ProblemBlobNotIndexed, snB.ID(), "/f", repo.BlobHandle{Type: repo.DataBlob, ID: missing}, snapshot.ErrBlobNotIndexed})
	if got, old := ni.Error(), oldProblemString(ni, snapshot.ErrBlobNotIndexed); got != old {
		t.Errorf("message changed:\n got %s\nwant %s", got, old)
	}
	for _, p := range rep.Problems[2:] {
		if p.Snapshot != nil || p.Kind != repo.ProblemPackMissing {
			t.Errorf("repository finding %s: %v (snapshot %v)", p.Kind, p, p.Snapshot)
		}
	}
	if len(rep.Problems) != 2+len(rep.Packs.Problems) {
		t.Errorf("%d problems, %d of the repository", len(rep.Problems), len(rep.Packs.Problems))
	}

	// The newer tree is not damage.
	if len(rep.Unsupported) != 1 {
		t.Fatalf("unsupported: %v", rep.Unsupported)
	}
	u := rep.Unsupported[0]
	check("newer tree", u, want{repo.ProblemUnsupported, snB.ID(), "/new", repo.BlobHandle{Type: repo.TreeBlob, ID: newer}, repo.ErrUnsupportedVersion})
	if errors.Is(u, snapshot.ErrInvalidTree) || repo.IsDamaged(u) {
		t.Errorf("newer tree reported as damage: %v", u)
	}
	for _, p := range rep.Problems {
		if errors.Is(p, repo.ErrUnsupportedVersion) {
			t.Errorf("unsupported finding among the damage: %v", p)
		}
	}
}

// A newer tree alone: the check finds no damage, but is not OK either.
func TestCheckNewerTreeOnly(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	newer, _, err := r.SaveBlob(ctx, repo.TreeBlob, []byte{'C', 'D', 'T', 7, 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn := &snapshot.Snapshot{Time: time.Unix(1700000000, 0), Tree: newer, Paths: []string{"/"}}
	if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(ctx, r, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || len(rep.Unsupported) != 1 || rep.OK() {
		t.Fatalf("problems %v, unsupported %v, OK %v", rep.Problems, rep.Unsupported, rep.OK())
	}
	if p := rep.Unsupported[0]; p.Path != "/" || *p.Snapshot != sn.ID() || p.Blob.ID != newer {
		t.Errorf("unsupported root: %+v", p)
	}
}

// saveSnapshotOf flushes r and saves a snapshot of the tree.
func saveSnapshotOf(t *testing.T, r *repo.Repository, tree repo.ID) {
	t.Helper()
	ctx := context.Background()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.SaveSnapshot(ctx, r, &snapshot.Snapshot{Time: time.Unix(1700000000, 0), Tree: tree, Paths: []string{"/"}, Hostname: "h"}); err != nil {
		t.Fatal(err)
	}
}

// spyChecker runs the repository's pack check and keeps the options Check
// gave it.
type spyChecker struct {
	*repo.Repository
	o repo.CheckOptions
}

func (s *spyChecker) Check(ctx context.Context, o repo.CheckOptions) (*repo.CheckResult, error) {
	s.o = o
	return s.Repository.Check(ctx, o)
}

// A data check hands the pack check every tree the walk loaded (and so
// verified), where it lies, so that the pack check does not decrypt and
// hash them a second time; and nothing else.
func TestCheckReadDataTreesVerifiedOnce(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	content := []byte("file content")
	dataID, _, err := r.SaveBlob(ctx, repo.DataBlob, content)
	if err != nil {
		t.Fatal(err)
	}
	var trees []repo.ID
	sub := repo.ID{}
	for i := range 3 {
		nodes := []*snapshot.Node{{Name: fmt.Sprintf("f%d", i), Type: snapshot.TypeFile, Size: int64(len(content)),
			Content: []snapshot.Extent{{ID: dataID, Size: int64(len(content))}}}}
		if i > 0 {
			nodes = append(nodes, &snapshot.Node{Name: "d", Type: snapshot.TypeDir, Subtree: sub})
		}
		if sub, err = snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: nodes}); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, sub)
	}
	// A tree blob no snapshot names: the pack check must open it itself.
	orphan, _, err := r.SaveBlob(ctx, repo.TreeBlob, []byte("not a tree of any snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	saveSnapshotOf(t, r, sub)
	spy := &spyChecker{Repository: r}
	rep, err := Check(ctx, spy, repo.CheckOptions{ReadData: true})
	if err != nil || len(rep.Problems) != 0 || rep.Packs.BlobsRead != rep.Packs.Blobs {
		t.Fatalf("check: %v, %v, %d of %d blobs verified", err, rep.Problems, rep.Packs.BlobsRead, rep.Packs.Blobs)
	}
	if spy.o.Verified == nil {
		t.Fatal("the pack check was not told which trees the walk verified")
	}
	for _, id := range trees {
		loc, _ := r.LookupBlob(repo.TreeBlob, id)
		if !spy.o.Verified(loc) {
			t.Errorf("tree %s loaded by the walk is not verified", id.Short())
		}
		moved := loc
		moved.Offset++
		if spy.o.Verified(moved) {
			t.Errorf("tree %s is verified at an offset it was not loaded from", id.Short())
		}
	}
	for _, l := range []repo.BlobType{repo.TreeBlob, repo.DataBlob} {
		id := orphan
		if l == repo.DataBlob {
			id = dataID
		}
		loc, _ := r.LookupBlob(l, id)
		if spy.o.Verified(loc) {
			t.Errorf("%s blob %s counts as verified by the walk", l, id.Short())
		}
	}
}

// A tree pack the session's tree cache read whole before its bytes on the
// medium went bad (or read back differently): the walk verifies the cached
// copy, but the pack check must still open the blob in the pack it reads,
// whose hash does not match, and name it (found by a review: the first
// form of CheckOptions.Verified skipped it, reporting only the pack).
func TestCheckStaleTreeCacheNamesDamagedTree(t *testing.T) {
	ctx := context.Background()
	fb := faulty.New(mem.New())
	r := repotest.New(t, fb, "pw", repo.InitOptions{})
	for i := range 40 { // data packs first in the order of reading
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte(fmt.Sprintf("%0300000d", i))); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tid, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{{Name: "d", Type: snapshot.TypeDir}}})
	if err != nil {
		t.Fatal(err)
	}
	saveSnapshotOf(t, r, tid)
	if _, err := snapshot.LoadTree(ctx, r, tid); err != nil { // fills the tree pack cache
		t.Fatal(err)
	}
	loc, _ := r.LookupBlob(repo.TreeBlob, tid)
	pack := backend.Handle{Type: repo.PackFile, Name: loc.Pack.String()}
	fb.FlipBit(pack, int64(loc.Offset)+int64(loc.Length)/2, 1)
	rep, err := Check(ctx, r, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	var namedBlob, namedPack bool
	for _, p := range rep.Problems {
		switch {
		case p.Kind == repo.ProblemBlobDamaged && p.Blob != nil && p.Blob.ID == tid:
			namedBlob = true
		case p.Kind == repo.ProblemFileDamaged && p.File == pack:
			namedPack = true
		}
	}
	if !namedBlob || !namedPack || rep.Packs.BlobsRead != rep.Packs.Blobs-1 {
		t.Fatalf("findings %v, %d of %d blobs read intact; want the damaged pack and its tree named", rep.Problems, rep.Packs.BlobsRead, rep.Packs.Blobs)
	}
}
