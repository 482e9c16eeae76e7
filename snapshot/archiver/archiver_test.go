package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

func TestUnchangedTreeIsNotReread(t *testing.T) {
	src := t.TempDir()
	snapshottest.MakeFiles(t, src, 300)
	r := newTestRepo(t)
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h"}
	sn1 := mustSnapshot(t, a, src)
	if fsys.bytesRead.Load() == 0 || sn1.Summary.FilesNew != 300 {
		t.Fatalf("first backup: read %d, %+v", fsys.bytesRead.Load(), sn1.Summary)
	}
	// The walker opens each file ahead of the readers, and the reader
	// reads the file it was handed: one open a file, not two.
	if n := fsys.opens.Load(); n != 300 {
		t.Errorf("first backup opened files %d times, want 300", n)
	}
	fsys.bytesRead.Store(0)
	fsys.opens.Store(0)
	stored := r.StoredBytes.Load()

	sn2 := mustSnapshot(t, a, src)
	if n := fsys.bytesRead.Load(); n != 0 {
		t.Errorf("second backup read %d bytes of file content", n)
	}
	if n := fsys.opens.Load(); n != 0 {
		t.Errorf("second backup opened %d files", n)
	}
	added := r.StoredBytes.Load() - stored
	if added >= 1<<20 || sn2.Summary.DataAdded >= 1<<20 {
		t.Errorf("second backup added %d bytes (summary %d)", added, sn2.Summary.DataAdded)
	}
	s := sn2.Summary
	if s.FilesUnmodified != 300 || s.FilesNew != 0 || s.FilesChanged != 0 || s.BytesRead != 0 {
		t.Errorf("summary: %+v", s)
	}
	if sn2.Parent == nil || *sn2.Parent != sn1.ID() {
		t.Errorf("parent not found: %v", sn2.Parent)
	}
	// 10 directories plus those above src (recorded for their metadata).
	if s.DirsUnmodified < 10 || s.DirsNew != 0 || s.DirsChanged != 0 {
		t.Errorf("dirs: %+v", s)
	}

	// Touch one file: only it is read.
	p := filepath.Join(src, "dir03", "file0003")
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		t.Fatal(err)
	}
	sn3 := mustSnapshot(t, a, src)
	fi, _ := os.Stat(p)
	if n := fsys.bytesRead.Load(); n != fi.Size() {
		t.Errorf("third backup read %d bytes, want %d", n, fi.Size())
	}
	if sn3.Summary.FilesChanged != 1 || sn3.Summary.FilesUnmodified != 299 {
		t.Errorf("summary: %+v", sn3.Summary)
	}
}

func TestChangeInMiddleStoresOnlyNearbyChunks(t *testing.T) {
	src := t.TempDir()
	data := snapshottest.RandBytes(7, 16<<20)
	p := filepath.Join(src, "dump.sql")
	snapshottest.WriteFile(t, p, data)
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h"}
	sn1 := mustSnapshot(t, a, src)
	blobs1 := r.BlobCount(repo.DataBlob)
	if blobs1 < 40 {
		t.Fatalf("only %d chunks for 16 MiB", blobs1)
	}
	// Insert 1000 bytes and overwrite 100 in the middle.
	mid := len(data) / 2
	changed := append(append(append([]byte{}, data[:mid]...), snapshottest.RandBytes(8, 1000)...), data[mid:]...)
	copy(changed[mid+5000:], bytes.Repeat([]byte("X"), 100))
	snapshottest.WriteFile(t, p, changed)
	sn2 := mustSnapshot(t, a, src)
	newBlobs := r.BlobCount(repo.DataBlob) - blobs1
	t.Logf("%d chunks, %d new after the change, %d bytes added", blobs1, newBlobs, sn2.Summary.DataAdded)
	if newBlobs < 1 || newBlobs > 3 {
		t.Errorf("%d new chunks, want 1-3", newBlobs)
	}
	if sn2.Summary.DataAdded > uint64(3*testParams.Max)+4096 {
		t.Errorf("added %d bytes", sn2.Summary.DataAdded)
	}
	if got := dumpFile(t, r, sn2, p); !bytes.Equal(got, changed) {
		t.Error("dumped content differs")
	}
	if got := dumpFile(t, r, sn1, p); !bytes.Equal(got, data) {
		t.Error("old content differs")
	}
}

