package restorer

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// stage is a private directory (mode 0700, this process's) inside one
// directory of the target, where phase 2 makes a symlink, FIFO or device
// node and sets its metadata by name before renaming it to its own name
// beside the stage. Made at its own name, a node could be swapped for
// someone else's file (a hardlink to it) by whoever can write that
// directory, between the mknod and the chown by name that follows, and
// their content would get the snapshot's owner, mode and attributes
// (setuid, file capabilities). No one else can enter the stage, so a name
// in it is the node this restore made until the rename.
type stage struct {
	parent string // rel of the directory it is in ("" the target itself)
	name   string
	made   bool
	id     devIno // the directory made, which dropStage removes
}

// newStageName is a new name for a stage in the directory parent: hidden,
// with the restore's token, and a MAC of parent and a count under a key
// that appears in no name, so that no one can make the name of a stage
// ahead of it, not even from one seen before.
func (rr *restoreRun) newStageName(parent string) string {
	rr.stages++
	return fmt.Sprintf(".cadang-restore-%s-%x", rr.token, rr.mac("stage", fmt.Sprintf("%d/%s", rr.stages, parent)))
}

// mac is the first 8 bytes of HMAC-SHA-256 of kind and s under the
// restore's secret.
func (rr *restoreRun) mac(kind, s string) []byte {
	m := hmac.New(sha256.New, rr.secret[:])
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(s))
	return m.Sum(nil)[:8]
}

// makeSpecialStaged makes the symlink, FIFO or device node o in the stage
// of its directory, sets its metadata there and renames it to its name
// (over the entry there when replace; otherwise only where none has
// appeared). created says whether it stands at its name now; err may be
// a metadata error of a node that does.
func (rr *restoreRun) makeSpecialStaged(o rItem, replace bool) (created bool, err error) {
	dir, base := splitRel(o.rel)
	if rr.stage == nil || rr.stage.parent != dir {
		rr.dropStage()
		rr.stage = &stage{parent: dir}
	}
	st := rr.stage
	for try := 0; !st.made; try++ {
		st.name = rr.newStageName(dir)
		err = rr.root.at(path.Join(dir, st.name), func(dfd int, sname string) error {
			// Named before it is made, as a temporary file is.
			rr.noteDirIntent(tempStageIntent, path.Join(dir, sname))
			if err := unix.Mkdirat(dfd, sname, 0o700); err != nil {
				return err
			}
			rr.hook("staged", o.rel)
			rr.noteTempAt(tempStage, path.Join(dir, sname), dfd, sname)
			return nil
		})
		switch {
		case err == nil:
			st.made = true
		case errors.Is(err, unix.EEXIST) && try < 3:
			// Not this restore's (the name is new): another name.
		default:
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return false, fmt.Errorf("%s: a private directory to make it in cannot be made beside it: %w", o.dst(), err)
		}
	}
	err = rr.root.at(path.Join(dir, st.name), func(dfd int, sname string) error {
		sfd, err := unix.Openat(dfd, sname, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: rr.root.abs(path.Join(dir, sname)), Err: err}
		}
		defer unix.Close(sfd)
		var fst unix.Stat_t
		if err := unix.Fstat(sfd, &fst); err != nil || int(fst.Uid) != rr.euid || fst.Mode&0o077 != 0 ||
			st.id != (devIno{}) && st.id != (devIno{uint64(fst.Dev), fst.Ino}) {
			return fmt.Errorf("the restore's private directory %s was replaced by someone else's", rr.root.abs(path.Join(dir, sname)))
		}
		st.id = devIno{uint64(fst.Dev), fst.Ino}
		if err := makeSpecial(sfd, base, o.dst(), o.node); err != nil {
			return err
		}
		rr.hook("specialmeta", o.rel)
		dropped, merr := rr.atMetadata(sfd, base, o.dst(), o.node)
		if err := rr.moveOut(sfd, dfd, base, replace); err != nil {
			unix.Unlinkat(sfd, base, 0)
			switch err {
			case unix.EISDIR, unix.ENOTEMPTY:
				return wayErr("a directory is in the way (it appeared while the restore ran)")
			case unix.EEXIST:
				return fmt.Errorf("something appeared at its name while the restore ran; it was left as it is")
			}
			return &os.PathError{Op: "rename into place", Path: o.dst(), Err: err}
		}
		created = true
		if dropped { // counted once the node stands at its name
			rr.noteSetID(o.dst(), devIno{})
		}
		return merr
	})
	return created, err
}

// moveOut moves name from the stage sfd to the same name in dfd: over
// the entry there when replace, else only if none has appeared. Where
// renameat2 has no RENAME_NOREPLACE (NFS, FUSE without rename2), a link
// (which never replaces) and an unlink of the staged name do it, and on a
// file system without hardlinks either, a look and a rename.
func (rr *restoreRun) moveOut(sfd, dfd int, name string, replace bool) error {
	if replace {
		return unix.Renameat(sfd, name, dfd, name)
	}
	var err error = unix.EINVAL
	if !rr.rs.testNoRename2 {
		err = unix.Renameat2(sfd, name, dfd, name, unix.RENAME_NOREPLACE)
	}
	if err != unix.EINVAL && err != unix.ENOSYS && err != unix.EOPNOTSUPP {
		return err
	}
	switch err := unix.Linkat(sfd, name, dfd, name, 0); err {
	case nil:
		unix.Unlinkat(sfd, name, 0)
		return nil
	case unix.EEXIST:
		return err
	}
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return unix.EEXIST
	}
	return unix.Renameat(sfd, name, dfd, name)
}

// dropStage removes the current stage, if it was made and is still the
// directory this restore made: it is empty when every node made in it was
// renamed or removed.
func (rr *restoreRun) dropStage() {
	st := rr.stage
	rr.stage = nil
	if st == nil || !st.made {
		return
	}
	_ = rr.root.at(path.Join(st.parent, st.name), func(dfd int, sname string) error {
		var fst unix.Stat_t
		if err := unix.Fstatat(dfd, sname, &fst, unix.AT_SYMLINK_NOFOLLOW); err != nil || (devIno{uint64(fst.Dev), fst.Ino}) != st.id {
			return nil // not ours any more: left alone
		}
		return unix.Unlinkat(dfd, sname, unix.AT_REMOVEDIR)
	})
}
