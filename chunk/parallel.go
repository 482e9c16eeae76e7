package chunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Parallel chunking
//
// The chunker's state at the start of a chunk depends on nothing but that
// position: restic's chunker (v0.4.0, reset and Next) sets its 64-byte
// window and digest to one fixed state at every chunk start (zeros, then
// one 0x01 byte slid in), skips the first Min-64 bytes without hashing
// them (so the 0x01 has left the window when Min is reached), and then
// cuts at the first position p at least Min past the start where the
// fingerprint of the 64 bytes before p has Avg's low bits zero, or at Max.
// Hence the chunks from a given start are a function of the start and the
// bytes after it, and two chunkings of the same bytes that share one
// boundary share every boundary after it.
//
// Parallel uses this: it cuts the stream into segments, chunks each segment
// on its own as if the stream began there (on any free core), and then, in
// order, continues the true (sequential) chunking from the last true
// boundary of the previous segment into the segment until it reaches a
// boundary of the segment's own chunking: from there on it adopts that
// list. This usually takes one or two chunks. If it never meets one (long
// runs of constant bytes cut at fixed intervals that are out of phase, say)
// it simply continues sequentially through the segment, so the result is
// exact in every case and only the speed depends on the data.

// DefaultSegmentSize is the segment size of NewParallel when it is given 0:
// large against the chunks (so that re-synchronising, one or two chunks per
// segment, costs about 2% of the chunking), small enough that a few are
// held in memory at once.
const DefaultSegmentSize = 16 << 20

// Parallel cuts one long stream into exactly the chunks that a Chunker with
// the same polynomial and parameters would, using several goroutines. It is
// safe for concurrent use; every call starts its own goroutines and ends
// them before it returns.
type Parallel struct {
	params  Params
	workers int
	segSize int
	r       *rabin // shared by the workers: read only

	// resynced counts the bytes chunked a second time to re-synchronise
	// (tests check that it stays small).
	resynced atomic.Int64
}

// NewParallel returns a parallel chunker with workers goroutines chunking
// segments of segmentSize bytes (DefaultSegmentSize if 0). Stream holds at
// most workers+1 segments in memory. Any size gives the sequential chunks,
// but only segments many times Max are fast: each segment costs one or two
// chunks chunked again, and a segment shorter than Max up to Max bytes.
func NewParallel(pol Pol, p Params, workers, segmentSize int) (*Parallel, error) {
	c, err := New(pol, p)
	if err != nil {
		return nil, err
	}
	if workers < 1 {
		return nil, fmt.Errorf("parallel chunker: %d workers", workers)
	}
	if segmentSize == 0 {
		segmentSize = DefaultSegmentSize
	}
	if segmentSize < 1 {
		return nil, fmt.Errorf("parallel chunker: segment size %d", segmentSize)
	}
	return &Parallel{params: p, workers: workers, segSize: segmentSize, r: c.r}, nil
}

// SegmentSize returns the size of the segments chunked concurrently.
func (p *Parallel) SegmentSize() int { return p.segSize }

// Workers returns the number of goroutines that chunk segments.
func (p *Parallel) Workers() int { return p.workers }

// segment is a part of the stream, chunked independently by a worker.
type segment struct {
	start int64   // offset of the first byte in the stream
	size  int64   // bytes asked for (ReaderAt mode)
	data  []byte  // the bytes (Stream mode)
	buf   *segBuf // data's memory (Stream mode)
	n     int64   // bytes the worker chunked
	// cuts are the ends (stream offsets) of the chunks of the independent
	// chunking from start, without the last one: that one ends at start+n
	// only because the segment does.
	cuts []int64
	err  error
	done chan struct{} // closed when cuts, n and err are set
}

func (s *segment) end() int64 { return s.start + s.n }

// state is one goroutine's chunker and chunk buffer.
type state struct {
	c        *Chunker
	buf      []byte
	resynced *atomic.Int64
}

func (p *Parallel) newState() *state {
	c := &Chunker{params: p.params, r: p.r}
	return &state{c: c, buf: make([]byte, p.params.Max), resynced: &p.resynced}
}

