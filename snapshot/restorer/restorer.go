package restorer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
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

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/internal/pattern"
	"github.com/lpse/cadang/snapshot/walker"
)

// OverwriteMode says what to do with files that already exist in the target.
type OverwriteMode uint8

// Overwrite modes.
const (
	OverwriteAlways    OverwriteMode = iota // replace existing files
	OverwriteIfChanged                      // replace unless size and mtime match
	OverwriteNever                          // keep existing files
)

// ParseOverwriteMode parses "always", "if-changed" or "never".
func ParseOverwriteMode(s string) (OverwriteMode, error) {
	switch s {
	case "always", "":
		return OverwriteAlways, nil
	case "if-changed":
		return OverwriteIfChanged, nil
	case "never":
		return OverwriteNever, nil
	}
	return 0, fmt.Errorf("invalid overwrite mode %q (want always, if-changed or never)", s)
}

func (m OverwriteMode) String() string {
	return [...]string{"always", "if-changed", "never"}[m]
}

// Restorer writes (part of) a snapshot into a directory.
type Restorer struct {
	Repo Repository
	// Include, if set, restores only paths matching one of these patterns
	// (and everything below a matching directory). Patterns are matched
	// against the paths in the snapshot (/srv/spse/x); the syntax is that
	// of archiver.Matcher.
	Include []string
	// Exclude skips matching paths (and everything below them).
	Exclude   []string
	Overwrite OverwriteMode
	// Verify re-reads every written file and checks its content.
	Verify bool
	// DryRun plans and reports but writes nothing.
	DryRun bool
	// NoOwner skips restoring file owners. Owners are restored only when
	// running as root anyway.
	NoOwner bool
	// Workers is the number of packs loaded and written at once (default
	// GOMAXPROCS, at least 2).
	Workers  int
	Progress RestoreProgress
}

// RestoreSummary is what a restore did.
type RestoreSummary struct {
	Start, End time.Time
	Files      uint64 // regular files restored (or to be restored in a dry run)
	Dirs       uint64
	Links      uint64 // hardlinks made
	Others     uint64 // symlinks, FIFOs, devices
	Skipped    uint64 // existing files kept because of the overwrite mode
	Bytes      uint64 // content bytes of the restored files
	Written    uint64 // content bytes actually written (holes are not written)
	Verified   uint64 // files verified
	// FailedFiles are the files whose content could not be restored (for
	// example because a blob is damaged); they are removed from the target.
	FailedFiles []string
	// Errors lists every problem, including metadata that could not be set.
	Errors []snapshot.ItemError
}

// ErrRestoreIncomplete is wrapped by a *RestoreError.
var ErrRestoreIncomplete = errors.New("restore incomplete")

// RestoreError is returned when some items could not be restored; the rest
// was restored.
type RestoreError struct {
	FailedFiles []string
	Errors      []snapshot.ItemError
}

func (e *RestoreError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "restore incomplete: %d file(s) failed, %d error(s)", len(e.FailedFiles), len(e.Errors))
	for i, ie := range e.Errors {
		if i == 10 {
			b.WriteString("\n  ...")
			break
		}
		fmt.Fprintf(&b, "\n  %s: %s", ie.Path, ie.Error)
	}
	return b.String()
}

// Unwrap returns ErrRestoreIncomplete.
func (e *RestoreError) Unwrap() error { return ErrRestoreIncomplete }

type rItem struct {
	spath, dst string
	node       *snapshot.Node
}

type rFile struct {
	rItem
	linkTo *rFile // a hardlink to an earlier file

	remaining atomic.Int64
	failed    atomic.Bool
	mu        sync.Mutex
	fd        int // open descriptor, or -1
	created   bool
	errMsg    string
}

type rTarget struct {
	file *rFile
	off  int64
}

