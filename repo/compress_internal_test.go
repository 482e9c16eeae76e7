package repo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestShouldCompress: the early estimate only says yes; what it does not
// find clearly compressible is decided by the zstd sample as before.
func TestShouldCompress(t *testing.T) {
	r := NewTestRepository(t, mem.New(), "pw", InitOptions{})
	defer r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var sql bytes.Buffer
	for i := 0; sql.Len() < 256<<10; i++ {
		fmt.Fprintf(&sql, "INSERT INTO paket (id, nama, pagu) VALUES (%d, 'Pengadaan %d', %d);\n", i, rng.IntN(1e6), rng.IntN(1e9))
	}
	// Byte-uniform, so the estimate sees noise, yet repeated every KiB:
	// the sample must still find the repeats.
	repeats := bytes.Repeat(random(1<<10), 256)
	mid := func(b []byte) []byte { return b[len(b)/2-estimateSample/2 : len(b)/2+estimateSample/2] }

	for _, c := range []struct {
		name     string
		data     []byte
		want     bool
		estimate bool // whether the estimate alone decides
	}{
		{"sql", sql.Bytes(), true, true},
		{"random", random(256 << 10), false, false},
		{"random repeated", repeats, true, false},
		{"small random", random(16 << 10), true, false}, // small blobs are always tried
	} {
		if got := r.shouldCompress(c.data); got != c.want {
			t.Errorf("%s: shouldCompress %v, want %v", c.name, got, c.want)
		}
		if len(c.data) > 32<<10 {
			if e := compress.Estimate(mid(c.data)); (e >= clearlyCompressible) != c.estimate {
				t.Errorf("%s: estimate %.3f, want it to decide: %v", c.name, e, c.estimate)
			}
		}
	}
}
