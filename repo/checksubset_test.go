package repo_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
)

// check --read-data-subset N% reads that part of the packs, rounded up:
// drawn pack by pack, 5% of ten packs read none in most checks, which
// then reported no errors having read nothing.
func TestCheckSubsetFractionReadsAtLeastOnePack(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{PackSize: repo.MinPackSize})
	rng := rand.NewChaCha8([32]byte{7})
	for range 10 {
		b := make([]byte, repo.MinPackSize+1)
		rng.Read(b)
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    float64
		want int
	}{{0.05, 1}, {0.01, 1}, {0.25, 3}, {0.5, 5}} {
		for range 5 {
			res, err := r.Check(ctx, repo.CheckOptions{ReadData: true, SubsetFraction: c.f})
			if err != nil {
				t.Fatal(err)
			}
			if res.Packs != 10 || res.PacksRead != c.want {
				t.Fatalf("subset %.0f%%: %d of %d packs read, want %d", c.f*100, res.PacksRead, res.Packs, c.want)
			}
		}
	}
}
