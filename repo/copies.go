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
	// Each blob's copies, grouped by pack in the order of their first copy:
	// a round reads one group of every blob not verified yet.
	type pending struct {
		groups [][]copyToTry
		next   int
	}
	left := make(map[BlobHandle]*pending, len(blobs))
	for _, b := range blobs {
		p := &pending{}
		at := map[ID]int{}
		for _, c := range r.copiesToTry(b.Type, b.ID) {
			if use != nil && !use(c.loc) {
				continue
			}
			i, ok := at[c.loc.Pack]
			if !ok {
				i = len(p.groups)
				at[c.loc.Pack] = i
				p.groups = append(p.groups, nil)
			}
			p.groups[i] = append(p.groups[i], c)
		}
		if len(p.groups) > 0 {
			left[b] = p
		}
	}
	// The raw lengths of a place are those of one blob there: a crafted
	// entry for another blob at the same place has its own.
	type rawKey struct {
		locKey
		h BlobHandle
	}
	intact := make(map[BlobHandle]BlobLocation, len(left))
	var mu sync.Mutex
	// Nearly every blob settles in the first round; a pack is read once per
	// round however many copies of a blob it claims to hold.
	for len(left) > 0 {
		byPack := map[ID][]BlobLocation{}
		raws := map[rawKey][]int{}
		for h, p := range left {
			for _, c := range p.groups[p.next] {
				byPack[c.loc.Pack] = append(byPack[c.loc.Pack], c.loc)
				raws[rawKey{keyOf(c.loc), h}] = c.raws
			}
		}
		rawsOf := func(l BlobLocation) []int { return raws[rawKey{keyOf(l), BlobHandle{Type: l.Type, ID: l.ID}}] }
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
		for h, p := range left {
			if _, ok := intact[h]; ok {
				delete(left, h)
			} else if p.next++; p.next == len(p.groups) {
				delete(left, h)
			}
		}
	}
	return intact, nil
}
