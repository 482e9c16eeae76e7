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
// had them (restic's if-changed restores the metadata of every file). The
// kept file now gets them, through the descriptor of the inode that was
// looked at, and keeps its inode and content; what already matches is not
// set again; a dry run counts without setting.
func TestRestoreIfChangedSetsKeptMetadata(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "f")
	content := snapshottest.RandBytes(3, 200<<10)
	snapshottest.WriteFile(t, f, content)
	if err := os.Chmod(f, 0o640); err != nil {
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
			if err := os.Chmod(p, 0o400); err != nil {
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
			dry := *rs
			dry.DryRun = true
			sum, err := dry.Restore(ctx, sn, "/", target)
			if err != nil || sum.KeptMetadata != 1 || sum.Skipped != 1 || stat(t, p).Mode&0o7777 != 0o400 {
				t.Errorf("dry run: %v %+v, mode %04o", err, sum, stat(t, p).Mode&0o7777)
			}
			sum, err = rs.Restore(ctx, sn, "/", target)
			if err != nil || sum.Skipped != 1 || sum.KeptMetadata != 1 || sum.Replaced != 0 || sum.Files != 0 {
				t.Fatalf("%v %+v", err, sum)
			}
			after := stat(t, p)
			if after.Ino != before.Ino || !bytes.Equal(readAll(t, p), content) {
				t.Error("the kept file was rewritten")
			}
			if after.Mode&0o7777 != 0o640 {
				t.Errorf("mode %04o, want 0640", after.Mode&0o7777)
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
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
			sum, err = (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
			if err != nil || sum.KeptMetadata != 0 || stat(t, p).Mode&0o7777 != 0o600 {
				t.Errorf("never: %v %+v, mode %04o", err, sum, stat(t, p).Mode&0o7777)
			}
		})
	}
}

