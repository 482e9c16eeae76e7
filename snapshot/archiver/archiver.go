package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/internal/fsmeta"
)

// ErrIncomplete is wrapped by an *IncompleteError.
var ErrIncomplete = errors.New("some files could not be read")

// IncompleteError is returned, together with the saved snapshot, when a
// backup skipped items it could not read. The CLI maps it to exit code 3.
type IncompleteError struct {
	Snapshot repo.ID
	Errors   []snapshot.ItemError
	// Omitted counts the items that could not be read beyond those in
	// Errors: the snapshot lists them up to snapshot.MaxErrorsSize.
	Omitted uint64
}

// Count returns how many items could not be read.
func (e *IncompleteError) Count() uint64 { return uint64(len(e.Errors)) + e.Omitted }

func (e *IncompleteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snapshot %s saved, but %d item(s) could not be read", e.Snapshot.Short(), e.Count())
	for i, ie := range e.Errors {
		if i == 5 {
			fmt.Fprintf(&b, "; ...")
			break
		}
		fmt.Fprintf(&b, "; %s: %s", ie.Path, ie.Error)
	}
	return b.String()
}

// Unwrap returns ErrIncomplete.
func (e *IncompleteError) Unwrap() error { return ErrIncomplete }

// ErrFileChanged is reported (wrapped) for a file that changed while it was read.
var ErrFileChanged = errors.New("file changed while being read")

// ErrNoSource is returned (wrapped, with the reasons) by Snapshot with
// SkipMissingPaths when none of the backup paths can be read: there is
// nothing to back up, and no snapshot is written.
var ErrNoSource = errors.New("nothing to back up: no backup path can be read")

// NoSourceError is the ErrNoSource that Snapshot returns: Reasons are the
// errors of the paths, as the system gave them.
type NoSourceError struct{ Reasons []string }

func (e *NoSourceError) Error() string {
	return ErrNoSource.Error() + ": " + strings.Join(e.Reasons, "; ")
}

// Is makes errors.Is(err, ErrNoSource) true.
func (e *NoSourceError) Is(target error) bool { return target == ErrNoSource }

// Archiver makes snapshots. Set the fields before the first call; an
// Archiver may be reused for several snapshots but not concurrently.
type Archiver struct {
	Repo Repository
	// FS is the source filesystem; nil means LocalFS.
	FS FS

	// Excludes are patterns (see Matcher) of paths not to back up.
	Excludes []string
	// ExcludeIfPresent excludes a directory that contains a file with one
	// of these names.
	ExcludeIfPresent []string
	// OneFileSystem keeps the walk on the filesystem of each backup path:
	// a mount point is recorded as an empty directory.
	OneFileSystem bool
	// SkipMissingPaths makes a backup path that does not exist (or cannot
	// be examined) an item error, reported like an unreadable file, instead
	// of failing the backup; it fails only when no path is left. The
	// snapshot's Paths are those that were backed up.
	SkipMissingPaths bool

	Tags     []string
	Hostname string // default: os.Hostname()
	Reason   string
	// ProgramVersion is recorded in the snapshot.
	ProgramVersion string
	// Parent is the snapshot to compare with. When nil and NoParent is
	// false, the newest snapshot of the same host and paths is used.
	Parent   *snapshot.Snapshot
	NoParent bool
	// Time is the snapshot time; zero means time.Now().
	Time time.Time
	// RecordAtime stores access times (off by default: they change on
	// every read and would make every tree differ).
	RecordAtime bool

	// ReadConcurrency is the number of files read at once (default
	// GOMAXPROCS/2, at least 2 and at most 8).
	ReadConcurrency int
	// SaveConcurrency is the number of goroutines that hash, compress and
	// encrypt blobs (default GOMAXPROCS).
	SaveConcurrency int

	// Progress receives events; nil means none.
	Progress ArchiveProgress
	// ErrorFunc decides what to do about an item that cannot be read:
	// return nil to record it and go on (the default when nil), or an error
	// to abort the backup with it.
	ErrorFunc func(path string, err error) error

	// CommandStderr, if set, receives a copy of the standard error of a
	// command run by SnapshotFromCommand.
	CommandStderr io.Writer

	// ResumeDir, if set, is a local directory where Snapshot keeps a
	// resume record of the backup as it goes (see ResumeFileName): the
	// directories and large files it has finished. A later Snapshot of the
	// same paths and host into the same repository, after this one was
	// killed or failed, does not read again what the record names, if the
	// file is unchanged and the repository still has its blobs. The record
	// is removed once a snapshot is saved. NoParent ignores it.
	ResumeDir string

	// runHook, if set, is called with the state of each backup before it
	// starts, so that tests can inspect the pipeline after it ended.
	runHook func(*run)
	// errorsSize, if set, replaces snapshot.MaxErrorsSize (tests).
	errorsSize int
}

// NewArchiver returns an archiver for r with default settings.
func NewArchiver(r Repository) *Archiver { return &Archiver{Repo: r} }

