package archiver

import (
	"os"
	"path/filepath"
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
