package snapfs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"testing/fstest"
	"testing/iotest"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapfs"
)

func TestFSTest(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		want := []string{"srv/spse/link", "srv/spse/dev", "srv/spse/fifo", "srv/spse/sock", "srv/spse/blk", "srv/spse/emptydir", "srv/tmp"}
		for p := range fx.files {
			want = append(want, p)
		}
		sort.Strings(want)
		if err := fstest.TestFS(fsys, want...); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReadFileMatches(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		for p, want := range fx.files {
			got, err := fs.ReadFile(fsys, p)
			if err != nil {
				t.Fatalf("ReadFile(%s): %v", p, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ReadFile(%s): %d bytes, want %d, contents differ", p, len(got), len(want))
			}
			// io.Copy takes the WriterTo path.
			f, err := fsys.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if n, err := io.Copy(&buf, f); err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("io.Copy(%s) = %d, %v; equal %v", p, n, err, bytes.Equal(buf.Bytes(), want))
			}
			f.Close()
			// And plain small reads, through a reader that hides WriterTo.
			f, _ = fsys.Open(p)
			got, err = io.ReadAll(iotest.OneByteReader(struct{ io.Reader }{f}))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("byte-wise read of %s: %v, equal %v", p, err, bytes.Equal(got, want))
			}
			f.Close()
		}
	})
}

func TestReadAtRandom(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		rnd := rand.New(rand.NewPCG(1, 2))
		for _, p := range []string{"srv/spse/multi.bin", "srv/spse/hole.bin", "srv/spse/big50.bin", "srv/spse/dup.bin", "srv/spse/allhole.bin"} {
			want := fx.files[p]
			f, err := fsys.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			ra := f.(io.ReaderAt)
			for range 300 {
				off := rnd.Int64N(int64(len(want)) + 10)
				buf := make([]byte, rnd.IntN(20000))
				n, err := ra.ReadAt(buf, off)
				var exp []byte
				if off < int64(len(want)) {
					exp = want[off:min(int64(len(want)), off+int64(len(buf)))]
				}
				if n != len(exp) || !bytes.Equal(buf[:n], exp) {
					t.Fatalf("%s: ReadAt(%d bytes, %d) = %d, want %d bytes, equal %v", p, len(buf), off, n, len(exp), bytes.Equal(buf[:n], exp))
				}
				if n < len(buf) && err != io.EOF {
					t.Fatalf("%s: ReadAt(%d bytes, %d) short with %v, want EOF", p, len(buf), off, err)
				}
				if n == len(buf) && err != nil {
					t.Fatalf("%s: ReadAt(%d bytes, %d): %v", p, len(buf), off, err)
				}
			}
			f.Close()
		}
	})
}

// Random access loads only the blob that holds the bytes asked for.
func TestRandomAccessLoadsOnlyNeededBlobs(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		cl := &countingLoader{Loader: r}
		fsys := snapfs.New(context.Background(), cl, fx.sn)
		f, err := fsys.Open("srv/spse/big50.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if n := cl.data.Load(); n != 0 {
			t.Errorf("Open loaded %d data blobs", n)
		}
		if n := cl.trees.Load(); n != 3 {
			t.Errorf("Open loaded %d trees, want 3 (root, srv, spse)", n)
		}
		ra := f.(io.ReaderAt)
		want := fx.files["srv/spse/big50.bin"]
		mid := int64(25*bigBlob + 100)
		buf := make([]byte, 10)
		if n, err := ra.ReadAt(buf, mid); n != 10 || err != nil || !bytes.Equal(buf, want[mid:mid+10]) {
			t.Fatalf("ReadAt = %d, %v", n, err)
		}
		if n := cl.data.Load(); n != 1 {
			t.Errorf("reading 10 bytes in the middle loaded %d blobs, want 1", n)
		}
		// The same blob again comes from the cache.
		if _, err := ra.ReadAt(buf, mid+500); err != nil {
			t.Fatal(err)
		}
		if n := cl.data.Load(); n != 1 {
			t.Errorf("second read in the same blob: %d loads in all, want 1", n)
		}
		// Across a blob boundary: two blobs, one of them cached.
		if _, err := ra.ReadAt(buf, 26*bigBlob-5); err != nil || !bytes.Equal(buf, want[26*bigBlob-5:26*bigBlob+5]) {
			t.Fatal(err)
		}
		if n := cl.data.Load(); n != 2 {
			t.Errorf("read across a boundary: %d loads in all, want 2", n)
		}
		// Seek to near the end and read: one more blob.
		sk := f.(io.Seeker)
		if _, err := sk.Seek(-3, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(struct{ io.Reader }{f})
		if err != nil || !bytes.Equal(got, want[len(want)-3:]) {
			t.Fatalf("read at end = %q, %v", got, err)
		}
		if n := cl.data.Load(); n != 3 {
			t.Errorf("read of the last 3 bytes: %d loads in all, want 3", n)
		}

		// Holes load nothing.
		cl.data.Store(0)
		h, err := fsys.Open("srv/spse/hole.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		hb := make([]byte, 50000)
		if n, err := h.(io.ReaderAt).ReadAt(hb, 6000); n != len(hb) || err != nil || slices.ContainsFunc(hb, func(b byte) bool { return b != 0 }) {
			t.Fatalf("hole read = %d, %v", n, err)
		}
		if n := cl.data.Load(); n != 0 {
			t.Errorf("reading a hole loaded %d blobs", n)
		}
		// Copying the whole file loads each data blob once.
		cl.data.Store(0)
		if _, err := io.Copy(io.Discard, h); err != nil {
			t.Fatal(err)
		}
		if n := cl.data.Load(); n != 2 {
			t.Errorf("io.Copy of hole.bin loaded %d blobs, want 2", n)
		}
	})
}

