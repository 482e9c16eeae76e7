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
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/snapshot"
)

// SkewTolerance is how far the clocks of hosts writing to one repository
// may disagree: a lock whose start is within it of an obsolete set's time
// counts as taken before it.
const SkewTolerance = 10 * time.Minute

// saveMargin covers the time between an obsolete set's time (taken before
// its file is saved) and the moment its file can be listed: a slow save to
// a remote backend (retries included) must not open a window.
const saveMargin = 5 * time.Minute

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
	// Warnf receives warnings that must reach the user even where
	// progress does not (a foreign snapshot file passed over); nil sends
	// them to Logf.
	Warnf func(format string, args ...any)
	// TimeText formats the times that messages name, in the zone the
	// caller prints every time in, with the zone named; nil writes RFC
	// 3339.
	TimeText func(time.Time) string
}

// timeText formats t with TimeText, or as RFC 3339.
func (o Options) timeText(t time.Time) string {
	if o.TimeText != nil {
		return o.TimeText(t)
	}
	return t.Format(time.RFC3339)
}

// warnf sends a warning to Warnf, or to Logf marked as one.
func (o Options) warnf(format string, args ...any) {
	switch {
	case o.Warnf != nil:
		o.Warnf(format, args...)
	case o.Logf != nil:
		o.Logf("warning: "+format, args...)
	}
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
	// After describes the indexed packs when the prune ended; packs marked
	// obsolete are still among them until a later prune deletes them.
	After Counts `json:"after"`
	// MarkedObsolete are the packs this run marked obsolete (for a later
	// run to delete): Unused are those without a used blob, Repacked those
	// whose used blobs were copied into new packs first (RepackedBytes of
	// blobs copied).
	MarkedUnused   Counts `json:"marked_unused"`
	MarkedRepacked Counts `json:"marked_repacked"`
	RepackedBytes  int64  `json:"repacked_bytes"`
	Orphans        Counts `json:"orphans"` // packs no index entry points to (left by a killed backup, or their index file was lost), marked like unused ones
	// Deleted are the packs of earlier obsolete sets removed now;
	// Resurrected those a snapshot turned out to need; Waiting the sets
	// still held back by a lock taken before they were marked.
	Deleted     Counts `json:"deleted"`
	Resurrected int    `json:"resurrected"`
	// NeededUnindexed counts the resurrected packs that no index file
	// names (an index file was lost or damaged): kept, but a snapshot
	// that needs them fails check until 'repair index' indexes them again.
	NeededUnindexed int `json:"needed_unindexed,omitempty"`
	// RepackSkipped counts the packs chosen for repacking that were left
	// as they are because a used blob in them is damaged with no intact
	// copy elsewhere (copyUsed).
	RepackSkipped int `json:"repack_skipped,omitempty"`
	// ForeignSnapshots are the snapshot files passed over as foreign
	// (repo.ErrForeignFile): junk that someone who can write to the
	// storage added, which a careful administrator wants to hear of.
	ForeignSnapshots []repo.ID `json:"foreign_snapshots,omitempty"`
	Waiting          int       `json:"waiting_sets"`
	// WaitingFor are the locks that hold the waiting sets back, so that
	// an administrator can tell a running backup from the lock of a
	// process that died (which 'cadang unlock' removes). Nil when the
	// locks could not be listed (then every set waits).
	WaitingFor []WaitingLock `json:"waiting_for,omitempty"`
	DryRun     bool          `json:"dry_run"`
}

// WaitingLock is a lock that holds obsolete sets back: its ID (the lock
// file's name) and what the file says.
type WaitingLock struct {
	ID repo.ID `json:"id"`
	repo.LockInfo
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
	// A server that refuses deletions (cadang serve --append-only) would
	// refuse the marking only after prune copied the data it repacks,
	// again on every try: refuse before writing anything.
	if !o.DryRun {
		if err := r.RefuseAppendOnly("prune"); err != nil {
			return res, err
		}
	}
	// Without every index file, a pack that only a skipped one names
	// looks unused (mark checks again after it reloads the index).
	if err := r.RequireWholeIndex("prune"); err != nil {
		return res, err
	}
	sets, err := r.ObsoleteSets(ctx)
	if err != nil {
		return res, err
	}
	// The locks are listed before the snapshots: a backup whose lock is
	// gone has saved its snapshot (or nothing) before it went.
	ready, blockers, err := readySets(ctx, r, sets)
	if err != nil {
		return res, err
	}
	res.WaitingFor = blockers
	used, n, foreign, err := mark(ctx, r, o.warnf)
	res.ForeignSnapshots = foreign
	if err != nil {
		return res, err
	}
	res.Snapshots = n
	counts, err := chooseCopies(ctx, r, used, o)
	if err != nil {
		return res, err
	}
	res.Before, res.UsedBytes, res.UnusedBytes = usage(r, counts)
	if err := deleteSets(ctx, r, ready, used, res, o); err != nil {
		return res, err
	}
	res.Waiting = len(sets) - len(ready)
	err = markObsolete(ctx, r, sets, ready, counts, res, o)
	if err == nil && !o.DryRun {
		res.After, _, _ = usage(r, counts)
	}
	if o.DryRun {
		res.After = Counts{Packs: res.Before.Packs - res.Deleted.Packs, Blobs: res.Before.Blobs - res.Deleted.Blobs,
			Bytes: res.Before.Bytes - res.Deleted.Bytes}
	}
	return res, err
}

