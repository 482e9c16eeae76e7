//go:build !linux

package kdfmem

// Prepare does nothing where transparent huge pages cannot be asked for.
func Prepare(n int) (done func()) { return func() {} }
