package repo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/internal/readahead"
	"github.com/lpse/cadang/repo/backend"
)

// CheckOptions select how much a check reads.
type CheckOptions struct {
	// ReadData decrypts and re-hashes every blob of the selected packs
	// (except those Verified reports).
	ReadData bool
	// SubsetPart and SubsetTotal (n/t, 1 <= n <= t) read only the packs
	// whose first ID byte modulo t is n-1; repeating with n = 1..t covers
	// the whole repository.
	SubsetPart, SubsetTotal int
	// SubsetFraction (0 < f < 1) reads a random part of the packs instead.
	SubsetFraction float64
	// Progress is called after each pack whose data was read.
	Progress func(packsDone, packsTotal int, bytes int64)
	// Verified, if set, reports whether this check has already loaded the
	// blob from loc (its pack, offset and length) and verified it as a
	// read does: decrypted, decompressed and hashed to its ID (the snapshot
	// layer's tree walk loads every tree that way). A read pack's header is
	// checked as always, and its hash is then taken: in a pack whose hash
	// matches its name such a blob is not opened again.
	// Packs holding only tree blobs are read last, so that the walk has
	// usually passed them by then. It must be safe for concurrent use.
	Verified func(loc BlobLocation) bool
	// DecodeFile, if set, decodes the plaintext of each record and
	// protection file whose seal opened; an error marks the file damaged.
	// The layers above the repository know what those files hold (package
	// snapshot: a protection that opens but decodes to none stops every
	// forget just as one that does not open).
	DecodeFile func(t FileType, plain []byte) error
}

// CheckResult summarises a check. Problems lists every finding; the check
// passed when it is empty.
type CheckResult struct {
	Packs          int       `json:"packs"`
	PacksRead      int       `json:"packs_read"`
	BytesRead      int64     `json:"bytes_read"`
	Blobs          int       `json:"blobs"`
	BlobsRead      int       `json:"blobs_read"`
	UnindexedPacks []ID      `json:"unindexed_packs,omitempty"`
	TempFiles      []string  `json:"temp_files,omitempty"` // left by killed saves, older than TempSweepAge: harmless, so not problems
	Problems       []Problem `json:"problems,omitempty"`
}

func (c *CheckResult) add(kind ProblemKind, err error) {
	c.Problems = append(c.Problems, NewProblem(kind, err))
}

// ProblemKind says what a check found wrong, so that a program can act on
// a finding (re-upload a pack, repair the index, forget a snapshot)
// without parsing messages.
type ProblemKind string

// The kinds of problems. The repository's check reports the first four;
// the snapshot layer's check (package snapshot/checker) the others.
const (
	// ProblemPackMissing: the index names a pack that does not exist (or
	// vanished while the check ran).
	ProblemPackMissing ProblemKind = "pack-missing"
	// ProblemFileDamaged: a stored file's bytes fail their hash, do not
	// decrypt or do not decode (a pack, its header, an index or snapshot
	// file). File names it.
	ProblemFileDamaged ProblemKind = "file-damaged"
	// ProblemBlobDamaged: one blob in a pack does not decrypt or does not
	// match its ID. File is the pack and Blob the blob.
	ProblemBlobDamaged ProblemKind = "blob-damaged"
	// ProblemIndexMismatch: the index and a pack's header disagree about
	// a blob (missing from the header, or at another place).
	ProblemIndexMismatch ProblemKind = "index-mismatch"
	// ProblemBlobNotIndexed: a snapshot's tree names a blob the index does
	// not know.
	ProblemBlobNotIndexed ProblemKind = "blob-not-indexed"
	// ProblemInvalidTree: a tree blob decodes but breaks the format's
	// rules, or a file node's extents do not add up to its size.
	ProblemInvalidTree ProblemKind = "invalid-tree"
	// ProblemSnapshotDamaged: a snapshot file cannot be loaded or decoded.
	ProblemSnapshotDamaged ProblemKind = "snapshot-damaged"
	// ProblemUnsupported: an object in a format version newer than this
	// cadang reads (doc/design.md, "Versions"). It is not damage, and what
	// it references was not checked; Err wraps ErrUnsupportedVersion.
	ProblemUnsupported ProblemKind = "unsupported"
)

// Problem is one finding of a check. File and Blob say where, when known;
// Snapshot and Path are set by the snapshot layer for findings under a
// snapshot's trees.
type Problem struct {
	Kind     ProblemKind    `json:"kind"`
	File     backend.Handle `json:"-"`
	Blob     *BlobHandle    `json:"blob,omitempty"`
	Snapshot *ID            `json:"snapshot,omitempty"`
	Path     string         `json:"path,omitempty"`
	Err      error          `json:"-"`
}

// BlobHandle names a blob by type and ID.
type BlobHandle struct {
	Type BlobType `json:"type"`
	ID   ID       `json:"id"`
}

func (b BlobHandle) String() string { return fmt.Sprintf("%s blob %s", b.Type, b.ID) }

// NewProblem makes a Problem of kind from err, taking the file and blob
// from a *DamagedError in err.
func NewProblem(kind ProblemKind, err error) Problem {
	p := Problem{Kind: kind, Err: err}
	var d *DamagedError
	var u *UnsupportedError
	switch {
	case errors.As(err, &d):
		p.File = d.File
		if d.Blob != nil {
			p.Blob = &BlobHandle{ID: *d.Blob} // the type, where known, is set by the caller
		}
	case errors.As(err, &u):
		p.File = u.File
		if u.Blob != nil {
			p.Blob = &BlobHandle{ID: *u.Blob}
		}
	}
	return p
}

