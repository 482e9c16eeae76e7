// Package local stores a repository in a directory of the local filesystem.
//
// Layout under the root:
//
//	config
//	keys/<name>
//	data/<first two hex digits of name>/<name>
//	index/<name>
//	snapshots/<name>
//	locks/<name>
//	records/<name>
//
// A file is written under a temporary name (".tmp-" and random hex) in its
// final directory, fsynced, made read-only, hard-linked to its final name
// (which never replaces an existing file), and the directory is fsynced. A
// reader never sees a partial file, and a failed Save leaves nothing under
// the final name. Files are never modified in place.
//
// A process killed during Save can leave its temporary file behind;
// SweepTemp finds and removes those.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/readahead"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
)

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o400 // saved files are read-only
	tmpMode  fs.FileMode = 0o600
)

// Backend is a repository in a local directory. It is safe for concurrent
// use, also by several processes.
type Backend struct {
	root string

	// asyncIO, set up by the first save written straight to the disk (a
	// pack, or any other file of directMin or more), is nil where the kernel
	// has no asynchronous I/O for us (aio.go); syncIO keeps it off (tests).
	// aioUp holds it once set up: the fsyncs use it only then.
	aioOnce    sync.Once
	aioUp      atomic.Pointer[asyncIO]
	aioCleanup runtime.Cleanup
	syncIO     bool
}

var _ backend.Backend = (*Backend)(nil)

// Create makes a new repository layout at path: the directory itself (which
// must be missing or empty) and the subdirectories of every file type,
// including all 256 pack fan-out directories. It does not write the config;
// that is the caller's last Save. A directory that holds only what an
// interrupted create left (the empty layout, key files written before the
// config, and the config under its temporary name) counts as empty: Create
// finishes it; so does one whose create another process is finishing. The
// old key files stay; they open no config, and repo.Open passes over them.
func Create(ctx context.Context, path string) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create repository %s: %w", path, err)
	}
	// A repository inside another's layout (-r .../cadang/data/cadang)
	// would be listed, and its files taken for junk, by that one.
	if at := repositoryAbove(path); at != "" {
		return nil, fmt.Errorf("create repository %s: it is inside the cadang repository at %s: %w", path, at, ErrInsideRepository)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("create repository %s: exists and is not a directory", path)
	case err == nil:
		if _, err := os.Lstat(filepath.Join(path, "config")); err == nil {
			return nil, fmt.Errorf("create repository: %w at %s", backend.ErrRepositoryExists, path)
		}
		empty, err := isEmptyDir(path)
		if err != nil {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
		if !empty {
			left, err := leftByCreate(path)
			if err != nil {
				return nil, fmt.Errorf("create repository %s: %w", path, err)
			}
			if !left {
				return nil, fmt.Errorf("create repository %s: %w", path, ErrNotEmpty)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(path, dirMode); err != nil {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("create repository %s: %w", path, err)
	}
	b := &Backend{root: path}
	dirs := make([]string, 0, len(handle.Types)+1)
	for _, t := range handle.Types {
		if t != backend.ConfigFile {
			dirs = append(dirs, filepath.Join(path, string(t)))
		}
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
	}
	dataDir := filepath.Join(path, string(backend.PackFile))
	for i := range 256 {
		d := filepath.Join(dataDir, fmt.Sprintf("%02x", i))
		if err := os.Mkdir(d, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
	}
	// Make the new directories durable: their entries live in data/ and the root.
	for _, d := range []string{dataDir, path, filepath.Dir(path)} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
	}
	return b, nil
}

// Open opens the repository at path. If the directory or its config file is
// missing, the error wraps backend.ErrNoRepository and names the path.
func Open(ctx context.Context, path string) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("open repository %s: directory not found: %w", path, backend.ErrNoRepository)
	case err != nil:
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open repository %s: not a directory: %w", path, backend.ErrNoRepository)
	}
	cfg := filepath.Join(path, string(backend.ConfigFile))
	fi, err = os.Stat(cfg)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		names, _ := readNames(path, 64)
		// Before the hints below, which suggest a new repository: one
		// a level off (-r naming its data/, or the medium it is on) is
		// what the administrator meant.
		if err := nearbyRepository(path, names); err != nil {
			return nil, err
		}
		switch {
		case len(names) == 0 || slices.ContainsFunc(names, isLayoutDir):
			// Empty, or a repository whose init did not finish.
		case slices.ContainsFunc(names, isOtherFile):
			// -r naming the data instead of the medium, or a medium's
			// root: say so, as the hint that follows suggests 'cadang
			// init', which refuses a directory that is not empty.
			return nil, fmt.Errorf("open repository %s: no config file, and the directory holds other files: if it is the data, -r names the wrong directory; if it is a new medium's root, make the repository in a directory below it (-r %s): %w",
				path, filepath.Join(path, "cadang"), backend.ErrNoRepository)
		default:
			// lost+found or hidden files: a new medium's root.
			return nil, fmt.Errorf("open repository %s: no config file (a new medium's root? make the repository in a directory below it, -r %s, as init refuses a directory that is not empty): %w",
				path, filepath.Join(path, "cadang"), backend.ErrNoRepository)
		}
		return nil, fmt.Errorf("open repository %s: no config file: %w", path, backend.ErrNoRepository)
	case err != nil:
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("open repository %s: %s is not a regular file", path, cfg)
	}
	return &Backend{root: path}, nil
}

