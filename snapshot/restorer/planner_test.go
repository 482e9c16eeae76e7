package restorer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// saveTree stores a crafted tree and returns its ID.
func saveTree(t testing.TB, r *snapshottest.Repo, nodes ...*snapshot.Node) repo.ID {
	t.Helper()
	b, err := snapshot.EncodeTree(&snapshot.Tree{Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := r.SaveBlob(context.Background(), repo.TreeBlob, b)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// saveSnapshot stores a snapshot of the given root tree, as a host that
// knows the password could.
func saveSnapshot(t testing.TB, r *snapshottest.Repo, tree repo.ID) *snapshot.Snapshot {
	t.Helper()
	ctx := context.Background()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn := &snapshot.Snapshot{Time: time.Now(), Tree: tree, Paths: []string{"/crafted"}, Hostname: "evil"}
	id, err := snapshot.SaveSnapshot(ctx, r, sn)
	if err != nil {
		t.Fatal(err)
	}
	sn, err = snapshot.LoadSnapshot(ctx, r, id)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

func dirNode(name string, sub repo.ID) *snapshot.Node {
	return &snapshot.Node{Name: name, Type: snapshot.TypeDir, Mode: 0o755, Subtree: sub, ModTime: time.Unix(1e9, 0)}
}

// chain stores the tree chain of issue 13: each of depth trees has two
// entries that both point to the next one.
func chain(t testing.TB, r *snapshottest.Repo, depth int) (root repo.ID, ids []repo.ID) {
	id := saveTree(t, r)
	ids = []repo.ID{id}
	for i := 0; i < depth; i++ {
		id = saveTree(t, r, dirNode("a", id), dirNode("b", id))
		ids = append(ids, id)
	}
	return id, ids
}

func TestPlanExponentialChain(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	root, ids := chain(t, r, 30)
	sn := saveSnapshot(t, r, root)
	for _, dry := range []bool{true, false} {
		target := t.TempDir()
		_, err := (&Restorer{Repo: r, DryRun: dry}).Restore(ctx, sn, "/", target)
		if !errors.Is(err, ErrTooManyNodes) || !strings.Contains(err.Error(), "snapshot "+sn.ID().Short()) {
			t.Fatalf("depth 30: got %v", err)
		}
		named := false
		for _, id := range ids {
			named = named || strings.Contains(err.Error(), "tree "+id.Short())
		}
		if !named {
			t.Errorf("the error names no tree of the chain: %v", err)
		}
		if ents, _ := os.ReadDir(target); len(ents) != 0 {
			t.Errorf("a refused snapshot wrote %d entries", len(ents))
		}
	}

	// Depth 16 expands to 2^17-2 directories from 32 distinct entries:
	// refused by the repeat rule that ls and dump apply too, after
	// loading its 17 trees once. Depth 12 (8190 directories) is below
	// the rule's floor and is planned; a smaller MaxNodes refuses it.
	root, _ = chain(t, r, 16)
	sn = saveSnapshot(t, r, root)
	if _, err := (&Restorer{Repo: r, DryRun: true}).Restore(ctx, sn, "/", t.TempDir()); !errors.Is(err, ErrTooManyNodes) ||
		!errors.Is(err, snapshot.ErrWalkLimit) || !strings.Contains(err.Error(), "times the") {
		t.Errorf("depth 16: %v", err)
	}
	root, _ = chain(t, r, 12)
	sn = saveSnapshot(t, r, root)
	sum, err := (&Restorer{Repo: r, DryRun: true}).Restore(ctx, sn, "/", t.TempDir())
	if err != nil || sum.Dirs != 1<<13-2 {
		t.Fatalf("depth 12: %v %+v", err, sum)
	}
	if _, err := (&Restorer{Repo: r, DryRun: true, MaxNodes: 1000}).Restore(ctx, sn, "/", t.TempDir()); !errors.Is(err, ErrTooManyNodes) {
		t.Errorf("depth 12, MaxNodes 1000: %v", err)
	}
}

// aliasRepo answers tree blobs under IDs that are not their hashes, as a
// repository that does not check what it loads could; it makes cycles.
type aliasRepo struct {
	*snapshottest.Repo
	alias map[repo.ID][]byte
}

func (a aliasRepo) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if b, ok := a.alias[id]; ok {
		return b, nil
	}
	return a.Repo.LoadBlob(ctx, t, id, buf)
}

func TestPlanTreeCycle(t *testing.T) {
	r := newTestRepo(t)
	self := repo.ID{0xcc, 1}
	b, err := snapshot.EncodeTree(&snapshot.Tree{Nodes: []*snapshot.Node{dirNode("loop", self),
		{Name: "f", Type: snapshot.TypeFile, Mode: 0o644}}})
	if err != nil {
		t.Fatal(err)
	}
	sn := saveSnapshot(t, r, self)
	ar := aliasRepo{r, map[repo.ID][]byte{self: b}}
	_, err = (&Restorer{Repo: ar}).Restore(context.Background(), sn, "/", t.TempDir())
	if !errors.Is(err, ErrTreeCycle) || !strings.Contains(err.Error(), self.Short()) || !strings.Contains(err.Error(), sn.ID().Short()) {
		t.Errorf("got %v", err)
	}
}

// TestRestoreCraftedExtents: a file whose extent disagrees with its blob
// fails alone, with or without Verify.
func TestRestoreCraftedExtents(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	hello, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	file := func(name string, size int64, ext ...snapshot.Extent) *snapshot.Node {
		return &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: size, Content: ext}
	}
	root := saveTree(t, r,
		file("good", 5, snapshot.Extent{ID: hello, Size: 5}),
		file("short", 3, snapshot.Extent{ID: hello, Size: 3}),
		file("long", 8, snapshot.Extent{ID: hello, Size: 8}),
	)
	sn := saveSnapshot(t, r, root)
	for _, verify := range []bool{false, true} {
		target := t.TempDir()
		sum, err := (&Restorer{Repo: r, Verify: verify}).Restore(ctx, sn, "/", target)
		var re *RestoreError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "holds 5 bytes") {
			t.Fatalf("verify=%v: got %v", verify, err)
		}
		want := []string{"/long", "/short"}
		if !slices.Equal(sum.FailedFiles, want) {
			t.Errorf("verify=%v: failed %v, want %v", verify, sum.FailedFiles, want)
		}
		if b, err := os.ReadFile(filepath.Join(target, "good")); err != nil || string(b) != "hello" {
			t.Errorf("good: %q %v", b, err)
		}
		for _, f := range want {
			if _, err := os.Lstat(filepath.Join(target, f)); !os.IsNotExist(err) {
				t.Errorf("%s left in the target (%v)", f, err)
			}
		}
	}
}

// TestCheckExtents: the planner refuses what the tree decoder refuses too
// (extents that do not add up, negative or larger than a blob), so that the
// restorer does not depend on the decoder; and Verify never allocates what
// an extent claims (2^62 bytes made it panic).
func TestCheckExtents(t *testing.T) {
	id := repo.ID{1}
	for _, n := range []*snapshot.Node{
		{Size: 1 << 62, Content: []snapshot.Extent{{ID: id, Size: 1 << 62}}},
		{Size: 1<<62 + 10, Content: []snapshot.Extent{{ID: id, Size: 1 << 62}, {Size: 10}}},
		{Size: 99, Content: []snapshot.Extent{{ID: id, Size: 5}}},
		{Size: 0, Content: []snapshot.Extent{{ID: id, Size: 5}, {Size: -5}}},
		{Size: -1},
		{Size: 10, Content: []snapshot.Extent{{Size: 1<<63 - 1}, {ID: id, Size: 11}}},
	} {
		if err := checkExtents(n); err == nil {
			t.Errorf("accepted %+v", n)
		}
	}
	if err := checkExtents(&snapshot.Node{Size: 1 << 40, Content: []snapshot.Extent{{ID: id, Size: 5}, {Size: 1<<40 - 5}}}); err != nil {
		t.Errorf("a sparse file: %v", err)
	}

	p := filepath.Join(t.TempDir(), "f")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rr := &restoreRun{rs: &Restorer{}, hasher: newTestRepo(t)}
	f := &rFile{rItem: rItem{rel: filepath.Base(p), base: &planBase{sroot: "/", target: filepath.Dir(p)}, node: &snapshot.Node{Content: []snapshot.Extent{{ID: id, Size: 1 << 62}, {Size: -(1 << 62)}}}}}
	f.fm = newFileMeta(f.node)
	if err := rr.verify(int(fh.Fd()), f); err == nil {
		t.Error("verify accepted an extent of 2^62 bytes")
	}
}

// panicProgress panics in the middle of writing a blob.
type panicProgress struct{ NopRestoreProgress }

func (panicProgress) BytesWritten(n uint64) { panic("progress exploded") }

func TestRestoreWorkerPanic(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	hello, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	sub := saveTree(t, r, &snapshot.Node{Name: "f", Type: snapshot.TypeFile, Mode: 0o644, Size: 5,
		Content: []snapshot.Extent{{ID: hello, Size: 5}}})
	sn := saveSnapshot(t, r, saveTree(t, r, dirNode("d", sub)))
	target := t.TempDir()
	_, err = (&Restorer{Repo: r, Progress: panicProgress{}}).Restore(ctx, sn, "/", target)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"snapshot " + sn.ID().Short(), "blob " + hello.Short(), "tree " + sub.Short(), "/d/f", "progress exploded"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if _, err := os.Lstat(filepath.Join(target, "d", "f")); !os.IsNotExist(err) {
		t.Errorf("unfinished file left in the target (%v)", err)
	}
}

// completePanic panics when an item is complete, in the calling goroutine
// for an empty file.
type completePanic struct{ NopRestoreProgress }

func (completePanic) CompleteItem(p string, n *snapshot.Node, skipped bool) {
	panic("complete exploded")
}

func TestRestorePanicInCaller(t *testing.T) {
	r := newTestRepo(t)
	sub := saveTree(t, r, &snapshot.Node{Name: "empty", Type: snapshot.TypeFile, Mode: 0o644})
	sn := saveSnapshot(t, r, saveTree(t, r, dirNode("d", sub)))
	_, err := (&Restorer{Repo: r, Progress: completePanic{}}).Restore(context.Background(), sn, "/", t.TempDir())
	for _, s := range []string{"snapshot " + sn.ID().Short(), "/d/empty", "tree " + sub.Short(), "complete exploded"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not name %q", err, s)
		}
	}
}

