package chunk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"testing"
	"testing/iotest"

	"github.com/restic/chunker"

	"github.com/lpse/cadang/chunk"
)

// The chunker's boundaries must be restic's chunker's, byte for byte:
// every repository written so far was cut by it, and deduplication against
// those chunks depends on cutting the same bytes at the same places.

// resticLens returns the chunk lengths of restic's chunker.
func resticLens(t testing.TB, pol chunk.Pol, p chunk.Params, data []byte) []int {
	t.Helper()
	c := chunker.NewWithBoundaries(bytes.NewReader(data), pol, p.Min, p.Max)
	c.SetAverageBits(bits.TrailingZeros(p.Avg))
	buf := make([]byte, p.Max)
	var out []int
	for {
		ch, err := c.Next(buf)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, int(ch.Length))
	}
}

// ourLens returns the chunk lengths of c reading r, and checks that
// the chunks put together are data.
func ourLens(t testing.TB, c *chunk.Chunker, data []byte, r io.Reader) []int {
	t.Helper()
	c.Reset(r)
	var out []int
	var got []byte
	buf := make([]byte, c.Params().Max)
	for {
		ch, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, len(ch))
		got = append(got, ch...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("chunks (%d bytes) do not reassemble the %d input bytes", len(got), len(data))
	}
	return out
}

func TestBoundariesAreRestics(t *testing.T) {
	pols := []chunk.Pol{testPol}
	for i := range 3 {
		pol, err := chunker.DerivePolynomial(bytes.NewReader(randData(uint64(100+i), 4096)))
		if err != nil {
			t.Fatal(err)
		}
		pols = append(pols, pol)
	}
	params := []chunk.Params{
		chunk.DefaultParams(),
		smallParams,
		{Min: 64, Avg: 128, Max: 4096}, // the fingerprint's window is the whole minimum
		{Min: 65, Avg: 256, Max: 257},  // odd sizes, max just above avg
	}
	for _, p := range params {
		chunkers := make([]*chunk.Chunker, len(pols)) // one each: New checks the polynomial, which is slow under -race
		for i, pol := range pols {
			c, err := chunk.New(pol, p)
			if err != nil {
				t.Fatal(err)
			}
			chunkers[i] = c
		}
		mn, mx := int(p.Min), int(p.Max)
		sizes := []int{0, 1, 63, 64, 65, mn - 1, mn, mn + 1, mx - 1, mx, mx + 1, 2*mx - 1, 2 * mx, 3*mx + 17, 600 << 10}
		for _, size := range sizes {
			if size < 0 {
				continue
			}
			rnd := randData(uint64(size), size)
			sql := sqlData(uint64(size), size)
			inputs := map[string][]byte{
				"random": rnd,
				"sql":    sql,
				"zeros":  make([]byte, size),
				"ff":     bytes.Repeat([]byte{0xff}, size),
				"runs":   withRuns(sql, [3]int{size / 5, size / 3, 0}, [3]int{size / 2, size / 4, 0xff}),
			}
			for name, data := range inputs {
				for i, pol := range pols {
					if i > 0 && size > 2*mx {
						continue // the other polynomials on shorter data: the test runs under -race too
					}
					want := resticLens(t, pol, p, data)
					what := fmt.Sprintf("%s, %d bytes, params %d/%d/%d, polynomial %d", name, size, p.Min, p.Avg, p.Max, i)
					equalLens(t, what, want, ourLens(t, chunkers[i], data, bytes.NewReader(data)))
					// Short reads put chunk ends and window starts
					// at every offset of the read buffer. One byte a
					// read only on short data: it is slow under -race.
					if i == 0 && size <= 64<<10 {
						equalLens(t, what+", one byte a read", want, ourLens(t, chunkers[i], data, iotest.OneByteReader(bytes.NewReader(data))))
					}
					if i == 0 && size <= 1<<20 {
						equalLens(t, what+", half reads", want, ourLens(t, chunkers[i], data, iotest.HalfReader(bytes.NewReader(data))))
						equalLens(t, what+", reads of 4099 bytes", want, ourLens(t, chunkers[i], data, &stepReader{data: data, step: 4099}))
					}
				}
			}
		}
	}
}