// OpenOrCreate opens the repository at path, or, when path is missing or an
// empty directory, creates the layout there (as Create does) so that
// repo.OpenOrInit can write a new repository into it. A directory that
// holds other files but no config is refused: it is not ours to fill.
func OpenOrCreate(ctx context.Context, path string) (*Backend, error) {
	b, err := Open(ctx, path)
	if err == nil || !errors.Is(err, backend.ErrNoRepository) {
		return b, err
	}
	b, err = Create(ctx, path)
	if err != nil {
		// Another process may have created the repository meanwhile (two
		// `backup --init` on a fresh medium): its config makes the
		// directory "not empty" for Create, and is ours to open.
		if ob, oerr := Open(ctx, path); oerr == nil {
			return ob, nil
		}
		return nil, err
	}
	return b, nil
}

// Location returns the repository's root directory.
func (b *Backend) Location() string { return b.root }

// Close releases the backend's asynchronous I/O context, once the
// operations in flight are done. Saves after Close make the plain system
// calls.
func (b *Backend) Close() error {
	b.aioOnce.Do(func() {})
	if a := b.aioUp.Load(); a != nil {
		b.aioCleanup.Stop()
		a.close()
	}
	return nil
}

// async returns the backend's asynchronous I/O, setting it up on first use,
// or nil where there is none.
func (b *Backend) async() *asyncIO {
	b.aioOnce.Do(func() {
		if b.syncIO {
			return
		}
		if a := newAsyncIO(); a != nil {
			// A backend dropped without Close gives the eventfd back
			// when it is collected (its context goes when idle). Not on
			// the runtime's cleanup goroutine: io_destroy may wait.
			b.aioCleanup = runtime.AddCleanup(b, func(a *asyncIO) { go a.close() }, a)
			b.aioUp.Store(a)
		}
	})
	return b.aioUp.Load()
}

// Path returns the file name h is stored under, for messages and for tests
// that damage files on disk. It does not validate h.
func (b *Backend) Path(h backend.Handle) string {
	switch {
	case h.Type == backend.ConfigFile:
		return filepath.Join(b.root, string(backend.ConfigFile))
	case h.Type == backend.PackFile && len(h.Name) >= 2:
		return filepath.Join(b.root, string(h.Type), h.Name[:2], h.Name)
	default:
		return filepath.Join(b.root, string(h.Type), h.Name)
	}
}

// testHookBeforeLink, when set by a test, runs after the temporary file is
// complete and before it is linked to its final name.
var testHookBeforeLink func(tmp string)

// Save writes data under h atomically. If h already exists with the same
// bytes, Save succeeds (names are content hashes, so this is a retry); if it
// exists with other bytes, the error wraps fs.ErrExist and the file is left
// alone. A failed Save leaves neither a file under h's name (unless one was
// there before) nor a temporary file.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	commit, err := b.Stage(ctx, h, data)
	if err != nil {
		return err
	}
	return commit(ctx)
}

