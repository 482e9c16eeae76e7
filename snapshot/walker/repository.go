package walker

import (
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Repository is what ComputeStats needs from a repository: tree and
// content loading, and the index's record of where each blob is stored
// (for the stored sizes). The other functions of the package only load
// blobs and take a snapshot.BlobLoader. *repo.Repository implements both;
// tests use snapshottest.Repo.
type Repository interface {
	snapshot.BlobLoader
	// LookupBlob returns where a blob is stored and how many bytes it
	// takes there.
	LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool)
}
