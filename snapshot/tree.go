package snapshot

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
)

// Tree is the content of one directory: its entries sorted by name (byte
// order), names unique.
type Tree struct {
	Nodes []*Node
}

// Find returns the node called name, or nil.
func (t *Tree) Find(name string) *Node {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return t.Nodes[i]
	}
	return nil
}

// Sort orders the nodes by name.
func (t *Tree) Sort() {
	slices.SortFunc(t.Nodes, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
}

// treeMagic starts every tree blob: "CDT" and the encoding version.
var treeMagic = []byte{'C', 'D', 'T', 1}

// Field numbers of the node encoding; see doc/design-snapshot.md. A field's
// key is num<<3 | wire type (0 = uvarint, 2 = length-prefixed bytes).
const (
	fName       = 1
	fType       = 2
	fMode       = 3
	fUID        = 4
	fGID        = 5
	fUser       = 6
	fGroup      = 7
	fMtimeSec   = 8
	fMtimeNsec  = 9
	fCtimeSec   = 10
	fCtimeNsec  = 11
	fAtimeSec   = 12
	fAtimeNsec  = 13
	fSize       = 14
	fInode      = 15
	fDevice     = 16
	fLinks      = 17
	fRdev       = 18
	fXattr      = 19
	fLinkTarget = 20
	fContent    = 21
	fSubtree    = 22

	wireVarint = 0
	wireBytes  = 2
)

// ErrInvalidTree is wrapped by every tree decoding error except that for a
// tree of a newer version, which wraps repo.ErrUnsupportedVersion.
var ErrInvalidTree = errors.New("invalid tree")

// Reader limits on a tree (doc/design.md §14). A tree blob may be up to
// repo.MaxBlobSize, and a node or extent takes only a few bytes of it, so
// without counts a crafted gigabyte tree would decode into tens of
// gigabytes of nodes. DecodeTree rejects a tree beyond them as invalid, and
// EncodeTree refuses to write one, so that a backup fails at once instead
// of producing a snapshot that no reader accepts.
const (
	// MaxTreeNodes is the most entries of one directory (~1.2 GiB of
	// decoded nodes).
	MaxTreeNodes = 1 << 22
	// MaxNodeExtents is the most content extents of one file: a 4 TiB
	// file at the default average chunk size of 128 KiB.
	MaxNodeExtents = 1 << 25
	// MaxNodeXattrs is the most extended attributes of one node (Linux
	// lists at most 64 KiB of attribute names per file).
	MaxNodeXattrs = 1 << 16
	// MaxNameLength bounds node and attribute names in bytes (Linux
	// allows 255).
	MaxNameLength = 4096
	// MaxLinkTarget bounds a symlink target in bytes (Linux allows 4095).
	MaxLinkTarget = 1 << 16
	// MaxExtentSize is the largest data extent: the largest blob
	// (repo.MaxBlobSize). Holes may be larger; they only add up to the
	// file's size.
	MaxExtentSize = repo.MaxBlobSize
)

// EncodeTree returns the canonical encoding of a directory. The nodes are
// sorted by name first (t is modified); duplicate names are an error.
// Identical directories always encode to identical bytes.
func EncodeTree(t *Tree) ([]byte, error) {
	return AppendTree(nil, t)
}

// AppendTree appends the canonical encoding of t to buf; see EncodeTree.
func AppendTree(buf []byte, t *Tree) ([]byte, error) {
	if !slices.IsSortedFunc(t.Nodes, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) }) {
		t.Sort()
	}
	for i := 1; i < len(t.Nodes); i++ {
		if t.Nodes[i].Name == t.Nodes[i-1].Name {
			return nil, fmt.Errorf("tree has two entries named %q", t.Nodes[i].Name)
		}
	}
	if len(t.Nodes) > MaxTreeNodes {
		return nil, fmt.Errorf("tree has %d entries, more than the limit of %d", len(t.Nodes), MaxTreeNodes)
	}
	buf = append(buf, treeMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(t.Nodes)))
	var nb []byte
	for _, n := range t.Nodes {
		if !validName(n.Name) {
			return nil, fmt.Errorf("invalid node name %q", n.Name)
		}
		if err := checkNodeLimits(n); err != nil {
			return nil, fmt.Errorf("node %q: %w", n.Name, err)
		}
		nb = appendNode(nb[:0], n)
		buf = binary.AppendUvarint(buf, uint64(len(nb)))
		buf = append(buf, nb...)
	}
	return buf, nil
}

