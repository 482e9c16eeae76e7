package repo_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// TestRepairPacksStopsAtNewerPack: a pack whose header is in a newer
// format (written by a newer cadang) is not damage (doc/design.md §13),
// and a program that removes data must stop at it. A review saw repair
// packs remove it, indexed or not. A newer *seal* version in a pack header
// is damage by the same section (it would come with a newer config), so
// only the header's own version is tested here.
func TestRepairPacksStopsAtNewerPack(t *testing.T) {
	for _, index := range []bool{false, true} {
		ctx := context.Background()
		dir, r := newLocal(t)
		savedBlobs(t, r, 2)
		pid, _ := repo.NewerFormatPack(t, r, randBytes(77, 5000), "headerV2", index)
		r.Close()
		r = openLocal(t, dir, repo.ExclusiveLock)
		_, err := r.RepairPacks(ctx, []repo.ID{pid}, repo.RepairPacksOptions{Keep: func(repo.ID, []byte) error { return nil }})
		r.Close()
		if !errors.Is(err, repo.ErrUnsupportedVersion) {
			t.Errorf("index %v: repair packs of a newer pack: %v, want an error naming the newer format", index, err)
		}
		if _, err := os.Stat(pathOf(t, dir, backend.Handle{Type: repo.PackFile, Name: pid.String()})); err != nil {
			t.Errorf("index %v: the newer pack was removed: %v", index, err)
		}
	}
}

// TestCheckGoesOnPastNewerPack: a check without --read-data stopped at the
// first pack in a newer format (a review); it lists it as unsupported and
// goes on, with or without reading the data.
func TestCheckGoesOnPastNewerPack(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	savedBlobs(t, r, 2)
	repo.NewerFormatPack(t, r, randBytes(78, 5000), "headerV2", true)
	r.Close()
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	for _, read := range []bool{false, true} {
		res, err := r.Check(ctx, repo.CheckOptions{ReadData: read})
		if err != nil {
			t.Fatalf("read-data %v: check stopped: %v", read, err)
		}
		if len(res.Problems) != 1 || res.Problems[0].Kind != repo.ProblemUnsupported {
			t.Fatalf("read-data %v: problems %v, want one unsupported", read, res.Problems)
		}
	}
}

// TestCheckNewerPackWithChangedBytes: a pack of a newer format whose bytes
// were changed afterwards. Its name no longer matches its SHA-256 (naming
// is governed by the config version, which this reader knows), so check
// --read-data must report damage beside "unsupported" (a review saw only
// "unsupported", and the command said "no damage"). Its problems name the
// pack.
func TestCheckNewerPackWithChangedBytes(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	savedBlobs(t, r, 2)
	pid, _ := repo.NewerFormatPack(t, r, randBytes(78, 5000), "headerV2", true)
	r.Close()
	h := backend.Handle{Type: repo.PackFile, Name: pid.String()}
	flip(t, pathOf(t, dir, h), 100)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []repo.ProblemKind
	for _, p := range res.Problems {
		kinds = append(kinds, p.Kind)
		if p.File != h {
			t.Errorf("problem names %q, not the pack: %v", p.File, p)
		}
	}
	if len(kinds) != 2 || kinds[0] != repo.ProblemFileDamaged || kinds[1] != repo.ProblemUnsupported {
		t.Fatalf("problems %v, want file-damaged then unsupported", res.Problems)
	}
}