func TestUnreadableFileIsListedAndSnapshotWritten(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "ok"), []byte("fine"))
	snapshottest.WriteFile(t, filepath.Join(src, "secret"), []byte("cannot read"))
	snapshottest.WriteFile(t, filepath.Join(src, "sub", "also-ok"), []byte("fine too"))
	r := newTestRepo(t)
	// A fault at the FS seam: Open fails with EACCES, as for a chmod 000
	// file when not root.
	fsys := &countingFS{failOpen: map[string]error{filepath.Join(src, "secret"): syscall.EACCES}}
	var reported []string
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", Progress: &errRecorder{paths: &reported}}
	sn, err := a.Snapshot(ctx, []string{src})
	var ie *IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("want IncompleteError, got %v", err)
	}
	if sn == nil || sn.ID().IsNull() || ie.Snapshot != sn.ID() {
		t.Fatal("snapshot not saved")
	}
	if _, err := snapshot.LoadSnapshot(ctx, r, sn.ID()); err != nil {
		t.Fatal(err)
	}
	if len(sn.Summary.Errors) != 1 || sn.Summary.Errors[0].Path != filepath.Join(src, "secret") ||
		!strings.Contains(sn.Summary.Errors[0].Error, "permission denied") {
		t.Errorf("errors: %+v", sn.Summary.Errors)
	}
	if len(reported) != 1 {
		t.Errorf("progress errors: %v", reported)
	}
	if _, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(src, "secret")); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("unreadable file is in the snapshot: %v", err)
	}
	if got := dumpFile(t, r, sn, filepath.Join(src, "sub", "also-ok")); string(got) != "fine too" {
		t.Errorf("got %q", got)
	}

	// ErrorFunc can make it fatal: then no snapshot.
	before := r.FileCount(repo.SnapshotFile)
	a.ErrorFunc = func(p string, err error) error { return fmt.Errorf("stop at %s: %w", p, err) }
	if _, err := a.Snapshot(ctx, []string{src}); err == nil || errors.Is(err, ErrIncomplete) {
		t.Errorf("want a fatal error, got %v", err)
	}
	if r.FileCount(repo.SnapshotFile) != before {
		t.Error("a snapshot was written after a fatal error")
	}
}

func TestUnreadableFileRealPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads chmod 000 files; covered by the FS fault test")
	}
	src := t.TempDir()
	p := filepath.Join(src, "secret")
	snapshottest.WriteFile(t, p, []byte("x"))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn, err := NewArchiver(r).Snapshot(context.Background(), []string{src})
	if !errors.Is(err, ErrIncomplete) || sn == nil || len(sn.Summary.Errors) != 1 {
		t.Fatalf("got %v", err)
	}
}

type errRecorder struct {
	NopArchiveProgress
	mu    sync.Mutex // Error is called from the readers, at once
	paths *[]string
}

func (e *errRecorder) Error(p string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*e.paths = append(*e.paths, p)
}

func TestFileChangedWhileRead(t *testing.T) {
	const size = 100 << 10 // above the chunker minimum of testParams
	for _, c := range []struct {
		name   string
		change func(p string) error
		want   int64 // bytes kept
	}{
		{"grows", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			f.Write([]byte("more data"))
			return f.Close()
		}, size},
		{"shrinks", func(p string) error { return os.Truncate(p, 60<<10) }, 60 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			p := filepath.Join(src, "changing")
			snapshottest.WriteFile(t, p, snapshottest.RandBytes(3, size))
			r := newTestRepo(t)
			fsys := &changingFS{target: p, change: c.change}
			sn, err := (&Archiver{Repo: r, FS: fsys}).Snapshot(context.Background(), []string{src})
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(sn.Summary.Errors[0].Error, "changed") {
				t.Fatalf("got %v", err)
			}
			// The snapshot says the file changed (its content as read is
			// kept), not that it could not be read.
			if got := sn.Summary.Errors[0].Kind; got != snapshot.ItemErrorChanged {
				t.Errorf("error kind %q, want %q", got, snapshot.ItemErrorChanged)
			}
			if c.name == "shrinks" {
				// Issue 14: "shrank to 9961472 bytes" was the count of bytes
				// read so far; the message gives the size at start and at end.
				msg := sn.Summary.Errors[0].Error
				for _, want := range []string{fmt.Sprint(size), fmt.Sprint(60 << 10), "at start", "at end"} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
			}
			if fsys.err != nil {
				t.Fatal(fsys.err)
			}
			// The file is kept as it was read, and its size says so: a
			// tree must never promise more bytes than its extents hold.
			n, err := walker.FindNode(context.Background(), r, sn.Tree, p)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, e := range n.Content {
				sum += e.Size
			}
			if n.Size != sum || sum != c.want {
				t.Errorf("node size %d, extents hold %d bytes (%d extents), want %d", n.Size, sum, len(n.Content), c.want)
			}
		})
	}
}

