package snapfs_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapfs"
)

// Copy one file of a snapshot to standard output.
func Example() {
	ctx := context.Background()
	r, sn := exampleSnapshot(ctx) // an opened repository and a loaded snapshot

	fsys := snapfs.New(ctx, r, sn)
	f, err := fsys.Open("srv/spse/config.ini") // was /srv/spse/config.ini
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(os.Stdout, f); err != nil {
		log.Fatal(err)
	}
	// Output:
	// [spse]
	// url = https://spse.example.go.id
}

// cheapKDF keeps the example fast; real repositories use the default.
var cheapKDF = crypto.KDFParams{Time: 1, Memory: 8 << 10, Threads: 1}

// exampleSnapshot makes a repository in memory holding a snapshot of
// /srv/spse/config.ini. A real program opens one with repo.Open and finds
// the snapshot with snapshot.FindSnapshot.
func exampleSnapshot(ctx context.Context) (*repo.Repository, *snapshot.Snapshot) {
	r, err := repo.Init(ctx, mem.New(), []byte("secret"), repo.InitOptions{KDF: cheapKDF})
	if err != nil {
		log.Fatal(err)
	}
	content := []byte("[spse]\nurl = https://spse.example.go.id\n")
	blob, _, err := r.SaveBlob(ctx, repo.DataBlob, content)
	if err != nil {
		log.Fatal(err)
	}
	tree := func(n *snapshot.Node) repo.ID {
		id, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{n}})
		if err != nil {
			log.Fatal(err)
		}
		return id
	}
	spse := tree(&snapshot.Node{Name: "config.ini", Type: snapshot.TypeFile, Mode: 0o644,
		Size: int64(len(content)), Content: []snapshot.Extent{{ID: blob, Size: int64(len(content))}}})
	srv := tree(&snapshot.Node{Name: "spse", Type: snapshot.TypeDir, Mode: 0o755, Subtree: spse})
	root := tree(&snapshot.Node{Name: "srv", Type: snapshot.TypeDir, Mode: 0o755, Subtree: srv})
	if err := r.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	sn := &snapshot.Snapshot{Tree: root, Paths: []string{"/srv/spse"}}
	if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
		log.Fatal(fmt.Errorf("save snapshot: %w", err))
	}
	return r, sn
}
