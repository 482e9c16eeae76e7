package local_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
)

var ctx = context.Background()

const packName = "ab00000000000000000000000000000000000000000000000000000000000001"

// litter returns the temporary files anywhere under root.
func litter(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if be.Location() != root {
		t.Errorf("Location = %q", be.Location())
	}
	for _, d := range []string{"keys", "data", "index", "snapshots", "locks", "records"} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	subs, err := os.ReadDir(filepath.Join(root, "data"))
	if err != nil || len(subs) != 256 || subs[0].Name() != "00" || subs[255].Name() != "ff" {
		t.Errorf("data has %d subdirectories, want 00..ff (%v)", len(subs), err)
	}

	files := map[backend.Handle]string{
		{Type: backend.ConfigFile}:               "config",
		{Type: backend.KeyFile, Name: "k1"}:      "keys/k1",
		{Type: backend.PackFile, Name: packName}: "data/ab/" + packName,
		{Type: backend.IndexFile, Name: "i1"}:    "index/i1",
		{Type: backend.SnapshotFile, Name: "s1"}: "snapshots/s1",
		{Type: backend.LockFile, Name: "l1"}:     "locks/l1",
		{Type: backend.RecordFile, Name: "r1"}:   "records/r1",
	}
	for h, rel := range files {
		data := []byte("content of " + rel)
		if err := be.Save(ctx, h, data); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, rel)
		if be.Path(h) != p {
			t.Errorf("Path(%v) = %s, want %s", h, be.Path(h), p)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %q, %v", rel, got, err)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable: %v", rel, fi.Mode())
		}
	}
	if l := litter(t, root); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
	be2, err := local.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := be2.Load(ctx, backend.Handle{Type: backend.ConfigFile}, 0, 0); err != nil || string(got) != "content of config" {
		t.Errorf("config after Open: %q, %v", got, err)
	}
}

func TestCreateRefusesNonEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "something"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := local.Create(ctx, dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Create on a non-empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Create changed a non-empty directory: %v", entries)
	}

	file := filepath.Join(dir, "something")
	if _, err := local.Create(ctx, file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Create on a file: %v", err)
	}

	// An existing repository is not empty either.
	root := filepath.Join(t.TempDir(), "a", "b", "repo")
	if _, err := local.Create(ctx, root); err != nil {
		t.Fatalf("Create with missing parents: %v", err)
	}
	// Without a config it is what an interrupted create left: finished.
	if _, err := local.Create(ctx, root); err != nil {
		t.Errorf("Create over an interrupted create: %v", err)
	}
	// Nor is a config being written (another process's create about to
	// finish, or one killed before it linked the config): the temporary
	// file is the backend's own.
	tmp := filepath.Join(root, ".tmp-0123456789abcdef")
	if err := os.WriteFile(tmp, []byte("sealed"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Create(ctx, root); err != nil {
		t.Errorf("Create beside a config being written: %v", err)
	}
	// A file that only looks like one is someone else's.
	for _, name := range []string{".tmp-0123456789ABCDEF", ".tmp-0123", ".tmp-0123456789abcdeg"} {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, nil, 0o400); err != nil {
			t.Fatal(err)
		}
		if _, err := local.Create(ctx, root); err == nil {
			t.Errorf("Create beside %s: want an error", name)
		}
		os.Remove(p)
	}
	os.Remove(tmp)
	if err := os.WriteFile(filepath.Join(root, "config"), []byte("sealed"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Create(ctx, root); err == nil {
		t.Error("Create over a repository: want an error")
	}
	// Nor is an interrupted create that someone has since used.
	if err := os.Remove(filepath.Join(root, "config")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "snapshots", "x"), nil, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Create(ctx, root); err == nil {
		t.Error("Create over a layout holding a snapshot file: want an error")
	}

	empty := t.TempDir()
	if _, err := local.Create(ctx, empty); err != nil {
		t.Errorf("Create in an empty directory: %v", err)
	}
}

func TestOpenMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := local.Open(ctx, missing)
	if !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open of a missing directory: %v", err)
	}

	root := filepath.Join(t.TempDir(), "repo")
	if _, err := local.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	_, err = local.Open(ctx, root)
	if !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), root) || strings.Contains(err.Error(), "holds other files") {
		t.Errorf("Open without a config: %v", err)
	}
	// -r naming the data, not the medium: said, since the hint that
	// follows suggests 'cadang init' there.
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "dokumen.pdf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(ctx, data); !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), "the directory holds other files: if it is the data, -r names the wrong directory") {
		t.Errorf("Open of a directory of data: %v", err)
	}
	// A new file system's root is not data.
	medium := t.TempDir()
	if err := os.Mkdir(filepath.Join(medium, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(ctx, medium); !errors.Is(err, backend.ErrNoRepository) || strings.Contains(err.Error(), "holds other files") ||
		!strings.Contains(err.Error(), "make the repository in a directory below it, -r "+filepath.Join(medium, "cadang")) {
		t.Errorf("Open of a new medium's root: %v", err)
	}
	if _, err := local.Create(ctx, medium); !errors.Is(err, local.ErrNotEmpty) {
		t.Errorf("Create in a new medium's root: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(ctx, file); !errors.Is(err, backend.ErrNoRepository) {
		t.Errorf("Open of a file: %v", err)
	}
}

// mountTmpfs mounts a small tmpfs for the test, or skips it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestFailedWriteDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	root := filepath.Join(dir, "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.PackFile, Name: packName}
	err = be.Save(ctx, h, make([]byte, 2<<20))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Save of 2 MiB into a 1 MiB filesystem: want ENOSPC, got %v", err)
	}
	if !strings.Contains(err.Error(), be.Path(h)) {
		t.Errorf("error does not name the file: %v", err)
	}
	if _, err := be.Stat(ctx, h); !backend.IsNotExist(err) {
		t.Errorf("after a failed Save, Stat: want ErrNotExist, got %v", err)
	}
	if _, err := os.Lstat(be.Path(h)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a failed Save the final name exists: %v", err)
	}
	if l := litter(t, root); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
	// The space is given back: a file that fits still saves.
	if err := be.Save(ctx, h, make([]byte, 100<<10)); err != nil {
		t.Errorf("Save after ENOSPC: %v", err)
	}
}