// changingFS changes a file when it is opened, so the read sees a
// different file than the walk.
type changingFS struct {
	LocalFS
	target string
	change func(p string) error
	err    error
}

func (g *changingFS) Open(name string) (File, error) {
	if name == g.target {
		g.err = g.change(name)
	}
	return g.LocalFS.Open(name)
}

func TestExcludes(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for _, f := range []string{"keep.txt", "x.tmp", "cache/big", "a/b/x.tmp", "a/keep", "nobackup/f", "nobackup/.nobackup", "logs/l.log"} {
		snapshottest.WriteFile(t, filepath.Join(src, f), []byte(f))
	}
	exf := filepath.Join(t.TempDir(), "excludes")
	snapshottest.WriteFile(t, exf, []byte("# comment\n\n/"+strings.TrimPrefix(src, "/")+"/logs\n"))
	pats, err := ReadPatternFile(exf)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Excludes: append([]string{"*.tmp", "cache/"}, pats...), ExcludeIfPresent: []string{".nobackup"}}
	sn := mustSnapshot(t, a, src)
	var got []string
	if err := walker.Ls(ctx, r, sn, src, true, func(p string, n *snapshot.Node) error {
		got = append(got, strings.TrimPrefix(p, src+"/"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "a a/b a/keep keep.txt"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

func TestSnapshotMultiplePathsAndParent(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(base, "srv", "spse", "x"), []byte("x"))
	snapshottest.WriteFile(t, filepath.Join(base, "etc", "conf"), []byte("c"))
	snapshottest.WriteFile(t, filepath.Join(base, "srv", "other"), []byte("not backed up"))
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h1", Tags: []string{"daily"}, Reason: "before upgrade", ProgramVersion: "test"}
	paths := []string{filepath.Join(base, "srv", "spse"), filepath.Join(base, "etc"), filepath.Join(base, "etc", "conf")}
	sn := mustSnapshot(t, a, paths...)
	if len(sn.Paths) != 2 {
		t.Errorf("paths %v", sn.Paths)
	}
	if _, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(base, "srv", "other")); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("sibling of a backup path was included: %v", err)
	}
	if got := dumpFile(t, r, sn, filepath.Join(base, "srv", "spse", "x")); string(got) != "x" {
		t.Errorf("got %q", got)
	}
	// Another host does not become the parent.
	b := &Archiver{Repo: r, Hostname: "h2"}
	sn2 := mustSnapshot(t, b, paths...)
	if sn2.Parent != nil {
		t.Error("parent from another host")
	}
	sn3 := mustSnapshot(t, a, paths[:2]...)
	if sn3.Parent == nil || *sn3.Parent != sn.ID() {
		t.Error("parent not found")
	}
	latest, err := snapshot.FindLatest(ctx, r, snapshot.Filter{Hosts: []string{"h1"}, Tags: [][]string{{"daily"}}})
	if err != nil || latest.ID() != sn3.ID() {
		t.Errorf("latest: %v %v", latest, err)
	}
	if latest.Reason != "before upgrade" || latest.ProgramVersion != "test" {
		t.Errorf("fields lost: %+v", latest)
	}
	byPrefix, err := snapshot.FindSnapshot(ctx, r, sn2.ID().String()[:8], snapshot.Filter{})
	if err != nil || byPrefix.ID() != sn2.ID() {
		t.Errorf("prefix: %v", err)
	}
	if _, err := snapshot.FindSnapshot(ctx, r, "ffffffff", snapshot.Filter{}); !errors.Is(err, snapshot.ErrNoSnapshot) {
		t.Errorf("want ErrNoSnapshot, got %v", err)
	}
}

func TestRepositoryFailureWritesNoSnapshot(t *testing.T) {
	src := t.TempDir()
	snapshottest.MakeFiles(t, src, 100)
	r := newTestRepo(t)
	r.FailSaveBlobAfter.Store(20)
	_, err := NewArchiver(r).Snapshot(context.Background(), []string{src})
	if err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Fatalf("got %v", err)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
}

func TestCancelBeforeStart(t *testing.T) {
	src := t.TempDir()
	snapshottest.MakeFiles(t, src, 200)
	r := newTestRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewArchiver(r).Snapshot(ctx, []string{src}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
}

// TestCancel cancels a backup in the middle of reading: it must return
// context.Canceled promptly, save no snapshot, and leave nothing behind:
// no goroutine, no open file, every buffer back in its pool and both
// channels of the pipeline closed and empty.
func TestCancel(t *testing.T) {
	src := t.TempDir()
	const files, size = 4, 16 << 20
	for i := 0; i < files; i++ {
		snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("big%d", i)), snapshottest.RandBytes(uint64(200+i), size))
	}
	snapshottest.MakeFiles(t, filepath.Join(src, "small"), 200)
	r := newTestRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fsys := &slowFS{cancelAfter: 1 << 20, cancel: cancel}
	var runs []*run
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", runHook: func(r *run) { runs = append(runs, r) }}
	before := runtime.NumGoroutine()

	_, err := a.Snapshot(ctx, []string{src})
	returned := time.Now()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	cancelled, ok := fsys.cancelledAt()
	if !ok {
		t.Fatal("the backup ended before it was cancelled")
	}
	if d := returned.Sub(cancelled); d > 5*time.Second {
		t.Errorf("Snapshot returned %v after the cancel", d)
	}
	if n := fsys.bytesRead.Load(); n >= files*size/2 {
		t.Errorf("read %d of %d bytes: the cancel did not stop the reading", n, files*size)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
	if n := fsys.open.Load(); n != 0 {
		t.Errorf("%d files left open", n)
	}

	// Every goroutine of the pipeline ends (a little after Snapshot
	// returns: errgroup's Wait returns before its goroutines' defers have
	// all run).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the backup, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}

	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	run := runs[0]
	for name, p := range map[string]*bufPool{"large": run.large, "small": run.small} {
		if len(p.ch) != cap(p.ch) {
			t.Errorf("%s buffer pool holds %d of its %d buffers", name, len(p.ch), cap(p.ch))
		}
	}
	select {
	case j, ok := <-run.fileCh:
		if ok {
			t.Errorf("file channel still holds %s", j.path)
		}
	default:
		t.Error("file channel not closed")
	}
	select {
	case j, ok := <-run.blobCh:
		if ok {
			t.Errorf("blob channel still holds a blob of %s", j.file.path)
		}
	default:
		t.Error("blob channel not closed")
	}
}

// slowFS hands out file content slowly, a piece per read, and cancels
// once cancelAfter bytes have been read, so that a backup is cancelled
// while its pipeline is full. It counts the files open.
type slowFS struct {
	LocalFS
	cancelAfter int64
	cancel      context.CancelFunc

	bytesRead atomic.Int64
	open      atomic.Int64
	mu        sync.Mutex
	at        time.Time
}

func (s *slowFS) Open(name string) (File, error) {
	f, err := s.LocalFS.Open(name)
	if err != nil {
		return nil, err
	}
	s.open.Add(1)
	return &slowFile{File: f, fs: s}, nil
}

func (s *slowFS) cancelledAt() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at, !s.at.IsZero()
}

