package archiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lpse/cadang/chunk"
)

// parChunking decides whether a stream or a large file is chunked on
// several cores (chunk.Parallel) and holds what that needs for one backup.
// The boundaries, and so the blob IDs and deduplication, are those of
// sequential chunking either way; only the speed differs.
//
// One item at a time is chunked in parallel: with several large files the
// readers already keep the cores busy, and a second Parallel would double
// the memory it holds (a Stream's segments).
type parChunking struct {
	// Set by tests (through Archiver.runHook) before the backup starts.
	workers int // 0: GOMAXPROCS; 1 disables parallel chunking
	segSize int // 0: segmentSize(workers)

	once sync.Once
	pc   *chunk.Parallel // nil when disabled
	busy chan struct{}   // holds a token while an item is chunked in parallel

	items atomic.Int64 // streams and file extents chunked in parallel (for tests)
	// lent counts the chunks of a stream lent to the savers and not yet
	// given back (tests check that every one is).
	lent atomic.Int64
	// reading counts the files being read now: while another reader is
	// busy the cores are too, and reading a file twice (boundaries, then
	// chunks) would only cost CPU.
	reading atomic.Int64
}

// parallel returns the parallel chunker and a function that releases it,
// or nil when chunking in parallel does not pay (one core) or another item
// is chunked in parallel now.
func (r *run) parallel() (*chunk.Parallel, func()) {
	p := &r.par
	p.once.Do(func() {
		w := p.workers
		if w == 0 {
			w = runtime.GOMAXPROCS(0)
		}
		if w < 2 {
			return
		}
		seg := p.segSize
		if seg == 0 {
			seg = segmentSize(w)
		}
		pc, err := chunk.NewParallel(r.pol, r.params, w, seg)
		if err != nil {
			return // the params were validated; sequential chunking reports any problem
		}
		p.pc, p.busy = pc, make(chan struct{}, 1)
	})
	if p.pc == nil {
		return nil, nil
	}
	select {
	case p.busy <- struct{}{}:
		return p.pc, func() { <-p.busy }
	default:
		return nil, nil
	}
}

// streamMemory is about what a stream's segments may hold, whatever the
// number of cores: a Stream holds workers+1 segments.
const streamMemory = 64 << 20

// segmentSize returns the segment size for w workers: 16 MiB on few cores,
// smaller on many so that the segments in memory stay near streamMemory,
// but not below 4 MiB, where re-synchronising (one or two chunks per
// segment) would be more than about 8% of the chunking.
func segmentSize(w int) int {
	return min(max(streamMemory/(w+1), 4<<20), chunk.DefaultSegmentSize)
}

// chunkStreamParallel is chunkRange for a stream, on several cores. It
// returns false (having read nothing) when the stream is to be chunked
// sequentially.
func (r *run) chunkStreamParallel(ctx context.Context, j *fileJob, rd io.Reader) (int64, bool, error) {
	pc, release := r.parallel()
	if pc == nil {
		return 0, false, nil
	}
	defer release()
	r.par.items.Add(1)
	var total int64
	// The savers read each chunk where the chunker left it, in the
	// stream's segments (no copy into a pooled buffer), and give it back
	// with release once it is saved or dropped.
	err := pc.StreamShared(ctx, rd, func(data []byte, release func()) error {
		total += int64(len(data))
		r.countRead(len(data))
		r.par.lent.Add(1)
		r.sendBlob(ctx, j, nil, data, releaseFunc(func() {
			r.par.lent.Add(-1)
			release()
		}))
		return nil
	})
	return total, true, err
}

// returner takes back the memory of a blob once a saver is done with it
// (blobJob.pool): a bufPool, or a chunk lent by chunk.Parallel.StreamShared.
type returner interface{ put(buf []byte) }

// releaseFunc returns a chunk lent by StreamShared.
type releaseFunc func()

func (f releaseFunc) put([]byte) { f() }

// errShortRead stops chunkFileParallel at the end of a file that became
// shorter than its size.
var errShortRead = errors.New("file ended early")

// chunkFileParallel is chunkRange for the extent of f from off, length
// size, on several cores: workers find the boundaries (reading the file
// themselves), then each chunk is read again by offset, usually from the
// page cache. It holds no segments in memory, only boundaries. It returns
// false (having read nothing) when the extent is to be chunked
// sequentially: when another file is being read (the cores are busy), or
// when it is shorter than three segments (re-synchronising at each
// segment's start would be a large share).
func (r *run) chunkFileParallel(ctx context.Context, j *fileJob, f io.ReaderAt, off, size int64) (int64, bool, error) {
	if r.par.reading.Load() > 1 {
		return 0, false, nil
	}
	pc, release := r.parallel()
	if pc == nil {
		return 0, false, nil
	}
	defer release()
	if size <= 2*int64(pc.SegmentSize()) {
		return 0, false, nil
	}
	r.par.items.Add(1)
	var total int64
	err := pc.ReaderAt(ctx, io.NewSectionReader(f, off, size), size, func(at, n int64) error {
		buf, err := r.large.get(ctx)
		if err != nil {
			return &fatalError{err}
		}
		m, err := f.ReadAt(buf[:n], off+at)
		total += int64(m)
		r.countRead(m)
		if m == 0 {
			r.large.put(buf)
		} else {
			r.sendBlob(ctx, j, buf, buf[:m], r.large) // what was read is kept, as chunkRange does
		}
		switch {
		case int64(m) == n:
			return nil
		case err == nil || errors.Is(err, io.EOF):
			return errShortRead
		default:
			return fmt.Errorf("read at %d: %w", off+at+int64(m), err)
		}
	})
	if errors.Is(err, errShortRead) {
		err = nil // the caller compares total with size
	}
	return total, true, err
}

// countRead adds n bytes read to the summary and the progress.
func (r *run) countRead(n int) {
	r.bytesRead.Add(uint64(n))
	r.progress.BytesRead(uint64(n))
}
