package snapshot

import (
	"fmt"
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