// run is the state of one backup.
type run struct {
	a        *Archiver
	r        Repository
	sized    SizedSaver
	fs       FS
	progress ArchiveProgress
	names    fsmeta.IDNames
	excl     *Matcher
	params   chunk.Params
	pol      chunk.Pol
	par      parChunking // one stream or large file on several cores
	advice   readAdvice  // whether the walker asks for files ahead

	large, small *bufPool
	// walkers walks subdirectories in parallel: on an unchanged tree the
	// backup is nothing but readdir, lstat and llistxattr, one directory
	// after another unless several goroutines issue them.
	walkers *errgroup.Group
	fileCh  chan *fileJob
	blobCh  chan *blobJob

	rootID   repo.ID
	rootDone chan struct{}
	// beforeSave, if set, runs after all blobs are saved and before the
	// flush; an error means no snapshot (a failed command).
	beforeSave func() error
	// onAbort, if set, is called as soon as the pipeline fails.
	onAbort func()

	errMu      sync.Mutex
	itemErrors []snapshot.ItemError
	errBytes   int    // JSON of itemErrors
	errOmitted uint64 // items not in itemErrors (errBytes would pass the limit)

	// hints is what an unfinished earlier run of this backup recorded;
	// resume records what this one finishes (nil: not recording).
	hints  *resumeHints
	resume *resumeLog

	filesNew, filesChanged, filesUnmod atomic.Uint64
	filesReread                        atomic.Uint64
	dirsNew, dirsChanged, dirsUnmod    atomic.Uint64
	others                             atomic.Uint64
	dataBlobs, treeBlobs               atomic.Uint64
	dataAdded, dataAddedPacked         atomic.Uint64
	bytesRead                          atomic.Uint64
	scannedFiles, scannedBytes         atomic.Uint64
}

type bufPool struct {
	ch   chan []byte
	size int
}

func newBufPool(n, size int) *bufPool {
	p := &bufPool{ch: make(chan []byte, n), size: size}
	for i := 0; i < n; i++ {
		p.ch <- nil // allocated on first use
	}
	return p
}

func (p *bufPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.ch:
		if b == nil {
			b = make([]byte, p.size)
		}
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *bufPool) put(b []byte) { p.ch <- b[:cap(b)] }

// dirJob is a directory being archived. It is finished (its tree saved)
// when its last child is done.
type dirJob struct {
	path    string         // absolute; "/" for the root
	node    *snapshot.Node // nil for the root
	parent  *dirJob
	nodes   []*snapshot.Node // children sorted by name; nil marks a skipped one
	old     *snapshot.Tree   // the parent snapshot's version, if any
	oldNode *snapshot.Node   // the parent snapshot's node of this directory, if any
	resume  *snapshot.Tree   // its tree saved by an unfinished earlier run, if any
	resumed []byte           // that tree's encoding: the same tree is not recorded again
	dev     uint64           // device of the backup path, for OneFileSystem
	pending atomic.Int64
	start   time.Time
}

type fileJob struct {
	d      *dirJob
	idx    int
	path   string
	node   *snapshot.Node
	status ItemStatus
	start  time.Time
	stream io.Reader // for ArchiveReader; nil for files
	ahead  File      // opened by the walker, for the reader to read; or nil

	exts    []*snapshot.Extent // written by the reader; IDs filled in by savers
	pending atomic.Int64
	failed  atomic.Bool
}

type blobJob struct {
	buf  []byte // the pooled buffer to return
	data []byte
	pool returner
	ext  *snapshot.Extent
	file *fileJob
}

func (a *Archiver) newRun() (*run, error) {
	if a.Repo == nil {
		return nil, errors.New("archiver: no repository")
	}
	r := &run{a: a, r: a.Repo, fs: a.FS, progress: a.Progress, rootDone: make(chan struct{})}
	if r.fs == nil {
		r.fs = LocalFS{}
	}
	if r.progress == nil {
		r.progress = NopArchiveProgress{}
	}
	r.sized, _ = a.Repo.(SizedSaver)
	var err error
	if r.excl, err = NewMatcher(a.Excludes); err != nil {
		return nil, err
	}
	r.params, r.pol = a.Repo.ChunkerParams(), a.Repo.ChunkerPolynomial()
	if err := r.params.Validate(); err != nil {
		return nil, err
	}
	if a.runHook != nil {
		a.runHook(r)
	}
	return r, nil
}

func (a *Archiver) concurrency() (readers, savers int) {
	readers, savers = a.ReadConcurrency, a.SaveConcurrency
	if readers <= 0 {
		// Two readers keep two cores busy: one can chunk a large file while
		// the other feeds small ones. Beyond that a reader per two cores
		// (each read is a syscall and a copy, each chunk a saver's work),
		// and no more than eight: more parallel reads only make a disk seek.
		readers = min(max(2, runtime.GOMAXPROCS(0)/2), 8)
	}
	if savers <= 0 {
		savers = runtime.GOMAXPROCS(0)
	}
	return
}

// itemError records an unreadable item; it returns non-nil if the backup
// must stop.
func (r *run) itemError(path string, err error) error {
	r.progress.Error(path, err)
	if r.a.ErrorFunc != nil {
		if ferr := r.a.ErrorFunc(path, err); ferr != nil {
			return ferr
		}
	}
	ie := snapshot.ItemError{Path: path, Error: err.Error()}
	if errors.Is(err, ErrFileChanged) {
		ie.Kind = snapshot.ItemErrorChanged
	}
	// The snapshot lists items up to a size (every listing reads the
	// file, and a file too large is not read: snapshot.MaxFileSize); the
	// rest are counted, and were reported as they happened.
	b, _ := json.Marshal(ie)
	r.errMu.Lock()
	if r.errOmitted > 0 || r.errBytes+len(b)+1 > r.a.maxErrorsSize() {
		r.errOmitted++
	} else {
		r.errBytes += len(b) + 1
		r.itemErrors = append(r.itemErrors, ie)
	}
	r.errMu.Unlock()
	return nil
}

