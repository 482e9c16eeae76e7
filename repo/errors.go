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
	if e.Blob != nil {
		return fmt.Sprintf("repository file %s is damaged: blob %s: %v", e.File, e.Blob, e.Err)
	}
	return fmt.Sprintf("repository file %s is damaged: %v", e.File, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// IsDamaged reports whether err is (or wraps) a DamagedError.
func IsDamaged(err error) bool {
	var d *DamagedError
	return errors.As(err, &d)
}

func damaged(h backend.Handle, blob *ID, format string, args ...any) error {
	return &DamagedError{File: h, Blob: blob, Err: fmt.Errorf(format, args...)}
}
