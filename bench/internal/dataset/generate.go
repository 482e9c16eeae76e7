package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Stats describes a generated or mutated tree.
type Stats struct {
	Day       int       `json:"day"`
	Dump      DumpStats `json:"dump"`
	Docs      int       `json:"docs"`       // documents present
	DocBytes  int64     `json:"doc_bytes"`  // bytes of documents written by this call
	Apps      int       `json:"apps"`       // application files
	AppBytes  int64     `json:"app_bytes"`  // bytes of application files written by this call
	Written   int       `json:"written"`    // files written by this call (the dump included)
	Deleted   int       `json:"deleted"`    // files deleted by this call
	DocsAdded int       `json:"docs_added"` // in a mutation
	DocsMod   int       `json:"docs_modified"`
	RowsAdded int64     `json:"rows_added"` // in a mutation: rows appended to the dump
	Elapsed   float64   `json:"elapsed_s"`
}

// TotalBytes is the bytes written by the call.
func (s Stats) TotalBytes() int64 { return s.Dump.Bytes + s.DocBytes + s.AppBytes }

// Generate writes the day-0 tree for c into dir, which must be empty or not
// exist.
func Generate(dir string, c Config) (Stats, error) {
	start := time.Now()
	c = c.withDefaults()
	st := Stats{}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return st, fmt.Errorf("%s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	var err error
	if st.Dump, err = writeDump(filepath.Join(dir, DumpPath), c, 0); err != nil {
		return st, err
	}
	st.Written++
	dg := newDocGen(c)
	w := newTreeWriter(dir)
	nApps := appCount(c)
	err = parallel(dg.nDocs+nApps, func(i int) error {
		if i < dg.nDocs {
			m := dg.meta(i)
			return w.write(m.path, dg.content(i, 0), dg.mtime(m, 0), &st.DocBytes)
		}
		i -= dg.nDocs
		return w.write(appFile(c, i).path, appContent(c, i), appDeploy, &st.AppBytes)
	})
	if err != nil {
		return st, err
	}
	st.Docs, st.Apps = dg.nDocs, nApps
	st.Written += dg.nDocs + nApps
	if err := writeState(dir, state{Config: c, Day: 0}); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start).Seconds()
	return st, nil
}

// SyncTo brings a generated tree to the state of day `day` (0 is the
// original), rewriting the dump and writing or deleting only the documents
// that differ. Going forward one day is the "day N mutation"; going back to
// day 0 resets the tree for another benchmark run. Unchanged files keep
// their bytes, inode and times.
func SyncTo(dir string, day int) (Stats, error) {
	start := time.Now()
	st := Stats{Day: day}
	s0, err := readState(dir)
	if err != nil {
		return st, err
	}
	if day < 0 {
		return st, fmt.Errorf("day %d < 0", day)
	}
	c := s0.Config.withDefaults()
	cur := s0.Day
	dg := newDocGen(c)
	a, b := dg.state(cur), dg.state(day)
	w := newTreeWriter(dir)
	n := max(len(a.alive), len(b.alive))
	type op struct {
		id, v int
		del   bool
	}
	var ops []op
	for id := 0; id < n; id++ {
		inA := id < len(a.alive) && a.alive[id]
		inB := id < len(b.alive) && b.alive[id]
		if inB {
			st.Docs++
		}
		switch {
		case inB && !inA:
			ops = append(ops, op{id: id, v: b.version[id]})
			st.DocsAdded++
		case inB && inA && a.version[id] != b.version[id]:
			ops = append(ops, op{id: id, v: b.version[id]})
			st.DocsMod++
		case inA && !inB:
			ops = append(ops, op{id: id, del: true})
		}
	}
	err = parallel(len(ops), func(i int) error {
		o := ops[i]
		m := dg.meta(o.id)
		if o.del {
			return w.remove(m.path)
		}
		return w.write(m.path, dg.content(o.id, o.v), dg.mtime(m, o.v), &st.DocBytes)
	})
	if err != nil {
		return st, err
	}
	st.Deleted = int(w.deleted.Load())
	st.Written = len(ops) - st.Deleted
	st.Apps = appCount(c)
	if cur != day {
		if st.Dump, err = writeDump(filepath.Join(dir, DumpPath), c, day); err != nil {
			return st, err
		}
		st.Written++
		g := newDumpGen(c)
		va, vb := g.versions(cur), g.versions(day)
		st.Dump.Changed = map[string]int64{}
		for ti, t := range tables {
			common := min(g.rows(ti, cur), g.rows(ti, day))
			var ch int64
			for id, v := range vb[ti] {
				if id <= common && va[ti][id] != v {
					ch++
				}
			}
			for id, v := range va[ti] {
				if _, ok := vb[ti][id]; !ok && id <= common && v != 0 {
					ch++
				}
			}
			st.Dump.Changed[t.name] = ch
			st.RowsAdded += g.rows(ti, day) - g.rows(ti, cur)
		}
	}
	if err := writeState(dir, state{Config: c, Day: day}); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start).Seconds()
	return st, nil
}

// Mutate applies the day-N mutation: it brings the tree to day `day`, which
// is normally the current day plus one.
func Mutate(dir string, day int) (Stats, error) { return SyncTo(dir, day) }

type treeWriter struct {
	root    string
	dirs    sync.Map
	deleted atomic.Int64
}

func newTreeWriter(root string) *treeWriter { return &treeWriter{root: root} }

func (w *treeWriter) write(rel string, data []byte, mtime int64, counter *int64) error {
	p := filepath.Join(w.root, rel)
	d := filepath.Dir(p)
	if _, ok := w.dirs.Load(d); !ok {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		w.dirs.Store(d, true)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	atomic.AddInt64(counter, int64(len(data)))
	t := time.Unix(mtime, 0)
	return os.Chtimes(p, t, t)
}

func (w *treeWriter) remove(rel string) error {
	p := filepath.Join(w.root, rel)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	w.deleted.Add(1)
	// Remove directories left empty, up to the top-level one.
	for d := filepath.Dir(p); len(d) > len(w.root) && filepath.Dir(d) != w.root; d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// parallel runs fn(0..n-1) on GOMAXPROCS workers and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
