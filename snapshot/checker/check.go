package checker

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// CheckReport is the result of Check.
type CheckReport struct {
	Snapshots int
	Packs     *repo.CheckResult
	// Problems lists every finding of both parts, trees first.
	Problems []string
}

// OK reports whether nothing was found.
func (c *CheckReport) OK() bool { return len(c.Problems) == 0 }

// Check verifies a whole repository: that every snapshot's trees load and
// decode and every blob they reference is indexed (CheckTrees), and the
// repository's packs and index (PackChecker.Check). The two parts run at
// the same time: the tree walk is bound by decrypting thousands of small
// blobs, the pack check by reading and hashing every pack.
func Check(ctx context.Context, r Repository, o repo.CheckOptions) (*CheckReport, error) {
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		return nil, err
	}
	rep := &CheckReport{Snapshots: len(sns)}
	var treeProblems []string
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := CheckTrees(gctx, r, sns, func(p Problem) error {
			mu.Lock()
			defer mu.Unlock()
			treeProblems = append(treeProblems, fmt.Sprintf("snapshot %s: %s: %s blob %s: %v", p.Snapshot.Short(), p.Path, p.Blob.Type, p.Blob.ID, p.Err))
			return nil
		})
		return err
	})
	g.Go(func() error {
		res, err := r.Check(gctx, o)
		rep.Packs = res
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep.Problems = treeProblems
	for _, p := range rep.Packs.Problems {
		rep.Problems = append(rep.Problems, p.Error())
	}
	return rep, nil
}