// Error returns the finding as one line, as `cadang check` prints it.
func (p Problem) Error() string {
	msg := string(p.Kind)
	if p.Err != nil {
		msg = p.Err.Error()
	}
	if p.Snapshot != nil {
		loc := "snapshot " + p.Snapshot.Short()
		if p.Path != "" {
			loc += ": " + p.Path
		}
		return loc + ": " + msg
	}
	return msg
}

func (p Problem) Unwrap() error { return p.Err }

// TempSweepAge is how old a temporary file must be before it counts as
// left behind: far longer than any save takes, so that a file still being
// written is never touched.
const TempSweepAge = time.Hour

// Sweeper is an optional interface of backends that write each file under a
// temporary name first (local). A save killed before it removed that name
// leaves the file behind; nothing else ever reads or removes it.
type Sweeper interface {
	// SweepTemp returns the temporary files last modified before cutoff,
	// and removes them if remove is set.
	SweepTemp(ctx context.Context, cutoff time.Time, remove bool) ([]string, error)
}

// sweepTemp lists (and with remove, removes) temporary files older than
// TempSweepAge. Backends without temporary files have none to report.
func (r *Repository) sweepTemp(ctx context.Context, remove bool) ([]string, error) {
	sw, ok := optional[Sweeper](r.be)
	if !ok {
		return nil, nil
	}
	files, err := sw.SweepTemp(ctx, r.opts.Now().Add(-TempSweepAge), remove)
	if err != nil {
		return files, fmt.Errorf("temporary files in %s: %w", r.be.Location(), err)
	}
	return files, nil
}

// selected reports whether a pack is in the requested n/t subset (all
// packs without one).
func (o CheckOptions) selected(id ID) bool {
	if o.SubsetTotal > 0 {
		return int(id[0])%o.SubsetTotal == o.SubsetPart-1
	}
	return true
}

// randomSubset picks, for SubsetFraction, that part of packs at random,
// rounded up: at least one pack of a repository that has any. Drawn pack by
// pack, 5% of ten packs was no pack at all in most checks, which then said
// that no errors were found. nil without SubsetFraction.
func (o CheckOptions) randomSubset(packs []ID) map[ID]bool {
	if o.SubsetFraction <= 0 || o.SubsetFraction >= 1 || o.SubsetTotal > 0 {
		return nil
	}
	// Less a hair: 7% parses as 0.07, and 0.07*100 is 7.000000000000001.
	n := min(int(math.Ceil(o.SubsetFraction*float64(len(packs))-1e-9)), len(packs))
	n = max(n, min(1, len(packs)))
	pick := make(map[ID]bool, n)
	for _, i := range mrand.Perm(len(packs))[:n] {
		pick[packs[i]] = true
	}
	return pick
}

