package chunk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"

	"github.com/lpse/cadang/chunk"
)

// smallParams make chunks small, so that short test streams span many
// segments and max-size cuts.
var smallParams = chunk.Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}

// seqLens returns the chunk lengths of the sequential chunker.
func seqLens(t testing.TB, p chunk.Params, data []byte) []int {
	t.Helper()
	c, err := chunk.New(testPol, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, ch := range split(t, c, data) {
		out = append(out, len(ch))
	}
	return out
}

// streamLens chunks r with Parallel.Stream, checks that the chunks put
// together are data, and returns their lengths.
func streamLens(t testing.TB, pc *chunk.Parallel, data []byte, r io.Reader) []int {
	t.Helper()
	var out []int
	var got []byte
	err := pc.Stream(context.Background(), r, func(ch []byte) error {
		out = append(out, len(ch))
		got = append(got, ch...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Stream's chunks (%d bytes) do not reassemble the %d input bytes", len(got), len(data))
	}
	return out
}

// atLens chunks data with Parallel.ReaderAt and returns the lengths.
func atLens(t testing.TB, pc *chunk.Parallel, data []byte) []int {
	t.Helper()
	var out []int
	var next int64
	err := pc.ReaderAt(context.Background(), bytes.NewReader(data), int64(len(data)), func(off, n int64) error {
		if off != next || n <= 0 {
			return fmt.Errorf("chunk at %d+%d, want one at %d", off, n, next)
		}
		next += n
		out = append(out, int(n))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != int64(len(data)) {
		t.Fatalf("ReaderAt's chunks cover %d of %d bytes", next, len(data))
	}
	return out
}

func equalLens(t testing.TB, what string, want, got []int) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d chunks, sequential %d", what, len(got), len(want))
	}
	off := 0
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("%s: chunk %d at byte %d has %d bytes, sequential %d", what, i, off, got[i], want[i])
		}
		off += want[i]
	}
}

// checkAll compares the sequential chunks of data with both parallel modes.
func checkAll(t testing.TB, p chunk.Params, data []byte, workers, seg int) {
	t.Helper()
	pc, err := chunk.NewParallel(testPol, p, workers, seg)
	if err != nil {
		t.Fatal(err)
	}
	want := seqLens(t, p, data)
	what := fmt.Sprintf("%d bytes, %d workers, segments of %d", len(data), workers, seg)
	equalLens(t, what+", Stream", want, streamLens(t, pc, data, bytes.NewReader(data)))
	equalLens(t, what+", ReaderAt", want, atLens(t, pc, data))
}

// sqlData is text like a plain-format SQL dump.
func sqlData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	words := []string{"paket", "pengadaan", "jasa", "konsultansi", "kabupaten", "dinas", "pekerjaan", "jalan", "gedung", "sekolah"}
	b := make([]byte, 0, n+256)
	b = append(b, "SET statement_timeout = 0;\nCREATE TABLE public.paket (\n    pkt_id bigint NOT NULL,\n    pkt_nama text\n);\n\n"...)
	for id := 1; len(b) < n; id++ {
		b = append(b, "INSERT INTO public.paket VALUES ("...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, ", '"...)
		for range 3 + r.IntN(8) {
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
		b = append(b, "', "...)
		b = strconv.AppendInt(b, r.Int64N(1e12), 10)
		b = append(b, ", '2024-03-"...)
		b = strconv.AppendInt(b, int64(10+r.IntN(18)), 10)
		b = append(b, " 10:00:00');\n"...)
	}
	return b[:n]
}

// withRuns returns data with runs of one byte value written over it:
// zeros (cut at Min, as the fingerprint of a zero window is zero) and 0xff
// (no candidate boundary: cut at Max), longer than several segments.
func withRuns(data []byte, runs ...[3]int) []byte {
	data = bytes.Clone(data)
	for _, r := range runs {
		for i := r[0]; i < r[0]+r[1] && i < len(data); i++ {
			data[i] = byte(r[2])
		}
	}
	return data
}

func TestParallelRandomAndSQL(t *testing.T) {
	n := 3<<20 + 12345
	inputs := map[string][]byte{"random": randData(11, n), "sql": sqlData(12, n)}
	for name, data := range inputs {
		for _, seg := range []int{1000, 4 << 10, 16<<10 - 1, 16 << 10, 50_000, 256 << 10, 1 << 20} {
			for _, workers := range []int{1, 2, 5} {
				t.Run(fmt.Sprintf("%s/seg%d/w%d", name, seg, workers), func(t *testing.T) {
					checkAll(t, smallParams, data, workers, seg)
				})
			}
		}
	}
}

func TestParallelDefaultParams(t *testing.T) {
	data := append(sqlData(5, 20<<20), randData(6, 9<<20+77)...)
	for _, seg := range []int{512 << 10, 3 << 20, chunk.DefaultSegmentSize} {
		checkAll(t, chunk.DefaultParams(), data, 3, seg)
	}
}

// TestParallelMaxCuts: runs of constant bytes give chunks cut at Max (0xff)
// or at Min (zeros) at fixed intervals from wherever the run was entered;
// a segment that starts inside the run is out of phase with the true
// chunking until the run ends, or forever if the stream ends in it.
func TestParallelMaxCuts(t *testing.T) {
	base := randData(21, 2<<20)
	inputs := map[string][]byte{
		"ff-run":       withRuns(base, [3]int{100_000, 700_000, 0xff}),
		"zero-run":     withRuns(base, [3]int{333_333, 900_000, 0}),
		"both":         withRuns(sqlData(22, 2<<20), [3]int{10_000, 300_000, 0}, [3]int{400_000, 500_000, 0xff}, [3]int{1 << 20, 1 << 20, 0x41}),
		"ends-in-run":  withRuns(base, [3]int{1 << 20, 1 << 20, 0xff}),
		"all-ff":       bytes.Repeat([]byte{0xff}, 1<<20+999),
		"all-zero":     make([]byte, 1<<20+5),
		"period-max":   bytes.Repeat([]byte{7}, 16<<10*40), // exactly 40 max-size chunks
		"starts-in-ff": withRuns(base, [3]int{0, 600_000, 0xff}),
	}
	for name, data := range inputs {
		for _, seg := range []int{1000, 16 << 10, 16<<10 + 1, 100_000, 1 << 20} {
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/seg%d/w%d", name, seg, workers), func(t *testing.T) {
					checkAll(t, smallParams, data, workers, seg)
				})
			}
		}
	}
}

