package restorer

import (
	"context"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Repository is what the restorer needs from a repository: the methods it
// calls, no more. *repo.Repository implements it; tests use
// snapshottest.Repo. Every method must be safe for concurrent use.
type Repository interface {
	// BlobLoader loads the snapshot's trees, to plan what to write.
	snapshot.BlobLoader
	// LookupBlob returns where a data blob is stored, so that the blobs
	// of one pack are loaded together.
	LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool)
	// LoadBlobsFromPack reads the given blobs of one pack with as few reads
	// as possible and calls fn for each blob, in offset order. A blob that
	// fails to decrypt or verify is passed with a non-nil error and fn decides
	// whether to continue (return nil) or stop (return an error).
	LoadBlobsFromPack(ctx context.Context, pack repo.ID, blobs []repo.BlobLocation, fn func(loc repo.BlobLocation, plaintext []byte, err error) error) error
}

// PackPrefetcher is an optional extension of Repository (*repo.Repository
// has it): PrefetchPack asks for a byte range of a pack to be read ahead,
// without waiting for it. The restorer calls it for the packs its workers
// take next.
type PackPrefetcher interface {
	PrefetchPack(ctx context.Context, pack repo.ID, offset, length int64)
}

var _ PackPrefetcher = (*repo.Repository)(nil)

// BlobHasher is an optional extension of Repository: it computes the ID
// that a blob with the given plaintext has. The restorer's Verify uses it
// to check written files against the snapshot; without it, written files
// are checked against the blobs as loaded.
type BlobHasher interface {
	BlobID(data []byte) repo.ID
}
