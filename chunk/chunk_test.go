package chunk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/lpse/cadang/chunk"
)

// testPol is a fixed irreducible polynomial (the one restic's chunker
// examples use), so that chunk boundaries are reproducible.
const testPol = chunk.Pol(0x3DA3358B4DC173)

func randData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 17))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// split returns copies of the chunks of data.
func split(t testing.TB, c *chunk.Chunker, data []byte) [][]byte {
	t.Helper()
	c.Reset(bytes.NewReader(data))
	var out [][]byte
	var buf []byte
	for {
		ch, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(ch))
		buf = ch
	}
}

func TestValidate(t *testing.T) {
	if err := chunk.DefaultParams().Validate(); err != nil {
		t.Fatalf("default params: %v", err)
	}
	for _, p := range []chunk.Params{
		{Min: 1 << 10, Avg: 3 << 10, Max: 8 << 10},                // avg not a power of two
		{Min: 0, Avg: 4 << 10, Max: 8 << 10},                      // min below 64
		{Min: 63, Avg: 4 << 10, Max: 8 << 10},                     // min below 64
		{Min: 4 << 10, Avg: 4 << 10, Max: 8 << 10},                // min == avg
		{Min: 1 << 10, Avg: 8 << 10, Max: 8 << 10},                // avg == max
		{Min: 1 << 10, Avg: 4 << 10, Max: chunk.MaxChunkSize + 1}, // max too big
		{},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
		if _, err := chunk.New(testPol, p); err == nil {
			t.Errorf("New accepted %+v", p)
		}
	}
	if err := (chunk.Params{Min: 64, Avg: 128, Max: chunk.MaxChunkSize}).Validate(); err != nil {
		t.Errorf("extreme but valid params rejected: %v", err)
	}
	if _, err := chunk.New(chunk.Pol(4), chunk.DefaultParams()); err == nil {
		t.Error("reducible polynomial accepted")
	}
}

func TestRandomPol(t *testing.T) {
	p, err := chunk.RandomPol()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Irreducible() || p.Deg() != 53 {
		t.Fatalf("random polynomial %v: irreducible %v, degree %d", p, p.Irreducible(), p.Deg())
	}
	q, _ := chunk.RandomPol()
	if p == q {
		t.Fatal("two random polynomials are equal")
	}
}

func TestNextBeforeReset(t *testing.T) {
	c, err := chunk.New(testPol, chunk.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(nil); err == nil {
		t.Fatal("Next before Reset succeeded")
	}
}

func TestChunksCoverInputWithinBounds(t *testing.T) {
	params := []chunk.Params{
		chunk.DefaultParams(),
		{Min: 512 << 10, Avg: 1 << 20, Max: 8 << 20},
		{Min: 64, Avg: 256, Max: 1024},
		{Min: 2 << 10, Avg: 8 << 10, Max: 16 << 10},
	}
	for _, p := range params {
		c, err := chunk.New(testPol, p)
		if err != nil {
			t.Fatal(err)
		}
		if c.Params() != p {
			t.Fatal("Params changed")
		}
		for _, n := range []int{0, 1, 63, int(p.Min) - 1, int(p.Min), int(p.Max), int(p.Max) + 1, 1 << 20} {
			data := randData(uint64(n), n)
			chunks := split(t, c, data)
			if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
				t.Fatalf("%+v, %d bytes: chunks do not reassemble the input", p, n)
			}
			for i, ch := range chunks {
				if len(ch) == 0 || uint(len(ch)) > p.Max || (uint(len(ch)) < p.Min && i != len(chunks)-1) {
					t.Fatalf("%+v, %d bytes: chunk %d of %d has %d bytes", p, n, i, len(chunks), len(ch))
				}
			}
			if n == 0 && len(chunks) != 0 {
				t.Fatal("empty input gave chunks")
			}
		}
	}
}

func TestAverageSize(t *testing.T) {
	p := chunk.Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}
	c, _ := chunk.New(testPol, p)
	data := randData(5, 8<<20)
	chunks := split(t, c, data)
	avg := len(data) / len(chunks)
	// Min is added to the expected gap between boundaries.
	if avg < int(p.Avg)/2 || avg > 3*int(p.Avg) {
		t.Fatalf("average chunk %d bytes for Avg %d", avg, p.Avg)
	}
}

