package repo

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/lpse/cadang/repo/backend"
)

// ReadOnlyError says that a repository's storage is mounted read-only, so
// that its lock (or anything else) cannot be written there: a rescue disk
// mounted read-only, or a medium that the kernel remounted read-only after
// disk errors; or remote storage that refuses writes (backend.ErrReadOnly:
// an SFTP server's read-only file system, an S3 bucket or REST server
// that lets this user read only).
type ReadOnlyError struct {
	Location string // the repository's location, as the backend names it
	// ID is the repository's ID where Open read its config before it
	// failed to write (its lock): the run log names the repository.
	ID  string
	Err error
}

func (e *ReadOnlyError) Error() string {
	if errors.Is(e.Err, syscall.EROFS) {
		return fmt.Sprintf("repository %s is on a read-only file system: %v", e.Location, e.Err)
	}
	return fmt.Sprintf("repository %s refuses writes (read-only storage): %v", e.Location, e.Err)
}

func (e *ReadOnlyError) Unwrap() error { return e.Err }

// readOnly wraps err in a *ReadOnlyError when the storage refused a write
// because it is read-only: EROFS from the local backend, or a remote
// backend's refusal that it marked backend.ErrReadOnly. A plain permission
// error (an SFTP directory this user may not write) stays as it is.
func (r *Repository) readOnly(err error) error {
	var ro *ReadOnlyError
	if err == nil || !errors.Is(err, syscall.EROFS) && !errors.Is(err, backend.ErrReadOnly) || errors.As(err, &ro) {
		return err
	}
	return &ReadOnlyError{Location: r.be.Location(), Err: err}
}

// Unlocked reports whether Open went on without the lock of Options.Lock
// because the storage is read-only (Options.ReadOnlyUnlocked).
func (r *Repository) Unlocked() bool { return r.unlocked }

// ReadOnlyCause is the storage's refusal of the lock that made Open go on
// without it (Unlocked): the backend's own error, for a message that says
// why; nil when the repository is locked.
func (r *Repository) ReadOnlyCause() error { return r.readOnlyCause }
