package restorer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"unsafe"

	"github.com/lpse/cadang/snapshot"
	"golang.org/x/sys/unix"
)

// restoredMode is the mode to set on an item. Without the snapshot's owner
// (not root, --no-owner, or a chown that failed), setuid and setgid would
// hand the restoring user's privileges to whoever runs the file, so they
// are dropped, as tar does. A directory keeps setgid: it only makes new
// entries inherit the directory's group and grants nothing.
func restoredMode(n *snapshot.Node, ownerSet bool) uint32 {
	m := n.Mode & 0o7777
	if !ownerSet {
		if n.Type == snapshot.TypeDir {
			m &^= unix.S_ISUID
		} else {
			m &^= unix.S_ISUID | unix.S_ISGID
		}
	}
	return m
}

// setIDDropped reports whether n, a file or node (not a directory), is
// restored without a setuid or setgid bit the snapshot gives it
// (restoredMode).
func setIDDropped(n *snapshot.Node, ownerSet bool) bool {
	const setID = unix.S_ISUID | unix.S_ISGID
	return n.Type != snapshot.TypeDir && n.Type != snapshot.TypeSymlink && n.Mode&setID != restoredMode(n, ownerSet)&setID
}

// noteSetID counts an entry that stands at dst without a setuid or setgid
// bit of the snapshot's (setIDDropped): the tree then differs from the
// source, which the summary says, since a program that needs the bit
// fails only when it is run. An inode is counted once (id, when not
// zero), whatever the names of its hardlink group that reach here.
func (rr *restoreRun) noteSetID(dst string, id devIno) {
	rr.count(func(s *RestoreSummary) {
		if id != (devIno{}) {
			if rr.setIDSeen[id] {
				return
			}
			if rr.setIDSeen == nil {
				rr.setIDSeen = map[devIno]bool{}
			}
			rr.setIDSeen[id] = true
		}
		s.SetIDDropped++
		if len(s.SetIDDroppedPaths) < maxSetIDPaths {
			s.SetIDDroppedPaths = append(s.SetIDDroppedPaths, dst)
		}
	})
}

// maxSetIDPaths bounds RestoreSummary.SetIDDroppedPaths.
const maxSetIDPaths = 20

