package archiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident returns how many of the file's pages are in the page cache.
func resident(t *testing.T, path string, size int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (size+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestPrefetchReadsAhead: a file the walker opens on the local file system
// has its first blocks brought into the page cache without being read, so
// that its reader finds them there (a cold backup's small files).
func TestPrefetchReadsAhead(t *testing.T) {
	const size = 256 << 10
	path := filepath.Join(t.TempDir(), "doc.pdf")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	if n := resident(t, path, size); n > 0 {
		t.Skipf("%d pages stay cached after POSIX_FADV_DONTNEED (tmpfs?): nothing to prefetch", n)
	}

	lf, err := LocalFS{}.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	pf, ok := lf.(prefetcher)
	if !ok {
		t.Fatalf("LocalFS files (%T) do not prefetch", lf)
	}
	pf.Prefetch(size)
	want := size / os.Getpagesize()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := resident(t, path, size)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages cached 10 s after Prefetch, none read", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// evict drops path's pages from the page cache, or skips the test where
// they stay (tmpfs).
func evict(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	if n := resident(t, path, size); n > 0 {
		t.Skipf("%d pages stay cached after POSIX_FADV_DONTNEED (tmpfs?)", n)
	}
}

// TestProbeReadsTellCache: a probed file's first read says whether it
// found its bytes in the page cache, and every read, probed or not,
// returns the file's bytes, by Read and by ReadAt, cold and warm.
//
// A cold file's no-wait read starts the kernel's readahead, and on a fast
// disk that readahead can finish before the read looks again (the CI
// machine did this): the probe then rightly finds the bytes cached. So a
// cold file is tried several times, and the test asks only that one try
// see it cold; where none does, it skips, saying so.
func TestProbeReadsTellCache(t *testing.T) {
	const size = 300 << 10
	path := filepath.Join(t.TempDir(), "dump.sql")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*13 + i>>10)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// probe reads the file through a probed rawFile and reports whether
	// the probe took it for cached.
	probe := func(cold, at bool) (cached bool) {
		t.Helper()
		if cold {
			evict(t, path, size)
		}
		f, err := openRaw(path)
		if err != nil {
			t.Fatal(err)
		}
		var a readAdvice
		a.hitsInRow.Store(stopHits - 1) // one more hit turns the advice off
		f.ProbeCache(&a)
		got := make([]byte, size)
		if at {
			_, err = f.ReadAt(got[100:], 100)
			if err == nil {
				_, err = f.ReadAt(got[:100], 0)
			}
		} else {
			_, err = io.ReadFull(f, got)
		}
		f.Close()
		if err != nil {
			t.Fatalf("cold %v, ReadAt %v: %v", cold, at, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("cold %v, ReadAt %v: the bytes read differ from the file's", cold, at)
		}
		if a.noProbe.Load() {
			t.Skip("preadv2 with RWF_NOWAIT is refused here: every file is advised")
		}
		// One more hit turns the advice off; a miss turns it on and
		// clears the count. Anything between is a miscount.
		switch {
		case a.quiet.Load() && a.hitsInRow.Load() == stopHits:
			return true
		case !a.quiet.Load() && a.hitsInRow.Load() == 0:
			return false
		}
		t.Fatalf("cold %v, ReadAt %v: after one probe quiet=%v with %d hits in a row",
			cold, at, a.quiet.Load(), a.hitsInRow.Load())
		return false
	}
	for _, at := range []bool{false, true} {
		if !probe(false, at) {
			t.Errorf("warm, ReadAt %v: the probe took a cached file for cold", at)
		}
	}
	const tries = 5
	for _, at := range []bool{false, true} {
		seenCold := false
		for range tries {
			if !probe(true, at) {
				seenCold = true
			}
		}
		if seenCold {
			continue
		}
		// Only a kernel whose own no-wait reads of the evicted file
		// find its bytes excuses the probe; otherwise the probe is wrong.
		dir := filepath.Dir(path)
		if hits := nowaitHits(t, dir, size, 1) + nowaitHits(t, dir, size, 1) + nowaitHits(t, dir, size, 1); hits < 3 {
			t.Errorf("ReadAt %v: in %d tries the probe never took an evicted file for cold, "+
				"but %d of 3 plain no-wait reads of it found nothing cached", at, tries, 3-hits)
			continue
		}
		t.Skipf("ReadAt %v: in %d tries the no-wait read of an evicted file always found its bytes "+
			"(the readahead it starts finished first: a fast disk); cold cannot be told here", at, tries)
	}
}

// TestProbeReadOfHalfCachedFile: a probe that finds only the file's first
// half cached reads that half and leaves the file's offset after it, so
// the plain reads that follow read the rest.
func TestProbeReadOfHalfCachedFile(t *testing.T) {
	const size = 512 << 10
	path := filepath.Join(t.TempDir(), "dump.sql")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i>>12)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	evict(t, path, size)
	f, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	half := make([]byte, size/2)
	if _, err := f.ReadAt(half, 0); err != nil { // the first half into the cache
		t.Fatal(err)
	}
	_ = unix.Fadvise(f.fd, size/2, 0, unix.FADV_DONTNEED) // and not what readahead brought beyond it
	var a readAdvice
	f.ProbeCache(&a)
	got := make([]byte, size)
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Error("the bytes read after a partial probe differ from the file's")
	}
	if a.noProbe.Load() {
		t.Skip("preadv2 with RWF_NOWAIT is refused here")
	}
	if a.hitsInRow.Load() != 1 {
		t.Errorf("a probe that read the cached half counted %d hits, want 1", a.hitsInRow.Load())
	}
}

// TestReadAdviceFollowsCache: the walker stops advising once its probes
// find the files cached, and advises nearly every file of a cold tree.
func TestReadAdviceFollowsCache(t *testing.T) {
	const files, size = 1000, 3000
	src := t.TempDir()
	for i := range files {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	backup := func() (advised, probed int64) {
		t.Helper()
		fs := &adviceFS{}
		a := NewArchiver(newTestRepo(t))
		a.FS = fs
		if _, err := a.Snapshot(context.Background(), []string{src}); err != nil {
			t.Fatal(err)
		}
		return fs.advised.Load(), fs.probed.Load()
	}
	advised, probed := backup()
	t.Logf("warm: %d advised, %d probed", advised, probed)
	if advised+probed != files {
		t.Fatalf("%d files advised or probed, want %d", advised+probed, files)
	}
	if advised > files/4 {
		t.Errorf("warm tree: %d of %d files advised, want the advice stopped after a few probes", advised, files)
	}
	err := filepath.WalkDir(src, func(p string, d iofs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			evict(t, p, size)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	advised, probed = backup()
	t.Logf("cold: %d advised, %d probed", advised, probed)
	if advised < files*9/10 {
		// The advice is off for up to a tenth of the files only where
		// as many no-wait reads of evicted files find their bytes.
		if n := nowaitHits(t, src, size, 20); n >= 2 {
			t.Skipf("cold tree: %d of %d files advised; but %d of 20 no-wait reads of evicted files "+
				"found their bytes (the readahead they start finished first: a fast disk), "+
				"so cold cannot be told here", advised, files, n)
		}
		t.Errorf("cold tree: %d of %d files advised, want nearly all", advised, files)
	}
}

// nowaitHits evicts up to n regular files under dir (each size bytes) and
// counts those whose no-wait read (preadv2 RWF_NOWAIT) returns bytes all
// the same: on a fast disk, the readahead such a read starts can finish
// before it looks again.
func nowaitHits(t *testing.T, dir string, size, n int) int {
	t.Helper()
	hits, seen := 0, 0
	buf := make([]byte, size)
	err := filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || seen == n {
			return err
		}
		seen++
		evict(t, p, size)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if got, err := unix.Preadv2(int(f.Fd()), [][]byte{buf}, 0, unix.RWF_NOWAIT); err == nil && got > 0 {
			hits++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// adviceFS counts the files the walker advises and probes.
type adviceFS struct {
	LocalFS
	advised, probed atomic.Int64
}

func (fs *adviceFS) Open(name string) (File, error) {
	f, err := openRaw(name)
	if err != nil {
		return nil, err
	}
	return &adviceFile{rawFile: f, fs: fs}, nil
}

type adviceFile struct {
	*rawFile
	fs *adviceFS
}

func (f *adviceFile) Prefetch(size int64) {
	f.fs.advised.Add(1)
	f.rawFile.Prefetch(size)
}

func (f *adviceFile) ProbeCache(a *readAdvice) {
	f.fs.probed.Add(1)
	f.rawFile.ProbeCache(a)
}

// TestReadAdviceStates: one file in probeEvery goes unadvised while the
// advice is on; stopHits cached probes in a row turn it off, one that
// misses turns it on, and a probe that cannot tell turns it on for good.
func TestReadAdviceStates(t *testing.T) {
	var a readAdvice
	probes := 0
	for range 10 * probeEvery {
		if !a.advise() {
			probes++
		}
	}
	if probes != 10 {
		t.Errorf("%d of %d files probed while advising, want 10", probes, 10*probeEvery)
	}
	for i := range stopHits {
		if a.quiet.Load() {
			t.Fatalf("advice off after %d cached probes, want %d", i, stopHits)
		}
		a.observe(true, true)
	}
	if a.advise() {
		t.Fatalf("advice still on after %d cached probes", stopHits)
	}
	a.observe(false, true)
	if !a.advise() {
		t.Fatal("advice still off after a probe that missed")
	}
	a.observe(false, false)
	for range 2 * probeEvery {
		if !a.advise() {
			t.Fatal("a file probed where probes cannot tell")
		}
	}
}