func appendKey(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendUint(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = appendKey(b, field, wireVarint)
	return binary.AppendUvarint(b, v)
}

func appendInt(b []byte, field int, v int64) []byte {
	return appendUint(b, field, uint64(v<<1)^uint64(v>>63)) // zigzag
}

func appendBytes(b []byte, field int, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, field int, v string) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendTime writes t as seconds and nanoseconds since the epoch. The zero
// time.Time is written like the epoch (that is, not at all).
func appendTime(b []byte, fsec, fnsec int, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = appendInt(b, fsec, t.Unix())
	return appendUint(b, fnsec, uint64(t.Nanosecond()))
}

func appendNode(b []byte, n *Node) []byte {
	b = appendString(b, fName, n.Name)
	b = appendUint(b, fType, uint64(n.Type))
	b = appendUint(b, fMode, uint64(n.Mode))
	b = appendUint(b, fUID, uint64(n.UID))
	b = appendUint(b, fGID, uint64(n.GID))
	b = appendString(b, fUser, n.User)
	b = appendString(b, fGroup, n.Group)
	b = appendTime(b, fMtimeSec, fMtimeNsec, n.ModTime)
	b = appendTime(b, fCtimeSec, fCtimeNsec, n.ChangeTime)
	if !n.AccessTime.IsZero() {
		b = appendTime(b, fAtimeSec, fAtimeNsec, n.AccessTime)
	}
	b = appendUint(b, fSize, uint64(n.Size))
	b = appendUint(b, fInode, n.Inode)
	b = appendUint(b, fDevice, n.Device)
	b = appendUint(b, fLinks, n.Links)
	b = appendUint(b, fRdev, n.Rdev)
	if len(n.Xattrs) > 0 {
		xs := n.Xattrs
		if !slices.IsSortedFunc(xs, cmpXattr) {
			xs = slices.Clone(xs)
			slices.SortFunc(xs, cmpXattr)
		}
		var xb []byte
		for _, x := range xs {
			xb = binary.AppendUvarint(xb[:0], uint64(len(x.Name)))
			xb = append(xb, x.Name...)
			xb = append(xb, x.Value...)
			// An attribute is always written, even with an empty name+value
			// (which cannot happen), so write the key unconditionally.
			b = appendKey(b, fXattr, wireBytes)
			b = binary.AppendUvarint(b, uint64(len(xb)))
			b = append(b, xb...)
		}
	}
	b = appendString(b, fLinkTarget, n.LinkTarget)
	if len(n.Content) > 0 {
		l := 0
		for _, e := range n.Content {
			l += uvarintLen(uint64(e.Size) << 1)
			if !e.IsHole() {
				l += repo.IDSize
			}
		}
		b = appendKey(b, fContent, wireBytes)
		b = binary.AppendUvarint(b, uint64(l))
		for _, e := range n.Content {
			if e.IsHole() {
				b = binary.AppendUvarint(b, uint64(e.Size)<<1|1)
			} else {
				b = binary.AppendUvarint(b, uint64(e.Size)<<1)
				b = append(b, e.ID[:]...)
			}
		}
	}
	if !n.Subtree.IsNull() {
		b = appendBytes(b, fSubtree, n.Subtree[:])
	}
	return b
}

// validName reports whether a node name is usable as one path component:
// not empty, ".", "..", and without '/' or NUL. Any other bytes are allowed.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && strings.IndexByte(s, '/') < 0 && strings.IndexByte(s, 0) < 0
}

// checkNodeLimits checks what EncodeTree writes against what DecodeTree
// accepts: the counts and lengths of the reader limits, and extent sizes.
func checkNodeLimits(n *Node) error {
	switch {
	case len(n.Name) > MaxNameLength:
		return fmt.Errorf("name of %d bytes exceeds the limit of %d", len(n.Name), MaxNameLength)
	case len(n.LinkTarget) > MaxLinkTarget:
		return fmt.Errorf("link target of %d bytes exceeds the limit of %d", len(n.LinkTarget), MaxLinkTarget)
	case len(n.Xattrs) > MaxNodeXattrs:
		return fmt.Errorf("%d extended attributes exceed the limit of %d", len(n.Xattrs), MaxNodeXattrs)
	case len(n.Content) > MaxNodeExtents:
		return fmt.Errorf("%d extents exceed the limit of %d", len(n.Content), MaxNodeExtents)
	case n.Size < 0:
		return fmt.Errorf("negative size %d", n.Size)
	}
	for _, x := range n.Xattrs {
		if len(x.Name) > MaxNameLength {
			return fmt.Errorf("extended attribute name of %d bytes exceeds the limit of %d", len(x.Name), MaxNameLength)
		}
	}
	for i, e := range n.Content {
		if e.Size < 0 || (!e.IsHole() && e.Size > MaxExtentSize) {
			return fmt.Errorf("extent %d: size %d outside 0..%d", i, e.Size, MaxExtentSize)
		}
	}
	return nil
}

