package walker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/internal/pattern"
)

// SkipDir may be returned by a WalkFunc for a directory to skip its contents.
var SkipDir = fs.SkipDir

// WalkFunc is called for each node of a walk with its absolute path in the
// snapshot ("/srv/spse/x").
type WalkFunc func(p string, n *snapshot.Node) error

// Walk calls fn for every node below the tree, depth first in name order.
// base is the path of the tree itself ("/" for a snapshot's root). It
// expands at most what snapshot.WalkLimits' defaults allow, and fails
// (wrapping snapshot.ErrWalkLimit) on a tree that repeats on its own path.
func Walk(ctx context.Context, r snapshot.BlobLoader, tree repo.ID, base string, fn WalkFunc) error {
	return WalkLimited(ctx, r, snapshot.NewWalkBudget(snapshot.WalkLimits{}), tree, base, fn)
}

// WalkLimited is Walk within a budget the caller made, for other limits
// than the defaults or to share one budget between walks.
func WalkLimited(ctx context.Context, r snapshot.BlobLoader, b *snapshot.WalkBudget, tree repo.ID, base string, fn WalkFunc) error {
	t, err := snapshot.LoadTree(ctx, r, tree)
	if err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	if err := b.Enter(tree, base, len(t.Nodes)); err != nil {
		return err
	}
	defer b.Leave()
	for _, n := range t.Nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(base, n.Name)
		err := fn(p, n)
		if err == SkipDir {
			continue
		}
		if err != nil {
			return err
		}
		if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
			if err := WalkLimited(ctx, r, b, n.Subtree, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// limitErr names the snapshot in an error of the walk budget, which names
// only the tree.
func limitErr(sn *snapshot.Snapshot, err error) error {
	if errors.Is(err, snapshot.ErrWalkLimit) {
		return fmt.Errorf("snapshot %s: %w", sn.ID().Short(), err)
	}
	return err
}

// FindNode returns the node at the absolute path p below tree. For "/" it
// returns a synthetic directory node whose Subtree is tree.
func FindNode(ctx context.Context, r snapshot.BlobLoader, tree repo.ID, p string) (*snapshot.Node, error) {
	p = path.Clean("/" + p)
	n := &snapshot.Node{Name: "/", Type: snapshot.TypeDir, Subtree: tree}
	if p == "/" {
		return n, nil
	}
	for _, c := range strings.Split(p[1:], "/") {
		if n.Type != snapshot.TypeDir {
			return nil, fmt.Errorf("%s: %w", p, snapshot.ErrNotFound)
		}
		t, err := snapshot.LoadTree(ctx, r, n.Subtree)
		if err != nil {
			return nil, err
		}
		if n = t.Find(c); n == nil {
			return nil, fmt.Errorf("%s: %w", p, snapshot.ErrNotFound)
		}
	}
	return n, nil
}

// Ls calls fn for the node at p (unless p is a directory) and, for a
// directory, its entries; recursively if recursive.
func Ls(ctx context.Context, r snapshot.BlobLoader, sn *snapshot.Snapshot, p string, recursive bool, fn WalkFunc) error {
	p = path.Clean("/" + p)
	n, err := FindNode(ctx, r, sn.Tree, p)
	if err != nil {
		return err
	}
	if n.Type != snapshot.TypeDir {
		return fn(p, n)
	}
	return limitErr(sn, Walk(ctx, r, n.Subtree, p, func(q string, m *snapshot.Node) error {
		if err := fn(q, m); err != nil {
			return err
		}
		if m.Type == snapshot.TypeDir && !recursive {
			return SkipDir
		}
		return nil
	}))
}

// Find calls fn for every node in the snapshots whose path matches one of
// the patterns (the syntax of archiver.Matcher: "*.sql" matches at any
// depth, "/srv/**/x" is anchored).
func Find(ctx context.Context, r snapshot.BlobLoader, sns []*snapshot.Snapshot, patterns []string, fn func(sn *snapshot.Snapshot, p string, n *snapshot.Node) error) error {
	m, err := pattern.New(patterns)
	if err != nil {
		return err
	}
	for _, sn := range sns {
		err := Walk(ctx, r, sn.Tree, "/", func(p string, n *snapshot.Node) error {
			if m.Match(p, n.Type == snapshot.TypeDir) {
				return fn(sn, p, n)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", sn.ID().Short(), err)
		}
	}
	return nil
}
