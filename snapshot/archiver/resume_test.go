package archiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// failSnapshotRepo refuses to save snapshot files: a backup that did all
// its work and died before its snapshot, like a kill at the very end.
type failSnapshotRepo struct{ *snapshottest.Repo }

var errNoSnapshot = errors.New("test: snapshot file not written")

func (r failSnapshotRepo) SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	return repo.ID{}, errNoSnapshot
}

// cancelAfter cancels the backup after n items are complete, and after
// the big files (makeResumeSource) where bigs is set: a kill in the middle.
type cancelAfter struct {
	NopArchiveProgress
	n, bigs   int64
	done, big atomic.Int64
	cancel    context.CancelFunc
}

func (c *cancelAfter) CompleteItem(p string, n *snapshot.Node, _ ItemStatus, _ time.Duration) {
	if n.Type == snapshot.TypeFile && filepath.Base(filepath.Dir(p)) == "big" {
		c.big.Add(1)
	}
	if c.done.Add(1) >= c.n && c.big.Load() >= c.bigs {
		c.cancel()
	}
}

// makeResumeSource writes 300 small files in 10 directories and three
// files above resumeMinFile in their own directory.
func makeResumeSource(t *testing.T) string {
	src := t.TempDir()
	snapshottest.MakeFiles(t, filepath.Join(src, "small"), 300)
	for i := range 3 {
		snapshottest.WriteFile(t, filepath.Join(src, "big", string(rune('a'+i))), snapshottest.RandBytes(uint64(7000+i), 2<<20))
	}
	return src
}

// killedRun backs src up into r with a resume record in resumeDir, the
// snapshot write failing as if the run were killed at its very end.
func killedRun(t *testing.T, r Repository, src, resumeDir string) {
	t.Helper()
	a := &Archiver{Repo: r, Hostname: "h", ResumeDir: resumeDir}
	if _, err := a.Snapshot(context.Background(), []string{src}); !errors.Is(err, errNoSnapshot) {
		t.Fatalf("the killed run: %v, want the snapshot failure", err)
	}
}

// killedRecord runs killedRun and returns the one resume record it left.
func killedRecord(t *testing.T, r *snapshottest.Repo, src, resumeDir string) string {
	t.Helper()
	killedRun(t, failSnapshotRepo{r}, src, resumeDir)
	recs := resumeFiles(t, resumeDir)
	if len(recs) != 1 {
		t.Fatalf("resume records after the killed run: %v", recs)
	}
	return recs[0]
}

// tearLast cuts the last 5 bytes off the record at p, as a machine crash
// might, and returns its new size.
func tearLast(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	return fi.Size() - 5
}

func resumeFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.resume"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reference backs src up with no parent and no resume record into r: the
// tree every resumed backup must reproduce exactly.
func reference(t *testing.T, r Repository, src string) repo.ID {
	t.Helper()
	a := &Archiver{Repo: r, Hostname: "h", NoParent: true}
	return srcTree(t, r, mustSnapshot(t, a, src), src)
}

// srcTree is the tree of the backed-up directory src. The snapshot's root
// holds the directories above src too, whose times other processes that
// write to /tmp change.
func srcTree(t *testing.T, r Repository, sn *snapshot.Snapshot, src string) repo.ID {
	t.Helper()
	n, err := walker.FindNode(context.Background(), r, sn.Tree, src)
	if err != nil {
		t.Fatalf("%s in snapshot: %v", src, err)
	}
	return n.Subtree
}

func TestResumeAfterSnapshotFailed(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	killedRecord(t, r, src, resumeDir)

	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	if n := fsys.bytesRead.Load(); n != 0 {
		t.Errorf("the re-run read %d bytes; everything was finished before", n)
	}
	if s := sn.Summary; s.FilesNew != 303 || s.BytesRead != 0 {
		t.Errorf("re-run summary: %+v (files are new against no parent, but not read)", s)
	}
	if want := reference(t, r, src); srcTree(t, r, sn, src) != want {
		t.Errorf("resumed tree %s, a full backup gives %s", srcTree(t, r, sn, src).Short(), want.Short())
	}
	if got := resumeFiles(t, resumeDir); len(got) != 0 {
		t.Errorf("resume record kept after a saved snapshot: %v", got)
	}
}

func TestResumeAfterCancel(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	for _, stopAt := range []int64{40, 200, 300} {
		ctx, cancel := context.WithCancel(context.Background())
		p := &cancelAfter{n: stopAt, cancel: cancel}
		if stopAt == 300 {
			// Which items finish first depends on the scheduling (under
			// -race the small files can all finish before a big one): the
			// last kill comes after the big files, whose records the re-run
			// must use.
			p.bigs = 3
		}
		a := &Archiver{Repo: r, Hostname: "h", ResumeDir: resumeDir, Progress: p, ReadConcurrency: 2}
		_, err := a.Snapshot(ctx, []string{src})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stop after %d items: %v", stopAt, err)
		}
		noHolesRecorded(t, resumeDir)
	}
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	total := int64(sn.Summary.TotalBytesProcessed)
	// Three killed runs together finished at least the big files and most
	// directories; only what was in flight is read again.
	if n := fsys.bytesRead.Load(); n > total/3 {
		t.Errorf("the re-run read %d of %d bytes", n, total)
	}
	if want := reference(t, r, src); srcTree(t, r, sn, src) != want {
		t.Errorf("resumed tree %s, a full backup gives %s", srcTree(t, r, sn, src).Short(), want.Short())
	}
}

