package repo

import (
	"errors"
	"fmt"
	"syscall"
)

// ReadOnlyError says that a repository's storage is mounted read-only, so
// that its lock (or anything else) cannot be written there: a rescue disk
// mounted read-only, or a medium that the kernel remounted read-only after
// disk errors.
type ReadOnlyError struct {
	Location string // the repository's location, as the backend names it
	// ID is the repository's ID where Open read its config before it
	// failed to write (its lock): the run log names the repository.
	ID  string
	Err error
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("repository %s is on a read-only file system: %v", e.Location, e.Err)
}

func (e *ReadOnlyError) Unwrap() error { return e.Err }

// readOnly wraps err in a *ReadOnlyError when the storage refused a write
// because it is read-only (EROFS from the local backend). Other backends'
// refusals (an SFTP server's permission error) are not told apart from
// permissions, and stay as they are.
func (r *Repository) readOnly(err error) error {
	var ro *ReadOnlyError
	if err == nil || !errors.Is(err, syscall.EROFS) || errors.As(err, &ro) {
		return err
	}
	return &ReadOnlyError{Location: r.be.Location(), Err: err}
}

// Unlocked reports whether Open went on without the lock of Options.Lock
// because the storage is read-only (Options.ReadOnlyUnlocked).
func (r *Repository) Unlocked() bool { return r.unlocked }
