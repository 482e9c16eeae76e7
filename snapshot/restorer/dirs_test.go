package restorer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// manyDirs writes a tree with enough directories at two depths that
// phase 1 shares each depth among several goroutines: top/dNNN/sub, with
// a file in each sub and distinct modes and times on the directories.
func manyDirs(t *testing.T, n int) string {
	t.Helper()
	src := t.TempDir()
	when := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		d := filepath.Join(src, "top", fmt.Sprintf("d%03d", i))
		snapshottest.WriteFile(t, filepath.Join(d, "sub", "f"), []byte(fmt.Sprintf("file %d", i)))
		os.Chmod(filepath.Join(d, "sub"), 0o750-os.FileMode(i%8))
		os.Chtimes(filepath.Join(d, "sub"), when, when.Add(time.Duration(i)*time.Minute))
		os.Chtimes(d, when, when.Add(time.Duration(i)*time.Hour))
	}
	return src
}

// TestRestoreManyDirectoriesInParallel restores a tree whose depths hold
// hundreds of directories, with several workers (phase 1 runs each depth
// on several goroutines), and compares every directory, file, mode and
// time with the source.
func TestRestoreManyDirectoriesInParallel(t *testing.T) {
	const n = 300
	src := manyDirs(t, n)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	if parts := splitRuns(make([]int, n), 4, makeDirsMinPart); len(parts) < 2 {
		t.Fatalf("%d directories of one depth make %d run: the test would not run phase 1 in parallel", n, len(parts))
	}
	want := snapshottest.ScanTree(t, src)
	for _, workers := range []int{1, 4} {
		target := t.TempDir()
		rs := &Restorer{Repo: r, Verify: true, Workers: workers}
		sum, err := rs.Restore(context.Background(), sn, "/", target)
		if err != nil {
			t.Fatal(err)
		}
		// top, each dNNN and each sub, and the source's own path.
		if min := uint64(1 + 2*n); sum.Dirs < min {
			t.Errorf("workers %d: %d directories restored, want at least %d", workers, sum.Dirs, min)
		}
		snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))
	}
}

