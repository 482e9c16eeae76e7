package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// testParams are small chunk sizes so that tests see many chunks cheaply.
var testParams = chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}

func newTestRepo(t testing.TB) *snapshottest.Repo {
	t.Helper()
	return snapshottest.New(testParams)
}

// countingFS wraps LocalFS, counts content reads and opens, and can make
// Open fail for chosen paths.
type countingFS struct {
	LocalFS
	bytesRead atomic.Int64
	opens     atomic.Int64
	mu        sync.Mutex
	failOpen  map[string]error
}

func (c *countingFS) Open(name string) (File, error) {
	c.mu.Lock()
	err := c.failOpen[name]
	c.mu.Unlock()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	c.opens.Add(1)
	f, err := c.LocalFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.bytesRead}, nil
}

type countingFile struct {
	File
	n *atomic.Int64
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.n.Add(int64(n))
	return n, err
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
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

// fileState is what compareTrees compares for one path.
type fileState struct {
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

// scanTree records every item below root, by relative path.
func scanTree(t testing.TB, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
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
		s := fileState{typ: fi.Mode().Type(), mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid,
			mtime: st.Mtim.Nano(), blocks: st.Blocks}
		if rel == "." {
			s.mtime = 0 // the target directory itself is not restored
			s.mode = 0
		}
		xs, _ := listXattrs(p)
		for _, x := range xs {
			if strings.HasPrefix(x.Name, "security.") {
				continue
			}
			s.xattrs += x.Name + "=" + string(x.Value) + ";"
		}
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

func compareTrees(t testing.TB, want, got map[string]fileState) {
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

func mustSnapshot(t testing.TB, a *Archiver, paths ...string) *Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}

func mustRestore(t testing.TB, r Repository, sn *Snapshot, target string) *RestoreSummary {
	t.Helper()
	rs := &Restorer{Repo: r, Verify: true}
	sum, err := rs.Restore(context.Background(), sn, "/", target)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	return sum
}

func readAll(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dumpFile(t testing.TB, r Repository, sn *Snapshot, p string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Dump(context.Background(), r, sn, p, &buf); err != nil {
		t.Fatalf("dump %s: %v", p, err)
	}
	return buf.Bytes()
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

var _ = errors.New
var _ = fmt.Sprint
