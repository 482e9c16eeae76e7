package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// linkSource is a tree with the hardlink group a/x, b/y, and a plain b/z.
// y's own metadata differs from nothing (it is the same inode), so a copy
// must carry x's content, mode and time.
func linkSource(t *testing.T) (src string, content []byte, mtime time.Time) {
	t.Helper()
	src = t.TempDir()
	content = bytes.Repeat([]byte("hardlinked content "), 4000) // several blobs' worth at the test's chunk sizes
	snapshottest.WriteFile(t, filepath.Join(src, "a", "x"), content)
	snapshottest.WriteFile(t, filepath.Join(src, "b", "z"), []byte("plain"))
	if err := os.Chmod(filepath.Join(src, "a", "x"), 0o640); err != nil {
		t.Fatal(err)
	}
	mtime = time.Date(2026, 11, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "a", "x"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "a", "x"), filepath.Join(src, "b", "y")); err != nil {
		t.Fatal(err)
	}
	return src, content, mtime
}

// checkCopy checks that p is a regular file of its own (not a link of
// other) with the snapshot's content, mode and time.
func checkCopy(t *testing.T, p, other string, content []byte, mtime time.Time) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("%s: %d bytes, %v; want the snapshot's %d", p, len(got), err, len(content))
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mtime) {
		t.Errorf("%s: mode %v, time %v; want a regular file, 0640, %v", p, fi.Mode(), fi.ModTime(), mtime)
	}
	if oi, err := os.Lstat(other); err == nil && os.SameFile(fi, oi) {
		t.Errorf("%s is a link of %s", p, other)
	}
}

// A target that cannot give a group one inode (a file system without
// hardlinks, a mount point between the names, the link limit) gets the
// later member as a file of its own, from its own extents. Before, the
// member failed, and under --overwrite always the file that stood at its
// name had already been removed: the name was left empty. Here the names
// are on two file systems (a tmpfs mounted on b): link(2) fails with EXDEV.
func TestRestoreLinkAcrossMountWritesCopy(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tmpfs inside the target (a link across file systems)")
	}
	ctx := context.Background()
	src, content, mtime := linkSource(t)
	r, sn, rel := snapshotOf(t, src)
	target := t.TempDir()
	b := filepath.Join(target, rel, "b")
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", b, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the cross-device link is not tested", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(b, syscall.MNT_DETACH) })
	x, y := filepath.Join(target, rel, "a", "x"), filepath.Join(b, "y")

	sum, err := (&Restorer{Repo: r, Verify: true}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 0 || sum.LinkCopies != 1 || sum.Files != 3 || sum.Verified != 3 || len(sum.Errors) != 0 {
		t.Fatalf("restore: %v %+v", err, sum)
	}
	if len(sum.LinkCopyNotes) != 1 || !strings.HasSuffix(sum.LinkCopyNotes[0].Path, "/b/y") ||
		!strings.Contains(sum.LinkCopyNotes[0].Error, "invalid cross-device link") {
		t.Errorf("notes: %+v", sum.LinkCopyNotes)
	}
	checkCopy(t, y, x, content, mtime)

	// Over a file that stood at the member's name (--overwrite always):
	// it is replaced by the copy, not left removed.
	if err := os.WriteFile(y, []byte("an older y"), 0o644); err != nil {
		t.Fatal(err)
	}
	dry, err := (&Restorer{Repo: r, DryRun: true}).Restore(ctx, sn, "/", target)
	if err != nil || dry.Replaced != 3 || dry.Links != 1 || dry.LinkCopies != 0 {
		// A dry run cannot know that the link will be refused.
		t.Errorf("dry run: %v %+v", err, dry)
	}
	sum, err = (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if err != nil || sum.LinkCopies != 1 || sum.Replaced != 3 || len(sum.Errors) != 0 {
		t.Fatalf("restore over the tree: %v %+v", err, sum)
	}
	checkCopy(t, y, x, content, mtime)
}

// The same with the link limit (EMLINK), where the target's file system
// has one that a test can reach: ext4's 65,000 links per inode. The test's
// hook fills the first member's links just before the restore links it.
func TestRestoreLinkLimitWritesCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 65,000 links (-short)")
	}
	ctx := context.Background()
	src, content, mtime := linkSource(t)
	r, sn, rel := snapshotOf(t, src)
	target := t.TempDir()
	x, y := filepath.Join(target, rel, "a", "x"), filepath.Join(target, rel, "b", "y")
	fill := filepath.Join(target, "fill")
	var fillErr error
	hook := func(op, p string) {
		if op != "link" || fillErr != nil {
			return
		}
		if fillErr = os.Mkdir(fill, 0o700); fillErr != nil {
			return
		}
		for i := 0; i < 70_000; i++ {
			if err := os.Link(x, filepath.Join(fill, fmt.Sprint(i))); err != nil {
				if !errors.Is(err, syscall.EMLINK) {
					fillErr = err
				}
				return
			}
		}
		fillErr = errors.New("no link limit below 70,000 links here")
	}
	sum, err := (&Restorer{Repo: r, testHook: hook}).Restore(ctx, sn, "/", target)
	if fillErr != nil {
		t.Skipf("the link limit cannot be reached on this file system: %v", fillErr)
	}
	if err != nil || sum.Links != 0 || sum.LinkCopies != 1 || sum.Files != 3 || len(sum.Errors) != 0 {
		t.Fatalf("restore: %v %+v", err, sum)
	}
	if len(sum.LinkCopyNotes) != 1 || !strings.Contains(sum.LinkCopyNotes[0].Error, "too many links") {
		t.Errorf("notes: %+v", sum.LinkCopyNotes)
	}
	checkCopy(t, y, x, content, mtime)
	if err := os.RemoveAll(fill); err != nil {
		t.Fatal(err)
	}
}