// Size and time do not say who wrote a kept file's content: its owner can
// rewrite it and put the time back, and whoever could write it may hold it
// open or mapped. A kept file whose metadata would grant privilege in
// place (setuid or setgid to gain, a file capability or another attribute
// outside the user namespace, write for others to take away, another
// owner) is written anew, as a changed file is: a new inode, with the
// snapshot's content and metadata, that no one else holds.
func TestRestoreIfChangedRewritesRatherThanGrants(t *testing.T) {
	ctx := context.Background()
	root := os.Geteuid() == 0
	src := t.TempDir()
	content := []byte("#!/bin/sh\necho the snapshot's tool\n")
	type plant struct {
		name string
		mode uint32               // the snapshot's
		edit func(p string) error // what stands in the target
		root bool                 // only as root
	}
	cases := []plant{
		{"others-write", 0o755, func(p string) error { return os.Chmod(p, 0o777) }, false},
		{"setuid", 0o4755, func(p string) error { return os.Chmod(p, 0o755) }, true},
		{"setgid", 0o2755, func(p string) error { return os.Chmod(p, 0o755) }, true},
		{"owner", 0o755, func(p string) error { return os.Chown(p, 1234, 1234) }, true},
		{"capability", 0o755, func(p string) error { return unix.Removexattr(p, "security.capability") }, true},
	}
	for _, c := range cases {
		p := filepath.Join(src, c.name)
		snapshottest.WriteFile(t, p, content)
		if err := os.Chmod(p, os.FileMode(c.mode&0o777)|modeBits(c.mode)); err != nil {
			t.Fatal(err)
		}
		if c.name == "capability" && root {
			if err := unix.Setxattr(p, "security.capability", capability(), 0); err != nil {
				t.Skipf("no file capabilities here: %v", err)
			}
		}
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	want := 0
	inos := map[string]uint64{}
	for _, c := range cases {
		if c.root && !root {
			continue
		}
		p := filepath.Join(target, src, c.name)
		if err := c.edit(p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		inos[c.name] = stat(t, p).Ino
		want++
	}
	dry, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, DryRun: true}).Restore(ctx, sn, "/", target)
	if err != nil || dry.Replaced != uint64(want) || dry.KeptMetadata != 0 {
		t.Errorf("dry run: %v %+v", err, dry)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != uint64(want) || sum.Files != uint64(want) || sum.KeptMetadata != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	for _, c := range cases {
		if c.root && !root {
			continue
		}
		p := filepath.Join(target, src, c.name)
		st := stat(t, p)
		if st.Ino == inos[c.name] || st.Mode&0o7777 != c.mode || !bytes.Equal(readAll(t, p), content) {
			t.Errorf("%s: inode %d (was %d), mode %04o (want %04o)", c.name, st.Ino, inos[c.name], st.Mode&0o7777, c.mode)
		}
		if root && (st.Uid != 0 || st.Gid != 0) {
			t.Errorf("%s: owner %d:%d", c.name, st.Uid, st.Gid)
		}
		if c.name == "capability" {
			if v, err := getXattr(p, "security.capability"); err != nil || !bytes.Equal(v, capability()) {
				t.Errorf("capability %x %v", v, err)
			}
		}
	}
	noTemp(t, target)
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

// Hardlink members kept by if-changed get the snapshot's mode too: a
// first member whose mode someone narrowed is the snapshot's file again,
// so a missing name is a link to it, not a copy; and a later member that
// stands as a file of its own (a copy an earlier restore made on a target
// without links) gets its mode as well.
func TestRestoreIfChangedKeptLinkMembers(t *testing.T) {
	ctx := context.Background()
	src, content := threeNames(t, 9, 100<<10)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	a, b, c := filepath.Join(target, src, "a"), filepath.Join(target, src, "b"), filepath.Join(target, src, "c")
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	// c: a copy of its own, with the same size and time.
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	snapshottest.WriteFile(t, c, content)
	st := stat(t, a)
	if err := unix.UtimesNano(c, []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, c} {
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 1 || sum.LinkCopies != 0 || sum.KeptMetadata != 2 || sum.Skipped != 2 {
		t.Fatalf("%v %+v", err, sum)
	}
	if ino := inodes(t, content, a, b); ino[0] != ino[1] {
		t.Errorf("b is not a link to a: %v", ino)
	}
	for _, p := range []string{a, c} {
		if m := stat(t, p).Mode & 0o777; m != 0o644 {
			t.Errorf("%s: mode %04o", p, m)
		}
	}
}

// A kept file whose mode differs and that has names outside the target (a
// hardlink to the live copy, a sibling snapshot of rsnapshot) is written
// anew: a change in place would reach those names too.
func TestRestoreIfChangedKeptLinkedFromOutside(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "f")
	snapshottest.WriteFile(t, f, []byte("data"))
	if err := os.Chmod(f, 0o640); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	p := filepath.Join(target, f)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Link(p, outside); err != nil {
		t.Fatal(err)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 1 || sum.KeptMetadata != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	if m := stat(t, outside).Mode & 0o777; m != 0o600 {
		t.Errorf("the name outside the target changed to %04o", m)
	}
	if m := stat(t, p).Mode & 0o777; m != 0o640 {
		t.Errorf("mode %04o", m)
	}
}

// A hardlink group whose inode someone chmodded, all of whose names are
// the group's in the target: the mode is set in place, once. Made world-
// writable, its first name is written anew and the others are linked to
// the new file, not left on the old inode. A dry run counts what the run
// does.
func TestRestoreIfChangedKeptGroup(t *testing.T) {
	ctx := context.Background()
	src, content := threeNames(t, 4, 50<<10)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	for _, c := range []struct {
		mode                                   os.FileMode
		files, links, replaced, kept, keptMeta uint64
	}{
		{0o600, 0, 0, 0, 3, 1},
		{0o666, 1, 2, 3, 0, 0},
	} {
		t.Run(fmt.Sprintf("%04o", c.mode), func(t *testing.T) {
			target := t.TempDir()
			mustRestore(t, r, sn, target)
			a := filepath.Join(target, src, "a")
			before := stat(t, a).Ino
			if err := os.Chmod(a, c.mode); err != nil {
				t.Fatal(err)
			}
			dry, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, DryRun: true}).Restore(ctx, sn, "/", target)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
			if err != nil || sum.Files != c.files || sum.Links != c.links || sum.Replaced != c.replaced || sum.Skipped != c.kept || sum.KeptMetadata != c.keptMeta {
				t.Fatalf("%v %+v", err, sum)
			}
			if dry.Files != sum.Files || dry.Links != sum.Links || dry.Replaced != sum.Replaced || dry.KeptMetadata != sum.KeptMetadata || dry.Skipped != sum.Skipped {
				t.Errorf("dry run %+v, run %+v", dry, sum)
			}
			ino := inodes(t, content, a, filepath.Join(target, src, "b"), filepath.Join(target, src, "c"))
			if ino[0] != ino[1] || ino[1] != ino[2] {
				t.Errorf("not one inode: %v", ino)
			}
			if (ino[0] == before) != (c.files == 0) {
				t.Errorf("inode %d, before %d", ino[0], before)
			}
			if m := stat(t, a).Mode & 0o777; m != 0o644 {
				t.Errorf("mode %04o", m)
			}
		})
	}
}

// A kept file with an access ACL that the snapshot does not give it is
// written anew: a new mode would widen the ACL's mask for the users it
// names.
func TestRestoreIfChangedKeptACL(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "f")
	snapshottest.WriteFile(t, f, []byte("data"))
	if err := os.Chmod(f, 0o660); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	p := filepath.Join(target, f)
	// user::rw- user:2000:rw- group::r-- mask::r-- other::---
	acl := []byte{2, 0, 0, 0}
	for _, e := range [][3]uint32{{0x01, 6, 0xffffffff}, {0x02, 6, 2000}, {0x04, 4, 0xffffffff}, {0x10, 4, 0xffffffff}, {0x20, 0, 0xffffffff}} {
		acl = append(acl, byte(e[0]), byte(e[0]>>8), byte(e[1]), byte(e[1]>>8), byte(e[2]), byte(e[2]>>8), byte(e[2]>>16), byte(e[2]>>24))
	}
	if err := unix.Setxattr(p, "system.posix_acl_access", acl, 0); err != nil {
		t.Skipf("no ACLs here: %v", err)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 1 || sum.KeptMetadata != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	if _, err := getXattr(p, "system.posix_acl_access"); err == nil {
		t.Error("the ACL is still there")
	}
	if m := stat(t, p).Mode & 0o777; m != 0o660 {
		t.Errorf("mode %04o", m)
	}
}

// With Verify, if-changed reads the files it keeps back: one whose
// content someone changed and put the size and time back on (ransomware
// does) was kept as the snapshot's, and the restore's record said every
// file was verified. It is now written anew; the others are counted as
// verified, and a kept symlink with the snapshot's target as the same.
func TestRestoreIfChangedVerifiesKept(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	good, bad := filepath.Join(src, "good"), filepath.Join(src, "bad")
	snapshottest.WriteFile(t, good, snapshottest.RandBytes(1, 100<<10))
	want := snapshottest.RandBytes(2, 100<<10)
	snapshottest.WriteFile(t, bad, want)
	if err := os.Symlink("good", filepath.Join(src, "ln")); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	p := filepath.Join(target, bad)
	st := stat(t, p)
	if err := os.WriteFile(p, bytes.Repeat([]byte("X"), len(want)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.UtimesNano(p, []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		t.Fatal(err)
	}
	// Without Verify the size and time are taken at their word.
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, DryRun: true}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Skipped != 3 || sum.KeptSame != 1 || sum.KeptVerified != 0 {
		t.Fatalf("dry run without verify: %v %+v", err, sum)
	}
	sum, err = (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, Verify: true}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Files != 1 || sum.Replaced != 1 || sum.Verified != 1 || sum.Skipped != 2 || sum.KeptVerified != 1 || sum.KeptSame != 1 {
		t.Fatalf("%v %+v", err, sum)
	}
	if !bytes.Equal(readAll(t, p), want) {
		t.Error("the changed file was kept")
	}
	noTemp(t, target)
}

// threeNames makes a source directory with one file of size pseudo-random
// bytes (seed) under the names a, b and c.
func threeNames(t *testing.T, seed uint64, size int) (src string, content []byte) {
	t.Helper()
	src = t.TempDir()
	content = snapshottest.RandBytes(seed, size)
	snapshottest.WriteFile(t, filepath.Join(src, "a"), content)
	for _, n := range []string{"b", "c"} {
		if err := os.Link(filepath.Join(src, "a"), filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	return src, content
}

// With Verify, a hardlink group that if-changed keeps is one inode: it was
// read back once for its first name, again for each later name, and once
// more to judge whether the later names may be linked to it. Each inode
// kept is now read once per restore; every name is still counted as kept
// and verified.
func TestRestoreIfChangedVerifyReadsGroupOnce(t *testing.T) {
	ctx := context.Background()
	src, content := threeNames(t, 5, 100<<10)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	var reads []string
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Verify: true, testHook: func(op, rel string) {
		if op == "keptread" {
			reads = append(reads, rel)
		}
	}}
	sum, err := rs.Restore(ctx, sn, "/", target)
	if err != nil || sum.Skipped != 3 || sum.KeptVerified != 3 || sum.Files != 0 || sum.Replaced != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	if len(reads) != 1 {
		t.Errorf("the kept inode was read %d times: %v", len(reads), reads)
	}
	names := []string{filepath.Join(target, src, "a"), filepath.Join(target, src, "b"), filepath.Join(target, src, "c")}
	if ino := inodes(t, content, names...); ino[0] != ino[1] || ino[1] != ino[2] {
		t.Errorf("not one inode: %v", ino)
	}
	noTemp(t, target)
}
