package repo

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// currentCPU returns the CPU the calling thread runs on (getcpu(2)). The
// goroutine may move right after; the answer only picks an encoder whose
// tables are likely in this core's cache.
func currentCPU() (int, bool) {
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return 0, false
	}
	return int(cpu), true
}
