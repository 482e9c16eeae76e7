package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend/local"
)

// BenchmarkPackSize compares target pack sizes on the local backend: the
// save throughput (more, smaller packs cost more fsyncs and files; larger
// ones more memory) and the peak heap while saving. One blob in four is
// SQL text, the rest random, roughly the mix of an LPSE server. The default
// pack size in DefaultPackSize was chosen from this benchmark.
func BenchmarkPackSize(b *testing.B) {
	sql, random := benchSources()
	for _, mib := range []uint32{4, 8, 16, 32} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			be, err := local.Create(context.Background(), filepath.Join(b.TempDir(), "repo"))
			if err != nil {
				b.Fatal(err)
			}
			r := NewTestRepository(b, be, "bench", InitOptions{PackSize: mib << 20})
			defer r.Close()
			ctx := context.Background()
			var peak atomic.Uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
				}
			}()
			var next atomic.Uint64
			b.SetBytes(benchBlobSize)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf []byte
				for pb.Next() {
					n := next.Add(1)
					src := random
					if n%4 == 0 {
						src = sql
					}
					buf = uniqueBlob(src, buf, n)
					if _, _, err := r.SaveBlob(ctx, DataBlob, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}
