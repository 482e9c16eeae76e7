// Package fsmeta reads what a snapshot records about a filesystem object
// from the operating system: a Node's metadata from an lstat result, user
// and group names (cached), and extended attributes. The archiver uses it
// for the source file system; it is not API.
package fsmeta

import (
	"errors"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lpse/cadang/snapshot"
	"golang.org/x/sys/unix"
)

func ignoreXattrErr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODATA)
}

// ListXattrs returns the extended attributes of name (not following a
// symlink), sorted by name. A filesystem without xattr support gives nil,
// nil; an attribute that vanishes while it is read is left out.
func ListXattrs(name string) ([]snapshot.Xattr, error) {
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
	var out []snapshot.Xattr
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
			out = append(out, snapshot.Xattr{Name: an, Value: slices.Clone(val[:m])})
			break
		}
	}
	slices.SortFunc(out, func(a, b snapshot.Xattr) int { return strings.Compare(a.Name, b.Name) })
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

// IDNames caches uid/gid to name lookups. The zero value is ready to use;
// it is safe for concurrent use.
type IDNames struct {
	users, groups sync.Map // uint32 -> string
}

// User returns the name of the user uid, or "" when it has none.
func (c *IDNames) User(uid uint32) string {
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

// Group returns the name of the group gid, or "" when it has none.
func (c *IDNames) Group(gid uint32) string {
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

// NodeFromInfo fills a node's metadata from an lstat result. It does not
// read content, link targets or xattrs.
func NodeFromInfo(name string, fi os.FileInfo, names *IDNames, atime bool) *snapshot.Node {
	n := &snapshot.Node{Name: name, ModTime: fi.ModTime()}
	m := fi.Mode()
	switch {
	case m.IsRegular():
		n.Type = snapshot.TypeFile
		n.Size = fi.Size()
	case m.IsDir():
		n.Type = snapshot.TypeDir
	case m&os.ModeSymlink != 0:
		n.Type = snapshot.TypeSymlink
	case m&os.ModeCharDevice != 0:
		n.Type = snapshot.TypeCharDev
	case m&os.ModeDevice != 0:
		n.Type = snapshot.TypeBlockDev
	case m&os.ModeNamedPipe != 0:
		n.Type = snapshot.TypeFIFO
	case m&os.ModeSocket != 0:
		n.Type = snapshot.TypeSocket
	default:
		n.Type = snapshot.TypeFile
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
		if n.Type == snapshot.TypeCharDev || n.Type == snapshot.TypeBlockDev {
			n.Rdev = uint64(st.Rdev)
		}
		n.ModTime = time.Unix(st.Mtim.Unix())
		n.ChangeTime = time.Unix(st.Ctim.Unix())
		if atime {
			n.AccessTime = time.Unix(st.Atim.Unix())
		}
		if names != nil {
			n.User = names.User(st.Uid)
			n.Group = names.Group(st.Gid)
		}
	}
	if n.Type == snapshot.TypeDir {
		n.Links = 0 // the link count of a directory changes with its subdirectories; not useful
	}
	return n
}

// StatBlocks returns the number of 512-byte blocks the file occupies, or
// -1 when fi does not come from a stat.
func StatBlocks(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks
	}
	return -1
}
