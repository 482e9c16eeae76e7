package repo

// Benchmarks of the storage engine. Run, for example:
//
//	go test -run '^$' -bench . -benchtime 2s ./repo
//	go test -run '^$' -bench 'IndexMemory|IndexLookup' -benchtime 1x ./repo   # 1M and 10M entries
//
// The 10M-entry index benchmarks need about 2 GB of memory and a minute to
// build the index once.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
)

// benchBlobSize is the size of the blobs saved and loaded: the default
// average chunk size.
const benchBlobSize = 512 << 10

var benchData struct {
	once      sync.Once
	sql, rand []byte
}

// benchSources returns 64 MiB of SQL-dump-like text and of random bytes.
func benchSources() (sql, random []byte) {
	benchData.once.Do(func() {
		const n = 64 << 20
		rng := rand.New(rand.NewPCG(1, 2))
		random := make([]byte, n)
		for i := 0; i+8 <= n; i += 8 {
			binary.LittleEndian.PutUint64(random[i:], rng.Uint64())
		}
		sql := make([]byte, 0, n+256)
		names := []string{"Pengadaan laptop", "Jasa konsultansi", "Konstruksi jalan", "Pengadaan ATK", "Sewa kendaraan"}
		for i := 0; len(sql) < n; i++ {
			sql = fmt.Appendf(sql, "INSERT INTO public.paket (id, kode, nama, pagu, satker_id, tahun, status, created_at) VALUES (%d, 'RUP-%08d', '%s %d', %d.00, %d, %d, '%s', '2024-%02d-%02d %02d:%02d:%02d+07');\n",
				i, rng.IntN(1e8), names[rng.IntN(len(names))], rng.IntN(1000), rng.IntN(5e9), rng.IntN(5000), 2020+rng.IntN(5),
				[]string{"draft", "tayang", "selesai"}[rng.IntN(3)], 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		}
		benchData.sql, benchData.rand = sql[:n], random
	})
	return benchData.sql, benchData.rand
}

func benchRepo(b *testing.B, kind string) *Repository {
	b.Helper()
	var be backend.Backend = mem.New()
	if kind == "local" {
		var err error
		be, err = local.Create(context.Background(), filepath.Join(b.TempDir(), "repo"))
		if err != nil {
			b.Fatal(err)
		}
	}
	r := NewTestRepository(b, be, "bench", InitOptions{})
	b.Cleanup(func() { r.Close() })
	return r
}

// uniqueBlob copies blob number n of the source into buf and stamps n into
// it, so that every blob is new to the repository.
func uniqueBlob(src, buf []byte, n uint64) []byte {
	off := int(n*7919*4096) % (len(src) - benchBlobSize)
	buf = append(buf[:0], src[off:off+benchBlobSize]...)
	binary.LittleEndian.PutUint64(buf, n)
	binary.LittleEndian.PutUint64(buf[len(buf)/2:], n)
	return buf
}

// BenchmarkSaveBlob measures SaveBlob throughput (hash, compress, seal,
// pack, write) from GOMAXPROCS goroutines, including the final Flush.
func BenchmarkSaveBlob(b *testing.B) {
	sql, random := benchSources()
	for _, kind := range []string{"mem", "local"} {
		for _, data := range []struct {
			name string
			src  []byte
		}{{"sql", sql}, {"random", random}} {
			b.Run(kind+"/"+data.name, func(b *testing.B) {
				r := benchRepo(b, kind)
				ctx := context.Background()
				var next atomic.Uint64
				b.SetBytes(benchBlobSize)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var buf []byte
					for pb.Next() {
						buf = uniqueBlob(data.src, buf, next.Add(1))
						if _, isNew, err := r.SaveBlob(ctx, DataBlob, buf); err != nil || !isNew {
							b.Errorf("save: new=%v %v", isNew, err)
							return
						}
					}
				})
				if err := r.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s := r.Stats()
				b.ReportMetric(float64(s.StoredBytes)/float64(s.RawBytes), "stored/raw")
			})
		}
	}
}

// BenchmarkLoadBlob measures LoadBlob throughput (read, open, decompress,
// verify) from GOMAXPROCS goroutines.
func BenchmarkLoadBlob(b *testing.B) {
	sql, random := benchSources()
	for _, kind := range []string{"mem", "local"} {
		for _, data := range []struct {
			name string
			src  []byte
		}{{"sql", sql}, {"random", random}} {
			b.Run(kind+"/"+data.name, func(b *testing.B) {
				r := benchRepo(b, kind)
				ctx := context.Background()
				var ids []ID
				var buf []byte
				for i := range 64 {
					buf = uniqueBlob(data.src, buf, uint64(i))
					id, _, err := r.SaveBlob(ctx, DataBlob, buf)
					if err != nil {
						b.Fatal(err)
					}
					ids = append(ids, id)
				}
				if err := r.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				var next atomic.Uint64
				b.SetBytes(benchBlobSize)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var buf []byte
					for pb.Next() {
						var err error
						buf, err = r.LoadBlob(ctx, DataBlob, ids[next.Add(1)%uint64(len(ids))], buf)
						if err != nil || len(buf) != benchBlobSize {
							b.Errorf("load: %d bytes, %v", len(buf), err)
							return
						}
					}
				})
			})
		}
	}
}

