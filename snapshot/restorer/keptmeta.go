package restorer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// keptAction is what keptMetadata found a kept file to need.
type keptAction uint8

const (
	keptAsIs    keptAction = iota // its mode and attributes are the snapshot's
	keptFixed                     // its mode or user attributes were set (would be, in a dry run)
	keptRewrite                   // to be written anew: they cannot safely be set in place
)

// keptMetadata looks at a regular file that OverwriteIfChanged kept (its
// size and time are the snapshot's, its owner the one the restore gives:
// the snapshot's, or the restoring user where owners are not restored; st
// is the look that kept it) and gives it the snapshot's permission bits
// and user extended attributes where they differ: if-changed takes the
// content to be unchanged, not the rest. Only what differs is set, so a
// re-run over a restored tree costs nothing beyond that look where the
// snapshot has no extended attributes. Attributes the file has beyond the
// snapshot's stay, and its times are left alone (the modification time is
// the snapshot's; the access time is whatever reading the file made it).
// A dry run looks but sets nothing.
//
// Size and time say nothing about who wrote the content: its owner can
// rewrite it and put the time back, and anyone who could write it may
// still hold it open or mapped. So what would grant privilege is never
// set in place: a file that is to gain setuid or setgid, that others can
// write where the snapshot says they cannot, whose attributes outside the
// user namespace differ (file capabilities, ACLs, security labels), that
// is not of the owner the restore gives (prepareEntry keeps none), that has names other
// than its hardlink group's in the target (a change would reach them), or
// an access ACL the snapshot does not give it (a new mode would widen its
// mask) is written anew instead (keptRewrite), as a changed file is: only
// a new inode is one that no one else holds.
//
// The file is opened without following a symlink and must be the inode
// that was looked at, still with the snapshot's size, time and owner; the
// changes go through that descriptor, so a file swapped in after the look
// is never touched. A file the restoring user may not read (its own,
// without read permission) or open (a lease) is reached through an O_PATH
// descriptor and its /proc link instead.
func (rr *restoreRun) keptMetadata(f *rFile, st *unix.Stat_t, dry bool) (keptAction, error) {
	n := f.n()
	mode := restoredMode(n, rr.owner)
	cur := st.Mode & 0o7777
	var xattrs []int
	for i, x := range f.fm.xattrs {
		if rr.xattrWanted(x.Name) {
			xattrs = append(xattrs, i)
		}
	}
	if len(xattrs) == 0 && cur == mode {
		return keptAsIs, nil
	}
	root := rr.euid == 0
	// prepareEntry keeps only files of the owner the restore gives; one
	// that is not (as root with NoOwner above all) is not changed in
	// place, whoever may change it.
	foreign := !rr.ownedAsRestored(st, n)
	if cur != mode && (mode&^cur&(unix.S_ISUID|unix.S_ISGID) != 0 || cur&0o022&^mode != 0 || foreign) {
		return rr.keptJudged(f, st, keptRewrite), nil
	}
	if j, ok := rr.keptSeen[devIno{uint64(st.Dev), st.Ino}]; ok && j.group == groupOf(f) {
		// A dry run meets the inode of a hardlink group once per name:
		// what a run would do to it is done by the first.
		if j.a == keptRewrite {
			return keptRewrite, nil
		}
		return keptAsIs, nil
	}
	rr.hook("keptmeta", f.rel)
	dst := f.dst()
	fd, err := -1, error(unix.EACCES)
	if !rr.rs.testKeptNoRead {
		fd, err = rr.root.open(f.rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	}
	viaProc := false
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EAGAIN) {
		fd, err = rr.root.open(f.rel, unix.O_PATH, 0)
		viaProc = true
	}
	if err != nil {
		return keptAsIs, fmt.Errorf("metadata of the kept file: %w", err)
	}
	defer unix.Close(fd)
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil {
		return keptAsIs, &os.PathError{Op: "fstat", Path: dst, Err: err}
	}
	if fst.Mode&unix.S_IFMT != unix.S_IFREG || fst.Dev != st.Dev || fst.Ino != st.Ino || fst.Size != n.Size ||
		!time.Unix(fst.Mtim.Unix()).Equal(n.ModTime) || fst.Uid != st.Uid || fst.Gid != st.Gid || fst.Mode != st.Mode {
		return keptAsIs, fmt.Errorf("%s changed while it was looked at; its mode and extended attributes were left as they are", dst)
	}
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	var set []int
	for _, i := range xattrs {
		x := f.fm.xattrs[i]
		user := strings.HasPrefix(x.Name, "user.")
		if !user && !root && x.Name != "system.posix_acl_access" {
			// Only root sets attributes outside user.* (a file's owner
			// its ACL too): a new file would lack them as this one
			// does (and be reported), so writing it anew on every run
			// would gain nothing.
			continue
		}
		have, err := readXattr(fd, self, viaProc, x.Name, len(x.Value))
		switch {
		case err == nil && bytes.Equal(have, x.Value):
			continue
		case err != nil && err != unix.ENODATA && err != unix.ERANGE:
			continue // the file system keeps no such attribute: nor would a new file
		case !user || foreign:
			return rr.keptJudged(f, st, keptRewrite), nil
		}
		set = append(set, i)
	}
	if len(set) == 0 && cur == mode {
		return keptAsIs, nil
	}
	// A change in place reaches every name of the inode: one with names
	// elsewhere (a hardlink from outside the target) is written anew.
	// So is one with an access ACL that the snapshot does not give it,
	// whose mask a new mode would widen for the users the ACL names.
	if st.Nlink > 1 && !rr.allNamesInside(f, st) || !rr.snapshotHasACL(f) && hasXattr(fd, self, viaProc, "system.posix_acl_access") {
		return rr.keptJudged(f, st, keptRewrite), nil
	}
	if dry {
		return rr.keptJudged(f, st, keptFixed), nil
	}
	fail := func(op string, err error) error {
		if viaProc && err == unix.ENOENT {
			err = errors.New("/proc is not mounted (needed to change a file that the restoring user cannot open)")
		}
		return &os.PathError{Op: op, Path: dst, Err: err}
	}
	chmod := func(m uint32) error {
		if viaProc {
			return unix.Chmod(self, m)
		}
		return unix.Fchmod(fd, m)
	}
	var errs []error
	changed := false
	if len(set) > 0 && !root && cur&unix.S_IWUSR == 0 {
		// The file's own read-only mode forbids setting user attributes
		// as non-root: owner write first, the snapshot's mode after.
		if err := chmod(cur | unix.S_IWUSR); err != nil {
			errs = append(errs, fail("fchmod", err))
		} else {
			cur |= unix.S_IWUSR
		}
	}
	for _, i := range set {
		x := f.fm.xattrs[i]
		var err error
		if viaProc {
			err = unix.Setxattr(self, x.Name, x.Value, 0)
		} else {
			err = unix.Fsetxattr(fd, x.Name, x.Value, 0)
		}
		if err != nil {
			errs = append(errs, fail("fsetxattr "+x.Name, err))
			continue
		}
		changed = true
	}
	if cur != mode {
		if err := chmod(mode); err != nil {
			errs = append(errs, fail("fchmod", err))
		} else {
			changed = true
		}
	}
	act := keptAsIs
	if changed {
		act = keptFixed
	}
	if len(errs) > 0 {
		return act, fmt.Errorf("metadata of the kept file: %w", errors.Join(errs...))
	}
	return act, nil
}