// cutSegment chunks rd, the bytes of s, on its own.
func (st *state) cutSegment(s *segment, rd io.Reader) {
	defer close(s.done)
	st.c.Reset(rd)
	off := s.start
	for {
		data, err := st.c.Next(st.buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = fmt.Errorf("chunk bytes %d-: %w", off, err)
			return
		}
		off += int64(len(data))
		s.cuts = append(s.cuts, off)
	}
	s.n = off - s.start
	if len(s.cuts) > 0 {
		s.cuts = s.cuts[:len(s.cuts)-1]
	}
}

// cutBytes chunks s's bytes, in memory, on their own: as cutSegment, but
// searched where they lie, without a copy.
func (st *state) cutBytes(s *segment) {
	defer close(s.done)
	for off := 0; off < len(s.data); {
		n, _ := st.c.r.cut(s.data[off:], 0, true) // at least one byte: data is the whole stream
		off += n
		s.cuts = append(s.cuts, s.start+int64(off))
	}
	s.n = int64(len(s.data))
	if len(s.cuts) > 0 {
		s.cuts = s.cuts[:len(s.cuts)-1]
	}
}

// trueCuts returns the boundaries of the sequential chunking inside s,
// strictly between pos and s's end, given that pos (at most s.start) is a
// boundary of it and no boundary lies between pos and s.start. from returns
// the stream's bytes from pos to s's end. A boundary at s's end itself is
// left to the next segment, which finds it again (as its own start).
func (st *state) trueCuts(pos int64, s *segment, from func() io.Reader) ([]int64, error) {
	if pos == s.start {
		return s.cuts, nil
	}
	var out []int64
	st.c.Reset(from())
	at, end := pos, s.end()
	for {
		data, err := st.c.Next(st.buf)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("chunk bytes %d-: %w", at, err)
		}
		at += int64(len(data))
		st.resynced.Add(int64(len(data)))
		if at >= end {
			return out, nil
		}
		out = append(out, at)
		if at == s.start {
			return append(out, s.cuts...), nil
		}
		if i, ok := slices.BinarySearch(s.cuts, at); ok {
			return append(out, s.cuts[i+1:]...), nil
		}
	}
}

// Stream reads r to its end and calls emit with each chunk, in order: the
// same chunks, byte for byte, as a Chunker would return. The slice passed
// to emit is valid only during the call. Segments are read from r by one
// goroutine and chunked by Workers() others; emit runs on the caller's
// goroutine. Memory: at most Workers()+1 segments, and a chunker (about
// 512 KiB plus Max) per worker.
//
// An error from r, from emit or ctx's end stops the workers; Stream returns
// it after they have ended, which includes waiting for a Read of r in
// progress to return (close the source to interrupt it).
func (p *Parallel) Stream(ctx context.Context, r io.Reader, emit func(chunk []byte) error) error {
	return p.StreamShared(ctx, r, func(chunk []byte, release func()) error {
		defer release()
		return emit(chunk)
	})
}

// StreamShared is Stream without a copy of the chunks: the slice passed to
// emit is the stream's own memory (a part of a segment, or a buffer that
// joins the end of one segment to the start of the next), lent to the
// caller until it calls release. emit must call release exactly once for
// every chunk, also when it returns an error, and may call it later, from
// any goroutine, even after StreamShared has returned. A segment is read
// into again only after every chunk in it has been released, so a caller
// that holds chunks holds segments: reading waits (ctx still stops it).
// Chunks must therefore be released without waiting for StreamShared to
// return (by the goroutines that consume them, say): holding those of
// Workers() segments may stop it for good.
// Memory: at most Workers()+1 segments, a chunker (about 512 KiB plus Max)
// per worker, and a buffer of Max for each chunk held that spans two
// segments.
func (p *Parallel) StreamShared(ctx context.Context, r io.Reader, emit func(chunk []byte, release func()) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	inFlight := p.workers + 1
	// free holds the segment buffers not in use; never more than inFlight,
	// so a release (perhaps after Stream returned) never blocks.
	free := make(chan *segBuf, inFlight)
	for range inFlight {
		free <- &segBuf{free: free} // memory allocated when first needed: a short stream uses one
	}
	work := make(chan *segment, inFlight)
	order := make(chan *segment, inFlight)
	g.Go(func() error {
		defer close(order)
		defer close(work)
		return p.readSegments(gctx, r, free, work, order)
	})
	p.startWorkers(gctx, g, work, nil)
	m := &streamMerge{st: p.newState(), max: int(p.params.Max), spare: make(chan *carryBuf, 2), emit: emit}
	m.carry = m.newCarry()
	err := m.run(gctx, order)
	if err := stop(err, cancel, g); err != nil {
		m.carry.release()
		return err
	}
	return m.finish()
}