// Check verifies the repository's structure: every indexed blob lies in an
// existing pack whose header lists it at the same place. With ReadData it
// also reads packs, and decrypts and re-hashes every blob that
// CheckOptions.Verified does not report as verified already; a pack's
// SHA-256 is checked against its name where the blobs do not settle whether
// its bytes are the ones written (readPack). Trees are checked by the
// snapshot layer.
func (r *Repository) Check(ctx context.Context, o CheckOptions) (*CheckResult, error) {
	if o.SubsetTotal > 0 && (o.SubsetPart < 1 || o.SubsetPart > o.SubsetTotal) {
		return nil, fmt.Errorf("check: subset %d/%d: n must be between 1 and t", o.SubsetPart, o.SubsetTotal)
	}
	res := &CheckResult{}
	// Open passes over an index file it cannot read (indexskip.go), so
	// it is a finding here rather than the error that stops the check.
	// (checkSmallFiles reports the obsolete-pack files.)
	for _, err := range r.SkippedFiles() {
		if f := fileOf(err); f.Type != IndexFile {
			continue
		}
		if errors.Is(err, ErrUnsupportedVersion) {
			res.add(ProblemUnsupported, err)
		} else {
			res.add(ProblemFileDamaged, err)
		}
	}
	sizes := map[ID]int64{}
	err := r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
		if id, err := ParseID(fi.Name); err == nil {
			sizes[id] = fi.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	res.Packs = len(sizes)

	byPack := r.idx.byPackCopies()
	var mu sync.Mutex
	for pack, blobs := range byPack {
		res.Blobs += len(blobs)
		if _, ok := sizes[pack]; !ok {
			h := backend.Handle{Type: PackFile, Name: pack.String()}
			res.Problems = append(res.Problems, Problem{Kind: ProblemPackMissing, File: h,
				Err: fmt.Errorf("pack %s is named by the index for %d blobs but does not exist", pack, len(blobs))})
		}
	}
	var packs []ID
	for id := range sizes {
		if _, ok := byPack[id]; !ok {
			res.UnindexedPacks = append(res.UnindexedPacks, id)
		}
		packs = append(packs, id)
	}
	// In the order of their names, the packs holding only trees last
	// (CheckOptions.Verified).
	treesOnly := make(map[ID]bool, len(byPack))
	for id, bl := range byPack {
		treesOnly[id] = !slices.ContainsFunc(bl, func(b blobCopy) bool { return b.loc.Type != TreeBlob })
	}
	sort.Slice(packs, func(i, j int) bool {
		if ti, tj := treesOnly[packs[i]], treesOnly[packs[j]]; ti != tj {
			return tj
		}
		return bytes.Compare(packs[i][:], packs[j][:]) < 0 // the order of the hex names
	})
	var toRead []ID
	if o.ReadData {
		pick := o.randomSubset(packs)
		for _, id := range packs {
			if pick == nil && o.selected(id) || pick[id] {
				toRead = append(toRead, id)
			}
		}
	}
	readSet := map[ID]bool{}
	for _, id := range toRead {
		readSet[id] = true
	}
	var done atomic.Int64
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(cctx)
	// The temporary files and the small sealed files are checked while the
	// packs are read, not before (a few hundred run-log records, each a
	// file of its own, held the first pack back). Their findings still come
	// first in the result.
	small := &CheckResult{}
	side := make(chan error, 1)
	go func() {
		err := panicerr.Call(func() string { return "check small files" }, func() (err error) {
			// cctx: the group's context ends when the packs are done.
			if small.TempFiles, err = r.sweepTemp(cctx, false); err != nil {
				return err
			}
			return r.checkSmallFiles(cctx, small, o.DecodeFile)
		})
		if err != nil {
			cancel() // the packs' check stops too
		}
		side <- err
	}()
	inFlight := runtime.GOMAXPROCS(0) + 2
	g.SetLimit(inFlight)
	// The packs to read next are asked for while these are checked: on a
	// cold disk (a backup medium is never in the page cache) each load
	// then finds its bytes read, instead of holding a thread in pread.
	// toRead is in the order of packs, the order they are handed out.
	ahead := &readahead.Window{N: len(toRead), MaxItems: 2 * inFlight, MaxBytes: readahead.MaxBytes,
		Size: func(i int) int64 { return min(sizes[toRead[i]], readahead.MaxBytes) },
		Ask:  func(i int) { r.PrefetchPack(gctx, toRead[i], 0, min(sizes[toRead[i]], readahead.MaxBytes)) }}
	_, prefetching := optional[backend.Prefetcher](r.be)
	if prefetching {
		ahead.Start()
	}
	fetched := 0
	for _, pack := range packs {
		g.Go(func() (err error) {
			// A panic on a crafted pack fails the check; in this goroutine
			// it would kill the process, lock and all.
			defer panicerr.Catch(&err, func() string { return "check pack " + pack.String() })
			var problems []Problem
			var hdr []PackBlob
			var nRead int
			var bytesRead int64
			if readSet[pack] {
				var err error
				hdr, nRead, bytesRead, problems, err = r.readPack(gctx, pack, sizes[pack], o.Verified, byPack[pack])
				if err != nil {
					return err
				}
				n := done.Add(1)
				if o.Progress != nil {
					o.Progress(int(n), len(toRead), bytesRead)
				}
			} else {
				var err error
				hdr, err = r.ReadPackHeader(gctx, pack, sizes[pack])
				if backend.IsNotExist(err) {
					h := backend.Handle{Type: PackFile, Name: pack.String()}
					problems = append(problems, Problem{Kind: ProblemPackMissing, File: h, Err: fmt.Errorf("%s vanished during the check", h)})
					err = nil
				}
				if errors.Is(err, ErrUnsupportedVersion) {
					// Written by a newer cadang: listed, and the check goes
					// on (doc/design.md §13).
					problems = append(problems, NewProblem(ProblemUnsupported, err))
					err = nil
				}
				if err != nil {
					if !IsDamaged(err) {
						return err
					}
					problems = append(problems, NewProblem(ProblemFileDamaged, err))
				}
			}
			if hdr != nil {
				problems = append(problems, compareHeader(pack, hdr, byPack[pack])...)
			}
			mu.Lock()
			defer mu.Unlock()
			if readSet[pack] && bytesRead > 0 { // not one too large to read, or gone
				res.PacksRead++
				res.BlobsRead += nRead
				res.BytesRead += bytesRead
			}
			res.Problems = append(res.Problems, problems...)
			return nil
		})
		// Asked for after the hand-out, so that asking never delays a load.
		if prefetching && readSet[pack] {
			ahead.Took(fetched)
			fetched++
		}
	}
	err = g.Wait()
	if err != nil {
		cancel() // the side check's result no longer matters
	}
	if serr := <-side; serr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = serr // the cause, not the cancellation it caused
	}
	if err != nil {
		return res, err
	}
	res.TempFiles = small.TempFiles
	res.Problems = append(small.Problems, res.Problems...)
	return res, r.dropPruned(ctx, res)
}

// MaxForgottenFileSize is the largest stored size of a forgotten file:
// package snapshot's MaxForgottenSize of JSON, sealed. Check does not read
// a larger one (copies do not), and reports it.
const MaxForgottenFileSize = 16<<20 + crypto.Overhead

// smallFileTypes are the sealed files besides packs, index and snapshots
// (which Open and the snapshot layer's check read anyway) that check reads
// whole: each is small, and a flipped byte in a run-log record must not pass
// as "no errors were found".
var smallFileTypes = []FileType{KeyFile, RecordFile, ProtectFile, ObsoleteFile, ForgottenFile}

