package repo_test

import (
	"context"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestForgedIndexDoesNotSurviveRepairIndex: a client holding the password
// uploads (append-only) a junk "pack" named by its SHA-256 and an index file
// that says the junk pack holds content it predicts will be backed up.
// repair index keeps the old entries of a pack whose header cannot be read
// (f3ebf0f), but only those that open from the pack's bytes: a review
// showed the forged ones surviving it, and a later backup deduplicating
// against them.
func TestForgedIndexDoesNotSurviveRepairIndex(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	savedBlobs(t, r, 3)
	future := randBytes(4242, 20_000) // content the attacker predicts
	fid := r.BlobID(future)

	jid := writeJunkPack(t, dir, randBytes(99, 4000))
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: jid, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: fid, Offset: 100, Length: 20_000 + 29, RawLength: 20_000}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()

	rebuildIndex(t, dir) // the administrator's remedy for a suspicious index
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	if _, ok := r.LookupBlob(repo.DataBlob, fid); ok {
		t.Errorf("the forged index entry (blob %s in junk pack %s) survived repair index", fid.Short(), jid.Short())
	}
	_, stored, err := r.SaveBlob(ctx, repo.DataBlob, future)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !stored {
		t.Errorf("a backup of the predicted content after repair index deduplicated against the forged entry")
	}
	if _, err := r.LoadBlob(ctx, repo.DataBlob, fid, nil); err != nil {
		t.Errorf("restore of the content backed up after repair index: %v", err)
	}
}
