// Package copier copies snapshots from one repository into another, as
// cadang copy does.
//
// Every repository has its own master key, and a blob's ID is a keyed hash
// of its plaintext (repo.Repository.BlobID), so the same data has different
// IDs in two repositories. A copy therefore re-hashes every data blob under
// the destination's key, rewrites every tree with the new IDs, bottom up,
// and saves the snapshot with the new root tree. Blobs the destination
// already has (by their new ID) are not uploaded again.
//
// Files are copied blob by blob and never re-chunked, whatever the
// chunker parameters of the two repositories: a copied file consists of
// exactly the chunks it had in the source. The chunker parameters matter
// only for later backups into the destination: when the destination shares
// the source's polynomial and sizes (cadang init --copy-chunker-params), a
// backup into it cuts the same chunks as the source did and deduplicates
// against the copied data, and copies between such repositories
// deduplicate too; otherwise the copied data and new backups share little.
//
// A copied snapshot has Original set to the source snapshot's Original,
// or to the source snapshot's ID when it has none, and no Parent (the
// parent's ID means nothing in the destination). A source snapshot whose
// original ID is already the Original (or the ID) of a destination
// snapshot is skipped.
//
// Loading a data blob from the source is needed to learn its destination
// ID. Within one Copy call the mapping is kept, so blobs and subtrees shared
// between snapshots are read once. Across calls the mapping is recovered
// from snapshots copied earlier: the source and destination trees of a
// copied snapshot have the same shape, so walking both side by side (tree
// blobs only) yields the destination ID of every data blob they name, and
// an unchanged file in a new snapshot costs no data read at all.
package copier

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Source is the repository snapshots are copied from.
type Source interface {
	snapshot.Loader
}

// Destination is the repository snapshots are copied into.
type Destination interface {
	snapshot.Loader
	snapshot.BlobSaver
	snapshot.FileSaver
	// HasBlob reports whether a blob is stored (or waiting in an open pack).
	HasBlob(t repo.BlobType, id repo.ID) bool
	// BlobID computes the ID that data has in this repository.
	BlobID(data []byte) repo.ID
	// Flush makes every saved blob durable and indexed.
	Flush(ctx context.Context) error
}

// Options tune a copy.
type Options struct {
	// Progress, if not nil, is called after each snapshot.
	Progress func(SnapshotResult)
	// Unreadable, if not nil, is told of each snapshot file of the
	// destination that cannot be read (snapshot.IsUnreadable). The copy
	// goes on without it: a damaged file, or one a client of an
	// append-only server added, must not stop every copy into the
	// repository (the source snapshot it held, if any, is copied again).
	Unreadable func(id repo.ID, err error)
	// Unlisted are the source snapshot files that could not be read when
	// the snapshots to copy were listed (snapshot.IsUnreadable). Copy
	// counts each as a snapshot it could not copy (Result.Failed, the
	// IncompleteError): whether it was one to copy is not known, and a
	// copy that may have left one out must not be reported complete.
	Unlisted map[repo.ID]error
	// IncludeForgotten copies also the snapshots that the destination's
	// forgotten files record (snapshot.RecordForgotten): by default a
	// snapshot forgotten there is not brought back.
	IncludeForgotten bool
	// UnreadableForgotten, if not nil, is told of each forgotten file of
	// the destination that cannot be read; the copy goes on without it
	// (what it recorded may be copied again).
	UnreadableForgotten func(id repo.ID, err error)
	// ProtectionProgress, if not nil, is called after each protection
	// written on the destination (see Copy).
	ProtectionProgress func(ProtectionResult)
	// UnreadableProtection, if not nil, is told of each protection file
	// of the source that cannot be read: what it protects cannot be
	// known, so it is not carried; the copy goes on.
	UnreadableProtection func(id repo.ID, err error)
}

// SnapshotResult is what happened to one source snapshot.
type SnapshotResult struct {
	Source repo.ID `json:"source"`
	// Dest is the destination snapshot: the new one, or the one that
	// already held this snapshot when it was skipped; zero when it failed.
	Dest    repo.ID `json:"dest"`
	Skipped bool    `json:"skipped"`
	// Forgotten is when the destination forgot this snapshot (or a copy
	// of it): it was not copied again. Zero otherwise.
	Forgotten time.Time `json:"forgotten,omitzero"`
	// Error says why the snapshot could not be copied (a damaged or
	// missing blob of the source); empty when it was copied or skipped.
	Error string    `json:"error,omitempty"`
	Time  time.Time `json:"time"`
	Host  string    `json:"host,omitempty"`
	Paths []string  `json:"paths"`
}