func TestFailedWriteReadOnlyFS(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	root := filepath.Join(dir, "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only (%v: %s)", err, out)
	}
	h := backend.Handle{Type: backend.IndexFile, Name: "i1"}
	err = be.Save(ctx, h, []byte("x"))
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), be.Path(h)) {
		t.Errorf("Save on a read-only filesystem: %v", err)
	}
	if _, err := os.Lstat(be.Path(h)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the final name exists: %v", err)
	}
	if l := litter(t, root); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestFailedWritePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestFailedWriteDiskFull and TestFailedWriteReadOnlyFS cover root")
	}
	root := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "index")
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	h := backend.Handle{Type: backend.IndexFile, Name: "i1"}
	err = be.Save(ctx, h, []byte("x"))
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), be.Path(h)) {
		t.Errorf("Save into a read-only directory: %v", err)
	}
	if _, err := os.Lstat(be.Path(h)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the final name exists: %v", err)
	}
	if l := litter(t, root); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestListSkipsTemporaryFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"index/.tmp-0123", "data/ab/.tmp-4567", "keys/.tmp-89"} {
		if err := os.WriteFile(filepath.Join(root, p), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "index", "stray-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: "i1"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ft := range []backend.FileType{backend.IndexFile, backend.PackFile, backend.KeyFile} {
		var names []string
		if err := be.List(ctx, ft, func(fi backend.FileInfo) error { names = append(names, fi.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		want := 0
		if ft == backend.IndexFile {
			want = 1
		}
		if len(names) != want {
			t.Errorf("List %s = %v", ft, names)
		}
	}
}

// A copy of a repository made by a tool that drops empty directories still
// works: List sees nothing and Save recreates the directory.
func TestMissingDirectories(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data/ab", "locks"} {
		if err := os.Remove(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, ft := range []backend.FileType{backend.PackFile, backend.LockFile} {
		if err := be.List(ctx, ft, func(backend.FileInfo) error { n++; return nil }); err != nil {
			t.Errorf("List %s: %v", ft, err)
		}
	}
	for _, h := range []backend.Handle{{Type: backend.PackFile, Name: packName}, {Type: backend.LockFile, Name: "l1"}} {
		if err := be.Save(ctx, h, []byte("x")); err != nil {
			t.Errorf("Save %v into a missing directory: %v", h, err)
		}
	}
}

func TestShortReadNamesFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.PackFile, Name: packName}
	if err := be.Save(ctx, h, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := faulty.Truncate(be.Path(h), 500); err != nil {
		t.Fatal(err)
	}
	_, err = be.Load(ctx, h, 400, 200)
	if err == nil || !strings.Contains(err.Error(), be.Path(h)) {
		t.Errorf("Load past a truncation: %v", err)
	}
	// A damaged file is not "the same bytes": saving the good copy again is
	// refused rather than silently accepted, so a repair must Remove first.
	if err := faulty.FlipByte(be.Path(h), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, h, make([]byte, 500)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over a damaged file: want fs.ErrExist, got %v", err)
	}
}

// Packs are written with O_DIRECT for their whole blocks and buffered for
// the tail; small or unaligned buffers, and filesystems that refuse
// O_DIRECT, are written buffered. Every way must store the exact bytes.
func TestSaveDirectAndBuffered(t *testing.T) {
	dirs := map[string]string{"disk": t.TempDir()}
	if os.Geteuid() == 0 {
		dirs["tmpfs"] = mountTmpfs(t, "64m")
	}
	for fsName, dir := range dirs {
		be, err := local.Create(ctx, filepath.Join(dir, "repo"))
		if err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 6<<20) // a large allocation: page-aligned, like a pack buffer
		for i := range big {
			big[i] = byte(i*7 + i>>13)
		}
		cases := map[string][]byte{
			"aligned with a tail": big[:5<<20+1234],
			"whole blocks":        big[:4<<20],
			"unaligned start":     big[1 : 3<<20],
			"small":               big[:200<<10],
		}
		n := 0
		for name, data := range cases {
			n++
			h := backend.Handle{Type: backend.PackFile, Name: packName[:len(packName)-1] + string(rune('0'+n))}
			if err := be.Save(ctx, h, data); err != nil {
				t.Fatalf("%s, %s: %v", fsName, name, err)
			}
			got, err := os.ReadFile(be.Path(h))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s, %s: stored %d bytes that differ from the %d saved (%v)", fsName, name, len(got), len(data), err)
			}
		}
	}
}

// Two `backup --init` on a fresh medium: the second looks while the
// first's config is still under its temporary name (issue 14's race, seen
// in CI). OpenOrCreate must hand it the directory to init into (its init
// then loses the config's link and opens the winner's repository), not
// call the directory someone else's.
func TestOpenOrCreateBesideConfigBeingWritten(t *testing.T) {
	root := filepath.Join(t.TempDir(), "medium", "repo")
	if _, err := local.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".tmp-00112233445566ff"), []byte("sealed config"), 0o600); err != nil {
		t.Fatal(err)
	}
	be, err := local.OpenOrCreate(ctx, root)
	if err != nil {
		t.Fatalf("OpenOrCreate while another create writes its config: %v", err)
	}
	be.Close()
}

