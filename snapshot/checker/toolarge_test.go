package checker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
)

// check reads whole what a listing does not (a snapshot file too large to
// be one) and reports, not stops at, a sealed file that holds no snapshot.
func TestCheckSnapshotFilesListingsPassOver(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	newer, _, err := r.SaveBlob(ctx, repo.TreeBlob, []byte{'C', 'D', 'T', 7, 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A snapshot as large as a cadang before the limit could write: check
	// walks it (its tree, of a newer format, is listed as unsupported).
	big := &snapshot.Snapshot{Time: time.Unix(1700000000, 0), Tree: newer, Paths: []string{"/"}, Reason: strings.Repeat("r", snapshot.MaxFileSize)}
	b, err := json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	bigID, err := r.SaveFile(ctx, repo.SnapshotFile, b)
	if err != nil {
		t.Fatal(err)
	}
	// Sealed with the key, but no snapshot.
	invalid, err := r.SaveFile(ctx, repo.SnapshotFile, []byte("{"))
	if err != nil {
		t.Fatal(err)
	}
	// Junk too large for a listing.
	junk := make([]byte, snapshot.MaxStoredSize+1)
	junk[0] = 1
	sum := sha256.Sum256(junk)
	if err := be.Save(ctx, backend.Handle{Type: repo.SnapshotFile, Name: hex.EncodeToString(sum[:])}, junk); err != nil {
		t.Fatal(err)
	}

	rep, err := Check(ctx, r, repo.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unsupported) != 1 || *rep.Unsupported[0].Snapshot != bigID {
		t.Errorf("unsupported: %v (the large snapshot was not walked)", rep.Unsupported)
	}
	found := map[string]bool{}
	for _, p := range rep.Problems {
		if p.Kind == repo.ProblemSnapshotDamaged {
			found[p.File.Name] = true
		}
	}
	if len(found) != 2 || !found[invalid.String()] || !found[hex.EncodeToString(sum[:])] {
		t.Errorf("problems: %v", rep.Problems)
	}
}
