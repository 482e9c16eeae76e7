package snapshot_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
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

// appendOnlyRepo refuses removals up front, as a *repo.Repository over an
// append-only server does.
type appendOnlyRepo struct{ *snapshottest.Repo }

func (appendOnlyRepo) RefuseAppendOnly(op string) error {
	return &repo.AppendOnlyError{Op: op, Location: "rest:http://backup/spse"}
}

// TestChangeTagsAppendOnly: on a store that refuses removals, ChangeTags
// saves nothing (it would leave the snapshot twice), unless the tags stay.
func TestChangeTagsAppendOnly(t *testing.T) {
	ctx := context.Background()
	r, _, _, sn2 := twoSnapshots(t)
	ao := appendOnlyRepo{r}
	if _, err := snapshot.ChangeTags(ctx, ao, sn2, nil, []string{"evil"}, nil); !errors.Is(err, backend.ErrAppendOnly) {
		t.Errorf("ChangeTags on an append-only store: %v", err)
	}
	n := 0
	if err := r.ListFiles(ctx, repo.SnapshotFile, func(repo.ID) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d snapshot files, want the 2 there were", n)
	}
	if sn, err := snapshot.ChangeTags(ctx, ao, sn2, nil, []string{"t1"}, nil); err != nil || sn != sn2 {
		t.Errorf("unchanged tags on an append-only store: %v, %v", sn, err)
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
