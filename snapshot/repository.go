package snapshot

import (
	"context"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/repo"
)

// Repository is what the snapshot layer needs from a repository. *repo.Repository
// implements it; tests may use a fake. Every method is safe for concurrent use.
type Repository interface {
	// SaveBlob stores data as a blob of type t unless a blob with the same ID
	// is already stored; it reports whether the blob was new. data may be
	// reused by the caller once SaveBlob returns.
	SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (id repo.ID, isNew bool, err error)
	// LoadBlob returns the plaintext of a blob, using buf if it is large enough.
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
	// HasBlob reports whether the index knows the blob.
	HasBlob(t repo.BlobType, id repo.ID) bool
	// LookupBlob returns where a blob is stored, for restore planning.
	LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool)
	// LoadBlobsFromPack reads the given blobs of one pack with as few reads
	// as possible and calls fn for each blob, in offset order. A blob that
	// fails to decrypt or verify is passed with a non-nil error and fn decides
	// whether to continue (return nil) or stop (return an error).
	LoadBlobsFromPack(ctx context.Context, pack repo.ID, blobs []repo.BlobLocation, fn func(loc repo.BlobLocation, plaintext []byte, err error) error) error

	// SaveFile stores a small encrypted file (a snapshot) and returns its ID.
	SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error)
	// LoadFile loads and decrypts a file saved with SaveFile.
	LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error)
	// ListFiles calls fn with the ID of each file of type t.
	ListFiles(ctx context.Context, t repo.FileType, fn func(id repo.ID) error) error
	// RemoveFile deletes a file saved with SaveFile.
	RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error

	// Flush writes out all pending packs and the index. A snapshot may only
	// be saved after the trees it names have been flushed.
	Flush(ctx context.Context) error

	// ChunkerPolynomial and ChunkerParams configure chunk.New for this repository.
	ChunkerPolynomial() chunk.Pol
	ChunkerParams() chunk.Params
}
