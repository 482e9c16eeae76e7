package prune_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
)

// BenchmarkPrunePlanMemory measures what planning a prune holds beyond the
// index: a repository of 2^20 tiny blobs, half of them used by one
// snapshot, planned with a dry run. It reports, per blob, the live heap
// the run left behind (after a collection) and the size of the mark set.
// Run it with -benchtime=1x.
func BenchmarkPrunePlanMemory(b *testing.B) {
	const blobs = 1 << 20
	ctx := context.Background()
	be := mem.New()
	r, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{KDF: crypto.CheapKDFParams()})
	if err != nil {
		b.Fatal(err)
	}
	// Directories of 1,000 files of 4 blobs each, as a real tree is cut:
	// the trees are small, and the blobs many.
	var buf [16]byte
	var dirs, files []*snapshot.Node
	var file *snapshot.Node
	flushDir := func() {
		if len(files) == 0 {
			return
		}
		id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: files})
		if err != nil {
			b.Fatal(err)
		}
		dirs = append(dirs, &snapshot.Node{Name: fmt.Sprintf("d%06d", len(dirs)), Type: snapshot.TypeDir, Mode: 0o755, Subtree: id})
		files = nil
	}
	for i := range blobs {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, buf[:])
		if err != nil {
			b.Fatal(err)
		}
		if i%2 != 0 {
			continue // unused: half of every pack
		}
		if file == nil || len(file.Content) == 4 {
			if len(files) == 1000 {
				flushDir()
			}
			file = &snapshot.Node{Name: fmt.Sprintf("f%06d", i), Type: snapshot.TypeFile, Mode: 0o644}
			files = append(files, file)
		}
		file.Content = append(file.Content, snapshot.Extent{ID: id, Size: int64(len(buf))})
		file.Size += int64(len(buf))
	}
	flushDir()
	tree, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: dirs})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := snapshot.SaveSnapshot(ctx, r, &snapshot.Snapshot{Time: time.Now(), Tree: tree, Paths: []string{"/f"}}); err != nil {
		b.Fatal(err)
	}
	r.Close()
	dirs, files, file = nil, nil, nil

	for b.Loop() {
		r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		res, err := prune.Run(ctx, r, prune.Options{DryRun: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.UsedBytes == 0 || res.UnusedBytes == 0 {
			b.Fatalf("plan: %+v", res)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		// What the run left in use: the repository's tree-pack cache
		// (bounded, 16 MiB) and nothing of the plan; the plan itself
		// holds a bit per blob and a few words per pack while it runs.
		b.ReportMetric(float64(after.HeapAlloc-base.HeapAlloc)/blobs, "retained-B/blob")
		b.ReportMetric(float64(base.HeapAlloc)/blobs, "open-B/blob") // index, and the mem backend's data
		b.ReportMetric(float64(r.Index().NewBlobSet().Bytes())/blobs, "markset-B/blob")
		r.Close()
	}
}
