package snapshot

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lpse/cadang/repo"
)

// NodeType is the kind of a filesystem object recorded in a tree.
type NodeType uint8

// The node types. The numeric values are part of the tree encoding
// (doc/design-snapshot.md) and must never change.
const (
	TypeFile     NodeType = 1
	TypeDir      NodeType = 2
	TypeSymlink  NodeType = 3
	TypeCharDev  NodeType = 4
	TypeBlockDev NodeType = 5
	TypeFIFO     NodeType = 6
	TypeSocket   NodeType = 7
)

func (t NodeType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeCharDev:
		return "chardev"
	case TypeBlockDev:
		return "blockdev"
	case TypeFIFO:
		return "fifo"
	case TypeSocket:
		return "socket"
	}
	return fmt.Sprintf("nodetype(%d)", uint8(t))
}

// Valid reports whether t is a known node type.
func (t NodeType) Valid() bool { return t >= TypeFile && t <= TypeSocket }

// Extent is one piece of a regular file's content: either a data blob of
// Size plaintext bytes, or, when ID is the zero ID, a hole of Size bytes that
// restores as a hole (the file stays sparse).
type Extent struct {
	ID   repo.ID
	Size int64
}

// IsHole reports whether the extent is a hole.
func (e Extent) IsHole() bool { return e.ID.IsNull() }

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Node is one entry of a directory: a file, directory, symlink, device node,
// FIFO or socket, with its metadata. Names and link targets are arbitrary
// bytes held in Go strings; they need not be UTF-8.
type Node struct {
	Name string
	Type NodeType
	// Mode holds the Unix permission bits including setuid, setgid and
	// sticky (mode & 07777); the file type is in Type.
	Mode  uint32
	UID   uint32
	GID   uint32
	User  string // user name of UID at backup time, if known
	Group string // group name of GID at backup time, if known

	ModTime    time.Time
	ChangeTime time.Time
	AccessTime time.Time // zero unless the archiver records access times

	Size   int64  // file size in bytes; 0 for anything but regular files
	Inode  uint64 // for change detection and hardlinks
	Device uint64 // st_dev of the filesystem holding the node
	Links  uint64 // st_nlink; a regular file with Links > 1 may be a hardlink
	Rdev   uint64 // device number of a char/block device node

	Xattrs     []Xattr  // sorted by name
	LinkTarget string   // symlink target
	Content    []Extent // regular file content, in file order
	Subtree    repo.ID  // directory content (a tree blob)
}

// DataBlobs returns the IDs of the data blobs the node references, in file
// order, with repetitions.
func (n *Node) DataBlobs() []repo.ID {
	ids := make([]repo.ID, 0, len(n.Content))
	for _, e := range n.Content {
		if !e.IsHole() {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// ContentSize returns the sum of the extent sizes, which equals Size for a
// consistently archived file.
func (n *Node) ContentSize() int64 {
	var s int64
	for _, e := range n.Content {
		s += e.Size
	}
	return s
}

// Equal reports whether two nodes have identical encodings.
func (n *Node) Equal(o *Node) bool {
	return bytes.Equal(appendNode(nil, n), appendNode(nil, o))
}

// SameContent reports whether two regular-file nodes reference the same
// content.
func (n *Node) SameContent(o *Node) bool {
	if n.Type != o.Type || len(n.Content) != len(o.Content) {
		return false
	}
	for i := range n.Content {
		if n.Content[i] != o.Content[i] {
			return false
		}
	}
	return n.Subtree == o.Subtree && n.LinkTarget == o.LinkTarget && n.Rdev == o.Rdev
}

// SameMetadata reports whether two nodes have the same metadata, ignoring
// content, inode, device, link count and change time (which differ for a
// restored copy of the same file).
func (n *Node) SameMetadata(o *Node) bool {
	if n.Type != o.Type || n.Mode != o.Mode || n.UID != o.UID || n.GID != o.GID ||
		!n.ModTime.Equal(o.ModTime) || n.Size != o.Size || len(n.Xattrs) != len(o.Xattrs) {
		return false
	}
	for i := range n.Xattrs {
		if n.Xattrs[i].Name != o.Xattrs[i].Name || !bytes.Equal(n.Xattrs[i].Value, o.Xattrs[i].Value) {
			return false
		}
	}
	return true
}
