package checker

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

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
	// firstUnder is the first problem found under each tree walked, and
	// missingData that of each data blob the index lacks: a snapshot that
	// reaches them through a tree or blob an earlier snapshot shares is
	// named too (found below), though they are reported once.
	// Only trees with a problem under them are kept, with the path they
	// had then, so that the problem's path can be given as this snapshot
	// reaches it (a directory renamed between two backups keeps its tree).
	type found struct {
		pr *Problem
		at string
	}
	firstUnder := map[repo.ID]found{}
	missingData := map[repo.ID]*Problem{}
	// seenAt gives a problem found earlier the path at which this snapshot
	// reaches it: p for a tree (or file) that was at f.at.
	seenAt := func(f found, p string) *Problem {
		c := *f.pr
		c.Path = path.Join(p, strings.TrimPrefix(f.pr.Path, f.at))
		return &c
	}
	emitted := 0 // by the snapshot being walked
	report := func(p Problem) (*Problem, error) {
		emitted++
		return &p, problem(p)
	}
	var cur repo.ID // the tree being checked, for a panic's error
	var visit func(sn repo.ID, id repo.ID, p string) (*Problem, error)
	visit = func(sn repo.ID, id repo.ID, p string) (*Problem, error) {
		ref := BlobRef{Type: repo.TreeBlob, ID: id}
		if _, ok := used[ref]; ok {
			if f, ok := firstUnder[id]; ok {
				return seenAt(f, p), nil
			}
			return nil, nil
		}
		used[ref] = struct{}{}
		cur = id
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, ok := r.LookupBlob(repo.TreeBlob, id); !ok {
			pp, err := report(treeProblem(repo.ProblemBlobNotIndexed, sn, p, ref, snapshot.ErrBlobNotIndexed))
			firstUnder[id] = found{pp, p}
			return pp, err
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			pp, err := report(treeProblem(loadKind(err), sn, p, ref, err))
			firstUnder[id] = found{pp, p}
			return pp, err
		}
		var first *Problem
		note := func(pp *Problem) {
			if first == nil {
				first = pp
			}
		}
		for _, n := range t.Nodes {
			np := path.Join(p, n.Name)
			switch n.Type {
			case snapshot.TypeDir:
				if n.Subtree.IsNull() {
					pp, err := report(treeProblem(repo.ProblemInvalidTree, sn, np, ref, errors.New("directory without subtree")))
					if note(pp); err != nil {
						return first, err
					}
					continue
				}
				pp, err := visit(sn, n.Subtree, np)
				if note(pp); err != nil {
					return first, err
				}
			case snapshot.TypeFile:
				if n.ContentSize() != n.Size {
					pp, err := report(treeProblem(repo.ProblemInvalidTree, sn, np, ref, fmt.Errorf("content is %d bytes, size says %d", n.ContentSize(), n.Size)))
					if note(pp); err != nil {
						return first, err
					}
				}
				for _, e := range n.Content {
					if e.IsHole() {
						continue
					}
					dr := BlobRef{Type: repo.DataBlob, ID: e.ID}
					if _, ok := used[dr]; ok {
						if pp := missingData[e.ID]; pp != nil {
							note(seenAt(found{pp, pp.Path}, np))
						}
						continue
					}
					used[dr] = struct{}{}
					if _, ok := r.LookupBlob(repo.DataBlob, e.ID); !ok {
						pp, err := report(treeProblem(repo.ProblemBlobNotIndexed, sn, np, dr, snapshot.ErrBlobNotIndexed))
						missingData[e.ID] = pp
						if note(pp); err != nil {
							return first, err
						}
					}
				}
			}
		}
		if first != nil {
			firstUnder[id] = found{first, p}
		}
		return first, nil
	}
	for _, sn := range sns {
		where := func() string { return fmt.Sprintf("snapshot %s: tree %s", sn.ID().Short(), cur.Short()) }
		emitted = 0
		var first *Problem
		if err := panicerr.Call(where, func() (err error) {
			first, err = visit(sn.ID(), sn.Tree, "/")
			return err
		}); err != nil {
			return used, err
		}
		if first != nil && emitted == 0 {
			// Every problem of this snapshot lies in trees or blobs an
			// earlier one shares and was reported for it: name this one
			// too, with the first of them, so that the administrator
			// knows every snapshot that cannot be restored whole.
			pr := *first
			id := sn.ID()
			pr.Snapshot = &id
			pr.Err = fmt.Errorf("%w (reported above for snapshot %s, which shares this part)", first.Err, first.Snapshot.Short())
			if err := problem(pr); err != nil {
				return used, err
			}
		}
	}
	return used, nil
}
