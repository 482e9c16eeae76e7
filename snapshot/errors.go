package snapshot

import "errors"

// ErrNotFound is returned (wrapped) for a path not in a snapshot, for
// example by walker.FindNode.
var ErrNotFound = errors.New("not found in snapshot")

// ErrBlobNotIndexed is the Err of a checker.Problem for a referenced blob
// that the index does not know.
var ErrBlobNotIndexed = errors.New("referenced blob is not in the index")
