package snapshot

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// rawTree encodes nodes as EncodeTree would, but without its checks, so
// that a test can write what a hostile or broken writer would.
func rawTree(nodes ...*Node) []byte {
	b := append([]byte(nil), treeMagic...)
	b = binary.AppendUvarint(b, uint64(len(nodes)))
	for _, n := range nodes {
		nb := appendNode(nil, n)
		b = binary.AppendUvarint(b, uint64(len(nb)))
		b = append(b, nb...)
	}
	return b
}

func wantInvalid(t *testing.T, data []byte, want string) {
	t.Helper()
	_, err := DecodeTree(data)
	if !errors.Is(err, ErrInvalidTree) {
		t.Fatalf("DecodeTree = %v, want an ErrInvalidTree", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// The node of the issue: one extent claiming 2^62 bytes made restore
// --verify allocate it (makeslice panic).
func TestDecodeRejectsHugeDataExtent(t *testing.T) {
	n := &Node{Name: "f", Type: TypeFile, Size: 1 << 62, Content: []Extent{{ID: repo.ID{7}, Size: 1 << 62}}}
	wantInvalid(t, rawTree(n), "exceeds the largest blob")
	if _, err := EncodeTree(&Tree{Nodes: []*Node{n}}); err == nil {
		t.Fatal("EncodeTree wrote an extent no reader accepts")
	}
}

func TestDecodeChecksExtentsAddUpToSize(t *testing.T) {
	short := &Node{Name: "f", Type: TypeFile, Size: 10, Content: []Extent{{ID: repo.ID{7}, Size: 4}}}
	wantInvalid(t, rawTree(short), `node "f": extents add up to 4 bytes, its size is 10`)
	long := &Node{Name: "f", Type: TypeFile, Size: 3, Content: []Extent{{ID: repo.ID{7}, Size: 4}}}
	wantInvalid(t, rawTree(long), `extents add up to more than its size 3`)
	// Two holes whose sum overflows int64 must not wrap around to the size.
	wrap := &Node{Name: "f", Type: TypeFile, Size: 2, Content: []Extent{{Size: math.MaxInt64}, {Size: math.MaxInt64}, {Size: 4}}}
	wantInvalid(t, rawTree(wrap), "more than its size")
	noContent := &Node{Name: "f", Type: TypeFile, Size: 1}
	wantInvalid(t, rawTree(noContent), "extents add up to 0 bytes, its size is 1")
}

// Holes may be far larger than any blob: a sparse file of 2^62 bytes is
// valid.
func TestDecodeAcceptsHugeHole(t *testing.T) {
	n := &Node{Name: "sparse", Type: TypeFile, Size: 1<<62 + 5,
		Content: []Extent{{Size: 1 << 62}, {ID: repo.ID{1}, Size: 5}}}
	tr, err := DecodeTree(rawTree(n))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Nodes[0]; got.Size != n.Size || !got.Equal(n) {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := EncodeTree(tr); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRejectsSizeOf2To63(t *testing.T) {
	nb := appendString(nil, fName, "f")
	nb = appendUint(nb, fType, uint64(TypeFile))
	nb = appendUint(nb, fSize, 1<<63)
	b := append([]byte(nil), treeMagic...)
	b = binary.AppendUvarint(b, 1)
	b = binary.AppendUvarint(b, uint64(len(nb)))
	b = append(b, nb...)
	wantInvalid(t, b, "2^63")
}

func TestDecodeRejectsTooManyNodes(t *testing.T) {
	b := append([]byte(nil), treeMagic...)
	b = binary.AppendUvarint(b, MaxTreeNodes+1)
	b = append(b, make([]byte, MaxTreeNodes+1)...) // enough bytes to pass the length check
	wantInvalid(t, b, "entries exceed the limit")
}

func TestDecodeRejectsLongNamesAndTargets(t *testing.T) {
	long := strings.Repeat("x", MaxNameLength+1)
	wantInvalid(t, rawTree(&Node{Name: long, Type: TypeFIFO}), "name of 4097 bytes")
	wantInvalid(t, rawTree(&Node{Name: "l", Type: TypeSymlink, LinkTarget: strings.Repeat("t", MaxLinkTarget+1)}), "link target of")
	wantInvalid(t, rawTree(&Node{Name: "x", Type: TypeFIFO, Xattrs: []Xattr{{Name: long}}}), "extended attribute name of 4097 bytes")
	if _, err := EncodeTree(&Tree{Nodes: []*Node{{Name: long, Type: TypeFIFO}}}); err == nil {
		t.Fatal("EncodeTree wrote a name no reader accepts")
	}
}

func TestDecodeRejectsTooManyXattrs(t *testing.T) {
	n := &Node{Name: "x", Type: TypeFIFO, Xattrs: make([]Xattr, MaxNodeXattrs+1)}
	for i := range n.Xattrs {
		n.Xattrs[i].Name = "user." + strings.Repeat("a", i%7)
	}
	wantInvalid(t, rawTree(n), "more than 65536 extended attributes")
	if _, err := EncodeTree(&Tree{Nodes: []*Node{n}}); err == nil {
		t.Fatal("EncodeTree wrote more attributes than a reader accepts")
	}
}

// A field that does not apply to a node's type is ignored: content on a
// directory does not have to add up to anything.
func TestDecodeIgnoresSizeOfNonFiles(t *testing.T) {
	n := &Node{Name: "d", Type: TypeDir, Subtree: repo.ID{3}, Size: 9, Content: []Extent{{Size: 1}}}
	if _, err := DecodeTree(rawTree(n)); err != nil {
		t.Fatal(err)
	}
}
