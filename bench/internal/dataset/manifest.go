package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Entry describes one path of a tree.
type Entry struct {
	Mode  fs.FileMode `json:"mode"`
	Size  int64       `json:"size"`
	Mtime int64       `json:"mtime"` // Unix nanoseconds; regular files and symlinks only
	Hash  string      `json:"hash"`  // sha256 of a regular file's bytes, or a symlink's target
}

// Manifest maps slash-separated paths relative to the root to entries.
type Manifest map[string]Entry

// HashTree walks root and hashes every regular file (in parallel). Paths
// listed in skip (relative, slash-separated) are left out.
func HashTree(root string, skip ...string) (Manifest, error) {
	m := Manifest{}
	type job struct{ rel, abs string }
	var files []job
	skipSet := map[string]bool{}
	for _, s := range skip {
		skipSet[s] = true
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if skipSet[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Mode: info.Mode()}
		switch {
		case info.Mode().IsRegular():
			e.Size, e.Mtime = info.Size(), info.ModTime().UnixNano()
			files = append(files, job{rel, p})
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Hash, e.Mtime = "link:"+t, info.ModTime().UnixNano()
		}
		m[rel] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	hashes := make([]string, len(files))
	err = parallel(len(files), func(i int) error {
		f, err := os.Open(files[i].abs)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		hashes[i] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, j := range files {
		e := m[j.rel]
		e.Hash = hashes[i]
		m[j.rel] = e
	}
	return m, nil
}

// Digest is one hash over the whole manifest (paths, modes, sizes, file
// hashes and, if withTimes, file mtimes).
func (m Manifest) Digest(withTimes bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		e := m[k]
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s", k, uint32(e.Mode), e.Size, e.Hash)
		if withTimes {
			fmt.Fprintf(h, "\x00%d", e.Mtime)
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Bytes is the total size of the regular files.
func (m Manifest) Bytes() (n int64) {
	for _, e := range m {
		n += e.Size
	}
	return n
}

// Files is the number of regular files.
func (m Manifest) Files() (n int) {
	for _, e := range m {
		if e.Mode.IsRegular() {
			n++
		}
	}
	return n
}

// Compare lists the differences between want and got (at most max lines; 0
// for all). Directory modes are compared only for the type bit, file modes
// for type and permission bits, and times only if withTimes.
func Compare(want, got Manifest, withTimes bool, max int) []string {
	var diffs []string
	add := func(format string, args ...any) {
		if max == 0 || len(diffs) < max {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := want[k]
		g, ok := got[k]
		switch {
		case !ok:
			add("missing: %s", k)
		case w.Mode.Type() != g.Mode.Type():
			add("type differs: %s (%v vs %v)", k, w.Mode, g.Mode)
		case w.Mode.IsRegular() && w.Mode.Perm() != g.Mode.Perm():
			add("mode differs: %s (%v vs %v)", k, w.Mode, g.Mode)
		case w.Size != g.Size || w.Hash != g.Hash:
			add("content differs: %s", k)
		case withTimes && !w.Mode.IsDir() && w.Mtime != g.Mtime:
			add("mtime differs: %s", k)
		}
	}
	var extra []string
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		add("unexpected: %s", k)
	}
	if max > 0 && len(diffs) == max {
		diffs = append(diffs, "...")
	}
	return diffs
}