func TestSeekRead(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		want := fx.files["srv/spse/multi.bin"]
		f, err := fsys.Open("srv/spse/multi.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rs := f.(io.ReadSeeker)
		check := func(off int64, whence int, wantPos int64, n int) {
			t.Helper()
			pos, err := rs.Seek(off, whence)
			if err != nil || pos != wantPos {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", off, whence, pos, err, wantPos)
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(rs, buf); err != nil {
				t.Fatalf("ReadFull at %d: %v", pos, err)
			}
			if !bytes.Equal(buf, want[pos:pos+int64(n)]) {
				t.Fatalf("data at %d differ", pos)
			}
		}
		check(70500, io.SeekStart, 70500, 2000)
		check(-10, io.SeekCurrent, 72490, 5)
		check(-100, io.SeekEnd, int64(len(want))-100, 100)
		check(0, io.SeekStart, 0, 1001)
		if pos, err := rs.Seek(int64(len(want))+5, io.SeekStart); err != nil || pos != int64(len(want))+5 {
			t.Fatalf("Seek past end = %d, %v", pos, err)
		}
		if n, err := rs.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("Read past end = %d, %v", n, err)
		}
		if _, err := rs.Seek(-1, io.SeekStart); err == nil {
			t.Error("Seek to -1 succeeded")
		}
		if _, err := rs.Seek(0, 42); err == nil {
			t.Error("Seek with bad whence succeeded")
		}
		rs.Seek(0, io.SeekStart)
		if err := iotest.TestReader(rs, want); err != nil {
			t.Error(err)
		}
	})
}