// TestParallelIsRestics compares both parallel modes with restic's
// chunker directly, not only with Chunker.
func TestParallelIsRestics(t *testing.T) {
	data := withRuns(sqlData(11, 3<<20), [3]int{500 << 10, 300 << 10, 0xff}, [3]int{2 << 20, 100 << 10, 0})
	for _, workers := range []int{1, 3} {
		pc, err := chunk.NewParallel(testPol, smallParams, workers, 100<<10)
		if err != nil {
			t.Fatal(err)
		}
		want := resticLens(t, testPol, smallParams, data)
		equalLens(t, fmt.Sprintf("Stream, %d workers", workers), want, streamLens(t, pc, data, bytes.NewReader(data)))
		equalLens(t, fmt.Sprintf("ReaderAt, %d workers", workers), want, atLens(t, pc, data))
	}
}

// truncatedReader returns its data, then io.ErrUnexpectedEOF, as a
// decompressor does on a truncated stream.
type truncatedReader struct{ r io.Reader }

func (t *truncatedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// TestReaderUnexpectedEOFIsAnError: a reader's own io.ErrUnexpectedEOF
// is an error (the stream was cut short), not the end of the stream, for
// the Chunker and for both sizes of Parallel's segments.
func TestReaderUnexpectedEOFIsAnError(t *testing.T) {
	data := randData(3, 3<<20+123)
	c, err := chunk.New(testPol, smallParams)
	if err != nil {
		t.Fatal(err)
	}
	c.Reset(&truncatedReader{bytes.NewReader(data)})
	for {
		_, err := c.Next(nil)
		if err == nil {
			continue
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Chunker: %v, want io.ErrUnexpectedEOF", err)
		}
		break
	}
	for _, seg := range []int{100 << 10, 8 << 20} {
		pc, err := chunk.NewParallel(testPol, smallParams, 2, seg)
		if err != nil {
			t.Fatal(err)
		}
		err = pc.Stream(context.Background(), &truncatedReader{bytes.NewReader(data)}, func([]byte) error { return nil })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Parallel.Stream, segments of %d: %v, want io.ErrUnexpectedEOF", seg, err)
		}
	}
}

func TestNewRejectsPolynomialDegree(t *testing.T) {
	// x^7+x+1 and x^59+x^7+x^4+x^2+1 are irreducible but outside the
	// degrees a 64-bit digest can reduce.
	for _, pol := range []chunk.Pol{0x83, 1<<59 | 0x95} {
		if !pol.Irreducible() {
			t.Fatalf("test polynomial %#x is not irreducible", uint64(pol))
		}
		if _, err := chunk.New(pol, chunk.DefaultParams()); err == nil {
			t.Errorf("polynomial of degree %d accepted", pol.Deg())
		}
	}
}

// FuzzBoundariesAreRestics compares Chunker with restic's chunker on
// arbitrary bytes, read in pieces of arbitrary size.
func FuzzBoundariesAreRestics(f *testing.F) {
	f.Add([]byte("INSERT INTO t VALUES (1, 'x');\n"), uint16(40), uint8(3))
	f.Add([]byte{0}, uint16(3000), uint8(1))
	f.Add([]byte{0xff, 0x00, 0x17}, uint16(999), uint8(200))
	f.Add(randData(2, 1000), uint16(20), uint8(7))
	p := chunk.Params{Min: 128, Avg: 512, Max: 2048}
	c, err := chunk.New(testPol, p)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, unit []byte, repeat uint16, step uint8) {
		if len(unit) == 0 {
			return
		}
		data := bytes.Repeat(unit, int(repeat)%300+1)
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		want := resticLens(t, testPol, p, data)
		equalLens(t, "whole reads", want, ourLens(t, c, data, bytes.NewReader(data)))
		equalLens(t, "short reads", want, ourLens(t, c, data, &stepReader{data: data, step: int(step) + 1}))
	})
}

// stepReader returns at most step bytes a read.
type stepReader struct {
	data []byte
	step int
}

func (s *stepReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// BenchmarkChunkerAgainstRestic runs restic's chunker and Chunker in turn
// over the same bytes, default parameters, one goroutine: the ratio of
// their times in one invocation is what this package's search saves.
func BenchmarkChunkerAgainstRestic(b *testing.B) {
	const n = 64 << 20
	for _, in := range benchInputs(n) {
		p := chunk.DefaultParams()
		b.Run(in.name+"/restic", func(b *testing.B) {
			buf := make([]byte, p.Max)
			c := chunker.NewWithBoundaries(bytes.NewReader(nil), testPol, p.Min, p.Max)
			b.SetBytes(n)
			for b.Loop() {
				c.ResetWithBoundaries(bytes.NewReader(in.data), testPol, p.Min, p.Max)
				c.SetAverageBits(bits.TrailingZeros(p.Avg))
				for {
					if _, err := c.Next(buf); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(in.name+"/cadang", func(b *testing.B) { benchSequential(b, p, in.data) })
	}
}
