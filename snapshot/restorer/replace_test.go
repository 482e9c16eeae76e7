package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// noTemp fails if a temporary file of a restore is left under dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// A restore over an existing tree (--overwrite always, the default, and
// if-changed) replaced each file by removing it first, all of them before
// any was written: a file whose blob turned out damaged was then lost from
// the target although the target's copy was good, and an interrupt left
// the tree without the files not yet written. A file that replaces an
// entry is now written under a temporary name beside it and renamed over
// it once complete: the entry stays as it was until then.
func TestRestoreReplaceKeepsOldOnFailure(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	victim := snapshottest.RandBytes(31, 700<<10)
	snapshottest.WriteFile(t, filepath.Join(src, "b", "victim"), victim)
	snapshottest.WriteFile(t, filepath.Join(src, "a", "ok"), []byte("new content"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	vn, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(src, "b", "victim"))
	if err != nil || len(vn.Content) < 2 {
		t.Fatalf("victim: %v %+v", err, vn)
	}
	r.Damage(vn.Content[1].ID)

	for _, mode := range []OverwriteMode{OverwriteAlways, OverwriteIfChanged} {
		target := t.TempDir()
		oldV, oldOK := filepath.Join(target, src, "b", "victim"), filepath.Join(target, src, "a", "ok")
		snapshottest.WriteFile(t, oldV, []byte("the target's own victim"))
		snapshottest.WriteFile(t, oldOK, []byte("the target's own ok"))
		sum, err := (&Restorer{Repo: r, Overwrite: mode, Verify: true}).Restore(ctx, sn, "/", target)
		var re *RestoreError
		if !errors.As(err, &re) || len(sum.FailedFiles) != 1 || sum.Replaced != 1 {
			t.Fatalf("mode %d: %v %+v", mode, err, sum)
		}
		if got, err := os.ReadFile(oldV); err != nil || string(got) != "the target's own victim" {
			t.Errorf("mode %d: the damaged file's old copy is %q (%v); want it kept", mode, got, err)
		}
		if got, err := os.ReadFile(oldOK); err != nil || string(got) != "new content" {
			t.Errorf("mode %d: a/ok is %q (%v)", mode, got, err)
		}
		noTemp(t, target)
	}
}

// Interrupted, a restore over an existing tree leaves every file either as
// it was or as the snapshot has it, and no temporary file.
func TestRestoreReplaceInterrupted(t *testing.T) {
	src := t.TempDir()
	const n = 40
	want := map[string][]byte{}
	for i := range n {
		p := filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("x", i/26))
		want[p] = snapshottest.RandBytes(uint64(100+i), 64<<10)
		snapshottest.WriteFile(t, filepath.Join(src, p), want[p])
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	for p := range want {
		snapshottest.WriteFile(t, filepath.Join(target, src, p), []byte("old "+p))
	}
	ctx, cancel := context.WithCancel(context.Background())
	created := 0
	hook := func(op, rel string) {
		if op == "create" {
			if created++; created == n/2 {
				cancel()
			}
		}
	}
	_, err := (&Restorer{Repo: r, testHook: hook, Workers: 1}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interrupted restore, got %v", err)
	}
	var old, restored int
	for p, data := range want {
		got, err := os.ReadFile(filepath.Join(target, src, p))
		switch {
		case err != nil:
			t.Errorf("%s: %v (the name was left empty)", p, err)
		case string(got) == "old "+p:
			old++
		case bytes.Equal(got, data):
			restored++
		default:
			t.Errorf("%s: neither the old nor the snapshot's content (%d bytes)", p, len(got))
		}
	}
	if old == 0 || restored == 0 {
		t.Errorf("%d old, %d restored: the interrupt did not fall in the middle", old, restored)
	}
	noTemp(t, target)
}

// if-changed keeps a FIFO that is there as a FIFO: it has no content to
// differ, and re-creating it on every run counted it as replaced.
func TestRestoreIfChangedKeepsFIFO(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 0 || sum.Skipped != 1 || sum.Others != 0 {
		t.Errorf("%v %+v", err, sum)
	}
}

// The later names of a hardlink group are replaced like files: a damaged
// blob or an interrupt leaves each old entry as it was, or the snapshot's.
func TestRestoreReplaceLinkMembers(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	content := snapshottest.RandBytes(7, 700<<10)
	snapshottest.WriteFile(t, filepath.Join(src, "a", "x"), content)
	if err := os.MkdirAll(filepath.Join(src, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "a", "x"), filepath.Join(src, "b", "y")); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	old := func(target string) (x, y string) {
		x, y = filepath.Join(target, src, "a", "x"), filepath.Join(target, src, "b", "y")
		snapshottest.WriteFile(t, x, []byte("old x"))
		snapshottest.WriteFile(t, y, []byte("old y"))
		return x, y
	}

	// A link over an entry: made beside it and renamed over it.
	target := t.TempDir()
	x, y := old(target)
	sum, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 1 || sum.Replaced != 2 {
		t.Fatalf("link over an entry: %v %+v", err, sum)
	}
	inodes(t, content, x, y)
	noTemp(t, target)

	// Interrupted while the member's copy is written (links refused):
	// its old entry stays.
	target = t.TempDir()
	_, y = old(target)
	cctx, cancel := context.WithCancel(ctx)
	relY := strings.TrimPrefix(filepath.Join(src, "b", "y"), "/")
	hook := func(op, rel string) {
		if op == "create" && rel == relY {
			cancel()
		}
	}
	_, err = (&Restorer{Repo: r, testHook: hook, Workers: 1, testLinkErr: func(name, to string) error { return syscall.EXDEV }}).Restore(cctx, sn, "/", target)
	if got, rerr := os.ReadFile(y); !errors.Is(err, context.Canceled) || rerr != nil || string(got) != "old y" {
		t.Errorf("interrupted while copying: %v; y %q %v", err, got, rerr)
	}
	noTemp(t, target)

	// A damaged blob: neither name loses its old entry.
	vn, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(src, "a", "x"))
	if err != nil || len(vn.Content) < 2 {
		t.Fatalf("%v %+v", err, vn)
	}
	r.Damage(vn.Content[1].ID)
	for _, mode := range []OverwriteMode{OverwriteAlways, OverwriteIfChanged} {
		target := t.TempDir()
		x, y := old(target)
		(&Restorer{Repo: r, Overwrite: mode}).Restore(ctx, sn, "/", target)
		for p, want := range map[string]string{x: "old x", y: "old y"} {
			if got, err := os.ReadFile(p); err != nil || string(got) != want {
				t.Errorf("mode %d: %s is %q (%v), want %q", mode, p, got, err, want)
			}
		}
		noTemp(t, target)
	}
}