// readySets returns the sets that no live lock taken before them (or
// within SkewTolerance after) holds back, and the locks that hold back
// the others.
func readySets(ctx context.Context, r *repo.Repository, sets []repo.ObsoleteSet) (ready []repo.ObsoleteSet, blockers []WaitingLock, err error) {
	if len(sets) == 0 {
		return nil, nil, nil
	}
	locks, err := r.ListLocks(ctx)
	if err != nil {
		// An unreadable lock could be anyone's: wait.
		return nil, nil, nil
	}
	now := r.Now() // the clock the locks were written by
	blocking := map[repo.ID]bool{}
	for _, s := range sets {
		ok := true
		for _, l := range locks {
			// A lock is gone for prune only when it is stale by a margin
			// of the clock skew on top: its holder judges it by its own
			// clock and writes on until it thinks it lost the lock. The
			// same-host PID test is not trusted here (another PID
			// namespace may share the host name).
			if r.HoldsLock(l.ID) || now.Sub(l.Time) > repo.LockStaleAfter+SkewTolerance {
				continue
			}
			if l.Started.IsZero() || l.Started.Before(s.Time.Add(SkewTolerance+saveMargin)) {
				ok = false
				if !blocking[l.ID] {
					blocking[l.ID] = true
					blockers = append(blockers, WaitingLock{ID: l.ID, LockInfo: l})
				}
			}
		}
		if ok {
			ready = append(ready, s)
		}
	}
	return ready, blockers, nil
}

// UnreadableSnapshotsError stops prune when snapshot files cannot be read
// (damaged on the medium, or sealed by a holder of the key but holding no
// snapshot; a foreign file, repo.ErrForeignFile, was never a snapshot and
// is passed over with a warning): prune must know
// every blob a snapshot uses, and deleting the blobs of an unreadable one
// would lose it for good, where a good copy of the file put back (from a
// file-level copy of the repository) would otherwise bring it back. Such a
// file restores nothing itself; forgetting it by ID lets prune run.
type UnreadableSnapshotsError struct {
	IDs []repo.ID // at least one
	Err error     // why the first cannot be read
}

func (e *UnreadableSnapshotsError) Error() string {
	// Whole IDs: someone who can list snapshots/ can grind junk whose
	// short ID is a genuine snapshot's. Five at most: the message goes
	// into the run log whole.
	const most = 5
	ids := make([]string, 0, most)
	for _, id := range e.IDs[:min(len(e.IDs), most)] {
		ids = append(ids, id.String())
	}
	them, more := "it", ""
	if len(e.IDs) > 1 {
		them = "them"
	}
	if len(e.IDs) > most {
		more = fmt.Sprintf("; 'cadang check' names the %d others", len(e.IDs)-most)
	}
	return fmt.Sprintf("prune refuses to run: it cannot know which blobs %d snapshot file(s) that cannot be read use (the first: %v): "+
		"such a file restores nothing, and 'cadang forget %s' removes %s%s (until then its data stays, should a good copy of the file be put back)",
		len(e.IDs), e.Err, strings.Join(ids, " "), them, more)
}

func (e *UnreadableSnapshotsError) Unwrap() error { return e.Err }

