package copier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/checker"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

func newRepo(t *testing.T, pw string) (*repo.Repository, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return repotest.New(t, be, pw, repo.InitOptions{Chunk: snapshottest.SmallParams, PackSize: 1 << 20}), dir
}

func reopen(t *testing.T, dir, pw string) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func backup(t *testing.T, r *repo.Repository, path string) *snapshot.Snapshot {
	t.Helper()
	a := &archiver.Archiver{Repo: r, Hostname: "spse"}
	sn, err := a.Snapshot(context.Background(), []string{path})
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

func mustCopy(t *testing.T, dst Destination, src Source, sns []*snapshot.Snapshot) Result {
	t.Helper()
	res, err := Copy(context.Background(), dst, src, sns, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copy: copied %d skipped %d data blobs %d tree blobs %d bytes %d read %d", res.Copied, res.Skipped, res.DataBlobs, res.TreeBlobs, res.Bytes, res.BlobsRead)
	return res
}

func checkRestore(t *testing.T, r *repo.Repository, sn *snapshot.Snapshot, want map[string]snapshottest.FileState, srcPath string) {
	t.Helper()
	target := t.TempDir()
	rs := &restorer.Restorer{Repo: r, Verify: true}
	if _, err := rs.Restore(context.Background(), sn, "/", target); err != nil {
		t.Fatalf("restore: %v", err)
	}
	snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, srcPath)))
}

func checkRepo(t *testing.T, r *repo.Repository) {
	t.Helper()
	rep, err := checker.Check(context.Background(), r, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("check: %+v", rep)
	}
}

