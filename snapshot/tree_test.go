package snapshot

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

func sampleNodes() []*Node {
	return []*Node{
		{Name: "zeta", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 1000, User: "u", Group: "g",
			ModTime: time.Unix(1700000000, 123), ChangeTime: time.Unix(1700000001, 0), Size: 10, Inode: 5, Device: 2049, Links: 1,
			Content: []Extent{{ID: repo.ID{1}, Size: 4}, {Size: 3}, {ID: repo.ID{2}, Size: 3}}},
		{Name: "\xff\xfe\n bin", Type: TypeSymlink, Mode: 0o777, LinkTarget: "../\xff", ModTime: time.Unix(-1000, 5)},
		{Name: "alpha", Type: TypeDir, Mode: 0o2775, Subtree: repo.ID{9}, ModTime: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
			Xattrs: []Xattr{{Name: "user.b", Value: []byte{0, 1}}, {Name: "user.a"}}},
		{Name: "dev", Type: TypeCharDev, Rdev: 0x103, Mode: 0o666, ModTime: time.Unix(5, 0), ChangeTime: time.Unix(6, 0)},
	}
}

func TestTreeEncodingIsDeterministic(t *testing.T) {
	a := &Tree{Nodes: sampleNodes()}
	b := &Tree{Nodes: sampleNodes()}
	slices.Reverse(b.Nodes)
	ea, err := EncodeTree(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := EncodeTree(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, eb) {
		t.Fatal("same nodes in another order encode differently")
	}
	dt, err := DecodeTree(ea)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := EncodeTree(dt)
	if !bytes.Equal(again, ea) {
		t.Fatal("decode+encode changes the bytes")
	}
	for i, n := range dt.Nodes {
		if !n.Equal(a.Nodes[i]) || !n.ModTime.Equal(a.Nodes[i].ModTime) || n.Name != a.Nodes[i].Name {
			t.Errorf("node %d: %+v != %+v", i, n, a.Nodes[i])
		}
	}
	if f := dt.Find("zeta"); f == nil || f.ContentSize() != 10 || len(f.DataBlobs()) != 2 || !f.Content[1].IsHole() {
		t.Errorf("zeta: %+v", f)
	}
	if dt.Find("alpha").Xattrs[0].Name != "user.a" {
		t.Error("xattrs not sorted")
	}
}

// TestTreeEncodingGolden pins the byte format documented in
// doc/design-snapshot.md.
func TestTreeEncodingGolden(t *testing.T) {
	tr := &Tree{Nodes: []*Node{{Name: "a", Type: TypeFile, Mode: 0o644, ModTime: time.Unix(1, 2), Size: 3,
		Content: []Extent{{ID: repo.ID{0xab}, Size: 3}}}}}
	b, err := EncodeTree(tr)
	if err != nil {
		t.Fatal(err)
	}
	want := "43445401" + // magic+version
		"01" + "32" + // one node of 50 bytes
		"0a0161" + "1001" + "18a403" + "4002" + "4802" + "7003" +
		"aa0121" + "06" + "ab" + strings.Repeat("00", 31)
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("encoding changed:\ngot  %s\nwant %s", got, want)
	}
}

// A tree's version byte is in plaintext that AEAD authenticated, so a
// version above ours is a newer cadang's, unsupported and not damage; a
// version below ours (0) is damage (doc/design.md §13).
func TestTreeDecodeVersion(t *testing.T) {
	good, _ := EncodeTree(&Tree{Nodes: sampleNodes()})
	for _, v := range []byte{2, 9, 255} {
		b := slices.Clone(good)
		b[3] = v
		_, err := DecodeTree(b)
		if !errors.Is(err, repo.ErrUnsupportedVersion) || errors.Is(err, ErrInvalidTree) {
			t.Errorf("version %d: %v, want unsupported and not invalid", v, err)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("tree version %d", v)) {
			t.Errorf("version %d: %q does not name the object and version", v, err)
		}
	}
	b := slices.Clone(good)
	b[3] = 0
	if _, err := DecodeTree(b); !errors.Is(err, ErrInvalidTree) || errors.Is(err, repo.ErrUnsupportedVersion) {
		t.Errorf("version 0: %v, want invalid tree", err)
	}
	// An empty tree of version 2 (what a newer cadang might write) too.
	if _, err := DecodeTree([]byte{'C', 'D', 'T', 2, 0}); !errors.Is(err, repo.ErrUnsupportedVersion) || errors.Is(err, ErrInvalidTree) {
		t.Errorf("empty version-2 tree: %v", err)
	}
}

func TestTreeDecodeRejectsBadInput(t *testing.T) {
	good, _ := EncodeTree(&Tree{Nodes: sampleNodes()})
	for i := 0; i < len(good); i++ {
		if _, err := DecodeTree(good[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	bad := [][]byte{
		[]byte("XXXX"),
		{'C', 'D', 'T', 0, 0}, // every lower version is known: damage
		append(slices.Clone(good), 0),
	}
	for _, b := range bad {
		if _, err := DecodeTree(b); !errors.Is(err, ErrInvalidTree) {
			t.Errorf("%x: %v", b, err)
		}
	}
	for _, name := range []string{"", ".", "..", "a/b", "a\x00"} {
		if _, err := EncodeTree(&Tree{Nodes: []*Node{{Name: name, Type: TypeFile}}}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := EncodeTree(&Tree{Nodes: []*Node{{Name: "x", Type: TypeFile}, {Name: "x", Type: TypeDir}}}); err == nil {
		t.Error("duplicate names accepted")
	}
	// An unknown field is skipped.
	n := appendNode(nil, &Node{Name: "x", Type: TypeFile})
	n = appendUint(n, 99, 7)
	n = appendString(n, 100, "future")
	tb := append([]byte{'C', 'D', 'T', 1, 1, byte(len(n))}, n...)
	if tr, err := DecodeTree(tb); err != nil || tr.Nodes[0].Name != "x" {
		t.Errorf("unknown fields: %v", err)
	}
}
