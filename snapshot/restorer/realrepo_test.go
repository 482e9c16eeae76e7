package restorer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/checker"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

func newRealRepo(t testing.TB) (*repo.Repository, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repotest.New(t, be, "secret", repo.InitOptions{Chunk: testParams, PackSize: 1 << 20})
	t.Cleanup(func() { r.Close() })
	return r, dir
}

func TestRealRepoAwkwardRoundTripAndIncremental(t *testing.T) {
	ctx := context.Background()
	r, _ := newRealRepo(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	makeAwkwardTree(t, src)
	snapshottest.MakeFiles(t, filepath.Join(src, "many"), 200)
	want := snapshottest.ScanTree(t, src)

	fsys := &countingFS{}
	a := &archiver.Archiver{Repo: r, FS: fsys, Hostname: "real"}
	sn := mustSnapshot(t, a, src)
	if sn.Summary.DataAddedPacked == 0 || sn.Summary.DataAddedPacked >= sn.Summary.DataAdded+1<<20 {
		t.Logf("summary: %+v", sn.Summary)
	}
	target := filepath.Join(base, "restore")
	sum := mustRestore(t, r, sn, target)
	if sum.Verified == 0 {
		t.Error("nothing verified")
	}
	snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))

	fsys.bytesRead.Store(0)
	sn2 := mustSnapshot(t, a, src)
	if n := fsys.bytesRead.Load(); n != 0 {
		t.Errorf("second backup read %d bytes", n)
	}
	if sn2.Summary.DataAdded >= 1<<20 || sn2.Summary.DataBlobs != 0 {
		t.Errorf("second backup added %d bytes, %d data blobs", sn2.Summary.DataAdded, sn2.Summary.DataBlobs)
	}
	if _, err := checker.CheckTrees(ctx, r, []*snapshot.Snapshot{sn, sn2}, func(p checker.Problem) error { t.Error(p); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestRealRepoRestorePartlyDamaged(t *testing.T) {
	r, dir := newRealRepo(t)
	testRestoreDamaged(t, r, func(t *testing.T, id repo.ID) {
		repotest.DamageBlob(t, r, dir, repo.DataBlob, id)
	})
}