// Files replaced under a cap on open files are closed and reopened under
// their temporary names; interrupted, every file is old or new.
func TestRestoreReplaceUnderFDCap(t *testing.T) {
	sr, sn, want, src := stripedSnapshot(t, 30)
	for _, cancelAt := range []int{0, 40} {
		target := filepath.Join(t.TempDir(), "t")
		for i := 0; i < 30; i++ {
			snapshottest.WriteFile(t, filepath.Join(target, src, fmt.Sprintf("d%d/f%03d", i%3, i)), []byte("old"))
		}
		ctx, cancel := context.WithCancel(context.Background())
		var reopens atomic.Int32 // the hook runs on the workers
		rs := &Restorer{Repo: sr, Workers: 2, MaxOpenFiles: 3, Verify: true, testHook: func(op, rel string) {
			if op == "reopen" && int(reopens.Add(1)) == cancelAt {
				cancel()
			}
		}}
		sum, err := rs.Restore(ctx, sn, "/", target)
		if cancelAt == 0 {
			if err != nil || sum.Replaced != 30 || reopens.Load() == 0 {
				t.Fatalf("%v %+v (%d reopens)", err, sum, reopens.Load())
			}
			snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))
		} else {
			files := 0
			filepath.WalkDir(filepath.Join(target, src), func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					files++
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) || files != 30 {
				t.Errorf("interrupted: %v, %d of 30 files", err, files)
			}
		}
		noTemp(t, target)
	}
}