// benchIndexPacks returns n blobs with random IDs in packs of 32 blobs
// (16 MiB packs of 512 KiB chunks), as they appear in index files.
func benchIndexPacks(n int, seed uint64) []IndexPack {
	const perPack = 32
	rng := rand.New(rand.NewPCG(seed, 99))
	packs := make([]IndexPack, 0, (n+perPack-1)/perPack)
	for len(packs)*perPack < n {
		var p IndexPack
		for i := range p.ID {
			p.ID[i] = byte(rng.Uint32())
		}
		k := min(perPack, n-len(packs)*perPack)
		p.Blobs = make([]PackBlob, k)
		off := uint32(0)
		for j := range p.Blobs {
			e := &p.Blobs[j]
			for i := 0; i < IDSize; i += 8 {
				binary.LittleEndian.PutUint64(e.ID[i:], rng.Uint64())
			}
			e.Type = DataBlob
			e.Length = 100<<10 + rng.Uint32N(900<<10)
			e.RawLength = e.Length
			e.Offset = off
			off += e.Length
		}
		packs = append(packs, p)
	}
	return packs
}

// benchIndexes caches built indexes by size: building 10M entries takes a
// while, and the benchmark function runs several times.
var benchIndexes = map[int]struct {
	idx     *Index
	sample  []ID
	perBlob float64
}{}

// benchIndex builds an index of n blobs through bulkAdd (the path Open
// uses) and measures its heap size after a GC.
func benchIndex(b *testing.B, n int) (*Index, []ID, float64) {
	if c, ok := benchIndexes[n]; ok {
		return c.idx, c.sample, c.perBlob
	}
	packs := benchIndexPacks(n, uint64(n))
	sample := make([]ID, 0, 1<<16)
	for i := 0; len(sample) < cap(sample); i++ {
		p := packs[(i*7919)%len(packs)]
		sample = append(sample, p.Blobs[i%len(p.Blobs)].ID)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	idx := NewIndex()
	if err := idx.bulkAdd(packs); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(packs) // alive in both measurements: only the index counts
	if idx.Len(DataBlob) != n {
		b.Fatalf("index holds %d blobs, want %d", idx.Len(DataBlob), n)
	}
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	benchIndexes[n] = struct {
		idx     *Index
		sample  []ID
		perBlob float64
	}{idx, sample, per}
	return idx, sample, per
}

var benchIndexSizes = []struct {
	name string
	n    int
}{{"1M", 1_000_000}, {"10M", 10_000_000}}

// BenchmarkIndexLookup measures a lookup of a present blob and of an
// absent one, and reports the index's heap bytes per blob.
func BenchmarkIndexLookup(b *testing.B) {
	for _, sz := range benchIndexSizes {
		b.Run(sz.name+"/hit", func(b *testing.B) {
			idx, sample, per := benchIndex(b, sz.n)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, ok := idx.Lookup(DataBlob, sample[i&(len(sample)-1)]); !ok {
					b.Fatal("missing")
				}
			}
			b.ReportMetric(per, "B/blob")
		})
		b.Run(sz.name+"/miss", func(b *testing.B) {
			idx, sample, _ := benchIndex(b, sz.n)
			miss := make([]ID, len(sample))
			for i := range miss {
				miss[i] = sample[i]
				miss[i][31] ^= 0xff
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if idx.Has(DataBlob, miss[i&(len(miss)-1)]) {
					b.Fatal("found")
				}
			}
		})
		b.Run(sz.name+"/parallel-hit", func(b *testing.B) {
			idx, sample, _ := benchIndex(b, sz.n)
			var next atomic.Uint64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(1 << 10)
				for pb.Next() {
					i++
					if !idx.Has(DataBlob, sample[i&uint64(len(sample)-1)]) {
						b.Error("missing")
						return
					}
				}
			})
		})
		delete(benchIndexes, sz.n) // do not slow down what runs next
	}
}

// BenchmarkIndexBuild measures how long loading n entries into the
// in-memory index takes (decoded entries to sorted table), and its size.
func BenchmarkIndexBuild(b *testing.B) {
	for _, sz := range benchIndexSizes {
		b.Run(sz.name, func(b *testing.B) {
			packs := benchIndexPacks(sz.n, 7)
			var per float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				idx := NewIndex()
				if err := idx.bulkAdd(packs); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				per = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(sz.n)
				runtime.KeepAlive(idx)
				b.StartTimer()
			}
			b.ReportMetric(per, "B/blob")
		})
	}
}

// BenchmarkOpen measures Open of a repository whose index files list 1M
// blobs in 31,250 packs (the packs themselves need not exist for Open),
// with the cheap test KDF, so the time is that of the index.
func BenchmarkOpen(b *testing.B) {
	for _, kind := range []string{"mem", "local"} {
		b.Run(kind+"/1M", func(b *testing.B) {
			r := benchRepo(b, kind)
			ctx := context.Background()
			packs := benchIndexPacks(1_000_000, 1)
			const perFile = 1000 // ~32,000 blobs, 1.7 MB per index file
			for i := 0; i < len(packs); i += perFile {
				if _, err := r.WriteIndex(ctx, packs[i:min(i+perFile, len(packs))]); err != nil {
					b.Fatal(err)
				}
			}
			packs = nil
			be := r.Backend()
			for b.Loop() {
				r2, err := Open(ctx, be, []byte("bench"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				if n := r2.Index().Len(DataBlob); n != 1_000_000 {
					b.Fatalf("opened with %d blobs", n)
				}
				r2.enc.Close()
				if r2.dec != nil {
					r2.dec.Close()
				}
			}
		})
	}
}
