package snapshot_test

import (
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// The real and the in-memory repository implement the package's interfaces.
var (
	_ snapshot.Loader       = (*repo.Repository)(nil)
	_ snapshot.BlobSaver    = (*repo.Repository)(nil)
	_ snapshot.FileRewriter = (*repo.Repository)(nil)
	_ snapshot.Loader       = (*snapshottest.Repo)(nil)
	_ snapshot.BlobSaver    = (*snapshottest.Repo)(nil)
	_ snapshot.FileRewriter = (*snapshottest.Repo)(nil)
)
