package repo

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
)

// LoadIndex reads every index file into memory, replacing nothing: packs
// already known are skipped.
func (r *Repository) LoadIndex(ctx context.Context) error {
	return r.loadIndexInto(ctx, r.idx)
}

func (r *Repository) loadIndexInto(ctx context.Context, idx *Index) error {
	// A prune replaces index files (the new one written, then the old one
	// removed) while others open the repository: a file listed can be gone
	// when it is read. Its replacement was written first, so listing again
	// finds it; a few tries outlast any one prune's rewriting.
	const tries = 5
	var err error
	for range tries {
		var ok bool
		ok, err = r.loadIntoEmpty(ctx, idx)
		if backend.IsNotExist(err) {
			continue
		}
		if err != nil || ok {
			return err
		}
		var all []IndexPack
		var obsolete, names []ID
		var skipped map[ID]error
		all, obsolete, names, skipped, err = r.readIndexFiles(ctx, nil)
		if backend.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		// Obsolete packs first, so that of a blob stored in an obsolete
		// and in a live pack the index keeps the live one for writers.
		idx.SetObsolete(obsolete)
		if err := idx.bulkAdd(all); err != nil {
			return err
		}
		r.noteIndexRead(names, skipped, true)
		return nil
	}
	return fmt.Errorf("load index: index files kept vanishing while read (%d tries): %w", tries, err)
}

// readIndexFiles reads the obsolete sets and every index file that skip
// does not name, and returns the names of the index files it read and the
// errors of the index and obsolete files it passed over
// (skippableIndexError).
func (r *Repository) readIndexFiles(ctx context.Context, skip map[ID]struct{}) ([]IndexPack, []ID, []ID, map[ID]error, error) {
	sets, skipped, err := r.obsoleteSets(ctx, true)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var names []ID
	var sizes []int64
	err = r.be.List(ctx, IndexFile, func(fi backend.FileInfo) error {
		id, err := ParseID(fi.Name)
		if err != nil {
			return nil // not a file of the repository's
		}
		if _, ok := skip[id]; !ok {
			names = append(names, id)
			sizes = append(sizes, fi.Size)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("list index: %w", err)
	}
	results := make([][]IndexPack, len(names))
	errs := make([]error, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for i, id := range names {
		g.Go(func() error {
			// See indexReadBudget; the decoded packs are kept, but a
			// file's bytes go once it is decoded.
			w, err := r.indexReads.acquire(gctx, sizes[i])
			if err != nil {
				return err
			}
			defer r.indexReads.release(w)
			packs, err := r.loadIndexFile(gctx, id)
			if err != nil && skippableIndexError(err) {
				errs[i] = err
				return nil
			}
			results[i] = packs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, nil, nil, err
	}
	var all []IndexPack
	var read []ID
	for i, p := range results {
		if errs[i] != nil {
			skipped[names[i]] = errs[i]
			continue
		}
		all = append(all, p...)
		read = append(read, names[i])
	}
	return all, obsoletePackIDs(sets), read, skipped, nil
}

// loadIndexFile reads and decodes one index file.
func (r *Repository) loadIndexFile(ctx context.Context, id ID) ([]IndexPack, error) {
	plain, err := r.LoadFile(ctx, IndexFile, id)
	if err != nil {
		return nil, err
	}
	packs, err := decodeIndexFile(plain)
	if err != nil {
		return nil, unreadable(backend.Handle{Type: IndexFile, Name: id.String()}, nil, err) // AEAD verified it
	}
	return packs, nil
}

// ReadIndexFile returns the decoded contents of one index file.
func (r *Repository) ReadIndexFile(ctx context.Context, id ID) ([]IndexPack, error) {
	return r.loadIndexFile(ctx, id)
}

// indexFileBlobs bounds the blobs a session puts in one index file. The
// packs a session stores stay in memory (Repository.unsaved) until an index
// file names them, and writing one holds its plaintext and its sealed copy
// at once: with only the time-based cadence a million-file first backup
// (30 s) wrote one 46 MB index file at its end while holding 63 MB of
// pending entries, its peak (issue 16). 65536 blobs make a 3 MB file.
const indexFileBlobs = 1 << 16

// indexFullLocked reports whether the packs not yet in an index file hold
// enough blobs for a full one. r.mu must be held.
func (r *Repository) indexFullLocked() bool {
	n := 0
	for _, p := range r.unsaved {
		if n += len(p.Blobs); n >= indexFileBlobs {
			return true
		}
	}
	return false
}

// writeIndex stores index files for the packs finished since the last
// one, each of at most indexFileBlobs blobs (a pack with more gets a file
// of its own).
func (r *Repository) writeIndex(ctx context.Context) error {
	r.mu.Lock()
	packs := r.unsaved
	r.unsaved = nil
	r.lastIndex = r.opts.Now()
	r.mu.Unlock()
	for len(packs) > 0 {
		k := indexFilePacks(packs)
		id, err := r.SaveFile(ctx, IndexFile, encodeIndexFile(packs[:k]))
		if err != nil {
			r.mu.Lock()
			r.unsaved = append(packs, r.unsaved...)
			r.mu.Unlock()
			return fmt.Errorf("write index: %w", err)
		}
		r.mu.Lock()
		r.indexFile = append(r.indexFile, id)
		r.mu.Unlock()
		// Let the written packs' entries go as soon as they are written.
		clear(packs[:k])
		packs = packs[k:]
	}
	return nil
}

// indexFilePacks returns how many of packs, taken in order, go into the
// next index file: as many as hold at most indexFileBlobs blobs, and at
// least one.
func indexFilePacks(packs []IndexPack) int {
	k, n := 0, 0
	for k < len(packs) && (k == 0 || n+len(packs[k].Blobs) <= indexFileBlobs) {
		n += len(packs[k].Blobs)
		k++
	}
	return k
}

// WriteIndex stores the given packs as one index file (used by repair).
func (r *Repository) WriteIndex(ctx context.Context, packs []IndexPack) (ID, error) {
	return r.SaveFile(ctx, IndexFile, encodeIndexFile(packs))
}
