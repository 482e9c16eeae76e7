package archiver

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
)

func TestRealRepoCommandFailureAndReopen(t *testing.T) {
	needSh(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repotest.New(t, be, "pw", repo.InitOptions{Chunk: testParams})
	a := &Archiver{Repo: r, Hostname: "db"}
	_, err = a.SnapshotFromCommand(ctx, "spse.dump", []string{"sh", "-c", "seq 1 50000; echo 'no such database' >&2; exit 1"})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 {
		t.Fatalf("got %v", err)
	}
	sn, err := a.SnapshotFromCommand(ctx, "spse.dump", []string{"sh", "-c", "seq 1 50000"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()

	be2, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, be2, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	sns, err := snapshot.ListSnapshots(ctx, r2, snapshot.Filter{})
	if err != nil || len(sns) != 1 || sns[0].ID() != sn.ID() {
		t.Fatalf("snapshots after reopen: %v %v", sns, err)
	}
	got := dumpFile(t, r2, sns[0], "/spse.dump")
	if len(got) == 0 || string(got[:2]) != "1\n" {
		t.Errorf("dump: %q...", got[:min(len(got), 10)])
	}
}