func (r *run) saveBlob(ctx context.Context, t repo.BlobType, data []byte) (repo.ID, bool, error) {
	var id repo.ID
	var isNew bool
	var stored int
	var err error
	if r.sized != nil {
		id, isNew, stored, err = r.sized.SaveBlobSized(ctx, t, data)
	} else {
		id, isNew, err = r.r.SaveBlob(ctx, t, data)
		stored = len(data)
	}
	if err != nil {
		return id, false, err // the repository names the operation and blob ("save data blob X: ...")
	}
	if isNew {
		if t == repo.DataBlob {
			r.dataBlobs.Add(1)
		} else {
			r.treeBlobs.Add(1)
		}
		r.dataAdded.Add(uint64(len(data)))
		r.dataAddedPacked.Add(uint64(stored))
	}
	return id, isNew, nil
}

// childDone marks one child (or the enumeration) of d as finished and
// saves d's tree when it was the last.
func (r *run) childDone(ctx context.Context, d *dirJob) error {
	if d.pending.Add(-1) != 0 {
		return nil
	}
	t := &snapshot.Tree{Nodes: slices.DeleteFunc(d.nodes, func(n *snapshot.Node) bool { return n == nil })}
	b, err := snapshot.EncodeTree(t)
	if err != nil {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	id, _, err := r.saveBlob(ctx, repo.TreeBlob, b)
	if err != nil {
		return err
	}
	status := ItemNew
	if d.oldNode != nil || (d.parent == nil && d.old != nil) {
		status = ItemChanged
		if d.oldNode != nil && d.oldNode.Subtree == id {
			status = ItemUnmodified
		}
	}
	if d.parent == nil {
		r.rootID = id
		close(r.rootDone)
		return nil
	}
	if status != ItemUnmodified && !bytes.Equal(b, d.resumed) {
		r.resume.dir(d.path, b)
	}
	switch status {
	case ItemNew:
		r.dirsNew.Add(1)
	case ItemChanged:
		r.dirsChanged.Add(1)
	default:
		r.dirsUnmod.Add(1)
	}
	d.node.Subtree = id
	r.progress.CompleteItem(d.path, d.node, status, time.Since(d.start))
	return r.childDone(ctx, d.parent)
}

func (r *run) loadOld(ctx context.Context, id repo.ID) *snapshot.Tree {
	if id.IsNull() {
		return nil
	}
	t, err := snapshot.LoadTree(ctx, r.r, id)
	if err != nil {
		return nil // a damaged parent only costs re-reading
	}
	return t
}

// maxErrorsSize is snapshot.MaxErrorsSize, or the test's limit.
func (a *Archiver) maxErrorsSize() int {
	if a.errorsSize > 0 {
		return a.errorsSize
	}
	return snapshot.MaxErrorsSize
}

// checkSnapshotFits refuses, before anything is read, a backup whose
// snapshot could not be saved: paths, tags and the other fields the caller
// chose, with room for the summary and its list of unreadable items, must
// fit in a snapshot file (snapshot.MaxFileSize).
func (a *Archiver) checkSnapshotFits(paths []string) error {
	b, err := json.Marshal(&snapshot.Snapshot{Paths: paths, Tags: a.Tags, Hostname: a.hostname(), Reason: a.Reason, ProgramVersion: a.ProgramVersion})
	if err != nil {
		return err
	}
	const summary = 64 << 10 // its counters, with much to spare
	if room := snapshot.MaxFileSize - snapshot.MaxErrorsSize - summary; len(b) > room {
		return fmt.Errorf("%w: the backup's paths, tags, host name and reason take %d bytes in its snapshot, more than the %d a snapshot file has room for: back up fewer, shorter paths (a common parent directory)",
			snapshot.ErrSnapshotTooLarge, len(b), room)
	}
	return nil
}

// Snapshot backs up the given paths (made absolute) and saves a snapshot.
// If some items could not be read, the snapshot is still saved and the
// error is an *IncompleteError. On any other error no snapshot is saved.
func (a *Archiver) Snapshot(ctx context.Context, paths []string) (*snapshot.Snapshot, error) {
	if len(paths) == 0 {
		return nil, errors.New("nothing to back up: no paths given")
	}
	abs := make([]string, 0, len(paths))
	for _, p := range paths {
		ap, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		abs = append(abs, ap)
	}
	abs = dropNested(cleanPaths(abs))
	if err := a.checkSnapshotFits(abs); err != nil {
		return nil, err
	}
	r, err := a.newRun()
	if err != nil {
		return nil, err
	}
	var missing []string
	kept := abs[:0]
	for _, p := range abs {
		_, err := r.fs.Lstat(p)
		switch {
		case err == nil:
			kept = append(kept, p)
		case !a.SkipMissingPaths:
			return nil, fmt.Errorf("backup source: %w", err)
		default:
			if ferr := r.itemError(p, err); ferr != nil {
				return nil, ferr
			}
			missing = append(missing, err.Error())
		}
	}
	abs = kept
	if len(abs) == 0 {
		return nil, &NoSourceError{Reasons: missing}
	}
	parent, err := a.findParent(ctx, abs)
	if err != nil {
		return nil, err
	}
	r.openResume(abs)
	sn, err := r.execute(ctx, abs, parent, func(ctx context.Context, root *dirJob) error {
		return r.walkTargets(ctx, root, abs)
	})
	// The record only helps a later run; failing to remove it after a
	// saved snapshot must not turn a good backup into a failed one (the
	// next run's snapshot is its parent, and it is removed then).
	_ = r.resume.finish(sn != nil)
	r.hints.close()
	return sn, err
}

func (a *Archiver) findParent(ctx context.Context, paths []string) (*snapshot.Snapshot, error) {
	if a.NoParent {
		return nil, nil
	}
	if a.Parent != nil {
		return a.Parent, nil
	}
	return snapshot.FindParent(ctx, a.Repo, a.hostname(), paths, time.Time{})
}

func (a *Archiver) hostname() string {
	if a.Hostname != "" {
		return a.Hostname
	}
	h, _ := os.Hostname()
	return h
}

// execute runs the pipeline: walk (the producer) feeds readers, readers feed
// savers; then flushes and saves the snapshot.
func (r *run) execute(ctx context.Context, paths []string, parent *snapshot.Snapshot, walk func(context.Context, *dirJob) error) (*snapshot.Snapshot, error) {
	a := r.a
	start := time.Now()
	readers, savers := a.concurrency()
	r.large = newBufPool(savers+readers+1, int(r.params.Max))
	r.small = newBufPool(4*savers+readers+4, int(r.params.Min))
	r.fileCh = make(chan *fileJob, readers+aheadFiles)
	r.blobCh = make(chan *blobJob, savers)

	var statsBefore repo.SaveStats
	if sr, ok := r.r.(statsReporter); ok {
		statsBefore = sr.Stats()
	}
	g, gctx := errgroup.WithContext(ctx)
	if r.onAbort != nil {
		stop := context.AfterFunc(gctx, func() {
			// errgroup cancels with the first error as the cause, and with
			// context.Canceled once Wait returns after success.
			if !errors.Is(context.Cause(gctx), context.Canceled) {
				r.onAbort()
			}
		})
		defer stop()
	}
	root := &dirJob{path: "/", start: start}
	if parent != nil {
		root.old = r.loadOld(gctx, parent.Tree)
	}
	// The goroutines turn a panic (a crafted parent snapshot reaching a
	// bug, say) into the backup's error: in a goroutine it would kill the
	// process with the repository locked.
	g.Go(func() (err error) {
		defer close(r.fileCh)
		defer panicerr.Catch(&err, func() string { return "backup: walk" })
		walkers, wctx := errgroup.WithContext(gctx)
		walkers.SetLimit(walkConcurrency)
		r.walkers = walkers
		err = walk(wctx, root)
		if werr := walkers.Wait(); err == nil {
			err = werr
		}
		return err
	})
	var rwg sync.WaitGroup
	for i := 0; i < readers; i++ {
		rwg.Add(1)
		g.Go(func() (err error) {
			defer rwg.Done()
			defer panicerr.Catch(&err, func() string { return "backup: read files" })
			c, err := chunk.New(r.pol, r.params)
			if err != nil {
				return err
			}
			for job := range r.fileCh {
				if err := r.readFile(gctx, c, job); err != nil {
					return err
				}
			}
			return nil
		})
	}
	go func() {
		rwg.Wait()
		close(r.blobCh)
	}()
	for i := 0; i < savers; i++ {
		g.Go(func() error {
			return panicerr.Call(func() string { return "backup: save blobs" }, func() error { return r.saver(gctx) })
		})
	}
	if err := g.Wait(); err != nil {
		// Drain so the closer goroutine ends, and give back the buffers
		// of blobs that no saver took (all savers may have stopped).
		for job := range r.fileCh {
			job.closeAhead()
		}
		for bj := range r.blobCh {
			bj.pool.put(bj.buf)
		}
		return nil, err
	}
	// Cancelled after the walk, every goroutine may end without an error:
	// a reader that got a buffer instead of noticing, savers that drained.
	// The files left unfinished keep the root from completing; that is the
	// cancellation, not an internal error (the run log tells the two apart).
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-r.rootDone:
	default:
		return nil, errors.New("internal error: root tree was not completed")
	}
	if r.beforeSave != nil {
		if err := r.beforeSave(); err != nil {
			return nil, err
		}
	}
	if err := r.r.Flush(ctx); err != nil {
		return nil, err // Flush's errors say what failed (some begin "flush: ")
	}
	sn := r.newSnapshot(paths, parent, start)
	if sr, ok := r.r.(statsReporter); ok && r.sized == nil {
		after := sr.Stats()
		sn.Summary.DataAddedPacked = uint64(after.StoredBytes - statsBefore.StoredBytes)
	}
	if _, err := snapshot.SaveSnapshot(ctx, r.r, sn); err != nil {
		return nil, err
	}
	if sn.Summary.ErrorCount() > 0 {
		return sn, &IncompleteError{Snapshot: sn.ID(), Errors: sn.Summary.Errors, Omitted: sn.Summary.ErrorsOmitted}
	}
	return sn, nil
}

