package restorer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// resolvers runs f once with openat2 and once with the component-by-component
// fallback that kernels before 5.6 get.
func resolvers(t *testing.T, f func(t *testing.T, noOpenat2 bool)) {
	t.Run("openat2", func(t *testing.T) { f(t, false) })
	t.Run("openat", func(t *testing.T) { f(t, true) })
}

// outsideDir is a directory outside every restore target, with one file and
// an unusual mode; untouched reports anything a restore did to it.
type outsideDir struct {
	path string
	mode os.FileMode
}

func newOutside(t *testing.T) outsideDir {
	t.Helper()
	p := filepath.Join(t.TempDir(), "outside")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	snapshottest.WriteFile(t, filepath.Join(p, "keep"), []byte("keep me"))
	if err := os.Chmod(p, 0o751); err != nil {
		t.Fatal(err)
	}
	return outsideDir{path: p, mode: 0o751}
}

func (o outsideDir) untouched(t *testing.T) {
	t.Helper()
	fi, err := os.Lstat(o.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != o.mode || fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
		t.Errorf("outside directory's mode changed to %v", fi.Mode())
	}
	ents, err := os.ReadDir(o.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "keep" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("outside directory holds %v, want only keep", names)
	}
	if b, err := os.ReadFile(filepath.Join(o.path, "keep")); err != nil || string(b) != "keep me" {
		t.Errorf("outside/keep: %q %v", b, err)
	}
}

// TestRestoreDoesNotFollowExistingSymlink is the scenario of issue 13:
// snapshot 1 holds the symlink escape -> OUTSIDE, snapshot 2 holds the
// directory escape/ with escape/pwned; both are restored into one target.
func TestRestoreDoesNotFollowExistingSymlink(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []OverwriteMode{OverwriteAlways, OverwriteIfChanged, OverwriteNever} {
		t.Run(mode.String(), func(t *testing.T) {
			resolvers(t, func(t *testing.T, noOpenat2 bool) {
				out := newOutside(t)
				src := t.TempDir()
				esc := filepath.Join(src, "escape")
				if err := os.Symlink(out.path, esc); err != nil {
					t.Fatal(err)
				}
				r := newTestRepo(t)
				a := archiver.NewArchiver(r)
				sn1 := mustSnapshot(t, a, src)
				os.Remove(esc)
				snapshottest.WriteFile(t, filepath.Join(esc, "pwned"), []byte("pwned"))
				if err := os.Chmod(esc, 0o777); err != nil {
					t.Fatal(err)
				}
				sn2 := mustSnapshot(t, a, src)

				target := t.TempDir()
				rs := &Restorer{Repo: r, Overwrite: mode, noOpenat2: noOpenat2}
				if _, err := rs.Restore(ctx, sn1, "/", target); err != nil {
					t.Fatalf("restore 1: %v", err)
				}
				if l, err := os.Readlink(filepath.Join(target, esc)); err != nil || l != out.path {
					t.Fatalf("restore 1: escape -> %q %v", l, err)
				}
				sum, err := rs.Restore(ctx, sn2, "/", target)
				out.untouched(t)
				fi, lerr := os.Lstat(filepath.Join(target, esc))
				if lerr != nil {
					t.Fatal(lerr)
				}
				if mode == OverwriteNever {
					var re *RestoreError
					if !errors.As(err, &re) || !strings.Contains(err.Error(), "escape") || !strings.Contains(err.Error(), "in the way") {
						t.Errorf("never: want an error naming escape, got %v", err)
					}
					if fi.Mode()&os.ModeSymlink == 0 {
						t.Errorf("never: the symlink was replaced by %v", fi.Mode())
					}
					return
				}
				if err != nil {
					t.Fatalf("restore 2: %v (%+v)", err, sum)
				}
				if !fi.IsDir() || fi.Mode().Perm() != 0o777 {
					t.Errorf("escape is %v, want a directory 0777", fi.Mode())
				}
				if b, err := os.ReadFile(filepath.Join(target, esc, "pwned")); err != nil || string(b) != "pwned" {
					t.Errorf("escape/pwned: %q %v", b, err)
				}
			})
		})
	}
}

