package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// --overwrite if-changed took a file of the snapshot's size and time to be
// the snapshot's, and left its mode and extended attributes as the target
// had them: a file someone made world-writable stayed so after a restore
// meant to put the tree back (restic's if-changed restores the metadata of
// every file). The kept file now gets them, through the descriptor of the
// inode that was looked at, and keeps its inode and content; what already
// matches is not set again. A file of another owner (as root) is written
// anew instead: its content is not to be handed the snapshot's owner and
// setuid bit.
func TestRestoreIfChangedSetsKeptMetadata(t *testing.T) {
	ctx := context.Background()
	root := os.Geteuid() == 0
	src := t.TempDir()
	f := filepath.Join(src, "f")
	content := snapshottest.RandBytes(3, 200<<10)
	snapshottest.WriteFile(t, f, content)
	mode := uint32(0o640)
	if root {
		mode = 0o4750
	}
	if err := os.Chmod(f, os.FileMode(mode&0o777)|modeBits(mode)); err != nil {
		t.Fatal(err)
	}
	xattrs := unix.Lsetxattr(f, "user.a", []byte("A"), 0) == nil
	if !xattrs {
		t.Log("no user xattrs on this file system: not tested")
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)

	for _, viaProc := range []bool{false, true} {
		t.Run(fmt.Sprintf("viaProc=%v", viaProc), func(t *testing.T) {
			target := t.TempDir()
			mustRestore(t, r, sn, target)
			p := filepath.Join(target, f)
			before := stat(t, p)
			if err := os.Chmod(p, 0o666); err != nil {
				t.Fatal(err)
			}
			if xattrs {
				if err := unix.Lsetxattr(p, "user.a", []byte("changed, and longer"), 0); err != nil {
					t.Fatal(err)
				}
			}
			looked := 0
			rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, testKeptNoRead: viaProc,
				testHook: func(op, rel string) {
					if op == "keptmeta" {
						looked++
					}
				}}
			sum, err := rs.Restore(ctx, sn, "/", target)
			if err != nil || sum.Skipped != 1 || sum.KeptMetadata != 1 || sum.Replaced != 0 || sum.Files != 0 {
				t.Fatalf("%v %+v", err, sum)
			}
			after := stat(t, p)
			if after.Ino != before.Ino || !bytes.Equal(readAll(t, p), content) {
				t.Error("the kept file was rewritten")
			}
			if after.Mode&0o7777 != mode {
				t.Errorf("mode %04o, want %04o", after.Mode&0o7777, mode)
			}
			if xattrs {
				if v, err := getXattr(p, "user.a"); err != nil || string(v) != "A" {
					t.Errorf("user.a %q %v", v, err)
				}
			}
			// Again: nothing differs, nothing is set (nor opened
			// without attributes to compare).
			looked = 0
			sum, err = rs.Restore(ctx, sn, "/", target)
			if err != nil || sum.KeptMetadata != 0 || sum.Skipped != 1 || (looked != 0 && !xattrs) {
				t.Errorf("a second run: %v %+v, %d looked at", err, sum, looked)
			}
			// never leaves the kept file's metadata alone.
			if err := os.Chmod(p, 0o666); err != nil {
				t.Fatal(err)
			}
			sum, err = (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
			if err != nil || sum.KeptMetadata != 0 || stat(t, p).Mode&0o7777 != 0o666 {
				t.Errorf("never: %v %+v, mode %04o", err, sum, stat(t, p).Mode&0o7777)
			}
			if !root {
				return
			}
			// Another owner: written anew, with the snapshot's owner
			// and mode; the other owner's inode is not given them.
			if err := os.Chown(p, 1234, 1234); err != nil {
				t.Fatal(err)
			}
			before = stat(t, p)
			sum, err = rs.Restore(ctx, sn, "/", target)
			if err != nil || sum.Skipped != 0 || sum.Replaced != 1 || sum.Files != 1 || sum.KeptMetadata != 0 {
				t.Fatalf("another owner: %v %+v", err, sum)
			}
			after = stat(t, p)
			if after.Ino == before.Ino || after.Uid != 0 || after.Gid != 0 || after.Mode&0o7777 != mode || !bytes.Equal(readAll(t, p), content) {
				t.Errorf("another owner: inode %d (was %d), owner %d:%d, mode %04o", after.Ino, before.Ino, after.Uid, after.Gid, after.Mode&0o7777)
			}
		})
	}
}

func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&unix.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	return fm
}

func stat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A file put in the kept file's place between the look and the change
// (by whoever may write its directory) is not touched: the change goes
// through a descriptor that must be the inode looked at.
func TestRestoreIfChangedKeptSwapped(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "f")
	snapshottest.WriteFile(t, f, []byte("the snapshot's"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	p := filepath.Join(target, f)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(f, "/")
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, testHook: func(op, r string) {
		if op != "keptmeta" || r != rel {
			return
		}
		if err := os.WriteFile(p+".evil", []byte("someone else's"), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Rename(p+".evil", p); err != nil {
			t.Error(err)
		}
	}}
	sum, err := rs.Restore(ctx, sn, "/", target)
	var re *RestoreError
	if !errors.As(err, &re) || sum.KeptMetadata != 0 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "changed while it was looked at") {
		t.Fatalf("%v %+v", err, sum)
	}
	if m := stat(t, p).Mode & 0o7777; m != 0o600 || string(readAll(t, p)) != "someone else's" {
		t.Errorf("the swapped-in file was changed: mode %04o", m)
	}
}

// A hardlink name missing beside a kept first member whose mode someone
// changed: the member gets the snapshot's mode back, so the name is a link
// to it again, not a copy.
func TestRestoreIfChangedKeptLinkTarget(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	content := snapshottest.RandBytes(9, 100<<10)
	snapshottest.WriteFile(t, filepath.Join(src, "a"), content)
	if err := os.Link(filepath.Join(src, "a"), filepath.Join(src, "b")); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	a, b := filepath.Join(target, src, "a"), filepath.Join(target, src, "b")
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a, 0o666); err != nil {
		t.Fatal(err)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 1 || sum.LinkCopies != 0 || sum.KeptMetadata != 1 {
		t.Fatalf("%v %+v", err, sum)
	}
	if ino := inodes(t, content, a, b); ino[0] != ino[1] {
		t.Errorf("b is not a link to a: %v", ino)
	}
	if m := stat(t, a).Mode & 0o777; m != 0o644 {
		t.Errorf("mode %04o", m)
	}
}
