package checker

import (
	"context"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// TreeRepository is what CheckTrees needs from a repository: loading
// trees, and asking the index where a blob is. Every method must be safe
// for concurrent use. Check relies on LoadBlob reading a blob from the
// location LookupBlob reports (when both agree before and after the load)
// and verifying it there: it tells the pack check that such trees need
// not be opened again (repo.CheckOptions.Verified).
type TreeRepository interface {
	snapshot.BlobLoader
	// LookupBlob reports where the index has the blob: in any pack, an
	// obsolete one included, since check asks whether the blob can be
	// read, not whether a writer may reuse it.
	LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool)
}

// PackChecker is the repository's own check: packs, headers and index,
// and with ReadData every blob's bytes. *repo.Repository implements it.
type PackChecker interface {
	Check(ctx context.Context, o repo.CheckOptions) (*repo.CheckResult, error)
}

// Repository is what Check needs: the snapshot files (to list the
// snapshots), the trees they name, and the repository's pack check.
// *repo.Repository implements it.
type Repository interface {
	TreeRepository
	snapshot.FileLoader
	PackChecker
}
