package archiver

import (
	"time"

	"github.com/lpse/cadang/snapshot"
)

// ItemStatus says what the archiver did with an item.
type ItemStatus uint8

// Item statuses.
const (
	ItemNew        ItemStatus = iota + 1 // not in the parent snapshot
	ItemChanged                          // in the parent, but different
	ItemUnmodified                       // in the parent and unchanged; content was not read
	// ItemReread is a file unchanged since the parent whose content was
	// read again all the same: data the parent gave it is missing from the
	// repository (lost with a damaged pack that repair packs took out).
	ItemReread
)

func (s ItemStatus) String() string {
	switch s {
	case ItemNew:
		return "new"
	case ItemChanged:
		return "changed"
	case ItemUnmodified:
		return "unmodified"
	case ItemReread:
		return "reread"
	}
	return "unknown"
}

// ArchiveProgress receives the archiver's events. Methods are called from
// several goroutines at once and must not block for long. Embed
// NopArchiveProgress to implement only some of them.
type ArchiveProgress interface {
	// Scanned is called as the walk finds items: the running totals of
	// files and bytes that the snapshot will contain.
	Scanned(files, bytes uint64)
	// StartFile is called when a file starts being read.
	StartFile(path string)
	// BytesRead is called as file content is read (a delta).
	BytesRead(n uint64)
	// CompleteItem is called when a file, directory or other item is done.
	CompleteItem(path string, n *snapshot.Node, s ItemStatus, d time.Duration)
	// Error is called for an item that could not be (fully) read. The
	// archiver goes on (unless Archiver.ErrorFunc says to stop).
	Error(path string, err error)
}

// NopArchiveProgress ignores all events.
type NopArchiveProgress struct{}

// Scanned implements ArchiveProgress.
func (NopArchiveProgress) Scanned(files, bytes uint64) {}

// StartFile implements ArchiveProgress.
func (NopArchiveProgress) StartFile(path string) {}

// BytesRead implements ArchiveProgress.
func (NopArchiveProgress) BytesRead(n uint64) {}

// CompleteItem implements ArchiveProgress.
func (NopArchiveProgress) CompleteItem(path string, n *snapshot.Node, s ItemStatus, d time.Duration) {
}

// Error implements ArchiveProgress.
func (NopArchiveProgress) Error(path string, err error) {}
