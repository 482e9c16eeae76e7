// Package prune removes the data that no snapshot needs, beside running
// backups. It is the orchestration of doc/design.md section 18 ("Prune
// beside backups") over the primitives of package repo:
//
//   - phase B first: each obsolete set from an earlier prune whose every
//     possible user has finished (no lock taken before the set was marked
//     remains) is re-checked against the snapshots, listed after the locks,
//     and its packs that nothing uses are taken out of the index and
//     deleted; the rest become ordinary packs again;
//   - then phase A: the snapshots are marked, packs without a used blob and
//     packs chosen for repacking (after their used blobs were copied into new
//     packs and indexed) are marked obsolete, for a later prune to delete.
//
// The caller holds the repository with a repo.PruneLock for the whole run,
// so prunes exclude each other while backups go on.
package prune

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/snapshot"
)

// SkewTolerance is how far the clocks of hosts writing to one repository
// may disagree: a lock whose start is within it of an obsolete set's time
// counts as taken before it.
const SkewTolerance = 10 * time.Minute

// Options tune a prune.
type Options struct {
	// MaxUnused is the share of unused bytes (0..1) that may stay in
	// partly used packs; packs are repacked while more is unused. Zero
	// means 0.05 (unless MaxUnusedBytes is set); use a negative value to
	// repack nothing.
	MaxUnused float64
	// MaxUnusedBytes, when positive, bounds the unused bytes that may stay
	// instead of MaxUnused.
	MaxUnusedBytes int64
	// MaxRepackBytes bounds the bytes of packs repacked in one run; zero
	// means no bound.
	MaxRepackBytes int64
	// RepackSmall also repacks packs smaller than half the target pack
	// size, so that many small packs become few.
	RepackSmall bool
	// DryRun plans and reports but writes and removes nothing.
	DryRun bool
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
}

// Counts are a number of packs, blobs and bytes (as stored).
type Counts struct {
	Packs int   `json:"packs"`
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}

func (c *Counts) add(blobs int, bytes int64) {
	c.Packs++
	c.Blobs += blobs
	c.Bytes += bytes
}

// Result says what a prune found and did.
type Result struct {
	Snapshots int `json:"snapshots"`
	// Before describes the indexed packs when the prune started; Used and
	// Unused split their bytes by whether a snapshot needs them.
	Before      Counts `json:"before"`
	UsedBytes   int64  `json:"used_bytes"`
	UnusedBytes int64  `json:"unused_bytes"`
	// MarkedObsolete are the packs this run marked obsolete (for a later
	// run to delete): Unused are those without a used blob, Repacked those
	// whose used blobs were copied into new packs first (RepackedBytes of
	// blobs copied).
	MarkedUnused   Counts `json:"marked_unused"`
	MarkedRepacked Counts `json:"marked_repacked"`
	RepackedBytes  int64  `json:"repacked_bytes"`
	Orphans        Counts `json:"orphans"` // packs no index entry points to (unindexed, or every blob stored again elsewhere), marked like unused ones
	// Deleted are the packs of earlier obsolete sets removed now;
	// Resurrected those a snapshot turned out to need; Waiting the sets
	// still held back by a lock taken before they were marked.
	Deleted     Counts `json:"deleted"`
	Resurrected int    `json:"resurrected"`
	Waiting     int    `json:"waiting_sets"`
	DryRun      bool   `json:"dry_run"`
}

// Run prunes r. See the package documentation for what it does; the
// result is filled as far as the run got, also on error.
func Run(ctx context.Context, r *repo.Repository, o Options) (*Result, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.MaxUnused == 0 && o.MaxUnusedBytes <= 0 {
		o.MaxUnused = 0.05
	}
	res := &Result{DryRun: o.DryRun}
	sets, err := r.ObsoleteSets(ctx)
	if err != nil {
		return res, err
	}
	// The locks are listed before the snapshots: a backup whose lock is
	// gone has saved its snapshot (or nothing) before it went.
	ready, err := readySets(ctx, r, sets)
	if err != nil {
		return res, err
	}
	used, n, err := mark(ctx, r)
	if err != nil {
		return res, err
	}
	res.Snapshots = n
	res.Before, res.UsedBytes, res.UnusedBytes = usage(r, used)
	if err := deleteSets(ctx, r, ready, used, res, o); err != nil {
		return res, err
	}
	res.Waiting = len(sets) - len(ready)
	return res, markObsolete(ctx, r, sets, ready, used, res, o)
}

// readySets returns the sets that no live lock taken before them (or
// within SkewTolerance after) holds back.
func readySets(ctx context.Context, r *repo.Repository, sets []repo.ObsoleteSet) ([]repo.ObsoleteSet, error) {
	if len(sets) == 0 {
		return nil, nil
	}
	locks, err := r.ListLocks(ctx)
	if err != nil {
		// An unreadable lock could be anyone's: wait.
		return nil, nil
	}
	host, _ := os.Hostname()
	now := time.Now()
	var ready []repo.ObsoleteSet
	for _, s := range sets {
		ok := true
		for _, l := range locks {
			if r.HoldsLock(l.ID) || l.Stale(now, host) {
				continue
			}
			if l.Started.IsZero() || l.Started.Before(s.Time.Add(SkewTolerance)) {
				ok = false
				break
			}
		}
		if ok {
			ready = append(ready, s)
		}
	}
	return ready, nil
}