// Stage writes data to a new temporary file beside h's final name; the
// commit it returns syncs the file, links it to its name and syncs the
// directory (backend.Stager). Writing and syncing are apart so that a
// repository can fill its next pack while the disk makes the last one
// durable, without holding a second pack buffer for it.
func (b *Backend) Stage(ctx context.Context, h backend.Handle, data []byte) (func(context.Context) error, error) {
	if err := handle.Valid(h); err != nil {
		return nil, fmt.Errorf("save %s: %w", h, err)
	}
	final := b.Path(h)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("save %s: %w", final, err)
	}
	dir := filepath.Dir(final)
	if _, err := os.Lstat(final); err == nil {
		// A retry of a save that succeeded: no need to write it again.
		if err := sameContent(final, data); err != nil {
			return nil, fmt.Errorf("save %s: %w", final, err)
		}
		return func(context.Context) error { return nil }, nil
	}

	f, tmp, err := createTemp(dir)
	if errors.Is(err, fs.ErrNotExist) && h.Type != backend.ConfigFile {
		// A copy of the repository (rsync, rclone, cloud sync) may have
		// dropped empty directories; recreate them rather than fail.
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("save %s: %w", final, err)
		}
		f, tmp, err = createTemp(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", final, err)
	}
	if err := b.writeData(f, data); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("save %s: %w", final, err)
	}
	var once sync.Once
	var cerr error
	return func(ctx context.Context) error {
		once.Do(func() { cerr = b.commitTemp(ctx, f, tmp, final, dir) })
		return cerr
	}, nil
}

// commitTemp finishes a save whose data is written to the open file f,
// named tmp: it syncs and closes f, links it to final and syncs dir. On
// failure nothing is left under final that was not there before.
func (b *Backend) commitTemp(ctx context.Context, f *os.File, tmp, final, dir string) error {
	err := b.syncClose(f)
	if err == nil {
		err = os.Chmod(tmp, fileMode)
	}
	if err == nil && testHookBeforeLink != nil {
		testHookBeforeLink(tmp)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save %s: %w", final, err)
	}

	created, err := linkNoReplace(tmp, final)
	if err == nil && !created {
		// Another writer (or an earlier try) saved this name meanwhile:
		// the data is in tmp, the caller's buffer may be reused by now.
		err = sameFiles(final, tmp)
	}
	if rmErr := removeFile(tmp); rmErr != nil && err == nil && !created {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", final, err)
	}
	if !created {
		return nil
	}
	if err := b.syncDir(dir); err != nil {
		_ = removeFile(final)
		return fmt.Errorf("save %s: %w", final, err)
	}
	return nil
}

var _ backend.Stager = (*Backend)(nil)

