package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lpse/cadang/repo/backend"
)

// Obsolete packs are prune's first phase (doc/design.md, "Prune beside
// backups"): packs no snapshot needs, still indexed and readable, which
// writers must not deduplicate against and a later prune deletes.

const (
	obsoleteMagic   = "CDOB"
	obsoleteVersion = 1
	obsoleteHdrLen  = len(obsoleteMagic) + 1 + 8
)

// ObsoleteSet is one obsolete file: the packs marked obsolete at Time,
// with their blobs as the index listed them.
type ObsoleteSet struct {
	ID    ID
	Time  time.Time
	Packs []IndexPack
}

func encodeObsolete(t time.Time, packs []IndexPack) []byte {
	b := make([]byte, obsoleteHdrLen, obsoleteHdrLen+len(packs)*64)
	copy(b, obsoleteMagic)
	b[len(obsoleteMagic)] = obsoleteVersion
	binary.LittleEndian.PutUint64(b[len(obsoleteMagic)+1:], uint64(t.UnixNano()))
	return append(b, encodeIndexFile(packs)...)
}

func decodeObsolete(b []byte) (time.Time, []IndexPack, error) {
	if len(b) < obsoleteHdrLen || string(b[:len(obsoleteMagic)]) != obsoleteMagic {
		return time.Time{}, nil, fmt.Errorf("obsolete: bad magic")
	}
	// A new obsolete version comes only with a new config version
	// (doc/design.md §13): in a repository this program opened, any
	// other version is damage, not a newer format.
	if v := b[len(obsoleteMagic)]; v != obsoleteVersion {
		return time.Time{}, nil, fmt.Errorf("obsolete: version %d, but this repository's format has only version %d", v, obsoleteVersion)
	}
	t := time.Unix(0, int64(binary.LittleEndian.Uint64(b[len(obsoleteMagic)+1:]))).UTC()
	packs, err := decodeIndexFile(b[obsoleteHdrLen:])
	if err != nil {
		// %v, not %w: a set's records are part of its layout, so an index
		// version other than 1 in them is damage too, not a newer format
		// (doc/design.md §13).
		return time.Time{}, nil, fmt.Errorf("obsolete: %v", err)
	}
	return t, packs, nil
}

// MarkObsolete writes an obsolete file for packs, dated now, and marks
// them obsolete in the in-memory index. From then on no writer that loads
// the index deduplicates against blobs found only in them.
func (r *Repository) MarkObsolete(ctx context.Context, packs []IndexPack) (ObsoleteSet, error) {
	now := r.opts.Now()
	id, err := r.SaveFile(ctx, ObsoleteFile, encodeObsolete(now, packs))
	if err != nil {
		return ObsoleteSet{}, err
	}
	set := ObsoleteSet{ID: id, Time: now.UTC(), Packs: packs}
	sets, err := r.ObsoleteSets(ctx)
	if err != nil {
		return set, err
	}
	r.idx.SetObsolete(obsoletePackIDs(sets))
	return set, nil
}

// ObsoleteSets reads every obsolete file, oldest first. A foreign file
// (ErrForeignFile) is passed over; any other that cannot be read is an
// error.
func (r *Repository) ObsoleteSets(ctx context.Context) ([]ObsoleteSet, error) {
	sets, _, err := r.obsoleteSets(ctx, false)
	return sets, err
}

// obsoleteSets is ObsoleteSets that, with pass, passes over the files that
// are damaged or of a newer format (skippableIndexError), returning their
// errors: loading the index does, since without a set its packs are
// merely not marked (indexskip.go).
func (r *Repository) obsoleteSets(ctx context.Context, pass bool) ([]ObsoleteSet, map[ID]error, error) {
	var sets []ObsoleteSet
	skipped := map[ID]error{}
	err := r.ListFiles(ctx, ObsoleteFile, func(id ID) error {
		plain, err := r.LoadFile(ctx, ObsoleteFile, id)
		if backend.IsNotExist(err) {
			return nil // removed by a prune meanwhile
		}
		if err == nil {
			var t time.Time
			var packs []IndexPack
			if t, packs, err = decodeObsolete(plain); err == nil {
				sets = append(sets, ObsoleteSet{ID: id, Time: t, Packs: packs})
				return nil
			}
			err = unreadable(backend.Handle{Type: ObsoleteFile, Name: id.String()}, nil, err)
		}
		// A foreign file (ErrForeignFile) is passed over even by prune:
		// no holder of the key wrote it, so it marks nothing obsolete.
		if pass && skippableIndexError(err) || errors.Is(err, ErrForeignFile) {
			skipped[id] = err
			return nil
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("obsolete packs: %w", err)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].Time.Before(sets[j].Time) })
	return sets, skipped, nil
}

