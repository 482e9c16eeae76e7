package repo

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
)

// ErrAdoptNeedsLock is returned (wrapped) by AdoptUnindexedPacks when no
// lock is held through the repository; callers that may run without one
// (tests, tools with Lock: NoLock) go on without adopting.
var ErrAdoptNeedsLock = errors.New("a lock must be held to adopt unindexed packs")

// AdoptResult is what AdoptUnindexedPacks did.
type AdoptResult struct {
	// Packs and Blobs count the packs adopted into the index and their
	// blobs; Bytes is the packs' size.
	Packs, Blobs int
	Bytes        int64
	// Rejected lists the unindexed packs that were not adopted because
	// their header does not open or does not fit the pack's length (damaged,
	// or of a newer format); 'check' reports them too.
	Rejected []error
}

// AdoptUnindexedPacks makes the packs that a killed writer completed but
// never indexed part of the index, so that this session deduplicates
// against them instead of storing their blobs again (a backup killed
// during its last index write left every pack of the run unindexed). It
// lists the packs, reads only the sealed header of each one the index does
// not name and no obsolete set holds, and writes one index file for those
// whose header opens and matches the pack's length. Pack bodies are not
// read: the header is authenticated, and a blob found damaged later is
// reported like any other.
//
// Call it at the start of a writing session, after the session's lock is
// taken and the index loaded (Open does both); doc/design.md ("Adopting
// unindexed packs") says why this is safe beside concurrent writers and
// prune. A pack that vanishes meanwhile (prune deleted it) is skipped. A
// session adopts once; later calls return an empty result.
func (r *Repository) AdoptUnindexedPacks(ctx context.Context) (AdoptResult, error) {
	var res AdoptResult
	// Without a lock, a prune could be deleting these very packs; with
	// one, prune's deletion waits for it (design.md).
	if len(r.held.list()) == 0 {
		return res, fmt.Errorf("adopt unindexed packs in %s: %w", r.be.Location(), ErrAdoptNeedsLock)
	}
	r.mu.Lock()
	done := r.adopted
	r.mu.Unlock()
	if done {
		return res, nil
	}
	known := make(map[ID]struct{}, r.idx.Packs())
	for _, id := range r.idx.PackIDs() {
		known[id] = struct{}{}
	}
	r.mu.Lock()
	for _, p := range r.unsaved {
		known[p.ID] = struct{}{}
	}
	r.mu.Unlock()
	type candidate struct {
		id   ID
		size int64
	}
	var cands []candidate
	err := r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
		id, err := ParseID(fi.Name)
		if err != nil {
			return nil
		}
		if _, ok := known[id]; ok || r.idx.IsObsolete(id) {
			return nil
		}
		cands = append(cands, candidate{id, fi.Size})
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("adopt unindexed packs: list packs: %w", err)
	}
	if len(cands) == 0 {
		return res, nil
	}
	var mu sync.Mutex
	var adopted []IndexPack
	var sizes int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for _, c := range cands {
		g.Go(func() error {
			hdr, err := r.ReadPackHeader(gctx, c.id, c.size)
			switch {
			case err == nil:
			case backend.IsNotExist(err):
				return nil // deleted by a prune since the listing
			case IsDamaged(err) || errors.Is(err, ErrUnsupportedVersion):
				mu.Lock()
				res.Rejected = append(res.Rejected, fmt.Errorf("unindexed pack %s not adopted: %w", c.id.Short(), err))
				mu.Unlock()
				return nil
			default:
				return err
			}
			if len(hdr) == 0 {
				return nil
			}
			mu.Lock()
			adopted = append(adopted, IndexPack{ID: c.id, Blobs: hdr})
			sizes += c.size
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, fmt.Errorf("adopt unindexed packs: %w", err)
	}
	// From here on this session has looked: a later call (the next source
	// of a job) does not list the packs again.
	r.mu.Lock()
	r.adopted = true
	r.mu.Unlock()
	for _, e := range res.Rejected {
		r.opts.Logf("%v", e)
	}
	if len(adopted) == 0 {
		return res, nil
	}
	sort.Slice(adopted, func(i, j int) bool { return adopted[i].ID.String() < adopted[j].ID.String() })
	for _, p := range adopted {
		if err := r.idx.AddPack(p.ID, p.Blobs); err != nil {
			return res, fmt.Errorf("adopt pack %s: %w", p.ID.Short(), err)
		}
	}
	// The index file goes out now, before this session can save a
	// snapshot that names the adopted blobs (write order, design.md §9).
	r.mu.Lock()
	r.unsaved = append(r.unsaved, adopted...)
	r.mu.Unlock()
	if err := r.writeIndex(ctx); err != nil {
		return res, fmt.Errorf("adopt unindexed packs: %w", err)
	}
	res.Packs, res.Bytes = len(adopted), sizes
	for _, p := range adopted {
		res.Blobs += len(p.Blobs)
	}
	r.opts.Logf("adopted %d pack(s) (%d blobs) that an interrupted backup wrote but did not index", res.Packs, res.Blobs)
	return res, nil
}
