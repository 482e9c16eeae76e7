package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// TestMaintainerForgetRemovesStaleProtections: the retention of
// 'cadang run' removes, like cadang forget, the expired protection of a
// snapshot it forgot, on the SOP layer's clock, and keeps the one of the
// snapshot it kept.
func TestMaintainerForgetRemovesStaleProtections(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	dir := t.TempDir()
	var ids []repo.ID
	for i := range 2 {
		snapshottest.WriteFile(t, filepath.Join(dir, "dump.sql"), snapshottest.RandBytes(uint64(i+1), 5000))
		sn, err := archiver.NewArchiver(r).Snapshot(ctx, []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sn.ID())
	}
	clock := time.Now().Add(30 * 24 * time.Hour) // the SOP clock, after both ends below
	for _, id := range ids {
		if _, err := snapshot.SaveProtection(ctx, r, snapshot.Protection{Snapshot: id, Until: time.Now().Add(24 * time.Hour), Reason: "before-change"}); err != nil {
			t.Fatal(err)
		}
	}
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	groups := retention.Plan(sns, retention.Policy{Last: 1}, retention.Options{Now: clock})
	var warnings []string
	mt := &engine.Maintainer{Opener: &engine.Opener{Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }},
		Now: func() time.Time { return clock }}
	removed, err := mt.Forget(ctx, r, groups)
	if err != nil || len(removed) != 1 || removed[0] != ids[0].String() {
		t.Fatalf("Forget: %v %v", removed, err)
	}
	left, err := snapshot.Protections(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Snapshot != ids[1] || len(warnings) != 0 {
		t.Fatalf("protections left %+v (want only that of %s), warnings %q", left, ids[1].Short(), warnings)
	}
}
