//go:build linux

package kdfmem

import (
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Prepare readies the heap for an allocation of n bytes that follows soon
// (argon2id's memory: crypto.DefaultKDFParams().Memory KiB) and returns
// the function to call once that allocation is no longer needed.
//
// It allocates n bytes and a margin without touching them, advises the
// 2 MiB pages that lie wholly within [margin, n) of the block for huge
// pages (MADV_HUGEPAGE), and frees the block with a collection. The
// runtime places a large allocation at the lowest free run of pages that
// fits it, so the next allocation of n bytes starts in the block, at most
// margin bytes in (small allocations made in between may take its first
// pages), and covers every advised page. argon2id's memory then faults in
// as huge pages, but for the edges. When the runtime places it elsewhere
// (2 of 120 processes in the package's test; and a second derivation in one
// process usually goes to the first one's freed memory, which the block
// does not fit), it faults in as before. Only pages that the derivation's
// memory covers whole are advised, so no huge page brings in memory it
// does not use, and the peak resident size does not grow. (A derivation of
// another cost may start there too: a smaller one leaves at most part of
// one huge page unused; a larger one is not affected.)
//
// The returned function sets MADV_NOHUGEPAGE on the range: memory that
// argon2id leaves behind is reused in small pieces, where whole huge pages
// would be resident for a few bytes each (Linux has no call that returns a
// range to the system's default). It may be called more than once.
//
// Prepare does nothing unless the system gives huge pages to advised
// memory only (transparent_hugepage/enabled is "madvise"): with "always"
// argon2id gets them anyway, and with "never" it cannot. It does nothing
// either under GODEBUG=disablethp=1, or if anything fails.
func Prepare(n int) (done func()) {
	if !advisedOnly() {
		return func() {}
	}
	_, _, done = prepare(n)
	return done
}

// advisedOnly reports whether transparent huge pages are given to advised
// memory only, and the runtime was not told to keep the heap off them.
func advisedOnly() bool {
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(kv) == "disablethp=1" {
			return false
		}
	}
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && strings.Contains(string(b), "[madvise]")
}

// prepare is Prepare, whatever the system's setting, returning the advised
// range as well (for the tests).
func prepare(n int) (start, end uintptr, done func()) {
	done = func() {}
	if n < 2*hugePage {
		return 0, 0, done
	}
	b := make([]byte, n+margin)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start = (p + margin + hugePage - 1) &^ (hugePage - 1)
	end = (p + uintptr(n)) &^ (hugePage - 1)
	if end <= start || unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE) != nil {
		return 0, 0, done
	}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
	return start, end, func() {
		// The range stays mapped (the runtime never unmaps its heap on
		// Linux), so advising it by address is safe after the block that
		// held it was freed.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_NOHUGEPAGE)
	}
}