func (r *run) newSnapshot(paths []string, parent *snapshot.Snapshot, start time.Time) *snapshot.Snapshot {
	a := r.a
	t := a.Time
	if t.IsZero() {
		t = start
	}
	sn := &snapshot.Snapshot{
		Time:           t,
		Tree:           r.rootID,
		Paths:          paths,
		Hostname:       a.hostname(),
		Tags:           slices.Clone(a.Tags),
		Reason:         a.Reason,
		ProgramVersion: a.ProgramVersion,
		UID:            uint32(os.Getuid()),
		GID:            uint32(os.Getgid()),
	}
	if u, err := user.Current(); err == nil {
		sn.Username = u.Username
	}
	if parent != nil {
		pid := parent.ID()
		sn.Parent = &pid
	}
	r.errMu.Lock()
	errs := slices.Clone(r.itemErrors)
	omitted := r.errOmitted
	r.errMu.Unlock()
	slices.SortFunc(errs, func(a, b snapshot.ItemError) int { return strings.Compare(a.Path, b.Path) })
	sn.Summary = &snapshot.Summary{
		BackupStart:         start,
		BackupEnd:           time.Now(),
		FilesNew:            r.filesNew.Load(),
		FilesChanged:        r.filesChanged.Load(),
		FilesUnmodified:     r.filesUnmod.Load(),
		FilesReread:         r.filesReread.Load(),
		DirsNew:             r.dirsNew.Load(),
		DirsChanged:         r.dirsChanged.Load(),
		DirsUnmodified:      r.dirsUnmod.Load(),
		OtherNodes:          r.others.Load(),
		DataBlobs:           r.dataBlobs.Load(),
		TreeBlobs:           r.treeBlobs.Load(),
		DataAdded:           r.dataAdded.Load(),
		DataAddedPacked:     r.dataAddedPacked.Load(),
		TotalFilesProcessed: r.scannedFiles.Load(),
		TotalBytesProcessed: r.scannedBytes.Load(),
		BytesRead:           r.bytesRead.Load(),
		Errors:              errs,
		ErrorsOmitted:       omitted,
	}
	return sn
}