type restoreRun struct {
	rs       *Restorer
	r        Repository
	progress RestoreProgress
	owner    bool
	hasher   BlobHasher
	// fresh is set when the target did not exist or was empty: nothing can
	// be in the way, so no item needs an existence check first.
	fresh bool
	umask uint32
	euid  int
	egid  int
	incl  *pattern.Matcher
	excl  *pattern.Matcher

	dirs   []rItem
	others []rItem
	files  []*rFile
	links  []*rFile

	sumMu   sync.Mutex
	sum     RestoreSummary
	written atomic.Uint64

	hashMu sync.Mutex
	hashes map[repo.ID][32]byte // for Verify without a BlobHasher
}

// Restore restores the snapshot's subpath ("" or "/" for all of it) into
// target. For the whole snapshot, a file backed up from /srv/spse/x is
// restored to target/srv/spse/x. For a subpath that is a directory, its
// contents go into target; for a file, it is restored as target/NAME.
//
// Items that cannot be restored are reported to Progress and listed; the
// error is then a *RestoreError. Files that use a damaged or missing blob
// fail alone: the rest is restored.
func (rs *Restorer) Restore(ctx context.Context, sn *snapshot.Snapshot, subpath, target string) (*RestoreSummary, error) {
	rr := &restoreRun{rs: rs, r: rs.Repo, progress: rs.Progress, hashes: map[repo.ID][32]byte{}}
	if rr.progress == nil {
		rr.progress = NopRestoreProgress{}
	}
	rr.owner = !rs.NoOwner && os.Geteuid() == 0
	rr.hasher, _ = rs.Repo.(BlobHasher)
	var err error
	if rr.incl, err = pattern.New(rs.Include); err != nil {
		return nil, err
	}
	if rr.excl, err = pattern.New(rs.Exclude); err != nil {
		return nil, err
	}
	rr.sum.Start = time.Now()
	target, err = filepath.Abs(target)
	if err != nil {
		return nil, err
	}

	// Find the subtree to restore.
	subpath = path.Clean("/" + subpath)
	if subpath == "/" {
		if err := rr.plan(ctx, sn.Tree, "/", target, rr.incl.Empty()); err != nil {
			return nil, err
		}
	} else {
		n, err := walker.FindNode(ctx, rs.Repo, sn.Tree, subpath)
		if err != nil {
			return nil, err
		}
		if n.Type == snapshot.TypeDir {
			if err := rr.plan(ctx, n.Subtree, subpath, target, rr.incl.Empty() || rr.incl.Match(subpath, true)); err != nil {
				return nil, err
			}
		} else {
			rr.planNode(n, subpath, filepath.Join(target, n.Name), rr.incl.Empty() || rr.incl.Match(subpath, false))
		}
	}
	rr.linkHardlinks()

	var total uint64
	for _, f := range rr.files {
		total += uint64(f.node.Size)
	}
	rr.progress.Planned(uint64(len(rr.files)), total)

	rr.fresh = isEmptyOrMissing(target)
	rr.euid, rr.egid = os.Geteuid(), os.Getegid()
	// umask is process-wide; it is read (set and put back) before any
	// worker starts, and tells which created modes need no chmod.
	rr.umask = uint32(unix.Umask(0o022))
	unix.Umask(int(rr.umask))
	if !rs.DryRun {
		if err := os.MkdirAll(target, 0o700); err != nil {
			return nil, err
		}
	}
	if err := rr.execute(ctx); err != nil {
		return nil, err
	}
	rr.sum.End = time.Now()
	rr.sum.Written = rr.written.Load()
	slices.Sort(rr.sum.FailedFiles)
	slices.SortFunc(rr.sum.Errors, func(a, b snapshot.ItemError) int { return strings.Compare(a.Path, b.Path) })
	if len(rr.sum.Errors) > 0 || len(rr.sum.FailedFiles) > 0 {
		return &rr.sum, &RestoreError{FailedFiles: rr.sum.FailedFiles, Errors: rr.sum.Errors}
	}
	return &rr.sum, nil
}