// createTemp creates a new temporary file in dir.
func createTemp(dir string) (*os.File, string, error) {
	for range 10 {
		var r [8]byte
		_, _ = rand.Read(r[:])
		name := filepath.Join(dir, handle.TempPrefix+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tmpMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("create temporary file in %s: too many collisions", dir)
}

// writeData writes data to the new file f: the whole blocks straight to
// the disk where the file system allows it, the rest through the page
// cache.
func (b *Backend) writeData(f *os.File, data []byte) error {
	var done int
	var err error
	// Only a save written straight to the disk (a pack's, directEligible)
	// sets the asynchronous I/O up: a context costs
	// its process an RCU grace period (30-45 ms on the benchmark VM) when
	// it is given back or the process exits, which a command that saves
	// only a lock and a record (check, restore, an unchanged backup)
	// would pay for nothing.
	if a := b.asyncFor(data); a != nil &&
		unix.Fallocate(int(f.Fd()), 0, 0, int64(len(data))) == nil {
		// Reserved, the blocks are written without extending the file,
		// which io_submit does not block on (aio.go).
		done, err = writeDirectWith(f, data, a.pwrite)
	} else {
		done, err = writeDirect(f, data)
	}
	if err == nil {
		_, err = f.Write(data[done:])
	}
	return err
}

// syncClose makes f's data durable and closes it.
func (b *Backend) syncClose(f *os.File) error {
	err := b.fsync(f)
	if err == nil {
		// The file is on disk: let the kernel drop its pages now rather
		// than evict what the server itself keeps cached (the database's
		// pages) to hold a backup's packs, which nothing reads soon.
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// linkNoReplace gives the complete file tmp the name final without ever
// replacing an existing final. created is false when final already existed.
// tmp is left in place for the caller to remove.
func linkNoReplace(tmp, final string) (created bool, err error) {
	err = os.Link(tmp, final)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if !linkUnsupported(err) {
		return false, err
	}
	// The filesystem has no hard links (FAT, some network and FUSE
	// filesystems): fall back to check-then-rename. Two processes saving
	// the same name at the same instant may then both succeed, the second
	// replacing the first; since names are hashes of the content, the
	// bytes are the same.
	if _, err := os.Lstat(final); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	// Rename consumes tmp; the caller's removal of tmp then fails, which
	// Save ignores because the file was created.
	if err := os.Rename(tmp, final); err != nil {
		return false, err
	}
	return true, nil
}

func linkUnsupported(err error) bool {
	// ENOTSUP and EOPNOTSUPP are the same number on Linux, not elsewhere.
	for _, e := range []syscall.Errno{syscall.EPERM, syscall.ENOSYS, syscall.EOPNOTSUPP, syscall.ENOTSUP, syscall.EMLINK, syscall.EXDEV} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// sameContent succeeds if the existing file at path holds exactly data;
// otherwise its error wraps fs.ErrExist.
func sameContent(path string, data []byte) error {
	return sameAs(path, int64(len(data)), bytes.NewReader(data))
}

// sameFiles is sameContent for data already written to the file tmp (the
// caller's buffer may be reused by then).
func sameFiles(path, tmp string) error {
	t, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer t.Close()
	ti, err := t.Stat()
	if err != nil {
		return err
	}
	return sameAs(path, ti.Size(), t)
}

// sameAs compares the file at path with the size bytes of r, a MiB at a
// time (a pack may be hundreds of MiB).
func sameAs(path string, size int64, r io.Reader) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("file exists with a different size (%d bytes, not %d): %w", fi.Size(), size, fs.ErrExist)
	}
	const chunk = 1 << 20
	a, b := make([]byte, min(chunk, size)), make([]byte, min(chunk, size))
	for off := int64(0); off < size; {
		n := int(min(int64(len(a)), size-off))
		if _, err := io.ReadFull(r, a[:n]); err != nil {
			return err
		}
		if _, err := io.ReadFull(f, b[:n]); err != nil {
			return err
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("file exists with different content: %w", fs.ErrExist)
		}
		off += int64(n)
	}
	return nil
}

// Load returns length bytes of h from offset; length 0 means to the end. A
// range beyond the end of the file is an error wrapping io.ErrUnexpectedEOF.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	return b.loadSpan(ctx, h, func(size int64) (int64, int64, error) {
		end, err := handle.CheckRange(size, offset, length)
		return offset, end, err
	})
}

// LoadMax implements backend.MaxLoader: the file's size is taken from
// the open file, so that nothing is allocated for one larger than max.
func (b *Backend) LoadMax(ctx context.Context, h backend.Handle, max int64) ([]byte, error) {
	return b.loadSpan(ctx, h, func(size int64) (int64, int64, error) {
		if size > max {
			return 0, 0, &backend.TooLargeError{File: h, Size: size, Max: max}
		}
		return 0, size, nil
	})
}

// loadSpan opens h and reads the bytes [start, end) that span picks from
// the open file's size, allocating nothing before span has approved it.
func (b *Backend) loadSpan(ctx context.Context, h backend.Handle, span func(size int64) (start, end int64, err error)) ([]byte, error) {
	f, path, err := b.openForLoad(ctx, h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	start, end, err := span(fi.Size())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	buf := make([]byte, end-start)
	if err := readFullAt(f, path, buf, start); err != nil {
		return nil, err
	}
	return buf, nil
}

var _ backend.MaxLoader = (*Backend)(nil)

// LoadInto implements backend.BufferLoader: Load without the allocation.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, buf []byte) error {
	f, path, err := b.openForLoad(ctx, h)
	if err != nil {
		return err
	}
	defer f.Close()
	return readFullAt(f, path, buf, offset)
}

