package restorer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
	"golang.org/x/sys/unix"
)

// makeAwkwardTree builds the tree of the acceptance test under root and
// returns notes about what could not be created.
func makeAwkwardTree(t *testing.T, root string) (xattrs bool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t1999 := time.Date(1999, 12, 31, 23, 59, 59, 123456789, time.UTC)
	t2031 := time.Date(2031, 6, 1, 12, 0, 0, 987654321, time.UTC)
	must(os.MkdirAll(root, 0o755))
	snapshottest.WriteFile(t, filepath.Join(root, "unicode-ü-日本-ñ.txt"), []byte("unicode\n"))
	snapshottest.WriteFile(t, filepath.Join(root, "new\nline"), []byte("a name with a newline"))
	snapshottest.WriteFile(t, filepath.Join(root, "bin-\xff\xfe-name"), []byte("not utf-8"))
	snapshottest.WriteFile(t, filepath.Join(root, strings.Repeat("n", 250)), []byte("long name"))
	snapshottest.WriteFile(t, filepath.Join(root, "empty"), nil)
	must(os.Mkdir(filepath.Join(root, "emptydir"), 0o700))
	deep := root
	for i := 0; i < 40; i++ {
		deep = filepath.Join(deep, "d")
	}
	snapshottest.WriteFile(t, filepath.Join(deep, "bottom"), []byte("deep"))
	snapshottest.WriteFile(t, filepath.Join(root, "big.bin"), snapshottest.RandBytes(1, 3<<20+17))
	snapshottest.WriteFile(t, filepath.Join(root, "modes", "private"), []byte("secret"))
	must(os.Chmod(filepath.Join(root, "modes", "private"), 0o600))
	snapshottest.WriteFile(t, filepath.Join(root, "modes", "setuid"), []byte("#!/bin/sh\n"))
	must(os.Chmod(filepath.Join(root, "modes", "setuid"), 0o4755))
	must(os.Symlink("unicode-ü-日本-ñ.txt", filepath.Join(root, "link")))
	must(os.Symlink("does/not/exist", filepath.Join(root, "dangling")))
	snapshottest.WriteFile(t, filepath.Join(root, "hl1"), []byte("hardlinked content"))
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(os.Link(filepath.Join(root, "hl1"), filepath.Join(root, "sub", "hl2")))
	must(os.Link(filepath.Join(root, "hl1"), filepath.Join(root, "hl3")))
	// 512 MiB sparse file with a little data in the middle and at the end.
	sp := filepath.Join(root, "sparse.img")
	f, err := os.Create(sp)
	must(err)
	must(f.Truncate(512 << 20))
	_, err = f.WriteAt(snapshottest.RandBytes(2, 100<<10), 200<<20)
	must(err)
	_, err = f.WriteAt([]byte("the end!!!"), 512<<20-10)
	must(err)
	must(f.Close())
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o640))
	sg := filepath.Join(root, "setgid")
	must(os.Mkdir(sg, 0o755))
	must(os.Chmod(sg, 0o2775))
	snapshottest.WriteFile(t, filepath.Join(sg, "inside"), []byte("x"))
	if os.Geteuid() == 0 {
		must(unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(os.Lchown(filepath.Join(root, "modes", "private"), 1234, 5678))
		must(os.Lchown(filepath.Join(root, "dangling"), 4321, 8765))
	}
	// xattrs
	xattrs = true
	if err := unix.Lsetxattr(filepath.Join(root, "hl1"), "user.cadang", []byte("value\x00bin"), 0); err != nil {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			xattrs = false
		} else {
			t.Fatal(err)
		}
	}
	if xattrs {
		must(unix.Lsetxattr(sg, "user.dir", []byte("on a dir"), 0))
		must(unix.Lsetxattr(filepath.Join(root, "empty"), "user.empty", nil, 0))
	}
	// Times last, deepest first, so that creating entries does not change them.
	must(os.Chtimes(filepath.Join(root, "big.bin"), t1999, t1999))
	must(os.Chtimes(filepath.Join(root, "empty"), t2031, t2031))
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, "link"),
		[]unix.Timespec{unix.NsecToTimespec(t2031.UnixNano()), unix.NsecToTimespec(t2031.UnixNano())}, unix.AT_SYMLINK_NOFOLLOW))
	must(os.Chtimes(deep, t1999, t1999))
	must(os.Chtimes(sg, t2031, t2031))
	must(os.Chtimes(filepath.Join(root, "emptydir"), t1999, t1999))
	return xattrs
}

func TestAwkwardTreeRoundTrip(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	src := filepath.Join(base, "src")
	if !makeAwkwardTree(t, src) {
		t.Log("xattrs are not supported on this filesystem: not tested")
	}
	want := snapshottest.ScanTree(t, src)

	r := newTestRepo(t)
	a := archiver.NewArchiver(r)
	a.Hostname = "test"
	sn := mustSnapshot(t, a, src)
	if sn.Summary.FilesNew == 0 || len(sn.Summary.Errors) != 0 {
		t.Fatalf("summary: %+v", sn.Summary)
	}
	if got := sn.Summary.BytesRead; got > 8<<20 {
		t.Errorf("read %d bytes; the sparse file's holes should not be read", got)
	}

	target := filepath.Join(base, "restore")
	sum := mustRestore(t, r, sn, target)
	if sum.Verified == 0 || sum.Links != 2 {
		t.Errorf("restore summary: %+v", sum)
	}
	restored := filepath.Join(target, src)
	got := snapshottest.ScanTree(t, restored)
	snapshottest.CompareTrees(t, want, got)

	// The sparse file is restored sparse.
	var sst, rst syscall.Stat_t
	if err := syscall.Stat(filepath.Join(src, "sparse.img"), &sst); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(filepath.Join(restored, "sparse.img"), &rst); err != nil {
		t.Fatal(err)
	}
	t.Logf("sparse.img: source %d blocks, restored %d blocks (of 512 bytes)", sst.Blocks, rst.Blocks)
	if rst.Blocks*512 > 2<<20 || rst.Blocks > sst.Blocks+256 {
		t.Errorf("sparse file restored with %d blocks, source has %d", rst.Blocks, sst.Blocks)
	}

	// The non-UTF-8 name survives Ls and Find.
	var found bool
	if err := walker.Find(ctx, r, []*snapshot.Snapshot{sn}, []string{"bin-*"}, func(sn *snapshot.Snapshot, p string, n *snapshot.Node) error {
		found = strings.HasSuffix(p, "/bin-\xff\xfe-name")
		return nil
	}); err != nil || !found {
		t.Errorf("find bin-*: %v %v", found, err)
	}

	// A second backup of the same tree yields the same root tree.
	// (The directories above src changed: the restore target was made in base.)
	sn2 := mustSnapshot(t, a, src)
	n1, err1 := walker.FindNode(ctx, r, sn.Tree, src)
	n2, err2 := walker.FindNode(ctx, r, sn2.Tree, src)
	if err1 != nil || err2 != nil || n1.Subtree != n2.Subtree {
		t.Errorf("unchanged tree got a new tree: %v %v", err1, err2)
	}
	if sn2.Summary.BytesRead != 0 || sn2.Summary.FilesUnmodified != sn.Summary.FilesNew {
		t.Errorf("second backup: %+v", sn2.Summary)
	}
}
