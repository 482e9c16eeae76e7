package snapshot

import (
	"errors"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	Xattrs(name string) ([]Xattr, error)
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
func (LocalFS) Xattrs(name string) ([]Xattr, error) { return listXattrs(name) }

func ignoreXattrErr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODATA)
}

func listXattrs(name string) ([]Xattr, error) {
	buf := make([]byte, 1024)
	var n int
	var err error
	for {
		n, err = unix.Llistxattr(name, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err2 := unix.Llistxattr(name, nil)
			if err2 != nil {
				return nil, err2
			}
			buf = make([]byte, sz+64)
			continue
		}
		break
	}
	if err != nil {
		if ignoreXattrErr(err) {
			return nil, nil
		}
		return nil, &os.PathError{Op: "llistxattr", Path: name, Err: err}
	}
	if n == 0 {
		return nil, nil
	}
	var out []Xattr
	val := make([]byte, 256)
	for _, an := range splitNul(buf[:n]) {
		for {
			m, err := unix.Lgetxattr(name, an, val)
			if errors.Is(err, unix.ERANGE) {
				sz, err2 := unix.Lgetxattr(name, an, nil)
				if err2 != nil {
					return nil, &os.PathError{Op: "lgetxattr", Path: name, Err: err2}
				}
				val = make([]byte, sz+64)
				continue
			}
			if err != nil {
				if ignoreXattrErr(err) {
					break
				}
				return nil, &os.PathError{Op: "lgetxattr " + an, Path: name, Err: err}
			}
			out = append(out, Xattr{Name: an, Value: slices.Clone(val[:m])})
			break
		}
	}
	slices.SortFunc(out, cmpXattr)
	return out, nil
}

func splitNul(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		if i > 0 {
			out = append(out, string(b[:i]))
		}
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}

// idNames caches uid/gid to name lookups.
type idNames struct {
	users, groups sync.Map // uint32 -> string
}

func (c *idNames) user(uid uint32) string {
	if v, ok := c.users.Load(uid); ok {
		return v.(string)
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	c.users.Store(uid, name)
	return name
}

func (c *idNames) group(gid uint32) string {
	if v, ok := c.groups.Load(gid); ok {
		return v.(string)
	}
	name := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		name = g.Name
	}
	c.groups.Store(gid, name)
	return name
}

// nodeFromInfo fills a node's metadata from an lstat result. It does not
// read content, link targets or xattrs.
func nodeFromInfo(name string, fi os.FileInfo, names *idNames, atime bool) *Node {
	n := &Node{Name: name, ModTime: fi.ModTime()}
	m := fi.Mode()
	switch {
	case m.IsRegular():
		n.Type = TypeFile
		n.Size = fi.Size()
	case m.IsDir():
		n.Type = TypeDir
	case m&os.ModeSymlink != 0:
		n.Type = TypeSymlink
	case m&os.ModeCharDevice != 0:
		n.Type = TypeCharDev
	case m&os.ModeDevice != 0:
		n.Type = TypeBlockDev
	case m&os.ModeNamedPipe != 0:
		n.Type = TypeFIFO
	case m&os.ModeSocket != 0:
		n.Type = TypeSocket
	default:
		n.Type = TypeFile
	}
	n.Mode = uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		n.Mode |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		n.Mode |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		n.Mode |= 0o1000
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		n.Mode = st.Mode & 0o7777
		n.UID, n.GID = st.Uid, st.Gid
		n.Inode = st.Ino
		n.Device = uint64(st.Dev)
		n.Links = uint64(st.Nlink)
		if n.Type == TypeCharDev || n.Type == TypeBlockDev {
			n.Rdev = uint64(st.Rdev)
		}
		n.ModTime = time.Unix(st.Mtim.Unix())
		n.ChangeTime = time.Unix(st.Ctim.Unix())
		if atime {
			n.AccessTime = time.Unix(st.Atim.Unix())
		}
		if names != nil {
			n.User = names.user(st.Uid)
			n.Group = names.group(st.Gid)
		}
	}
	if n.Type == TypeDir {
		n.Links = 0 // the link count of a directory changes with its subdirectories; not useful
	}
	return n
}

func statBlocks(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks
	}
	return -1
}
