//go:build linux

package kdfmem

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/crypto/argon2"
)

// block is argon2's unit of memory, 1 KiB, as golang.org/x/crypto/argon2
// allocates it: a slice of n/1024 of them.
type block [128]uint64

// TestPrepareArgon2LandsOnAdvisedPages: Prepare pays only if the
// allocation that follows, made the way argon2 makes it, takes the advised
// pages. This is the runtime behaviour Prepare depends on; if a new Go
// release places large objects differently, this test says so.
func TestPrepareArgon2LandsOnAdvisedPages(t *testing.T) {
	const n = 64 << 20
	debug.FreeOSMemory() // as the CLI does before it opens a repository
	start, end, done := prepare(n)
	defer done()
	if start == 0 {
		t.Skip("madvise(MADV_HUGEPAGE) was refused: no transparent huge pages here")
	}
	if end-start < n-2*hugePage {
		t.Fatalf("advised %d bytes of %d", end-start, n)
	}
	mem := make([]block, n/1024)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	if p > start || p+n < end {
		t.Fatalf("the %d-byte allocation lies at %#x-%#x, not over the advised %#x-%#x", n, p, p+n, start, end)
	}
	if thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		t.Logf("transparent_hugepage/enabled: %s", strings.TrimSpace(string(thp)))
	}
}

// TestPrepareThenKeyIsTheSame: the advice changes where argon2id's memory
// lies, never the key it derives.
func TestPrepareThenKeyIsTheSame(t *testing.T) {
	salt := []byte("a salt of thirty-two bytes, ok..")
	want := argon2.IDKey([]byte("pw"), salt, 1, 64<<10, 2, 32)
	done := Prepare(64 << 20)
	got := argon2.IDKey([]byte("pw"), salt, 1, 64<<10, 2, 32)
	done()
	done()
	if string(got) != string(want) {
		t.Fatal("the key differs after Prepare")
	}
}

func TestPrepareSmall(t *testing.T) {
	if s, e, done := prepare(hugePage); s != 0 || e != 0 {
		t.Fatalf("a block smaller than two huge pages was advised: %#x-%#x", s, e)
	} else {
		done()
	}
}
