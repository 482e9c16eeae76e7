package checker

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/snapshot"
)

// BlobRef names a blob with its type. It is the repository's BlobHandle,
// so that the set CheckTrees returns and the Blob of its problems are of
// one type.
type BlobRef = repo.BlobHandle

// Problem is something found by CheckTrees: a repo.Problem with Kind,
// Snapshot, Path (where in the snapshot) and Blob (the blob concerned: the
// tree or data blob that is missing or unreadable, or the tree holding a
// bad node) always set. Err says what is wrong, after the blob's type and
// ID ("tree blob <id>: ..."), so that Error renders as
// "snapshot <id>: <path>: <type> blob <id>: <cause>"; errors.Is sees the
// cause: snapshot.ErrBlobNotIndexed for a blob the index does not know,
// snapshot.ErrInvalidTree for a tree that breaks the format,
// repo.ErrUnsupportedVersion for a tree of a newer format
// (repo.ProblemUnsupported), or why a tree did not load.
type Problem = repo.Problem

// treeProblem builds the Problem for one finding under snapshot sn.
func treeProblem(kind repo.ProblemKind, sn repo.ID, p string, b BlobRef, cause error) Problem {
	pr := repo.NewProblem(kind, cause) // File, where cause is a *repo.DamagedError
	pr.Snapshot = &sn
	pr.Path = p
	pr.Blob = &b
	pr.Err = fmt.Errorf("%s: %w", b, cause)
	return pr
}

// loadKind classifies why an indexed tree did not load or decode.
func loadKind(err error) repo.ProblemKind {
	switch {
	case errors.Is(err, repo.ErrUnsupportedVersion):
		return repo.ProblemUnsupported
	case errors.Is(err, snapshot.ErrInvalidTree):
		return repo.ProblemInvalidTree
	case backend.IsNotExist(err):
		return repo.ProblemPackMissing
	}
	return repo.ProblemBlobDamaged
}

// CheckTrees walks the snapshots' trees for the structural check: every
// tree must load and decode, and every referenced blob (tree or data) must
// be indexed (LookupBlob). It calls problem for each finding (return an error
// to stop) and returns the set of all referenced blobs, for finding unused
// ones. Each tree is visited once. A tree of a newer format (a Problem of
// kind repo.ProblemUnsupported) is not descended into, so the set then lacks
// what that tree references: a caller that removes unused blobs must stop
// at such a problem.
func CheckTrees(ctx context.Context, r TreeRepository, sns []*snapshot.Snapshot, problem func(Problem) error) (map[BlobRef]struct{}, error) {
	used := map[BlobRef]struct{}{}
	var cur repo.ID // the tree being checked, for a panic's error
	var visit func(sn repo.ID, id repo.ID, p string) error
	visit = func(sn repo.ID, id repo.ID, p string) error {
		ref := BlobRef{Type: repo.TreeBlob, ID: id}
		if _, ok := used[ref]; ok {
			return nil
		}
		used[ref] = struct{}{}
		cur = id
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, ok := r.LookupBlob(repo.TreeBlob, id); !ok {
			return problem(treeProblem(repo.ProblemBlobNotIndexed, sn, p, ref, snapshot.ErrBlobNotIndexed))
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return problem(treeProblem(loadKind(err), sn, p, ref, err))
		}
		for _, n := range t.Nodes {
			np := path.Join(p, n.Name)
			switch n.Type {
			case snapshot.TypeDir:
				if n.Subtree.IsNull() {
					if err := problem(treeProblem(repo.ProblemInvalidTree, sn, np, ref, errors.New("directory without subtree"))); err != nil {
						return err
					}
					continue
				}
				if err := visit(sn, n.Subtree, np); err != nil {
					return err
				}
			case snapshot.TypeFile:
				if n.ContentSize() != n.Size {
					if err := problem(treeProblem(repo.ProblemInvalidTree, sn, np, ref, fmt.Errorf("content is %d bytes, size says %d", n.ContentSize(), n.Size))); err != nil {
						return err
					}
				}
				for _, e := range n.Content {
					if e.IsHole() {
						continue
					}
					dr := BlobRef{Type: repo.DataBlob, ID: e.ID}
					if _, ok := used[dr]; ok {
						continue
					}
					used[dr] = struct{}{}
					if _, ok := r.LookupBlob(repo.DataBlob, e.ID); !ok {
						if err := problem(treeProblem(repo.ProblemBlobNotIndexed, sn, np, dr, snapshot.ErrBlobNotIndexed)); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	}
	for _, sn := range sns {
		where := func() string { return fmt.Sprintf("snapshot %s: tree %s", sn.ID().Short(), cur.Short()) }
		if err := panicerr.Call(where, func() error { return visit(sn.ID(), sn.Tree, "/") }); err != nil {
			return used, err
		}
	}
	return used, nil
}
