package copier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A snapshot of an older cadang may hold more than a snapshot file may
// now (a long list of unreadable items), and a copy adds a field to every
// snapshot: the copy moves the tail of the list into the count of omitted
// items, so that the snapshot is copied and the copies after it too.
func TestCopyFitsALargeSnapshot(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	data := t.TempDir()
	snapshottest.WriteFile(t, data+"/f", snapshottest.RandBytes(5, 100<<10))
	sn := backup(t, src, data)

	big := *sn
	s := *sn.Summary
	big.Summary = &s
	// About 150 bytes an item: a little more than fits.
	for range snapshot.MaxFileSize/150 + 100 {
		s.Errors = append(s.Errors, snapshot.ItemError{Path: "/srv/spse/upload/" + strings.Repeat("x", 100), Error: "permission denied"})
	}
	b, _ := json.Marshal(&big)
	if len(b) <= snapshot.MaxFileSize {
		t.Fatalf("%d bytes", len(b))
	}
	if c := *loadedCopy(t, b); !snapshot.FitErrors(&c) {
		t.Fatal("FitErrors")
	}
	bigID, err := src.SaveFile(ctx, repo.SnapshotFile, b)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := snapshot.LoadSnapshot(ctx, src, bigID)
	if err != nil {
		t.Fatal(err)
	}
	later := backup(t, src, data)

	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{loaded, later}, Options{})
	if err != nil || res.Copied != 2 {
		t.Fatalf("copy: %+v, %v", res, err)
	}
	var copied *snapshot.Snapshot
	for _, r := range res.Snapshots {
		if r.Source == bigID {
			if copied, err = snapshot.LoadSnapshot(ctx, dst, r.Dest); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := len(loaded.Summary.Errors)
	if copied == nil || copied.Summary.ErrorCount() != uint64(n) || copied.Summary.ErrorsOmitted == 0 {
		t.Fatalf("copied summary: %d listed, %d omitted; the source listed %d", len(copied.Summary.Errors), copied.Summary.ErrorsOmitted, n)
	}
}

func loadedCopy(t *testing.T, b []byte) *snapshot.Snapshot {
	var sn snapshot.Snapshot
	if err := json.Unmarshal(b, &sn); err != nil {
		t.Fatal(err)
	}
	return &sn
}
