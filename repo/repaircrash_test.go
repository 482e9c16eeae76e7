package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot/prune"
)

// crashBE fails (as a crash would stop) the first Remove that match accepts.
type crashBE struct {
	backend.Backend
	match func(backend.Handle) bool
	fired bool
}

var errCrash = errors.New("injected crash")

func (b *crashBE) Remove(ctx context.Context, h backend.Handle) error {
	if !b.fired && b.match(h) {
		b.fired = true
		return errCrash
	}
	return b.Backend.Remove(ctx, h)
}

// TestRepairPacksCrashPoints stops RepairPacks at each step and runs
// check, prune (three times), a repeat of the repair, and reads every blob.
func TestRepairPacksCrashPoints(t *testing.T) {
	for _, point := range []string{"keep", "index-remove", "pack-remove"} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			dir := newBackupRepo(t)
			src := t.TempDir()
			// Large enough to be several chunks whatever the repository's
			// random chunker polynomial (900 KB was one chunk in a CI run).
			if err := os.WriteFile(filepath.Join(src, "a"), randBytes(21, 3_000_000), 0o644); err != nil {
				t.Fatal(err)
			}
			r := openLocal(t, dir, repo.SharedLock)
			sn := backupWith(t, r, src)
			ids := fileBlobs(t, r, sn, "a")
			victim := len(ids) / 2
			_, l := packOf(t, r, ids[victim])
			r.Close()
			flip(t, pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: l.Pack.String()}), int64(l.Offset)+int64(l.Length)/2)

			// The crashing repair.
			lbe, _ := local.Open(ctx, dir)
			cb := &crashBE{Backend: lbe}
			o := repo.RepairPacksOptions{Keep: func(repo.ID, []byte) error { return nil }}
			switch point {
			case "keep":
				o.Keep = func(repo.ID, []byte) error { return errCrash }
				cb.match = func(backend.Handle) bool { return false }
			case "index-remove":
				cb.match = func(h backend.Handle) bool { return h.Type == repo.IndexFile }
			case "pack-remove":
				cb.match = func(h backend.Handle) bool { return h.Type == repo.PackFile }
			}
			rr, err := repo.Open(ctx, cb, []byte(pw), repo.Options{Lock: repo.ExclusiveLock})
			if err != nil {
				t.Fatal(err)
			}
			res, err := rr.RepairPacks(ctx, []repo.ID{l.Pack}, o)
			t.Logf("crashing repair: %v; %+v", err, res)
			rr.Close()

			r = openLocal(t, dir, repo.SharedLock)
			cres, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range cres.Problems {
				t.Logf("check after the crash: %v", p.Err)
			}
			t.Logf("check after the crash: unindexed %v", cres.UnindexedPacks)
			for i := range 3 {
				pr, err := tryPrune(t, dir)
				t.Logf("prune %d: err %v; deleted %+v resurrected %d needed-unindexed %d orphans %+v repack skipped %d", i, err, pr.Deleted, pr.Resurrected, pr.NeededUnindexed, pr.Orphans, pr.RepackSkipped)
				if err != nil {
					t.Errorf("prune %d after the interrupted repair: %v", i, err)
				}
			}
			res2, _ := repairPacks(t, dir, l.Pack)
			t.Logf("repeated repair: %+v", res2)
			r = openLocal(t, dir, repo.SharedLock)
			defer r.Close()
			for i, id := range ids {
				_, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
				if (err != nil) != (i == victim) {
					t.Errorf("blob %d (%s): %v", i, id.Short(), err)
				}
			}
			cres, err = r.Check(ctx, repo.CheckOptions{ReadData: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range cres.Problems {
				t.Errorf("final check: %v", p.Err)
			}
			if len(cres.UnindexedPacks) > 0 {
				t.Errorf("final check: unindexed %v", cres.UnindexedPacks)
			}
		})
	}
}

func tryPrune(t *testing.T, dir string) (*prune.Result, error) {
	t.Helper()
	r := openLocal(t, dir, repo.PruneLock)
	defer r.Close()
	return prune.Run(context.Background(), r, prune.Options{MaxUnusedBytes: 1})
}
