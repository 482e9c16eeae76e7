package archiver

import (
	"context"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Repository is what the archiver needs from a repository: the methods it
// calls, no more. *repo.Repository implements it; tests use
// snapshottest.Repo. Every method must be safe for concurrent use.
type Repository interface {
	// Loader finds the parent snapshot (LoadFile, ListFiles) and loads
	// its trees (LoadBlob) to compare the source with.
	snapshot.Loader
	// FileSaver saves the new snapshot file.
	snapshot.FileSaver
	// BlobSaver stores data and tree blobs (SaveBlob). When the
	// repository is also a SizedSaver, SaveBlobSized is used instead.
	snapshot.BlobSaver

	// HasBlob reports whether a writer may reuse the blob: it is indexed
	// in a pack that is not obsolete, or waiting in an open pack. A file
	// whose metadata is unchanged reuses its parent's blobs only while
	// HasBlob holds for all of them.
	HasBlob(t repo.BlobType, id repo.ID) bool
	// Flush writes out all pending packs and the index. The snapshot is
	// saved only after the trees it names have been flushed.
	Flush(ctx context.Context) error
	// ChunkerPolynomial and ChunkerParams configure chunk.New for this
	// repository, so that the same content always gives the same blobs.
	ChunkerPolynomial() chunk.Pol
	ChunkerParams() chunk.Params
}

// SizedSaver is an optional extension of Repository: a SaveBlob that also
// reports how many bytes the blob takes in the repository (after
// compression and encryption; 0 when it was already stored). The archiver
// uses it for Summary.DataAddedPacked.
type SizedSaver interface {
	SaveBlobSized(ctx context.Context, t repo.BlobType, data []byte) (id repo.ID, isNew bool, storedSize int, err error)
}

// statsReporter is implemented by *repo.Repository: session counters of
// what was added. The archiver uses the difference before and after a
// backup for Summary.DataAddedPacked when the repository is not a
// SizedSaver.
type statsReporter interface {
	Stats() repo.SaveStats
}
