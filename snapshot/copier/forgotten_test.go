package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A destination that keeps fewer snapshots than its source (a medium or an
// offsite repository with a shorter retention) got every snapshot its own
// retention removed back with the next copy, their data uploaded again,
// day after day. A forget records what it removed, and a copy passes
// those over unless told otherwise.
func TestCopyDoesNotBringBackForgottenSnapshots(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, dstDir := newRepo(t, "b")
	data := t.TempDir()
	var sns []*snapshot.Snapshot
	for i := range 3 {
		snapshottest.WriteFile(t, filepath.Join(data, "f"), snapshottest.RandBytes(uint64(40+i), 200<<10))
		sns = append(sns, backup(t, src, data))
	}
	res := mustCopy(t, dst, src, sns)
	if res.Copied != 3 {
		t.Fatalf("first copy: %+v", res)
	}
	// The destination keeps the newest only.
	have, err := snapshot.ListSnapshots(ctx, dst, snapshot.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	groups := retention.Plan(have, retention.Policy{Last: 1}, retention.Options{GroupBy: retention.DefaultGroupBy, Location: time.UTC})
	removed, err := retention.Forget(ctx, dst, groups)
	if err != nil || len(removed) != 2 {
		t.Fatalf("forget: %v, %v", removed, err)
	}
	orig, err := snapshot.ForgottenOriginals(ctx, dst, nil)
	if err != nil || len(orig) != 2 {
		t.Fatalf("forgotten originals: %v, %v", orig, err)
	}
	for _, sn := range sns[:2] {
		if _, ok := orig[sn.ID()]; !ok {
			t.Errorf("source snapshot %s is not recorded as forgotten", sn.ID().Short())
		}
	}

	res, err = Copy(ctx, dst, src, sns, Options{})
	if err != nil || res.Copied != 0 || res.Skipped != 1 || res.NotAgain != 2 || res.DataBlobs+res.TreeBlobs != 0 {
		t.Fatalf("copy after the forget: %+v, %v", res, err)
	}
	for _, r := range res.Snapshots[:2] {
		if r.Forgotten.IsZero() || !r.Dest.IsNull() || r.Skipped {
			t.Errorf("result: %+v", r)
		}
	}
	// Told to, it copies them again.
	res, err = Copy(ctx, dst, src, sns, Options{IncludeForgotten: true})
	if err != nil || res.Copied != 2 || res.NotAgain != 0 {
		t.Fatalf("copy with IncludeForgotten: %+v, %v", res, err)
	}
	checkRepo(t, dst)

	// A forgotten file that cannot be read is passed over, with word of it:
	// what it recorded may be copied again, which loses nothing.
	junk := snapshottest.RandBytes(9, 500)
	sum := sha256.Sum256(junk)
	junkName := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dstDir, "forgotten", junkName), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	var told []repo.ID
	if _, err := Copy(ctx, dst, src, sns, Options{UnreadableForgotten: func(id repo.ID, _ error) { told = append(told, id) }}); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].String() != junkName {
		t.Errorf("told of %v", told)
	}
	gone, err := snapshot.RemoveUnreadableForgotten(ctx, dst)
	if err != nil || len(gone) != 1 || gone[0].String() != junkName {
		t.Fatalf("RemoveUnreadableForgotten: %v, %v", gone, err)
	}
	if orig, err := snapshot.ForgottenOriginals(ctx, dst, func(id repo.ID, err error) { t.Errorf("%s: %v", id, err) }); err != nil || len(orig) != 2 {
		t.Errorf("after the repair: %v, %v", orig, err)
	}
}

// Forgotten files do not pile up: past a bound, a forget merges them.
func TestForgottenFilesAreMerged(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t, "a")
	var want []repo.ID
	for i := range 40 {
		id := repo.ID(sha256.Sum256([]byte{byte(i)}))
		want = append(want, id)
		if err := snapshot.RecordForgotten(ctx, r, []snapshot.ForgottenSnapshot{{ID: id, Original: id}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	n := 0
	if err := r.ListFiles(ctx, repo.ForgottenFile, func(repo.ID) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n > 33 {
		t.Errorf("%d forgotten files", n)
	}
	orig, err := snapshot.ForgottenOriginals(ctx, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range want {
		if _, ok := orig[id]; !ok {
			t.Errorf("%s lost in the merge", id.Short())
		}
	}
}
