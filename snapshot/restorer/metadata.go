package restorer

import (
	"errors"
	"fmt"
	"os"

	"unsafe"

	"github.com/lpse/cadang/snapshot"
	"golang.org/x/sys/unix"
)

// applyMetadata sets owner (if owner), xattrs, mode and times on path, in
// that order: chown clears setuid/setgid bits, and a read-only mode would
// forbid setting user xattrs as non-root. Symlinks get owner and times
// only (without following). It returns the first error but tries all.
func applyMetadata(path string, n *snapshot.Node, owner bool) error {
	var errs []error
	if owner {
		if err := unix.Lchown(path, int(n.UID), int(n.GID)); err != nil {
			errs = append(errs, &os.PathError{Op: "lchown", Path: path, Err: err})
		}
	}
	for _, x := range n.Xattrs {
		if err := unix.Lsetxattr(path, x.Name, x.Value, 0); err != nil {
			if n.Type == snapshot.TypeSymlink && errors.Is(err, unix.EPERM) {
				continue // user.* xattrs are not allowed on symlinks
			}
			errs = append(errs, &os.PathError{Op: "lsetxattr " + x.Name, Path: path, Err: err})
		}
	}
	if n.Type != snapshot.TypeSymlink {
		if err := unix.Chmod(path, n.Mode&0o7777); err != nil {
			errs = append(errs, &os.PathError{Op: "chmod", Path: path, Err: err})
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(0), unix.NsecToTimespec(0)}
	if !n.ModTime.IsZero() {
		ts[1] = timespec(n.ModTime.Unix(), n.ModTime.Nanosecond())
	}
	if n.AccessTime.IsZero() {
		ts[0] = ts[1]
	} else {
		ts[0] = timespec(n.AccessTime.Unix(), n.AccessTime.Nanosecond())
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		errs = append(errs, &os.PathError{Op: "utimensat", Path: path, Err: err})
	}
	if len(errs) > 0 {
		return fmt.Errorf("metadata: %w", errors.Join(errs...))
	}
	return nil
}

func timespec(sec int64, nsec int) unix.Timespec {
	return unix.Timespec{Sec: sec, Nsec: int64(nsec)}
}

// makeSpecial creates a FIFO, device node or symlink at path.
func makeSpecial(path string, n *snapshot.Node) error {
	switch n.Type {
	case snapshot.TypeSymlink:
		return os.Symlink(n.LinkTarget, path)
	case snapshot.TypeFIFO:
		if err := unix.Mkfifo(path, n.Mode&0o777); err != nil {
			return &os.PathError{Op: "mkfifo", Path: path, Err: err}
		}
	case snapshot.TypeCharDev, snapshot.TypeBlockDev:
		mode := uint32(unix.S_IFCHR)
		if n.Type == snapshot.TypeBlockDev {
			mode = unix.S_IFBLK
		}
		if err := unix.Mknod(path, mode|n.Mode&0o777, int(n.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: path, Err: err}
		}
	default:
		return fmt.Errorf("cannot create a %s", n.Type)
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

// fileMetadata sets a regular file's owner, xattrs, mode and times through
// its descriptor, skipping the calls that would change nothing: a file
// created by this process already has its owner when that is us, and its
// mode when the umask did not strip any bit.
func (rr *restoreRun) fileMetadata(fd int, f *rFile) error {
	n := f.node
	var errs []error
	chowned := false
	if rr.chownNeeded(n) {
		if err := unix.Fchown(fd, int(n.UID), int(n.GID)); err != nil {
			errs = append(errs, &os.PathError{Op: "fchown", Path: f.dst, Err: err})
		}
		chowned = true // chown clears setuid and setgid
	}
	for _, x := range n.Xattrs {
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil {
			errs = append(errs, &os.PathError{Op: "fsetxattr " + x.Name, Path: f.dst, Err: err})
		}
	}
	mode := n.Mode & 0o7777
	if chowned || mode != (mode&0o777)&^rr.umask || !f.createdByUs() {
		if err := unix.Fchmod(fd, mode); err != nil {
			errs = append(errs, &os.PathError{Op: "fchmod", Path: f.dst, Err: err})
		}
	}
	ts := restoreTimes(n)
	if err := futimens(fd, &ts); err != nil {
		errs = append(errs, &os.PathError{Op: "futimens", Path: f.dst, Err: err})
	}
	if len(errs) > 0 {
		return fmt.Errorf("metadata: %w", errors.Join(errs...))
	}
	return nil
}

// createdByUs reports whether open() created the file (with its mode)
// rather than reopening an existing one.
func (f *rFile) createdByUs() bool { return f.created }

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
