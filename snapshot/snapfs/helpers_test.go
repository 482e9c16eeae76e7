package snapfs_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapfs"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// Both repositories the tests run against satisfy Loader.
var (
	_ snapfs.Loader = (*repo.Repository)(nil)
	_ snapfs.Loader = (*snapshottest.Repo)(nil)
)

// part is one extent of a test file: data, or a hole of the given size.
type part struct {
	data []byte
	hole int64
}

func data(b []byte) part { return part{data: b} }
func hole(n int64) part  { return part{hole: n} }
func text(s string) part { return part{data: []byte(s)} }
func randBytes(rnd *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	return b
}

var baseTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// testRepo is what the tests need to build snapshots and read them back.
type testRepo interface {
	snapshot.Loader
	snapshot.BlobSaver
	snapshot.FileSaver
	Flush(ctx context.Context) error
}

// builder writes trees to a repository and remembers file contents.
type builder struct {
	t     testing.TB
	ctx   context.Context
	r     testRepo
	files map[string][]byte // path relative to the root -> content
}

// file stores the parts as data blobs and returns a regular-file node.
func (b *builder) file(path, name string, mode uint32, parts ...part) *snapshot.Node {
	n := &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: mode, UID: 1000, GID: 1000, ModTime: baseTime.Add(time.Duration(len(b.files)) * time.Second)}
	var content []byte
	for _, p := range parts {
		if p.data == nil {
			n.Content = append(n.Content, snapshot.Extent{Size: p.hole})
			content = append(content, make([]byte, p.hole)...)
			continue
		}
		id, _, err := b.r.SaveBlob(b.ctx, repo.DataBlob, p.data)
		if err != nil {
			b.t.Fatal(err)
		}
		n.Content = append(n.Content, snapshot.Extent{ID: id, Size: int64(len(p.data))})
		content = append(content, p.data...)
	}
	n.Size = int64(len(content))
	if content == nil {
		content = []byte{}
	}
	b.files[path] = content
	return n
}

// dir stores a tree of the nodes and returns a directory node.
func (b *builder) dir(name string, mode uint32, nodes ...*snapshot.Node) *snapshot.Node {
	id, err := snapshot.SaveTree(b.ctx, b.r, &snapshot.Tree{Nodes: nodes})
	if err != nil {
		b.t.Fatal(err)
	}
	return &snapshot.Node{Name: name, Type: snapshot.TypeDir, Mode: mode, ModTime: baseTime, Subtree: id}
}

func other(name string, typ snapshot.NodeType, mode uint32) *snapshot.Node {
	return &snapshot.Node{Name: name, Type: typ, Mode: mode, ModTime: baseTime, Rdev: 0x0103}
}

// snapshot saves a snapshot of the root nodes and loads it back.
func (b *builder) snapshot(nodes ...*snapshot.Node) *snapshot.Snapshot {
	root, err := snapshot.SaveTree(b.ctx, b.r, &snapshot.Tree{Nodes: nodes})
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.r.Flush(b.ctx); err != nil {
		b.t.Fatal(err)
	}
	sn := &snapshot.Snapshot{Time: baseTime, Tree: root, Paths: []string{"/srv"}, Hostname: "spse"}
	id, err := snapshot.SaveSnapshot(b.ctx, b.r, sn)
	if err != nil {
		b.t.Fatal(err)
	}
	sn, err = snapshot.LoadSnapshot(b.ctx, b.r, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return sn
}

// fixture is a snapshot of a small tree with every kind of node.
type fixture struct {
	r     testRepo
	sn    *snapshot.Snapshot
	files map[string][]byte
}

const bigBlob = 4096

func buildFixture(t testing.TB, r testRepo) *fixture {
	t.Helper()
	ctx := context.Background()
	rnd := rand.New(rand.NewChaCha8([32]byte{1, 2, 3}))
	b := &builder{t: t, ctx: ctx, r: r, files: map[string][]byte{}}
	const d = "srv/spse/"

	var bigParts []part
	for range 50 {
		bigParts = append(bigParts, data(randBytes(rnd, bigBlob)))
	}
	a := randBytes(rnd, 777)
	spse := b.dir("spse", 0o750,
		b.file(d+"small.txt", "small.txt", 0o644, text("hello, LPSE\n")),
		b.file(d+"empty", "empty", 0o600),
		b.file(d+"multi.bin", "multi.bin", 0o644,
			data(randBytes(rnd, 1000)), data(randBytes(rnd, 70000)), data(randBytes(rnd, 1)),
			data(randBytes(rnd, 33333)), data(randBytes(rnd, 65536))),
		b.file(d+"hole.bin", "hole.bin", 0o640,
			data(randBytes(rnd, 5000)), hole(100000), data(randBytes(rnd, 3000)), hole(4096)),
		b.file(d+"allhole.bin", "allhole.bin", 0o640, hole(70000)),
		b.file(d+"big50.bin", "big50.bin", 0o644, bigParts...),
		b.file(d+"dup.bin", "dup.bin", 0o644, data(a), data(a), text("tail")),
		b.file(d+"suid", "suid", 0o4755, text("#!/bin/sh\n")),
		b.file(d+"sgid", "sgid", 0o2711, text("x")),
		&snapshot.Node{Name: "link", Type: snapshot.TypeSymlink, Mode: 0o777, ModTime: baseTime, LinkTarget: "/etc/passwd"},
		&snapshot.Node{Name: "link-rel", Type: snapshot.TypeSymlink, Mode: 0o777, ModTime: baseTime, LinkTarget: "small.txt"},
		other("dev", snapshot.TypeCharDev, 0o666),
		other("blk", snapshot.TypeBlockDev, 0o660),
		other("fifo", snapshot.TypeFIFO, 0o644),
		other("sock", snapshot.TypeSocket, 0o755),
		b.dir("emptydir", 0o700),
	)
	tmp := b.dir("tmp", 0o1777, b.file("srv/tmp/f", "f", 0o644, text("temp")))
	srv := b.dir("srv", 0o755, spse, tmp)
	sn := b.snapshot(srv)
	return &fixture{r: r, sn: sn, files: b.files}
}

// repos runs fn against a real repository on the in-memory backend and
// against the fake of package snapshottest.
func repos(t *testing.T, fn func(t *testing.T, r testRepo)) {
	t.Run("repo", func(t *testing.T) {
		r, err := repo.Init(context.Background(), mem.New(), []byte("secret"), repo.InitOptions{PackSize: 1 << 20, KDF: cheapKDF})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		fn(t, r)
	})
	t.Run("fake", func(t *testing.T) {
		fn(t, snapshottest.New(snapshottest.SmallParams))
	})
}

// countingLoader counts the blobs loaded through it.
type countingLoader struct {
	snapfs.Loader
	data, trees atomic.Int64
}

func (c *countingLoader) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if t == repo.DataBlob {
		c.data.Add(1)
	} else {
		c.trees.Add(1)
	}
	return c.Loader.LoadBlob(ctx, t, id, buf)
}