func (r *run) saver(ctx context.Context) error {
	for bj := range r.blobCh {
		if ctx.Err() != nil {
			bj.pool.put(bj.buf)
			continue // drain
		}
		id, _, err := r.saveBlob(ctx, repo.DataBlob, bj.data)
		bj.pool.put(bj.buf)
		if err != nil {
			return err
		}
		bj.ext.ID = id
		if err := r.fileDone(ctx, bj.file); err != nil {
			return err
		}
	}
	return nil
}

// fileDone drops one reference to a file job and finishes it after the last.
func (r *run) fileDone(ctx context.Context, j *fileJob) error {
	if j.pending.Add(-1) != 0 {
		return nil
	}
	if j.failed.Load() {
		j.d.nodes[j.idx] = nil
		return r.childDone(ctx, j.d)
	}
	j.node.Content = make([]snapshot.Extent, len(j.exts))
	for i, e := range j.exts {
		j.node.Content[i] = *e
	}
	// The size is what was stored: a stream's is known only now, and a
	// file that changed while it was read (shrank, or was replaced) keeps
	// the part that was read, with a size that matches it. A tree must
	// never promise more bytes than its extents hold.
	j.node.Size = j.node.ContentSize()
	if j.stream != nil {
		r.scannedFiles.Add(1)
		r.scannedBytes.Add(uint64(j.node.Size))
	}
	if j.stream == nil && j.node.Size >= resumeMinFile {
		r.resume.file(j.path, j.node)
	}
	r.countFile(j.status)
	r.progress.CompleteItem(j.path, j.node, j.status, time.Since(j.start))
	return r.childDone(ctx, j.d)
}

func (r *run) countFile(s ItemStatus) {
	switch s {
	case ItemNew:
		r.filesNew.Add(1)
	case ItemChanged:
		r.filesChanged.Add(1)
	case ItemReread:
		r.filesReread.Add(1)
	default:
		r.filesUnmod.Add(1)
	}
}

// walkTargets builds the virtual directories above the backup paths (their
// metadata comes from the real directories) and walks each path.
func (r *run) walkTargets(ctx context.Context, root *dirJob, paths []string) error {
	if len(paths) == 1 && paths[0] == "/" {
		fi, err := r.fs.Lstat("/")
		if err != nil {
			return err
		}
		root.dev = fsmeta.NodeFromInfo("/", fi, nil, false).Device
		return r.walkDir(ctx, root)
	}
	return r.walkVirtual(ctx, root, paths)
}

// walkVirtual handles a directory that is an ancestor of backup paths:
// only the children on the way to a backup path are recorded.
func (r *run) walkVirtual(ctx context.Context, d *dirJob, paths []string) error {
	// Group the paths by their first component below d.path.
	children := map[string][]string{}
	var names []string
	for _, p := range paths {
		rel := strings.TrimPrefix(p, strings.TrimSuffix(d.path, "/")+"/")
		name, rest, _ := strings.Cut(rel, "/")
		if _, ok := children[name]; !ok {
			names = append(names, name)
		}
		if rest == "" {
			children[name] = nil // the backup path itself
		} else if c, ok := children[name]; !ok || c != nil {
			children[name] = append(c, p)
		}
	}
	slices.Sort(names)
	type item struct {
		node *snapshot.Node
		sub  []string
		path string
	}
	var items []item
	for _, name := range names {
		p := filepath.Join(d.path, name)
		fi, err := r.fs.Lstat(p)
		if err != nil {
			if ferr := r.itemError(p, err); ferr != nil {
				return ferr
			}
			continue
		}
		n := fsmeta.NodeFromInfo(name, fi, &r.names, r.a.RecordAtime)
		if children[name] != nil && n.Type != snapshot.TypeDir {
			if ferr := r.itemError(p, errors.New("not a directory")); ferr != nil {
				return ferr
			}
			continue
		}
		items = append(items, item{node: n, sub: children[name], path: p})
		d.nodes = append(d.nodes, n)
	}
	d.pending.Store(int64(len(items)) + 1)
	for i, it := range items {
		if err := r.addMetadata(it.path, it.node); err != nil {
			return err
		}
		if it.sub == nil {
			if err := r.walkItem(ctx, d, i, it.path, it.node, true); err != nil {
				return err
			}
			continue
		}
		sub := r.newDir(ctx, d, it.path, it.node)
		sub.dev = it.node.Device
		if err := r.walkVirtual(ctx, sub, it.sub); err != nil {
			return err
		}
	}
	return r.childDone(ctx, d)
}