// A kept first member with data where the snapshot has a hole is not the
// snapshot's file (its data extents alone would match).
func TestRestoreKeptHoleChecked(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	x := filepath.Join(src, "x")
	f, err := os.Create(x)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), 8<<20)
	f.Close()
	if err := os.Link(x, filepath.Join(src, "y")); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	xn, err := walker.FindNode(ctx, r, sn.Tree, x)
	if err != nil || !slices.ContainsFunc(xn.Content, func(e snapshot.Extent) bool { return e.IsHole() }) {
		t.Skipf("no hole recorded here (%v): the file system has no sparse files", err)
	}
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	tx, ty := filepath.Join(target, src, "x"), filepath.Join(target, src, "y")
	os.Remove(ty)
	fi, _ := os.Stat(tx)
	// Zeros written into the hole are the same content: still linked.
	g, _ := os.OpenFile(tx, os.O_WRONLY, 0)
	g.WriteAt(make([]byte, 8192), 4<<20)
	g.Close()
	os.Chtimes(tx, fi.ModTime(), fi.ModTime())
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 1 || sum.LinkCopies != 0 {
		t.Errorf("zeros in the hole: %v %+v", err, sum)
	}
	os.Remove(ty)
	g, _ = os.OpenFile(tx, os.O_WRONLY, 0)
	g.WriteAt([]byte("PLANTED"), 4<<20)
	g.Close()
	os.Chtimes(tx, fi.ModTime(), fi.ModTime())
	sum, err = (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Links != 0 || sum.LinkCopies != 1 {
		t.Errorf("data in the hole: %v %+v", err, sum)
	}
}

// A link made under its temporary name whose rename over the old entry
// fails (a directory appeared there) is an error of that member: not taken
// for a refused link and copied, and its temporary name is removed.
func TestRestoreLinkRenameFails(t *testing.T) {
	ctx := context.Background()
	src, content := groupSource(t)
	r, sn, rel := snapshotOf(t, src)
	target := t.TempDir()
	x, y, z := filepath.Join(target, rel, "a/x"), filepath.Join(target, rel, "b/y"), filepath.Join(target, rel, "c/z")
	for _, p := range []string{x, y, z} {
		snapshottest.WriteFile(t, p, []byte("old"))
	}
	yRel := path.Join(rel, "b", "y")
	hook := func(op, p string) {
		if op == "rename" && p == yRel {
			os.Remove(y)
			os.Mkdir(y, 0o755)
		}
	}
	sum, err := (&Restorer{Repo: r, testHook: hook}).Restore(ctx, sn, "/", target)
	if err == nil || sum.LinkCopies != 0 || sum.Files != 1 || sum.Links != 1 || len(sum.Errors) != 1 ||
		!strings.Contains(sum.Errors[0].Error, "a directory is in the way") {
		t.Errorf("%v %+v", err, sum)
	}
	inodes(t, content, x, z)
	noTemp(t, target)
}