var _ backend.BufferLoader = (*Backend)(nil)

// Prefetch asks the kernel to read length bytes of h at offset (0: to the
// end) into the page cache in the background (backend.Prefetcher).
// Asking for a whole pack costs one call per 128 KiB.
func (b *Backend) Prefetch(ctx context.Context, h backend.Handle, offset, length int64) {
	if handle.Valid(h) != nil || ctx.Err() != nil {
		return
	}
	// O_NONBLOCK: a FIFO planted at a pack's name must not hang the
	// goroutine that hands out the loads (the load itself reports it).
	fd, err := unix.Open(b.Path(h), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return // the load that follows reports it
	}
	defer unix.Close(fd)
	if length <= 0 {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Size <= offset {
			return
		}
		length = st.Size - offset
	}
	readahead.WillNeed(fd, offset, length)
}

var _ backend.Prefetcher = (*Backend)(nil)

func (b *Backend) openForLoad(ctx context.Context, h backend.Handle) (*os.File, string, error) {
	if err := handle.Valid(h); err != nil {
		return nil, "", fmt.Errorf("load %s: %w", h, err)
	}
	path := b.Path(h)
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("load %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", b.wrap("load", path, err)
	}
	return f, path, nil
}

// readFullAt fills buf from offset; a short file is io.ErrUnexpectedEOF.
func readFullAt(f *os.File, path string, buf []byte, offset int64) error {
	n, err := f.ReadAt(buf, offset)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("load %s: read %d of %d bytes at offset %d: %w", path, n, len(buf), offset, err)
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	fi, err := b.stat(ctx, h)
	if err != nil {
		return backend.FileInfo{}, err
	}
	return backend.FileInfo{Name: h.Name, Size: fi.Size()}, nil
}

// stat checks h and returns its file's information.
func (b *Backend) stat(ctx context.Context, h backend.Handle) (os.FileInfo, error) {
	if err := handle.Valid(h); err != nil {
		return nil, fmt.Errorf("stat %s: %w", h, err)
	}
	path := b.Path(h)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, b.wrap("stat", path, err)
	}
	return fi, nil
}

// Remove deletes h; a missing file gives an error wrapping
// backend.ErrNotExist.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	path := b.Path(h)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	if err := removeFile(path); err != nil {
		return b.wrap("remove", path, err)
	}
	return nil
}

// removeFile removes path. A read-only file is removable on Unix as long as
// its directory is writable; Windows refuses, so make it writable first.
func removeFile(path string) error {
	err := os.Remove(path)
	if err != nil && runtime.GOOS == "windows" && errors.Is(err, fs.ErrPermission) {
		if os.Chmod(path, tmpMode) == nil {
			err = os.Remove(path)
		}
	}
	return err
}

// List calls fn for every file of type t. Temporary files are skipped, as
// are files removed while List runs. For ConfigFile it calls fn once, with
// an empty name, if the config exists.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !handle.ValidType(t) {
		return fmt.Errorf("list %q: unknown file type", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", filepath.Join(b.root, string(t)), err)
	}
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
		if backend.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		return fn(fi)
	}
	dir := filepath.Join(b.root, string(t))
	if t != backend.PackFile {
		return listDir(ctx, dir, fn)
	}
	subdirs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, sd := range subdirs {
		if !sd.IsDir() || len(sd.Name()) != 2 {
			continue
		}
		if err := listDir(ctx, filepath.Join(dir, sd.Name()), fn); err != nil {
			return err
		}
	}
	return nil
}

// listDir calls fn for each regular, non-temporary file in dir, reading the
// directory in batches so a huge one is not held in memory twice.
func listDir(ctx context.Context, dir string, fn func(backend.FileInfo) error) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a dropped empty directory: see Save
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	defer d.Close()
	for {
		entries, err := d.ReadDir(1024)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list %s: %w", dir, err)
			}
			name := e.Name()
			if name == "" || name[0] == '.' || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("list %s: %w", dir, err)
			}
			if err := fn(backend.FileInfo{Name: name, Size: fi.Size()}); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
	}
}

