package backendtest

import (
	"context"
	"strconv"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// Bench runs the backend benchmarks: Save and Load of small files and of
// pack-sized files, range loads from a pack, Stat and List. newBackend must
// return a new, empty backend; Bench closes it.
func Bench(b *testing.B, newBackend func(b *testing.B) backend.Backend) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		b.Run("Save/"+sizeName(size), func(b *testing.B) { benchSave(b, newBackend(b), size) })
		b.Run("Load/"+sizeName(size), func(b *testing.B) { benchLoad(b, newBackend(b), size) })
	}
	b.Run("LoadRange/4KiB-of-16MiB", func(b *testing.B) { benchLoadRange(b, newBackend(b)) })
	b.Run("Stat", func(b *testing.B) { benchStat(b, newBackend(b)) })
	b.Run("List/1000", func(b *testing.B) { benchList(b, newBackend(b)) })
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func closeAfter(b *testing.B, be backend.Backend) {
	b.Cleanup(func() {
		if err := be.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
}

// benchSave saves a new file per iteration and removes it outside the
// timed section, so a long run does not fill the disk.
func benchSave(b *testing.B, be backend.Backend, size int) {
	closeAfter(b, be)
	rng := newRand(b)
	data := Data(rng, size)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
		if err := be.Save(ctx, h, data); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := be.Remove(ctx, h); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func benchLoad(b *testing.B, be backend.Backend, size int) {
	closeAfter(b, be)
	rng := newRand(b)
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	mustSave(b, be, h, Data(rng, size))
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if _, err := be.Load(ctx, h, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLoadRange(b *testing.B, be backend.Backend) {
	closeAfter(b, be)
	rng := newRand(b)
	const size, n = 16 << 20, 4 << 10
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	mustSave(b, be, h, Data(rng, size))
	ctx := context.Background()
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		if _, err := be.Load(ctx, h, rng.Int64N(size-n), n); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStat(b *testing.B, be backend.Backend) {
	closeAfter(b, be)
	rng := newRand(b)
	h := backend.Handle{Type: backend.IndexFile, Name: Name(rng)}
	mustSave(b, be, h, Data(rng, 100))
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := be.Stat(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
}

func benchList(b *testing.B, be backend.Backend) {
	closeAfter(b, be)
	rng := newRand(b)
	for range 1000 {
		mustSave(b, be, backend.Handle{Type: backend.PackFile, Name: Name(rng)}, Data(rng, 10))
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := be.List(ctx, backend.PackFile, func(backend.FileInfo) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 1000 {
			b.Fatalf("listed %d files, want 1000", n)
		}
	}
}
