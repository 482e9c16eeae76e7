package faulty

import (
	"fmt"
	"os"
)

// FlipByte damages the file at path in place: the byte at offset (counted
// from the end if negative, -1 being the last byte) is XORed with mask (0x01
// if mask is 0). Saved files are read-only, so the file is made writable for
// the change and its mode restored afterwards. Use it with
// local.Backend.Path to damage a repository file on disk.
func FlipByte(path string, offset int64, mask byte) error {
	if mask == 0 {
		mask = 0x01
	}
	return withWritable(path, func(f *os.File, size int64) error {
		off := offset
		if off < 0 {
			off += size
		}
		if off < 0 || off >= size {
			return fmt.Errorf("flip byte %d of %s: file has %d bytes", offset, path, size)
		}
		var b [1]byte
		if _, err := f.ReadAt(b[:], off); err != nil {
			return fmt.Errorf("flip byte %d of %s: %w", offset, path, err)
		}
		b[0] ^= mask
		if _, err := f.WriteAt(b[:], off); err != nil {
			return fmt.Errorf("flip byte %d of %s: %w", offset, path, err)
		}
		return nil
	})
}

// Truncate cuts the file at path to size bytes in place (if size is
// negative, -size bytes are cut from the end), making a read-only file
// writable for the change and restoring its mode afterwards.
func Truncate(path string, size int64) error {
	return withWritable(path, func(f *os.File, cur int64) error {
		n := size
		if n < 0 {
			n += cur
		}
		if n < 0 || n > cur {
			return fmt.Errorf("truncate %s to %d bytes: file has %d bytes", path, size, cur)
		}
		if err := f.Truncate(n); err != nil {
			return fmt.Errorf("truncate %s: %w", path, err)
		}
		return nil
	})
}

func withWritable(path string, fn func(f *os.File, size int64) error) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	mode := fi.Mode().Perm()
	if mode&0o200 == 0 {
		if err := os.Chmod(path, mode|0o200); err != nil {
			return err
		}
		defer func() {
			if cerr := os.Chmod(path, mode); err == nil {
				err = cerr
			}
		}()
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := fn(f, fi.Size()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}