// A file the fd cache closed and reopens must still be the one the
// restore made: a file renamed over its name in between (by someone who
// can write the directory) fails it, and is neither written into nor
// removed.
func TestRestoreReopenSwapped(t *testing.T) {
	sr, sn, _, src := stripedSnapshot(t, 12)
	target := filepath.Join(t.TempDir(), "t")
	victim := strings.TrimPrefix(filepath.Join(src, "d0/f000"), "/")
	evil := bytes.Repeat([]byte("E"), 1000)
	swapped := false
	rs := &Restorer{Repo: sr, Workers: 1, MaxOpenFiles: 2, testHook: func(op, rel string) {
		if op != "reopen" || rel != victim || swapped {
			return
		}
		swapped = true
		p := filepath.Join(target, rel)
		if err := os.WriteFile(p+".evil", evil, 0o666); err != nil {
			t.Error(err)
		}
		if err := os.Rename(p+".evil", p); err != nil {
			t.Error(err)
		}
	}}
	sum, err := rs.Restore(context.Background(), sn, "/", target)
	if !swapped {
		t.Fatal("the victim was never reopened")
	}
	if err == nil || len(sum.FailedFiles) != 1 || !strings.Contains(sum.Errors[0].Error, "another file took its place") {
		t.Errorf("%v %+v", err, sum)
	}
	if got, err := os.ReadFile(filepath.Join(target, victim)); err != nil || !bytes.Equal(got, evil) {
		t.Errorf("the swapped-in file was written into or removed: %d bytes, %v", len(got), err)
	}
}

