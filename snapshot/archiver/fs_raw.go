package archiver

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/readahead"
)

// rawFile is a read-only file used by the archiver. It bypasses os.File
// because os.OpenFile spends four fcntl calls, an fstat and a failed
// epoll registration on every regular file: at 25,000 small files that is
// a quarter of a second of CPU for nothing.
type rawFile struct {
	fd   int
	name string
	// probe, when set, is told whether the first read found its bytes in
	// the page cache (ProbeCache). Atomic: the segments of a large file
	// are read by several goroutines at once.
	probe atomic.Pointer[readAdvice]
}

func openRaw(name string) (*rawFile, error) {
	// O_NONBLOCK: if the file was replaced by a FIFO since lstat, opening
	// it must not wait for a writer (the fstat that follows sees the new
	// inode); on regular files the flag changes nothing.
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
	fd, err := openNoIntr(name, flags|unix.O_NOATIME)
	if err == unix.EPERM { // O_NOATIME is only allowed to the owner (or root)
		fd, err = openNoIntr(name, flags)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &rawFile{fd: fd, name: name}, nil
}

func openNoIntr(name string, flags int) (int, error) {
	for {
		fd, err := unix.Open(name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// prefetcher is implemented by files that can start reading their first
// blocks before they are asked for (rawFile).
type prefetcher interface {
	Prefetch(size int64)
}

var _ prefetcher = (*rawFile)(nil)

// aheadMax bounds what Prefetch asks the kernel to read: a small file
// whole, the start of a large one, whose sequential reads the kernel's own
// readahead then follows.
const aheadMax = 1 << 20

// Prefetch asks the kernel to read the file's first size bytes (at most
// aheadMax) into the page cache in the background (POSIX_FADV_WILLNEED).
// It is advice: a file system that ignores it reads when asked.
func (f *rawFile) Prefetch(size int64) {
	readahead.WillNeed(f.fd, 0, min(size, aheadMax))
}

// cacheProber is implemented by files that can tell whether their first
// read found its bytes in the page cache (rawFile).
type cacheProber interface {
	// ProbeCache has the first read tell a whether it found its bytes
	// cached (readAdvice.observe).
	ProbeCache(a *readAdvice)
}

var _ cacheProber = (*rawFile)(nil)

// ProbeCache makes the first read a preadv2 with RWF_NOWAIT, which reads
// only what is in the page cache and fails with EAGAIN where nothing is
// (some kernels start their readahead then, others do not): a probe that
// costs no system call of its own. Where the read is refused, it is made
// as usual.
func (f *rawFile) ProbeCache(a *readAdvice) { f.probe.Store(a) }

// readProbe makes the first read of a probed file: at off, or at the
// file's offset when off is -1 (which the read moves). done says whether
// it read n bytes, n > 0; otherwise the caller reads as usual, as it does
// for every read after the first.
func (f *rawFile) readProbe(p []byte, off int64) (n int, done bool) {
	a := f.probe.Swap(nil)
	if a == nil {
		return 0, false
	}
	for {
		n, err := unix.Preadv2(f.fd, [][]byte{p}, off, unix.RWF_NOWAIT)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			a.observe(false, true)
			return 0, false
		case err != nil:
			// Not supported here (before Linux 4.14, a file system
			// without it): the plain read says what else is wrong.
			a.observe(false, false)
			return 0, false
		case n == 0:
			// End of file, or a file system whose no-wait read says
			// nothing: the plain read tells which.
			return 0, false
		}
		a.observe(true, true)
		return n, true
	}
}

func (f *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.probe.Load() != nil {
		if n, done := f.readProbe(p, -1); done {
			return n, nil
		}
	}
	for {
		n, err := unix.Read(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	if len(p) > 0 && f.probe.Load() != nil {
		if n, ok := f.readProbe(p, off); ok {
			done = n
		}
	}
	for done < len(p) {
		n, err := unix.Pread(f.fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f *rawFile) Seek(off int64, whence int) (int64, error) {
	n, err := unix.Seek(f.fd, off, whence)
	if err != nil {
		return n, &os.PathError{Op: "seek", Path: f.name, Err: err}
	}
	return n, nil
}

func (f *rawFile) Close() error {
	if err := unix.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

func (f *rawFile) Stat() (os.FileInfo, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return &statInfo{name: filepath.Base(f.name), st: st}, nil
}

// statInfo is an os.FileInfo over a Stat_t, with the same mode mapping as
// the os package.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & syscall.S_IFMT {
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if s.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// readDirNamesRaw lists a directory with getdents directly, for the same
// reason as rawFile.
func readDirNamesRaw(name string) ([]string, error) {
	fd, err := openNoIntr(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var buf [8192]byte
	var names []string
	for {
		n, err := unix.Getdents(fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "readdirent", Path: name, Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}
