package snapshot

import (
	"context"

	"github.com/lpse/cadang/repo"
)

// The functions of this package reach the repository through these small
// interfaces, each with only the methods the function calls. A
// *repo.Repository implements all of them, and so does the in-memory
// snapshottest.Repo. The subpackages (archiver, restorer, walker, checker)
// declare their own interfaces, built from these. Every method must be safe
// for concurrent use.

// BlobLoader loads blobs. It is what LoadTree needs, and all that reading
// a snapshot's trees and file content takes.
type BlobLoader interface {
	// LoadBlob returns the plaintext of a blob, using buf if it is large enough.
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
}

// BlobSaver stores blobs. It is what SaveTree needs.
type BlobSaver interface {
	// SaveBlob stores data as a blob of type t unless a blob with the same ID
	// is already stored; it reports whether the blob was new. data may be
	// reused by the caller once SaveBlob returns.
	SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (id repo.ID, isNew bool, err error)
}

// FileLoader reads the repository's small files, such as snapshot files.
// It is what LoadSnapshot (LoadFile only), ListSnapshots, FindLatest,
// FindSnapshot, FindSnapshotID and FindParent need.
type FileLoader interface {
	// LoadFile loads and decrypts a file saved with SaveFile.
	LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error)
	// ListFiles calls fn with the ID of each file of type t.
	ListFiles(ctx context.Context, t repo.FileType, fn func(id repo.ID) error) error
}

// Loader is a read-only view of a repository: its snapshot files and the
// trees and content they name.
type Loader interface {
	BlobLoader
	FileLoader
}

// FileSaver stores small files. It is what SaveSnapshot needs.
type FileSaver interface {
	// SaveFile stores a small encrypted file (a snapshot) and returns its ID.
	SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error)
}

// FileRewriter replaces small files: it saves the new one, then removes the
// old one. It is what ChangeTags needs.
type FileRewriter interface {
	FileSaver
	// RemoveFile deletes a file saved with SaveFile.
	RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error
}

// appendOnlyRefuser is implemented by a store that can tell, before
// anything is written, that it refuses removals (*repo.Repository over an
// append-only server): a replacement there would save the new file and
// then fail to remove the old one.
type appendOnlyRefuser interface {
	RefuseAppendOnly(op string) error
}

// refuseAppendOnly is r's refusal of op (repo.Repository.RefuseAppendOnly),
// or nil when r cannot tell or removes files.
func refuseAppendOnly(r any, op string) error {
	if ao, ok := r.(appendOnlyRefuser); ok {
		return ao.RefuseAppendOnly(op)
	}
	return nil
}