// noHolesRecorded fails if the resume record in dir names a file with a
// hole: makeResumeSource's files have none, so an extent without a blob ID
// is one that no saver stored, and a re-run would restore zeros for it.
func noHolesRecorded(t *testing.T, dir string) {
	t.Helper()
	for _, p := range resumeFiles(t, dir) {
		h, _, err := loadResume(p)
		if err != nil {
			t.Fatal(err)
		}
		check := func(where string, n *snapshot.Node) {
			for i, e := range n.Content {
				if e.IsHole() {
					t.Errorf("resume record: %s: extent %d of %d has no blob", where, i, len(n.Content))
				}
			}
		}
		for fp, n := range h.files {
			check(fp, n)
		}
		for dp := range h.dirs {
			tree, _ := h.tree(dp)
			if tree == nil {
				t.Errorf("resume record: the tree of %s does not load", dp)
				continue
			}
			for _, n := range tree.Nodes {
				check(filepath.Join(dp, n.Name), n)
			}
		}
		h.close()
	}
}

// A blob that the reader could not hand to a saver (the backup was
// cancelled) keeps its file unfinished: were the file finished, its
// extent without an ID would go into its directory's tree and the resume
// record as a hole. The reader can reach the file's end after such a
// send: its last chunk, or a free buffer chosen over the cancellation.
func TestCancelledSendLeavesFileUnfinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &countProgress{}
	r := &run{a: &Archiver{}, blobCh: make(chan *blobJob), progress: p}
	d := &dirJob{nodes: make([]*snapshot.Node, 1)}
	d.pending.Store(2) // the file and the enumeration
	j := &fileJob{d: d, path: "/f", node: &snapshot.Node{Name: "f", Type: snapshot.TypeFile, Size: 3}}
	j.pending.Store(1) // the reader's own reference, as readFile takes it
	pool := &bufPool{ch: make(chan []byte, 1), size: 3}
	buf := make([]byte, 3)
	r.sendBlob(ctx, j, buf, buf, pool)
	if len(pool.ch) != 1 {
		t.Error("the buffer of the unsent blob was not returned to its pool")
	}
	if err := r.fileDone(ctx, j); err != nil {
		t.Fatal(err)
	}
	if p.completed.Load() != 0 || j.node.Content != nil || d.pending.Load() != 2 {
		t.Fatalf("the file was finished with an extent no saver stored: content %v", j.node.Content)
	}
}

type countProgress struct {
	NopArchiveProgress
	completed atomic.Int64
}

func (c *countProgress) CompleteItem(string, *snapshot.Node, ItemStatus, time.Duration) {
	c.completed.Add(1)
}

