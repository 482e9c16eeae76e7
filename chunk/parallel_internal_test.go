package chunk

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestResyncIsShort: on random data the true chunking meets a segment's own
// chunking within a few chunks, so the bytes chunked twice are a small
// share of the stream; otherwise Parallel would be correct but slow.
func TestResyncIsShort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 64<<20)
	for i := 0; i < len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
	}
	const seg = 4 << 20
	pc, err := NewParallel(Pol(0x3DA3358B4DC173), DefaultParams(), 2, seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Stream(context.Background(), bytes.NewReader(data), func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	segs := int64(len(data) / seg)
	per := pc.resynced.Load() / (segs - 1)
	t.Logf("re-synchronising chunked %d bytes per segment (%.2f%% of the stream)", per, 100*float64(pc.resynced.Load())/float64(len(data)))
	if per > 4*int64(DefaultParams().Max) {
		t.Fatalf("re-synchronising chunked %d bytes per segment", per)
	}
}
