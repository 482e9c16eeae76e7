package snapshot

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

func benchTree(n int) *Tree {
	t := &Tree{}
	for i := 0; i < n; i++ {
		t.Nodes = append(t.Nodes, &Node{Name: fmt.Sprintf("file-%06d.pdf", i), Type: TypeFile, Mode: 0o644, UID: 1000, GID: 1000,
			User: "www-data", Group: "www-data", ModTime: time.Unix(1700000000+int64(i), 123456789), ChangeTime: time.Unix(1700000000, 5),
			Size: 123456, Inode: uint64(1000 + i), Device: 2049, Links: 1,
			Content: []Extent{{ID: repo.ID{byte(i), 1}, Size: 100000}, {ID: repo.ID{byte(i), 2}, Size: 23456}}})
	}
	return t
}

// BenchmarkTreeEncode encodes a directory of 1,000 files.
func BenchmarkTreeEncode(b *testing.B) {
	t := benchTree(1000)
	buf, _ := AppendTree(nil, t)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendTree(buf[:0], t)
	}
	b.ReportMetric(float64(len(buf))/1000, "bytes/node")
}

// BenchmarkTreeDecode decodes a directory of 1,000 files.
func BenchmarkTreeDecode(b *testing.B) {
	buf, _ := EncodeTree(benchTree(1000))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTree(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalk is an unchanged re-run over 10,000 small files in 100
// directories: directory walk, lstat, parent lookup and tree saving; no
// file is read.
func BenchmarkWalk(b *testing.B) {
	src := b.TempDir()
	for d := 0; d < 100; d++ {
		for f := 0; f < 100; f++ {
			writeFile(b, filepath.Join(src, fmt.Sprintf("d%03d", d), fmt.Sprintf("f%03d", f)), []byte("x"))
		}
	}
	r := newTestRepo(b)
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "bench"}
	mustSnapshot(b, a, src)
	fsys.bytesRead.Store(0)
	b.ResetTimer()
	for b.Loop() {
		sn := mustSnapshot(b, a, src)
		if sn.Summary.FilesUnmodified != 10000 {
			b.Fatalf("summary %+v", sn.Summary)
		}
	}
	if fsys.bytesRead.Load() != 0 {
		b.Fatal("files were read")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/file")
}

var _ = context.Background