// linkCopyNotes are bounded: a tree of many groups on a target without
// hardlinks must not grow the summary without end.
func TestLinkCopyNotesBounded(t *testing.T) {
	rr := &restoreRun{}
	base := &planBase{sroot: "/", target: "/t"}
	first := &rFile{rItem: rItem{rel: "first", base: base}}
	for i := 0; i < maxLinkCopyNotes+5; i++ {
		f := &rFile{rItem: rItem{rel: fmt.Sprint("f", i), base: base}, linkTo: first}
		rr.noteCopy(f, copyReason{kind: linkFailed, errno: unix.EPERM})
	}
	if rr.sum.LinkCopies != maxLinkCopyNotes+5 || len(rr.sum.LinkCopyNotes) != maxLinkCopyNotes ||
		rr.sum.LinkCopyNotes[0].Error != "link /t/first /t/f0: operation not permitted" {
		t.Errorf("%d copies, %d notes: %+v", rr.sum.LinkCopies, len(rr.sum.LinkCopyNotes), rr.sum.LinkCopyNotes[0])
	}
}

// groupSource is a tree with the hardlink group a/x, b/y, c/z.
func groupSource(t *testing.T) (src string, content []byte) {
	t.Helper()
	src = t.TempDir()
	content = []byte("three names, one inode")
	snapshottest.WriteFile(t, filepath.Join(src, "a", "x"), content)
	for _, p := range []string{"b/y", "c/z"} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(filepath.Join(src, "a", "x"), filepath.Join(src, p)); err != nil {
			t.Fatal(err)
		}
	}
	return src, content
}

// inodes returns the inode of each path (0 for one that is missing), and
// fails unless each holds content.
func inodes(t *testing.T, content []byte, paths ...string) []uint64 {
	t.Helper()
	var out []uint64
	for _, p := range paths {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s: %q %v", p, got, err)
			out = append(out, 0)
			continue
		}
		fi, _ := os.Lstat(p)
		out = append(out, fi.Sys().(*syscall.Stat_t).Ino)
	}
	return out
}