func cmpXattr(a, b Xattr) int { return strings.Compare(a.Name, b.Name) }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// DecodeTree parses a tree blob. It accepts exactly what EncodeTree
// produces, plus unknown fields (which it skips), so that newer writers can
// add fields. A tree of a newer version is unsupported: the error wraps
// repo.ErrUnsupportedVersion, not ErrInvalidTree, which every other
// decoding error wraps.
func DecodeTree(data []byte) (*Tree, error) {
	if len(data) < 4 || !bytes.HasPrefix(data, treeMagic[:3]) {
		return nil, fmt.Errorf("%w: bad magic", ErrInvalidTree)
	}
	// The version byte lies in plaintext that AEAD authenticated and whose
	// ID was verified, so a version above ours was written by a newer
	// cadang: unsupported, not damage. Every lower version is known, so
	// one of those is damage (doc/design.md §13).
	if v := data[3]; v > treeMagic[3] {
		return nil, fmt.Errorf("tree version %d is newer than this cadang reads (%d): %w", v, treeMagic[3], repo.ErrUnsupportedVersion)
	} else if v < treeMagic[3] {
		return nil, fmt.Errorf("%w: version %d", ErrInvalidTree, v)
	}
	d := data[4:]
	cnt, k := binary.Uvarint(d)
	if k <= 0 || cnt > uint64(len(d)) {
		return nil, fmt.Errorf("%w: bad node count", ErrInvalidTree)
	}
	if cnt > MaxTreeNodes {
		return nil, fmt.Errorf("%w: %d entries exceed the limit of %d", ErrInvalidTree, cnt, MaxTreeNodes)
	}
	d = d[k:]
	t := &Tree{Nodes: make([]*Node, 0, cnt)}
	for i := uint64(0); i < cnt; i++ {
		l, k := binary.Uvarint(d)
		if k <= 0 || l > uint64(len(d)-k) {
			return nil, fmt.Errorf("%w: node %d truncated", ErrInvalidTree, i)
		}
		n, err := decodeNode(d[k : k+int(l)])
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %v", ErrInvalidTree, i, err)
		}
		if len(t.Nodes) > 0 && t.Nodes[len(t.Nodes)-1].Name >= n.Name {
			return nil, fmt.Errorf("%w: entries not sorted or not unique at %q", ErrInvalidTree, n.Name)
		}
		t.Nodes = append(t.Nodes, n)
		d = d[k+int(l):]
	}
	if len(d) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInvalidTree, len(d))
	}
	return t, nil
}

