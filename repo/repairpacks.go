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
	// removed; an error stops the repair before the index changes. nil
	// keeps nothing.
	Keep func(pack ID, data []byte) error
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
}

// RepairPacksResult says what RepairPacks did.
type RepairPacksResult struct {
	// Removed are the packs taken out of the index and deleted (their
	// bytes went to Keep); Missing those the index named but that did not
	// exist, now taken out of the index.
	Removed, Missing []ID
	// Intact are the packs named that turned out whole (their bytes hash to
	// their name and every blob their header lists verifies): left alone.
	Intact []ID
	// Unknown are the packs whose header cannot be read and that no index
	// entry names: which blobs they hold is not known, so nothing could be
	// salvaged or counted lost. Their bytes are kept and they are removed
	// like the others (also in Removed): left, they would fail every check,
	// and any snapshot that needs their blobs already names blobs the index
	// does not hold, which check reports.
	Unknown []ID
	// Covered counts the blobs of the removed packs that have an intact
	// copy in another pack (read back to be sure); Salvaged those read
	// intact from the damaged pack itself and stored again.
	Covered, Salvaged int
	// Lost are the blobs that no copy gives: the snapshots that use them
	// are damaged. A lost data blob comes back with the next backup of the
	// same content; a lost tree blob does not (snapshot trees are named by
	// their directories' metadata too).
	Lost []BlobHandle
}

// packBlob is a blob of a pack being repaired, at one place, with the raw
// lengths recorded for it there (the index's and the header's).
type packBlob struct {
	loc  BlobLocation
	raws []int
}

// packBlobKey identifies a blob at a place.
type packBlobKey struct {
	locKey
	h BlobHandle
}

// openAt opens the blob at b.loc from its pack's bytes, data.
func (r *Repository) openAt(data []byte, b packBlob) ([]byte, error) {
	loc := b.loc
	h := backend.Handle{Type: PackFile, Name: loc.Pack.String()}
	end := uint64(loc.Offset) + uint64(loc.Length)
	if end > uint64(len(data)) {
		return nil, damaged(h, &loc.ID, "blob ends at %d, beyond the pack's %d bytes", end, len(data))
	}
	return r.openBlob(h, loc.Type, loc.ID, b.raws, data[loc.Offset:end], nil)
}

