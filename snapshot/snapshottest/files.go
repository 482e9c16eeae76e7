package snapshottest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Helpers for tests that back up and restore real directory trees.

// WriteFile writes data to p with mode 0644, creating the directories above it.
func WriteFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// RandBytes returns n pseudo-random bytes, the same for the same seed.
func RandBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// MakeFiles writes n files of pseudo-random content into ten directories
// below root: most of them small, every 50th above the minimum chunk size
// of SmallParams.
func MakeFiles(t testing.TB, root string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := filepath.Join(root, fmt.Sprintf("dir%02d", i%10), fmt.Sprintf("file%04d", i))
		size := 100 + (i*7919)%5000
		if i%50 == 0 {
			size = 300 << 10 // some files above the chunker minimum
		}
		WriteFile(t, p, RandBytes(uint64(i+100), size))
	}
}

// FileState is what CompareTrees compares for one path: type, mode,
// owner, size, mtime, content hash, link target, device number, xattrs
// (except security.*) and hardlink group.
type FileState struct {
	typ    fs.FileMode
	mode   uint32
	uid    uint32
	gid    uint32
	size   int64
	mtime  int64
	hash   [32]byte
	link   string
	rdev   uint64
	xattrs string
	group  int // hardlink group number, 0 if not hardlinked
	blocks int64
}

// ScanTree records every item below root, by relative path.
func ScanTree(t testing.TB, root string) map[string]FileState {
	t.Helper()
	out := map[string]FileState{}
	type di struct{ dev, ino uint64 }
	groups := map[di]int{}
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rels = append(rels, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := FileState{typ: fi.Mode().Type(), mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid,
			mtime: st.Mtim.Nano(), blocks: st.Blocks}
		if rel == "." {
			s.mtime = 0 // the target directory itself is not restored
			s.mode = 0
		}
		s.xattrs = xattrString(p)
		switch {
		case fi.Mode().IsRegular():
			s.size = fi.Size()
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			hashZeroFast(t, h, f)
			f.Close()
			copy(s.hash[:], h.Sum(nil))
			if st.Nlink > 1 {
				k := di{uint64(st.Dev), st.Ino}
				if groups[k] == 0 {
					groups[k] = len(groups) + 1
				}
				s.group = groups[k]
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			s.link, _ = os.Readlink(p)
		case fi.Mode()&fs.ModeDevice != 0:
			s.rdev = uint64(st.Rdev)
		}
		out[rel] = s
	}
	return out
}

// CompareTrees reports every path whose state differs between want and
// got, and every path only one of them has.
func CompareTrees(t testing.TB, want, got map[string]FileState) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("restored has extra %q", k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, g := want[k], got[k]
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q", k)
			continue
		}
		w.blocks, g.blocks = 0, 0
		if w != g {
			t.Errorf("%q differs:\nwant %+v\ngot  %+v", k, w, g)
		}
	}
}

// hashZeroFast hashes r's content, replacing each all-zero MiB by a marker
// (hashing 512 MiB of holes with SHA-256 would dominate the test time).
func hashZeroFast(t testing.TB, h io.Writer, r io.Reader) {
	buf := make([]byte, 1<<20)
	zero := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(r, buf)
		if n == len(buf) && bytes.Equal(buf, zero) {
			h.Write([]byte("<zero MiB>"))
		} else {
			h.Write(buf[:n])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// xattrString lists the extended attributes of p (not following a
// symlink), except security.*, as "name=value;" in name order. It reads
// them independently of the archiver's code, to check it.
func xattrString(p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return ""
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" && !strings.HasPrefix(name, "security.") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var s strings.Builder
	val := make([]byte, 64<<10)
	for _, name := range names {
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			continue // vanished, or not readable: as the archiver skips it
		}
		s.WriteString(name + "=" + string(val[:m]) + ";")
	}
	return s.String()
}
