//go:build !linux

package repo

// currentCPU cannot name the CPU off Linux.
func currentCPU() (int, bool) { return 0, false }