// Every errno by which a target says it cannot link (FAT's EPERM, a FUSE
// file system's ENOSYS, EOPNOTSUPP, EXDEV, EMLINK; and an unexpected one
// such as EIO) makes a copy. The group's later members are linked to the
// first copy; where that is refused too, each gets its own.
func TestRestoreLinkRefusedErrnos(t *testing.T) {
	ctx := context.Background()
	src, content := groupSource(t)
	r, sn, rel := snapshotOf(t, src)
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOSYS, syscall.EOPNOTSUPP, syscall.EXDEV, syscall.EMLINK, syscall.EIO} {
		for _, everywhere := range []bool{false, true} {
			target := t.TempDir()
			x := path.Join(rel, "a", "x")
			refuse := func(name, to string) error {
				if everywhere || to == x {
					return errno
				}
				return nil
			}
			prog := &recordProgress{done: map[string]int{}}
			sum, err := (&Restorer{Repo: r, testLinkErr: refuse, Progress: prog}).Restore(ctx, sn, "/", target)
			what := fmt.Sprintf("%v, every link refused %v", errno, everywhere)
			if err != nil || len(sum.Errors) != 0 || sum.Files != 1+sum.LinkCopies || sum.Bytes != sum.Files*uint64(len(content)) {
				t.Fatalf("%s: %v %+v", what, err, sum)
			}
			// Every item completed once; the copies are in the totals.
			for _, p := range []string{"a/x", "b/y", "c/z"} {
				if n := prog.done[path.Join(src, p)]; n != 1 {
					t.Errorf("%s: %s completed %d times", what, p, n)
				}
			}
			// The total counts every name, as the completions do (a
			// progress said "7 of 5 files" before): linked or copied.
			if prog.files != sum.Files+sum.Links || prog.bytes != sum.Bytes {
				t.Errorf("%s: planned %d files, %d bytes; restored %d and %d links, %d bytes",
					what, prog.files, prog.bytes, sum.Files, sum.Links, sum.Bytes)
			}
			ino := inodes(t, content, filepath.Join(target, rel, "a/x"), filepath.Join(target, rel, "b/y"), filepath.Join(target, rel, "c/z"))
			if everywhere {
				// Three files of their own.
				if sum.LinkCopies != 2 || sum.Links != 0 || ino[0] == ino[1] || ino[1] == ino[2] || ino[0] == ino[2] {
					t.Errorf("%s: %+v, inodes %v", what, sum, ino)
				}
			} else {
				// y copied; z linked to y.
				if sum.LinkCopies != 1 || sum.Links != 1 || ino[0] == ino[1] || ino[1] != ino[2] {
					t.Errorf("%s: %+v, inodes %v", what, sum, ino)
				}
			}
			if len(sum.LinkCopyNotes) == 0 || !strings.Contains(sum.LinkCopyNotes[0].Error, errno.Error()) {
				t.Errorf("%s: notes %+v", what, sum.LinkCopyNotes)
			}
		}
	}
}

// A race at the member's name (something appeared there after prepare:
// EEXIST) is not papered over with a copy, and a copy that cannot be
// written is reported as failed, not as written.
func TestRestoreLinkCopyFails(t *testing.T) {
	ctx := context.Background()
	src, _ := groupSource(t)
	r, sn, rel := snapshotOf(t, src)

	target := t.TempDir()
	sum, err := (&Restorer{Repo: r, testLinkErr: func(name, to string) error { return syscall.EEXIST }}).Restore(ctx, sn, "/", target)
	if err == nil || sum.LinkCopies != 0 || len(sum.Errors) != 2 || !strings.Contains(sum.Errors[0].Error, "file exists") {
		t.Errorf("EEXIST: %v %+v", err, sum)
	}

	// The copy's create finds something planted at its name (a symlink
	// to a file outside): it fails, the file outside is untouched, and
	// the member is not counted or named as copied.
	target = t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	snapshottest.WriteFile(t, outside, []byte("outside"))
	y := path.Join(rel, "b", "y")
	hook := func(op, p string) {
		if op == "create" && p == y {
			os.Symlink(outside, filepath.Join(target, p))
		}
	}
	sum, err = (&Restorer{Repo: r, testHook: hook, testLinkErr: func(name, to string) error { return syscall.EPERM }}).Restore(ctx, sn, "/", target)
	var rerr *RestoreError
	if !errors.As(err, &rerr) || sum.LinkCopies != 1 || len(sum.FailedFiles) != 1 || !strings.HasSuffix(sum.FailedFiles[0], "/b/y") {
		t.Errorf("planted symlink: %v %+v", err, sum)
	}
	for _, n := range sum.LinkCopyNotes {
		if strings.HasSuffix(n.Path, "/b/y") {
			t.Errorf("the failed copy is named as written: %+v", sum.LinkCopyNotes)
		}
	}
	if got, err := os.ReadFile(outside); err != nil || string(got) != "outside" {
		t.Errorf("the file outside holds %q (%v)", got, err)
	}
}

