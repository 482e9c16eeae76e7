package checker

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// BlobRef names a blob with its type.
type BlobRef struct {
	Type repo.BlobType
	ID   repo.ID
}

// Problem is something wrong found by CheckTrees.
type Problem struct {
	Snapshot repo.ID
	Path     string  // where in the snapshot
	Blob     BlobRef // the blob concerned
	// Err says what is wrong: snapshot.ErrBlobNotIndexed for a blob the
	// index does not know, or why a tree did not load or decode.
	Err error
}

func (p Problem) Error() string {
	return fmt.Sprintf("snapshot %s: %s: %s blob %s: %v", p.Snapshot.Short(), p.Path, p.Blob.Type, p.Blob.ID.Short(), p.Err)
}

// CheckTrees walks the snapshots' trees for the structural check: every
// tree must load and decode, and every referenced blob (tree or data) must
// be indexed (HasBlob). It calls problem for each defect (return an error to
// stop) and returns the set of all referenced blobs, for finding unused
// ones. Each tree is visited once.
func CheckTrees(ctx context.Context, r TreeRepository, sns []*snapshot.Snapshot, problem func(Problem) error) (map[BlobRef]struct{}, error) {
	used := map[BlobRef]struct{}{}
	var visit func(sn repo.ID, id repo.ID, p string) error
	visit = func(sn repo.ID, id repo.ID, p string) error {
		ref := BlobRef{repo.TreeBlob, id}
		if _, ok := used[ref]; ok {
			return nil
		}
		used[ref] = struct{}{}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !r.HasBlob(repo.TreeBlob, id) {
			return problem(Problem{sn, p, ref, snapshot.ErrBlobNotIndexed})
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			return problem(Problem{sn, p, ref, err})
		}
		for _, n := range t.Nodes {
			np := path.Join(p, n.Name)
			switch n.Type {
			case snapshot.TypeDir:
				if n.Subtree.IsNull() {
					if err := problem(Problem{sn, np, ref, errors.New("directory without subtree")}); err != nil {
						return err
					}
					continue
				}
				if err := visit(sn, n.Subtree, np); err != nil {
					return err
				}
			case snapshot.TypeFile:
				if n.ContentSize() != n.Size {
					if err := problem(Problem{sn, np, ref, fmt.Errorf("content is %d bytes, size says %d", n.ContentSize(), n.Size)}); err != nil {
						return err
					}
				}
				for _, e := range n.Content {
					if e.IsHole() {
						continue
					}
					dr := BlobRef{repo.DataBlob, e.ID}
					if _, ok := used[dr]; ok {
						continue
					}
					used[dr] = struct{}{}
					if !r.HasBlob(repo.DataBlob, e.ID) {
						if err := problem(Problem{sn, np, dr, snapshot.ErrBlobNotIndexed}); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	}
	for _, sn := range sns {
		if err := visit(sn.ID(), sn.Tree, "/"); err != nil {
			return used, err
		}
	}
	return used, nil
}