// A record is a hint: blobs the repository lacks (another repository, or a
// prune that removed the killed run's packs) and changed files are read.
func TestResumeRecordIsOnlyAHint(t *testing.T) {
	src := makeResumeSource(t)
	resumeDir := t.TempDir()
	killedRun(t, failSnapshotRepo{newTestRepo(t)}, src, resumeDir)
	// A changed big file and a changed small one: same size, new content
	// and mtime.
	snapshottest.WriteFile(t, filepath.Join(src, "big", "b"), snapshottest.RandBytes(1, 2<<20))
	small := filepath.Join(src, "small", "dir03", "file0003")
	fi, err := os.Stat(small)
	if err != nil {
		t.Fatal(err)
	}
	snapshottest.WriteFile(t, small, snapshottest.RandBytes(2, int(fi.Size())))

	// Into an empty repository (the same repository ID, as a pruned one
	// would have): nothing the record names is there.
	other := newTestRepo(t)
	fsys := &countingFS{}
	a := &Archiver{Repo: other, FS: fsys, Hostname: "h", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	if n, total := fsys.bytesRead.Load(), int64(sn.Summary.TotalBytesProcessed); n != total {
		t.Errorf("read %d of %d bytes; with none of the blobs present every file must be read", n, total)
	}
	if want := reference(t, other, src); srcTree(t, other, sn, src) != want {
		t.Error("the tree differs from a full backup's")
	}
	if got := dumpFile(t, other, sn, filepath.Join(src, "big", "b")); string(got) != string(snapshottest.RandBytes(1, 2<<20)) {
		t.Error("the changed big file has its old content")
	}
}

func TestResumeRecordTornAndForeign(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	rec := killedRecord(t, r, src, resumeDir)
	// Tear the last record, as a machine crash might.
	size := tearLast(t, rec)
	h, end, err := loadResume(rec)
	if err != nil || h.empty() || end <= int64(len(resumeMagic)) || end >= size {
		t.Fatalf("a torn record must keep the records before it: %v, %+v, end %d of %d", err, h, end, size)
	}
	// Another host's backup of the same paths does not use it.
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "other", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	if n, total := fsys.bytesRead.Load(), int64(sn.Summary.TotalBytesProcessed); n != total {
		t.Errorf("another host's backup read %d of %d bytes: it used this host's record", n, total)
	}
	// Garbage in place of the record: ignored and started over.
	if err := os.WriteFile(rec, []byte("not a record"), 0o600); err != nil {
		t.Fatal(err)
	}
	a = &Archiver{Repo: r, Hostname: "h", ResumeDir: resumeDir, NoParent: false}
	if sn := mustSnapshot(t, a, src); srcTree(t, r, sn, src) != reference(t, r, src) {
		t.Error("a backup beside a garbage record made a different tree")
	}
}

// A run that finds a record ending in a torn record (a crash, a full disk)
// appends after the last whole one: a reader stops at the torn bytes, so
// anything written after them would be lost to the next run.
func TestResumeAppendsAfterTornRecord(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	killedRun(t, failSnapshotRepo{r}, src, resumeDir)
	recs := resumeFiles(t, resumeDir)
	tearLast(t, recs[0])
	// A big file changes; the second killed run stores and records it.
	big := filepath.Join(src, "big", "c")
	snapshottest.WriteFile(t, big, snapshottest.RandBytes(99, 3<<20))
	killedRun(t, failSnapshotRepo{r}, src, resumeDir)
	h, _, err := loadResume(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	n := h.files[big]
	if n == nil || n.Size != 3<<20 {
		t.Fatalf("the second run's record of %s is lost behind the torn one: %+v", big, n)
	}
}

// lostTreesRepo loses every tree blob and fails the snapshot: a backup
// killed with its tree pack still open (it holds the trees of the
// directories finished last), after its data packs were written.
type lostTreesRepo struct{ failSnapshotRepo }

func (r lostTreesRepo) SaveBlobSized(ctx context.Context, t repo.BlobType, data []byte) (repo.ID, bool, int, error) {
	if t == repo.TreeBlob {
		return snapshottest.ID(data), true, len(data), nil
	}
	return r.Repo.SaveBlobSized(ctx, t, data)
}

func (r lostTreesRepo) SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (repo.ID, bool, error) {
	id, isNew, _, err := r.SaveBlobSized(ctx, t, data)
	return id, isNew, err
}

// The record holds each finished directory's tree itself: naming it by
// blob ID made two thirds of a killed 1 GB backup's directories useless,
// their trees lost with the open tree pack, and the re-run read 270 MiB
// instead of 70.
func TestResumeWithoutTheKilledRunsTrees(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	killedRun(t, lostTreesRepo{failSnapshotRepo{r}}, src, resumeDir)
	if n := r.BlobCount(repo.TreeBlob); n != 0 {
		t.Fatalf("%d trees stored; the test needs them lost", n)
	}
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	if n := fsys.bytesRead.Load(); n != 0 {
		t.Errorf("the re-run read %d bytes: the directories' records were useless without their tree blobs", n)
	}
	if want := reference(t, r, src); srcTree(t, r, sn, src) != want {
		t.Error("the resumed tree differs from a full backup's")
	}
}

// Records of the format before v3 are started over, not used: its writers
// could record, after a cancellation, a file with blobs never stored (as
// holes; TestCancelledSendLeavesFileUnfinished).
func TestResumeRecordOfOldVersionIgnored(t *testing.T) {
	src := makeResumeSource(t)
	r := newTestRepo(t)
	resumeDir := t.TempDir()
	f, err := os.OpenFile(killedRecord(t, r, src, resumeDir), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("cadang-resume-v2\n"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fsys := &countingFS{}
	a := &Archiver{Repo: r, FS: fsys, Hostname: "h", ResumeDir: resumeDir}
	sn := mustSnapshot(t, a, src)
	if n, total := fsys.bytesRead.Load(), int64(sn.Summary.TotalBytesProcessed); n != total {
		t.Errorf("read %d of %d bytes; a v2 record must not be used", n, total)
	}
}

// cancelOnStart cancels the backup when the reader starts the file whose
// path ends in name.
type cancelOnStart struct {
	NopArchiveProgress
	name   string
	cancel context.CancelFunc
}

func (c *cancelOnStart) StartFile(p string) {
	if strings.HasSuffix(p, c.name) {
		c.cancel()
	}
}

// A backup cancelled after its walk ended says it was cancelled: no
// goroutine need fail then (the reader may get a buffer rather than notice,
// the savers drain), and the root tree never completes. It said "internal
// error" in about half the runs, which the run log records as a fault of
// the program (or of the dump, for a dump source) instead of an interruption.
func TestCancelAfterWalkReportsCanceled(t *testing.T) {
	src := t.TempDir()
	for i := range 5 {
		snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("f%d", i)), []byte(strings.Repeat("x", 100+i)))
	}
	for i := range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		a := &Archiver{Repo: newTestRepo(t), Hostname: "h", ReadConcurrency: 1, SaveConcurrency: 1,
			Progress: &cancelOnStart{name: "/f4", cancel: cancel}}
		_, err := a.Snapshot(ctx, []string{src})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v, want context.Canceled", i, err)
		}
	}
}
