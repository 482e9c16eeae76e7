package archiver

import (
	"io"
	"os"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/internal/fsmeta"
)

// FS is the source filesystem the archiver reads. LocalFS is the real one;
// tests wrap it to count reads or inject faults. All methods take absolute
// paths and must be safe for concurrent use.
type FS interface {
	// Lstat returns the object's metadata without following a symlink.
	// Sys() should return a *syscall.Stat_t.
	Lstat(name string) (os.FileInfo, error)
	// ReadDirNames returns the names in a directory, in any order.
	ReadDirNames(name string) ([]string, error)
	// Open opens a regular file for reading.
	Open(name string) (File, error)
	// Readlink returns a symlink's target.
	Readlink(name string) (string, error)
	// Xattrs returns the extended attributes of the object (not following
	// symlinks). A filesystem without xattr support returns nil, nil.
	Xattrs(name string) ([]snapshot.Xattr, error)
}

// File is an open regular file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker // also with unix.SEEK_DATA and unix.SEEK_HOLE where supported
	io.Closer
	Stat() (os.FileInfo, error)
}

// LocalFS is the operating system's filesystem.
type LocalFS struct{}

// Lstat implements FS.
func (LocalFS) Lstat(name string) (os.FileInfo, error) { return os.Lstat(name) }

// ReadDirNames implements FS.
func (LocalFS) ReadDirNames(name string) ([]string, error) { return readDirNamesRaw(name) }

// Open implements FS. It opens with O_NOATIME where permitted, so backups
// do not change access times.
func (LocalFS) Open(name string) (File, error) { return openRaw(name) }

// Readlink implements FS.
func (LocalFS) Readlink(name string) (string, error) { return os.Readlink(name) }

// Xattrs implements FS.
func (LocalFS) Xattrs(name string) ([]snapshot.Xattr, error) { return fsmeta.ListXattrs(name) }
