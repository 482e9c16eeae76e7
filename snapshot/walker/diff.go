package walker

import (
	"context"
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
	err := diffTrees(ctx, r, a.Tree, b.Tree, "/", &st, fn)
	return st, err
}

func diffTrees(ctx context.Context, r snapshot.BlobLoader, a, b repo.ID, base string, st *DiffStats, fn func(Change) error) error {
	if a == b {
		return nil
	}
	var ta, tb *snapshot.Tree
	var err error
	if !a.IsNull() {
		if ta, err = snapshot.LoadTree(ctx, r, a); err != nil {
			return err
		}
	} else {
		ta = &snapshot.Tree{}
	}
	if !b.IsNull() {
		if tb, err = snapshot.LoadTree(ctx, r, b); err != nil {
			return err
		}
	} else {
		tb = &snapshot.Tree{}
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
			if err := diffTrees(ctx, r, sa, sb, p, st, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
