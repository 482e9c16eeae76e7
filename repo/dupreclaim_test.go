package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestPruneReclaimsDuplicateCopies: a second copy of every blob of
// a file (as two concurrent backups, or a repack that was killed before it
// marked the old pack, leave) sits in a pack of its own. Prune counts each
// copy as used, so the duplicate bytes are never reported unused and never
// reclaimed.
func TestPruneReclaimsDuplicateCopies(t *testing.T) {
	ctx := context.Background()
	dir := newBackupRepo(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a"), randBytes(11, 600_000), 0o644); err != nil {
		t.Fatal(err)
	}
	r := openLocal(t, dir, repo.SharedLock)
	sn := backupWith(t, r, src)
	ids := fileBlobs(t, r, sn, "a")
	for _, id := range ids {
		d, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.CopyBlob(ctx, repo.DataBlob, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for i := range 3 {
		pr := runPrune(t, dir)
		t.Logf("prune %d: before %+v used %d unused %d marked unused %+v repacked %+v deleted %+v", i, pr.Before, pr.UsedBytes, pr.UnusedBytes, pr.MarkedUnused, pr.MarkedRepacked, pr.Deleted)
	}
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	n := 0
	for _, id := range ids {
		n += len(r.Index().Locations(repo.DataBlob, id))
	}
	if n != len(ids) {
		t.Errorf("after three prunes %d copies of the file's %d blobs remain: the duplicates are never reclaimed", n, len(ids))
	}
	if got := readFile(t, dir, sn, "a"); len(got) != 600_000 {
		t.Errorf("file a after the prunes: %d bytes", len(got))
	}
}
