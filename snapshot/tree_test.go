package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

func TestTreeDecodeRejectsBadInput(t *testing.T) {
	good, _ := EncodeTree(&Tree{Nodes: sampleNodes()})
	for i := 0; i < len(good); i++ {
		if _, err := DecodeTree(good[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	bad := [][]byte{
		[]byte("XXXX"),
		{'C', 'D', 'T', 9, 0},
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

func TestMatcher(t *testing.T) {
	cases := []struct {
		pats  []string
		path  string
		isDir bool
		want  bool
	}{
		{[]string{"*.tmp"}, "/a/b/c.tmp", false, true},
		{[]string{"*.tmp"}, "/a/b/c.tmpx", false, false},
		{[]string{"/a/*.tmp"}, "/a/c.tmp", false, true},
		{[]string{"/a/*.tmp"}, "/a/b/c.tmp", false, false},
		{[]string{"/a/**/c.tmp"}, "/a/b/x/c.tmp", false, true},
		{[]string{"/a/**/c.tmp"}, "/a/c.tmp", false, true},
		{[]string{"cache/"}, "/home/u/cache", true, true},
		{[]string{"cache/"}, "/home/u/cache", false, false},
		{[]string{"b/c"}, "/a/b/c", false, true},
		{[]string{"*.log", "!keep.log"}, "/x/keep.log", false, false},
		{[]string{"*.log", "!keep.log"}, "/x/other.log", false, true},
		{[]string{"new\nline"}, "/new\nline", false, true},
		{nil, "/x", false, false},
	}
	for _, c := range cases {
		m, err := NewMatcher(c.pats)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(c.path, c.isDir); got != c.want {
			t.Errorf("%q match %q (dir %v) = %v, want %v", c.pats, c.path, c.isDir, got, c.want)
		}
	}
	if _, err := NewMatcher([]string{"[x"}); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestHelpers(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "keep"), []byte("same"))
	writeFile(t, filepath.Join(src, "change"), []byte("v1"))
	writeFile(t, filepath.Join(src, "remove"), []byte("bye"))
	writeFile(t, filepath.Join(src, "d", "f.sql"), randBytes(5, 70<<10))
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h", Tags: []string{"t1"}}
	sn1 := mustSnapshot(t, a, src)
	writeFile(t, filepath.Join(src, "change"), []byte("v2!"))
	writeFile(t, filepath.Join(src, "added"), []byte("new"))
	if err := os.Remove(filepath.Join(src, "remove")); err != nil {
		t.Fatal(err)
	}
	sn2 := mustSnapshot(t, a, src)

	// Diff
	var changes []string
	st, err := Diff(ctx, r, sn1, sn2, func(c Change) error {
		if strings.HasPrefix(c.Path, src+"/") {
			changes = append(changes, fmt.Sprintf("%s %s c=%v", c.Kind, strings.TrimPrefix(c.Path, src+"/"), c.Content))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+ added c=false", "M change c=true", "- remove c=false"}
	if !slices.Equal(changes, want) || st.Added != 1 || st.Removed != 1 {
		t.Errorf("diff: %q %+v", changes, st)
	}

	// Ls (non-recursive)
	var ls []string
	Ls(ctx, r, sn2, src, false, func(p string, n *Node) error {
		ls = append(ls, filepath.Base(p))
		return nil
	})
	if !slices.Equal(ls, []string{"added", "change", "d", "keep"}) {
		t.Errorf("ls: %v", ls)
	}

	// Find across snapshots
	var found []string
	Find(ctx, r, []*Snapshot{sn1, sn2}, []string{"*.sql", "remove"}, func(sn *Snapshot, p string, n *Node) error {
		found = append(found, sn.ID().Short()+":"+filepath.Base(p))
		return nil
	})
	if len(found) != 3 {
		t.Errorf("find: %v", found)
	}

	// Dump a directory as tar
	var buf bytes.Buffer
	if err := Dump(ctx, r, sn2, src, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, "f.sql") {
			b, _ := io.ReadAll(tr)
			if !bytes.Equal(b, randBytes(5, 70<<10)) {
				t.Error("tar content differs")
			}
		}
	}
	base := filepath.Base(src)
	if len(names) != 6 || names[0] != base+"/" {
		t.Errorf("tar names: %v", names)
	}

	// Stats
	s, err := ComputeStats(ctx, r, []*Snapshot{sn1, sn2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Snapshots != 2 || s.Files != 8 || s.DataBlobs == 0 || s.RawDataSize >= s.TotalSize || s.StoredSize == 0 {
		t.Errorf("stats: %+v", s)
	}

	// Tags
	sn3, err := ChangeTags(ctx, r, sn2, nil, []string{"keep", "t2"}, []string{"t1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sn3.Tags, []string{"keep", "t2"}) || sn3.Original == nil || *sn3.Original != sn2.ID() || sn3.ID() == sn2.ID() {
		t.Errorf("tags: %+v", sn3)
	}
	if _, err := LoadSnapshot(ctx, r, sn2.ID()); err == nil {
		t.Error("old snapshot file not removed")
	}
	if sn4, _ := ChangeTags(ctx, r, sn3, []string{"t2", "keep"}, nil, nil); sn4 != sn3 {
		t.Error("unchanged tags rewrote the snapshot")
	}

	// CheckTrees: all good, then a missing blob.
	used, err := CheckTrees(ctx, r, []*Snapshot{sn1, sn3}, func(p Problem) error { return p })
	if err != nil || len(used) < 5 {
		t.Fatalf("check: %v %d", err, len(used))
	}
	n, _ := FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d", "f.sql"))
	r.Damage(n.Content[0].ID) // LoadBlob fails, but it is indexed: not a structural problem
	dn, _ := FindNode(ctx, r, sn1.Tree, filepath.Join(src, "d"))
	r.Damage(dn.Subtree) // a tree that does not load is one
	var probs []Problem
	CheckTrees(ctx, r, []*Snapshot{sn1}, func(p Problem) error { probs = append(probs, p); return nil })
	if len(probs) != 1 || probs[0].Blob.ID != dn.Subtree || probs[0].Path != filepath.Join(src, "d") {
		t.Errorf("problems: %v", probs)
	}
}