func decodeNode(d []byte) (*Node, error) {
	n := &Node{}
	var mts, cts, ats int64
	var mtn, ctn, atn uint64
	var hasA bool
	for len(d) > 0 {
		key, k := binary.Uvarint(d)
		if k <= 0 {
			return nil, errors.New("bad field key")
		}
		d = d[k:]
		field, wire := int(key>>3), int(key&7)
		var u uint64
		var bs []byte
		switch wire {
		case wireVarint:
			u, k = binary.Uvarint(d)
			if k <= 0 {
				return nil, fmt.Errorf("field %d: bad varint", field)
			}
			d = d[k:]
		case wireBytes:
			l, k := binary.Uvarint(d)
			if k <= 0 || l > uint64(len(d)-k) {
				return nil, fmt.Errorf("field %d: bad length", field)
			}
			bs = d[k : k+int(l)]
			d = d[k+int(l):]
		default:
			return nil, fmt.Errorf("field %d: unknown wire type %d", field, wire)
		}
		zz := int64(u>>1) ^ -int64(u&1)
		switch field {
		case fName:
			n.Name = string(bs)
		case fType:
			n.Type = NodeType(u)
		case fMode:
			n.Mode = uint32(u)
		case fUID:
			n.UID = uint32(u)
		case fGID:
			n.GID = uint32(u)
		case fUser:
			n.User = string(bs)
		case fGroup:
			n.Group = string(bs)
		case fMtimeSec:
			mts = zz
		case fMtimeNsec:
			mtn = u
		case fCtimeSec:
			cts = zz
		case fCtimeNsec:
			ctn = u
		case fAtimeSec:
			ats, hasA = zz, true
		case fAtimeNsec:
			atn, hasA = u, true
		case fSize:
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("size %d is 2^63 or more", u)
			}
			n.Size = int64(u)
		case fInode:
			n.Inode = u
		case fDevice:
			n.Device = u
		case fLinks:
			n.Links = u
		case fRdev:
			n.Rdev = u
		case fXattr:
			l, k := binary.Uvarint(bs)
			if k <= 0 || l > uint64(len(bs)-k) {
				return nil, errors.New("bad xattr")
			}
			if len(n.Xattrs) >= MaxNodeXattrs {
				return nil, fmt.Errorf("more than %d extended attributes", MaxNodeXattrs)
			}
			if l > MaxNameLength {
				return nil, fmt.Errorf("extended attribute name of %d bytes exceeds the limit of %d", l, MaxNameLength)
			}
			n.Xattrs = append(n.Xattrs, Xattr{Name: string(bs[k : k+int(l)]), Value: slices.Clone(bs[k+int(l):])})
		case fLinkTarget:
			if len(bs) > MaxLinkTarget {
				return nil, fmt.Errorf("link target of %d bytes exceeds the limit of %d", len(bs), MaxLinkTarget)
			}
			n.LinkTarget = string(bs)
		case fContent:
			for len(bs) > 0 {
				v, k := binary.Uvarint(bs)
				if k <= 0 {
					return nil, errors.New("bad content extent")
				}
				bs = bs[k:]
				if len(n.Content) >= MaxNodeExtents {
					return nil, fmt.Errorf("more than %d content extents", MaxNodeExtents)
				}
				e := Extent{Size: int64(v >> 1)}
				if v&1 == 0 {
					if len(bs) < repo.IDSize {
						return nil, errors.New("truncated content ID")
					}
					copy(e.ID[:], bs)
					bs = bs[repo.IDSize:]
					if e.Size > MaxExtentSize {
						return nil, fmt.Errorf("extent %d (blob %s): size %d exceeds the largest blob (%d)", len(n.Content), e.ID.Short(), e.Size, MaxExtentSize)
					}
				}
				n.Content = append(n.Content, e)
			}
		case fSubtree:
			if len(bs) != repo.IDSize {
				return nil, errors.New("bad subtree ID")
			}
			copy(n.Subtree[:], bs)
		}
	}
	if !validName(n.Name) {
		return nil, fmt.Errorf("invalid node name %q", n.Name)
	}
	if len(n.Name) > MaxNameLength {
		return nil, fmt.Errorf("name of %d bytes exceeds the limit of %d", len(n.Name), MaxNameLength)
	}
	if !n.Type.Valid() {
		return nil, fmt.Errorf("node %q: unknown type %d", n.Name, n.Type)
	}
	if n.Type == TypeFile {
		// Readers size buffers and files from these numbers; a size the
		// extents do not fill (or overrun) would have them allocate or
		// write what no blob holds.
		var sum uint64
		for _, e := range n.Content {
			sum += uint64(e.Size) // each < 2^63, and sum stays <= size + 2^63
			if sum > uint64(n.Size) {
				return nil, fmt.Errorf("node %q: extents add up to more than its size %d", n.Name, n.Size)
			}
		}
		if sum != uint64(n.Size) {
			return nil, fmt.Errorf("node %q: extents add up to %d bytes, its size is %d", n.Name, sum, n.Size)
		}
	}
	n.ModTime = time.Unix(mts, int64(mtn))
	n.ChangeTime = time.Unix(cts, int64(ctn))
	if hasA {
		n.AccessTime = time.Unix(ats, int64(atn))
	}
	return n, nil
}

// SaveTree encodes t and stores it as a tree blob.
func SaveTree(ctx context.Context, r BlobSaver, t *Tree) (repo.ID, error) {
	b, err := EncodeTree(t)
	if err != nil {
		return repo.ID{}, err
	}
	id, _, err := r.SaveBlob(ctx, repo.TreeBlob, b)
	return id, err
}

// LoadTree loads and decodes a tree blob.
func LoadTree(ctx context.Context, r BlobLoader, id repo.ID) (*Tree, error) {
	b, err := r.LoadBlob(ctx, repo.TreeBlob, id, nil)
	if err != nil {
		return nil, err // LoadBlob names the tree blob
	}
	t, err := DecodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	return t, nil
}