// A first member that cannot be restored (here a directory stands at its
// name) no longer takes its links with it: each later member holds the
// whole content, and the first of them is written from its own.
func TestRestoreLinkFirstMemberFailed(t *testing.T) {
	ctx := context.Background()
	src, content := groupSource(t)
	r, sn, rel := snapshotOf(t, src)
	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(target, rel, "a", "x", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	dry, err := (&Restorer{Repo: r, DryRun: true}).Restore(ctx, sn, "/", target)
	if dry == nil || dry.LinkCopies != 1 || dry.Links != 1 || len(dry.Errors) != 1 {
		t.Errorf("dry run: %v %+v", err, dry)
	}
	sum, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if err == nil || sum.LinkCopies != 1 || sum.Links != 1 || len(sum.Errors) != 1 ||
		!strings.Contains(sum.Errors[0].Error, "a directory is in the way (a restore does not remove a directory") ||
		len(sum.LinkCopyNotes) != 1 || !strings.Contains(sum.LinkCopyNotes[0].Error, "was not restored") {
		t.Fatalf("%v %+v", err, sum)
	}
	ino := inodes(t, content, filepath.Join(target, rel, "b/y"), filepath.Join(target, rel, "c/z"))
	if ino[0] != ino[1] {
		t.Errorf("z is not a link of the copy y: %v", ino)
	}
}

// Under never, a member that exists is kept, whatever its first member is:
// the copy is made only where nothing stands.
func TestRestoreLinkCopyNeverKeepsMember(t *testing.T) {
	ctx := context.Background()
	src, _ := groupSource(t)
	r, sn, rel := snapshotOf(t, src)
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	x, y, z := filepath.Join(target, rel, "a/x"), filepath.Join(target, rel, "b/y"), filepath.Join(target, rel, "c/z")
	for _, p := range []string{x, y, z} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	snapshottest.WriteFile(t, x, []byte("edited by hand"))
	snapshottest.WriteFile(t, y, []byte("mine"))
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Skipped != 2 || sum.LinkCopies != 1 || sum.Files != 1 || len(sum.Errors) != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	if got, _ := os.ReadFile(y); string(got) != "mine" {
		t.Errorf("y was overwritten: %q", got)
	}
	inodes(t, []byte("three names, one inode"), z)
}

// recordProgress keeps the last totals planned and how often each item
// was completed.
type recordProgress struct {
	NopRestoreProgress
	mu           sync.Mutex
	files, bytes uint64
	done         map[string]int
}

func (p *recordProgress) Planned(files, bytes uint64) {
	p.mu.Lock()
	p.files, p.bytes = files, bytes
	p.mu.Unlock()
}

func (p *recordProgress) CompleteItem(path string, n *snapshot.Node, skipped bool) {
	p.mu.Lock()
	p.done[path]++
	p.mu.Unlock()
}

// A later member is never linked to its group's copy when that copy
// failed: what stands at the copy's name then is not this restore's (here
// a symlink to a file outside, planted as the copy was created). It gets
// a copy of its own. And a link to the copy that meets something at its
// own name (EEXIST) is an error, not a copy.
func TestRestoreLinkToFailedCopy(t *testing.T) {
	ctx := context.Background()
	src, content := groupSource(t)
	r, sn, rel := snapshotOf(t, src)
	x, y := path.Join(rel, "a", "x"), path.Join(rel, "b", "y")
	refuseX := func(name, to string) error {
		if to == x {
			return syscall.EXDEV
		}
		return nil
	}

	target := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	snapshottest.WriteFile(t, outside, []byte("outside"))
	hook := func(op, p string) {
		if op == "create" && p == y {
			os.Symlink(outside, filepath.Join(target, p))
		}
	}
	sum, err := (&Restorer{Repo: r, testHook: hook, testLinkErr: refuseX}).Restore(ctx, sn, "/", target)
	if err == nil || sum.Links != 0 || sum.LinkCopies != 1 || len(sum.FailedFiles) != 1 {
		t.Errorf("planted symlink at the copy: %v %+v", err, sum)
	}
	z := filepath.Join(target, rel, "c", "z")
	if fi, err := os.Lstat(z); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("z: %v %v", fi, err)
	}
	inodes(t, content, z)
	if fy, err := os.Lstat(filepath.Join(target, y)); err == nil {
		if fz, _ := os.Lstat(z); os.SameFile(fy, fz) {
			t.Errorf("z was linked to what stands at y")
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "outside" {
		t.Errorf("the file outside holds %q", got)
	}

	target = t.TempDir()
	raceAtZ := func(name, to string) error {
		if to == x {
			return syscall.EXDEV
		}
		if to == y {
			return syscall.EEXIST
		}
		return nil
	}
	sum, err = (&Restorer{Repo: r, testLinkErr: raceAtZ}).Restore(ctx, sn, "/", target)
	if err == nil || sum.LinkCopies != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "file exists") {
		t.Errorf("EEXIST linking to the copy: %v %+v", err, sum)
	}
}

// A kept first member that matches the snapshot's size and time but not
// its content, mode or owner (anyone who can write the target can make
// one) is not given the group's new names: a link would hand that inode,
// with its writer's content and permissions, a name in a directory that
// may be closed to everyone else. The names are written as copies. Under
// if-changed the mode is the snapshot's once the kept file is (keptmeta),
// and a file of another owner is written anew: the names are links then.
func TestRestoreNoLinkToLookalike(t *testing.T) {
	ctx := context.Background()
	src, content := groupSource(t)
	srcX := filepath.Join(src, "a", "x")
	if err := os.Chmod(srcX, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(srcX)
	if err != nil {
		t.Fatal(err)
	}
	r, sn, rel := snapshotOf(t, src)
	cases := map[string]func(x string) error{
		"content": func(x string) error { return os.WriteFile(x, bytes.Repeat([]byte("E"), len(content)), 0o644) },
		"mode":    func(x string) error { return os.Chmod(x, 0o666) },
	}
	if os.Getuid() == 0 {
		cases["owner"] = func(x string) error { return os.Chown(x, 1000, 1000) }
	}
	for name, plant := range cases {
		target := t.TempDir()
		if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
			t.Fatal(err)
		}
		x, y, z := filepath.Join(target, rel, "a/x"), filepath.Join(target, rel, "b/y"), filepath.Join(target, rel, "c/z")
		for _, p := range []string{y, z} {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := plant(x); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(x, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []OverwriteMode{OverwriteNever, OverwriteIfChanged} {
			if mode == OverwriteIfChanged {
				for _, p := range []string{y, z} {
					os.Remove(p)
				}
				if name != "content" {
					// if-changed gives the kept x the snapshot's
					// mode, or writes x anew where its owner
					// differs: then it is the snapshot's file,
					// and the names are links to it.
					sum, err := (&Restorer{Repo: r, Overwrite: mode}).Restore(ctx, sn, "/", target)
					if err != nil || sum.Links != 2 || sum.LinkCopies != 0 {
						t.Errorf("%s, mode %d: %v %+v", name, mode, err, sum)
					}
					if ino := inodes(t, content, x, y, z); ino[0] != ino[1] || ino[1] != ino[2] {
						t.Errorf("%s, mode %d: not one inode: %v", name, mode, ino)
					}
					continue
				}
			}
			sum, err := (&Restorer{Repo: r, Overwrite: mode}).Restore(ctx, sn, "/", target)
			if err != nil || sum.Links != 1 || sum.LinkCopies != 1 || len(sum.LinkCopyNotes) != 1 ||
				!strings.Contains(sum.LinkCopyNotes[0].Error, "is not the snapshot's file") {
				t.Errorf("%s, mode %d: %v %+v", name, mode, err, sum)
				continue
			}
			ino := inodes(t, content, y, z)
			xi, _ := os.Lstat(x)
			if yi, _ := os.Lstat(y); os.SameFile(xi, yi) || ino[0] != ino[1] {
				t.Errorf("%s, mode %d: y linked to the kept x, or z not linked to the copy y", name, mode)
			}
		}
	}
}

// snapshotOf backs src up into a new test repository and returns it, the
// snapshot, and src's path below a restore target.
func snapshotOf(t *testing.T, src string) (*snapshottest.Repo, *snapshot.Snapshot, string) {
	t.Helper()
	r := newTestRepo(t)
	return r, mustSnapshot(t, archiver.NewArchiver(r), src), strings.TrimPrefix(src, "/")
}