func (r *run) newDir(ctx context.Context, parent *dirJob, p string, n *snapshot.Node) *dirJob {
	d := &dirJob{path: p, node: n, parent: parent, dev: parent.dev, start: time.Now()}
	if parent.old != nil {
		if on := parent.old.Find(n.Name); on != nil && on.Type == snapshot.TypeDir {
			d.oldNode = on
			d.old = r.loadOld(ctx, on.Subtree)
		}
	}
	d.resume, d.resumed = r.resumeTree(p)
	return d
}

// addMetadata reads xattrs and, for symlinks, the target. Errors are item
// errors: the node is kept without that information.
func (r *run) addMetadata(p string, n *snapshot.Node) error {
	xs, err := r.fs.Xattrs(p)
	if err != nil {
		if ferr := r.itemError(p, err); ferr != nil {
			return ferr
		}
	}
	n.Xattrs = xs
	return nil
}

func (r *run) excluded(ctx context.Context, p string, isDir bool) bool {
	if r.excl.Match(p, isDir) {
		return true
	}
	if isDir {
		for _, name := range r.a.ExcludeIfPresent {
			if _, err := r.fs.Lstat(filepath.Join(p, name)); err == nil {
				return true
			}
		}
	}
	return false
}

// walkDir enumerates a directory that is (inside) a backup path.
func (r *run) walkDir(ctx context.Context, d *dirJob) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	names, err := r.fs.ReadDirNames(d.path)
	if err != nil {
		if ferr := r.itemError(d.path, err); ferr != nil {
			return ferr
		}
		names = nil
	}
	slices.Sort(names)
	// Lstat and read xattrs of the entries, in parallel for large
	// directories: on an unchanged tree these syscalls are the backup.
	type entry struct {
		node    *snapshot.Node
		path    string
		err     error
		xerr    error
		skipped bool
	}
	ents := make([]entry, len(names))
	stat := func(i int) {
		e := &ents[i]
		e.path = filepath.Join(d.path, names[i])
		fi, err := r.fs.Lstat(e.path)
		if err != nil {
			e.err = err
			return
		}
		if r.excluded(ctx, e.path, fi.IsDir()) {
			e.skipped = true
			return
		}
		e.node = fsmeta.NodeFromInfo(names[i], fi, &r.names, r.a.RecordAtime)
		e.node.Xattrs, e.xerr = r.fs.Xattrs(e.path)
	}
	if workers := min(runtime.GOMAXPROCS(0), len(names)/parallelStatMin); workers > 1 {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
					stat(i)
				}
			}()
		}
		wg.Wait()
	} else {
		for i := range names {
			stat(i)
		}
	}
	d.nodes = make([]*snapshot.Node, 0, len(names))
	var paths []string
	for _, e := range ents {
		if e.err != nil {
			if errors.Is(e.err, os.ErrNotExist) {
				continue // vanished between readdir and lstat: as if it never was
			}
			if ferr := r.itemError(e.path, e.err); ferr != nil {
				return ferr
			}
			continue
		}
		if e.skipped {
			continue
		}
		if e.xerr != nil {
			if ferr := r.itemError(e.path, e.xerr); ferr != nil {
				return ferr
			}
		}
		d.nodes = append(d.nodes, e.node)
		paths = append(paths, e.path)
	}
	d.pending.Store(int64(len(d.nodes)) + 1)
	for i, n := range d.nodes {
		if err := r.walkItem(ctx, d, i, paths[i], n, false); err != nil {
			return err
		}
	}
	return r.childDone(ctx, d)
}

// walkItem processes the i-th child of d, whose node holds its lstat data
// and xattrs. top is true for a backup path itself.
func (r *run) walkItem(ctx context.Context, d *dirJob, i int, p string, n *snapshot.Node, top bool) error {
	switch n.Type {
	case snapshot.TypeDir:
		sub := r.newDir(ctx, d, p, n)
		if top {
			sub.dev = n.Device
		}
		if r.a.OneFileSystem && n.Device != sub.dev {
			sub.pending.Store(1)
			return r.childDone(ctx, sub) // mount point: recorded empty
		}
		if r.walkers != nil && r.walkers.TryGo(func() error {
			return panicerr.Call(func() string { return "backup: directory " + sub.path }, func() error { return r.walkDir(ctx, sub) })
		}) {
			return nil
		}
		return r.walkDir(ctx, sub) // all walkers busy: walk it here
	case snapshot.TypeFile:
		return r.walkFile(ctx, d, i, p, n)
	case snapshot.TypeSymlink:
		t, err := r.fs.Readlink(p)
		if err != nil {
			if ferr := r.itemError(p, err); ferr != nil {
				return ferr
			}
			d.nodes[i] = nil
			return r.childDone(ctx, d)
		}
		n.LinkTarget = t
	}
	r.others.Add(1)
	r.progress.CompleteItem(p, n, r.statusOf(d, n), 0)
	return r.childDone(ctx, d)
}

func (r *run) statusOf(d *dirJob, n *snapshot.Node) ItemStatus {
	if d.old == nil {
		return ItemNew
	}
	on := d.old.Find(n.Name)
	switch {
	case on == nil:
		return ItemNew
	case on.Equal(n):
		return ItemUnmodified
	}
	return ItemChanged
}

