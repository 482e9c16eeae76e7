package restorer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// keptMetadata gives a regular file that OverwriteIfChanged kept the
// snapshot's permission bits and extended attributes, as a written file
// gets them: if-changed takes the content to be unchanged (its size, time
// and, where owners are restored, owner are the snapshot's), not the rest.
// st is the look that kept it. Only what differs is set, so a re-run over
// a restored tree costs nothing beyond that look where the snapshot has no
// extended attributes. Attributes the file has beyond the snapshot's
// stay, and its times are left alone (the modification time is the
// snapshot's; the access time is whatever reading the file made it).
// changed says whether anything was set.
//
// The owner is never changed here: a file of another owner is written
// anew (prepareEntry), so no content that someone else wrote is handed the
// snapshot's owner or setuid bits. The file is opened without following a
// symlink and must be the inode that was looked at, still with the
// snapshot's size and time; the changes go through that descriptor, so a
// file swapped in after the look is never touched. A file the restoring
// user may not read (its own, without read permission) is reached through
// an O_PATH descriptor and its /proc link instead.
func (rr *restoreRun) keptMetadata(f *rFile, st *unix.Stat_t) (changed bool, err error) {
	n := f.n()
	mode := restoredMode(n, rr.owner)
	var xattrs []int
	for i, x := range f.fm.xattrs {
		if rr.xattrWanted(x.Name) {
			xattrs = append(xattrs, i)
		}
	}
	if len(xattrs) == 0 && st.Mode&0o7777 == mode {
		return false, nil
	}
	rr.hook("keptmeta", f.rel)
	dst := f.dst()
	fd, err := -1, error(unix.EACCES)
	if !rr.rs.testKeptNoRead {
		fd, err = rr.root.open(f.rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	}
	viaProc := false
	if errors.Is(err, unix.EACCES) {
		fd, err = rr.root.open(f.rel, unix.O_PATH, 0)
		viaProc = true
	}
	if err != nil {
		return false, fmt.Errorf("metadata of the kept file: %w", err)
	}
	defer unix.Close(fd)
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil {
		return false, &os.PathError{Op: "fstat", Path: dst, Err: err}
	}
	if fst.Mode&unix.S_IFMT != unix.S_IFREG || fst.Dev != st.Dev || fst.Ino != st.Ino || fst.Size != n.Size ||
		!time.Unix(fst.Mtim.Unix()).Equal(n.ModTime) || fst.Uid != st.Uid || fst.Gid != st.Gid {
		return false, fmt.Errorf("%s changed while it was looked at; its mode and extended attributes were left as they are", dst)
	}
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	var errs []error
	// Attributes before the mode: a read-only mode would forbid setting
	// user attributes as non-root.
	for _, i := range xattrs {
		x := f.fm.xattrs[i]
		if have, ok := readXattr(fd, self, viaProc, x.Name, len(x.Value)); ok && bytes.Equal(have, x.Value) {
			continue
		}
		var err error
		if viaProc {
			err = unix.Setxattr(self, x.Name, x.Value, 0)
		} else {
			err = unix.Fsetxattr(fd, x.Name, x.Value, 0)
		}
		if err != nil {
			errs = append(errs, &os.PathError{Op: "fsetxattr " + x.Name, Path: dst, Err: err})
			continue
		}
		changed = true
	}
	if fst.Mode&0o7777 != mode {
		var err error
		if viaProc {
			err = unix.Chmod(self, mode)
		} else {
			err = unix.Fchmod(fd, mode)
		}
		if err != nil {
			errs = append(errs, &os.PathError{Op: "fchmod", Path: dst, Err: err})
		} else {
			changed = true
		}
	}
	if len(errs) > 0 {
		return changed, fmt.Errorf("metadata of the kept file: %w", errors.Join(errs...))
	}
	return changed, nil
}

// readXattr reads the extended attribute name of the open file fd (through
// its /proc link self when fd is an O_PATH descriptor), expecting about
// size bytes; ok is false when it is missing or cannot be read.
func readXattr(fd int, self string, viaProc bool, name string, size int) (val []byte, ok bool) {
	buf := make([]byte, size+1) // one more: a longer value is not the same
	var k int
	var err error
	if viaProc {
		k, err = unix.Getxattr(self, name, buf)
	} else {
		k, err = unix.Fgetxattr(fd, name, buf)
	}
	if err != nil {
		return nil, false
	}
	return buf[:k], true
}