// wrap turns a missing file into backend.ErrNotExist and names the path.
func (b *Backend) wrap(op, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", op, path, backend.ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// asyncFor returns the asynchronous I/O for writing data straight to the
// disk, or nil where data is not written so (directEligible) or there is
// none.
func (b *Backend) asyncFor(data []byte) *asyncIO {
	if !directEligible(data) {
		return nil
	}
	return b.async()
}

// fsync makes f durable, through the backend's asynchronous I/O where a
// direct write has set it up.
func (b *Backend) fsync(f *os.File) error {
	if a := b.aioUp.Load(); a != nil {
		return a.fsync(f)
	}
	return f.Sync()
}

// syncDir fsyncs a directory so the entries created in it are durable.
// Filesystems and systems that cannot sync a directory (Windows, some
// network filesystems) report EINVAL or ENOTSUP; those are ignored.
func syncDir(dir string) error { return syncDirWith(dir, (*os.File).Sync) }

// syncDir is the package's syncDir, through the backend's asynchronous I/O.
func (b *Backend) syncDir(dir string) error { return syncDirWith(dir, b.fsync) }

func syncDirWith(dir string, sync func(*os.File) error) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = sync(d)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// leftByCreate reports whether path holds only what an interrupted
// create can leave: the layout's directories, with no file in them but key
// files (a repository writes its key before its config, and a lone key
// file opens nothing). Creating over that finishes the job; anything else
// in the directory is someone's data.
func leftByCreate(path string) (bool, error) {
	known := map[string]bool{}
	for _, t := range handle.Types {
		known[string(t)] = true
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if isTempFile(e) {
			// A config being written: another process's create that is
			// about to finish (two `backup --init` on a fresh medium; the
			// loser's init then opens the winner's repository), or one
			// that was killed before it linked the config.
			continue
		}
		if !e.IsDir() || !known[e.Name()] {
			return false, nil
		}
		sub := filepath.Join(path, e.Name())
		inner, err := os.ReadDir(sub)
		if err != nil {
			return false, err
		}
		for _, f := range inner {
			switch {
			case e.Name() == string(backend.KeyFile) && f.Type().IsRegular():
			case e.Name() == string(backend.PackFile) && f.IsDir():
				if empty, err := isEmptyDir(filepath.Join(sub, f.Name())); err != nil || !empty {
					return false, err
				}
			default:
				return false, nil
			}
		}
	}
	return true, nil
}

// isTempFile reports whether e is a regular file named as this backend
// names a file it is writing (createTemp): ".tmp-" and 16 hex digits.
func isTempFile(e fs.DirEntry) bool {
	rest, ok := strings.CutPrefix(e.Name(), handle.TempPrefix)
	if !ok || len(rest) != 16 || !e.Type().IsRegular() {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

func isEmptyDir(path string) (bool, error) {
	d, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// ModTime returns when h was last modified. Repositories use it to judge a
// lock file that cannot be read by its age.
func (b *Backend) ModTime(ctx context.Context, h backend.Handle) (time.Time, error) {
	fi, err := b.stat(ctx, h)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// SweepTemp returns the paths of temporary files (see Save) last modified
// before cutoff, and removes them if remove is set. Such files are left by
// a process killed during Save; nothing else removes them. The caller picks
// a cutoff far older than any Save takes, since a file still being written
// looks the same.
func (b *Backend) SweepTemp(ctx context.Context, cutoff time.Time, remove bool) ([]string, error) {
	dirs := []string{b.root}
	for _, t := range handle.Types {
		if t != backend.ConfigFile && t != backend.PackFile {
			dirs = append(dirs, filepath.Join(b.root, string(t)))
		}
	}
	dataDir := filepath.Join(b.root, string(backend.PackFile))
	dirs = append(dirs, dataDir)
	subdirs, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sweep %s: %w", dataDir, err)
	}
	for _, sd := range subdirs {
		if sd.IsDir() && len(sd.Name()) == 2 {
			dirs = append(dirs, filepath.Join(dataDir, sd.Name()))
		}
	}
	var found []string
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return found, fmt.Errorf("sweep %s: %w", dir, err)
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a dropped empty directory: see Save
		}
		if err != nil {
			return found, fmt.Errorf("sweep %s: %w", dir, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), handle.TempPrefix) || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // its Save finished meanwhile
			}
			if err != nil {
				return found, fmt.Errorf("sweep %s: %w", dir, err)
			}
			if !fi.ModTime().Before(cutoff) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if remove {
				if err := removeFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return found, fmt.Errorf("sweep: remove %s: %w", path, err)
				}
			}
			found = append(found, path)
		}
	}
	return found, nil
}