// plan walks a tree and records what to restore. It returns whether
// anything inside was selected.
func (rr *restoreRun) plan(ctx context.Context, tree repo.ID, spath, dst string, included bool) error {
	_, err := rr.planTree(ctx, tree, spath, dst, included)
	return err
}

func (rr *restoreRun) planTree(ctx context.Context, tree repo.ID, spath, dst string, included bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t, err := snapshot.LoadTree(ctx, rr.r, tree)
	if err != nil {
		rr.addError(spath, err)
		return false, nil
	}
	sel := false
	for _, n := range t.Nodes {
		sp := path.Join(spath, n.Name)
		d := filepath.Join(dst, n.Name)
		isDir := n.Type == snapshot.TypeDir
		if rr.excl.Match(sp, isDir) {
			continue
		}
		inc := included || rr.incl.Match(sp, isDir)
		if isDir {
			idx := len(rr.dirs)
			rr.dirs = append(rr.dirs, rItem{spath: sp, dst: d, node: n})
			sub, err := rr.planTree(ctx, n.Subtree, sp, d, inc)
			if err != nil {
				return false, err
			}
			if !sub && !inc {
				rr.dirs[idx].node = nil // not selected: do not create
			} else {
				sel = true
			}
			continue
		}
		if inc {
			rr.planNode(n, sp, d, true)
			sel = true
		}
	}
	return sel, nil
}

func (rr *restoreRun) planNode(n *snapshot.Node, sp, dst string, inc bool) {
	if !inc {
		return
	}
	if n.Type == snapshot.TypeFile {
		rr.files = append(rr.files, &rFile{rItem: rItem{spath: sp, dst: dst, node: n}, fd: -1})
		return
	}
	rr.others = append(rr.others, rItem{spath: sp, dst: dst, node: n})
}

// linkHardlinks turns every file that shares device and inode with an
// earlier one (and has a link count above one) into a link to it.
func (rr *restoreRun) linkHardlinks() {
	type di struct{ dev, ino uint64 }
	first := map[di]*rFile{}
	files := rr.files[:0]
	for _, f := range rr.files {
		n := f.node
		if n.Links > 1 && n.Inode != 0 {
			k := di{n.Device, n.Inode}
			if p, ok := first[k]; ok {
				f.linkTo = p
				rr.links = append(rr.links, f)
				continue
			}
			first[k] = f
		}
		files = append(files, f)
	}
	rr.files = files
}

func (rr *restoreRun) addError(p string, err error) {
	rr.progress.Error(p, err)
	rr.sumMu.Lock()
	rr.sum.Errors = append(rr.sum.Errors, snapshot.ItemError{Path: p, Error: err.Error()})
	rr.sumMu.Unlock()
}

func (rr *restoreRun) count(f func(s *RestoreSummary)) {
	rr.sumMu.Lock()
	f(&rr.sum)
	rr.sumMu.Unlock()
}

// prepare decides whether to write dst, removing an existing file when it
// is to be replaced. It returns false to skip the item.
func (rr *restoreRun) prepare(it rItem) (bool, error) {
	if rr.fresh {
		return true, nil
	}
	fi, err := os.Lstat(it.dst)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	switch rr.rs.Overwrite {
	case OverwriteNever:
		return false, nil
	case OverwriteIfChanged:
		if it.node.Type == snapshot.TypeFile && fi.Mode().IsRegular() && fi.Size() == it.node.Size && fi.ModTime().Equal(it.node.ModTime) {
			return false, nil
		}
		if it.node.Type == snapshot.TypeSymlink && fi.Mode()&os.ModeSymlink != 0 {
			if t, err := os.Readlink(it.dst); err == nil && t == it.node.LinkTarget {
				return false, nil
			}
		}
	}
	if fi.IsDir() {
		return false, fmt.Errorf("a directory is in the way")
	}
	if rr.rs.DryRun {
		return true, nil
	}
	if err := os.Remove(it.dst); err != nil {
		return false, err
	}
	return true, nil
}