// RemoveObsolete removes one obsolete file: its packs that still exist
// become ordinary packs again.
func (r *Repository) RemoveObsolete(ctx context.Context, id ID) error {
	if err := r.RemoveFile(ctx, ObsoleteFile, id); err != nil && !backend.IsNotExist(err) {
		return err
	}
	sets, err := r.ObsoleteSets(ctx)
	if err != nil {
		return err
	}
	r.idx.SetObsolete(obsoletePackIDs(sets))
	return nil
}

func obsoletePackIDs(sets []ObsoleteSet) []ID {
	var ids []ID
	for _, s := range sets {
		for _, p := range s.Packs {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// DropPacks takes packs out of the index: every index file that names one
// of them is replaced by one without them (the new file is written before
// the old one is removed, so a crash leaves duplicates, never a gap), and
// the in-memory index is reloaded. The pack files are not touched; prune
// removes them afterwards with RemovePack. It returns how many index files
// were rewritten.
func (r *Repository) DropPacks(ctx context.Context, packs map[ID]struct{}) (int, error) {
	if len(packs) == 0 {
		return 0, nil
	}
	var names []ID
	if err := r.ListFiles(ctx, IndexFile, func(id ID) error { names = append(names, id); return nil }); err != nil {
		return 0, fmt.Errorf("list index: %w", err)
	}
	rewritten := 0
	for _, name := range names {
		content, err := r.loadIndexFile(ctx, name)
		if backend.IsNotExist(err) {
			continue // replaced by a concurrent repair
		}
		if err != nil {
			return rewritten, err
		}
		keep := content[:0:0]
		for _, p := range content {
			if _, drop := packs[p.ID]; !drop {
				keep = append(keep, p)
			}
		}
		if len(keep) == len(content) {
			continue
		}
		if len(keep) > 0 {
			if _, err := r.WriteIndex(ctx, keep); err != nil {
				return rewritten, err
			}
		}
		if err := r.RemoveFile(ctx, IndexFile, name); err != nil && !backend.IsNotExist(err) {
			return rewritten, fmt.Errorf("remove index %s: %w", name.Short(), err)
		}
		rewritten++
	}
	return rewritten, r.reloadIndex(ctx)
}

// reloadIndex reads the index afresh and swaps it in, keeping the packs
// this session stored whose index file is not written yet (a pack whose
// index file is being written at this moment may be missing from memory
// until the next open: its blobs are then stored again, never lost).
func (r *Repository) reloadIndex(ctx context.Context) error {
	fresh := NewIndex()
	if err := r.loadIndexInto(ctx, fresh); err != nil {
		return err
	}
	r.mu.Lock()
	own := slices.Clone(r.unsaved)
	r.mu.Unlock()
	for _, p := range own {
		if err := fresh.AddPack(p.ID, p.Blobs); err != nil {
			return err
		}
	}
	r.idx.replace(fresh)
	return nil
}

// RemovePacks deletes the pack files of ids that the index does not name
// (see RemovePack), checking the index once for all of them.
func (r *Repository) RemovePacks(ctx context.Context, ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	if err := r.RequireWholeIndex("removing packs"); err != nil {
		return err
	}
	named := make(map[ID]struct{})
	for _, id := range r.idx.PackIDs() {
		named[id] = struct{}{}
	}
	for _, id := range ids {
		if _, ok := named[id]; ok {
			continue
		}
		if err := r.RemoveFile(ctx, PackFile, id); err != nil && !backend.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// RemovePack deletes a pack file. It refuses a pack the index names: the
// index must stop naming a pack before the pack goes (DropPacks), so that
// no reader is sent to a missing file.
func (r *Repository) RemovePack(ctx context.Context, id ID) error {
	if err := r.RequireWholeIndex("removing a pack"); err != nil {
		return err
	}
	if r.idx.HasPack(id) {
		return fmt.Errorf("remove pack %s: the index still names it", id.Short())
	}
	err := r.RemoveFile(ctx, PackFile, id)
	if backend.IsNotExist(err) {
		return nil
	}
	return err
}
