package snapshot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A backup, an incremental backup that reads nothing, and a restore. The
// in-memory repository stands in for a *repo.Repository.
func Example() {
	ctx := context.Background()
	src, _ := os.MkdirTemp("", "cadang-src")
	defer os.RemoveAll(src)
	os.WriteFile(filepath.Join(src, "spse.sql"), []byte("INSERT INTO t VALUES (1);\n"), 0o644)

	r := snapshottest.New(snapshottest.SmallParams)
	a := &archiver.Archiver{Repo: r, Hostname: "db1", Tags: []string{"daily"}}
	sn, err := a.Snapshot(ctx, []string{src})
	if err != nil {
		panic(err)
	}
	fmt.Println("first:", sn.Summary.FilesNew, "new file")

	sn2, err := a.Snapshot(ctx, []string{src}) // parent found: same host and paths
	if err != nil {
		panic(err)
	}
	fmt.Println("second:", sn2.Summary.FilesUnmodified, "unmodified,", sn2.Summary.BytesRead, "bytes read")

	target, _ := os.MkdirTemp("", "cadang-restore")
	defer os.RemoveAll(target)
	latest, _ := snapshot.FindLatest(ctx, r, snapshot.Filter{Hosts: []string{"db1"}})
	res := &restorer.Restorer{Repo: r, Verify: true}
	sum, err := res.Restore(ctx, latest, "/", target)
	if err != nil {
		panic(err)
	}
	b, _ := os.ReadFile(filepath.Join(target, src, "spse.sql"))
	fmt.Printf("restored %d file, verified %d: %s", sum.Files, sum.Verified, b)
	// Output:
	// first: 1 new file
	// second: 1 unmodified, 0 bytes read
	// restored 1 file, verified 1: INSERT INTO t VALUES (1);
}