// blobKey names a blob by type and ID.
type blobKey struct {
	t  repo.BlobType
	id repo.ID
}

// mark returns every blob the snapshots reach, and how many snapshots
// there are. A tree seen once is not walked again: unchanged directories
// are shared by every snapshot.
func mark(ctx context.Context, r *repo.Repository) (map[blobKey]struct{}, int, error) {
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		return nil, 0, err
	}
	used := make(map[blobKey]struct{})
	var walk func(id repo.ID) error
	walk = func(id repo.ID) error {
		k := blobKey{repo.TreeBlob, id}
		if _, seen := used[k]; seen {
			return nil
		}
		used[k] = struct{}{}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			return err
		}
		for _, n := range t.Nodes {
			for _, e := range n.Content {
				if !e.IsHole() {
					used[blobKey{repo.DataBlob, e.ID}] = struct{}{}
				}
			}
			if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
				if err := walk(n.Subtree); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, sn := range sns {
		if err := walk(sn.Tree); err != nil {
			// A tree that cannot be read means the marking is incomplete:
			// deleting on it could delete what that tree names.
			return nil, 0, fmt.Errorf("snapshot %s: %w (prune stops: run 'check' and repair first)", sn.ID().Short(), err)
		}
	}
	return used, len(sns), nil
}

// needed reports whether a pack of an obsolete set must stay: a snapshot
// uses one of its blobs, and no live pack holds a copy (a repacked pack's
// used blobs have one; a pack a late backup deduplicated against does not).
func needed(r *repo.Repository, used map[blobKey]struct{}, blobs []repo.PackBlob) bool {
	idx := r.Index()
	for _, b := range blobs {
		if _, ok := used[blobKey{b.Type, b.ID}]; ok && !idx.HasLive(b.Type, b.ID) {
			return true
		}
	}
	return false
}

func packBytes(blobs []repo.PackBlob) int64 {
	var n int64
	for _, b := range blobs {
		n += int64(b.Length)
	}
	return n
}

// deleteSets is phase B for the ready sets.
func deleteSets(ctx context.Context, r *repo.Repository, ready []repo.ObsoleteSet, used map[blobKey]struct{}, res *Result, o Options) error {
	for _, s := range ready {
		drop := map[repo.ID]struct{}{}
		var gone []repo.IndexPack
		for _, p := range s.Packs {
			if needed(r, used, p.Blobs) {
				res.Resurrected++
				continue
			}
			drop[p.ID] = struct{}{}
			gone = append(gone, p)
			res.Deleted.add(len(p.Blobs), packBytes(p.Blobs))
		}
		if o.DryRun {
			continue
		}
		// Out of the index first, then the files, then the set: a crash
		// in between leaves unindexed packs the set still names.
		if _, err := r.DropPacks(ctx, drop); err != nil {
			return err
		}
		for _, p := range gone {
			if r.Index().HasPack(p.ID) {
				continue // indexed again meanwhile (a repair): it stays
			}
			if err := r.RemovePack(ctx, p.ID); err != nil {
				return err
			}
		}
		if err := r.RemoveObsolete(ctx, s.ID); err != nil {
			return err
		}
		o.Logf("deleted %d obsolete pack(s) marked %s", len(gone), s.Time.Format(time.RFC3339))
	}
	return nil
}

// usage describes the indexed packs and splits their bytes by whether a
// snapshot needs them.
func usage(r *repo.Repository, used map[blobKey]struct{}) (c Counts, usedBytes, unusedBytes int64) {
	seen := map[repo.ID]struct{}{}
	_ = r.Index().Each(func(b repo.BlobLocation) error {
		if _, ok := seen[b.Pack]; !ok {
			seen[b.Pack] = struct{}{}
			c.Packs++
		}
		c.Blobs++
		c.Bytes += int64(b.Length)
		if _, ok := used[blobKey{b.Type, b.ID}]; ok {
			usedBytes += int64(b.Length)
		} else {
			unusedBytes += int64(b.Length)
		}
		return nil
	})
	return c, usedBytes, unusedBytes
}

// packUse is what the index says of one pack.
type packUse struct {
	id         repo.ID
	blobs      []repo.PackBlob
	used, size int64
	usedBlobs  []repo.BlobLocation
}