// checkSmallFiles verifies the name and the seal of every key, record,
// protection and obsolete file (and decodes the obsolete ones), adding a
// problem for each damaged one. A
// file removed while the check runs (a protection lifted, an obsolete set
// done) is skipped.
func (r *Repository) checkSmallFiles(ctx context.Context, res *CheckResult, decode func(FileType, []byte) error) error {
	for _, t := range smallFileTypes {
		var ids []ID
		sizes := map[ID]int64{}
		err := r.ListFilesSized(ctx, t, func(id ID, size int64) error { ids, sizes[id] = append(ids, id), size; return nil })
		switch {
		case t == ForgottenFile && errors.Is(err, backend.ErrUnknownType):
			continue // a REST server of an older cadang: none there
		case err != nil:
			return fmt.Errorf("list %s: %w", t, err)
		}
		for _, id := range ids {
			var err error
			switch {
			case t == ForgottenFile && sizes[id] > MaxForgottenFileSize:
				// Not read, as copies do not read it.
				err = damaged(backend.Handle{Type: t, Name: id.String()}, nil, "%d bytes, larger than any forgotten file (at most %d), and not read", sizes[id], MaxForgottenFileSize)
			case t == KeyFile:
				_, err = loadKeyFile(ctx, r.be, id)
			case t == ObsoleteFile:
				// Decoded too, as loading the index does: a sealed set
				// whose plaintext is rejected stops every prune, and
				// check must not call that repository sound.
				var plain []byte
				if plain, err = r.LoadFile(ctx, t, id); err == nil {
					if _, _, derr := decodeObsolete(plain); derr != nil {
						err = unreadable(backend.Handle{Type: t, Name: id.String()}, nil, derr)
					}
				}
			default:
				var plain []byte
				if plain, err = r.LoadFile(ctx, t, id); err == nil && decode != nil {
					if derr := decode(t, plain); derr != nil {
						err = unreadable(backend.Handle{Type: t, Name: id.String()}, nil, derr)
					}
				}
			}
			switch {
			case err == nil, backend.IsNotExist(err):
			case errors.Is(err, ErrUnsupportedVersion):
				res.add(ProblemUnsupported, err)
			case IsDamaged(err):
				res.add(ProblemFileDamaged, err)
			default:
				return err
			}
		}
	}
	return nil
}

