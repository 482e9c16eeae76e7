package copier

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// chainTrees saves the crafted shape into r: a file at the bottom,
// then depth trees each with two directories naming the next. It returns
// the root tree and the file's data blob.
func chainTrees(t *testing.T, r *snapshottest.Repo, depth int) (repo.ID, repo.ID) {
	t.Helper()
	ctx := context.Background()
	data := []byte("the one file at the bottom")
	did, _, err := r.SaveBlob(ctx, repo.DataBlob, data)
	if err != nil {
		t.Fatal(err)
	}
	id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{
		{Name: "f", Type: snapshot.TypeFile, Size: int64(len(data)), Content: []snapshot.Extent{{ID: did, Size: int64(len(data))}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		if id, err = snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{
			{Name: "a", Type: snapshot.TypeDir, Subtree: id}, {Name: "b", Type: snapshot.TypeDir, Subtree: id},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return id, did
}

func saveSnap(t *testing.T, r *snapshottest.Repo, tree repo.ID, when int64, orig *repo.ID) *snapshot.Snapshot {
	t.Helper()
	sn := &snapshot.Snapshot{Time: time.Unix(when, 0), Tree: tree, Paths: []string{"/srv"}, Hostname: "spse", Original: orig}
	if _, err := snapshot.SaveSnapshot(context.Background(), r, sn); err != nil {
		t.Fatal(err)
	}
	return sn
}

// countingSource counts tree loads, and panics on loading one blob.
type countingSource struct {
	*snapshottest.Repo
	trees   int
	panicOn repo.ID
}

func (c *countingSource) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if t == repo.TreeBlob {
		c.trees++
	}
	if id == c.panicOn {
		panic("crafted blob")
	}
	return c.Repo.LoadBlob(ctx, t, id, buf)
}

// hidingDest is a destination that lacks one data blob, so that no tree
// above it counts as completely copied.
type hidingDest struct {
	*snapshottest.Repo
	hide repo.ID
}

func (h *hidingDest) HasBlob(t repo.BlobType, id repo.ID) bool {
	return id != h.hide && h.Repo.HasBlob(t, id)
}

// Copying the chain, and seeding from an earlier copy of it whose trees
// are incomplete in the destination, each load every source tree a
// bounded number of times, not once per path.
func TestCopyChainIsLinear(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{Repo: snapshottest.New(snapshottest.SmallParams)}
	root, _ := chainTrees(t, src.Repo, 30)
	sn1 := saveSnap(t, src.Repo, root, 1700000000, nil)

	dst := snapshottest.New(snapshottest.SmallParams)
	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{sn1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 1 || res.TreeBlobs != 31 || src.trees != 31 {
		t.Fatalf("copy: %+v after %d tree loads; want 31 trees", res, src.trees)
	}

	// The destination's copy lacks the data blob: zip walks the pair of
	// chains to seed the maps, and must not walk the same pair again.
	dst2 := &hidingDest{Repo: snapshottest.New(snapshottest.SmallParams)}
	droot, did := chainTrees(t, dst2.Repo, 30)
	dst2.hide = did
	id1 := sn1.ID()
	saveSnap(t, dst2.Repo, droot, 1700000000, &id1)
	sn2 := saveSnap(t, src.Repo, root, 1700000100, nil)
	src.trees = 0
	res, err = Copy(ctx, dst2, src, []*snapshot.Snapshot{sn1, sn2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 1 || res.Skipped != 1 || src.trees > 2*31 {
		t.Fatalf("copy with seed: %+v after %d tree loads", res, src.trees)
	}
}

func TestCopyPanicIsAnError(t *testing.T) {
	src := &countingSource{Repo: snapshottest.New(snapshottest.SmallParams)}
	root, did := chainTrees(t, src.Repo, 2)
	sn := saveSnap(t, src.Repo, root, 1700000000, nil)
	src.panicOn = did
	_, err := Copy(context.Background(), snapshottest.New(snapshottest.SmallParams), src, []*snapshot.Snapshot{sn}, Options{})
	var pe *panicerr.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a recovered panic", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "copy snapshot "+sn.ID().Short()) || !strings.Contains(msg, "blob "+did.Short()) || !strings.Contains(msg, "crafted blob") {
		t.Fatalf("error %q does not name the snapshot, blob and cause", msg)
	}
}