func (s *slowFS) read(n int) {
	if s.bytesRead.Add(int64(n)) >= s.cancelAfter {
		s.mu.Lock()
		if s.at.IsZero() {
			s.at = time.Now()
			s.cancel()
		}
		s.mu.Unlock()
	}
}

type slowFile struct {
	File
	fs     *slowFS
	closed atomic.Bool
}

// slowPiece is the most a Read returns; reads take a millisecond per
// slowPiece bytes.
const slowPiece = 64 << 10

func (f *slowFile) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	n, err := f.File.Read(p[:min(len(p), slowPiece)])
	f.fs.read(n)
	return n, err
}

func (f *slowFile) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Duration(1+len(p)/slowPiece) * time.Millisecond)
	n, err := f.File.ReadAt(p, off)
	f.fs.read(n)
	return n, err
}

func (f *slowFile) Close() error {
	if !f.closed.Swap(true) {
		f.fs.open.Add(-1)
	}
	return f.File.Close()
}

// A backup of a tree with many unreadable files listed every one in its
// snapshot file, which every listing reads: thousands of them made a file
// of megabytes. The snapshot now lists them up to a size and counts the
// rest; the error, the progress and the count still cover every one.
func TestUnreadableFilesListedUpToALimit(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	fail := map[string]error{}
	for i := range 40 {
		p := filepath.Join(src, fmt.Sprintf("secret-%02d", i))
		snapshottest.WriteFile(t, p, []byte("cannot read"))
		fail[p] = syscall.EACCES
	}
	snapshottest.WriteFile(t, filepath.Join(src, "ok"), []byte("fine"))
	r := newTestRepo(t)
	var reported []string
	// Room for about ten entries.
	a := &Archiver{Repo: r, FS: &countingFS{failOpen: fail}, Hostname: "h", Progress: &errRecorder{paths: &reported}, errorsSize: 1000}
	sn, err := a.Snapshot(ctx, []string{src})
	var ie *IncompleteError
	if !errors.As(err, &ie) || sn == nil {
		t.Fatalf("want IncompleteError, got %v", err)
	}
	listed := len(sn.Summary.Errors)
	if listed < 5 || listed > 15 || sn.Summary.ErrorsOmitted != uint64(40-listed) || sn.Summary.ErrorCount() != 40 {
		t.Fatalf("listed %d, omitted %d", listed, sn.Summary.ErrorsOmitted)
	}
	if ie.Count() != 40 || !strings.Contains(ie.Error(), "40 item(s) could not be read") {
		t.Errorf("error: %v", ie)
	}
	if len(reported) != 40 {
		t.Errorf("progress saw %d errors", len(reported))
	}
	loaded, err := snapshot.LoadSnapshot(ctx, r, sn.ID())
	if err != nil || loaded.Summary.ErrorsOmitted != sn.Summary.ErrorsOmitted || len(loaded.Summary.Errors) != listed {
		t.Fatalf("loaded: %+v, %v", loaded.Summary, err)
	}
}

