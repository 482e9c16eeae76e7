//go:build linux

package kdfmem

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Prepare readies the heap for an allocation of n bytes that follows soon
// (argon2id's memory: crypto.DefaultKDFParams().Memory KiB) and returns
// the function to call once that allocation is no longer needed.
//
// It allocates n bytes and a margin without touching them, advises the
// 2 MiB pages that lie wholly within the first n bytes for huge pages
// (MADV_HUGEPAGE), and frees the block with a collection. The runtime
// places the next allocation that needs a free run of n bytes at the
// lowest address where one is (the fresh block: what the heap had free
// before is smaller), so argon2id's memory takes the advised pages. Only
// pages wholly inside it are advised, so that a huge page never brings in
// memory that argon2id does not use: the peak resident size does not grow.
//
// The returned function withdraws the advice (MADV_NOHUGEPAGE): memory
// that argon2id leaves behind is reused in small pieces, where whole huge
// pages would be resident for a few bytes each. It may be called more than
// once. Where anything fails, nothing is advised and the derivation runs
// on ordinary pages, as without Prepare.
func Prepare(n int) (done func()) {
	_, _, done = prepare(n)
	return done
}

// prepare is Prepare that also returns the advised range, for the tests.
func prepare(n int) (start, end uintptr, done func()) {
	done = func() {}
	if n < 2*hugePage {
		return 0, 0, done
	}
	b := make([]byte, n+margin)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start = (p + hugePage - 1) &^ (hugePage - 1)
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
