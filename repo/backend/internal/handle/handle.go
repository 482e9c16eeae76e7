// Package handle holds the rules every backend applies to a backend.Handle
// before touching storage, so that a test against the in-memory backend
// rejects the same handles the local, SFTP and S3 backends will.
package handle

import (
	"fmt"
	"io"
	"strings"

	"github.com/lpse/cadang/repo/backend"
)

// TempPrefix starts the name of a file that is being written. Backends that
// write through a temporary name use it, List skips it, and no handle may
// start with it (no handle may start with "." at all).
const TempPrefix = ".tmp-"

// MaxNameLen bounds a file name; 255 is the limit of common filesystems.
const MaxNameLen = 255

// Types lists every file type, in the order backends lay them out.
var Types = []backend.FileType{
	backend.ConfigFile, backend.KeyFile, backend.PackFile, backend.IndexFile,
	backend.SnapshotFile, backend.LockFile, backend.RecordFile, backend.ObsoleteFile,
	backend.ProtectFile, backend.ForgottenFile,
}

// ValidType reports whether t is a known file type.
func ValidType(t backend.FileType) bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Valid checks h: a known type; the config has an empty name; every other
// file has a name of 1..255 bytes that does not start with "." and holds no
// path separator or NUL; pack names start with two lower-case hex digits
// (the local backend's fan-out directory).
func Valid(h backend.Handle) error {
	if !ValidType(h.Type) {
		return fmt.Errorf("invalid handle %q/%q: unknown file type", h.Type, h.Name)
	}
	if h.Type == backend.ConfigFile {
		if h.Name != "" {
			return fmt.Errorf("invalid handle: config must have an empty name, got %q", h.Name)
		}
		return nil
	}
	switch {
	case h.Name == "":
		return fmt.Errorf("invalid handle %s/: empty name", h.Type)
	case len(h.Name) > MaxNameLen:
		return fmt.Errorf("invalid handle %s/%.16s...: name longer than %d bytes", h.Type, h.Name, MaxNameLen)
	case h.Name[0] == '.':
		return fmt.Errorf("invalid handle %s/%q: name starts with '.'", h.Type, h.Name)
	case strings.ContainsAny(h.Name, "/\\\x00"):
		return fmt.Errorf("invalid handle %s/%q: name contains a path separator or NUL", h.Type, h.Name)
	}
	if h.Type == backend.PackFile && (len(h.Name) < 2 || !isLowerHex(h.Name[0]) || !isLowerHex(h.Name[1])) {
		return fmt.Errorf("invalid handle %s/%q: pack names start with two lower-case hex digits", h.Type, h.Name)
	}
	return nil
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// CheckRange validates a Load range against a file of the given size and
// returns the end offset. length 0 means to the end of the file. The error
// does not name the file; callers wrap it.
func CheckRange(size, offset, length int64) (end int64, err error) {
	if offset < 0 || length < 0 {
		return 0, fmt.Errorf("invalid range: offset %d, length %d", offset, length)
	}
	if length == 0 {
		if offset > size {
			return 0, fmt.Errorf("offset %d beyond end of %d-byte file: %w", offset, size, io.ErrUnexpectedEOF)
		}
		return size, nil
	}
	if offset > size || length > size-offset {
		return 0, fmt.Errorf("range %d+%d beyond end of %d-byte file: %w", offset, length, size, io.ErrUnexpectedEOF)
	}
	return offset + length, nil
}