// A symlink or FIFO that replaces an entry is made beside it and renamed
// over it, like a file: the entry stays until then, so a node that cannot
// be made (a device as non-root) or a directory that appears in its place
// leaves it as it was, and no temporary name is left.
func TestRestoreReplaceSpecial(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	if err := os.Symlink("somewhere", filepath.Join(src, "ln")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	old := func(target string) {
		for _, n := range []string{"ln", "pipe"} {
			snapshottest.WriteFile(t, filepath.Join(target, src, n), []byte("old "+n))
		}
	}
	relLn := strings.TrimPrefix(filepath.Join(src, "ln"), "/")

	target := t.TempDir()
	old(target)
	seen := map[string]string{}
	hook := func(op, rel string) {
		if op == "specialmeta" {
			b, err := os.ReadFile(filepath.Join(target, rel))
			seen[path.Base(rel)] = fmt.Sprintf("%s %v", b, err)
		}
	}
	sum, err := (&Restorer{Repo: r, testHook: hook}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 2 || sum.Others != 2 {
		t.Fatalf("%v %+v", err, sum)
	}
	if seen["ln"] != "old ln <nil>" || seen["pipe"] != "old pipe <nil>" {
		t.Errorf("the old entries were gone before the new ones were made: %q", seen)
	}
	if l, err := os.Readlink(filepath.Join(target, relLn)); err != nil || l != "somewhere" {
		t.Errorf("symlink %q %v", l, err)
	}
	if fi, err := os.Lstat(filepath.Join(target, src, "pipe")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("pipe %v %v", fi, err)
	}
	noTemp(t, target)

	// A directory put at the name before the rename: it stays, the
	// symlink is reported, and its temporary name removed.
	target = t.TempDir()
	old(target)
	hook = func(op, rel string) {
		if op == "specialmeta" && rel == relLn {
			p := filepath.Join(target, rel)
			if err := os.Remove(p); err != nil {
				t.Error(err)
			}
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Error(err)
			}
		}
	}
	sum, err = (&Restorer{Repo: r, testHook: hook}).Restore(ctx, sn, "/", target)
	if err == nil || sum.Others != 1 || sum.Replaced != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "a directory is in the way") {
		t.Errorf("%v %+v", err, sum)
	}
	if fi, err := os.Lstat(filepath.Join(target, relLn)); err != nil || !fi.IsDir() {
		t.Errorf("the directory: %v %v", fi, err)
	}
	noTemp(t, target)

	// Where renameat2 has no RENAME_NOREPLACE (NFS), a name that is free
	// is taken with a plain rename.
	target = t.TempDir()
	sum, err = (&Restorer{Repo: r, testNoRename2: true}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Others != 2 {
		t.Errorf("without RENAME_NOREPLACE: %v %+v", err, sum)
	}
	if l, err := os.Readlink(filepath.Join(target, relLn)); err != nil || l != "somewhere" {
		t.Errorf("symlink %q %v", l, err)
	}
	noTemp(t, target)
}

// A symlink, FIFO or device node is made, and given its owner, mode and
// attributes, in a private directory (0700, the restore's own) and only
// then renamed to its name: made at a name others can reach, it could be
// swapped for a hardlink to their own file between the mknod and the
// chown by name, which then made their file the snapshot's owner's and
// setuid (a hostile review). A file planted at the name meanwhile is left
// alone and reported.
func TestRestoreSpecialStaged(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	pp := filepath.Join(src, "p")
	if err := syscall.Mkfifo(pp, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	rel := strings.TrimPrefix(pp, "/")
	for _, c := range []struct{ replace, noNoreplace bool }{{false, false}, {true, false}, {false, true}} {
		replace := c.replace
		t.Run(fmt.Sprintf("replace=%v,noNoreplace=%v", replace, c.noNoreplace), func(t *testing.T) {
			target := t.TempDir()
			dir := filepath.Join(target, src)
			if replace {
				snapshottest.WriteFile(t, filepath.Join(dir, "p"), []byte("old"))
			}
			evil := filepath.Join(target, "evil")
			snapshottest.WriteFile(t, evil, []byte("#!/bin/sh\nid\n"))
			staged := false
			hook := func(op, r string) {
				if op != "specialmeta" || r != rel {
					return
				}
				ents, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					if !strings.HasPrefix(e.Name(), ".cadang-restore-") {
						continue
					}
					var st syscall.Stat_t
					sp := filepath.Join(dir, e.Name())
					if err := syscall.Lstat(sp, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR || st.Mode&0o777 != 0o700 || int(st.Uid) != os.Geteuid() {
						t.Errorf("%s is not a private directory: %v %o", sp, err, st.Mode)
					}
					if fi, err := os.Lstat(filepath.Join(sp, "p")); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
						staged = true
					}
				}
				if !replace {
					// Someone plants a link to their file at the name.
					if err := os.Link(evil, filepath.Join(dir, "p")); err != nil {
						t.Error(err)
					}
				}
			}
			sum, err := (&Restorer{Repo: r, testHook: hook, testNoRename2: c.noNoreplace}).Restore(ctx, sn, "/", target)
			if !staged {
				t.Error("the FIFO was not made in the private directory")
			}
			if replace {
				if err != nil || sum.Others != 1 || sum.Replaced != 1 {
					t.Errorf("%v %+v", err, sum)
				}
				if fi, err := os.Lstat(filepath.Join(dir, "p")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
					t.Errorf("p: %v %v", fi, err)
				}
			} else {
				if err == nil || sum.Others != 0 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "something appeared at its name") {
					t.Errorf("%v %+v", err, sum)
				}
				if st := stat(t, evil); st.Mode&0o7777 != 0o644 || string(readAll(t, evil)) != "#!/bin/sh\nid\n" {
					t.Errorf("the planted file was changed: mode %o", st.Mode)
				}
			}
			noTemp(t, target)
		})
	}
}

// A directory where the snapshot has a file is reported under every
// overwrite mode: under never it was counted as an existing file kept, and
// the restore ended well although the file is not there (README walk).
func TestRestoreNeverDirectoryInTheWay(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "penawaran.pdf"), []byte("pdf"))
	snapshottest.WriteFile(t, filepath.Join(src, "kontrak.pdf"), []byte("kontrak"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(target, src, "penawaran.pdf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		sum, err := (&Restorer{Repo: r, Overwrite: OverwriteNever, DryRun: dry}).Restore(ctx, sn, "/", target)
		var re *RestoreError
		if !errors.As(err, &re) || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "a directory is in the way") || sum.Skipped != 0 {
			t.Errorf("dry %v: %v %+v", dry, err, sum)
		}
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "kontrak.pdf")); err != nil || string(b) != "kontrak" {
		t.Errorf("kontrak.pdf: %q %v", b, err)
	}
}