func TestErrors(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		for _, tc := range []struct {
			name string
			want error
		}{
			{"nope", fs.ErrNotExist},
			{"srv/spse/nope", fs.ErrNotExist},
			{"srv/spse/small.txt/x", fs.ErrNotExist}, // through a file
			{"srv/spse/link/x", fs.ErrNotExist},      // through a symlink
			{"srv/spse/emptydir/x", fs.ErrNotExist},
			{"/srv", fs.ErrInvalid},
			{"srv/", fs.ErrInvalid},
			{"srv//spse", fs.ErrInvalid},
			{"srv/../srv", fs.ErrInvalid},
			{"./srv", fs.ErrInvalid},
			{"", fs.ErrInvalid},
		} {
			checks := map[string]func() error{
				"Open":     func() error { _, err := fsys.Open(tc.name); return err },
				"Stat":     func() error { _, err := fsys.Stat(tc.name); return err },
				"Lstat":    func() error { _, err := fsys.Lstat(tc.name); return err },
				"ReadDir":  func() error { _, err := fsys.ReadDir(tc.name); return err },
				"ReadFile": func() error { _, err := fsys.ReadFile(tc.name); return err },
				"ReadLink": func() error { _, err := fsys.ReadLink(tc.name); return err },
			}
			for op, fn := range checks {
				err := fn()
				var pe *fs.PathError
				if !errors.As(err, &pe) || !errors.Is(err, tc.want) || pe.Path != tc.name {
					t.Errorf("%s(%q) = %v, want *fs.PathError for it wrapping %v", op, tc.name, err, tc.want)
				}
				if tc.want == fs.ErrNotExist && !errors.Is(err, snapshot.ErrNotFound) {
					t.Errorf("%s(%q) = %v, does not wrap snapshot.ErrNotFound", op, tc.name, err)
				}
			}
		}

		// Wrong kinds.
		if _, err := fsys.ReadDir("srv/spse/small.txt"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ReadDir of a file: %v", err)
		}
		if _, err := fsys.ReadFile("srv"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ReadFile of a directory: %v", err)
		}
		if _, err := fsys.ReadFile("srv/spse/link"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ReadFile of a symlink: %v", err)
		}
		if _, err := fsys.ReadLink("srv/spse/small.txt"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ReadLink of a file: %v", err)
		}
		d, _ := fsys.Open("srv")
		if _, err := d.Read(make([]byte, 1)); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Read of a directory: %v", err)
		}
		f, _ := fsys.Open("srv/spse/small.txt")
		f.Close()
		if _, err := f.Read(make([]byte, 1)); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
		if _, err := f.(io.ReaderAt).ReadAt(make([]byte, 1), -1); err == nil {
			t.Error("ReadAt at -1 succeeded")
		}
	})
}

func TestSymlinksNotFollowed(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		for _, p := range []string{"srv/spse/link", "srv/spse/link-rel"} {
			fi, err := fs.Stat(fsys, p)
			if err != nil || fi.Mode().Type() != fs.ModeSymlink {
				t.Fatalf("Stat(%s) = %v, %v; want the link itself", p, fi, err)
			}
			f, err := fsys.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := f.Stat(); fi.Mode().Type() != fs.ModeSymlink {
				t.Errorf("Open(%s).Stat() = %v", p, fi)
			}
			if _, err := f.Read(make([]byte, 10)); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Read of %s: %v", p, err)
			}
			f.Close()
		}
		if target, err := fs.ReadLink(fsys, "srv/spse/link"); err != nil || target != "/etc/passwd" {
			t.Errorf("ReadLink = %q, %v", target, err)
		}
		fi, err := fs.Lstat(fsys, "srv/spse/link")
		if err != nil || fi.Size() != int64(len("/etc/passwd")) {
			t.Errorf("Lstat = %v, %v", fi, err)
		}
	})
}

func TestFileInfo(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		for _, tc := range []struct {
			path string
			mode fs.FileMode
			size int64
		}{
			{".", fs.ModeDir | 0o755, 0},
			{"srv/spse", fs.ModeDir | 0o750, 0},
			{"srv/tmp", fs.ModeDir | fs.ModeSticky | 0o777, 0},
			{"srv/spse/small.txt", 0o644, 12},
			{"srv/spse/hole.bin", 0o640, 5000 + 100000 + 3000 + 4096},
			{"srv/spse/suid", fs.ModeSetuid | 0o755, 10},
			{"srv/spse/sgid", fs.ModeSetgid | 0o711, 1},
			{"srv/spse/link", fs.ModeSymlink | 0o777, 11},
			{"srv/spse/dev", fs.ModeDevice | fs.ModeCharDevice | 0o666, 0},
			{"srv/spse/blk", fs.ModeDevice | 0o660, 0},
			{"srv/spse/fifo", fs.ModeNamedPipe | 0o644, 0},
			{"srv/spse/sock", fs.ModeSocket | 0o755, 0},
		} {
			fi, err := fsys.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode || fi.Size() != tc.size || fi.IsDir() != tc.mode.IsDir() {
				t.Errorf("Stat(%s) = %v size %d, want %v size %d", tc.path, fi.Mode(), fi.Size(), tc.mode, tc.size)
			}
			n, ok := fi.Sys().(*snapshot.Node)
			if !ok || !n.ModTime.Equal(fi.ModTime()) {
				t.Errorf("Stat(%s).Sys() = %T", tc.path, fi.Sys())
			}
			if tc.path != "." && (n.Name != fi.Name() || n.UID != 0 && n.UID != 1000) {
				t.Errorf("Stat(%s): node %q, info %q", tc.path, n.Name, fi.Name())
			}
		}
		if fi, _ := fsys.Stat("."); fi.Name() != "." || !fi.ModTime().Equal(baseTime) {
			t.Errorf("root: %v", fi)
		}
		// Device nodes read as empty.
		if b, err := fs.ReadFile(fsys, "srv/spse/dev"); err != nil || len(b) != 0 {
			t.Errorf("ReadFile(dev) = %q, %v", b, err)
		}
		// fs.Sub and fs.WalkDir work on top.
		sub, err := fs.Sub(fsys, "srv/spse")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := fs.ReadFile(sub, "small.txt"); err != nil || string(b) != "hello, LPSE\n" {
			t.Errorf("Sub ReadFile = %q, %v", b, err)
		}
		var walked []string
		if err := fs.WalkDir(fsys, "srv/tmp", func(p string, d fs.DirEntry, err error) error {
			walked = append(walked, p)
			return err
		}); err != nil || !slices.Equal(walked, []string{"srv/tmp", "srv/tmp/f"}) {
			t.Errorf("WalkDir = %v, %v", walked, err)
		}
	})
}