// TestRestoreInvalidNames: a tree whose names are not one path component
// (which the decoder refuses too) restores nothing, inside or outside.
func TestRestoreInvalidNames(t *testing.T) {
	r := newTestRepo(t)
	bad := repo.ID{0xbb, 2}
	b, err := snapshot.EncodeTree(&snapshot.Tree{Nodes: []*snapshot.Node{{Name: "ok", Type: snapshot.TypeFile, Mode: 0o644}}})
	if err != nil {
		t.Fatal(err)
	}
	sn := saveSnapshot(t, r, bad)
	for _, name := range []string{"..", "a/"} {
		// EncodeTree refuses these names; the alias serves them raw.
		ar := aliasRepo{r, map[repo.ID][]byte{bad: []byte(strings.Replace(string(b), "ok", name, 1))}}
		base := t.TempDir()
		target := filepath.Join(base, "t")
		_, err := (&Restorer{Repo: ar}).Restore(context.Background(), sn, "/", target)
		if err == nil {
			t.Errorf("%q: restored without error", name)
		}
		ents, _ := os.ReadDir(base)
		inside, _ := os.ReadDir(target)
		if len(ents) > 1 || len(inside) > 0 {
			t.Errorf("%q: wrote %v beside and %v inside the target", name, ents, inside)
		}
	}
}