// TestDeterministicAndReset: the same input gives the same chunks, also
// after the chunker was used for another stream.
func TestDeterministicAndReset(t *testing.T) {
	c, _ := chunk.New(testPol, chunk.DefaultParams())
	data := randData(1, 4<<20)
	first := split(t, c, data)
	split(t, c, randData(2, 3<<20))
	again := split(t, c, data)
	c2, _ := chunk.New(testPol, chunk.DefaultParams())
	fresh := split(t, c2, data)
	for _, other := range [][][]byte{again, fresh} {
		if len(other) != len(first) {
			t.Fatalf("%d chunks, then %d", len(first), len(other))
		}
		for i := range first {
			if !bytes.Equal(first[i], other[i]) {
				t.Fatalf("chunk %d differs", i)
			}
		}
	}
	// Another polynomial cuts elsewhere.
	pol, _ := chunk.RandomPol()
	c3, _ := chunk.New(pol, chunk.DefaultParams())
	other := split(t, c3, data)
	if len(other) == len(first) && bytes.Equal(other[0], first[0]) && bytes.Equal(other[1], first[1]) {
		t.Fatal("a different polynomial gave the same boundaries")
	}
}

// TestInsertionIsLocal is the point of content-defined chunking: bytes
// inserted in the middle of a stream change only the chunks around them.
func TestInsertionIsLocal(t *testing.T) {
	p := chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 512 << 10}
	c, _ := chunk.New(testPol, p)
	data := randData(3, 8<<20)
	edited := append(append(append([]byte(nil), data[:4<<20]...), []byte("INSERT INTO x VALUES (1);\n")...), data[4<<20:]...)
	before := map[string]bool{}
	for _, ch := range split(t, c, data) {
		before[string(ch)] = true
	}
	after := split(t, c, edited)
	changed := 0
	for _, ch := range after {
		if !before[string(ch)] {
			changed++
		}
	}
	if changed == 0 || changed > 3 {
		t.Fatalf("%d of %d chunks changed after a 26-byte insertion", changed, len(after))
	}
}

// TestBufferReuse: passing the previous chunk back as the buffer makes the
// steady state allocation-free.
func TestBufferReuse(t *testing.T) {
	c, _ := chunk.New(testPol, chunk.DefaultParams())
	data := randData(4, 8<<20)
	r := bytes.NewReader(data)
	buf := make([]byte, chunk.DefaultParams().Max)
	c.Reset(r)
	if _, err := c.Next(buf); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		ch, err := c.Next(buf)
		if err == io.EOF {
			r.Reset(data)
			c.Reset(r)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if &ch[0] != &buf[0] {
			t.Fatal("chunk not returned in the caller's buffer")
		}
	})
	if allocs > 0.5 {
		t.Fatalf("%.1f allocations per chunk with a reused buffer", allocs)
	}
	// A too-small buffer is replaced, not overrun.
	c.Reset(bytes.NewReader(data))
	small := make([]byte, 10)
	ch, err := c.Next(small)
	if err != nil || len(ch) < int(chunk.DefaultParams().Min) {
		t.Fatalf("small buffer: %d bytes, %v", len(ch), err)
	}
}

type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), e.n)
	clear(p[:k])
	e.n -= k
	return k, nil
}

func TestReadError(t *testing.T) {
	c, _ := chunk.New(testPol, chunk.DefaultParams())
	c.Reset(&errReader{n: 10 << 20})
	for {
		_, err := c.Next(nil)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || err.Error() == "" {
			t.Fatalf("read error reported as %v", err)
		}
		return
	}
}

// BenchmarkChunker measures the chunker alone on random data with the
// default parameters (single goroutine).
func BenchmarkChunker(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    chunk.Params
	}{
		{"default", chunk.DefaultParams()},
		{"avg1M", chunk.Params{Min: 512 << 10, Avg: 1 << 20, Max: 8 << 20}},
		{"avg64K", chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 1 << 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := randData(9, 64<<20)
			c, err := chunk.New(testPol, tc.p)
			if err != nil {
				b.Fatal(err)
			}
			r := bytes.NewReader(data)
			buf := make([]byte, tc.p.Max)
			chunks := 0
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r.Reset(data)
				c.Reset(r)
				for {
					ch, err := c.Next(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					buf = ch
					chunks++
				}
			}
			b.ReportMetric(float64(len(data))*float64(b.N)/float64(chunks), "B/chunk")
		})
	}
}