// RepairPacks takes damaged packs out of the repository without losing a
// blob that any copy still gives. A pack whose bytes hash to its name and
// whose header's every blob verifies is left alone (Intact): an index
// entry naming it wrongly is an index problem, for repair index. For each
// blob of the other packs (as the index and, where it decrypts, the pack's
// header list them) it reads a copy in a pack not being removed back
// (VerifyCopies); a blob without one that opens intact from the damaged
// pack's own bytes is stored again in a new pack. Each pack's bytes go to
// o.Keep as it is salvaged; once the new packs are flushed and indexed,
// the index files are rewritten without the packs and the packs deleted.
// Packs are read one at a time (twice: to judge, then to salvage and
// keep), so memory does not grow with their number.
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
	if err := r.RefuseAppendOnly("repair packs"); err != nil {
		return res, err
	}
	// A skipped index file may name the very copies that would make a
	// pack safe to remove.
	if err := r.RequireWholeIndex("repair packs"); err != nil {
		return res, err
	}
	packs = slices.Clone(packs)
	slices.SortFunc(packs, func(a, b ID) int { return slices.Compare(a[:], b[:]) })
	packs = slices.Compact(packs)
	byPack := r.idx.byPackCopies()

	// 1. Which blobs each pack holds, and whether it is whole.
	type packToRepair struct {
		id      ID
		blobs   []packBlob
		missing bool
	}
	var work []*packToRepair
	removing := map[ID]bool{}
	for _, p := range packs {
		h := backend.Handle{Type: PackFile, Name: p.String()}
		pr := &packToRepair{id: p}
		at := map[packBlobKey]int{}
		type rawAt struct {
			packBlobKey
			raw int
		}
		haveRaw := map[rawAt]bool{}
		add := func(loc BlobLocation, raw int) {
			k := packBlobKey{keyOf(loc), BlobHandle{Type: loc.Type, ID: loc.ID}}
			i, ok := at[k]
			if !ok {
				i = len(pr.blobs)
				at[k] = i
				pr.blobs = append(pr.blobs, packBlob{loc: loc})
			}
			if !haveRaw[rawAt{k, raw}] {
				haveRaw[rawAt{k, raw}] = true
				pr.blobs[i].raws = append(pr.blobs[i].raws, raw)
			}
		}
		for _, c := range byPack[p] {
			add(c.loc, int(c.raw))
		}
		data, err := r.loadPack(ctx, h)
		switch {
		case backend.IsNotExist(err):
			if len(pr.blobs) == 0 {
				return res, fmt.Errorf("repair packs: %s does not exist and the index does not name it", h)
			}
			pr.missing = true
		case err != nil:
			return res, fmt.Errorf("repair packs: load %s: %w", h, err)
		default:
			hdr, herr := r.parseWholePack(h, data)
			if errors.Is(herr, ErrUnsupportedVersion) {
				// Written by a newer cadang: not damage (doc/design.md
				// §13), and a program that removes data must stop at it.
				return res, fmt.Errorf("repair packs: nothing was changed: pack %s is in a newer format, not damaged; leave it out of the command (%w)", p.Short(), herr)
			}
			whole := herr == nil && storedName(data) == p
			for _, b := range hdr {
				loc := BlobLocation{Type: b.Type, ID: b.ID, Pack: p, Offset: b.Offset, Length: b.Length}
				add(loc, int(b.RawLength))
				if whole {
					if _, err := r.openAt(data, packBlob{loc: loc, raws: []int{int(b.RawLength)}}); err != nil {
						whole = false
					}
				}
			}
			if whole {
				res.Intact = append(res.Intact, p)
				continue
			}
			if len(pr.blobs) == 0 {
				res.Unknown = append(res.Unknown, p)
			}
		}
		removing[p] = true
		work = append(work, pr)
	}

	// 2. The other copies, outside the packs being removed.
	var handles []BlobHandle
	seen := map[BlobHandle]bool{}
	for _, pr := range work {
		for _, b := range pr.blobs {
			if h := (BlobHandle{Type: b.loc.Type, ID: b.loc.ID}); !seen[h] {
				seen[h] = true
				handles = append(handles, h)
			}
		}
	}
	if len(handles) > 0 {
		o.Logf("reading the other copies of the %d blob(s) of the damaged pack(s)", len(handles))
	}
	covered, err := r.VerifyCopies(ctx, handles, func(l BlobLocation) bool { return !removing[l.Pack] })
	if err != nil {
		return res, fmt.Errorf("repair packs: read the other copies: %w", err)
	}
	res.Covered = len(covered)

	// 3. What only the damaged packs hold, stored again from their own
	// bytes; then their bytes kept.
	saved := map[BlobHandle]bool{}
	for _, pr := range work {
		if pr.missing {
			continue
		}
		h := backend.Handle{Type: PackFile, Name: pr.id.String()}
		data, err := r.loadPack(ctx, h)
		if err != nil {
			return res, fmt.Errorf("repair packs: load %s again: %w", h, err)
		}
		for _, b := range pr.blobs {
			bh := BlobHandle{Type: b.loc.Type, ID: b.loc.ID}
			if _, ok := covered[bh]; ok || saved[bh] {
				continue
			}
			plain, err := r.openAt(data, b)
			if err != nil {
				continue
			}
			if _, err := r.CopyBlob(ctx, bh.Type, plain); err != nil {
				return res, fmt.Errorf("repair packs: store %s blob %s again: %w", bh.Type, bh.ID.Short(), err)
			}
			saved[bh] = true
		}
		if o.Keep != nil {
			if err := o.Keep(pr.id, data); err != nil {
				return res, fmt.Errorf("repair packs: keep the bytes of %s (nothing was removed): %w", pr.id.Short(), err)
			}
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

	// 4. Out of the index, then deleted: a crash in between leaves an
	// unindexed pack, which a repair run again (or prune) removes.
	drop := map[ID]struct{}{}
	var gone []ID
	for _, pr := range work {
		drop[pr.id] = struct{}{}
		gone = append(gone, pr.id)
	}
	if _, err := r.DropPacks(ctx, drop); err != nil {
		return res, fmt.Errorf("repair packs: rewrite the index: %w", err)
	}
	if err := r.RemovePacks(ctx, gone); err != nil {
		return res, fmt.Errorf("repair packs: %w", err)
	}
	for _, pr := range work {
		if pr.missing {
			res.Missing = append(res.Missing, pr.id)
		} else {
			res.Removed = append(res.Removed, pr.id)
		}
	}
	return res, nil
}

// parseWholePack returns the header of a pack read whole.
func (r *Repository) parseWholePack(h backend.Handle, data []byte) ([]PackBlob, error) {
	if len(data) < 4 {
		return nil, damaged(h, nil, "pack of %d bytes is too short", len(data))
	}
	return r.parsePackTail(h, int64(len(data)), data, func(off, n int64) ([]byte, error) { return data[off : off+n], nil })
}