// segBuf is the memory of a Stream segment. It is read into again once
// the merge is done with it and every chunk emitted from it is released.
type segBuf struct {
	data    []byte // len segSize once allocated
	refs    atomic.Int32
	free    chan<- *segBuf
	release func() // s.unref, made once
}

func (b *segBuf) unref() {
	switch n := b.refs.Add(-1); {
	case n == 0:
		b.free <- b // cannot block: free has room for every segBuf
	case n < 0:
		panic("chunk: segment released more often than it was lent")
	}
}

// carryBuf holds the start of a chunk that ends in a later segment, then
// the whole chunk while the caller holds it.
type carryBuf struct {
	b       []byte
	spare   chan *carryBuf
	refs    atomic.Int32
	release func() // c.unref, made once
}

func (c *carryBuf) unref() {
	switch n := c.refs.Add(-1); {
	case n == 0:
		c.b = c.b[:0]
		select {
		case c.spare <- c:
		default: // enough spares: let the garbage collector have it
		}
	case n < 0:
		panic("chunk: carried chunk released more often than it was lent")
	}
}

// stop ends the goroutines of g after the merge returned err and returns
// the error that ended the work: the merge's own (emit's, say) before the
// cancellation it caused in the goroutines, else the first of theirs (a
// read error, which ended the segments the merge saw).
func stop(err error, cancel func(), g *errgroup.Group) error {
	if err != nil {
		cancel()
	}
	werr := g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if werr != nil {
		return werr
	}
	return err
}