func TestCopy(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "src-pw")
	dst, dstDir := newRepo(t, "dst-pw")
	data := filepath.Join(t.TempDir(), "data")
	snapshottest.MakeFiles(t, data, 120)
	snapshottest.WriteFile(t, filepath.Join(data, "big.bin"), snapshottest.RandBytes(1, 3<<20))
	want1 := snapshottest.ScanTree(t, data)
	sn1 := backup(t, src, data)

	res := mustCopy(t, dst, src, []*snapshot.Snapshot{sn1})
	if res.Copied != 1 || res.Skipped != 0 || res.DataBlobs == 0 || res.TreeBlobs == 0 {
		t.Fatalf("first copy: %+v", res)
	}
	if res.DataBlobs != int(sn1.Summary.DataBlobs) {
		t.Errorf("first copy uploaded %d data blobs, the source has %d", res.DataBlobs, sn1.Summary.DataBlobs)
	}
	first := res.DataBlobs
	dst1 := res.Snapshots[0].Dest

	res = mustCopy(t, dst, src, []*snapshot.Snapshot{sn1})
	if res.Copied != 0 || res.Skipped != 1 || res.DataBlobs != 0 || res.TreeBlobs != 0 || res.Bytes != 0 || res.BlobsRead != 0 {
		t.Fatalf("second copy: %+v", res)
	}
	if res.Snapshots[0].Dest != dst1 {
		t.Errorf("skipped as %s, copied as %s", res.Snapshots[0].Dest.Short(), dst1.Short())
	}

	// A reopened destination: the copy is durable, restores
	// byte-identical and checks clean.
	dst.Close()
	dst = reopen(t, dstDir, "dst-pw")
	dsns, err := snapshot.ListSnapshots(ctx, dst, snapshot.Filter{})
	if err != nil || len(dsns) != 1 {
		t.Fatalf("destination snapshots: %v %v", dsns, err)
	}
	d := dsns[0]
	if d.Original == nil || *d.Original != sn1.ID() || d.Parent != nil || d.Hostname != "spse" || !d.Time.Equal(sn1.Time) || d.Tree == sn1.Tree {
		t.Errorf("copied snapshot: %+v", d)
	}
	checkRestore(t, dst, d, want1, data)
	checkRepo(t, dst)

	// A second snapshot sharing most data: only the new blobs travel, and
	// (thanks to the side-by-side walk of the earlier copy) only they are
	// read from the source.
	snapshottest.WriteFile(t, filepath.Join(data, "new.bin"), snapshottest.RandBytes(2, 1<<20))
	if err := os.WriteFile(filepath.Join(data, "dir03", "file0003"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	want2 := snapshottest.ScanTree(t, data)
	sn2 := backup(t, src, data)
	res = mustCopy(t, dst, src, []*snapshot.Snapshot{sn2})
	if res.Copied != 1 || res.Skipped != 0 {
		t.Fatalf("third copy: %+v", res)
	}
	if res.DataBlobs != int(sn2.Summary.DataBlobs) || res.BlobsRead != int(sn2.Summary.DataBlobs) {
		t.Errorf("third copy uploaded %d and read %d data blobs; the source backup added %d", res.DataBlobs, res.BlobsRead, sn2.Summary.DataBlobs)
	}
	if res.DataBlobs >= first/2 {
		t.Errorf("third copy uploaded %d data blobs, the first %d", res.DataBlobs, first)
	}
	t.Logf("data blobs uploaded: first copy %d, repeat 0, incremental %d", first, res.DataBlobs)
	var d2 *snapshot.Snapshot
	for _, r := range res.Snapshots {
		if !r.Skipped {
			if d2, err = snapshot.LoadSnapshot(ctx, dst, r.Dest); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkRestore(t, dst, d2, want2, data)
	checkRepo(t, dst)
}

// A snapshot whose tags were changed in the source is the same snapshot:
// it is not copied again.
func TestCopySkipsRetagged(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	data := filepath.Join(t.TempDir(), "data")
	snapshottest.MakeFiles(t, data, 20)
	sn := backup(t, src, data)
	mustCopy(t, dst, src, []*snapshot.Snapshot{sn})
	ns, err := snapshot.ChangeTags(ctx, src, sn, nil, []string{"monthly"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := mustCopy(t, dst, src, []*snapshot.Snapshot{ns})
	if res.Copied != 0 || res.Skipped != 1 {
		t.Fatalf("%+v", res)
	}
}

// repo.InitOptions.ChunkerPolynomial: a given polynomial is used, one that
// is not irreducible is refused.
func TestInitChunkerPolynomial(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	be, err := local.Create(ctx, filepath.Join(t.TempDir(), "r"))
	if err != nil {
		t.Fatal(err)
	}
	dst := repotest.New(t, be, "b", repo.InitOptions{Chunk: src.ChunkerParams(), ChunkerPolynomial: src.ChunkerPolynomial()})
	if dst.ChunkerPolynomial() != src.ChunkerPolynomial() || dst.Config().ChunkerPolynomial != src.ChunkerPolynomial() {
		t.Errorf("polynomial %v, want %v", dst.ChunkerPolynomial(), src.ChunkerPolynomial())
	}
	be2, err := local.Create(ctx, filepath.Join(t.TempDir(), "r"))
	if err != nil {
		t.Fatal(err)
	}
	defer be2.Close()
	if _, err := repo.Init(ctx, be2, []byte("c"), repo.InitOptions{ChunkerPolynomial: 1 << 40, KDF: crypto.CheapKDFParams()}); err == nil || !strings.Contains(err.Error(), "irreducible") {
		t.Errorf("reducible polynomial: %v", err)
	}
}

// An old snapshot that cannot be read from the source (a damaged blob)
// is left out, named in the error, and every other snapshot is copied:
// one damaged snapshot on a medium must not stop its offsite copies for
// good.
func TestCopyGoesOnPastDamagedSnapshot(t *testing.T) {
	ctx := context.Background()
	src, srcDir := newRepo(t, "src-pw")
	dst, dstDir := newRepo(t, "dst-pw")
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	snapshottest.WriteFile(t, filepath.Join(a, "only-in-a.bin"), snapshottest.RandBytes(11, 200<<10))
	snapshottest.WriteFile(t, filepath.Join(b, "only-in-b.bin"), snapshottest.RandBytes(12, 200<<10))
	wantB := snapshottest.ScanTree(t, b)
	snA := backup(t, src, a)
	snB := backup(t, src, b)

	// Damage a data blob that only snapshot A uses.
	tree, err := snapshot.LoadTree(ctx, src, snA.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var blob repo.ID
	for _, n := range tree.Nodes {
		if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
			sub, err := snapshot.LoadTree(ctx, src, n.Subtree)
			if err != nil {
				t.Fatal(err)
			}
			tree = sub
			break
		}
	}
	for tree != nil && blob.IsNull() {
		var next *snapshot.Tree
		for _, n := range tree.Nodes {
			if n.Type == snapshot.TypeFile && len(n.Content) > 0 {
				blob = n.Content[0].ID
				break
			}
			if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() && next == nil {
				if next, err = snapshot.LoadTree(ctx, src, n.Subtree); err != nil {
					t.Fatal(err)
				}
			}
		}
		tree = next
	}
	if blob.IsNull() {
		t.Fatal("no data blob found in snapshot A")
	}
	repotest.DamageBlob(t, src, srcDir, repo.DataBlob, blob)
	src.Close()
	src = reopen(t, srcDir, "src-pw")

	var seen []SnapshotResult
	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{snB, snA}, Options{Progress: func(r SnapshotResult) { seen = append(seen, r) }})
	var ie *IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("copy error %v (%T), want an IncompleteError", err, err)
	}
	if !repo.IsDamaged(err) {
		t.Errorf("the error does not carry the damage: %v", err)
	}
	if !strings.Contains(err.Error(), snA.ID().Short()) || !strings.Contains(err.Error(), blob.Short()) {
		t.Errorf("the error names neither the snapshot nor the blob: %v", err)
	}
	if res.Copied != 1 || res.Failed != 1 || len(ie.Failed) != 1 || ie.Failed[0].Source != snA.ID() || len(seen) != 2 {
		t.Fatalf("result %+v, failed %+v, progress %+v", res, ie.Failed, seen)
	}
	// Oldest first: A failed, then B was copied.
	if seen[0].Source != snA.ID() || seen[0].Error == "" || !seen[0].Dest.IsNull() || seen[1].Source != snB.ID() || seen[1].Error != "" {
		t.Errorf("progress %+v", seen)
	}

	dst.Close()
	dst = reopen(t, dstDir, "dst-pw")
	dsns, err := snapshot.ListSnapshots(ctx, dst, snapshot.Filter{})
	if err != nil || len(dsns) != 1 || dsns[0].Original == nil || *dsns[0].Original != snB.ID() {
		t.Fatalf("destination snapshots %v, %v", dsns, err)
	}
	checkRestore(t, dst, dsns[0], wantB, b)
	checkRepo(t, dst)

	// Run again: B is skipped, A fails again, nothing else changes.
	res, err = Copy(ctx, dst, src, []*snapshot.Snapshot{snA, snB}, Options{})
	if !errors.Is(err, ErrIncomplete) || res.Copied != 0 || res.Skipped != 1 || res.Failed != 1 {
		t.Fatalf("second copy: %+v, %v", res, err)
	}
}

// A copy killed after it stored packs but before it indexed them (and
// saved the snapshot) leaves unindexed packs; the next copy adopts them
// and uploads no data blob again.
func TestCopyAdoptsPacksOfKilledCopy(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "src-pw")
	dst, dstDir := newRepo(t, "dst-pw")
	data := filepath.Join(t.TempDir(), "data")
	snapshottest.MakeFiles(t, data, 40)
	snapshottest.WriteFile(t, filepath.Join(data, "big.bin"), snapshottest.RandBytes(5, 3<<20))
	want := snapshottest.ScanTree(t, data)
	sn := backup(t, src, data)
	first := mustCopy(t, dst, src, []*snapshot.Snapshot{sn})
	dst.Close()
	// What a kill before the index and the snapshot were written leaves.
	for _, sub := range []string{"index", "snapshots"} {
		ents, err := os.ReadDir(filepath.Join(dstDir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if err := os.Remove(filepath.Join(dstDir, sub, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	be, err := local.Open(ctx, dstDir)
	if err != nil {
		t.Fatal(err)
	}
	dst, err = repo.Open(ctx, be, []byte("dst-pw"), repo.Options{Lock: repo.CopyLock})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	res := mustCopy(t, dst, src, []*snapshot.Snapshot{sn})
	if res.Copied != 1 || res.AdoptedPacks == 0 || res.DataBlobs != 0 {
		t.Fatalf("copy after a killed one: %+v (the first uploaded %d data blobs)", res, first.DataBlobs)
	}
	dsns, err := snapshot.ListSnapshots(ctx, dst, snapshot.Filter{})
	if err != nil || len(dsns) != 1 {
		t.Fatalf("destination snapshots: %v %v", dsns, err)
	}
	checkRestore(t, dst, dsns[0], want, data)
	checkRepo(t, dst)
}

// unreachableSource fails every data blob load as a source whose medium
// was unplugged would.
type unreachableSource struct {
	Source
	loads int
}

func (s *unreachableSource) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if t == repo.DataBlob {
		s.loads++
		return nil, errors.New("read /mnt/backup1/data/ab/abcd: input/output error")
	}
	return s.Source.LoadBlob(ctx, t, id, buf)
}

// A source that cannot be read at all (not damage of one snapshot) stops
// the copy at once: trying every other snapshot would only fail each in
// turn, after its retries.
func TestCopyStopsWhenSourceUnreachable(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "src-pw")
	dst, _ := newRepo(t, "dst-pw")
	var sns []*snapshot.Snapshot
	for i := range 3 {
		data := filepath.Join(t.TempDir(), "data")
		snapshottest.WriteFile(t, filepath.Join(data, "f.bin"), snapshottest.RandBytes(uint64(20+i), 100<<10))
		sns = append(sns, backup(t, src, data))
	}
	us := &unreachableSource{Source: src}
	res, err := Copy(ctx, dst, us, sns, Options{})
	if err == nil || errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("copy from an unreachable source: %v, want the read error, not an IncompleteError", err)
	}
	if us.loads != 1 || res.Copied != 0 || res.Failed != 0 {
		t.Errorf("went on after the source failed: %d loads, %+v", us.loads, res)
	}
}

// Source snapshot files that could not be read when the snapshots were
// listed count as not copied.
func TestCopyCountsUnlistedSnapshots(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "src-pw")
	dst, _ := newRepo(t, "dst-pw")
	data := filepath.Join(t.TempDir(), "data")
	snapshottest.MakeFiles(t, data, 5)
	sn := backup(t, src, data)
	var bad repo.ID
	bad[0] = 0xab
	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{sn}, Options{Unlisted: map[repo.ID]error{bad: &repo.DamagedError{Err: errors.New("authentication failed")}}})
	var ie *IncompleteError
	if !errors.As(err, &ie) || len(ie.Failed) != 1 || ie.Failed[0].Source != bad || !repo.IsDamaged(err) {
		t.Fatalf("copy with an unreadable source file: %v", err)
	}
	if res.Copied != 1 || res.Failed != 1 {
		t.Errorf("result %+v", res)
	}
}
