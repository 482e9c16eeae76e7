package repo

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
)

// InLivePack accepts the locations in packs that are not obsolete, for
// VerifyCopies.
func (r *Repository) InLivePack(l BlobLocation) bool { return !r.idx.IsObsolete(l.Pack) }

// VerifyCopies reads, for each of the blobs, its copies at the locations
// use accepts (nil: every one), in the order of Index.Locations, until one
// verifies, and returns the blobs of which one did, each with the copy
// that verified. Blobs without such a copy are left out. Damage and missing packs pass to the next copy; any
// other error stops it.
//
// The index naming a copy is not enough to rely on it: a client holding
// the password can upload, even through an append-only server, an index
// file or a pack that names a blob with wrong bytes. Prune reads a blob's
// copies in live packs back before it deletes an obsolete pack that holds
// the blob (doc/design.md §18), and RepairPacks reads a blob's other
// copies before it removes a damaged pack.
func (r *Repository) VerifyCopies(ctx context.Context, blobs []BlobHandle, use func(BlobLocation) bool) (map[BlobHandle]BlobLocation, error) {
	left := make(map[BlobHandle][]copyToTry, len(blobs))
	for _, b := range blobs {
		cs := r.copiesToTry(b.Type, b.ID)
		if use != nil {
			cs = slices.DeleteFunc(cs, func(c copyToTry) bool { return !use(c.loc) })
		}
		if len(cs) > 0 {
			left[b] = cs
		}
	}
	intact := make(map[BlobHandle]BlobLocation, len(left))
	var mu sync.Mutex
	// In rounds: each round reads, for every blob not verified yet, all
	// its untried copies in the pack of its next one, grouped by pack, so
	// that a pack is read once per round however many copies of a blob it
	// claims to hold. Nearly every blob settles in the first round.
	for len(left) > 0 {
		byPack := map[ID][]BlobLocation{}
		raws := map[locKey][]int{}
		for _, cs := range left {
			pack := cs[0].loc.Pack
			for _, c := range cs {
				if c.loc.Pack == pack {
					byPack[pack] = append(byPack[pack], c.loc)
					raws[keyOf(c.loc)] = c.raws
				}
			}
		}
		rawsOf := func(l BlobLocation) []int { return raws[keyOf(l)] }
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0) + 2)
		for pack, locs := range byPack {
			g.Go(func() error {
				return r.loadBlobsFromPack(gctx, pack, locs, rawsOf, false, func(loc BlobLocation, _ []byte, err error) error {
					if err != nil && !IsDamaged(err) && !backend.IsNotExist(err) {
						return err
					}
					if err == nil {
						h := BlobHandle{Type: loc.Type, ID: loc.ID}
						mu.Lock()
						if _, ok := intact[h]; !ok {
							intact[h] = loc
						}
						mu.Unlock()
					}
					return nil
				})
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		// This round's pack of each blob is done: verified, or every copy
		// there failed.
		for h, cs := range left {
			if _, ok := intact[h]; ok {
				delete(left, h)
				continue
			}
			pack := cs[0].loc.Pack
			if cs = slices.DeleteFunc(cs, func(c copyToTry) bool { return c.loc.Pack == pack }); len(cs) == 0 {
				delete(left, h)
			} else {
				left[h] = cs
			}
		}
	}
	return intact, nil
}
