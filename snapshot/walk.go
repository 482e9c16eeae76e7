package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/lpse/cadang/repo"
)

// SkipDir may be returned by a WalkFunc for a directory to skip its contents.
var SkipDir = fs.SkipDir

// WalkFunc is called for each node of a walk with its absolute path in the
// snapshot ("/srv/spse/x").
type WalkFunc func(p string, n *Node) error

// Walk calls fn for every node below the tree, depth first in name order.
// base is the path of the tree itself ("/" for a snapshot's root).
func Walk(ctx context.Context, r Repository, tree repo.ID, base string, fn WalkFunc) error {
	t, err := LoadTree(ctx, r, tree)
	if err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
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
		if n.Type == TypeDir && !n.Subtree.IsNull() {
			if err := Walk(ctx, r, n.Subtree, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrNotFound is returned (wrapped) for a path not in a snapshot.
var ErrNotFound = errors.New("not found in snapshot")

// FindNode returns the node at the absolute path p below tree. For "/" it
// returns a synthetic directory node whose Subtree is tree.
func FindNode(ctx context.Context, r Repository, tree repo.ID, p string) (*Node, error) {
	p = path.Clean("/" + p)
	n := &Node{Name: "/", Type: TypeDir, Subtree: tree}
	if p == "/" {
		return n, nil
	}
	for _, c := range strings.Split(p[1:], "/") {
		if n.Type != TypeDir {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		t, err := LoadTree(ctx, r, n.Subtree)
		if err != nil {
			return nil, err
		}
		if n = t.Find(c); n == nil {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
	}
	return n, nil
}

// Ls calls fn for the node at p (unless p is a directory) and, for a
// directory, its entries; recursively if recursive.
func Ls(ctx context.Context, r Repository, sn *Snapshot, p string, recursive bool, fn WalkFunc) error {
	p = path.Clean("/" + p)
	n, err := FindNode(ctx, r, sn.Tree, p)
	if err != nil {
		return err
	}
	if n.Type != TypeDir {
		return fn(p, n)
	}
	return Walk(ctx, r, n.Subtree, p, func(q string, m *Node) error {
		if err := fn(q, m); err != nil {
			return err
		}
		if m.Type == TypeDir && !recursive {
			return SkipDir
		}
		return nil
	})
}

// Find calls fn for every node in the snapshots whose path matches one of
// the patterns (see Matcher: "*.sql" matches at any depth, "/srv/**/x"
// is anchored).
func Find(ctx context.Context, r Repository, sns []*Snapshot, patterns []string, fn func(sn *Snapshot, p string, n *Node) error) error {
	m, err := NewMatcher(patterns)
	if err != nil {
		return err
	}
	for _, sn := range sns {
		err := Walk(ctx, r, sn.Tree, "/", func(p string, n *Node) error {
			if m.Match(p, n.Type == TypeDir) {
				return fn(sn, p, n)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", sn.id.Short(), err)
		}
	}
	return nil
}

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
	Old, New *Node
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
func Diff(ctx context.Context, r Repository, a, b *Snapshot, fn func(Change) error) (DiffStats, error) {
	var st DiffStats
	err := diffTrees(ctx, r, a.Tree, b.Tree, "/", &st, fn)
	return st, err
}

func diffTrees(ctx context.Context, r Repository, a, b repo.ID, base string, st *DiffStats, fn func(Change) error) error {
	if a == b {
		return nil
	}
	var ta, tb *Tree
	var err error
	if !a.IsNull() {
		if ta, err = LoadTree(ctx, r, a); err != nil {
			return err
		}
	} else {
		ta = &Tree{}
	}
	if !b.IsNull() {
		if tb, err = LoadTree(ctx, r, b); err != nil {
			return err
		}
	} else {
		tb = &Tree{}
	}
	i, j := 0, 0
	for i < len(ta.Nodes) || j < len(tb.Nodes) {
		var na, nb *Node
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
			} else if na.Type != TypeDir {
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
		if na != nil && na.Type == TypeDir {
			sa = na.Subtree
		}
		if nb != nil && nb.Type == TypeDir {
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

// Dump writes the file at p to w, or, if p is a directory, a tar archive
// of it (entry names relative to p's parent: dumping /srv/spse gives
// spse/...; dumping / gives srv/spse/...). Blobs are loaded ahead in
// parallel.
func Dump(ctx context.Context, r Repository, sn *Snapshot, p string, w io.Writer) error {
	p = path.Clean("/" + p)
	n, err := FindNode(ctx, r, sn.Tree, p)
	if err != nil {
		return err
	}
	switch n.Type {
	case TypeFile:
		return WriteContent(ctx, r, n, w)
	case TypeDir:
		return dumpTar(ctx, r, n, p, w)
	}
	return fmt.Errorf("%s is a %s, not a file or directory", p, n.Type)
}

// WriteContent writes a file node's content to w in order (holes as
// zeros), loading up to 8 blobs ahead in parallel.
func WriteContent(ctx context.Context, r Repository, n *Node, w io.Writer) error {
	const ahead = 8
	type result struct {
		data []byte
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	futures := make(chan chan result, ahead)
	go func() {
		defer close(futures)
		for _, e := range n.Content {
			ch := make(chan result, 1)
			select {
			case futures <- ch:
			case <-ctx.Done():
				return
			}
			if e.IsHole() {
				ch <- result{}
				continue
			}
			go func(e Extent) {
				b, err := r.LoadBlob(ctx, repo.DataBlob, e.ID, nil)
				if err == nil && int64(len(b)) != e.Size {
					err = fmt.Errorf("blob %s has %d bytes, want %d", e.ID.Short(), len(b), e.Size)
				}
				ch <- result{b, err}
			}(e)
		}
	}()
	var zeros []byte
	for _, e := range n.Content {
		ch, ok := <-futures
		if !ok {
			return ctx.Err()
		}
		res := <-ch
		if res.err != nil {
			return fmt.Errorf("%s: %w", n.Name, res.err)
		}
		if e.IsHole() {
			if zeros == nil {
				zeros = make([]byte, 1<<20)
			}
			for left := e.Size; left > 0; {
				k := min(left, int64(len(zeros)))
				if _, err := w.Write(zeros[:k]); err != nil {
					return err
				}
				left -= k
			}
			continue
		}
		if _, err := w.Write(res.data); err != nil {
			return err
		}
	}
	return nil
}

func dumpTar(ctx context.Context, r Repository, dir *Node, p string, w io.Writer) error {
	tw := tar.NewWriter(w)
	prefix := path.Base(p)
	if p == "/" {
		prefix = ""
	}
	type di struct{ dev, ino uint64 }
	links := map[di]string{}
	emit := func(name string, n *Node) error {
		h := &tar.Header{
			Name:    name,
			Mode:    int64(n.Mode),
			Uid:     int(n.UID),
			Gid:     int(n.GID),
			Uname:   n.User,
			Gname:   n.Group,
			ModTime: n.ModTime,
			Format:  tar.FormatPAX,
		}
		if len(n.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for _, x := range n.Xattrs {
				h.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
			}
		}
		switch n.Type {
		case TypeFile:
			k := di{n.Device, n.Inode}
			if n.Links > 1 && n.Inode != 0 {
				if first, ok := links[k]; ok {
					h.Typeflag, h.Linkname = tar.TypeLink, first
					return tw.WriteHeader(h)
				}
				links[k] = name
			}
			h.Typeflag, h.Size = tar.TypeReg, n.Size
		case TypeDir:
			h.Typeflag, h.Name = tar.TypeDir, name+"/"
		case TypeSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, n.LinkTarget
		case TypeFIFO:
			h.Typeflag = tar.TypeFifo
		case TypeCharDev, TypeBlockDev:
			h.Typeflag = tar.TypeChar
			if n.Type == TypeBlockDev {
				h.Typeflag = tar.TypeBlock
			}
			h.Devmajor, h.Devminor = int64(devMajor(n.Rdev)), int64(devMinor(n.Rdev))
		default:
			return nil // sockets have no tar form
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if n.Type == TypeFile {
			return WriteContent(ctx, r, n, tw)
		}
		return nil
	}
	if prefix != "" {
		if err := emit(prefix, dir); err != nil {
			return err
		}
	}
	err := Walk(ctx, r, dir.Subtree, prefix, func(q string, n *Node) error {
		return emit(strings.TrimPrefix(q, "/"), n)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func devMajor(d uint64) uint32 { return uint32((d>>32)&0xfffff000) | uint32((d>>8)&0xfff) }
func devMinor(d uint64) uint32 { return uint32((d>>12)&0xffffff00) | uint32(d&0xff) }

// Stats are totals over snapshots.
type Stats struct {
	Snapshots uint64 `json:"snapshots"`
	// Files, Dirs and Others count nodes in every snapshot (a file in two
	// snapshots counts twice); TotalSize is the sum of their file sizes:
	// what restoring all snapshots would write.
	Files     uint64 `json:"files"`
	Dirs      uint64 `json:"dirs"`
	Others    uint64 `json:"others"`
	TotalSize uint64 `json:"total_size"`
	// DataBlobs and RawDataSize count distinct data blobs and their
	// plaintext size: the deduplicated data.
	DataBlobs   uint64 `json:"data_blobs"`
	RawDataSize uint64 `json:"raw_data_size"`
	TreeBlobs   uint64 `json:"tree_blobs"`
	// StoredSize is what the distinct blobs (data and trees) take in
	// packs, after compression and encryption, as the index says.
	StoredSize uint64 `json:"stored_size"`
}

type treeTotals struct{ files, dirs, others, size uint64 }

// ComputeStats totals the snapshots. Each tree is loaded once.
func ComputeStats(ctx context.Context, r Repository, sns []*Snapshot) (*Stats, error) {
	st := &Stats{Snapshots: uint64(len(sns))}
	memo := map[repo.ID]treeTotals{}
	seenData := map[repo.ID]bool{}
	var visit func(id repo.ID) (treeTotals, error)
	visit = func(id repo.ID) (treeTotals, error) {
		if t, ok := memo[id]; ok {
			return t, nil
		}
		t, err := LoadTree(ctx, r, id)
		if err != nil {
			return treeTotals{}, err
		}
		st.TreeBlobs++
		if loc, ok := r.LookupBlob(repo.TreeBlob, id); ok {
			st.StoredSize += uint64(loc.Length)
		}
		var tt treeTotals
		for _, n := range t.Nodes {
			switch n.Type {
			case TypeFile:
				tt.files++
				tt.size += uint64(n.Size)
				for _, e := range n.Content {
					if e.IsHole() || seenData[e.ID] {
						continue
					}
					seenData[e.ID] = true
					st.DataBlobs++
					st.RawDataSize += uint64(e.Size)
					if loc, ok := r.LookupBlob(repo.DataBlob, e.ID); ok {
						st.StoredSize += uint64(loc.Length)
					}
				}
			case TypeDir:
				tt.dirs++
				sub, err := visit(n.Subtree)
				if err != nil {
					return tt, err
				}
				tt.files += sub.files
				tt.dirs += sub.dirs
				tt.others += sub.others
				tt.size += sub.size
			default:
				tt.others++
			}
		}
		memo[id] = tt
		return tt, nil
	}
	for _, sn := range sns {
		tt, err := visit(sn.Tree)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.id.Short(), err)
		}
		st.Files += tt.files
		st.Dirs += tt.dirs
		st.Others += tt.others
		st.TotalSize += tt.size
	}
	return st, nil
}

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
	Err      error
}

func (p Problem) Error() string {
	return fmt.Sprintf("snapshot %s: %s: %s blob %s: %v", p.Snapshot.Short(), p.Path, p.Blob.Type, p.Blob.ID.Short(), p.Err)
}

// ErrBlobNotIndexed is the Err of a Problem for a referenced blob that the
// index does not know.
var ErrBlobNotIndexed = errors.New("referenced blob is not in the index")

// CheckTrees walks the snapshots' trees for the structural check: every
// tree must load and decode, and every referenced blob (tree or data) must
// be indexed (HasBlob). It calls problem for each defect (return an error to
// stop) and returns the set of all referenced blobs, for finding unused
// ones. Each tree is visited once.
func CheckTrees(ctx context.Context, r Repository, sns []*Snapshot, problem func(Problem) error) (map[BlobRef]struct{}, error) {
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
			return problem(Problem{sn, p, ref, ErrBlobNotIndexed})
		}
		t, err := LoadTree(ctx, r, id)
		if err != nil {
			return problem(Problem{sn, p, ref, err})
		}
		for _, n := range t.Nodes {
			np := path.Join(p, n.Name)
			switch n.Type {
			case TypeDir:
				if n.Subtree.IsNull() {
					if err := problem(Problem{sn, np, ref, errors.New("directory without subtree")}); err != nil {
						return err
					}
					continue
				}
				if err := visit(sn, n.Subtree, np); err != nil {
					return err
				}
			case TypeFile:
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
						if err := problem(Problem{sn, np, dr, ErrBlobNotIndexed}); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	}
	for _, sn := range sns {
		if err := visit(sn.id, sn.Tree, "/"); err != nil {
			return used, err
		}
	}
	return used, nil
}
