package snapshot

// Fuzz targets for the tree and node decoders: tree blobs are written by
// any host that knows the password, so a reader must survive any bytes.
// The seed corpus under testdata/fuzz/ is made from real encoded trees;
// regenerate it with
//
//	CADANG_WRITE_FUZZ_CORPUS=1 go test -run TestWriteTreeFuzzCorpus ./snapshot
//
// and fuzz with, for example,
//
//	go test -run '^$' -fuzz '^FuzzDecodeTree$' -fuzztime 30s ./snapshot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
)

func treeSeeds() [][]byte {
	var out [][]byte
	empty, _ := EncodeTree(&Tree{})
	out = append(out, empty)
	full, err := EncodeTree(&Tree{Nodes: sampleNodes()})
	if err != nil {
		panic(err)
	}
	out = append(out, full)
	out = append(out, rawTree(&Node{Name: "f", Type: TypeFile, Size: 1 << 62, Content: []Extent{{ID: repo.ID{7}, Size: 1 << 62}}}))
	out = append(out, rawTree(&Node{Name: "f", Type: TypeFile, Size: 10, Content: []Extent{{ID: repo.ID{7}, Size: 4}}}))
	out = append(out, rawTree(&Node{Name: "a", Type: TypeDir, Subtree: repo.ID{1}}, &Node{Name: "b", Type: TypeDir, Subtree: repo.ID{1}}))
	return out
}

// FuzzDecodeTree checks that DecodeTree never panics, and that what it
// accepts encodes again into a tree it decodes to the same nodes.
func FuzzDecodeTree(f *testing.F) {
	for _, s := range treeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := DecodeTree(data)
		if err != nil {
			return
		}
		checkDecoded(t, tr)
		enc, err := EncodeTree(tr)
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		again, err := DecodeTree(enc)
		if err != nil {
			t.Fatalf("re-encoded tree does not decode: %v", err)
		}
		if len(again.Nodes) != len(tr.Nodes) {
			t.Fatalf("%d nodes, then %d", len(tr.Nodes), len(again.Nodes))
		}
		for i := range tr.Nodes {
			if !tr.Nodes[i].Equal(again.Nodes[i]) {
				t.Fatalf("node %d changed: %+v, then %+v", i, tr.Nodes[i], again.Nodes[i])
			}
		}
	})
}

// FuzzDecodeNode checks decodeNode alone, so that the fuzzer need not
// find the tree framing first.
func FuzzDecodeNode(f *testing.F) {
	for _, n := range sampleNodes() {
		f.Add(appendNode(nil, n))
	}
	f.Add(appendNode(nil, &Node{Name: "f", Type: TypeFile, Size: 1 << 62, Content: []Extent{{ID: repo.ID{7}, Size: 1 << 62}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decodeNode(data)
		if err != nil {
			return
		}
		checkDecoded(t, &Tree{Nodes: []*Node{n}})
		m, err := decodeNode(appendNode(nil, n))
		if err != nil {
			t.Fatalf("re-encoded node does not decode: %v", err)
		}
		if !m.Equal(n) {
			t.Fatalf("node changed: %+v, then %+v", n, m)
		}
	})
}

// checkDecoded asserts the invariants readers rely on.
func checkDecoded(t *testing.T, tr *Tree) {
	t.Helper()
	if len(tr.Nodes) > MaxTreeNodes {
		t.Fatalf("%d nodes", len(tr.Nodes))
	}
	for _, n := range tr.Nodes {
		if err := checkNodeLimits(n); err != nil {
			t.Fatalf("decoded node %q breaks a limit: %v", n.Name, err)
		}
		if n.Type == TypeFile && n.ContentSize() != n.Size {
			t.Fatalf("file %q: extents %d, size %d", n.Name, n.ContentSize(), n.Size)
		}
	}
}

// TestWriteTreeFuzzCorpus writes the seeds above as the checked-in corpus
// (only with CADANG_WRITE_FUZZ_CORPUS=1), so that plain go test runs them.
func TestWriteTreeFuzzCorpus(t *testing.T) {
	if os.Getenv("CADANG_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set CADANG_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			var b bytes.Buffer
			fmt.Fprintf(&b, "go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDecodeTree", treeSeeds())
	var nodes [][]byte
	for _, n := range sampleNodes() {
		nodes = append(nodes, appendNode(nil, n))
	}
	nodes = append(nodes, appendNode(nil, &Node{Name: "f", Type: TypeFile, Size: 10, Content: []Extent{{ID: repo.ID{7}, Size: 4}}}))
	write("FuzzDecodeNode", nodes)
}