func (r *run) walkFile(ctx context.Context, d *dirJob, i int, p string, n *snapshot.Node) error {
	r.scannedFiles.Add(1)
	r.scannedBytes.Add(uint64(n.Size))
	r.progress.Scanned(r.scannedFiles.Load(), r.scannedBytes.Load())
	status := ItemNew
	if d.old != nil {
		if on := d.old.Find(n.Name); on != nil {
			status = ItemChanged
			if sameFile(on, n) {
				if r.haveContent(on) {
					n.Content = on.Content
					r.countFile(ItemUnmodified)
					r.progress.CompleteItem(p, n, ItemUnmodified, 0)
					return r.childDone(ctx, d)
				}
				// Unchanged, but its data is gone from the repository:
				// read again, and counted apart from the changed
				// files, which it is not.
				status = ItemReread
			}
		}
	}
	// Finished by a run that did not get to save its snapshot: new (or
	// changed) against the parent, but stored already.
	if rn := r.resumeNode(d, n.Name, p); rn != nil && n.Size > 0 && r.unchanged(rn, n) {
		n.Content = rn.Content
		r.countFile(status)
		r.progress.CompleteItem(p, n, status, 0)
		return r.childDone(ctx, d)
	}
	if n.Size == 0 {
		r.countFile(status)
		r.progress.CompleteItem(p, n, status, 0)
		return r.childDone(ctx, d)
	}
	job := &fileJob{d: d, idx: i, path: p, node: n, status: status}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Opened here, a file's first blocks are on their way from the disk
	// while the readers work on the files queued before it, where the
	// reads miss the page cache (readAdvice). A file that does not open
	// is the reader's to report, with its own open.
	if f, err := r.fs.Open(p); err == nil {
		pr, probes := f.(cacheProber)
		switch pf, ok := f.(prefetcher); {
		case ok && (!probes || r.advice.advise()):
			pf.Prefetch(n.Size)
		case ok:
			pr.ProbeCache(&r.advice) // see readAdvice
		}
		job.ahead = f
	}
	select {
	case r.fileCh <- job:
		return nil
	case <-ctx.Done():
		job.closeAhead()
		return ctx.Err()
	}
}

// closeAhead closes the file the walker opened for a job no reader took.
func (j *fileJob) closeAhead() {
	if j.ahead != nil {
		_ = j.ahead.Close()
		j.ahead = nil
	}
}

// unchanged reports whether the file n can reuse old's content without
// reading: the same file (sameFile), and every blob still indexed.
func (r *run) unchanged(old, n *snapshot.Node) bool {
	return sameFile(old, n) && r.haveContent(old)
}

// sameFile reports whether n is the file old describes, unchanged since:
// same size, mtime, ctime and inode.
func sameFile(old, n *snapshot.Node) bool {
	return old.Type == snapshot.TypeFile && old.Size == n.Size && old.ModTime.Equal(n.ModTime) &&
		old.ChangeTime.Equal(n.ChangeTime) && old.Inode == n.Inode && old.ContentSize() == n.Size
}

// haveContent reports whether the repository indexes every blob of old's
// content.
func (r *run) haveContent(old *snapshot.Node) bool {
	var last repo.ID
	for _, e := range old.Content {
		if e.IsHole() || e.ID == last {
			continue
		}
		if !r.r.HasBlob(repo.DataBlob, e.ID) {
			return false
		}
		last = e.ID
	}
	return true
}

// parallelStatMin is the number of directory entries per extra goroutine
// that stats them.
const parallelStatMin = 32

// aheadFiles is how many files the walker opens ahead of the readers
// (besides one per reader): each has its first blocks on the way from the
// disk (rawFile.Prefetch) while the readers work on those before it. On a
// cold page cache 16 took a first backup of the benchmark dataset from
// 6.2-6.9 s to 4.8-5.2 s, 64 to 5.0 s (bench/README.md); each costs an
// open descriptor.
const aheadFiles = 64

// walkConcurrency is the number of extra goroutines that walk
// subdirectories. Walking is syscall-bound, so it pays beyond the number
// of cores.
const walkConcurrency = 4

// minHole is the smallest hole recorded as a hole; smaller ones are read
// (as zeros) to keep the extent list short.
const minHole = 64 << 10

// readFile reads one file, cutting it into blobs for the savers. It returns
// an error only when the backup must stop.
func (r *run) readFile(ctx context.Context, c *chunk.Chunker, j *fileJob) error {
	j.start = time.Now()
	j.pending.Store(1)
	r.progress.StartFile(j.path)
	if err := r.readContent(ctx, c, j); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if j.stream != nil {
			return fmt.Errorf("read %s: %w", j.path, err)
		}
		if !errors.Is(err, ErrFileChanged) {
			j.failed.Store(true)
		}
		if ferr := r.itemError(j.path, err); ferr != nil {
			return ferr
		}
	}
	return r.fileDone(ctx, j)
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

