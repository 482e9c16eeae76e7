package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lpse/cadang/repo/backend"
)

// RepairPacksOptions configure RepairPacks.
type RepairPacksOptions struct {
	// Keep receives the bytes of each pack, as stored, before the pack is
	// removed; an error stops the repair before that pack is touched. nil
	// keeps nothing.
	Keep func(pack ID, data []byte) error
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
}

// RepairPacksResult says what RepairPacks did.
type RepairPacksResult struct {
	// Removed are the packs taken out of the index and deleted.
	Removed []ID
	// Intact are the packs named that turned out whole (their bytes hash to
	// their name and every blob verifies): left alone.
	Intact []ID
	// Covered counts the blobs of the removed packs that have an intact
	// copy in another pack (read back to be sure); Salvaged those read
	// intact from the damaged pack itself and stored again.
	Covered, Salvaged int
	// Lost are the blobs that no copy gives: the snapshots that use them
	// are damaged until a backup stores the same content again.
	Lost []BlobHandle
}

// openAt opens the copy of a blob at loc from its pack's bytes, data.
func (r *Repository) openAt(data []byte, loc BlobLocation) ([]byte, error) {
	h := backend.Handle{Type: PackFile, Name: loc.Pack.String()}
	end := uint64(loc.Offset) + uint64(loc.Length)
	if end > uint64(len(data)) {
		return nil, damaged(h, &loc.ID, "blob ends at %d, beyond the pack's %d bytes", end, len(data))
	}
	return r.openBlob(h, loc.Type, loc.ID, r.rawLengths(loc, nil), data[loc.Offset:end], nil)
}

// RepairPacks takes damaged packs out of the repository without losing a
// blob that any copy still gives. For each blob of the packs (as the index
// and, where it can be read, the pack's header list them) it reads another
// copy back (VerifyCopies); a blob without one that opens intact from the
// damaged pack is stored again in a new pack. Once those are flushed and
// indexed, each pack's bytes go to o.Keep, the index files are rewritten
// without the packs, and the packs are deleted. A pack whose bytes hash to
// its name and whose every blob verifies is left alone (Intact).
//
// It is the remedy for what check --read-data reports as a damaged blob or
// pack: bit rot of a medium, or a pack uploaded with the password that
// names blobs with wrong bytes (doc/design.md §7, "Several copies of a
// blob"). Hold an exclusive lock through r: no backup may deduplicate
// against a blob of the packs meanwhile.
func (r *Repository) RepairPacks(ctx context.Context, packs []ID, o RepairPacksOptions) (*RepairPacksResult, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	res := &RepairPacksResult{}
	if !r.holdsExclusiveLock() {
		return res, errors.New("repair packs: the repository must be opened with an exclusive lock")
	}
	packs = slices.Clone(packs)
	slices.SortFunc(packs, func(a, b ID) int { return slices.Compare(a[:], b[:]) })
	packs = slices.Compact(packs)
	named := make(map[ID]bool, len(packs))
	for _, p := range packs {
		named[p] = true
	}
	byPack := r.idx.ByPack()

	type damagedPack struct {
		id     ID
		data   []byte // nil: the file is missing
		blobs  []BlobLocation
		intact bool
	}
	var work []*damagedPack
	for _, p := range packs {
		h := backend.Handle{Type: PackFile, Name: p.String()}
		dp := &damagedPack{id: p, blobs: slices.Clone(byPack[p])}
		data, err := r.be.Load(ctx, h, 0, 0)
		switch {
		case backend.IsNotExist(err):
			if len(dp.blobs) == 0 {
				return res, fmt.Errorf("repair packs: %s does not exist and the index does not name it", h)
			}
		case err != nil:
			return res, fmt.Errorf("repair packs: load %s: %w", h, err)
		default:
			dp.data = data
			// The header may list blobs the index does not (an unindexed
			// pack) or lists elsewhere.
			if len(data) >= 4 {
				if hdr, err := r.parsePackTail(h, int64(len(data)), data, func(off, n int64) ([]byte, error) {
					return data[off : off+n], nil
				}); err == nil {
					for _, b := range hdr {
						loc := BlobLocation{Type: b.Type, ID: b.ID, Pack: p, Offset: b.Offset, Length: b.Length}
						if !slices.ContainsFunc(dp.blobs, func(l BlobLocation) bool { return sameLocation(l, loc) && l.ID == loc.ID }) {
							dp.blobs = append(dp.blobs, loc)
						}
					}
				}
			}
		}
		work = append(work, dp)
	}

	// Whole packs are left alone: repair is for damage.
	for _, dp := range work {
		if dp.data == nil || storedName(dp.data) != dp.id || len(dp.blobs) == 0 {
			continue
		}
		dp.intact = true
		for _, b := range dp.blobs {
			if _, err := r.openAt(dp.data, b); err != nil {
				dp.intact = false
				break
			}
		}
	}

	var handles []BlobHandle
	seen := map[BlobHandle]bool{}
	for _, dp := range work {
		if dp.intact {
			res.Intact = append(res.Intact, dp.id)
			continue
		}
		for _, b := range dp.blobs {
			if h := (BlobHandle{Type: b.Type, ID: b.ID}); !seen[h] {
				seen[h] = true
				handles = append(handles, h)
			}
		}
	}
	if len(handles) > 0 {
		o.Logf("reading the other copies of the %d blob(s) of the damaged pack(s)", len(handles))
	}
	covered, err := r.VerifyCopies(ctx, handles, func(l BlobLocation) bool { return !named[l.Pack] })
	if err != nil {
		return res, fmt.Errorf("repair packs: read the other copies: %w", err)
	}
	res.Covered = len(covered)

	// Salvage what only the damaged packs hold, from their own bytes.
	saved := map[BlobHandle]bool{}
	for _, dp := range work {
		if dp.intact || dp.data == nil {
			continue
		}
		for _, b := range dp.blobs {
			h := BlobHandle{Type: b.Type, ID: b.ID}
			if _, ok := covered[h]; ok || saved[h] {
				continue
			}
			plain, err := r.openAt(dp.data, b)
			if err != nil {
				continue
			}
			if _, err := r.CopyBlob(ctx, b.Type, plain); err != nil {
				return res, fmt.Errorf("repair packs: store %s blob %s again: %w", b.Type, b.ID.Short(), err)
			}
			saved[h] = true
		}
	}
	if err := r.Flush(ctx); err != nil {
		return res, fmt.Errorf("repair packs: %w", err)
	}
	res.Salvaged = len(saved)
	for _, h := range handles {
		if _, ok := covered[h]; !ok && !saved[h] {
			res.Lost = append(res.Lost, h)
		}
	}

	// Kept, out of the index, then deleted: a crash in between leaves an
	// unindexed pack (which the next prune removes) or a pack still
	// indexed (which a repeated repair finds again).
	drop := map[ID]struct{}{}
	var gone []ID
	for _, dp := range work {
		if dp.intact {
			continue
		}
		if dp.data != nil && o.Keep != nil {
			if err := o.Keep(dp.id, dp.data); err != nil {
				return res, fmt.Errorf("repair packs: keep the bytes of %s (nothing was removed): %w", dp.id.Short(), err)
			}
		}
		drop[dp.id] = struct{}{}
		gone = append(gone, dp.id)
	}
	if _, err := r.DropPacks(ctx, drop); err != nil {
		return res, fmt.Errorf("repair packs: rewrite the index: %w", err)
	}
	if err := r.RemovePacks(ctx, gone); err != nil {
		return res, fmt.Errorf("repair packs: %w", err)
	}
	res.Removed = gone
	return res, nil
}
