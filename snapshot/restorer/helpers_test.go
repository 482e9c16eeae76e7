package restorer

import (
	"context"
	"os"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// The real and the in-memory repository implement what the restorer asks for.
var (
	_ Repository = (*repo.Repository)(nil)
	_ BlobHasher = (*repo.Repository)(nil)
	_ Repository = (*snapshottest.Repo)(nil)
	_ BlobHasher = (*snapshottest.Repo)(nil)
)

// testParams are small chunk sizes so that tests see many chunks cheaply.
var testParams = snapshottest.SmallParams

func newTestRepo(t testing.TB) *snapshottest.Repo {
	t.Helper()
	return snapshottest.New(testParams)
}

// mustSnapshot backs up paths with a.
func mustSnapshot(t testing.TB, a *archiver.Archiver, paths ...string) *snapshot.Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}

func mustRestore(t testing.TB, r Repository, sn *snapshot.Snapshot, target string) *RestoreSummary {
	t.Helper()
	rs := &Restorer{Repo: r, Verify: true}
	sum, err := rs.Restore(context.Background(), sn, "/", target)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	return sum
}

func readAll(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingFS counts the file content the archiver reads.
type countingFS struct {
	archiver.LocalFS
	bytesRead atomic.Int64
}

func (c *countingFS) Open(name string) (archiver.File, error) {
	f, err := c.LocalFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.bytesRead}, nil
}

type countingFile struct {
	archiver.File
	n *atomic.Int64
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.n.Add(int64(n))
	return n, err
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

// backupRepo is a repository to back up into and restore from.
type backupRepo interface {
	archiver.Repository
	Repository
}
