package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// The real repository implements what the snapshot layer asks for.
var (
	_ Repository    = (*repo.Repository)(nil)
	_ BlobHasher    = (*repo.Repository)(nil)
	_ statsReporter = (*repo.Repository)(nil)
)

func newRealRepo(t testing.TB) (*repo.Repository, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.TestRepository(t, be, "secret", repo.InitOptions{Chunk: testParams, PackSize: 1 << 20})
	t.Cleanup(func() { r.Close() })
	return r, dir
}

func TestRealRepoAwkwardRoundTripAndIncremental(t *testing.T) {
	ctx := context.Background()
	r, _ := newRealRepo(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	makeAwkwardTree(t, src)
	makeFiles(t, filepath.Join(src, "many"), 200)
	want := scanTree(t, src)

	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "real"}
	sn := mustSnapshot(t, a, src)
	if sn.Summary.DataAddedPacked == 0 || sn.Summary.DataAddedPacked >= sn.Summary.DataAdded+1<<20 {
		t.Logf("summary: %+v", sn.Summary)
	}
	target := filepath.Join(base, "restore")
	sum := mustRestore(t, r, sn, target)
	if sum.Verified == 0 {
		t.Error("nothing verified")
	}
	compareTrees(t, want, scanTree(t, filepath.Join(target, src)))

	fsys.bytesRead.Store(0)
	sn2 := mustSnapshot(t, a, src)
	if n := fsys.bytesRead.Load(); n != 0 {
		t.Errorf("second backup read %d bytes", n)
	}
	if sn2.Summary.DataAdded >= 1<<20 || sn2.Summary.DataBlobs != 0 {
		t.Errorf("second backup added %d bytes, %d data blobs", sn2.Summary.DataAdded, sn2.Summary.DataBlobs)
	}
	if _, err := CheckTrees(ctx, r, []*Snapshot{sn, sn2}, func(p Problem) error { t.Error(p); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestRealRepoRestorePartlyDamaged(t *testing.T) {
	r, dir := newRealRepo(t)
	testRestoreDamaged(t, r, func(t *testing.T, id repo.ID) {
		loc, ok := r.LookupBlob(repo.DataBlob, id)
		if !ok {
			t.Fatal("blob not indexed")
		}
		p := filepath.Join(dir, "data", loc.Pack.String()[:2], loc.Pack.String())
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		off := int64(loc.Offset) + int64(loc.Length)/2
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x40
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRealRepoCommandFailureAndReopen(t *testing.T) {
	needSh(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.TestRepository(t, be, "pw", repo.InitOptions{Chunk: testParams})
	a := &Archiver{Repo: r, Hostname: "db"}
	_, err = a.SnapshotFromCommand(ctx, "spse.dump", []string{"sh", "-c", "seq 1 50000; echo 'no such database' >&2; exit 1"})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 {
		t.Fatalf("got %v", err)
	}
	sn, err := a.SnapshotFromCommand(ctx, "spse.dump", []string{"sh", "-c", "seq 1 50000"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()

	be2, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, be2, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	sns, err := ListSnapshots(ctx, r2, Filter{})
	if err != nil || len(sns) != 1 || sns[0].ID() != sn.ID() {
		t.Fatalf("snapshots after reopen: %v %v", sns, err)
	}
	got := dumpFile(t, r2, sns[0], "/spse.dump")
	if len(got) == 0 || string(got[:2]) != "1\n" {
		t.Errorf("dump: %q...", got[:min(len(got), 10)])
	}
}