// readSegments reads r into segments and hands each to the workers (work)
// and, in stream order, to the merge (order). Each segment holds one
// reference to its buffer, the merge's.
func (p *Parallel) readSegments(ctx context.Context, r io.Reader, free chan *segBuf, work, order chan<- *segment) error {
	var off int64
	for {
		var sb *segBuf
		select {
		case sb = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		if sb.data == nil {
			sb.data = make([]byte, p.segSize)
			sb.release = sb.unref
		}
		n, eof, rerr := readFull(r, sb.data)
		if rerr != nil {
			return fmt.Errorf("read stream at byte %d: %w", off+int64(n), rerr)
		}
		if n == 0 {
			return nil
		}
		sb.refs.Store(1)
		s := &segment{start: off, size: int64(n), data: sb.data[:n], buf: sb, done: make(chan struct{})}
		off += int64(n)
		if err := send(ctx, order, s); err != nil {
			return err
		}
		if err := send(ctx, work, s); err != nil {
			return err
		}
		if eof {
			return nil
		}
	}
}

func send(ctx context.Context, ch chan<- *segment, s *segment) error {
	select {
	case ch <- s:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startWorkers starts Workers() goroutines in g that chunk the segments
// from work, reading each with rd, or where they lie when rd is nil.
func (p *Parallel) startWorkers(ctx context.Context, g *errgroup.Group, work <-chan *segment, rd func(*segment) io.Reader) {
	for range p.workers {
		g.Go(func() error {
			st := p.newState()
			for s := range work {
				if err := ctx.Err(); err != nil {
					return err
				}
				if rd == nil {
					st.cutBytes(s)
				} else {
					st.cutSegment(s, rd(s))
				}
			}
			return nil
		})
	}
}

// wait waits until a worker has chunked s.
func wait(ctx context.Context, s *segment) error {
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// streamMerge turns the segments of Stream, in order, into the chunks of
// the sequential chunking. carry holds the bytes from the last true
// boundary (pos) to the end of the segments seen: the start of a chunk
// whose end lies in a later segment (at most Max bytes). A chunk inside a
// segment is lent to emit as it lies there; one that begins in carry is
// completed in carry, lent, and a new carry taken.
type streamMerge struct {
	st    *state
	max   int
	pos   int64
	carry *carryBuf
	spare chan *carryBuf // released carries, for reuse
	emit  func(chunk []byte, release func()) error
}

func (m *streamMerge) newCarry() *carryBuf {
	var c *carryBuf
	select {
	case c = <-m.spare:
	default:
		c = &carryBuf{b: make([]byte, 0, m.max), spare: m.spare}
		c.release = c.unref
	}
	c.refs.Store(1) // the merge's
	return c
}

func (m *streamMerge) run(ctx context.Context, order <-chan *segment) error {
	for s := range order {
		if err := wait(ctx, s); err != nil {
			return err
		}
		err := m.segment(s)
		s.buf.release() // the merge's reference
		if err != nil {
			return err
		}
	}
	return nil
}

// segment emits the chunks that end inside s and keeps its tail in carry.
func (m *streamMerge) segment(s *segment) error {
	cuts, err := m.st.trueCuts(m.pos, s, func() io.Reader {
		return io.MultiReader(bytes.NewReader(m.carry.b), bytes.NewReader(s.data))
	})
	if err != nil {
		return err
	}
	for _, c := range cuts {
		var chunk []byte
		var release func()
		if m.pos >= s.start {
			chunk = s.data[m.pos-s.start : c-s.start]
			s.buf.refs.Add(1)
			release = s.buf.release
		} else { // the chunk begins in carry: complete it there and lend it
			chunk = append(m.carry.b, s.data[:c-s.start]...)
			release = m.carry.release
			m.carry = m.newCarry()
		}
		m.pos = c
		if err := m.emit(chunk, release); err != nil {
			return err
		}
	}
	if m.pos >= s.start {
		m.carry.b = append(m.carry.b[:0], s.data[m.pos-s.start:]...)
	} else {
		m.carry.b = append(m.carry.b, s.data...)
	}
	return nil
}

// finish emits the last chunk: the bytes after the last boundary.
func (m *streamMerge) finish() error {
	if len(m.carry.b) == 0 {
		m.carry.release()
		return nil
	}
	return m.emit(m.carry.b, m.carry.release)
}

// ReaderAt cuts the size bytes of ra into exactly the chunks that a Chunker
// reading them in order would, and calls emit with the offset and length of
// each, in order; it does not keep the bytes (the caller reads each chunk
// with ReadAt: the workers' reads have usually left them in the page
// cache). emit runs on the caller's goroutine. Memory: a chunker (about
// 512 KiB plus Max) per worker, and the boundaries of Workers()+1 segments.
//
// If ra ends early (a file truncated while it is read), the chunks end
// where a worker first found the end.
func (p *Parallel) ReaderAt(ctx context.Context, ra io.ReaderAt, size int64, emit func(off, n int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	inFlight := p.workers + 1
	tokens := make(chan struct{}, inFlight)
	work := make(chan *segment, inFlight)
	order := make(chan *segment, inFlight)
	g.Go(func() error {
		defer close(order)
		defer close(work)
		for off := int64(0); off < size; off += int64(p.segSize) {
			select {
			case tokens <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			s := &segment{start: off, size: min(int64(p.segSize), size-off), done: make(chan struct{})}
			if err := send(gctx, order, s); err != nil {
				return err
			}
			if err := send(gctx, work, s); err != nil {
				return err
			}
		}
		return nil
	})
	p.startWorkers(gctx, g, work, func(s *segment) io.Reader { return io.NewSectionReader(ra, s.start, s.size) })
	m := &atMerge{st: p.newState(), ra: ra, emit: emit}
	err := m.run(gctx, order, tokens)
	if err := stop(err, cancel, g); err != nil {
		return err
	}
	if m.end > m.pos {
		return emit(m.pos, m.end-m.pos)
	}
	return nil
}

// atMerge turns the segments of ReaderAt into the chunks of the sequential
// chunking.
type atMerge struct {
	st       *state
	ra       io.ReaderAt
	pos, end int64 // the last true boundary; the end of the bytes seen
	short    bool  // a segment was shorter than asked: ra ended there
	emit     func(off, n int64) error
}

func (m *atMerge) run(ctx context.Context, order <-chan *segment, tokens <-chan struct{}) error {
	for s := range order {
		if err := wait(ctx, s); err != nil {
			return err
		}
		<-tokens
		if m.short || s.n == 0 {
			m.short = true
			continue // drain: the stream ended in an earlier segment
		}
		cuts, err := m.st.trueCuts(m.pos, s, func() io.Reader {
			return io.NewSectionReader(m.ra, m.pos, s.end()-m.pos)
		})
		if err != nil {
			return err
		}
		for _, c := range cuts {
			if err := m.emit(m.pos, c-m.pos); err != nil {
				return err
			}
			m.pos = c
		}
		m.end = s.end()
		m.short = s.n < s.size
	}
	return nil
}
