package checker

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

// chain saves the crafted snapshot: depth trees, each with two
// directories naming the next (2^depth paths from depth+1 blobs).
func chain(t *testing.T, r *snapshottest.Repo, depth int) *snapshot.Snapshot {
	t.Helper()
	ctx := context.Background()
	id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{})
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
	sn := &snapshot.Snapshot{Time: time.Unix(1700000000, 0), Tree: id, Paths: []string{"/"}}
	if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return sn
}

// countingRepo counts tree loads, and panics on loading one tree.
type countingRepo struct {
	*snapshottest.Repo
	trees   int
	panicOn repo.ID
}

func (c *countingRepo) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if t == repo.TreeBlob {
		c.trees++
		if id == c.panicOn {
			var m map[string]int
			m["boom"]++ // assignment to entry in nil map
		}
	}
	return c.Repo.LoadBlob(ctx, t, id, buf)
}

// The checker visits each tree once, so the chain costs depth+1 loads.
func TestCheckTreesChainIsLinear(t *testing.T) {
	r := &countingRepo{Repo: snapshottest.New(snapshottest.SmallParams)}
	sn := chain(t, r.Repo, 30)
	used, err := CheckTrees(context.Background(), r, []*snapshot.Snapshot{sn}, func(p Problem) error { return p })
	if err != nil {
		t.Fatal(err)
	}
	if r.trees != 31 || len(used) != 31 {
		t.Fatalf("%d tree loads, %d blobs used; want 31", r.trees, len(used))
	}
}

func TestCheckTreesPanicIsAnError(t *testing.T) {
	r := &countingRepo{Repo: snapshottest.New(snapshottest.SmallParams)}
	sn := chain(t, r.Repo, 3)
	root, err := snapshot.LoadTree(context.Background(), r.Repo, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	r.panicOn = root.Nodes[0].Subtree
	_, err = CheckTrees(context.Background(), r, []*snapshot.Snapshot{sn}, func(p Problem) error { return p })
	var pe *panicerr.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a recovered panic", err)
	}
	if want := "snapshot " + sn.ID().Short() + ": tree " + r.panicOn.Short(); !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q does not start with %q", err, want)
	}
}