func TestReadDirN(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		all, err := fsys.ReadDir("srv/spse")
		if err != nil || len(all) != 16 {
			t.Fatalf("ReadDir = %d entries, %v", len(all), err)
		}
		f, _ := fsys.Open("srv/spse")
		d := f.(fs.ReadDirFile)
		var got []string
		for {
			es, err := d.ReadDir(3)
			if len(es) > 3 {
				t.Fatalf("ReadDir(3) gave %d", len(es))
			}
			for _, e := range es {
				got = append(got, e.Name())
			}
			if err == io.EOF {
				break
			}
			if err != nil || len(es) == 0 {
				t.Fatalf("ReadDir(3) = %d, %v", len(es), err)
			}
		}
		var names []string
		for _, e := range all {
			names = append(names, e.Name())
		}
		if !slices.Equal(got, names) || !slices.IsSorted(names) {
			t.Errorf("ReadDir(3) loop = %v, want %v", got, names)
		}
		if es, err := d.ReadDir(-1); len(es) != 0 || err != nil {
			t.Errorf("ReadDir(-1) at end = %d, %v", len(es), err)
		}
		d.Close()
		if _, err := d.ReadDir(1); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("ReadDir after Close: %v", err)
		}
		if es, err := fsys.ReadDir("srv/spse/emptydir"); len(es) != 0 || err != nil {
			t.Errorf("empty dir: %d, %v", len(es), err)
		}
	})
}

func TestConcurrentReadAt(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		fsys := snapfs.New(context.Background(), r, fx.sn)
		for _, p := range []string{"srv/spse/big50.bin", "srv/spse/hole.bin"} {
			want := fx.files[p]
			f, err := fsys.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			ra := f.(io.ReaderAt)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					rnd := rand.New(rand.NewPCG(uint64(g), 7))
					buf := make([]byte, 9000)
					for range 200 {
						off := rnd.Int64N(int64(len(want)))
						n, err := ra.ReadAt(buf, off)
						if err != nil && err != io.EOF {
							errs <- err
							return
						}
						if !bytes.Equal(buf[:n], want[off:off+int64(n)]) || n != min(len(buf), len(want)-int(off)) {
							errs <- errors.New("ReadAt returned wrong data")
							return
						}
					}
				})
			}
			// Sequential reads on the same file meanwhile.
			wg.Go(func() {
				if _, err := io.Copy(io.Discard, f); err != nil {
					errs <- err
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("%s: %v", p, err)
			}
			f.Close()
		}
	})
}

