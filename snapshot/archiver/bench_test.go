package archiver

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/snapshot/snapshottest"
)

// BenchmarkWalk is an unchanged re-run over 10,000 small files in 100
// directories: directory walk, lstat, parent lookup and tree saving; no
// file is read.
func BenchmarkWalk(b *testing.B) {
	src := b.TempDir()
	for d := 0; d < 100; d++ {
		for f := 0; f < 100; f++ {
			snapshottest.WriteFile(b, filepath.Join(src, fmt.Sprintf("d%03d", d), fmt.Sprintf("f%03d", f)), []byte("x"))
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