// mark returns every blob the snapshots reach, and how many snapshots
// there are. A tree seen once is not walked again: unchanged directories
// are shared by every snapshot.
func mark(ctx context.Context, r *repo.Repository, warnf func(string, ...any)) (*repo.BlobSet, int, []repo.ID, error) {
	var bad UnreadableSnapshotsError
	var foreign []repo.ID
	// A file too large for a listing is read whole: a cadang before the
	// limit may have written it, and prune must know what it uses.
	sns, err := snapshot.ListSnapshotsWhole(ctx, r, snapshot.Filter{}, func(id repo.ID, err error) error {
		if errors.Is(err, repo.ErrForeignFile) {
			// No holder of the key wrote it: it was never a snapshot,
			// and needs no blob.
			warnf("snapshot file %s is passed over: it was not written with this repository's key (junk that someone who can write to the storage added); 'cadang forget %s' removes it", id.Short(), id)
			foreign = append(foreign, id)
			return nil
		}
		if !repo.IsDamaged(err) && !errors.Is(err, snapshot.ErrInvalidSnapshot) {
			return err // the backend's fault, or a newer format: nothing to advise
		}
		bad.IDs = append(bad.IDs, id)
		if bad.Err == nil {
			bad.Err = err
		}
		return nil
	})
	if err != nil {
		return nil, 0, foreign, err
	}
	if len(bad.IDs) > 0 {
		return nil, 0, foreign, &bad
	}
	// A backup that finished since the index was loaded (at Open) saved
	// its snapshot after its index files: read those now, after the
	// listing, or its trees are not found and its packs look unindexed.
	if err := r.LoadIndex(ctx); err != nil {
		return nil, 0, foreign, fmt.Errorf("reload index: %w", err)
	}
	if err := r.RequireWholeIndex("prune"); err != nil {
		return nil, 0, foreign, err
	}
	// One bit per indexed blob: 1.2 MiB at 10 M blobs (design.md §18).
	used := r.Index().NewBlobSet()
	var walk func(id repo.ID) error
	walk = func(id repo.ID) error {
		if !used.Add(repo.TreeBlob, id) {
			return nil
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			return err
		}
		for _, n := range t.Nodes {
			for _, e := range n.Content {
				if !e.IsHole() {
					used.Add(repo.DataBlob, e.ID)
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
			return nil, 0, foreign, fmt.Errorf("snapshot %s: %w (prune stops: run 'check' and repair first)", sn.ID().Short(), err)
		}
	}
	return used, len(sns), foreign, nil
}

func packBytes(blobs []repo.PackBlob) int64 {
	var n int64
	for _, b := range blobs {
		n += int64(b.Length)
	}
	return n
}

// deleteSets is phase B for the ready sets. A pack of a set must stay when
// a snapshot uses one of its blobs and no live pack holds a copy (a
// repacked pack's used blobs have one; a pack a late backup deduplicated
// against does not). The index lists every copy of a blob; a copy in a
// live pack counts only once it has been read back intact
// (repo.VerifyCopies): an index file or pack uploaded with the
// password can name a blob it does not hold, and trusting it would delete
// the only good copy. An unindexed pack's blobs come from its set.
func deleteSets(ctx context.Context, r *repo.Repository, ready []repo.ObsoleteSet, used *repo.BlobSet, res *Result, o Options) error {
	if len(ready) == 0 {
		return nil
	}
	inSet := map[repo.ID]int{} // pack -> index in ready
	for i, s := range ready {
		for _, p := range s.Packs {
			inSet[p.ID] = i
		}
	}
	type packInfo struct {
		blobs     int
		bytes     int64
		used      []repo.BlobHandle
		unindexed bool
	}
	info := map[repo.ID]*packInfo{}
	_ = r.Index().Each(func(b repo.BlobLocation) error {
		if _, ok := inSet[b.Pack]; !ok {
			return nil
		}
		pi := info[b.Pack]
		if pi == nil {
			pi = &packInfo{}
			info[b.Pack] = pi
		}
		pi.blobs++
		pi.bytes += int64(b.Length)
		if used.Has(b.Type, b.ID) {
			pi.used = append(pi.used, repo.BlobHandle{Type: b.Type, ID: b.ID})
		}
		return nil
	})
	for _, s := range ready {
		for _, p := range s.Packs {
			if info[p.ID] != nil {
				continue
			}
			// Unindexed (a killed backup, a lost index file): judge it by
			// the blobs its set lists.
			pi := &packInfo{blobs: len(p.Blobs), bytes: packBytes(p.Blobs), unindexed: true}
			for _, b := range p.Blobs {
				if used.Has(b.Type, b.ID) {
					pi.used = append(pi.used, repo.BlobHandle{Type: b.Type, ID: b.ID})
				}
			}
			info[p.ID] = pi
		}
	}
	var check []repo.BlobHandle
	seen := map[repo.BlobHandle]struct{}{}
	for _, pi := range info {
		for _, h := range pi.used {
			if _, ok := seen[h]; !ok {
				seen[h] = struct{}{}
				check = append(check, h)
			}
		}
	}
	intact, err := r.VerifyCopies(ctx, check, r.InLivePack)
	if err != nil {
		return fmt.Errorf("read back the live copies of %d used blob(s) in obsolete packs: %w", len(check), err)
	}
	if len(check) > 0 {
		o.Logf("read back %d of %d used blob(s) of obsolete packs intact from live packs", len(intact), len(check))
	}
	for _, s := range ready {
		drop := map[repo.ID]struct{}{}
		var gone []repo.ID
		for _, p := range s.Packs {
			pi := info[p.ID]
			needed := slices.ContainsFunc(pi.used, func(h repo.BlobHandle) bool {
				_, ok := intact[h]
				return !ok
			})
			if needed {
				res.Resurrected++
				if pi.unindexed {
					// A snapshot needs it and no index names it: an index
					// file was lost. Kept, and said, since check fails
					// until 'repair index'.
					res.NeededUnindexed++
				}
				continue
			}
			drop[p.ID] = struct{}{}
			gone = append(gone, p.ID)
			// The file's size: the index attributes a repacked pack's
			// blobs to their new copies, so it undercounts.
			size := pi.bytes
			if fi, err := r.Backend().Stat(ctx, backend.Handle{Type: repo.PackFile, Name: p.ID.String()}); err == nil {
				size = fi.Size
			}
			res.Deleted.add(pi.blobs, size)
		}
		if o.DryRun {
			continue
		}
		// Out of the index first, then the files, then the set: a crash
		// in between leaves unindexed packs the set still names.
		if _, err := r.DropPacks(ctx, drop); err != nil {
			return err
		}
		// RemovePacks skips a pack indexed again meanwhile (a repair).
		if err := r.RemovePacks(ctx, gone); err != nil {
			return err
		}
		if err := r.RemoveObsolete(ctx, s.ID); err != nil {
			return err
		}
		o.Logf("deleted %d obsolete pack(s) marked %s", len(gone), o.timeText(s.Time))
	}
	if res.NeededUnindexed > 0 {
		o.Logf("warning: %d pack(s) that snapshots need are named by no index file (one was lost or damaged, or a 'repair packs' was interrupted): they are kept; if 'cadang check --read-data' calls them damaged, 'cadang repair packs' takes them out, else 'cadang repair index' indexes them again", res.NeededUnindexed)
	}
	return nil
}

// counter says whether a copy of a blob counts as used where phase A
// plans (chooseCopies).
type counter func(repo.BlobLocation) bool

// chooseCopies returns the rule by which phase A counts a copy as used. A
// blob a snapshot uses is counted in one copy only where it has several in
// live packs (two writers stored it, or a repack was killed before it
// marked the old pack): in the first of them that reads back intact, so
// that the packs holding the others can be reclaimed, and never in a
// forged copy. A used blob none of whose live copies reads back intact is
// counted in every copy: nothing of it is given up. Phase B still reads a
// live copy back before it deletes any (deleteSets).
func chooseCopies(ctx context.Context, r *repo.Repository, used *repo.BlobSet, o Options) (counter, error) {
	idx := r.Index()
	var dups []repo.BlobHandle
	for _, h := range idx.Duplicates() {
		if !used.Has(h.Type, h.ID) {
			continue
		}
		live := 0
		for _, l := range idx.Locations(h.Type, h.ID) {
			if !idx.IsObsolete(l.Pack) {
				live++
			}
		}
		if live > 1 {
			dups = append(dups, h)
		}
	}
	var chosen map[repo.BlobHandle]repo.BlobLocation
	if len(dups) > 0 {
		var err error
		if chosen, err = r.VerifyCopies(ctx, dups, r.InLivePack); err != nil {
			return nil, fmt.Errorf("read back the copies of %d used blob(s) stored more than once: %w", len(dups), err)
		}
		o.Logf("%d used blob(s) are stored in several live packs: counted once, where a copy read back intact (%d)", len(dups), len(chosen))
	}
	return func(b repo.BlobLocation) bool {
		if !used.Has(b.Type, b.ID) {
			return false
		}
		c, ok := chosen[repo.BlobHandle{Type: b.Type, ID: b.ID}]
		return !ok || (c.Pack == b.Pack && c.Offset == b.Offset && c.Length == b.Length)
	}, nil
}

// usage describes the indexed packs and splits their bytes by whether a
// snapshot needs them.
func usage(r *repo.Repository, used counter) (c Counts, usedBytes, unusedBytes int64) {
	seen := map[repo.ID]struct{}{}
	_ = r.Index().Each(func(b repo.BlobLocation) error {
		if _, ok := seen[b.Pack]; !ok {
			seen[b.Pack] = struct{}{}
			c.Packs++
		}
		c.Blobs++
		c.Bytes += int64(b.Length)
		if used(b) {
			usedBytes += int64(b.Length)
		} else {
			unusedBytes += int64(b.Length)
		}
		return nil
	})
	return c, usedBytes, unusedBytes
}

// packUse is what the index says of one pack: a few words per pack, not
// per blob, so that planning stays small at millions of blobs.
type packUse struct {
	id         repo.ID
	blobs      int
	used, size int64
}

// markObsolete is phase A.
func markObsolete(ctx context.Context, r *repo.Repository, sets, ready []repo.ObsoleteSet, used counter, res *Result, o Options) error {
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
		p.blobs++
		p.size += int64(b.Length)
		if used(b) {
			p.used += int64(b.Length)
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
	// Indexed packs are listed without their blobs: phase B reads those
	// from the index, so the set stays small.
	var obsolete []repo.IndexPack
	for _, p := range unused {
		res.MarkedUnused.add(p.blobs, p.size)
		obsolete = append(obsolete, repo.IndexPack{ID: p.id})
	}
	for _, p := range orphans {
		res.Orphans.add(len(p.Blobs), packBytes(p.Blobs))
		obsolete = append(obsolete, p)
	}
	if !o.DryRun && len(repack) > 0 {
		// Copies before the marking: data is deleted only after its
		// replacement is durable and indexed.
		var err error
		if repack, err = copyUsed(ctx, r, repack, used, res, o); err != nil {
			return err
		}
	}
	for _, p := range repack {
		res.MarkedRepacked.add(p.blobs, p.size)
		res.RepackedBytes += p.used
		obsolete = append(obsolete, repo.IndexPack{ID: p.id})
	}
	if o.DryRun || len(obsolete) == 0 {
		return nil
	}
	if _, err := r.MarkObsolete(ctx, obsolete); err != nil {
		return err
	}
	o.Logf("marked %d pack(s) obsolete (%d unused, %d repacked, %d not in the index); a later prune deletes them", len(obsolete), len(unused), len(repack), len(orphans))
	return nil
}

// copyUsed writes the used blobs of the packs to repack into new packs and
// flushes them, so that they are durable and indexed before the old packs
// are marked obsolete. It returns the packs whose used blobs were all
// copied. A pack holding a used blob that no copy gives (damaged here and
// nowhere else intact) is left as it is, with a warning: repacking it
// would lose nothing more, but marking it would stop every later prune at
// its phase B, and 'repair packs' is the remedy (it keeps the pack's
// bytes).
func copyUsed(ctx context.Context, r *repo.Repository, repack []*packUse, used counter, res *Result, o Options) ([]*packUse, error) {
	want := make(map[repo.ID][]repo.BlobLocation, len(repack))
	for _, p := range repack {
		want[p.id] = nil
	}
	_ = r.Index().Each(func(b repo.BlobLocation) error {
		if locs, ok := want[b.Pack]; ok && used(b) {
			want[b.Pack] = append(locs, b)
		}
		return nil
	})
	var copied []*packUse
	for _, p := range repack {
		var bad *repo.BlobLocation
		err := r.LoadBlobsFromPack(ctx, p.id, want[p.id], func(loc repo.BlobLocation, plain []byte, err error) error {
			if err != nil {
				if !repo.IsDamaged(err) && !backend.IsNotExist(err) {
					return fmt.Errorf("repack %s: %w", p.id.Short(), err)
				}
				if bad == nil {
					bad = &loc
				}
				return nil
			}
			_, err = r.CopyBlob(ctx, loc.Type, plain)
			return err
		})
		if err != nil {
			return nil, err
		}
		if bad != nil {
			res.RepackSkipped++
			o.Logf("warning: pack %s was not repacked: its %s blob %s is damaged and no other copy is intact; 'cadang check --read-data' names such packs and 'cadang repair packs' takes them out", p.id, bad.Type, bad.ID)
			continue
		}
		copied = append(copied, p)
	}
	return copied, r.Flush(ctx)
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