// Result counts what a copy did.
type Result struct {
	Snapshots []SnapshotResult `json:"snapshots"`
	Copied    int              `json:"copied"`
	Skipped   int              `json:"skipped"`
	// NotAgain counts the snapshots not copied because the destination
	// forgot them (SnapshotResult.Forgotten).
	NotAgain int `json:"forgotten"`
	Failed   int `json:"failed"` // source snapshots that could not be read (IncompleteError)
	// DataBlobs and TreeBlobs are the blobs uploaded (new to the
	// destination); Bytes is their plaintext size.
	DataBlobs int   `json:"data_blobs"`
	TreeBlobs int   `json:"tree_blobs"`
	Bytes     int64 `json:"bytes"`
	// BlobsRead counts data blobs loaded from the source to compute their
	// destination ID (uploaded or not).
	BlobsRead int `json:"blobs_read"`
	// AdoptedPacks counts the packs a killed copy or backup had completed
	// but not indexed, which this copy took into the index (PackAdopter)
	// rather than upload their blobs again.
	AdoptedPacks int `json:"adopted_packs,omitempty"`
	// Protections are the protections written on the destination after
	// the source's (Copy), ProtectionsAdded how many.
	Protections      []ProtectionResult `json:"protections,omitempty"`
	ProtectionsAdded int                `json:"protections_added"`
	// ProtectionErrors are the source's protections that could not be
	// written on the destination (ProtectionsError).
	ProtectionErrors []ProtectionFailure `json:"protection_errors,omitempty"`
	// UnreadableProtections are the source's protection files that could
	// not be read, and so were not carried (Options.UnreadableProtection).
	UnreadableProtections []UnreadableSourceProtection `json:"unreadable_protections,omitempty"`
}

// PackAdopter is implemented by destinations that can take into their
// index the packs a killed writer completed but never indexed
// (*repo.Repository).
type PackAdopter interface {
	AdoptUnindexedPacks(ctx context.Context) (repo.AdoptResult, error)
}

// ErrIncomplete is matched (errors.Is) by the error of a Copy that copied
// every snapshot it could read, but could not read some from the source.
var ErrIncomplete = errors.New("some snapshots could not be copied")

// IncompleteError is the error of a Copy that could not read some source
// snapshots (a damaged or missing blob) and copied or skipped all the
// others. One damaged old snapshot must not keep every newer one from the
// offsite copy, run after run.
type IncompleteError struct {
	// Failed are the snapshots not copied, each with its Error.
	Failed []SnapshotResult
	// Errs are their errors, in the same order.
	Errs []error
}

