package local

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A direct write cut short, at a block edge or inside a block, and one
// that fails after writing part of a block, must leave the file exactly
// data once the buffered tail is written: never a gap, never a repeat.
func TestWriteDirectShortWrites(t *testing.T) {
	data := make([]byte, 3<<20+777) // a large allocation: page-aligned
	for i := range data {
		data[i] = byte(i*31 + i>>12)
	}
	cuts := map[string]func(fd int, p []byte, off int64) (int, error){
		"short at a block edge": func(fd int, p []byte, off int64) (int, error) {
			return unix.Pwrite(fd, p[:min(len(p), 1<<20)], off)
		},
		"short inside a block": func(fd int, p []byte, off int64) (int, error) {
			n, err := unix.Pwrite(fd, p[:min(len(p), 1<<20)], off)
			if off > 0 || err != nil {
				return n, err
			}
			// Pretend the kernel took 1 MiB and 100 bytes: the offset a
			// write() would have moved lies past what is whole.
			m, err := unix.Pwrite(fd, p[1<<20:1<<20+100], off+1<<20)
			return n + m, err
		},
		"error after part": func(fd int, p []byte, off int64) (int, error) {
			if off > 0 {
				return 0, unix.EIO
			}
			return unix.Pwrite(fd, p[:min(len(p), 8192)], off)
		},
	}
	for name, pw := range cuts {
		p := filepath.Join(t.TempDir(), "pack")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		done, err := writeDirectWith(f, data, pw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := f.Write(data[done:]); err != nil {
			t.Fatalf("%s: tail: %v", name, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: the file has %d bytes that differ from the %d written (direct part %d)", name, len(got), len(data), done)
		}
	}
}
