package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// ErrTooLarge is wrapped by the error of a load refused because the stored
// file is larger than LoadLimit allows for its type. The error is also a
// *DamagedError: no cadang writes such a file (SaveFile refuses to), so it
// is junk or damage, and check reports it. It was not read, so its bytes
// may not be what its name says; nothing that removes damaged files
// without keeping their bytes may remove it on that ground alone.
var ErrTooLarge = backend.ErrTooLarge

// Bounds of LoadLimit, far above what cadang writes (doc/design.md §14,
// "Reader limits"), so that no genuine file is refused, yet a server that
// answers a load with gigabytes (the REST client alone took up to 4 GiB)
// cannot make a command allocate them.
const (
	// Config, key, lock and protection files are a few hundred bytes of
	// JSON; a protection's reason is the longest free text.
	smallFileLimit = 1 << 20
	// Run-log records and heads: one record with at most 20 errors.
	recordFileLimit = 16 << 20
	// Forgotten files: at most 16 MiB of JSON (snapshot.MaxForgottenSize).
	forgottenFileLimit = 64 << 20
	// Snapshot files hold at most 4 MiB of JSON since format version 1
	// began bounding them, but earlier writers did not bound the list of
	// unreadable items; index files hold 2^16 blobs (about 3 MiB) or the
	// blobs of one pack (at most 2^20, 46 MiB), written every 2 minutes
	// before that; obsolete files name packs, about 36 bytes each (an unindexed pack also its blobs, about 46 bytes each).
	largeFileLimit = 256 << 20
)

// LoadLimit returns the most bytes a stored file of type t may hold for
// LoadFile, LoadFileSized and LoadStored to read it (doc/design.md §14), or
// 0 for pack files, which are read by range, or whole within the bound of
// the repository's pack size (packLoadLimit).
func LoadLimit(t FileType) int64 {
	switch t {
	case ConfigFile, KeyFile, LockFile, ProtectFile:
		return smallFileLimit
	case RecordFile:
		return recordFileLimit
	case ForgottenFile:
		return forgottenFileLimit
	case SnapshotFile, IndexFile, ObsoleteFile:
		return largeFileLimit
	case PackFile:
		return 0
	}
	return smallFileLimit // a type added later is bounded until it is thought about
}

// tooLargeError says why a file was not read: what the storage said it
// holds, and the bound of its type.
type tooLargeError struct {
	t         FileType
	size, max int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the storage gives it %d bytes, more than any %s file may hold (at most %d, doc/design.md §14), so it was not read (junk, or damage)",
		e.size, e.t, e.max)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// tooLarge is the damage error for file h, which the storage says holds
// size bytes, more than max, the bound of its type, allows.
func tooLarge(h backend.Handle, size, max int64) error {
	return &DamagedError{File: h, Err: &tooLargeError{t: h.Type, size: size, max: max}}
}

// packLoadLimit is the most bytes a pack file of this repository may hold
// for the commands that read a pack whole (check --read-data, repair
// packs, the tree cache): a full pack buffer, one more blob of the largest
// size a reader accepts, and a sealed header of the most entries a reader
// accepts. cadang writes nothing larger, whatever the pack size of the
// configuration, so a larger file is junk or damage; without the bound a
// storage that announced terabytes for one pack made the command allocate
// them before a byte arrived.
func (r *Repository) packLoadLimit() int64 {
	header := 1 + int64(packHeaderEntrySize)*maxPackHeaderEntries + crypto.Overhead
	return int64(r.packBufSize()) + MaxBlobSize + crypto.Overhead + header + 4
}

// loadPack reads the whole pack h, or fails with the damage error of
// tooLarge, having read nothing, when the storage gives it more bytes than
// packLoadLimit.
func (r *Repository) loadPack(ctx context.Context, h backend.Handle) ([]byte, error) {
	max := r.packLoadLimit()
	b, err := backend.LoadMax(ctx, r.be, h, max)
	var tl *backend.TooLargeError
	if errors.As(err, &tl) {
		return nil, tooLarge(h, tl.Size, max)
	}
	return b, err
}

// loadLimited reads the whole file h if it is within LoadLimit of its type
// (be's Load as is for packs), and fails with tooLarge otherwise, having
// read no more than the bound.
func loadLimited(ctx context.Context, be backend.Backend, h backend.Handle) ([]byte, error) {
	max := LoadLimit(h.Type)
	if max == 0 {
		return be.Load(ctx, h, 0, 0)
	}
	b, err := backend.LoadMax(ctx, be, h, max)
	var tl *backend.TooLargeError
	if errors.As(err, &tl) {
		return nil, tooLarge(h, tl.Size, max)
	}
	return b, err
}

// checkSaveLimit refuses to save a file that readers would refuse to load.
func checkSaveLimit(h backend.Handle, sealed []byte) error {
	if max := LoadLimit(h.Type); max > 0 && int64(len(sealed)) > max {
		return fmt.Errorf("save %s: %d bytes sealed, more than any %s file may hold (%d): nothing was saved", h, len(sealed), h.Type, max)
	}
	return nil
}
