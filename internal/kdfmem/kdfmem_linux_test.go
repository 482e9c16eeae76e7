//go:build linux

package kdfmem

import (
	"fmt"
	"os"
	"os/exec"
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
// release places large objects differently, this test says so. It runs in
// a process of its own, as a command opens a repository: what other tests
// left free in this one's heap would decide the placement instead. The
// placement is usual, not certain (in 2 of 120 processes here the runtime's
// own allocations in between moved it), so the test passes if any of
// three processes sees it; Prepare costs nothing but time when it misses.
func TestPrepareArgon2LandsOnAdvisedPages(t *testing.T) {
	if os.Getenv("KDFMEM_PLACEMENT_CHILD") == "1" {
		placement(t)
		return
	}
	var outs []string
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPrepareArgon2LandsOnAdvisedPages$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "KDFMEM_PLACEMENT_CHILD=1")
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "--- SKIP") {
			t.Skipf("%s", out)
		}
		if err == nil {
			return
		}
		outs = append(outs, fmt.Sprintf("%v\n%s", err, out))
	}
	t.Fatalf("in three processes of its own, the placement failed each time:\n%s", strings.Join(outs, "\n"))
}

func placement(t *testing.T) {
	const n = 64 << 20
	debug.FreeOSMemory() // as the CLI does before it opens a repository
	start, end, done := prepare(n)
	defer done()
	if start == 0 {
		t.Skip("madvise(MADV_HUGEPAGE) was refused: this kernel has no transparent huge pages")
	}
	if end-start < n-margin-hugePage {
		t.Fatalf("advised %d bytes of %d", end-start, n)
	}
	mem := make([]block, n/1024)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	if p > start || p+n < end {
		t.Fatalf("the %d-byte allocation lies at %#x-%#x, not over the advised %#x-%#x", n, p, p+n, start, end)
	}
}

// TestPrepareThenKeyIsTheSame: the advice changes where argon2id's memory
// lies, never the key it derives.
func TestPrepareThenKeyIsTheSame(t *testing.T) {
	salt := []byte("a salt of thirty-two bytes, ok..")
	want := argon2.IDKey([]byte("pw"), salt, 1, 64<<10, 2, 32)
	_, _, done := prepare(64 << 20)
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

// TestPrepareRespectsDisableTHP: GODEBUG=disablethp=1 keeps the heap off
// huge pages, and Prepare does not override it.
func TestPrepareRespectsDisableTHP(t *testing.T) {
	t.Setenv("GODEBUG", "gctrace=0,disablethp=1")
	if advisedOnly() {
		t.Fatal("advisedOnly with GODEBUG=disablethp=1")
	}
}
