package archiver

import (
	"bytes"
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// The real and the in-memory repository implement what the archiver asks for.
var (
	_ Repository    = (*repo.Repository)(nil)
	_ statsReporter = (*repo.Repository)(nil)
	_ Repository    = (*snapshottest.Repo)(nil)
	_ SizedSaver    = (*snapshottest.Repo)(nil)
)

// testParams are small chunk sizes so that tests see many chunks cheaply.
var testParams = snapshottest.SmallParams

func newTestRepo(t testing.TB) *snapshottest.Repo {
	t.Helper()
	return snapshottest.New(testParams)
}

// countingFS wraps LocalFS, counts content reads and opens, and can make
// Open fail for chosen paths.
type countingFS struct {
	LocalFS
	bytesRead atomic.Int64
	opens     atomic.Int64
	mu        sync.Mutex
	failOpen  map[string]error
}

func (c *countingFS) Open(name string) (File, error) {
	c.mu.Lock()
	err := c.failOpen[name]
	c.mu.Unlock()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	c.opens.Add(1)
	f, err := c.LocalFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.bytesRead}, nil
}

type countingFile struct {
	File
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

func mustSnapshot(t testing.TB, a *Archiver, paths ...string) *snapshot.Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}

func dumpFile(t testing.TB, r snapshot.BlobLoader, sn *snapshot.Snapshot, p string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := walker.Dump(context.Background(), r, sn, p, &buf); err != nil {
		t.Fatalf("dump %s: %v", p, err)
	}
	return buf.Bytes()
}
