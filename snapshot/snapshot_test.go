package snapshot_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

func TestChangeTags(t *testing.T) {
	ctx := context.Background()
	r, _, _, sn2 := twoSnapshots(t)

	sn3, err := snapshot.ChangeTags(ctx, r, sn2, nil, []string{"keep", "t2"}, []string{"t1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sn3.Tags, []string{"keep", "t2"}) || sn3.Original == nil || *sn3.Original != sn2.ID() || sn3.ID() == sn2.ID() {
		t.Errorf("tags: %+v", sn3)
	}
	if _, err := snapshot.LoadSnapshot(ctx, r, sn2.ID()); err == nil {
		t.Error("old snapshot file not removed")
	}
	if sn4, _ := snapshot.ChangeTags(ctx, r, sn3, []string{"t2", "keep"}, nil, nil); sn4 != sn3 {
		t.Error("unchanged tags rewrote the snapshot")
	}

}

// twoSnapshots backs up a small tree twice, with changes in between
// (change, added, remove), into a fresh in-memory repository.
func twoSnapshots(t *testing.T) (r *snapshottest.Repo, src string, sn1, sn2 *snapshot.Snapshot) {
	t.Helper()
	src = t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "keep"), []byte("same"))
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v1"))
	snapshottest.WriteFile(t, filepath.Join(src, "remove"), []byte("bye"))
	snapshottest.WriteFile(t, filepath.Join(src, "d", "f.sql"), snapshottest.RandBytes(5, 70<<10))
	r = snapshottest.New(snapshottest.SmallParams)
	a := &archiver.Archiver{Repo: r, Hostname: "h", Tags: []string{"t1"}}
	sn1 = mustSnapshot(t, a, src)
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v2!"))
	snapshottest.WriteFile(t, filepath.Join(src, "added"), []byte("new"))
	if err := os.Remove(filepath.Join(src, "remove")); err != nil {
		t.Fatal(err)
	}
	sn2 = mustSnapshot(t, a, src)
	return r, src, sn1, sn2
}

func mustSnapshot(t *testing.T, a *archiver.Archiver, paths ...string) *snapshot.Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}