// Paths that could never fit in a snapshot file are refused before any
// file is read, not after the whole backup.
func TestPathsTooLongForASnapshotAreRefusedFirst(t *testing.T) {
	r := newTestRepo(t)
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h"}
	var paths []string
	for i := 0; len(paths)*200 < snapshot.MaxFileSize; i++ {
		paths = append(paths, fmt.Sprintf("/srv/%0190d", i))
	}
	_, err := a.Snapshot(context.Background(), paths)
	if !errors.Is(err, snapshot.ErrSnapshotTooLarge) || !strings.Contains(err.Error(), "fewer, shorter paths") {
		t.Fatalf("got %v", err)
	}
	if n := r.BlobCount(repo.DataBlob) + r.BlobCount(repo.TreeBlob); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
}

func TestDropNested(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"/", "/a", "/a/b"}, []string{"/"}},
		{[]string{"/a", "/a b/c", "/a/b", "/a/b/c", "/ab", "/b/a"}, []string{"/a", "/a b/c", "/ab", "/b/a"}},
		{[]string{"/srv/spse", "/srv/spse-old/x"}, []string{"/srv/spse", "/srv/spse-old/x"}},
		{[]string{"/a", "/a/b/c", "/a/b/c/d"}, []string{"/a"}},
	} {
		if got := dropNested(cleanPaths(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("dropNested(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// losingRepo is a repository that has lost one blob (a damaged pack taken
// out by repair packs): HasBlob says it is not there.
type losingRepo struct {
	*snapshottest.Repo
	lost repo.ID
}

func (r *losingRepo) HasBlob(t repo.BlobType, id repo.ID) bool {
	return id != r.lost && r.Repo.HasBlob(t, id)
}

// A file unchanged since the parent whose data the repository lost is
// read again, and counted as such: not as changed, which it is not.
func TestFileWithLostDataIsRereadNotChanged(t *testing.T) {
	src := t.TempDir()
	snapshottest.MakeFiles(t, src, 20)
	r := newTestRepo(t)
	sn1 := mustSnapshot(t, &Archiver{Repo: r, Hostname: "h"}, src)
	p := filepath.Join(src, "dir03", "file0003")
	n, err := walker.FindNode(context.Background(), r, sn1.Tree, p)
	if err != nil || len(n.Content) == 0 {
		t.Fatalf("find %s: %v %+v", p, err, n)
	}
	lr := &losingRepo{Repo: r, lost: n.Content[0].ID}
	fsys := &countingFS{}
	sn2 := mustSnapshot(t, &Archiver{Repo: lr, FS: fsys, Hostname: "h"}, src)
	s := sn2.Summary
	fi, _ := os.Stat(p)
	if s.FilesReread != 1 || s.FilesChanged != 0 || s.FilesNew != 0 || s.FilesUnmodified != 19 || fsys.bytesRead.Load() != fi.Size() {
		t.Errorf("summary: %+v, read %d bytes, want the %d of %s", s, fsys.bytesRead.Load(), fi.Size(), p)
	}
}