// writeDirect writes the whole 4 KiB blocks at the start of data with
// O_DIRECT, when data is large and page-aligned (pack buffers are), and
// returns how many bytes it wrote; the caller writes the rest as usual.
// The kernel then neither copies those bytes into the page cache nor has
// to reclaim the pages afterwards: on the 1 GB first backup that took
// 0.2-0.5 s of system time off 8-9 s of CPU (bench/README.md, issue 16).
// A refusal (a filesystem without O_DIRECT, such as tmpfs, answers
// EINVAL) or a short write just ends the direct part early.
func writeDirect(f *os.File, data []byte) (int, error) {
	return writeDirectWith(f, data, unix.Pwrite)
}

// writeDirectWith is writeDirect with the pwrite to use, so that tests can
// cut writes short.
func writeDirectWith(f *os.File, data []byte, pwrite func(fd int, p []byte, off int64) (int, error)) (int, error) {
	const block = 4096
	n := len(data) &^ (block - 1)
	if !directEligible(data) {
		return 0, nil
	}
	fd := f.Fd()
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		return 0, nil
	}
	if _, err := unix.FcntlInt(fd, unix.F_SETFL, fl|unix.O_DIRECT); err != nil {
		return 0, nil
	}
	// pwrite at explicit offsets: a short or failed direct write may have
	// moved the file offset past what it reports, and the buffered tail
	// must land exactly at done.
	done := 0
	for done < n {
		w, err := pwrite(int(fd), data[done:n], int64(done))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || w <= 0 {
			break
		}
		done += w &^ (block - 1) // a partial block is written again below
		if w%block != 0 {
			break
		}
	}
	if _, err := unix.FcntlInt(fd, unix.F_SETFL, fl); err != nil {
		return done, fmt.Errorf("clear O_DIRECT: %w", err)
	}
	if _, err := unix.Seek(int(fd), int64(done), io.SeekStart); err != nil {
		return done, fmt.Errorf("seek after direct write: %w", err)
	}
	return done, nil
}

// directEligible reports whether writeDirect writes a part of data: it is
// large and page-aligned.
func directEligible(data []byte) bool {
	return len(data) >= directMin && uintptr(unsafe.Pointer(unsafe.SliceData(data)))%4096 == 0
}

// directMin is the smallest file written with O_DIRECT: packs, not the
// small files (index, snapshots, locks) whose few blocks it would not pay
// to write around the page cache.
const directMin = 1 << 20

// ErrInsideRepository is wrapped by Create's error for a directory inside
// another repository's layout.
var ErrInsideRepository = errors.New("a repository is not made inside another's own directories (data/, keys/, snapshots/ and the like)")

// ErrNotEmpty is wrapped by Create's error for a directory that holds
// files: a repository is made in an empty or new directory (the CLI's hint
// suggests one below a medium's root).
var ErrNotEmpty = errors.New("directory is not empty")

// isLayoutDir tells a directory of a repository's layout (one whose init
// did not finish has them, but no config) from the files of other data.
func isLayoutDir(name string) bool {
	switch name {
	case "data", "index", "keys", "snapshots", "locks":
		return true
	}
	return false
}

// isOtherFile tells a file of other data from what a new file system has
// in its root (lost+found) and hidden files (.Trash-0, .DS_Store).
func isOtherFile(name string) bool { return name != "lost+found" && !strings.HasPrefix(name, ".") }

// readNames returns up to n names of the directory's entries.
func readNames(dir string, n int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(n)
}
