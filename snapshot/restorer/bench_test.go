package restorer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// BenchmarkRestoreSmallFiles restores 2000 small files in 40 directories:
// the per-item cost of resolving beneath the target dominates. "fresh" is
// an empty target; "overwrite" restores over the previous restore.
func BenchmarkRestoreSmallFiles(b *testing.B) {
	src := b.TempDir()
	for d := 0; d < 40; d++ {
		for f := 0; f < 50; f++ {
			snapshottest.WriteFile(b, filepath.Join(src, fmt.Sprintf("d%02d/sub/f%03d", d, f)), snapshottest.RandBytes(uint64(d*100+f), 1000))
		}
	}
	r := snapshottest.New(snapshottest.SmallParams)
	sn, err := archiver.NewArchiver(r).Snapshot(context.Background(), []string{src})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fresh", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, "/", filepath.Join(b.TempDir(), "t")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("overwrite", func(b *testing.B) {
		target := b.TempDir()
		for i := 0; i < b.N; i++ {
			if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, "/", target); err != nil {
				b.Fatal(err)
			}
		}
	})
}
