package backup_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/snapfs"
)

// The whole life of a backup with the public packages: open or create a
// repository in a directory, back up a directory, list the snapshots,
// restore one file and stream another out of the snapshot.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "cadang-example")
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "upload")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "kontrak.txt"), []byte("Kontrak paket 42\n"), 0o644)
	os.WriteFile(filepath.Join(src, "pagu.csv"), []byte("paket,pagu\n42,1000000000\n"), 0o644)

	// One session: created if missing, a shared lock held until Close.
	// CheapKDFParams keeps the example fast; leave KDF zero in real use.
	be, err := local.OpenOrCreate(ctx, filepath.Join(tmp, "repo"))
	if err != nil {
		log.Fatal(err)
	}
	r, _, err := repo.OpenOrInit(ctx, be, []byte("rahasia"), repo.Options{Lock: repo.SharedLock},
		repo.InitOptions{KDF: crypto.CheapKDFParams()})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	res, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}, Tags: []string{"harian"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("files:", res.Snapshot.Summary.FilesNew, "partial:", res.Partial())

	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{Tags: [][]string{{"harian"}}})
	if err != nil {
		log.Fatal(err)
	}
	sn := sns[len(sns)-1]
	fmt.Println("snapshots:", len(sns))

	rs := &restorer.Restorer{Repo: r, Verify: true}
	if _, err := rs.Restore(ctx, sn, filepath.Join(src, "kontrak.txt"), filepath.Join(tmp, "pulih")); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(tmp, "pulih", "kontrak.txt"))
	fmt.Print("restored: ", string(b))

	f, err := snapfs.New(ctx, r, sn).Open(filepath.Join(src, "pagu.csv")[1:]) // fs paths have no leading /
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	io.Copy(os.Stdout, f)
	// Output:
	// files: 2 partial: false
	// snapshots: 1
	// restored: Kontrak paket 42
	// paket,pagu
	// 42,1000000000
}
