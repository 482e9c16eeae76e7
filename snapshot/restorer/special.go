package restorer

import (
	"crypto/hmac"
	"crypto/sha256"
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
}

// stageName is the stage's name in the directory parent: hidden, with the
// restore's token, and a MAC of parent under a key that appears in no name,
// so that no one can make the name of a stage ahead of it.
func (rr *restoreRun) stageName(parent string) string {
	return fmt.Sprintf(".cadang-restore-%s-%x", rr.token, rr.mac("stage", parent))
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
		rr.stage = &stage{parent: dir, name: rr.stageName(dir)}
	}
	st := rr.stage
	err = rr.root.at(path.Join(dir, st.name), func(dfd int, sname string) error {
		if !st.made {
			if err := unix.Mkdirat(dfd, sname, 0o700); err != nil {
				return &os.PathError{Op: "mkdir", Path: rr.root.abs(path.Join(dir, sname)), Err: err}
			}
			st.made = true
		}
		sfd, err := unix.Openat(dfd, sname, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: rr.root.abs(path.Join(dir, sname)), Err: err}
		}
		defer unix.Close(sfd)
		var fst unix.Stat_t
		if err := unix.Fstat(sfd, &fst); err != nil || int(fst.Uid) != rr.euid || fst.Mode&0o077 != 0 {
			return fmt.Errorf("the restore's private directory %s was replaced by someone else's", rr.root.abs(path.Join(dir, sname)))
		}
		if err := makeSpecial(sfd, base, o.dst(), o.node); err != nil {
			return err
		}
		rr.hook("specialmeta", o.rel)
		merr := rr.atMetadata(sfd, base, o.dst(), o.node)
		flags := uint(unix.RENAME_NOREPLACE)
		if replace {
			flags = 0
		}
		if rr.rs.testNoNoreplace && flags != 0 {
			err = unix.EINVAL
		} else {
			err = unix.Renameat2(sfd, base, dfd, base, flags)
		}
		if err == unix.EINVAL && flags != 0 {
			// No RENAME_NOREPLACE here (NFS, some FUSE file systems):
			// look, then rename. Something that appears in between is
			// replaced, as a file written over it would be.
			var st unix.Stat_t
			if serr := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil {
				err = unix.EEXIST
			} else {
				err = unix.Renameat(sfd, base, dfd, base)
			}
		}
		if err != nil {
			unix.Unlinkat(sfd, base, 0)
			switch err {
			case unix.EISDIR, unix.ENOTEMPTY:
				return fmt.Errorf("a directory is in the way (it appeared while the restore ran)")
			case unix.EEXIST:
				return fmt.Errorf("something appeared at its name while the restore ran; it was left as it is")
			}
			return &os.PathError{Op: "rename into place", Path: o.dst(), Err: err}
		}
		created = true
		return merr
	})
	return created, err
}

// dropStage removes the current stage, if it was made: it is empty when
// every node made in it was renamed or removed.
func (rr *restoreRun) dropStage() {
	st := rr.stage
	rr.stage = nil
	if st == nil || !st.made {
		return
	}
	_ = rr.root.at(path.Join(st.parent, st.name), func(dfd int, sname string) error {
		return unix.Unlinkat(dfd, sname, unix.AT_REMOVEDIR)
	})
}