// markObsolete is phase A.
func markObsolete(ctx context.Context, r *repo.Repository, sets, ready []repo.ObsoleteSet, used map[blobKey]struct{}, res *Result, o Options) error {
	pending := map[repo.ID]struct{}{} // packs already in a set that stays
	for _, s := range sets {
		if slices.ContainsFunc(ready, func(x repo.ObsoleteSet) bool { return x.ID == s.ID }) && !o.DryRun {
			continue
		}
		for _, p := range s.Packs {
			pending[p.ID] = struct{}{}
		}
	}
	packs := map[repo.ID]*packUse{}
	_ = r.Index().Each(func(b repo.BlobLocation) error {
		p := packs[b.Pack]
		if p == nil {
			p = &packUse{id: b.Pack}
			packs[b.Pack] = p
		}
		p.blobs = append(p.blobs, repo.PackBlob{Type: b.Type, ID: b.ID, Offset: b.Offset, Length: b.Length})
		p.size += int64(b.Length)
		if _, ok := used[blobKey{b.Type, b.ID}]; ok {
			p.used += int64(b.Length)
			p.usedBlobs = append(p.usedBlobs, b)
		}
		return nil
	})
	var unused, partly []*packUse
	var usedNow, unusedNow int64 // after phase B
	for _, p := range packs {
		usedNow += p.used
		unusedNow += p.size - p.used
		if _, ok := pending[p.id]; ok {
			continue
		}
		switch {
		case p.used == 0:
			unused = append(unused, p)
		case p.used < p.size:
			partly = append(partly, p)
		case o.RepackSmall && p.size < int64(r.Config().PackSize)/2:
			partly = append(partly, p)
		}
	}
	// Repack the packs with most unused bytes first, while the unused
	// share left after this run is above MaxUnused.
	sort.Slice(partly, func(i, j int) bool {
		return partly[i].size-partly[i].used > partly[j].size-partly[j].used
	})
	left := unusedNow
	for _, p := range unused {
		left -= p.size
	}
	var repack []*packUse
	var repackBytes int64
	for _, p := range partly {
		small := o.RepackSmall && p.size < int64(r.Config().PackSize)/2
		if o.MaxUnused < 0 && !small {
			continue
		}
		if !small {
			if o.MaxUnusedBytes > 0 && left <= o.MaxUnusedBytes {
				continue
			}
			if o.MaxUnusedBytes <= 0 && float64(left) <= o.MaxUnused*float64(usedNow+left) {
				continue
			}
		}
		if o.MaxRepackBytes > 0 && repackBytes+p.size > o.MaxRepackBytes {
			continue
		}
		repack = append(repack, p)
		repackBytes += p.size
		left -= p.size - p.used
	}
	orphans, err := findOrphans(ctx, r, packs, pending)
	if err != nil {
		return err
	}
	var obsolete []repo.IndexPack
	for _, p := range unused {
		res.MarkedUnused.add(len(p.blobs), p.size)
		obsolete = append(obsolete, repo.IndexPack{ID: p.id, Blobs: p.blobs})
	}
	for _, p := range orphans {
		res.Orphans.add(len(p.Blobs), packBytes(p.Blobs))
		obsolete = append(obsolete, p)
	}
	for _, p := range repack {
		res.MarkedRepacked.add(len(p.blobs), p.size)
		res.RepackedBytes += p.used
		obsolete = append(obsolete, repo.IndexPack{ID: p.id, Blobs: p.blobs})
	}
	if o.DryRun || len(obsolete) == 0 {
		return nil
	}
	// Copies before the marking: data is deleted only after its
	// replacement is durable and indexed.
	for _, p := range repack {
		err := r.LoadBlobsFromPack(ctx, p.id, p.usedBlobs, func(loc repo.BlobLocation, plain []byte, err error) error {
			if err != nil {
				return fmt.Errorf("repack %s: %w", p.id.Short(), err)
			}
			_, err = r.CopyBlob(ctx, loc.Type, plain)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(repack) > 0 {
		if err := r.Flush(ctx); err != nil {
			return err
		}
	}
	if _, err := r.MarkObsolete(ctx, obsolete); err != nil {
		return err
	}
	o.Logf("marked %d pack(s) obsolete (%d unused, %d repacked, %d unindexed); a later prune deletes them", len(obsolete), len(unused), len(repack), len(orphans))
	return nil
}

// findOrphans returns the pack files the index does not name and no set
// holds, with their headers' blob lists. They are left by killed backups,
// or belong to a backup that has not written its index yet: marked
// obsolete, they are deleted only once every lock older than the marking
// is gone, and only if still unindexed.
func findOrphans(ctx context.Context, r *repo.Repository, indexed map[repo.ID]*packUse, pending map[repo.ID]struct{}) ([]repo.IndexPack, error) {
	var out []repo.IndexPack
	type file struct {
		id   repo.ID
		size int64
	}
	var files []file
	err := r.Backend().List(ctx, repo.PackFile, func(fi backend.FileInfo) error {
		id, err := repo.ParseID(fi.Name)
		if err != nil {
			return nil
		}
		if _, ok := indexed[id]; ok {
			return nil
		}
		if _, ok := pending[id]; ok {
			return nil
		}
		files = append(files, file{id, fi.Size})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	for _, f := range files {
		hdr, err := r.ReadPackHeader(ctx, f.id, f.size)
		if err != nil {
			// A pack being written cannot be half there (saves are
			// atomic); one whose header cannot be read is damaged or newer:
			// leave it to check and repair.
			continue
		}
		out = append(out, repo.IndexPack{ID: f.id, Blobs: hdr})
	}
	return out, nil
}
