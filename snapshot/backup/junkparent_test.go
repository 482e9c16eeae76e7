package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// --parent latest passes over what was never a snapshot (junk uploaded to
// the storage, small or too large for a listing), as restore latest does:
// one upload must not fail every backup that names its parent so.
func TestParentLatestPassesOverJunk(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	src := t.TempDir()
	snapshottest.WriteFile(t, src+"/f", snapshottest.RandBytes(1, 1000))
	first, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{700, snapshot.MaxStoredSize + 1} {
		junk := snapshottest.RandBytes(uint64(n), n)
		junk[0] = 1
		sum := sha256.Sum256(junk)
		if err := be.Save(ctx, backend.Handle{Type: repo.SnapshotFile, Name: hex.EncodeToString(sum[:])}, junk); err != nil {
			t.Fatal(err)
		}
	}
	res, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}, Parent: "latest"})
	if err != nil {
		t.Fatalf("backup --parent latest beside junk: %v", err)
	}
	if res.Snapshot.Parent == nil || *res.Snapshot.Parent != first.Snapshot.ID() {
		t.Errorf("parent %v, want %s", res.Snapshot.Parent, first.Snapshot.ID().Short())
	}
}