// keptJudgement is what keptMetadata found an inode to need, for the
// names of one hardlink group (group: its first member).
type keptJudgement struct {
	a     keptAction
	group *rFile
}

// groupOf is the first member of f's hardlink group (f itself if none).
func groupOf(f *rFile) *rFile {
	if f.linkTo != nil {
		return f.linkTo
	}
	return f
}

// keptJudged notes, in a dry run, what keptMetadata found the inode st of
// f to need (keptSeen), and returns it.
func (rr *restoreRun) keptJudged(f *rFile, st *unix.Stat_t, a keptAction) keptAction {
	if rr.rs.DryRun && st.Nlink > 1 {
		if rr.keptSeen == nil {
			rr.keptSeen = map[devIno]keptJudgement{}
		}
		rr.keptSeen[devIno{uint64(st.Dev), st.Ino}] = keptJudgement{a, groupOf(f)}
	}
	return a
}

// allNamesInside says whether every name of the inode st (a kept member
// of f's hardlink group) is a name of that group in the target: then a
// change in place reaches only names that are to have it. It looks at
// each name of the group, only when a change is needed.
func (rr *restoreRun) allNamesInside(f *rFile, st *unix.Stat_t) bool {
	first := groupOf(f)
	names := []*rFile{first}
	for _, l := range rr.groupLinks(first) {
		names = append(names, l)
	}
	n := uint64(0)
	for _, m := range names {
		if mst, err := rr.lstat(m.rItem); err == nil && mst.Dev == st.Dev && mst.Ino == st.Ino {
			n++
		}
	}
	return n == uint64(st.Nlink)
}

// snapshotHasACL says whether f's snapshot node carries an access ACL
// that the restore sets.
func (rr *restoreRun) snapshotHasACL(f *rFile) bool {
	for _, x := range f.fm.xattrs {
		if x.Name == "system.posix_acl_access" && rr.xattrWanted(x.Name) {
			return true
		}
	}
	return false
}

// readXattr reads the extended attribute name of the open file fd (through
// its /proc link self when fd is an O_PATH descriptor), expecting about
// size bytes. ENODATA: it has none; ERANGE: a longer value, so not the
// same; another error: the file system keeps no such attribute.
func readXattr(fd int, self string, viaProc bool, name string, size int) ([]byte, error) {
	buf := make([]byte, size+1) // one more: a longer value is not the same
	var k int
	var err error
	if viaProc {
		k, err = unix.Getxattr(self, name, buf)
	} else {
		k, err = unix.Fgetxattr(fd, name, buf)
	}
	if err != nil {
		return nil, err
	}
	return buf[:k], nil
}

// hasXattr says whether the file has the attribute name.
func hasXattr(fd int, self string, viaProc bool, name string) bool {
	var err error
	if viaProc {
		_, err = unix.Getxattr(self, name, nil)
	} else {
		_, err = unix.Fgetxattr(fd, name, nil)
	}
	return err == nil
}

// groupLinks returns the later members of the hardlink group whose first
// member is first.
func (rr *restoreRun) groupLinks(first *rFile) []*rFile {
	if rr.groups == nil {
		rr.groups = map[*rFile][]*rFile{}
		for _, l := range rr.links {
			rr.groups[l.linkTo] = append(rr.groups[l.linkTo], l)
		}
	}
	return rr.groups[first]
}
