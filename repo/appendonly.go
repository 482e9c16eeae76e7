package repo

import (
	"fmt"

	"github.com/lpse/cadang/repo/backend"
)

// AppendOnly reports whether r's storage refuses to remove files other than
// lock files: a server run with cadang serve --append-only, which says so
// in its answer to the open.
func (r *Repository) AppendOnly() bool { return backend.IsAppendOnly(r.be) }

// AppendOnlyError is the refusal of an operation that removes files (or
// replaces them: writes a new one, then removes the old), given before it
// writes anything when the storage refuses removals. Started through such
// a server, the operation would write its new files and then fail to
// remove the old ones: a tag change would leave the snapshot twice, a
// password change the old password working. It wraps
// backend.ErrAppendOnly.
type AppendOnlyError struct {
	// Op names the operation as the command line does ("tag",
	// "repair index").
	Op string
	// Location is the storage's.
	Location string
}

func (e *AppendOnlyError) Error() string {
	return fmt.Sprintf("%s: the server at %s is append-only and refuses the removals that %s needs; nothing was changed: run it on the backup host (where the server runs), against the repository's directory, or through a server without --append-only",
		e.Op, e.Location, e.Op)
}

func (e *AppendOnlyError) Unwrap() error { return backend.ErrAppendOnly }

// RefuseAppendOnly returns an *AppendOnlyError for op when r's storage
// refuses removals (AppendOnly), and nil otherwise. An operation that
// removes files calls it before it writes anything; its command-line
// name in op tells the user what was refused.
func (r *Repository) RefuseAppendOnly(op string) error {
	if !r.AppendOnly() {
		return nil
	}
	return &AppendOnlyError{Op: op, Location: r.be.Location()}
}