func (r *run) readContent(ctx context.Context, c *chunk.Chunker, j *fileJob) error {
	if j.stream != nil {
		if _, ok, err := r.chunkStreamParallel(ctx, j, j.stream); ok {
			return err
		}
		_, err := r.chunkRange(ctx, c, j, j.stream)
		return err
	}
	r.par.reading.Add(1)
	defer r.par.reading.Add(-1)
	f := j.ahead
	j.ahead = nil
	if f == nil {
		var err error
		if f, err = r.fs.Open(j.path); err != nil {
			return err
		}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fsmeta.NodeFromInfo("", fi, nil, false).Inode != j.node.Inode {
		return fmt.Errorf("%w: replaced by another file", ErrFileChanged)
	}
	size := j.node.Size
	if size < int64(r.params.Min) {
		// Small file: one blob, no chunker.
		buf, err := r.small.get(ctx)
		if err != nil {
			return &fatalError{err}
		}
		n, err := io.ReadFull(f, buf[:size])
		r.bytesRead.Add(uint64(n))
		r.progress.BytesRead(uint64(n))
		if err != nil {
			r.small.put(buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return truncatedError(f, size, int64(n))
			}
			return err
		}
		r.sendBlob(ctx, j, buf, buf[:n], r.small)
		return r.checkUnchanged(f, j)
	}
	exts := dataExtents(f, size, fsmeta.StatBlocks(fi))
	var read int64
	for _, e := range exts {
		if e.hole {
			j.exts = append(j.exts, &snapshot.Extent{Size: e.len})
			continue
		}
		n, ok, err := r.chunkFileParallel(ctx, j, f, e.off, e.len)
		if !ok {
			n, err = r.chunkRange(ctx, c, j, io.NewSectionReader(f, e.off, e.len))
		}
		read += n
		if err != nil {
			return err
		}
		if n != e.len {
			return truncatedError(f, size, read)
		}
	}
	return r.checkUnchanged(f, j)
}

// truncatedError describes a file that became shorter while it was read:
// its size when the walk saw it, its size now, and how much of it the
// snapshot keeps (what was read, so that restoring the snapshot gives the
// bytes the backup saw, never invented ones).
func truncatedError(f File, start, kept int64) error {
	end := "unknown"
	if fi, err := f.Stat(); err == nil {
		end = fmt.Sprintf("%d bytes", fi.Size())
	}
	return fmt.Errorf("%w: truncated during the backup: %d bytes at start, %s at end; the snapshot keeps the %d bytes read",
		ErrFileChanged, start, end, kept)
}

// checkUnchanged compares the open file's metadata after reading with what
// the walk saw; a file that grew, shrank or was modified is reported (its
// content as read is kept).
func (r *run) checkUnchanged(f File, j *fileJob) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	n := fsmeta.NodeFromInfo("", fi, nil, false)
	if n.Size != j.node.Size || !n.ModTime.Equal(j.node.ModTime) {
		return fmt.Errorf("%w: size %d -> %d, mtime %s -> %s", ErrFileChanged, j.node.Size, n.Size,
			j.node.ModTime.Format(time.RFC3339Nano), n.ModTime.Format(time.RFC3339Nano))
	}
	return nil
}

func (r *run) chunkRange(ctx context.Context, c *chunk.Chunker, j *fileJob, rd io.Reader) (int64, error) {
	c.Reset(rd)
	var total int64
	for {
		buf, err := r.large.get(ctx)
		if err != nil {
			return total, &fatalError{err}
		}
		data, err := c.Next(buf)
		if err == io.EOF {
			r.large.put(buf)
			return total, nil
		}
		if err != nil {
			r.large.put(buf)
			return total, err
		}
		total += int64(len(data))
		r.bytesRead.Add(uint64(len(data)))
		r.progress.BytesRead(uint64(len(data)))
		r.sendBlob(ctx, j, buf, data, r.large)
	}
}

func (r *run) sendBlob(ctx context.Context, j *fileJob, buf, data []byte, pool returner) {
	e := &snapshot.Extent{Size: int64(len(data))}
	j.exts = append(j.exts, e)
	j.pending.Add(1)
	select {
	case r.blobCh <- &blobJob{buf: buf, data: data, pool: pool, ext: e, file: j}:
	case <-ctx.Done():
		// The blob's reference is kept, so the file is never finished: its
		// extent has no ID, which a node would read as a hole. The reader
		// may still reach the file's end (a buffer is free, or this was its
		// last chunk), and a finished file goes into its directory's tree
		// and into the resume record, from which the next run would take
		// zeros for these bytes.
		pool.put(buf)
	}
}

type extent struct {
	off, len int64
	hole     bool
}

// dataExtents splits a file into data and holes with SEEK_DATA/SEEK_HOLE
// when it occupies fewer blocks than its size suggests; otherwise (or when
// the filesystem cannot tell) the whole file is one data extent. Holes
// shorter than minHole are merged into the data around them.
func dataExtents(f File, size, blocks int64) []extent {
	whole := []extent{{0, size, false}}
	if blocks < 0 || blocks*512 >= size {
		return whole
	}
	var out []extent
	add := func(off, end int64, hole bool) {
		if end <= off {
			return
		}
		if hole && end-off < minHole {
			hole = false
		}
		if k := len(out); k > 0 && out[k-1].hole == hole {
			out[k-1].len = end - out[k-1].off
			return
		}
		out = append(out, extent{off, end - off, hole})
	}
	var off int64
	for off < size {
		d, err := f.Seek(off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) { // no more data: the rest is a hole
				add(off, size, true)
				break
			}
			return whole
		}
		if d > size {
			d = size
		}
		add(off, d, true)
		h, err := f.Seek(d, unix.SEEK_HOLE)
		if err != nil {
			return whole
		}
		if h > size {
			h = size
		}
		add(d, h, false)
		if h <= off {
			return whole
		}
		off = h
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return whole
	}
	return out
}

// dropNested drops the paths that lie inside another of ps (clean,
// absolute, without duplicates), looking up each one's parents in a set:
// a comparison of every pair took a minute for 20,000 paths.
func dropNested(ps []string) []string {
	set := make(map[string]bool, len(ps))
	for _, p := range ps {
		set[p] = true
	}
	return slices.DeleteFunc(ps, func(p string) bool {
		for q := path.Dir(p); ; q = path.Dir(q) {
			if set[q] && q != p {
				return true
			}
			if q == "/" || q == "." {
				return false
			}
		}
	})
}

// cleanPaths returns the paths cleaned, sorted and without duplicates, as
// snapshot.Snapshot.HasPaths compares them.
func cleanPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = path.Clean(p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
