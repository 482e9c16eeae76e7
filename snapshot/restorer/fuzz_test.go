package restorer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// fuzzSep separates the blobs of a fuzz input.
var fuzzSep = []byte("\n--\n")

// fuzzRepo serves the blobs of a fuzz input: the blob for any ID, tree or
// data, is blobs[id[0] % len(blobs)], so inputs can share subtrees, form
// cycles and reference content without computing hashes.
type fuzzRepo struct{ blobs [][]byte }

func (r fuzzRepo) blob(id repo.ID) []byte { return r.blobs[int(id[0])%len(r.blobs)] }

func (r fuzzRepo) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	return append(buf[:0], r.blob(id)...), nil
}

func (r fuzzRepo) LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool) {
	if id[1] == 0xff {
		return repo.BlobLocation{}, false // a blob missing from the index
	}
	return repo.BlobLocation{ID: id, Pack: repo.ID{1}, Length: uint32(len(r.blob(id)))}, true
}

func (r fuzzRepo) LoadBlobsFromPack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, fn func(loc repo.BlobLocation, plaintext []byte, err error) error) error {
	for _, l := range locs {
		if err := fn(l, r.blob(l.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// fuzzSeeds are the checked-in corpus's inputs (testdata/fuzz/FuzzPlan):
// a small tree with every kind of node, the doubling chain, a cycle, and
// files whose extents disagree with their blobs.
func fuzzSeeds(tb testing.TB) [][]byte {
	enc := func(nodes ...*snapshot.Node) []byte {
		b, err := snapshot.EncodeTree(&snapshot.Tree{Nodes: nodes})
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	id := func(i byte) repo.ID { return repo.ID{i} }
	mt := time.Unix(1e9, 0)
	join := func(blobs ...[]byte) []byte { return bytes.Join(blobs, fuzzSep) }
	hello := []byte("hello")
	all := join(
		enc(dirNode("d", id(1)), &snapshot.Node{Name: "l", Type: snapshot.TypeSymlink, LinkTarget: "../../etc", Mode: 0o777, ModTime: mt},
			&snapshot.Node{Name: "p", Type: snapshot.TypeFIFO, Mode: 0o4640, ModTime: mt},
			&snapshot.Node{Name: "f", Type: snapshot.TypeFile, Mode: 0o6755, Size: 15, ModTime: mt,
				Content: []snapshot.Extent{{ID: id(2), Size: 5}, {Size: 5}, {ID: id(2), Size: 5}},
				Xattrs:  []snapshot.Xattr{{Name: "user.x", Value: []byte("v")}}}),
		enc(&snapshot.Node{Name: "g", Type: snapshot.TypeFile, Mode: 0o600, Size: 5, ModTime: mt, Links: 2, Inode: 7, Content: []snapshot.Extent{{ID: id(2), Size: 5}}},
			&snapshot.Node{Name: "h", Type: snapshot.TypeFile, Mode: 0o600, Size: 5, ModTime: mt, Links: 2, Inode: 7, Content: []snapshot.Extent{{ID: id(2), Size: 5}}}),
		hello)
	chain := join(enc(dirNode("a", id(1)), dirNode("b", id(1))), enc(dirNode("a", id(2)), dirNode("b", id(2))), enc(dirNode("a", id(3)), dirNode("b", id(3))), enc())
	cycle := join(enc(dirNode("a", id(1))), enc(dirNode("b", id(0))))
	extents := join(enc(&snapshot.Node{Name: "short", Type: snapshot.TypeFile, Size: 3, Content: []snapshot.Extent{{ID: id(1), Size: 3}}},
		&snapshot.Node{Name: "missing", Type: snapshot.TypeFile, Size: 5, Content: []snapshot.Extent{{ID: repo.ID{1, 0xff}, Size: 5}}}), hello)
	return [][]byte{all, chain, cycle, extents, {}}
}

// FuzzPlan feeds arbitrary trees to the planner and, when the plan is
// small, to a real restore: nothing may panic, hang or write outside the
// target. Run: go test -run '^$' -fuzz FuzzPlan -fuzztime 30s ./snapshot/restorer
// The seeds are the checked-in corpus, testdata/fuzz/FuzzPlan.
func FuzzPlan(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs := bytes.SplitN(data, fuzzSep, 8)
		r := fuzzRepo{blobs}
		sn := &snapshot.Snapshot{Tree: repo.ID{0}}
		ctx := context.Background()
		base := t.TempDir()
		target := filepath.Join(base, "target")
		rs := &Restorer{Repo: r, DryRun: true, MaxNodes: 1 << 12, NoDevices: true}
		if _, err := rs.Restore(ctx, sn, "/", target); err != nil && !isRestoreError(err) {
			return // refused: nothing more to try
		}
		rs = &Restorer{Repo: r, MaxNodes: 64, NoDevices: true, Verify: true, XattrInclude: []string{"user.*"}}
		rs.Restore(ctx, sn, "/", target)
		ents, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) > 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("wrote beside the target: %v", names)
		}
	})
}

func isRestoreError(err error) bool {
	_, ok := err.(*RestoreError)
	return ok
}

// TestWriteFuzzCorpus writes the seeds into the checked-in corpus
// (testdata/fuzz/FuzzPlan) when CADANG_WRITE_FUZZ_CORPUS=1, e.g. after a
// change of the tree encoding.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("CADANG_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set CADANG_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz/FuzzPlan")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzPlan")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		p := filepath.Join(dir, fmt.Sprintf("seed%02d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
