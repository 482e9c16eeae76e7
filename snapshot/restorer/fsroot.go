package restorer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// root is the restore target, opened once. Every file, directory, link and
// metadata operation of a restore goes through it: the item's parent
// directory is opened beneath the root without following any symlink
// (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or openat with
// O_NOFOLLOW component by component on kernels before 5.6), and the item
// itself is reached from that descriptor by name with *at calls that do not
// follow a symlink either. A symlink that someone else put into the target,
// before or during the restore, therefore fails the item instead of leading
// outside. Symlinks the restore creates are never traversed: they are
// leaves of the snapshot's tree.
type root struct {
	path string // the target, for messages
	fd   int    // O_PATH descriptor of the target directory
	// noOpenat2 is set when the kernel lacks openat2 (ENOSYS), or by tests.
	noOpenat2 atomic.Bool
}

// openRoot opens the target directory. The target itself is the user's
// choice: symlinks in its own path are followed, as any command does.
func openRoot(path string, noOpenat2 bool) (*root, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open target", Path: path, Err: err}
	}
	r := &root{path: path, fd: fd}
	r.noOpenat2.Store(noOpenat2)
	return r, nil
}

// makeRoot makes the target directory, which did not exist (its parents
// as needed: the user's path), and opens the directory it made: by a
// descriptor of its parent, without following a symlink, and only when it
// is the private directory just made (this user's, mode 0700). Whoever can
// write the parent could otherwise put a symlink or a directory of their
// own at the name between the mkdir and the open, and the restore would
// write into it, and give it the snapshot's owner and mode. nil: someone
// made the target meanwhile, which is then opened as one that was there.
func makeRoot(target string, euid int, noOpenat2 bool) (*root, error) {
	parent, name := filepath.Dir(target), filepath.Base(target)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	pfd, err := unix.Open(parent, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: parent, Err: err}
	}
	defer unix.Close(pfd)
	switch err := unix.Mkdirat(pfd, name, 0o700); {
	case err == unix.EEXIST:
		return nil, nil
	case err != nil:
		return nil, &os.PathError{Op: "mkdir", Path: target, Err: err}
	}
	fd, err := unix.Openat(pfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	var st unix.Stat_t
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err != nil || int(st.Uid) != euid || st.Mode&0o077 != 0 {
		if err == nil {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("open target %s: the directory made was replaced by something else before the restore began", target)
	}
	r := &root{path: target, fd: fd}
	r.noOpenat2.Store(noOpenat2)
	return r, nil
}

func (r *root) close() {
	if r != nil && r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// abs is rel as a path for messages.
func (r *root) abs(rel string) string { return filepath.Join(r.path, rel) }

// splitRel splits a slash-separated path relative to the target into its
// parent directory ("" for the target) and its last name.
func splitRel(rel string) (dir, name string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// errSymlinkInPath replaces ELOOP in messages: the restore does not follow
// a symlink that it did not create.
var errSymlinkInPath = errors.New("a symbolic link is in the path (not followed)")

// open opens rel beneath the root with flags (O_NOFOLLOW and O_CLOEXEC are
// added), following no symlink on the way.
func (r *root) open(rel string, flags int, mode uint32) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !r.noOpenat2.Load() {
		how := unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(r.fd, rel, &how)
			switch {
			case err == nil:
				return fd, nil
			case err == unix.EINTR || err == unix.EAGAIN && try < 16:
				// EAGAIN: a rename elsewhere in the file system raced
				// with the lookup; the kernel asks for a retry.
				continue
			case err == unix.ENOSYS:
				r.noOpenat2.Store(true)
			default:
				return -1, r.pathError("open", rel, err)
			}
			break
		}
	}
	// Component by component: every directory on the way is opened with
	// O_NOFOLLOW|O_DIRECTORY, so a symlink fails the lookup. Names come
	// from the snapshot and are checked by the planner: never "", "." or
	// "..", never with a '/'.
	fd := r.fd
	comps := strings.Split(rel, "/")
	for i, c := range comps {
		fl := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(comps)-1 {
			fl = flags
		}
		nfd, err := unix.Openat(fd, c, fl, mode)
		for err == unix.EINTR {
			nfd, err = unix.Openat(fd, c, fl, mode)
		}
		if fd != r.fd {
			unix.Close(fd)
		}
		if err != nil {
			return -1, r.pathError("open", strings.Join(comps[:i+1], "/"), err)
		}
		fd = nfd
	}
	return fd, nil
}

func (r *root) pathError(op, rel string, err error) error {
	if err == unix.ELOOP {
		err = errSymlinkInPath
	}
	return &os.PathError{Op: op, Path: r.abs(rel), Err: err}
}

// openDir opens the directory rel ("" for the target) for use as the
// dirfd of *at calls. Release it with closeDir.
func (r *root) openDir(rel string) (int, error) {
	if rel == "" {
		return r.fd, nil
	}
	fd, err := r.open(rel, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Err == unix.ENOTDIR {
			pe.Err = fmt.Errorf("%w (a file or symbolic link is in the way)", unix.ENOTDIR)
		}
	}
	return fd, err
}

func (r *root) closeDir(fd int) {
	if fd != r.fd && fd >= 0 {
		unix.Close(fd)
	}
}

// at calls fn with a descriptor of rel's parent directory and rel's name.
func (r *root) at(rel string, fn func(dirfd int, name string) error) error {
	dir, name := splitRel(rel)
	dfd, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer r.closeDir(dfd)
	return fn(dfd, name)
}

// procPath names the entry name of the directory open as dirfd through
// /proc, for the calls that have no *at form (lsetxattr) or whose *at form
// may be missing (chmod without following on kernels before 6.6): the
// directory is reached through its descriptor, and the call itself does not
// follow a symlink in the last component.
func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}