func (e *IncompleteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d snapshot(s) could not be copied:", len(e.Failed))
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrIncomplete.
func (e *IncompleteError) Is(target error) bool { return target == ErrIncomplete }

// Unwrap returns each failed snapshot's error.
func (e *IncompleteError) Unwrap() []error { return e.Errs }

// sourceError is damage in the source (a tree or data blob damaged,
// missing or invalid): it fails the one snapshot. Any other error (the
// source could not be reached, the destination could not be written)
// fails the copy: trying every other snapshot against an unplugged
// medium would only fail each in turn.
type sourceError struct{ err error }

// fromSource wraps err, from reading the source, as a sourceError when it
// is damage of the snapshot's own data.
func fromSource(err error) error {
	if repo.IsDamaged(err) || errors.Is(err, repo.ErrBlobNotFound) || errors.Is(err, repo.ErrUnsupportedVersion) ||
		errors.Is(err, snapshot.ErrInvalidTree) || errors.Is(err, snapshot.ErrWalkLimit) {
		return &sourceError{err}
	}
	return err
}

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// originalID is the ID a snapshot descends from.
func originalID(sn *snapshot.Snapshot) repo.ID { return snapshot.OriginalID(sn) }

type copier struct {
	dst   Destination
	src   Source
	res   *Result
	data  map[repo.ID]repo.ID // source data blob -> destination data blob
	trees map[repo.ID]repo.ID // source tree -> destination tree
	// zipped holds the tree pairs zip has walked: an incomplete pair is
	// not in trees, and walking it again at each place it recurs would
	// take time exponential in the depth of a crafted snapshot.
	zipped map[[2]repo.ID]struct{}
	buf    []byte
	// curTree and curBlob are the tree and data blob being copied, for
	// the error of a panic.
	curTree, curBlob repo.ID
}

// Copy copies the snapshots sns of src into dst, oldest first, skipping
// those dst already has. A snapshot whose data is damaged in the source (a
// damaged, missing or invalid blob) is left out and the copy goes on with
// the next; the error is then an *IncompleteError naming each. On any
// other error (the source unreachable, the destination, a cancelled
// context) the copy stops. Either way Result tells what was done; the
// snapshots saved are complete.
//
// Then each active protection of the source that covers a snapshot copied
// or skipped (copied before) is written on the destination for its copy,
// with the same end and reason, unless the destination has one as long
// already (copyProtections): a forget on the medium copied to must keep
// what a forget on the source keeps. A protection that cannot be written
// there is reported (Result.ProtectionErrors, a *ProtectionsError, joined
// with the IncompleteError if there is one) and the others are written;
// a source protection file that cannot be read is reported
// (Result.UnreadableProtections, Options.UnreadableProtection) and not
// carried.
func Copy(ctx context.Context, dst Destination, src Source, sns []*snapshot.Snapshot, o Options) (Result, error) {
	var res Result
	// A copy killed while writing its index (a dropped link to the
	// offsite server) left complete packs no index names: adopting them
	// first makes this run upload only what they lack, as a backup does.
	if pa, ok := dst.(PackAdopter); ok {
		adopted, err := pa.AdoptUnindexedPacks(ctx)
		if err != nil && !errors.Is(err, repo.ErrAdoptNeedsLock) {
			return res, fmt.Errorf("adopt unindexed packs: %w", err)
		}
		res.AdoptedPacks = adopted.Packs
	}
	// A file that could not be fetched (not IsUnreadable) may hold a
	// copy: that stops the copy rather than be guessed at.
	have, err := snapshot.ListSnapshotsSkipping(ctx, dst, snapshot.Filter{}, snapshot.PassUnreadable(o.Unreadable))
	if err != nil {
		return res, fmt.Errorf("list destination snapshots: %w", err)
	}
	done := make(map[repo.ID]*snapshot.Snapshot, len(have))
	for _, d := range have {
		if _, ok := done[originalID(d)]; !ok {
			done[originalID(d)] = d
		}
	}
	forgotten := snapshot.ForgottenSet{}
	if !o.IncludeForgotten {
		if forgotten, err = snapshot.ForgottenOriginals(ctx, dst, o.UnreadableForgotten); err != nil {
			return res, fmt.Errorf("destination: %w", err)
		}
	}
	c := &copier{dst: dst, src: src, res: &res, data: map[repo.ID]repo.ID{}, trees: map[repo.ID]repo.ID{}, zipped: map[[2]repo.ID]struct{}{}}

	sns = slices.Clone(sns)
	slices.SortStableFunc(sns, func(a, b *snapshot.Snapshot) int { return a.Time.Compare(b.Time) })
	seeded := false
	var inc IncompleteError
	var pairs [][2]*snapshot.Snapshot // source snapshot, its copy in dst
	for _, id := range slices.SortedFunc(maps.Keys(o.Unlisted), repo.ID.Compare) {
		r := SnapshotResult{Source: id, Error: o.Unlisted[id].Error()}
		res.Failed++
		inc.Failed = append(inc.Failed, r)
		inc.Errs = append(inc.Errs, fmt.Errorf("snapshot file %s: %w", id.Short(), o.Unlisted[id]))
		res.Snapshots = append(res.Snapshots, r)
		if o.Progress != nil {
			o.Progress(r)
		}
	}
	for _, sn := range sns {
		r := SnapshotResult{Source: sn.ID(), Time: sn.Time, Host: sn.Hostname, Paths: sn.Paths}
		if d, ok := done[originalID(sn)]; ok {
			r.Dest, r.Skipped = d.ID(), true
			res.Skipped++
			pairs = append(pairs, [2]*snapshot.Snapshot{sn, d})
		} else if at, ok := forgotten.Forgot(sn); ok {
			r.Forgotten = at
			res.NotAgain++
		} else {
			if !seeded {
				seeded = true
				if err := c.seed(ctx, have, sns); err != nil {
					return res, err
				}
			}
			where := func() string {
				return fmt.Sprintf("copy snapshot %s: tree %s, blob %s", sn.ID().Short(), c.curTree.Short(), c.curBlob.Short())
			}
			var tree repo.ID
			err := panicerr.Call(where, func() (err error) {
				tree, err = c.tree(ctx, sn.Tree)
				return err
			})
			var pe *panicerr.Error
			if errors.As(err, &pe) {
				return res, err // names the snapshot already
			}
			// failed reports the snapshot as not copied; the copy goes on.
			failed := func(err error) {
				r.Error = err.Error()
				res.Failed++
				inc.Failed = append(inc.Failed, r)
				inc.Errs = append(inc.Errs, fmt.Errorf("snapshot %s: %w", sn.ID().Short(), err))
				res.Snapshots = append(res.Snapshots, r)
				if o.Progress != nil {
					o.Progress(r)
				}
			}
			var se *sourceError
			if err != nil && errors.As(err, &se) && ctx.Err() == nil {
				// What was saved of it is complete blobs and trees, which
				// later snapshots may share; the snapshot itself is not.
				failed(err)
				continue
			}
			if err != nil {
				return res, fmt.Errorf("copy snapshot %s: %w", sn.ID().Short(), err)
			}
			if err := dst.Flush(ctx); err != nil {
				return res, fmt.Errorf("copy snapshot %s: %w", sn.ID().Short(), err)
			}
			ns := *sn
			ns.Tree = tree
			ns.Parent = nil
			oid := originalID(sn)
			ns.Original = &oid
			if !snapshot.FitErrors(&ns) {
				// Its paths or tags alone are too many: it cannot be
				// saved anywhere, and must not stop the copies after it.
				failed(fmt.Errorf("%w: its paths and tags alone fill more than a snapshot file may hold", snapshot.ErrSnapshotTooLarge))
				continue
			}
			id, err := snapshot.SaveSnapshot(ctx, dst, &ns)
			if err != nil {
				return res, fmt.Errorf("copy snapshot %s: %w", sn.ID().Short(), err)
			}
			done[oid] = &ns
			r.Dest = id
			res.Copied++
			pairs = append(pairs, [2]*snapshot.Snapshot{sn, &ns})
		}
		res.Snapshots = append(res.Snapshots, r)
		if o.Progress != nil {
			o.Progress(r)
		}
	}
	perr := copyProtections(ctx, dst, src, pairs, o, &res)
	var pe *ProtectionsError
	if perr != nil && !errors.As(perr, &pe) {
		return res, perr
	}
	// Both, when both happened: the snapshots not copied and the
	// protections not written are each worth their retry.
	var errs []error
	if len(inc.Failed) > 0 {
		errs = append(errs, &inc)
	}
	if pe != nil {
		errs = append(errs, pe)
	}
	if len(errs) == 1 {
		return res, errs[0]
	}
	return res, errors.Join(errs...)
}

// seed fills the ID maps from destination snapshots copied earlier from
// src: for each host and path set among the snapshots to copy, the newest
// destination snapshot of that host and path set whose source snapshot src
// still has. A pair that cannot be walked (damaged, or not a copy after
// all) only seeds what was walked of it.
func (c *copier) seed(ctx context.Context, have, sns []*snapshot.Snapshot) error {
	// Seeding only saves reads: a source snapshot that cannot be loaded
	// seeds nothing (and fails alone when it is itself copied).
	all, err := snapshot.ListSnapshotsSkipping(ctx, c.src, snapshot.Filter{}, func(_ repo.ID, err error) error {
		if ctx.Err() != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list source snapshots: %w", err)
	}
	byOrig := map[repo.ID]*snapshot.Snapshot{}
	for _, sn := range all {
		byOrig[originalID(sn)] = sn
	}
	type key struct{ host, paths string }
	want := map[key]bool{}
	for _, sn := range sns {
		want[key{sn.Hostname, fmt.Sprint(cleanPaths(sn.Paths))}] = true
	}
	best := map[key][2]*snapshot.Snapshot{}
	for _, d := range have {
		s, ok := byOrig[originalID(d)]
		k := key{d.Hostname, fmt.Sprint(cleanPaths(d.Paths))}
		if !ok || !want[k] {
			continue
		}
		if b, ok := best[k]; !ok || d.Time.After(b[1].Time) {
			best[k] = [2]*snapshot.Snapshot{s, d}
		}
	}
	for _, p := range best {
		if err := c.zip(ctx, p[0].Tree, p[1].Tree); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func cleanPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = path.Clean(p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// zip walks a source tree and its destination copy side by side and
// records the ID pairs. It stops (leaving the map as far as it got) at the
// first difference in shape.
func (c *copier) zip(ctx context.Context, sid, did repo.ID) error {
	if _, ok := c.trees[sid]; ok {
		return nil
	}
	if _, ok := c.zipped[[2]repo.ID{sid, did}]; ok {
		return nil
	}
	c.zipped[[2]repo.ID{sid, did}] = struct{}{}
	if !c.dst.HasBlob(repo.TreeBlob, did) {
		return fmt.Errorf("tree %s missing", did.Short())
	}
	st, err := snapshot.LoadTree(ctx, c.src, sid)
	if err != nil {
		return err
	}
	dt, err := snapshot.LoadTree(ctx, c.dst, did)
	if err != nil {
		return err
	}
	if len(st.Nodes) != len(dt.Nodes) {
		return fmt.Errorf("tree %s: shape differs", sid.Short())
	}
	pairs := map[repo.ID]repo.ID{}
	// The destination tree may stand for the source tree only if every
	// blob below it is live there: a blob only in an obsolete pack (or
	// lost) must be uploaded again, so the tree is rebuilt.
	complete := true
	for i, sn := range st.Nodes {
		dn := dt.Nodes[i]
		if sn.Name != dn.Name || sn.Type != dn.Type || len(sn.Content) != len(dn.Content) {
			return fmt.Errorf("tree %s: shape differs", sid.Short())
		}
		for j, se := range sn.Content {
			de := dn.Content[j]
			if se.Size != de.Size || se.IsHole() != de.IsHole() {
				return fmt.Errorf("tree %s: shape differs", sid.Short())
			}
			if se.IsHole() {
				continue
			}
			if c.dst.HasBlob(repo.DataBlob, de.ID) {
				pairs[se.ID] = de.ID
			} else {
				complete = false
			}
		}
		if sn.Type == snapshot.TypeDir && !sn.Subtree.IsNull() {
			if err := c.zip(ctx, sn.Subtree, dn.Subtree); err != nil {
				return err
			}
			if _, ok := c.trees[sn.Subtree]; !ok {
				complete = false
			}
		}
	}
	for s, d := range pairs {
		c.data[s] = d
	}
	if complete {
		c.trees[sid] = did
	}
	return nil
}

// tree copies a source tree and returns its destination ID.
func (c *copier) tree(ctx context.Context, sid repo.ID) (repo.ID, error) {
	if did, ok := c.trees[sid]; ok {
		return did, nil
	}
	c.curTree = sid
	t, err := snapshot.LoadTree(ctx, c.src, sid)
	if err != nil {
		return repo.ID{}, fromSource(err)
	}
	for _, n := range t.Nodes {
		c.curTree = sid
		for i, e := range n.Content {
			if e.IsHole() {
				continue
			}
			did, err := c.blob(ctx, e.ID)
			if err != nil {
				return repo.ID{}, fmt.Errorf("%s: %w", n.Name, err)
			}
			n.Content[i].ID = did
		}
		if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
			did, err := c.tree(ctx, n.Subtree)
			if err != nil {
				return repo.ID{}, err
			}
			n.Subtree = did
		}
	}
	b, err := snapshot.EncodeTree(t)
	if err != nil {
		return repo.ID{}, err
	}
	did, isNew, err := c.dst.SaveBlob(ctx, repo.TreeBlob, b)
	if err != nil {
		return repo.ID{}, err
	}
	if isNew {
		c.res.TreeBlobs++
		c.res.Bytes += int64(len(b))
	}
	c.trees[sid] = did
	return did, nil
}

// blob copies a source data blob unless its destination ID is known.
func (c *copier) blob(ctx context.Context, sid repo.ID) (repo.ID, error) {
	if did, ok := c.data[sid]; ok {
		return did, nil
	}
	c.curBlob = sid
	plain, err := c.src.LoadBlob(ctx, repo.DataBlob, sid, c.buf)
	if err != nil {
		return repo.ID{}, fromSource(err)
	}
	c.buf = plain[:0]
	c.res.BlobsRead++
	did := c.dst.BlobID(plain)
	if !c.dst.HasBlob(repo.DataBlob, did) {
		var isNew bool
		did, isNew, err = c.dst.SaveBlob(ctx, repo.DataBlob, plain)
		if err != nil {
			return repo.ID{}, err
		}
		if isNew {
			c.res.DataBlobs++
			c.res.Bytes += int64(len(plain))
		}
	}
	c.data[sid] = did
	return did, nil
}