// Crafted or damaged trees give errors, not panics or huge allocations.
func TestInconsistentContent(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		ctx := context.Background()
		b := &builder{t: t, ctx: ctx, r: r, files: map[string][]byte{}}
		good := b.file("good", "good", 0o644, text("0123456789"))
		blob := good.Content[0]
		mk := func(name string, size int64, ext ...snapshot.Extent) *snapshot.Node {
			return &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: size, Content: ext}
		}
		// Extents that do not add up to the size make the whole tree
		// invalid (snapshot.DecodeTree), so each such file sits in a
		// directory of its own. (A negative extent cannot be encoded.)
		bad := map[string]*snapshot.Node{
			"short":     mk("short", 11, blob), // extents add up to less than Size
			"long":      mk("long", 9, blob),   // more
			"nocontent": mk("nocontent", 5),    // none at all
			"overflow":  mk("overflow", math.MaxInt64, snapshot.Extent{Size: math.MaxInt64}, snapshot.Extent{Size: math.MaxInt64}),
		}
		nodes := []*snapshot.Node{
			good,
			mk("zero", 10, blob, snapshot.Extent{ID: blob.ID, Size: 0}), // an empty extent
			// One blob named with two sizes: the cached copy would be
			// read past its end.
			mk("twosizes", blob.Size*3, blob, snapshot.Extent{ID: blob.ID, Size: blob.Size * 2}),
			// Sizes add up, but the blob is not as long as its extent.
			mk("liar", 100, snapshot.Extent{ID: blob.ID, Size: 50}, snapshot.Extent{Size: 50}),
			// A blob that is not in the repository.
			mk("missing", 20, snapshot.Extent{ID: repo.ID{1, 2, 3}, Size: 20}),
			// A huge sparse file: valid, and its end can be read cheaply.
			mk("huge", 1<<60+10, snapshot.Extent{Size: 1 << 60}, blob),
		}
		for name, n := range bad {
			nodes = append(nodes, b.dir("bad-"+name, 0o755, n))
		}
		sn := b.snapshot(nodes...)
		fsys := snapfs.New(ctx, r, sn)
		for name := range bad {
			p := "bad-" + name + "/" + name
			_, err := fsys.Open(p)
			var pe *fs.PathError
			if !errors.Is(err, snapshot.ErrInvalidTree) || !errors.As(err, &pe) || pe.Path != p {
				t.Errorf("Open(%s) = %v, want a *fs.PathError wrapping ErrInvalidTree", p, err)
			}
			if _, err := fsys.ReadFile(p); !errors.Is(err, snapshot.ErrInvalidTree) {
				t.Errorf("ReadFile(%s) = %v", p, err)
			}
		}
		for _, name := range []string{"zero", "twosizes"} {
			_, err := fsys.Open(name)
			var pe *fs.PathError
			if !errors.Is(err, snapfs.ErrInvalidContent) || !errors.As(err, &pe) || pe.Path != name {
				t.Errorf("Open(%s) = %v, want a *fs.PathError wrapping ErrInvalidContent", name, err)
			}
			if _, err := fsys.ReadFile(name); !errors.Is(err, snapfs.ErrInvalidContent) {
				t.Errorf("ReadFile(%s) = %v", name, err)
			}
			// Stat needs no content and still works.
			if _, err := fsys.Stat(name); err != nil {
				t.Errorf("Stat(%s): %v", name, err)
			}
		}
		f, err := fsys.Open("liar")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		if _, err := f.(io.ReaderAt).ReadAt(buf, 0); !errors.Is(err, snapfs.ErrInvalidContent) {
			t.Errorf("ReadAt(liar) = %v", err)
		}
		if _, err := io.Copy(io.Discard, f); !errors.Is(err, snapfs.ErrInvalidContent) {
			t.Errorf("io.Copy(liar) = %v", err)
		}
		f.Close()
		if _, err := fsys.ReadFile("missing"); err == nil {
			t.Error("ReadFile of a file with a missing blob succeeded")
		}
		f, err = fsys.Open("huge")
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.(io.ReaderAt).ReadAt(buf, 1<<60-5)
		if n != 15 || err != io.EOF || string(buf[:n]) != "\x00\x00\x00\x00\x000123456789" {
			t.Errorf("ReadAt(huge) = %d %q, %v", n, buf[:n], err)
		}
		f.Close()
	})
}

// A cancelled context makes repository calls fail.
func TestContextCancelled(t *testing.T) {
	repos(t, func(t *testing.T, r testRepo) {
		fx := buildFixture(t, r)
		ctx, cancel := context.WithCancel(context.Background())
		cl := &ctxLoader{Loader: r}
		fsys := snapfs.New(ctx, cl, fx.sn)
		if _, err := fsys.Stat("srv/spse/small.txt"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := fsys.ReadFile("srv/spse/multi.bin"); !errors.Is(err, context.Canceled) {
			t.Errorf("ReadFile after cancel = %v", err)
		}
	})
}

// ctxLoader fails when the context is done, as a network backend would.
type ctxLoader struct{ snapfs.Loader }

func (c *ctxLoader) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Loader.LoadBlob(ctx, t, id, buf)
}