// TestRestoreManyDirectoriesOneInTheWay: a file in the way of one
// directory, with overwrite mode never, fails that directory and what is
// below it, reported once, and every other directory of its depth (made by
// other goroutines) is restored.
func TestRestoreManyDirectoriesOneInTheWay(t *testing.T) {
	const n = 300
	src := manyDirs(t, n)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	blocked := filepath.Join(target, src, "top", "d137")
	snapshottest.WriteFile(t, blocked, []byte("in the way"))
	// A dry run says what the run will: the directory in the way fails.
	dry, err := (&Restorer{Repo: r, Workers: 4, Overwrite: OverwriteNever, DryRun: true}).Restore(context.Background(), sn, "/", target)
	if err == nil || len(dry.Errors) != 2 || !strings.Contains(dry.Errors[0].Error, "a file is in the way of the directory") {
		t.Errorf("dry run, never: %v %+v", err, dry.Errors)
	}
	rs := &Restorer{Repo: r, Workers: 4, Overwrite: OverwriteNever}
	sum, err := rs.Restore(context.Background(), sn, "/", target)
	if err == nil {
		t.Fatal("restore with a file in the way of a directory reported no error")
	}
	var errs []string
	for _, e := range sum.Errors {
		errs = append(errs, e.Path+": "+e.Error)
	}
	if len(sum.Errors) != 2 || !strings.Contains(errs[0], "d137") || !strings.Contains(errs[1], "d137/sub/f") {
		t.Errorf("errors %q, want one for d137 and one for the file below it", errs)
	}
	if b, err := os.ReadFile(blocked); err != nil || string(b) != "in the way" {
		t.Errorf("the file in the way was changed: %q, %v", b, err)
	}
	for _, i := range []int{0, 136, 138, n - 1} {
		p := filepath.Join(target, src, "top", fmt.Sprintf("d%03d", i), "sub", "f")
		if b, err := os.ReadFile(p); err != nil || string(b) != fmt.Sprintf("file %d", i) {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	// Overwrite mode always replaces it, and the summary counts it with
	// the files it replaced.
	rs.Overwrite = OverwriteAlways
	dry, err = (&Restorer{Repo: r, Workers: 4, Overwrite: OverwriteAlways, DryRun: true}).Restore(context.Background(), sn, "/", target)
	if err != nil || dry.Replaced != n {
		t.Errorf("dry run, always: %v, %d would be replaced, want %d", err, dry.Replaced, n)
	}
	sum, err = rs.Restore(context.Background(), sn, "/", target)
	// The n-1 files of the first restore, and the file in the way (the
	// file below it is new).
	if err != nil || sum.Replaced != n {
		t.Errorf("always: %v, %d replaced, want the %d files restored before and the one in the way", err, sum.Replaced, n-1)
	}
	if fi, err := os.Lstat(blocked); err != nil || !fi.IsDir() {
		t.Errorf("%s is not a directory: %v", blocked, err)
	}
	noTemp(t, target)
	// Where renameat2 cannot exchange (NFS), the file goes first and the
	// directory made under a temporary name takes its place.
	if err := os.RemoveAll(blocked); err != nil {
		t.Fatal(err)
	}
	snapshottest.WriteFile(t, blocked, []byte("in the way"))
	sum, err = (&Restorer{Repo: r, Workers: 4, testNoRename2: true}).Restore(context.Background(), sn, "/", target)
	if err != nil || sum.Replaced != n {
		t.Errorf("without exchange: %v, %d replaced", err, sum.Replaced)
	}
	if fi, err := os.Lstat(blocked); err != nil || !fi.IsDir() {
		t.Errorf("%s is not a directory: %v", blocked, err)
	}
	noTemp(t, target)
}

// TestRestoreManyDirectoriesSymlinkRace swaps directories of the target
// with symlinks to OUTSIDE in a loop while restores with several workers
// create hundreds of directories per depth: nothing may reach OUTSIDE.
func TestRestoreManyDirectoriesSymlinkRace(t *testing.T) {
	src := manyDirs(t, 200)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	out := newOutside(t)
	target := t.TempDir()
	stop := swapWithSymlinks(out.path, func(i int) string {
		v := filepath.Join(target, src, "top")
		if i%2 == 1 {
			v = filepath.Join(v, fmt.Sprintf("d%03d", i%200))
		}
		return v
	})
	for i := range 12 {
		rs := &Restorer{Repo: r, Workers: 4, noOpenat2: i%2 == 1, Overwrite: OverwriteMode(i % 3)}
		rs.Restore(context.Background(), sn, "/", target) // errors are expected
	}
	stop()
	out.untouched(t)
}

// dirPanic panics when the directory /d150 is complete.
type dirPanic struct{ NopRestoreProgress }

func (dirPanic) CompleteItem(p string, n *snapshot.Node, skipped bool) {
	if p == "/d150" {
		panic("dir exploded")
	}
}

// TestRestorePanicInDirectoryWorker: a panic while a depth's directories
// are made or finished on several goroutines is an error that names the
// snapshot, the directory and its tree, as one on the calling goroutine.
func TestRestorePanicInDirectoryWorker(t *testing.T) {
	r := newTestRepo(t)
	empty := saveTree(t, r)
	var nodes []*snapshot.Node
	for i := range 200 {
		nodes = append(nodes, dirNode(fmt.Sprintf("d%03d", i), empty))
	}
	root := saveTree(t, r, nodes...)
	sn := saveSnapshot(t, r, root)
	for _, tc := range []struct {
		name string
		rs   *Restorer
	}{
		{"mkdir", &Restorer{Repo: r, testHook: func(op, rel string) {
			if op == "mkdir" && rel == "d150" {
				panic("dir exploded")
			}
		}}},
		{"metadata", &Restorer{Repo: r, Progress: dirPanic{}}},
	} {
		for _, workers := range []int{1, 4} {
			tc.rs.Workers = workers
			_, err := tc.rs.Restore(context.Background(), sn, "/", t.TempDir())
			for _, s := range []string{"snapshot " + sn.ID().Short(), "at /d150 ", "tree " + root.Short(), "dir exploded"} {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("%s, %d workers: error %v does not name %q", tc.name, workers, err, s)
				}
			}
		}
	}
}

// A directory's contents restored into a target the restore makes (the
// README's 'restore latest:/srv/spse/upload --target /srv/spse/upload' on
// a bare server) left the target at mode 0700, which the application
// could not read: it gets that directory's mode and times. A target that
// was there keeps its own.
func TestRestoreSubpathTargetGetsDirMetadata(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	up := filepath.Join(src, "upload")
	snapshottest.WriteFile(t, filepath.Join(up, "2026", "a.pdf"), []byte("pdf"))
	if err := os.Chmod(up, 0o751); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := os.Chtimes(up, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := filepath.Join(t.TempDir(), "new", "upload")
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, up, target); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o751 || !fi.ModTime().Equal(mtime) {
		t.Errorf("target: %v %v %v", fi.Mode(), fi.ModTime(), err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "2026", "a.pdf")); err != nil || string(b) != "pdf" {
		t.Errorf("%q %v", b, err)
	}
	// A target that was there is the user's: left as it is.
	mine := t.TempDir()
	if err := os.Chmod(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, up, mine); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(mine); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("existing target: %v %v", fi.Mode(), err)
	}
}