// TestOpenNearbyRepository: a directory inside a repository's layout, or
// one that holds a repository, is no repository, and the error names the
// one meant. Only a cadang config (its magic) beside keys/ and data/ is
// taken for one, a directory of one's own below a repository's root is no
// part of it, and no symbolic link is followed.
func TestOpenNearbyRepository(t *testing.T) {
	medium := t.TempDir()
	root := filepath.Join(medium, "cadang")
	be, err := local.Create(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	repotest.New(t, be, "pw", repo.InitOptions{}).Close()
	for dir, want := range map[string]string{
		filepath.Join(root, "data"):       root,
		filepath.Join(root, "data", "ab"): root,
		filepath.Join(root, "keys"):       root,
		medium:                            root,
	} {
		_, err := local.Open(ctx, dir)
		var ne *local.NearbyRepositoryError
		if !errors.As(err, &ne) || !errors.Is(err, backend.ErrNoRepository) || len(ne.At) != 1 || ne.At[0] != want {
			t.Errorf("Open(%s): %v, want the repository at %s named", dir, err, want)
		}
	}
	for _, dir := range []string{filepath.Join(root, "data", "new"), filepath.Join(root, "snapshots", "a", "b")} {
		if _, err := local.Create(ctx, dir); !errors.Is(err, local.ErrInsideRepository) {
			t.Errorf("Create(%s) inside a repository's layout: %v", dir, err)
		}
	}
	// A directory beside the layout is the administrator's own.
	own := filepath.Join(root, "other", "r2")
	if _, err := local.Create(ctx, own); err != nil {
		t.Errorf("Create below a repository's root, outside its layout: %v", err)
	}
	var ne *local.NearbyRepositoryError
	if _, err := local.Open(ctx, filepath.Join(root, "other")); errors.As(err, &ne) {
		t.Errorf("a directory outside the layout is taken for inside it: %v", err)
	}

	// A directory of media, two repositories below it: both are named,
	// and neither is guessed.
	be2, err := local.Create(ctx, filepath.Join(medium, "cadang2"))
	if err != nil {
		t.Fatal(err)
	}
	repotest.New(t, be2, "pw", repo.InitOptions{}).Close()
	_, err = local.Open(ctx, medium)
	if !errors.As(err, &ne) || len(ne.At) != 2 || !strings.Contains(err.Error(), "give -r the one you mean") || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Open(%s) with two repositories below: %v", medium, err)
	}

	// A config file not cadang's (empty, restic's) beside keys/ and
	// data/ is no cadang repository.
	for i, config := range [][]byte{nil, []byte("x"), []byte("\x02restic repository config, sealed")} {
		other := filepath.Join(t.TempDir(), "app")
		for _, d := range []string{"keys", "data", "sub"} {
			if err := os.MkdirAll(filepath.Join(other, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(other, "config"), config, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{filepath.Join(other, "sub"), filepath.Join(other, "data"), filepath.Dir(other)} {
			if _, err := local.Open(ctx, dir); errors.As(err, &ne) {
				t.Errorf("config %d: Open(%s) takes another program's config for a cadang repository: %v", i, dir, err)
			}
		}
		if _, err := local.Create(ctx, filepath.Join(other, "data", "backups", "repo")); err != nil {
			t.Errorf("config %d: Create below another program's layout: %v", i, err)
		}
	}

	// A link is not followed: one to a dead network mount would hang the
	// error's path (a link to a repository stands in for it here).
	links := t.TempDir()
	if err := os.Symlink(root, filepath.Join(links, "cadang")); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(ctx, links); errors.As(err, &ne) {
		t.Errorf("the search followed a symbolic link: %v", err)
	}
}
