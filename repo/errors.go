package repo

import (
	"errors"
	"fmt"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// ErrWrongPassword is returned by Open when no key file opens with the
// password. The repository is not changed.
var ErrWrongPassword = crypto.ErrWrongPassword

// ErrNoRepository is returned by Open when the backend holds no
// repository. It is backend.ErrNoRepository, which backends return for a
// location that does not exist.
var ErrNoRepository = backend.ErrNoRepository

// ErrRepositoryExists is returned (wrapped) by Init when the backend
// already holds a repository, including one that another process created
// while Init ran. OpenOrInit then opens that repository instead.
var ErrRepositoryExists = errors.New("already holds a repository")

// ErrKeysMissing is returned (wrapped) by Open when the repository's config
// is there but no key file is: nothing can be decrypted until the key
// files are put back (from a copy of this repository's keys/ directory).
var ErrKeysMissing = errors.New("the key files are missing (keys/ holds none, but the config is there)")

// ErrBlobNotFound is returned (wrapped) for a blob the index does not know.
var ErrBlobNotFound = errors.New("blob not found in index")

// DamagedError reports a stored file (and, where known, a blob in it) whose
// bytes are not what was written: it fails its hash, does not decrypt, or
// does not decode.
type DamagedError struct {
	File backend.Handle
	Blob *ID // nil when the damage is not in a particular blob
	Err  error
}

func (e *DamagedError) Error() string {
	if errors.Is(e.Err, ErrForeignFile) {
		return fmt.Sprintf("repository file %s was not written by this repository: %v", e.File, e.Err)
	}
	if e.Blob != nil {
		return fmt.Sprintf("repository file %s is damaged: blob %s: %v", e.File, e.Blob, e.Err)
	}
	return fmt.Sprintf("repository file %s is damaged: %v", e.File, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// ErrForeignFile is wrapped by the error for a stored file whose bytes
// match its name, so that they are as they were saved, but whose seal does
// not open with this repository's key (or has a seal version this
// repository cannot hold): no holder of the key wrote it, since none saves
// a seal it cannot open. Anyone who can add files to the storage can add
// such junk (an append-only server checks only that a name is the hash).
// It is a DamagedError too. Lock files use the difference: a foreign one
// is nobody's lock (doc/design.md §8).
var ErrForeignFile = errors.New("not written with this repository's key")

// foreignError marks why a seal failed as ErrForeignFile, its text kept.
type foreignError struct{ error }

func (e foreignError) Is(target error) bool { return target == ErrForeignFile }
func (e foreignError) Unwrap() error        { return e.error }

// IsDamaged reports whether err is (or wraps) a DamagedError.
func IsDamaged(err error) bool {
	var d *DamagedError
	return errors.As(err, &d)
}

// ErrUnsupportedVersion is wrapped by the errors for a file or blob in a
// format version this cadang does not read (doc/design.md, "Versions"):
// the remedy is a newer cadang, and nothing may treat it as damage.
var ErrUnsupportedVersion = crypto.ErrUnsupportedVersion

// UnsupportedError reports a stored file (and, where known, a blob in it)
// written in a format version this program does not know.
type UnsupportedError struct {
	File backend.Handle
	Blob *ID
	Err  error // wraps ErrUnsupportedVersion
}

func (e *UnsupportedError) Error() string {
	what := e.File.String()
	if e.Blob != nil {
		what += " blob " + e.Blob.String()
	}
	return fmt.Sprintf("repository file %s is in a format this cadang does not read (%v); use a newer cadang", what, e.Err)
}

func (e *UnsupportedError) Unwrap() error { return e.Err }

func damaged(h backend.Handle, blob *ID, format string, args ...any) error {
	return &DamagedError{File: h, Blob: blob, Err: fmt.Errorf(format, args...)}
}

// unreadable is the error for a stored object whose bytes were verified
// (their SHA-256 matches the file's name, or AEAD opened them) and still
// do not decode. If err is an unknown newer version, the object is not
// damaged but newer than this program: a reader that called it damage
// would send an administrator to repair a healthy repository, and repair
// would drop what it cannot read. Otherwise it is damage.
func unreadable(h backend.Handle, blob *ID, err error) error {
	if errors.Is(err, ErrUnsupportedVersion) {
		return &UnsupportedError{File: h, Blob: blob, Err: err}
	}
	return damaged(h, blob, "%v", err)
}
