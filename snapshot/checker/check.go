package checker

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// CheckReport is the result of Check.
type CheckReport struct {
	Snapshots int
	Packs     *repo.CheckResult
	// Problems lists every finding of damage of both parts, the trees'
	// (with Snapshot, Path and Blob set) first, then the repository's
	// (Packs.Problems).
	Problems []repo.Problem
	// Unsupported lists the trees of a format newer than this cadang reads
	// (Kind repo.ProblemUnsupported, errors.Is repo.ErrUnsupportedVersion).
	// They are not damage (doc/design.md §13), but nothing below them was
	// checked: a newer cadang can check them.
	Unsupported []repo.Problem
}

// OK reports whether nothing was found: no damage, and no tree left
// unchecked for being of a newer format.
func (c *CheckReport) OK() bool { return len(c.Problems) == 0 && len(c.Unsupported) == 0 }

// Check verifies a whole repository: that every snapshot's trees load and
// decode and every blob they reference is indexed (CheckTrees), and the
// repository's packs and index (PackChecker.Check). The two parts run at
// the same time: the tree walk is bound by decrypting thousands of small
// blobs, the pack check by reading and hashing every pack. A tree of a
// newer format does not stop the check; it is listed in Unsupported.
func Check(ctx context.Context, r Repository, o repo.CheckOptions) (*CheckReport, error) {
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		return nil, err
	}
	rep := &CheckReport{Snapshots: len(sns)}
	var treeProblems []repo.Problem
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	// The goroutines turn a panic into an error, so that it fails the
	// check instead of killing the process with its lock.
	g.Go(func() error {
		_, err := CheckTrees(gctx, r, sns, func(p Problem) error {
			mu.Lock()
			defer mu.Unlock()
			if p.Kind == repo.ProblemUnsupported {
				rep.Unsupported = append(rep.Unsupported, p)
			} else {
				treeProblems = append(treeProblems, p)
			}
			return nil
		})
		return err
	})
	g.Go(func() error {
		return panicerr.Call(func() string { return "check packs" }, func() error {
			res, err := r.Check(gctx, o)
			rep.Packs = res
			return err
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep.Problems = append(treeProblems, rep.Packs.Problems...)
	return rep, nil
}