func (rr *restoreRun) execute(ctx context.Context) error {
	dry := rr.rs.DryRun
	// 1. Directories, created private; their metadata is set last.
	for _, d := range rr.dirs {
		if d.node == nil {
			continue
		}
		if !dry && rr.fresh {
			// Parents come before children, so a plain mkdir does.
			if err := unix.Mkdir(d.dst, 0o700); err == nil || errors.Is(err, unix.EEXIST) {
				rr.sum.Dirs++
				continue
			}
		}
		if !dry {
			if fi, err := os.Lstat(d.dst); err == nil && !fi.IsDir() {
				if rr.rs.Overwrite == OverwriteAlways {
					_ = os.Remove(d.dst)
				}
			}
			if err := os.MkdirAll(d.dst, 0o700); err != nil {
				rr.addError(d.spath, err)
				continue
			}
		}
		rr.sum.Dirs++
	}
	// 2. Symlinks, FIFOs, devices.
	for _, o := range rr.others {
		if o.node.Type == snapshot.TypeSocket {
			continue // a socket cannot be restored; it is recreated by its server
		}
		ok, err := rr.prepare(o)
		if err != nil {
			rr.addError(o.spath, err)
			continue
		}
		if !ok {
			rr.sum.Skipped++
			rr.progress.CompleteItem(o.spath, o.node, true)
			continue
		}
		if !dry {
			if err := makeSpecial(o.dst, o.node); err != nil {
				rr.addError(o.spath, err)
				continue
			}
			if err := applyMetadata(o.dst, o.node, rr.chownNeeded(o.node)); err != nil {
				rr.addError(o.spath, err)
			}
		}
		rr.sum.Others++
		rr.progress.CompleteItem(o.spath, o.node, false)
	}
	// 3. Files: decide, then plan blobs by pack.
	type blobPlan struct {
		loc     repo.BlobLocation
		targets []rTarget
	}
	blobs := map[repo.ID]*blobPlan{}
	var packOrder []repo.ID
	packs := map[repo.ID][]repo.BlobLocation{}
	var toWrite []*rFile
	for _, f := range rr.files {
		ok, err := rr.prepare(f.rItem)
		if err != nil {
			rr.addError(f.spath, err)
			f.failed.Store(true)
			continue
		}
		if !ok {
			rr.sum.Skipped++
			f.failed.Store(true) // not restored now; links to it are skipped too
			f.errMsg = "skipped"
			rr.progress.CompleteItem(f.spath, f.node, true)
			continue
		}
		rr.sum.Files++
		rr.sum.Bytes += uint64(f.node.Size)
		var off int64
		for _, e := range f.node.Content {
			if !e.IsHole() {
				bp := blobs[e.ID]
				if bp == nil {
					bp = &blobPlan{}
					blobs[e.ID] = bp
					loc, ok := rr.r.LookupBlob(repo.DataBlob, e.ID)
					if ok {
						bp.loc = loc
						if _, seen := packs[loc.Pack]; !seen {
							packOrder = append(packOrder, loc.Pack)
						}
						packs[loc.Pack] = append(packs[loc.Pack], loc)
					}
				}
				bp.targets = append(bp.targets, rTarget{f, off})
				f.remaining.Add(1)
			}
			off += e.Size
		}
		toWrite = append(toWrite, f)
	}
	if dry {
		for _, f := range toWrite {
			rr.progress.CompleteItem(f.spath, f.node, false)
		}
		rr.sum.Links = uint64(len(rr.links))
		return nil
	}
	// Blobs the index does not know fail their files now.
	for id, bp := range blobs {
		if bp.loc.Pack.IsNull() {
			for _, t := range bp.targets {
				rr.fail(t.file, fmt.Errorf("data blob %s is not in the repository index", id.Short()))
			}
		}
	}
	// Files without any blob to load (empty or all holes) are done now.
	for _, f := range toWrite {
		if f.remaining.Load() == 0 {
			rr.finishFile(f)
		}
	}

	workers := rr.rs.Workers
	if workers <= 0 {
		workers = max(runtime.GOMAXPROCS(0), 2)
	}
	g, gctx := errgroup.WithContext(ctx)
	packCh := make(chan repo.ID)
	g.Go(func() error {
		defer close(packCh)
		for _, p := range packOrder {
			select {
			case packCh <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for i := 0; i < workers; i++ {
		g.Go(func() error {
			for p := range packCh {
				if err := rr.restorePack(gctx, p, packs[p], func(id repo.ID) []rTarget { return blobs[id].targets }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, f := range toWrite {
			f.close()
			// An unfinished file holds only part of its content: remove it
			// rather than leave it looking restored (interrupt, fatal error).
			if f.remaining.Load() > 0 && f.created {
				os.Remove(f.dst)
			}
		}
		return err
	}

	// 4. Hardlinks.
	for _, l := range rr.links {
		if l.linkTo.failed.Load() {
			if l.linkTo.errMsg != "skipped" {
				rr.addError(l.spath, fmt.Errorf("not linked: %s failed", l.linkTo.spath))
			}
			continue
		}
		ok, err := rr.prepare(l.rItem)
		if err != nil {
			rr.addError(l.spath, err)
			continue
		}
		if !ok {
			rr.sum.Skipped++
			continue
		}
		if err := os.Link(l.linkTo.dst, l.dst); err != nil {
			rr.addError(l.spath, err)
			continue
		}
		rr.sum.Links++
		rr.progress.CompleteItem(l.spath, l.node, false)
	}
	// 5. Directory metadata, deepest first, after their contents.
	for i := len(rr.dirs) - 1; i >= 0; i-- {
		d := rr.dirs[i]
		if d.node == nil {
			continue
		}
		if err := applyMetadata(d.dst, d.node, rr.chownNeeded(d.node)); err != nil {
			rr.addError(d.spath, err)
		}
		rr.progress.CompleteItem(d.spath, d.node, false)
	}
	return nil
}

// restorePack loads the needed blobs of one pack and writes them into
// their files.
func (rr *restoreRun) restorePack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, targets func(repo.ID) []rTarget) error {
	done := make(map[repo.ID]bool, len(locs))
	err := rr.r.LoadBlobsFromPack(ctx, pack, locs, func(loc repo.BlobLocation, data []byte, err error) error {
		if done[loc.ID] {
			return nil
		}
		done[loc.ID] = true
		ts := targets(loc.ID)
		if err == nil && rr.hasher == nil && rr.rs.Verify {
			h := sha256.Sum256(data)
			rr.hashMu.Lock()
			rr.hashes[loc.ID] = h
			rr.hashMu.Unlock()
		}
		for _, t := range ts {
			if err != nil {
				rr.fail(t.file, err) // names the pack and the blob
			} else if werr := t.file.writeAt(data, t.off); werr != nil {
				rr.fail(t.file, werr)
			} else {
				rr.written.Add(uint64(len(data)))
				rr.progress.BytesWritten(uint64(len(data)))
			}
			if t.file.remaining.Add(-1) == 0 {
				rr.finishFile(t.file)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pack could not be read: fail whatever it did not deliver.
		for _, l := range locs {
			if done[l.ID] {
				continue
			}
			done[l.ID] = true
			for _, t := range targets(l.ID) {
				rr.fail(t.file, err) // names the pack
				if t.file.remaining.Add(-1) == 0 {
					rr.finishFile(t.file)
				}
			}
		}
	}
	return nil
}

func (rr *restoreRun) fail(f *rFile, err error) {
	f.mu.Lock()
	first := !f.failed.Load()
	f.failed.Store(true)
	if first {
		f.errMsg = err.Error()
	}
	f.mu.Unlock()
	if first {
		rr.addError(f.spath, err)
		rr.sumMu.Lock()
		rr.sum.FailedFiles = append(rr.sum.FailedFiles, f.spath)
		rr.sumMu.Unlock()
	}
}

// open creates the file on first use, with its final permission bits, and
// sets its full size when it ends in a hole (so holes stay holes). Files
// are written through the raw descriptor: os.OpenFile would add four
// fcntl calls and a failed epoll registration to every one of them.
func (f *rFile) open() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		return f.fd, nil
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC
	if !f.created {
		flags |= unix.O_TRUNC | unix.O_EXCL
	}
	fd, err := unix.Open(f.dst, flags, f.node.Mode&0o777)
	if err != nil {
		return -1, &os.PathError{Op: "create", Path: f.dst, Err: err}
	}
	if !f.created {
		if endsInHole(f.node) {
			if err := unix.Ftruncate(fd, f.node.Size); err != nil {
				unix.Close(fd)
				return -1, &os.PathError{Op: "truncate", Path: f.dst, Err: err}
			}
		}
		f.created = true
	}
	f.fd = fd
	return fd, nil
}

// endsInHole reports whether writing a node's data extents leaves the file
// shorter than its size.
func endsInHole(n *snapshot.Node) bool {
	return len(n.Content) > 0 && n.Content[len(n.Content)-1].IsHole()
}

func (f *rFile) writeAt(data []byte, off int64) error {
	if f.failed.Load() {
		return nil
	}
	fd, err := f.open()
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n, err := unix.Pwrite(fd, data, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: f.dst, Err: err}
		}
		data, off = data[n:], off+int64(n)
	}
	return nil
}

func (f *rFile) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.dst, Err: err}
	}
	return nil
}

// finishFile runs once per file after its last blob: close, then remove it
// if it failed, or set metadata and verify.
func (rr *restoreRun) finishFile(f *rFile) {
	if f.failed.Load() {
		f.close()
		if f.created {
			os.Remove(f.dst)
		}
		return
	}
	fd, err := f.open() // also creates empty and all-hole files
	if err != nil {
		rr.fail(f, err)
		return
	}
	// Metadata goes through the open descriptor: no path lookups, and the
	// times are set after the last write.
	merr := rr.fileMetadata(fd, f)
	if err := f.close(); err != nil {
		rr.fail(f, err)
		os.Remove(f.dst)
		return
	}
	if rr.rs.Verify {
		if err := rr.verify(f); err != nil {
			rr.fail(f, err)
			return
		}
		rr.count(func(s *RestoreSummary) { s.Verified++ })
	}
	if merr != nil {
		rr.addError(f.spath, merr)
	}
	rr.progress.CompleteItem(f.spath, f.node, false)
}

// verify re-reads a written file and checks each data extent's hash and the
// file size.
func (rr *restoreRun) verify(f *rFile) error {
	fh, err := os.Open(f.dst)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != f.node.Size {
		return fmt.Errorf("verify: size is %d, want %d", fi.Size(), f.node.Size)
	}
	var buf []byte
	var off int64
	for _, e := range f.node.Content {
		if e.IsHole() {
			off += e.Size
			continue
		}
		if int64(cap(buf)) < e.Size {
			buf = make([]byte, e.Size)
		}
		b := buf[:e.Size]
		if _, err := fh.ReadAt(b, off); err != nil && err != io.EOF {
			return fmt.Errorf("verify: %w", err)
		}
		if rr.hasher != nil {
			if rr.hasher.BlobID(b) != e.ID {
				return fmt.Errorf("verify: content at offset %d does not match blob %s", off, e.ID.Short())
			}
		} else {
			rr.hashMu.Lock()
			want, ok := rr.hashes[e.ID]
			rr.hashMu.Unlock()
			if !ok || sha256.Sum256(b) != want {
				return fmt.Errorf("verify: content at offset %d does not match blob %s", off, e.ID.Short())
			}
		}
		off += e.Size
	}
	return nil
}
