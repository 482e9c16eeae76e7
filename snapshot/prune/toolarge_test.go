package prune_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A snapshot file larger than snapshot.MaxStoredSize is not read by
// listings. Prune must not take that for "not a snapshot": a cadang from
// before the limit may have written one with a long list of unreadable
// files, and its data must stay. It reads such a file whole: a genuine
// snapshot keeps its data (restored byte for byte after the prune), and junk
// of that size is passed over as foreign.
func TestPruneReadsSnapshotTooLargeForAListing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	snapshottest.MakeFiles(t, src, 20)
	want := snapshottest.ScanTree(t, src)
	sn := e.backup(src)

	// The same snapshot, as an older cadang could have written it: a long
	// list of unreadable items makes it larger than any listing reads.
	big := *sn
	big.Summary = &snapshot.Summary{}
	for len(big.Summary.Errors) < 50000 {
		big.Summary.Errors = append(big.Summary.Errors, snapshot.ItemError{Path: "/srv/spse/upload/" + strings.Repeat("x", 60), Error: "permission denied"})
	}
	b, err := json.Marshal(&big)
	if err != nil || len(b) <= snapshot.MaxFileSize {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	r := e.open(repo.SharedLock)
	bigID, err := r.SaveFile(ctx, repo.SnapshotFile, b)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.forget(sn)

	// And junk of that size, named by its hash.
	junk := snapshottest.RandBytes(7, snapshot.MaxStoredSize+1)
	sum := sha256.Sum256(junk)
	junkName := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(e.dir, "snapshots", junkName), junk, 0o600); err != nil {
		t.Fatal(err)
	}

	// A listing passes over both, unread.
	r = e.open(repo.SharedLock)
	var passed []string
	sns, err := snapshot.ListSnapshotsSkipping(ctx, r, snapshot.Filter{}, func(id repo.ID, err error) error {
		if !snapshot.Passed(err) {
			t.Errorf("snapshot file %s: %v", id.Short(), err)
		}
		passed = append(passed, id.String())
		return nil
	})
	r.Close()
	slices.Sort(passed)
	wantPassed := []string{bigID.String(), junkName}
	slices.Sort(wantPassed)
	if err != nil || len(sns) != 0 || !slices.Equal(passed, wantPassed) {
		t.Fatalf("listing: %d snapshots, passed over %v, %v", len(sns), passed, err)
	}

	var warnings []string
	res := e.prune(prune.Options{Warnf: func(f string, a ...any) { warnings = append(warnings, f) }})
	if len(res.ForeignSnapshots) != 1 || res.ForeignSnapshots[0].String() != junkName {
		t.Errorf("foreign snapshots: %v, want the junk %s", res.ForeignSnapshots, junkName[:8])
	}
	if len(warnings) != 1 {
		t.Errorf("warnings: %q", warnings)
	}
	if res.MarkedUnused.Packs != 0 || res.MarkedRepacked.Packs != 0 {
		t.Errorf("prune marked packs the large snapshot uses: %+v", res)
	}
	// A second prune deletes what the first marked: nothing.
	if res := e.prune(prune.Options{Warnf: func(string, ...any) {}}); res.Deleted.Packs != 0 || res.MarkedUnused.Packs != 0 {
		t.Errorf("second prune: %+v", res)
	}
	e.check()
	// Everything the large snapshot names is still there.
	r = e.open(repo.SharedLock)
	loaded, err := snapshot.LoadSnapshot(ctx, r, bigID)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.restoreEqual(loaded, src, want)
}
