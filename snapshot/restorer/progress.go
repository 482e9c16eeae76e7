package restorer

import "github.com/lpse/cadang/snapshot"

// RestoreProgress receives the restorer's events. Methods are called from
// several goroutines at once. Embed NopRestoreProgress to implement only
// some of them.
type RestoreProgress interface {
	// Planned is called with the totals to restore before anything is
	// written, and again with larger ones when hardlinks are to be
	// written as copies (RestoreSummary.LinkCopies).
	Planned(files, bytes uint64)
	// BytesWritten is called as file content is written (a delta).
	BytesWritten(n uint64)
	// CompleteItem is called when an item is restored (or would be, in a dry run), or skipped.
	CompleteItem(path string, n *snapshot.Node, skipped bool)
	// Error is called for an item that could not be restored.
	Error(path string, err error)
}

// NopRestoreProgress ignores all events.
type NopRestoreProgress struct{}

// Planned implements RestoreProgress.
func (NopRestoreProgress) Planned(files, bytes uint64) {}

// BytesWritten implements RestoreProgress.
func (NopRestoreProgress) BytesWritten(n uint64) {}

// CompleteItem implements RestoreProgress.
func (NopRestoreProgress) CompleteItem(path string, n *snapshot.Node, skipped bool) {}

// Error implements RestoreProgress.
func (NopRestoreProgress) Error(path string, err error) {}
