package snapshot

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// applyMetadata sets owner (if owner), xattrs, mode and times on path, in
// that order: chown clears setuid/setgid bits, and a read-only mode would
// forbid setting user xattrs as non-root. Symlinks get owner and times
// only (without following). It returns the first error but tries all.
func applyMetadata(path string, n *Node, owner bool) error {
	var errs []error
	if owner {
		if err := unix.Lchown(path, int(n.UID), int(n.GID)); err != nil {
			errs = append(errs, &os.PathError{Op: "lchown", Path: path, Err: err})
		}
	}
	for _, x := range n.Xattrs {
		if err := unix.Lsetxattr(path, x.Name, x.Value, 0); err != nil {
			if n.Type == TypeSymlink && errors.Is(err, unix.EPERM) {
				continue // user.* xattrs are not allowed on symlinks
			}
			errs = append(errs, &os.PathError{Op: "lsetxattr " + x.Name, Path: path, Err: err})
		}
	}
	if n.Type != TypeSymlink {
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
func makeSpecial(path string, n *Node) error {
	switch n.Type {
	case TypeSymlink:
		return os.Symlink(n.LinkTarget, path)
	case TypeFIFO:
		if err := unix.Mkfifo(path, n.Mode&0o777); err != nil {
			return &os.PathError{Op: "mkfifo", Path: path, Err: err}
		}
	case TypeCharDev, TypeBlockDev:
		mode := uint32(unix.S_IFCHR)
		if n.Type == TypeBlockDev {
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
