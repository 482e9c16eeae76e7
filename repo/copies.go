package repo

import (
	"context"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
)

// InLivePack accepts the locations in packs that are not obsolete, for
// VerifyCopies.
func (r *Repository) InLivePack(l BlobLocation) bool { return !r.idx.IsObsolete(l.Pack) }

// VerifyCopies reads, for each of the blobs, its copies at the locations
// use accepts (nil: every one), in the order of Index.Locations, until one
// verifies, and returns the blobs of which one did. Blobs without such a
// copy are left out. Damage and missing packs pass to the next copy; any
// other error stops it.
//
// The index naming a copy is not enough to rely on it: a client holding
// the password can upload, even through an append-only server, an index
// file or a pack that names a blob with wrong bytes. Prune reads a blob's
// copies in live packs back before it deletes an obsolete pack that holds
// the blob (doc/design.md §18), and RepairPacks reads a blob's other
// copies before it removes a damaged pack.
func (r *Repository) VerifyCopies(ctx context.Context, blobs []BlobHandle, use func(BlobLocation) bool) (map[BlobHandle]struct{}, error) {
	left := make(map[BlobHandle][]BlobLocation, len(blobs))
	for _, b := range blobs {
		var locs []BlobLocation
		for _, l := range r.idx.Locations(b.Type, b.ID) {
			if use == nil || use(l) {
				locs = append(locs, l)
			}
		}
		if len(locs) > 0 {
			left[b] = locs
		}
	}
	intact := make(map[BlobHandle]struct{}, len(left))
	var mu sync.Mutex
	// In rounds: each round reads the next untried copy of every blob not
	// verified yet, grouped by pack. Nearly every blob settles in the first.
	for len(left) > 0 {
		byPack := map[ID][]BlobLocation{}
		for _, locs := range left {
			byPack[locs[0].Pack] = append(byPack[locs[0].Pack], locs[0])
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0) + 2)
		for pack, locs := range byPack {
			g.Go(func() error {
				return r.loadBlobsFromPack(gctx, pack, locs, false, func(loc BlobLocation, _ []byte, err error) error {
					if err != nil && !IsDamaged(err) && !backend.IsNotExist(err) {
						return err
					}
					h := BlobHandle{Type: loc.Type, ID: loc.ID}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						intact[h] = struct{}{}
						delete(left, h)
					case len(left[h]) > 0: // this round's copy, left[h][0], failed
						if left[h] = left[h][1:]; len(left[h]) == 0 {
							delete(left, h)
						}
					}
					return nil
				})
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return intact, nil
}
