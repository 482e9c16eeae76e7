package walker

import (
	"context"
	"fmt"
	"path"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// ChangeKind classifies a difference between two snapshots.
type ChangeKind uint8

// Change kinds.
const (
	Added ChangeKind = iota + 1
	Removed
	Modified
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "+"
	case Removed:
		return "-"
	case Modified:
		return "M"
	}
	return "?"
}

// Change is one difference found by Diff. For Modified, Content says the
// content (data, link target, device or type) differs and Metadata says the
// mode, owner, times or xattrs do.
type Change struct {
	Path     string
	Kind     ChangeKind
	Old, New *snapshot.Node
	Content  bool
	Metadata bool
}

// DiffStats totals a Diff.
type DiffStats struct {
	Added, Removed, Modified uint64
	AddedBytes, RemovedBytes uint64 // sizes of added and removed files
}

// Diff calls fn for every difference between the snapshots a and b, in path
// order. Identical subtrees are skipped without being loaded. The contents
// of an added or removed directory are reported too.
func Diff(ctx context.Context, r snapshot.BlobLoader, a, b *snapshot.Snapshot, fn func(Change) error) (DiffStats, error) {
	var st DiffStats
	// One budget per side: the same tree may rightly lie on a's path and
	// on b's (a directory moved into a subdirectory of itself).
	d := &differ{r: r, a: a, b: b, st: &st, fn: fn,
		ba: snapshot.NewWalkBudget(snapshot.WalkLimits{}), bb: snapshot.NewWalkBudget(snapshot.WalkLimits{})}
	err := d.trees(ctx, a.Tree, b.Tree, "/")
	return st, err
}

type differ struct {
	r      snapshot.BlobLoader
	a, b   *snapshot.Snapshot
	ba, bb *snapshot.WalkBudget
	st     *DiffStats
	fn     func(Change) error
}

// load loads one side's tree (an empty one for the null ID) and enters it
// in that side's budget; leave says whether to Leave it.
func (d *differ) load(ctx context.Context, sn *snapshot.Snapshot, b *snapshot.WalkBudget, id repo.ID, p string) (t *snapshot.Tree, leave bool, err error) {
	if id.IsNull() {
		return &snapshot.Tree{}, false, nil
	}
	if t, err = snapshot.LoadTree(ctx, d.r, id); err != nil {
		return nil, false, err
	}
	if err := b.Enter(id, p, len(t.Nodes)); err != nil {
		return nil, false, fmt.Errorf("snapshot %s: %w", sn.ID().Short(), err)
	}
	return t, true, nil
}

func (d *differ) trees(ctx context.Context, a, b repo.ID, base string) error {
	if a == b {
		return nil
	}
	st, fn := d.st, d.fn
	ta, leave, err := d.load(ctx, d.a, d.ba, a, base)
	if err != nil {
		return err
	}
	if leave {
		defer d.ba.Leave()
	}
	tb, leave, err := d.load(ctx, d.b, d.bb, b, base)
	if err != nil {
		return err
	}
	if leave {
		defer d.bb.Leave()
	}
	i, j := 0, 0
	for i < len(ta.Nodes) || j < len(tb.Nodes) {
		var na, nb *snapshot.Node
		switch {
		case j >= len(tb.Nodes) || (i < len(ta.Nodes) && ta.Nodes[i].Name < tb.Nodes[j].Name):
			na = ta.Nodes[i]
			i++
		case i >= len(ta.Nodes) || tb.Nodes[j].Name < ta.Nodes[i].Name:
			nb = tb.Nodes[j]
			j++
		default:
			na, nb = ta.Nodes[i], tb.Nodes[j]
			i++
			j++
		}
		var name string
		if na != nil {
			name = na.Name
		} else {
			name = nb.Name
		}
		p := path.Join(base, name)
		var c Change
		switch {
		case nb == nil:
			c = Change{Path: p, Kind: Removed, Old: na}
			st.Removed++
			st.RemovedBytes += uint64(na.Size)
		case na == nil:
			c = Change{Path: p, Kind: Added, New: nb}
			st.Added++
			st.AddedBytes += uint64(nb.Size)
		default:
			c = Change{Path: p, Kind: Modified, Old: na, New: nb}
			if na.Type != nb.Type {
				c.Content = true
			} else if na.Type != snapshot.TypeDir {
				c.Content = !na.SameContent(nb)
			}
			c.Metadata = !na.SameMetadata(nb)
			if !c.Content && !c.Metadata {
				c.Kind = 0
			} else {
				st.Modified++
			}
		}
		if c.Kind != 0 {
			if err := fn(c); err != nil {
				return err
			}
		}
		var sa, sb repo.ID
		if na != nil && na.Type == snapshot.TypeDir {
			sa = na.Subtree
		}
		if nb != nil && nb.Type == snapshot.TypeDir {
			sb = nb.Subtree
		}
		if sa != sb {
			if err := d.trees(ctx, sa, sb, p); err != nil {
				return err
			}
		}
	}
	return nil
}