// TestParallelShortAndExact: streams shorter than one chunk, than a
// segment, and of exactly one or several segments.
func TestParallelShortAndExact(t *testing.T) {
	const seg = 40_000
	p := smallParams
	for _, n := range []int{0, 1, 63, 64, int(p.Min) - 1, int(p.Min), int(p.Min) + 1, int(p.Max), int(p.Max) + 1,
		seg - 1, seg, seg + 1, 2 * seg, 3 * seg, 7 * seg, 7*seg - 1, 7*seg + 1} {
		for _, gen := range []func(uint64, int) []byte{randData, sqlData} {
			checkAll(t, p, gen(uint64(n), n), 2, seg)
		}
	}
}

// TestParallelSlowReaders: reads that return a few bytes at a time (and
// data with the last read's io.EOF) give the same chunks.
func TestParallelSlowReaders(t *testing.T) {
	data := withRuns(sqlData(31, 300_000), [3]int{150_000, 60_000, 0xff})
	want := seqLens(t, smallParams, data)
	pc, err := chunk.NewParallel(testPol, smallParams, 3, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"one-byte": iotest.OneByteReader(bytes.NewReader(data)),
		"half":     iotest.HalfReader(bytes.NewReader(data)),
		"data-err": iotest.DataErrReader(bytes.NewReader(data)),
	} {
		equalLens(t, name, want, streamLens(t, pc, data, r))
	}
}

func TestParallelErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pc, err := chunk.NewParallel(testPol, smallParams, 2, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	data := randData(41, 500_000)
	ctx := context.Background()

	// A read error after 200 kB is returned; no chunk after it is emitted.
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(data[:200_000]), iotest.ErrReader(boom))
	var emitted int
	err = pc.Stream(ctx, r, func(ch []byte) error { emitted += len(ch); return nil })
	if !errors.Is(err, boom) || emitted > 200_000 {
		t.Fatalf("read error: got %v after %d bytes", err, emitted)
	}

	// An error from emit stops the chunking and is returned.
	stop := errors.New("stop")
	calls := 0
	err = pc.Stream(ctx, bytes.NewReader(data), func([]byte) error {
		if calls++; calls == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 5 {
		t.Fatalf("emit error: got %v after %d calls", err, calls)
	}
	err = pc.ReaderAt(ctx, bytes.NewReader(data), int64(len(data)), func(off, n int64) error {
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("ReaderAt emit error: got %v", err)
	}

	// A ReaderAt error is returned.
	err = pc.ReaderAt(ctx, failAt{bytes.NewReader(data), 300_000, boom}, int64(len(data)), func(off, n int64) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("ReaderAt read error: got %v", err)
	}
}

type failAt struct {
	r   *bytes.Reader
	at  int64
	err error
}

func (f failAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}

// TestParallelCancel: cancelling the context while chunks are emitted (or
// before) ends every goroutine and returns the context's error.
func TestParallelCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pc, err := chunk.NewParallel(testPol, smallParams, 3, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	data := randData(51, 1<<20)
	for _, after := range []int{0, 1, 20} {
		ctx, cancel := context.WithCancel(context.Background())
		if after == 0 {
			cancel()
		}
		calls := 0
		emit := func([]byte) error {
			if calls++; calls == after {
				cancel()
			}
			return nil
		}
		err := pc.Stream(ctx, bytes.NewReader(data), emit)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Stream cancelled after %d chunks: %v", after, err)
		}
		calls = 0
		if after == 0 {
			ctx, cancel = context.WithCancel(context.Background())
			cancel()
		}
		err = pc.ReaderAt(ctx, bytes.NewReader(data), int64(len(data)), func(int64, int64) error { return emit(nil) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ReaderAt cancelled after %d chunks: %v", after, err)
		}
		cancel()
	}
}

// TestParallelTruncated: a ReaderAt that holds fewer bytes than its size
// (a file that shrank) gives contiguous chunks that end where it ends.
func TestParallelTruncated(t *testing.T) {
	data := randData(61, 400_000)
	pc, _ := chunk.NewParallel(testPol, smallParams, 2, 30_000)
	for _, n := range []int{0, 1, 29_999, 30_000, 123_456, 399_999} {
		var next int64
		err := pc.ReaderAt(context.Background(), bytes.NewReader(data[:n]), int64(len(data)), func(off, l int64) error {
			if off != next || l <= 0 || l > int64(smallParams.Max) {
				return fmt.Errorf("chunk at %d+%d, want one at %d", off, l, next)
			}
			next += l
			return nil
		})
		if err != nil {
			t.Fatalf("%d of %d bytes: %v", n, len(data), err)
		}
		if next < int64(n) {
			t.Fatalf("%d of %d bytes: chunks cover %d", n, len(data), next)
		}
	}
}

func TestNewParallelRejects(t *testing.T) {
	if _, err := chunk.NewParallel(testPol, smallParams, 0, 1000); err == nil {
		t.Error("0 workers accepted")
	}
	if _, err := chunk.NewParallel(testPol, smallParams, 1, -1); err == nil {
		t.Error("negative segment size accepted")
	}
	if _, err := chunk.NewParallel(testPol, chunk.Params{}, 1, 1000); err == nil {
		t.Error("invalid params accepted")
	}
	pc, err := chunk.NewParallel(testPol, smallParams, 2, 0)
	if err != nil || pc.SegmentSize() != chunk.DefaultSegmentSize || pc.Workers() != 2 {
		t.Errorf("defaults: %v", err)
	}
}

// FuzzParallel compares sequential and parallel chunking on arbitrary
// bytes, segment sizes and worker counts. The seed corpus repeats short
// inputs to reach several segments and max-size chunks.
func FuzzParallel(f *testing.F) {
	f.Add([]byte("INSERT INTO t VALUES (1, 'x');\n"), uint16(300), uint8(2), uint16(200))
	f.Add([]byte{0}, uint16(1000), uint8(3), uint16(5000))
	f.Add([]byte{0xff, 0xfe}, uint16(65535), uint8(1), uint16(300))
	f.Add(randData(1, 4096), uint16(777), uint8(4), uint16(50))
	p := chunk.Params{Min: 256, Avg: 1024, Max: 4096}
	f.Fuzz(func(t *testing.T, unit []byte, seg uint16, workers uint8, repeat uint16) {
		if len(unit) == 0 {
			return
		}
		data := bytes.Repeat(unit, int(repeat)%400+1)
		if len(data) > 256<<10 {
			data = data[:256<<10]
		}
		// Segments from 64 bytes (far below Max) up: a segment much
		// smaller than Max makes each re-synchronisation chunk up to Max
		// bytes again, which is correct but slow.
		checkAll(t, p, data, int(workers%6)+1, 64+int(seg)%(4*int(p.Max)))
	})
}

// BenchmarkParallel compares sequential chunking with Parallel.Stream and
// Parallel.ReaderAt by worker count, on random bytes and on SQL text, with
// the default parameters. MB/s is of the stream; with GOMAXPROCS cores the
// parallel rate can reach GOMAXPROCS times the sequential one.
func BenchmarkParallel(b *testing.B) {
	const n = 128 << 20
	for _, in := range benchInputs(n) {
		p := chunk.DefaultParams()
		b.Run(in.name+"/sequential", func(b *testing.B) { benchSequential(b, p, in.data) })
		for _, w := range []int{1, 2, 4, 8, 16} {
			pc, err := chunk.NewParallel(testPol, p, w, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/stream/workers=%d", in.name, w), func(b *testing.B) {
				b.SetBytes(n)
				for b.Loop() {
					if err := pc.Stream(context.Background(), bytes.NewReader(in.data), func([]byte) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/readerat/workers=%d", in.name, w), func(b *testing.B) {
				b.SetBytes(n)
				for b.Loop() {
					if err := pc.ReaderAt(context.Background(), bytes.NewReader(in.data), n, func(int64, int64) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchInput is data the chunker benchmarks run over.
type benchInput struct {
	name string
	data []byte
}

// benchInputs returns n bytes of random data and n of SQL text.
func benchInputs(n int) []benchInput {
	return []benchInput{{"random", randData(7, n)}, {"sql", sqlData(8, n)}}
}

// benchSequential measures Chunker over data with the parameters p.
func benchSequential(b *testing.B, p chunk.Params, data []byte) {
	c, err := chunk.New(testPol, p)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, p.Max)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.Reset(bytes.NewReader(data))
		for {
			if _, err := c.Next(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// lentChunk is a chunk of StreamShared held by the test.
type lentChunk struct {
	off     int
	data    []byte
	release func()
}

// checkAndRelease checks that each held chunk still holds its bytes of data
// (its segment was not read into again while it was lent) and releases it.
func checkAndRelease(t *testing.T, data []byte, held []lentChunk) {
	t.Helper()
	for _, c := range held {
		if !bytes.Equal(c.data, data[c.off:c.off+len(c.data)]) {
			t.Errorf("chunk at %d (%d bytes) changed while it was lent", c.off, len(c.data))
		}
		c.release()
	}
}

// savers stands for the archiver's savers: goroutines that take the lent
// chunks, hold them a while, check them and release them, out of order.
// wait closes the queue and waits for them.
func savers(t *testing.T, data []byte) (queue chan<- lentChunk, wait func()) {
	ch := make(chan lentChunk, 8)
	done := make(chan struct{})
	const n = 3
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for c := range ch {
				if c.off%3 == i {
					time.Sleep(100 * time.Microsecond)
				}
				checkAndRelease(t, data, []lentChunk{c})
			}
		}()
	}
	return ch, func() {
		close(ch)
		for range n {
			<-done
		}
	}
}

// TestStreamSharedLends: chunks lent by StreamShared keep their bytes until
// released by other goroutines, out of order, perhaps after the call
// returned, and are the sequential chunks.
func TestStreamSharedLends(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	data := withRuns(sqlData(71, 600_000), [3]int{250_000, 50_000, 'x'})
	data = append(data, randData(72, 300_000)...)
	want := seqLens(t, smallParams, data)
	for _, workers := range []int{1, 2, 4} {
		for _, n := range []int{len(data), len(data) - 7_000} { // a multiple of the segment size, and not
			pc, err := chunk.NewParallel(testPol, smallParams, workers, 20_000)
			if err != nil {
				t.Fatal(err)
			}
			queue, wait := savers(t, data)
			var got []int
			var off int
			err = pc.StreamShared(context.Background(), bytes.NewReader(data[:n]), func(b []byte, release func()) error {
				got = append(got, len(b))
				queue <- lentChunk{off, b, release}
				off += len(b)
				return nil
			})
			wait()
			if err != nil {
				t.Fatal(err)
			}
			if off != n {
				t.Fatalf("%d workers: chunks of %d bytes, want %d", workers, off, n)
			}
			if n == len(data) {
				equalLens(t, fmt.Sprintf("%d workers", workers), want, got)
			}
		}
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestStreamSharedHoldsSegments: a caller that holds its chunks holds
// their segments: reading stops at Workers()+1 segments (the memory bound)
// until ctx ends it, and the chunks are intact when finally released.
func TestStreamSharedHoldsSegments(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const seg = 50_000
	pc, err := chunk.NewParallel(testPol, smallParams, 2, seg)
	if err != nil {
		t.Fatal(err)
	}
	data := randData(73, 1_000_000)
	rd := &countingReader{r: bytes.NewReader(data)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held []lentChunk
	var off int
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// Reading cannot get past the segments held; then stop it.
		for rd.n.Load() < int64(3*seg) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	err = pc.StreamShared(ctx, rd, func(b []byte, release func()) error {
		held = append(held, lentChunk{off, b, release})
		off += len(b)
		return nil
	})
	<-stopped
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the cancellation", err)
	}
	if n := rd.n.Load(); n > 3*seg {
		t.Errorf("read %d bytes while every chunk was held: more than the 3 segments of %d", n, seg)
	}
	if len(held) == 0 {
		t.Fatal("no chunk emitted")
	}
	checkAndRelease(t, data, held)
}

// TestStreamSharedErrors: when emit fails, reading fails or ctx ends in
// the middle of a stream, every chunk lent (also the one whose emit
// failed) is intact until released, and nothing is left running;
// releasing twice is a bug that panics instead of corrupting a segment.
func TestStreamSharedErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pc, err := chunk.NewParallel(testPol, smallParams, 3, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	data := randData(74, 400_000)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		r    func() io.Reader
		fail int // emit's call that fails (0: none)
		stop int // emit's call that cancels (0: none)
		want error
	}{
		{"emit", func() io.Reader { return bytes.NewReader(data) }, 40, 0, boom},
		{"read", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:150_000]), iotest.ErrReader(boom))
		}, 0, 0, boom},
		{"cancel", func() io.Reader { return bytes.NewReader(data) }, 0, 30, context.Canceled},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		queue, wait := savers(t, data)
		var off, calls int
		err := pc.StreamShared(ctx, tc.r(), func(b []byte, release func()) error {
			calls++
			queue <- lentChunk{off, b, release}
			off += len(b)
			if calls == tc.stop {
				cancel()
			}
			if calls == tc.fail {
				return boom
			}
			return nil
		})
		wait()
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}

	var release func()
	err = pc.StreamShared(context.Background(), bytes.NewReader(data), func(b []byte, r func()) error {
		if release == nil {
			release = r
			return nil
		}
		r()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	release()
	defer func() {
		if recover() == nil {
			t.Error("a second release did not panic")
		}
	}()
	release()
}