// xattrWanted reports whether the extended attribute name is to be
// restored under XattrInclude and XattrExclude.
func (rr *restoreRun) xattrWanted(name string) bool {
	if len(rr.rs.XattrInclude) > 0 {
		in := false
		for _, p := range rr.rs.XattrInclude {
			if ok, _ := path.Match(p, name); ok {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for _, p := range rr.rs.XattrExclude {
		if ok, _ := path.Match(p, name); ok {
			return false
		}
	}
	return true
}

func checkXattrPatterns(pats []string, flag string) error {
	for _, p := range pats {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%s %q: %w", flag, p, err)
		}
	}
	return nil
}

// chownNeeded reports whether an item needs its owner set. In a fresh
// target every item was created by this process, so one whose owner is
// already ours needs no chown (a syscall per file and directory).
func (rr *restoreRun) chownNeeded(n *snapshot.Node) bool {
	if !rr.owner {
		return false
	}
	return !rr.fresh || int(n.UID) != rr.euid || int(n.GID) != rr.egid
}

// createMode is the mode a restored file is created with: its permission
// bits plus owner read and write.
func createMode(m uint32) uint32 { return (m | 0o600) & 0o777 }

// fdMetadata sets owner, xattrs, mode and times of a regular file or
// directory through its open descriptor, in that order: chown clears
// setuid/setgid, and a read-only mode would forbid setting user xattrs as
// non-root. created says the descriptor's file was created by this restore
// with createMode's bits, so a chmod is needed only when those differ from
// the mode (the umask took some away, owner rw was added, or special bits
// are to be set).
//
// dropped says whether the mode set lacks a setuid or setgid bit of the
// snapshot's (setIDDropped), for the caller to count once the entry stands
// at its name.
func (rr *restoreRun) fdMetadata(fd int, dst string, n *snapshot.Node, created bool) (dropped bool, err error) {
	var errs []error
	ownerSet := rr.owner
	chowned := false
	if rr.chownNeeded(n) {
		if err := unix.Fchown(fd, int(n.UID), int(n.GID)); err != nil {
			errs = append(errs, rr.chownError("fchown", dst, n, err))
			ownerSet = false
		}
		chowned = true
	}
	for _, x := range n.Xattrs {
		if !rr.xattrWanted(x.Name) {
			continue
		}
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil {
			errs = append(errs, &os.PathError{Op: "fsetxattr " + x.Name, Path: dst, Err: err})
		}
	}
	mode := restoredMode(n, ownerSet)
	dropped = setIDDropped(n, ownerSet)
	if chowned || !created || n.Type == snapshot.TypeDir || mode != createMode(mode)&^rr.umask {
		if err := unix.Fchmod(fd, mode); err != nil {
			errs = append(errs, &os.PathError{Op: "fchmod", Path: dst, Err: err})
		}
	}
	ts := restoreTimes(n)
	if err := futimens(fd, &ts); err != nil {
		errs = append(errs, &os.PathError{Op: "futimens", Path: dst, Err: err})
	}
	if len(errs) > 0 {
		return dropped, fmt.Errorf("metadata: %w", errors.Join(errs...))
	}
	return dropped, nil
}

// atMetadata sets owner, xattrs, mode and times of a symlink, FIFO or
// device node, by name in the directory dirfd, never following a symlink
// (such nodes are not opened: opening a FIFO blocks, a device may act).
// Symlinks get no mode (Linux has none for them).
func (rr *restoreRun) atMetadata(dirfd int, name, dst string, n *snapshot.Node) (dropped bool, err error) {
	var errs []error
	ownerSet := rr.owner
	if rr.chownNeeded(n) {
		if err := unix.Fchownat(dirfd, name, int(n.UID), int(n.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			errs = append(errs, rr.chownError("lchown", dst, n, err))
			ownerSet = false
		}
	}
	for _, x := range n.Xattrs {
		if !rr.xattrWanted(x.Name) {
			continue
		}
		// No setxattrat before Linux 6.13: the directory is reached
		// through its descriptor, the last name is not followed.
		if err := unix.Lsetxattr(procPath(dirfd, name), x.Name, x.Value, 0); err != nil {
			if n.Type == snapshot.TypeSymlink && errors.Is(err, unix.EPERM) {
				continue // user.* xattrs are not allowed on symlinks
			}
			errs = append(errs, &os.PathError{Op: "lsetxattr " + x.Name, Path: dst, Err: err})
		}
	}
	if n.Type != snapshot.TypeSymlink {
		dropped = setIDDropped(n, ownerSet)
		if err := chmodNoFollow(dirfd, name, restoredMode(n, ownerSet)); err != nil {
			errs = append(errs, &os.PathError{Op: "chmod", Path: dst, Err: err})
		}
	}
	ts := restoreTimes(n)
	if err := unix.UtimesNanoAt(dirfd, name, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		errs = append(errs, &os.PathError{Op: "utimensat", Path: dst, Err: err})
	}
	if len(errs) > 0 {
		return dropped, fmt.Errorf("metadata: %w", errors.Join(errs...))
	}
	return dropped, nil
}

// chmodNoFollow changes the mode of name in dirfd without following a
// symlink: fchmodat2 (Linux 6.6), else through an O_PATH descriptor of the
// node itself, whose /proc link leads to that very inode.
func chmodNoFollow(dirfd int, name string, mode uint32) error {
	err := unix.Fchmodat(dirfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.EOPNOTSUPP && err != unix.ENOSYS {
		return err
	}
	return chmodViaProc(dirfd, name, mode)
}

// chmodViaProc is chmodNoFollow before Linux 6.6.
func chmodViaProc(dirfd int, name string, mode uint32) error {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errSymlinkInPath
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

func timespec(sec int64, nsec int) unix.Timespec {
	return unix.Timespec{Sec: sec, Nsec: int64(nsec)}
}

// deviceNeedsRoot says why a device node was not made, and what to do.
const deviceNeedsRoot = "only root can make device nodes, and not root inside a user namespace (a rootless container); --no-devices leaves them out"

// mayMknod reports whether a process with effective uid euid can make
// device nodes: root, outside a user namespace. Root inside one (unshare
// -r, a rootless container) is refused by the kernel whatever its
// capabilities there.
func mayMknod(euid int) bool { return euid == 0 && initialUserNS() }

// initialUserNS reports whether this process is in the initial user
// namespace, which maps every uid to itself ("0 0 4294967295"); where /proc
// cannot say, it is taken to be.
func initialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

// chownError is the error of a chown of an entry to the snapshot's owner.
// Root in a user namespace (a rootless container) can give only the IDs
// the namespace maps, and the kernel refuses the others with EINVAL, which
// alone says nothing: the error then says which owner, and why. Owners
// that are mapped are restored, so the restore as a whole is not one
// "without owners"; each entry whose owner is not is listed so.
func (rr *restoreRun) chownError(op, dst string, n *snapshot.Node, err error) error {
	if rr.userNS && errors.Is(err, unix.EINVAL) {
		err = fmt.Errorf("owner %d:%d not restored, this user namespace does not map it (root in a rootless container gives only the IDs it maps; --no-owner restores none, without an error each): %w", n.UID, n.GID, err)
	}
	return &os.PathError{Op: op, Path: dst, Err: err}
}

// makeSpecial creates a FIFO, device node or symlink as name in dirfd.
// None of these calls follows a symlink at name: an existing entry fails
// them with EEXIST.
func makeSpecial(dirfd int, name, dst string, n *snapshot.Node) error {
	switch n.Type {
	case snapshot.TypeSymlink:
		if err := unix.Symlinkat(n.LinkTarget, dirfd, name); err != nil {
			return &os.PathError{Op: "symlink", Path: dst, Err: err}
		}
	case snapshot.TypeFIFO:
		if err := unix.Mkfifoat(dirfd, name, n.Mode&0o777); err != nil {
			return &os.PathError{Op: "mkfifo", Path: dst, Err: err}
		}
	case snapshot.TypeCharDev, snapshot.TypeBlockDev:
		mode := uint32(unix.S_IFCHR)
		if n.Type == snapshot.TypeBlockDev {
			mode = unix.S_IFBLK
		}
		if err := unix.Mknodat(dirfd, name, mode|n.Mode&0o777, int(n.Rdev)); err != nil {
			err = &os.PathError{Op: "mknod", Path: dst, Err: err}
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("%w (%s)", err, deviceNeedsRoot)
			}
			return err
		}
	default:
		return fmt.Errorf("cannot create a %s", n.Type)
	}
	return nil
}

func restoreTimes(n *snapshot.Node) [2]unix.Timespec {
	var ts [2]unix.Timespec
	if !n.ModTime.IsZero() {
		ts[1] = timespec(n.ModTime.Unix(), n.ModTime.Nanosecond())
	}
	if n.AccessTime.IsZero() {
		ts[0] = ts[1]
	} else {
		ts[0] = timespec(n.AccessTime.Unix(), n.AccessTime.Nanosecond())
	}
	return ts
}

// futimens sets atime and mtime of an open file with nanoseconds
// (utimensat with a NULL path; x/sys/unix has no wrapper for it).
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// isEmptyOrMissing reports whether dir does not exist or has no entries.
func isEmptyOrMissing(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return err != nil && len(names) == 0
}
