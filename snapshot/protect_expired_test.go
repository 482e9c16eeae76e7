package snapshot_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
)

// TestRemoveStaleProtections: an expired protection whose snapshot, and
// every snapshot it covers, is gone is removed; one that holds, one of a
// snapshot still there, one that covers a tag change of its gone snapshot
// and a file that cannot be read are kept. While a snapshot file cannot be
// read, a protection that may cover it is kept too.
func TestRemoveStaleProtections(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	now := time.Now()
	save := func(sn *snapshot.Snapshot) repo.ID {
		t.Helper()
		id, err := snapshot.SaveSnapshot(ctx, r, sn)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	present := save(&snapshot.Snapshot{Time: now, Paths: []string{"/srv/a"}})
	gone := save(&snapshot.Snapshot{Time: now, Paths: []string{"/srv/b"}})
	retagged := save(&snapshot.Snapshot{Time: now, Paths: []string{"/srv/c"}})
	retaggedID := retagged
	save(&snapshot.Snapshot{Time: now, Paths: []string{"/srv/c"}, Tags: []string{"x"}, Original: &retaggedID})
	for _, id := range []repo.ID{gone, retagged} {
		if err := r.RemoveFile(ctx, repo.SnapshotFile, id); err != nil {
			t.Fatal(err)
		}
	}
	protect := func(id repo.ID, until time.Time, reason string) snapshot.Protection {
		t.Helper()
		p, err := snapshot.SaveProtection(ctx, r, snapshot.Protection{Snapshot: id, Until: until, Reason: reason})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := protect(gone, now.Add(-time.Hour), "expired, snapshot gone")
	protect(present, now.Add(-time.Hour), "expired, snapshot there")
	protect(gone, now.Add(24*time.Hour), "holds")
	protect(gone, time.Time{}, "forever")
	protect(retagged, now.Add(-time.Hour), "expired, covers a tag change")
	junk, err := r.SaveFile(ctx, repo.ProtectFile, []byte("no protection"))
	if err != nil {
		t.Fatal(err)
	}
	files := func() []repo.ID {
		var ids []repo.ID
		if err := r.ListFiles(ctx, repo.ProtectFile, func(id repo.ID) error { ids = append(ids, id); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}

	// A snapshot file that cannot be read: the stale protection may cover
	// it (a tag change of its snapshot), so nothing goes.
	bad, err := r.SaveFile(ctx, repo.SnapshotFile, []byte("no snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	removed, err := snapshot.RemoveStaleProtections(ctx, r, now)
	if err != nil || len(removed) != 0 {
		t.Fatalf("with an unreadable snapshot file: removed %v, %v", removed, err)
	}
	if err := r.RemoveFile(ctx, repo.SnapshotFile, bad); err != nil {
		t.Fatal(err)
	}

	removed, err = snapshot.RemoveStaleProtections(ctx, r, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].ID != stale.ID || removed[0].Reason != stale.Reason {
		t.Fatalf("removed %+v, want only %s", removed, stale.ID.Short())
	}
	left := files()
	if slices.Contains(left, stale.ID) || !slices.Contains(left, junk) || len(left) != 5 {
		t.Errorf("left %d protection files (want 5, the unreadable one among them): %v", len(left), left)
	}
	// Once the holding ones expire too, they go; the one of a snapshot
	// still there, the one covering a tag change and the junk stay.
	removed, err = snapshot.RemoveStaleProtections(ctx, r, now.Add(48*time.Hour))
	if err != nil || len(removed) != 1 || removed[0].Reason != "holds" {
		t.Errorf("two days later: removed %+v, %v", removed, err)
	}
	if n := len(files()); n != 4 {
		t.Errorf("%d protection files left, want 4", n)
	}
}
