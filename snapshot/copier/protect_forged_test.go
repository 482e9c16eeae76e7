package copier

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A source snapshot that claims the original of an unrelated snapshot of
// the destination (a forged Original, which anyone with the source's key
// can write) is paired with it and skipped as copied; its protection must
// not be written on that snapshot, which it would then pin for as long as
// copies run (the hostile review of 2026-12-08). A genuine copy, paired
// the same way, still gets its protection.
func TestCopyProtectionNotOntoAnUnrelatedSnapshot(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	dir := t.TempDir()
	snapshottest.MakeFiles(t, filepath.Join(dir, "mine"), 5)
	snapshottest.MakeFiles(t, filepath.Join(dir, "theirs"), 5)
	victim := backup(t, dst, filepath.Join(dir, "theirs")) // B's own, unrelated

	genuine := backup(t, src, filepath.Join(dir, "mine"))
	mustCopy(t, dst, src, []*snapshot.Snapshot{genuine})
	forged := backup(t, src, filepath.Join(dir, "mine"))
	vid := victim.ID()
	forged.Original = &vid
	forged.Hostname = "forged"
	if _, err := snapshot.SaveSnapshot(ctx, src, forged); err != nil {
		t.Fatal(err)
	}
	for _, sn := range []*snapshot.Snapshot{genuine, forged} {
		if _, err := snapshot.SaveProtection(ctx, src, snapshot.Protection{Snapshot: sn.ID(), Reason: "hold " + sn.Hostname, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{genuine, forged}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := snapshot.LoadProtections(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Covers(victim) {
			t.Errorf("the destination's unrelated snapshot %s is protected by a forged copy: %+v", victim.ID().Short(), p)
		}
	}
	if res.ProtectionsAdded != 1 {
		t.Errorf("%d protections added, want 1 (the genuine copy's): %+v", res.ProtectionsAdded, res.Protections)
	}
}