// plantTree makes a source tree with every kind of item below d/.
func plantTree(t *testing.T) (src string) {
	t.Helper()
	src = t.TempDir()
	d := filepath.Join(src, "d")
	snapshottest.WriteFile(t, filepath.Join(d, "f"), []byte("file content"))
	snapshottest.WriteFile(t, filepath.Join(d, "s", "g"), []byte("deeper"))
	snapshottest.WriteFile(t, filepath.Join(d, "h1"), []byte("hardlinked"))
	if err := os.Link(filepath.Join(d, "h1"), filepath.Join(d, "h2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", filepath.Join(d, "l")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(d, "p"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(d, "s"), 0o705)
	os.Chmod(d, 0o777)
	return src
}

// TestRestorePlantedSymlink replaces a directory of the target with a
// symlink to OUTSIDE while the restore runs, just before each kind of
// operation below it: nothing may reach OUTSIDE.
func TestRestorePlantedSymlink(t *testing.T) {
	ctx := context.Background()
	src := plantTree(t)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	rel := strings.TrimPrefix(filepath.Join(src, "d"), "/")
	for _, op := range []string{"mkdir", "create", "special", "specialmeta", "link", "dirmeta"} {
		for _, victim := range []string{rel, rel + "/s"} {
			t.Run(op+"/"+filepath.Base(victim), func(t *testing.T) {
				resolvers(t, func(t *testing.T, noOpenat2 bool) {
					out := newOutside(t)
					target := t.TempDir()
					var mu sync.Mutex // workers call the hook concurrently
					planted := false
					plant := func(o, p string) {
						mu.Lock()
						defer mu.Unlock()
						if planted || o != op || !strings.HasPrefix(p, victim+"/") {
							return
						}
						if _, err := os.Lstat(filepath.Join(target, victim)); err != nil {
							return // not created yet
						}
						planted = true
						v := filepath.Join(target, victim)
						if err := os.Rename(v, v+".moved"); err != nil {
							t.Fatal(err)
						}
						if err := os.Symlink(out.path, v); err != nil {
							t.Fatal(err)
						}
					}
					rs := &Restorer{Repo: r, Verify: true, noOpenat2: noOpenat2, testHook: plant}
					_, err := rs.Restore(ctx, sn, "/", target)
					out.untouched(t)
					if planted && err == nil {
						t.Errorf("restore through a planted symlink reported no error")
					}
					t.Logf("planted: %v; restore: %v", planted, err != nil)
				})
			})
		}
	}
}

// swapWithSymlinks starts a goroutine that, until stop is called (which
// waits for it), moves the directory victim(i) away, puts a symlink to
// outside in its place a moment, and moves it back, for i = 0, 1, ...
func swapWithSymlinks(outside string, victim func(i int) string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000; i++ {
			select {
			case <-done:
				return
			default:
			}
			v := victim(i)
			if os.Rename(v, v+".moved") != nil {
				runtime.Gosched()
				continue
			}
			os.Symlink(outside, v)
			for range 20 {
				runtime.Gosched()
			}
			os.Remove(v)
			os.Rename(v+".moved", v)
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestRestoreSymlinkRace swaps a directory of the target with a symlink to
// OUTSIDE in a loop while restores run.
func TestRestoreSymlinkRace(t *testing.T) {
	ctx := context.Background()
	src := plantTree(t)
	snapshottest.MakeFiles(t, filepath.Join(src, "d", "many"), 300)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	out := newOutside(t)
	target := t.TempDir()
	stop := swapWithSymlinks(out.path, func(i int) string {
		v := filepath.Join(target, src, "d")
		if i%2 == 1 {
			v = filepath.Join(v, "many")
		}
		return v
	})
	for i := 0; i < 20; i++ {
		rs := &Restorer{Repo: r, noOpenat2: i%2 == 1, Overwrite: OverwriteMode(i % 3)}
		rs.Restore(ctx, sn, "/", target) // errors are expected
	}
	stop()
	out.untouched(t)
}

// TestRestoreSymlinkInTheWayOfFile: an existing symlink where a file goes
// is replaced, not written through.
func TestRestoreSymlinkInTheWayOfFile(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "f"), []byte("new"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	for _, mode := range []OverwriteMode{OverwriteAlways, OverwriteIfChanged} {
		resolvers(t, func(t *testing.T, noOpenat2 bool) {
			out := newOutside(t)
			target := t.TempDir()
			p := filepath.Join(target, src, "f")
			os.MkdirAll(filepath.Dir(p), 0o700)
			if err := os.Symlink(filepath.Join(out.path, "keep"), p); err != nil {
				t.Fatal(err)
			}
			rs := &Restorer{Repo: r, Overwrite: mode, noOpenat2: noOpenat2}
			if _, err := rs.Restore(ctx, sn, "/", target); err != nil {
				t.Fatal(err)
			}
			out.untouched(t)
			if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, []byte("new")) {
				t.Errorf("%s: %q %v", mode, b, err)
			}
		})
	}
}

// TestRestoreMovedParentDirectory: a directory of the target that another
// user can move (one that was there before the restore, or any in a
// target others may write in) is moved away while the restore creates
// directories in it, and a symlink to OUTSIDE is left in its place. The
// directories after it must be created neither in the moved directory nor
// through the symlink: the restore looks the parent up again (it keeps
// descriptors only of parents no one else can move).
func TestRestoreMovedParentDirectory(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for _, sub := range []string{"a", "b", "c"} {
		snapshottest.WriteFile(t, filepath.Join(src, "d", sub, "x"), []byte("in "+sub))
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	rel := strings.TrimPrefix(filepath.Join(src, "d"), "/")
	for _, variant := range []string{"existing", "writable-target"} {
		t.Run(variant, func(t *testing.T) {
			resolvers(t, func(t *testing.T, noOpenat2 bool) {
				out := newOutside(t)
				elsewhere := t.TempDir()
				target := t.TempDir()
				if variant == "existing" {
					if err := os.MkdirAll(filepath.Join(target, rel), 0o755); err != nil {
						t.Fatal(err)
					}
				} else if err := os.Chmod(target, 0o777); err != nil {
					t.Fatal(err)
				}
				moved := false
				hook := func(op, p string) {
					if moved || op != "mkdir" || p != rel+"/b" {
						return
					}
					moved = true
					v := filepath.Join(target, rel)
					if err := os.Rename(v, filepath.Join(elsewhere, "d")); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink(out.path, v); err != nil {
						t.Fatal(err)
					}
				}
				rs := &Restorer{Repo: r, Verify: true, noOpenat2: noOpenat2, testHook: hook}
				_, err := rs.Restore(ctx, sn, "/", target)
				out.untouched(t)
				if !moved {
					t.Fatal("the directory was never moved")
				}
				ents, rerr := os.ReadDir(filepath.Join(elsewhere, "d"))
				if rerr != nil {
					t.Fatal(rerr)
				}
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				if len(names) != 1 || names[0] != "a" {
					t.Errorf("the moved directory holds %v, want only [a], created before it was moved", names)
				}
				if err == nil {
					t.Error("restore into a moved directory reported no error")
				}
			})
		})
	}
}
