// Package chunk splits a byte stream into content-defined chunks.
//
// Boundaries depend only on the content and on a secret, per-repository
// polynomial, so an insertion in the middle of a large file (a database dump,
// say) changes only the chunks around it, and an observer who knows a file
// cannot predict where it will be cut.
//
// The boundaries are those of github.com/restic/chunker (Rabin fingerprints
// over a 64-byte window), whose polynomials this package uses; the search
// for them is the package's own, over bytes in memory (see rabin.go), and
// adds size parameters, buffer reuse and parallel chunking of one stream.
package chunk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/restic/chunker"
)

// Pol is an irreducible polynomial of degree 53 over GF(2) that keys the
// rolling hash.
type Pol = chunker.Pol

// RandomPol returns a new random irreducible polynomial from crypto/rand.
func RandomPol() (Pol, error) { return chunker.DerivePolynomial(rand.Reader) }

// Params are the chunk size bounds of a repository. They are fixed at
// repository creation: changing them would defeat deduplication against
// everything stored before.
type Params struct {
	Min uint `json:"min"` // no chunk is shorter, except the last one of a stream
	Avg uint `json:"avg"` // expected size; must be a power of two
	Max uint `json:"max"` // no chunk is longer
}

// DefaultParams() returns the chunk sizes of a new repository, chosen by
// measurement on database dumps; see doc/design.md ("Chunk sizes"). It is a
// function so that no caller can change the default for everyone.
func DefaultParams() Params { return Params{Min: 64 << 10, Avg: 128 << 10, Max: 1 << 20} }

// MaxChunkSize is the largest Max a repository may use. The in-memory index
// stores blob lengths in 24 bits, which bounds a stored blob to 16 MiB.
const MaxChunkSize = 12 << 20

// Validate reports whether p describes a usable chunker configuration.
func (p Params) Validate() error {
	switch {
	case p.Avg == 0 || p.Avg&(p.Avg-1) != 0:
		return fmt.Errorf("chunk average size %d is not a power of two", p.Avg)
	case p.Min < 64:
		return fmt.Errorf("chunk minimum size %d is below 64 bytes", p.Min)
	case !(p.Min < p.Avg && p.Avg < p.Max):
		return fmt.Errorf("chunk sizes must satisfy min < avg < max, got %d/%d/%d", p.Min, p.Avg, p.Max)
	case p.Max > MaxChunkSize:
		return fmt.Errorf("chunk maximum size %d exceeds the limit of %d", p.Max, MaxChunkSize)
	}
	return nil
}

// Chunker cuts a stream into chunks. A Chunker is not safe for concurrent
// use; create one per goroutine and Reset it for each new stream so that its
// internal buffer is reused.
type Chunker struct {
	params Params
	r      *rabin
	rd     io.Reader // nil before Reset
	in     []byte    // read from rd; in[lo:hi] not yet returned
	lo, hi int
	eof    bool // rd has no more bytes than in holds
}

// readSize is how much a Chunker reads from its stream at once (restic's
// chunker reads as much).
const readSize = 512 << 10

// searchStep is how many bytes past the minimum size Next copies into the
// chunk before it searches them for a boundary. At most a step is copied
// past a chunk's end, and given back; each step costs one priming of the
// 64-byte window. TestBoundaryAtStepEdge puts boundaries at the steps' ends.
const searchStep = 32 << 10

// New returns a chunker for the polynomial and parameters. Call Reset before
// the first Next.
func New(pol Pol, p Params) (*Chunker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !pol.Irreducible() {
		return nil, errors.New("chunker polynomial is not irreducible")
	}
	r, err := newRabin(pol, p, bits.TrailingZeros(p.Avg))
	if err != nil {
		return nil, err
	}
	return &Chunker{params: p, r: r}, nil
}

// Params returns the size parameters.
func (c *Chunker) Params() Params { return c.params }

// Reset starts a new stream read from r.
func (c *Chunker) Reset(r io.Reader) {
	if c.in == nil {
		c.in = make([]byte, readSize)
	}
	c.rd, c.lo, c.hi, c.eof = r, 0, 0, false
}

// Next returns the next chunk. The chunk is written into buf, which is grown
// only if it has less capacity than Params().Max; pass the same buffer back
// (or one from a pool) to avoid an allocation per chunk. After the last
// chunk, Next returns io.EOF. The returned slice is only valid until buf is
// reused. After a read error the stream's position is undefined: Reset
// the Chunker before using it again.
func (c *Chunker) Next(buf []byte) ([]byte, error) {
	if c.rd == nil {
		return nil, errors.New("chunk: Next called before Reset")
	}
	if uint(cap(buf)) < c.params.Max {
		buf = make([]byte, c.params.Max)
	}
	out := buf[:0]
	from := 0 // the chunk has no boundary before from
	for {
		if c.lo == c.hi && !c.eof {
			if err := c.fill(); err != nil {
				return nil, err
			}
			continue
		}
		// The chunk is assembled in out and searched there, so that the
		// 64 bytes before every candidate end are in one slice. Bytes
		// past the boundary found are given back to in, where they still
		// are. out grows by a step at a time beyond the minimum, not by
		// all that in holds: a chunk averages a fraction of a read, and
		// copying the whole read into out for every chunk in it copied
		// each byte about twice (bench/README.md, "Round two, tenth
		// session").
		want := c.r.max - len(out)
		if len(out) < c.r.min {
			want = min(want, c.r.min-len(out)+searchStep)
		} else {
			want = min(want, searchStep)
		}
		take := min(c.hi-c.lo, want)
		out = append(out, c.in[c.lo:c.lo+take]...)
		c.lo += take
		atEOF := c.eof && c.lo == c.hi
		if len(out) == 0 {
			return nil, io.EOF
		}
		if n, ok := c.r.cut(out, from, atEOF); ok {
			c.lo -= len(out) - n
			return out[:n], nil
		}
		from = len(out)
	}
}

// fill reads the next bytes of the stream into in, which is empty.
func (c *Chunker) fill() error {
	n, eof, err := readFull(c.rd, c.in)
	c.lo, c.hi, c.eof = 0, n, eof
	return err
}

// readFull reads into buf until it is full or r ends (eof). Unlike
// io.ReadFull it tells the end of r (io.EOF) from an io.ErrUnexpectedEOF
// that r returns itself, such as a decompressor's on a truncated stream:
// that is an error, not the end of the data.
func readFull(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		}
	}
	return n, false, nil
}
