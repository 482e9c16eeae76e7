package walker

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// chainSnapshot saves the crafted snapshot: depth trees, each with
// two directories "a" and "b" naming the next, so that depth+1 tiny blobs
// describe 2^(depth+1) paths. It returns the snapshot and the ID of the
// tree at depth 0 (the root).
func chainSnapshot(t *testing.T, r *snapshottest.Repo, depth int) (*snapshot.Snapshot, repo.ID) {
	t.Helper()
	ctx := context.Background()
	id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		id, err = snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{
			{Name: "a", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id},
			{Name: "b", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	sn := &snapshot.Snapshot{Time: time.Unix(1700000000, 0), Tree: id, Paths: []string{"/"}, Hostname: "evil"}
	if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return sn, id
}

// wantLimit checks that err is the walk budget's, naming the snapshot and
// a tree, and that the walk stopped after a bounded number of nodes.
func wantLimit(t *testing.T, what string, err error, sn *snapshot.Snapshot, nodes int) {
	t.Helper()
	if !errors.Is(err, snapshot.ErrWalkLimit) {
		t.Fatalf("%s: err = %v, want ErrWalkLimit", what, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "snapshot "+sn.ID().Short()) || !strings.Contains(msg, "tree ") {
		t.Fatalf("%s: error %q does not name the snapshot and tree", what, msg)
	}
	if limit := 2 * snapshot.DefaultWalkRepeatFloor; nodes > limit {
		t.Fatalf("%s: %d nodes seen before stopping, more than %d", what, nodes, limit)
	}
}

func TestWalkersStopExponentialChain(t *testing.T) {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams)
	sn, _ := chainSnapshot(t, r, 30)

	nodes := 0
	err := Ls(ctx, r, sn, "/", true, func(string, *snapshot.Node) error { nodes++; return nil })
	wantLimit(t, "ls -R", err, sn, nodes)

	nodes = 0
	err = Find(ctx, r, []*snapshot.Snapshot{sn}, []string{"nomatch"}, func(*snapshot.Snapshot, string, *snapshot.Node) error { return nil })
	wantLimit(t, "find", err, sn, 0)

	empty := &snapshot.Snapshot{Time: time.Unix(1600000000, 0), Paths: []string{"/"}}
	empty.Tree, err = snapshot.SaveTree(ctx, r, &snapshot.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	nodes = 0
	_, err = Diff(ctx, r, empty, sn, func(Change) error { nodes++; return nil })
	wantLimit(t, "diff", err, sn, nodes)

	cw := &countWriter{}
	err = Dump(ctx, r, sn, "/", cw)
	wantLimit(t, "dump", err, sn, int(cw.n/512))
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// A shallow chain is walked in full: the limits only stop trees that
// repeat within each other by more than the floor.
func TestWalkersFinishShallowChain(t *testing.T) {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams)
	sn, _ := chainSnapshot(t, r, 10)
	nodes := 0
	if err := Ls(ctx, r, sn, "/", true, func(string, *snapshot.Node) error { nodes++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := 1<<11 - 2; nodes != want {
		t.Fatalf("ls -R saw %d nodes, want %d", nodes, want)
	}
}