// dropPruned takes back the missing-pack findings of packs that a prune
// deleted while the check ran (doc/design.md section 18): prune takes a
// pack out of the index before it deletes it, so a pack the reloaded
// index no longer names was deleted on purpose, not lost.
func (r *Repository) dropPruned(ctx context.Context, res *CheckResult) error {
	missing := false
	for _, p := range res.Problems {
		if p.Kind == ProblemPackMissing {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if err := r.reloadIndex(ctx); err != nil {
		return err
	}
	named := map[ID]struct{}{}
	for _, id := range r.idx.PackIDs() {
		named[id] = struct{}{}
	}
	keep := res.Problems[:0]
	for _, p := range res.Problems {
		if p.Kind == ProblemPackMissing {
			id, err := ParseID(p.File.Name)
			if _, ok := named[id]; err == nil && !ok {
				continue
			}
		}
		keep = append(keep, p)
	}
	res.Problems = keep
	return nil
}

func compareHeader(pack ID, hdr []PackBlob, indexed []blobCopy) []Problem {
	type key struct {
		t  BlobType
		id ID
	}
	inHdr := make(map[key]PackBlob, len(hdr))
	for _, b := range hdr {
		inHdr[key{b.Type, b.ID}] = b
	}
	var out []Problem
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	mismatch := func(b BlobLocation, format string, args ...any) {
		id := b.ID
		out = append(out, Problem{Kind: ProblemIndexMismatch, File: h, Blob: &BlobHandle{Type: b.Type, ID: id},
			Err: damaged(h, &id, format, args...)})
	}
	for _, c := range indexed {
		b := c.loc
		hb, ok := inHdr[key{b.Type, b.ID}]
		switch {
		case !ok:
			mismatch(b, "indexed %s blob is missing from the pack header", b.Type)
		case hb.Offset != b.Offset || hb.Length != b.Length:
			mismatch(b, "index says offset %d length %d, pack header says %d/%d", b.Offset, b.Length, hb.Offset, hb.Length)
		case hb.RawLength != c.raw:
			mismatch(b, "index records a raw length of %d bytes, pack header %d", c.raw, hb.RawLength)
		}
	}
	return out
}

// readPack loads a whole pack and opens every blob in it.
//
// Whether the pack's SHA-256 matches its name is asked only where the blobs
// cannot settle it (doc/design.md §6, "Checking a whole pack"): the sealed
// header, the blobs' seals and the header's lengths, which must tile the
// file, cover every byte, so a pack whose header and blobs all open holds
// blobs that are exactly what the index says, and hashing its bytes again
// was the largest single cost of a full check. The hash is taken when a
// blob is to be skipped as verified already (its bytes in this read are
// not opened), and when anything fails, so that the findings are those of
// a check that hashed first. What is left unreported (whole sealed objects
// moved between places of the same length) is in the design document.
//
// A pack whose header cannot be read (cut short: the header is at its end)
// has the blobs the index places in it (indexed) opened at the index's
// places instead (openIndexed): those cut off or damaged are named, so
// that Check's caller can trace them to the files that use them.
func (r *Repository) readPack(ctx context.Context, pack ID, size int64, verified func(BlobLocation) bool, indexed []blobCopy) (hdr []PackBlob, blobs int, n int64, problems []Problem, err error) {
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	var data []byte
	var ownPlain, ownOpen []byte
	scratch, open := &ownPlain, &ownOpen // decompressed and decrypted blobs
	if max := r.packLoadLimit(); size > max {
		// Not read: a listing that claims more than any pack holds would
		// have the check allocate it.
		return nil, 0, 0, []Problem{{Kind: ProblemFileDamaged, File: h, Err: tooLarge(h, size, max)}}, nil
	}
	if size > 0 {
		// The listed size: read into a pooled buffer (a full check reads
		// every byte of the repository once).
		lb := r.getLoadBuf(int(size))
		defer func() {
			// LoadBlobsFromPack, which shares the free list, never uses
			// open: a buffer grown for one huge blob is not kept for it.
			if cap(lb.open) > r.packBufSize() {
				lb.open = nil
			}
			r.loadBufs.Put(lb)
		}()
		data, scratch, open = lb.pack, &lb.plain, &lb.open
		err = backend.LoadInto(ctx, r.be, h, 0, data)
		if errors.Is(err, io.ErrUnexpectedEOF) { // shrank since it was listed
			data, err = r.loadPack(ctx, h)
		}
	} else {
		data, err = r.loadPack(ctx, h)
	}
	if errors.Is(err, ErrTooLarge) {
		return nil, 0, 0, []Problem{{Kind: ProblemFileDamaged, File: h, Err: err}}, nil
	}
	if err != nil {
		if backend.IsNotExist(err) {
			return nil, 0, 0, []Problem{{Kind: ProblemPackMissing, File: h, Err: fmt.Errorf("%s vanished during the check", h)}}, nil
		}
		return nil, 0, 0, nil, fmt.Errorf("load %s: %w", h, err)
	}
	n = int64(len(data))
	// data keeps the bytes as read until the end: blobs are opened beside
	// it, never in place, so the hash may be taken after a failure.
	hashed, intact := false, false
	nameMatches := func() bool {
		if !hashed {
			intact, hashed = storedName(data) == pack, true
		}
		return intact
	}
	// withName puts the name's finding first, as a check that hashed
	// first reports it.
	withName := func(ps ...Problem) []Problem {
		if nameMatches() {
			return ps
		}
		return append([]Problem{NewProblem(ProblemFileDamaged, damaged(h, nil, "SHA-256 of its %d bytes does not match its name", len(data)))}, ps...)
	}
	if len(data) < 4 {
		blobs, ps := r.openIndexed(h, data, indexed, open, scratch)
		return nil, blobs, n, withName(append([]Problem{NewProblem(ProblemFileDamaged, damaged(h, nil, "pack of %d bytes is too short", len(data)))}, ps...)...), nil
	}
	hdr, err = r.parsePackTail(h, int64(len(data)), data, func(off, l int64) ([]byte, error) { return data[off : off+l], nil })
	if errors.Is(err, ErrUnsupportedVersion) {
		// Written by a newer cadang: not damage, and not for repair packs;
		// but its bytes must still be the ones named (a review).
		return nil, 0, n, withName(NewProblem(ProblemUnsupported, err)), nil
	}
	if err != nil {
		blobs, ps := r.openIndexed(h, data, indexed, open, scratch)
		return nil, blobs, n, withName(append([]Problem{NewProblem(ProblemFileDamaged, err)}, ps...)...), nil
	}
	var skip []bool
	if verified != nil {
		for i, b := range hdr {
			if loc := (BlobLocation{Type: b.Type, ID: b.ID, Pack: pack, Offset: b.Offset, Length: b.Length}); verified(loc) &&
				r.rawLengthIs(loc, b.RawLength) {
				if skip == nil {
					skip = make([]bool, len(hdr))
				}
				skip[i] = true
			}
		}
		// This check has already opened such a blob at this place of the
		// pack and hashed it to its ID, with the plaintext length this
		// header records; but those were the bytes of another load (a
		// cached copy, another read of a failing medium). They are these
		// only if the pack holds the bytes it was written with: its hash
		// matches its name. Otherwise every blob is opened, so that the
		// damaged ones are named.
		if skip != nil && !nameMatches() {
			skip = nil
		}
	}
	for i, b := range hdr {
		if skip != nil && skip[i] {
			blobs++
			continue
		}
		if _, err := r.openBlobBeside(h, b.Type, b.ID, []int{int(b.RawLength)}, data[b.Offset:b.Offset+b.Length], open, scratch); err != nil {
			p := NewProblem(ProblemBlobDamaged, err)
			p.Blob = &BlobHandle{Type: b.Type, ID: b.ID}
			problems = append(problems, p)
			continue
		}
		blobs++
	}
	if len(problems) > 0 || hashed {
		// A mismatch found for the skip is reported even when every blob,
		// opened because of it, is sound.
		problems = withName(problems...)
	}
	return hdr, blobs, n, problems, nil
}

// openIndexed opens the blobs that the index places in a pack whose header
// cannot be read, at the index's places in data, and returns how many open
// and a finding of kind ProblemBlobDamaged for each of the others: one
// beyond the end of data (the pack was cut short) or one that does not
// open. A restore reads a blob by the index's range, and 'repair packs'
// keeps what opens so: only the others are lost, and the check names
// them, as it names a damaged blob in a pack whose header opens.
func (r *Repository) openIndexed(h backend.Handle, data []byte, indexed []blobCopy, open, scratch *[]byte) (blobs int, problems []Problem) {
	cs := slices.Clone(indexed)
	sort.Slice(cs, func(i, j int) bool { return cs[i].loc.Offset < cs[j].loc.Offset })
	for _, c := range cs {
		l := c.loc
		id := l.ID
		end := int64(l.Offset) + int64(l.Length)
		var err error
		if end > int64(len(data)) {
			err = damaged(h, &id, "%s blob at bytes %d to %d is cut off: the pack ends at %d bytes", l.Type, l.Offset, end, len(data))
		} else {
			_, err = r.openBlobBeside(h, l.Type, l.ID, []int{int(c.raw)}, data[l.Offset:end], open, scratch)
		}
		if err != nil {
			p := NewProblem(ProblemBlobDamaged, err)
			p.Blob = &BlobHandle{Type: l.Type, ID: l.ID}
			problems = append(problems, p)
			continue
		}
		blobs++
	}
	return blobs, problems
}

// rawLengthIs reports whether the index records raw, and only raw, as the
// plaintext length of the copy at loc (a loaded blob was checked against
// one of those).
func (r *Repository) rawLengthIs(loc BlobLocation, raw uint32) bool {
	var buf [2]int
	rl := r.rawLengths(loc, buf[:0])
	return len(rl) == 1 && rl[0] == int(raw)
}

// RebuildIndex is RepairIndex for callers that need only the counts.
func (r *Repository) RebuildIndex(ctx context.Context, logf func(string, ...any)) (packs, blobs int, err error) {
	res, err := r.RepairIndex(ctx, RepairIndexOptions{Logf: logf})
	if err != nil {
		return 0, 0, err
	}
	return res.Packs, res.Blobs, nil
}

// RepairIndexOptions tune RepairIndex.
type RepairIndexOptions struct {
	// Logf receives what the repair finds and does: a pack whose header
	// cannot be read, a file removed. Nil discards it.
	Logf func(format string, args ...any)
}

// RepairIndexResult is what RepairIndex did.
type RepairIndexResult struct {
	// Packs and Blobs are those of the new index.
	Packs, Blobs int
	// DamagedHeaders are the packs whose header cannot be read, in the
	// order of their names, and KeptDamaged those of them that stay
	// indexed by the old index's entries that still open from their
	// bytes. 'repair packs' takes them out, salvaging what they hold.
	DamagedHeaders, KeptDamaged []ID
	// RemovedObsolete are the obsolete-pack files removed because they
	// could not be read.
	RemovedObsolete []ID
	// MissingPacks are the packs the old index files named that do not
	// exist, in the order of their names, and LostBlobs the blobs they
	// held that no pack of the new index holds: what the repository lost
	// (the snapshots that use them are damaged until a backup of the same
	// content stores them again). Old index files that cannot be read
	// count for nothing here.
	MissingPacks []ID
	LostBlobs    []BlobHandle
}

// RepairIndex reads the header of every pack and writes a fresh index from
// them alone, then removes the old index files and the obsolete-pack files
// that cannot be read (an index file of a newer format too: every pack's
// own header was read, and a newer pack stops the repair). Packs whose
// headers are damaged are reported and left out, except for the entries of
// the old index that still open from their bytes. On a storage that
// refuses removals it changes nothing and returns an *AppendOnlyError.
// Hold an exclusive lock
// while calling it; when that lock was taken through r, temporary files
// older than TempSweepAge are removed too (see Sweeper).
func (r *Repository) RepairIndex(ctx context.Context, o RepairIndexOptions) (*RepairIndexResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res := &RepairIndexResult{}
	// It writes the new index before it removes the old one: a server
	// that refuses the removals would keep both, and the next repair
	// would write a third.
	if err := r.RefuseAppendOnly("repair index"); err != nil {
		return nil, err
	}
	// The obsolete sets first: the next prune needs them, and those that
	// cannot be read are removed below. Failing here changes nothing.
	sets, skippedSets, err := r.obsoleteSets(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("%w (nothing was changed)", err)
	}
	var old []ID
	if err := r.ListFiles(ctx, IndexFile, func(id ID) error { old = append(old, id); return nil }); err != nil {
		return nil, err
	}
	type entry struct {
		id   ID
		size int64
	}
	var all []entry
	err = r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
		if id, err := ParseID(fi.Name); err == nil {
			all = append(all, entry{id, fi.Size})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	var mu sync.Mutex
	var out []IndexPack
	badHeader := map[ID]error{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for _, e := range all {
		g.Go(func() error {
			hdr, err := r.ReadPackHeader(gctx, e.id, e.size)
			if err != nil {
				if IsDamaged(err) {
					mu.Lock()
					badHeader[e.id] = err
					mu.Unlock()
					return nil
				}
				return err
			}
			mu.Lock()
			out = append(out, IndexPack{ID: e.id, Blobs: hdr})
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	listed := make(map[ID]bool, len(all))
	for _, e := range all {
		listed[e.id] = true
	}
	oldEntries, err := r.oldIndexEntries(ctx, old, func(id ID) bool { _, bad := badHeader[id]; return bad || !listed[id] })
	if err != nil {
		return nil, err
	}
	kept, err := r.keepDamagedHeaders(ctx, oldEntries, badHeader, logf)
	if err != nil {
		return nil, err
	}
	for id := range badHeader {
		res.DamagedHeaders = append(res.DamagedHeaders, id)
	}
	slices.SortFunc(res.DamagedHeaders, ID.Compare)
	for _, p := range kept {
		res.KeptDamaged = append(res.KeptDamaged, p.ID)
	}
	slices.SortFunc(res.KeptDamaged, ID.Compare)
	out = append(out, kept...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	// Write the new index before removing the old one, so that a crash in
	// between leaves duplicates (harmless) rather than nothing.
	// Files of at most indexFileBlobs blobs, as a session writes them: a
	// count of packs let packs of many small blobs make files of
	// gigabytes, which every later open reads whole.
	var written []ID
	for rest := out; len(rest) > 0; {
		k := indexFilePacks(rest)
		id, err := r.WriteIndex(ctx, rest[:k])
		if err != nil {
			return nil, err
		}
		written = append(written, id)
		rest = rest[k:]
	}
	for _, id := range old {
		if err := r.RemoveFile(ctx, IndexFile, id); err != nil && !backend.IsNotExist(err) {
			return nil, fmt.Errorf("remove old index %s: %w", id.Short(), err)
		}
	}
	res.Packs = len(out)
	for _, p := range out {
		res.Blobs += len(p.Blobs)
	}
	res.MissingPacks, res.LostBlobs = lostWith(oldEntries, listed, out)
	// Build the new index apart and swap it in under the index's lock:
	// LoadBlob and HasBlob may be running meanwhile.
	fresh := NewIndex()
	fresh.SetObsolete(obsoletePackIDs(sets))
	// A set that cannot be read stops every prune. Without it its packs
	// are ordinary packs again, indexed by the headers just read (or
	// unindexed), and the next prune decides on them anew.
	for id, serr := range skippedSets {
		if err := r.RemoveFile(ctx, ObsoleteFile, id); err != nil && !backend.IsNotExist(err) {
			return nil, fmt.Errorf("remove unreadable obsolete-pack file %s: %w", id.Short(), err)
		}
		logf("removed the obsolete-pack file %s, which cannot be read (%v): its packs are ordinary packs again, and the next prune decides on them anew", id, serr)
		res.RemovedObsolete = append(res.RemovedObsolete, id)
	}
	slices.SortFunc(res.RemovedObsolete, ID.Compare)
	if err := fresh.bulkAdd(out); err != nil {
		return nil, err
	}
	r.idx.replace(fresh)
	r.noteIndexRead(written, nil, true)
	if r.holdsExclusiveLock() {
		// No other writer can be saving now, so this is a safe moment to
		// clear away what killed writers left.
		swept, err := r.sweepTemp(ctx, true)
		if err != nil {
			logf("removing leftover temporary files: %v", err)
		} else if len(swept) > 0 {
			logf("removed %d temporary files left by interrupted saves", len(swept))
		}
	}
	return res, nil
}

// oldIndexEntries returns what the old index files list for the packs
// that want picks, each entry once. An old index file that cannot be read
// is passed over (there is nothing to read from it); any other error
// stops the repair before it has changed anything.
func (r *Repository) oldIndexEntries(ctx context.Context, old []ID, want func(ID) bool) (map[ID][]PackBlob, error) {
	type entryKey struct {
		h                   BlobHandle
		offset, length, raw uint32
	}
	blobs := map[ID][]PackBlob{}
	seen := map[ID]map[entryKey]bool{}
	for _, name := range old {
		content, err := r.loadIndexFile(ctx, name)
		if err != nil {
			if IsDamaged(err) || errors.Is(err, ErrUnsupportedVersion) || backend.IsNotExist(err) {
				continue // nothing to read from it
			}
			return nil, fmt.Errorf("read old index %s: %w (nothing was changed)", name.Short(), err)
		}
		for _, p := range content {
			if !want(p.ID) {
				continue
			}
			if seen[p.ID] == nil {
				seen[p.ID] = map[entryKey]bool{}
			}
			for _, b := range p.Blobs {
				k := entryKey{BlobHandle{b.Type, b.ID}, b.Offset, b.Length, b.RawLength}
				if !seen[p.ID][k] {
					seen[p.ID][k] = true
					blobs[p.ID] = append(blobs[p.ID], b)
				}
			}
		}
	}
	return blobs, nil
}

// lostWith returns the packs of the old index's entries that are not
// listed, sorted, and the blobs they held that no pack of the new index
// holds, sorted by type and ID.
func lostWith(oldEntries map[ID][]PackBlob, listed map[ID]bool, fresh []IndexPack) ([]ID, []BlobHandle) {
	var missing []ID
	gone := map[BlobHandle]bool{}
	for id, bl := range oldEntries {
		if listed[id] {
			continue
		}
		missing = append(missing, id)
		for _, b := range bl {
			gone[BlobHandle{b.Type, b.ID}] = true
		}
	}
	slices.SortFunc(missing, ID.Compare)
	if len(gone) == 0 {
		return missing, nil
	}
	for _, p := range fresh {
		for _, b := range p.Blobs {
			delete(gone, BlobHandle{b.Type, b.ID})
		}
	}
	lost := slices.Collect(maps.Keys(gone))
	slices.SortFunc(lost, func(a, b BlobHandle) int {
		if c := cmp.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return a.ID.Compare(b.ID)
	})
	return missing, lost
}

// keepDamagedHeaders returns what the old index files say (blobs, from
// oldIndexEntries) of the packs whose header cannot be read (a truncated
// pack, say), as far as it checks out against the pack's bytes
// (intactIn). Dropping them from the index would throw away the only map
// to the blobs such a pack still holds intact, which 'repair packs'
// salvages by it (a review lost 40 readable blobs so).
func (r *Repository) keepDamagedHeaders(ctx context.Context, blobs map[ID][]PackBlob, bad map[ID]error, logf func(string, ...any)) ([]IndexPack, error) {
	var out []IndexPack
	for id, herr := range bad {
		bl, err := r.intactIn(ctx, id, blobs[id])
		if err != nil {
			// Not knowing is not "nothing opens": the old index files
			// stay, and the repair can be run again.
			return nil, fmt.Errorf("pack %s, whose header cannot be read (%v): check its old index entries: %w (nothing was changed)", id.Short(), herr, err)
		}
		if len(bl) > 0 {
			logf("pack %s: its header cannot be read (%v); the %d of its blob(s) that the old index lists and that still open stay indexed: 'cadang repair packs %s' salvages them", id, herr, len(bl), id)
			out = append(out, IndexPack{ID: id, Blobs: bl})
		} else {
			logf("skipping pack: %v (no blob the old index lists for it opens: nothing can be salvaged from it)", herr)
		}
	}
	return out, nil
}

// intactIn returns those of the blobs an old index file lists for a pack
// that open from the pack's bytes (decrypt, match their raw length, hash
// to their ID). Only those may stay indexed: an entry beyond a truncated
// pack's end, or one an index file forged, would have the next backup
// deduplicate against a blob that is not there.
//
// Each entry is read alone, so memory is one blob's; entries are tried in
// offset order, passing over one that lies beyond the file or overlaps one
// that opened (a pack's blobs do not overlap), and the bytes authenticated
// are bounded by twice the file's size: a forged index file of a million
// entries over one large junk file must not keep the remedy for forged
// index files busy for hours. Past that bound it stops with an error
// rather than drop entries it has not checked (genuine ones may lie behind
// forged ones at the same places). A pack that is gone has nothing to
// keep; any other error is returned.
func (r *Repository) intactIn(ctx context.Context, pack ID, blobs []PackBlob) ([]PackBlob, error) {
	if len(blobs) == 0 {
		return nil, nil
	}
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	fi, err := r.be.Stat(ctx, h)
	if backend.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", h, err)
	}
	sorted := slices.Clone(blobs)
	slices.SortFunc(sorted, func(a, b PackBlob) int { return cmp.Compare(a.Offset, b.Offset) })
	budget := 2 * fi.Size
	var out []PackBlob
	var end uint64 // of the last blob that opened
	for _, b := range sorted {
		e := uint64(b.Offset) + uint64(b.Length)
		// Shorter than any sealed blob: a length of 0 would also load to
		// the end of the file, uncharged.
		if e > uint64(fi.Size) || uint64(b.Offset) < end || b.Length < 1+crypto.Overhead {
			continue
		}
		if budget -= int64(b.Length); budget < 0 {
			// Entries in the file are left unchecked: dropping them could
			// drop genuine ones behind forged ones at the same places.
			return nil, fmt.Errorf("the old index files list more for it than twice its %d bytes can hold (a forged index file?); 'cadang repair packs %s' salvages by the current index, then run this again", fi.Size, pack)
		}
		sealed, err := r.be.Load(ctx, h, int64(b.Offset), int64(b.Length))
		switch {
		case backend.IsNotExist(err):
			return nil, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			continue
		case err != nil:
			return nil, fmt.Errorf("load %s: %w", h, err)
		}
		if _, err := r.openBlob(h, b.Type, b.ID, []int{int(b.RawLength)}, sealed, nil); err == nil {
			out = append(out, b)
			end = e
		}
	}
	return out, nil
}

// LoadNewIndex adds to the index the index files written since it was read
// (by Open or LoadIndex), reading only those: check calls it after listing
// the snapshots, so that a snapshot saved meanwhile finds its blobs, and
// reading every index file a second time cost as much as the first read
// (issue 16). The obsolete sets are read again, as LoadIndex does. If a
// listed file vanished (a prune rewriting the index), it reads them all.
func (r *Repository) LoadNewIndex(ctx context.Context) error {
	r.mu.Lock()
	skip := make(map[ID]struct{}, len(r.indexRead))
	for id := range r.indexRead {
		skip[id] = struct{}{}
	}
	r.mu.Unlock()
	all, obsolete, names, skipped, err := r.readIndexFiles(ctx, skip)
	if backend.IsNotExist(err) {
		return r.LoadIndex(ctx)
	}
	if err != nil {
		return err
	}
	r.idx.SetObsolete(obsolete)
	if err := r.idx.bulkAdd(all); err != nil {
		return err
	}
	r.noteIndexRead(names, skipped, false)
	return nil
}
