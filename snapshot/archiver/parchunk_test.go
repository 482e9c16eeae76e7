package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// parHook returns a runHook that sets the parallel chunking of each backup:
// workers 1 is sequential; segments are small so that test data spans many.
func parHook(workers int, used *[]*run) func(*run) {
	return func(r *run) {
		r.par.workers, r.par.segSize = workers, 100_000
		if used != nil {
			*used = append(*used, r)
		}
	}
}

// sqlLike is text like a plain-format dump, with a run of constant bytes
// (forcing Max-size cuts across several segments) in the middle.
func sqlLike(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "INSERT INTO public.peserta VALUES (%d, %d, 'CV Maju Jaya %d', '%d.%03d.%03d-1');\n", i, i*7%1000, i%97, i%89, i%1000, i*13%1000)
	}
	data := b.Bytes()[:n]
	for i := n / 3; i < n/3+700_000 && i < n; i++ {
		data[i] = 'x'
	}
	return data
}

func contentIDs(t *testing.T, r *snapshottest.Repo, sn *snapshot.Snapshot, p string) []snapshot.Extent {
	t.Helper()
	n, err := walker.FindNode(context.Background(), r, sn.Tree, p)
	if err != nil {
		t.Fatal(err)
	}
	return n.Content
}

// TestParallelStreamSameBlobs: a stream chunked on several cores gives the
// same blobs as sequential chunking, so each mode deduplicates completely
// against the other.
func TestParallelStreamSameBlobs(t *testing.T) {
	data := append(sqlLike(3<<20), snapshottest.RandBytes(5, 2<<20+17)...)
	var want []snapshot.Extent
	for i, workers := range []int{1, 3, 2} {
		r := newTestRepo(t)
		var runs []*run
		a := &Archiver{Repo: r, Hostname: "h", runHook: parHook(workers, &runs)}
		sn, err := a.ArchiveReader(context.Background(), "dump.sql", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if got := dumpFile(t, r, sn, "/dump.sql"); !bytes.Equal(got, data) {
			t.Fatalf("%d workers: content differs", workers)
		}
		if parallel := runs[0].par.pc != nil; parallel != (workers > 1) {
			t.Fatalf("%d workers: chunked in parallel: %v", workers, parallel)
		}
		if n := runs[0].par.lent.Load(); n != 0 {
			t.Fatalf("%d workers: %d chunks lent to the savers were not given back", workers, n)
		}
		got := contentIDs(t, r, sn, "/dump.sql")
		if i == 0 {
			want = got
			continue
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%d workers: %d extents differ from sequential chunking's %d", workers, len(got), len(want))
		}
		// The other mode adds nothing.
		a.runHook = parHook(1, nil)
		sn2, err := a.ArchiveReader(context.Background(), "dump.sql", bytes.NewReader(data))
		if err != nil || sn2.Summary.DataBlobs != 0 {
			t.Fatalf("sequential after parallel: %v, %+v", err, sn2.Summary)
		}
	}
}

// TestParallelFileSameBlobs: a large file (and one with a hole, whose data
// extents are chunked separately) gives the same blobs either way.
func TestParallelFileSameBlobs(t *testing.T) {
	src := t.TempDir()
	big := filepath.Join(src, "big.sql")
	snapshottest.WriteFile(t, big, sqlLike(2_345_678))
	sparse := filepath.Join(src, "sparse.img")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(snapshottest.RandBytes(7, 700_000), 0)
	f.WriteAt(snapshottest.RandBytes(8, 900_000), 8<<20)
	f.Close()
	snapshottest.WriteFile(t, filepath.Join(src, "small"), []byte("a small file"))

	var want map[string][]snapshot.Extent
	for _, workers := range []int{1, 2, 4} {
		r := newTestRepo(t)
		var runs []*run
		// One reader: with two, one file would find the other chunked in
		// parallel and be chunked sequentially.
		a := &Archiver{Repo: r, Hostname: "h", ReadConcurrency: 1, runHook: parHook(workers, &runs)}
		sn := mustSnapshot(t, a, src)
		// big.sql and sparse.img (two data extents where holes are seen)
		if n := runs[0].par.items.Load(); (workers > 1) != (n >= 2) {
			t.Fatalf("%d workers: %d extents chunked in parallel", workers, n)
		}
		got := map[string][]snapshot.Extent{}
		for _, p := range []string{big, sparse} {
			got[p] = contentIDs(t, r, sn, p)
			orig, _ := os.ReadFile(p)
			if !bytes.Equal(dumpFile(t, r, sn, p), orig) {
				t.Fatalf("%d workers: %s differs", workers, p)
			}
		}
		if want == nil {
			want = got
			continue
		}
		for p := range want {
			if !slices.Equal(got[p], want[p]) {
				t.Fatalf("%d workers: %s has other extents than with sequential chunking", workers, p)
			}
		}
	}
}

// TestParallelFileShrinks: a file truncated before it is read is kept as
// read and reported as changed, as with sequential chunking.
func TestParallelFileShrinks(t *testing.T) {
	var want []snapshot.Extent
	var wantErr string
	for _, workers := range []int{1, 2} {
		src := t.TempDir()
		p := filepath.Join(src, "changing")
		snapshottest.WriteFile(t, p, snapshottest.RandBytes(3, 1_000_000))
		r := newTestRepo(t)
		fsys := &changingFS{target: p, change: func(p string) error { return os.Truncate(p, 456_789) }}
		a := &Archiver{Repo: r, FS: fsys, runHook: parHook(workers, nil)}
		sn, err := a.Snapshot(context.Background(), []string{src})
		if !errors.Is(err, ErrIncomplete) || sn.Summary.Errors[0].Kind != snapshot.ItemErrorChanged {
			t.Fatalf("%d workers: got %v", workers, err)
		}
		got := contentIDs(t, r, sn, p)
		msg := strings.ReplaceAll(sn.Summary.Errors[0].Error, src, "")
		if i := strings.Index(msg, "mtime"); i >= 0 {
			msg = msg[:i] // the times differ
		}
		if workers == 1 {
			want, wantErr = got, msg
			continue
		}
		if !slices.Equal(got, want) || msg != wantErr {
			t.Fatalf("%d workers: %q and %d extents; sequential: %q and %d", workers, msg, len(got), wantErr, len(want))
		}
	}
}

// TestParallelStreamErrors: a read error or a cancel while a stream is
// chunked in parallel fails the backup, writes no snapshot and leaves no
// goroutine behind.
func TestParallelStreamErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := newTestRepo(t)
	var runs []*run
	a := &Archiver{Repo: r, Hostname: "h", runHook: parHook(2, &runs)}
	defer func() {
		// Every chunk lent to the savers was given back, also those that
		// no saver took.
		for i, run := range runs {
			if n := run.par.lent.Load(); n != 0 {
				t.Errorf("backup %d: %d chunks lent to the savers were not given back", i, n)
			}
		}
	}()
	_, err := a.ArchiveReader(context.Background(), "x", &failingReader{})
	if err == nil || !strings.Contains(err.Error(), "stdin broke") {
		t.Fatalf("read error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := &cancelAfterRead{r: bytes.NewReader(snapshottest.RandBytes(9, 4<<20)), left: 1 << 20, cancel: cancel}
	if _, err := a.ArchiveReader(ctx, "y", rd); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: got %v", err)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
}

// cancelAfterRead cancels after left bytes were read.
type cancelAfterRead struct {
	r      io.Reader
	left   int
	cancel func()
}

func (c *cancelAfterRead) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= n; c.left <= 0 {
		c.cancel()
	}
	return n, err
}

// TestGrowPipe: a command's output pipe gets a 1 MiB buffer where the
// system allows it, and anything else is left alone.
func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	growPipe(r)
	n, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != pipeSize {
		t.Logf("pipe buffer %d bytes (the system's limit is lower)", n)
	}
	if n < 64<<10 {
		t.Fatalf("pipe buffer %d bytes", n)
	}
	growPipe(bytes.NewReader(nil)) // not a pipe: nothing happens
}

// TestSegmentSize: the segments a stream holds stay near streamMemory on
// any number of cores, and never so small that re-synchronising dominates.
func TestSegmentSize(t *testing.T) {
	for _, w := range []int{2, 3, 4, 8, 16, 64, 256} {
		seg := segmentSize(w)
		if seg < 4<<20 || seg > 16<<20 {
			t.Errorf("%d workers: segments of %d bytes", w, seg)
		}
		if held := (w + 1) * seg; held > streamMemory && seg > 4<<20 {
			t.Errorf("%d workers hold %d MiB", w, held>>20)
		}
	}
}
