package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// moved reloads the index after pack was not found and reports whether
// the index no longer names it: prune deleted it (an obsolete pack whose
// blobs live elsewhere, doc/design.md section 18) after this session
// loaded its index. A pack the fresh index still names is really missing.
//
// A pack found really missing is remembered for the session: a reload
// reads every index file, and a crafted index file naming every blob in a
// pack that does not exist would otherwise cost one reload per blob.
func (r *Repository) moved(ctx context.Context, pack ID) bool {
	r.mu.Lock()
	_, known := r.missingPacks[pack]
	r.mu.Unlock()
	if known {
		return false
	}
	if err := r.reloadIndex(ctx); err != nil {
		return false
	}
	if !r.idx.HasPack(pack) {
		return true
	}
	r.mu.Lock()
	if r.missingPacks == nil {
		r.missingPacks = map[ID]struct{}{}
	}
	r.missingPacks[pack] = struct{}{}
	r.mu.Unlock()
	return false
}

// loadMoved loads blobs whose pack prune deleted from where the reloaded
// index has them, one by one.
func (r *Repository) loadMoved(ctx context.Context, blobs []BlobLocation, fn func(BlobLocation, []byte, error) error) error {
	for _, b := range blobs {
		plain, err := r.LoadBlob(ctx, b.Type, b.ID, nil)
		if ferr := fn(b, plain, err); ferr != nil {
			return ferr
		}
	}
	return nil
}

// LoadBlob returns the plaintext of a blob. It verifies the blob's ID.
//
// A blob the index has in several places is read from each in the order
// of Index.Locations until one verifies: a copy that is damaged, lies in a
// pack that does not exist, or was named wrongly by a crafted index file
// (doc/design.md §7, "Several copies of a blob") is passed over. The error,
// when every copy fails, is the first copy's. Other errors (the backend
// unreachable, the context cancelled) end the load at once.
func (r *Repository) LoadBlob(ctx context.Context, t BlobType, id ID, buf []byte) ([]byte, error) {
	plain, _, err := r.loadBlob(ctx, t, id, buf, nil)
	return plain, err
}

// LoadBlobLocated is LoadBlob, and also returns the location of the copy it
// read: check notes which copies its walk of the trees verified.
func (r *Repository) LoadBlobLocated(ctx context.Context, t BlobType, id ID, buf []byte) ([]byte, BlobLocation, error) {
	return r.loadBlob(ctx, t, id, buf, nil)
}

// sameLocation reports whether a and b name the same bytes of one pack.
func sameLocation(a, b BlobLocation) bool {
	return a.Pack == b.Pack && a.Offset == b.Offset && a.Length == b.Length
}

// locKey is a location of a blob, as map key.
type locKey struct {
	pack           ID
	offset, length uint32
}

func keyOf(l BlobLocation) locKey { return locKey{l.Pack, l.Offset, l.Length} }

// copyToTry is one location of a blob with every raw length the index
// records there.
type copyToTry struct {
	loc  BlobLocation
	raws []int
}

// copiesToTry groups the blob's indexed copies by location, in the order
// of Index.Locations.
func (r *Repository) copiesToTry(t BlobType, id ID) []copyToTry {
	cs := r.idx.copies(t, id)
	out := make([]copyToTry, 0, len(cs))
	var at map[locKey]int
	if len(cs) > 1 {
		at = make(map[locKey]int, len(cs))
	}
	for _, c := range cs {
		if i, ok := at[keyOf(c.loc)]; ok {
			out[i].raws = append(out[i].raws, int(c.raw))
			continue
		}
		if at != nil {
			at[keyOf(c.loc)] = len(out)
		}
		out = append(out, copyToTry{loc: c.loc, raws: []int{int(c.raw)}})
	}
	return out
}

// loadBlob is LoadBlob, trying no location skip reports (nil: none). Each
// location is read once, whatever the number of raw lengths recorded for
// it, and checked against all of them (pickRaw).
func (r *Repository) loadBlob(ctx context.Context, t BlobType, id ID, buf []byte, skip func(BlobLocation) bool) ([]byte, BlobLocation, error) {
	cs := r.copiesToTry(t, id)
	if len(cs) == 0 {
		return nil, BlobLocation{}, fmt.Errorf("%s blob %s: %w", t, id, ErrBlobNotFound)
	}
	var (
		firstErr error
		tried    map[locKey]bool // made at the first failure
		reloaded bool
	)
	for i := 0; i < len(cs); i++ {
		c := cs[i]
		if (skip != nil && skip(c.loc)) || tried[keyOf(c.loc)] {
			continue
		}
		plain, err := r.loadAt(ctx, c.loc, c.raws, buf)
		if err == nil {
			return plain, c.loc, nil
		}
		if tried == nil {
			tried = map[locKey]bool{}
		}
		tried[keyOf(c.loc)] = true
		if firstErr == nil {
			firstErr = err
		}
		if backend.IsNotExist(err) && !reloaded {
			// Prune deleted this pack (an obsolete one whose blobs live
			// elsewhere, doc/design.md section 18) after this session
			// loaded its index: the reloaded index has the other copies.
			reloaded = true
			if r.moved(ctx, c.loc.Pack) {
				cs, i = r.copiesToTry(t, id), -1
				continue
			}
		}
		if !IsDamaged(err) && !backend.IsNotExist(err) {
			return nil, c.loc, err
		}
	}
	switch {
	case firstErr == nil: // every copy skipped
		return nil, BlobLocation{}, fmt.Errorf("%s blob %s: no other copy: %w", t, id, ErrBlobNotFound)
	case len(tried) > 1:
		firstErr = fmt.Errorf("%w (and %d other copies of the blob failed)", firstErr, len(tried)-1)
	}
	return nil, BlobLocation{}, firstErr
}

// loadAt loads and opens the copy of a blob at loc, whose raw length is
// one of raws.
func (r *Repository) loadAt(ctx context.Context, loc BlobLocation, raws []int, buf []byte) ([]byte, error) {
	h := backend.Handle{Type: PackFile, Name: loc.Pack.String()}
	var sealed []byte
	var err error
	if loc.Type == TreeBlob {
		sealed, err = r.loadTreeBlob(ctx, h, loc)
	} else {
		sealed, err = r.be.Load(ctx, h, int64(loc.Offset), int64(loc.Length))
	}
	switch {
	case err == nil:
		return r.openBlob(h, loc.Type, loc.ID, raws, sealed, buf)
	case IsDamaged(err):
		return nil, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, damaged(h, &loc.ID, "pack is shorter than the index says: %v", err)
	}
	return nil, fmt.Errorf("load %s blob %s from %s: %w", loc.Type, loc.ID, h, err)
}

// decoder returns the repository's zstd decoder. DecodeAll with it writes
// at most cap(dst) bytes (WithDecodeAllCapLimit): finishBlob gives it a
// buffer of exactly the blob's raw length, so a frame that would expand
// further fails before anything beyond that is allocated.
// zstdSlack is the room past a blob's raw length that the zstd decoder
// needs for its fast copies (compressedBlockOverAlloc in klauspost/compress).
const zstdSlack = 64

func (r *Repository) decoder() (*zstd.Decoder, error) {
	r.decOnce.Do(func() {
		r.dec, r.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxBlobSize+1<<20),
			zstd.WithDecodeAllCapLimit(true))
		if r.decErr != nil {
			r.decErr = fmt.Errorf("zstd decoder: %w", r.decErr)
		}
	})
	return r.dec, r.decErr
}

// rawUnknown, as the raw length of openBlob, openBlobInPlace and
// finishBlob, makes them look the blob's raw length up in the index (for a
// location the index does not have; Repository.rawLength finds the one
// of an indexed location).
const rawUnknown = -1

func (r *Repository) openBlob(h backend.Handle, t BlobType, id ID, raws []int, stored, buf []byte) ([]byte, error) {
	return r.openStored(h, t, id, raws, stored, &buf, func(comp byte, sealed, ad []byte) ([]byte, error) {
		var dst []byte
		if comp == compressNone {
			dst = buf[:0] // raw payloads decrypt straight into the caller's buffer
		}
		return r.key.Open(dst, sealed, ad)
	})
}

// openStored opens a stored blob (its compression byte, then its sealed
// payload): decrypt opens the payload, with the associated data that binds
// it to t, id and comp, and the plaintext is then decompressed into
// *scratch where it is compressed, and checked against id and one of raws
// (pickRaw, finishBlob). The ways of opening differ only in where decrypt
// puts the plaintext.
func (r *Repository) openStored(h backend.Handle, t BlobType, id ID, raws []int, stored []byte, scratch *[]byte,
	decrypt func(comp byte, sealed, ad []byte) ([]byte, error)) ([]byte, error) {
	if len(stored) < 1+crypto.Overhead {
		return nil, damaged(h, &id, "stored blob of %d bytes is too short", len(stored))
	}
	comp := stored[0]
	plain, err := decrypt(comp, stored[1:], blobAD(t, id, comp))
	if err != nil {
		return nil, damaged(h, &id, "%v", err)
	}
	return r.finishBlob(h, t, id, comp, pickRaw(comp, plain, raws), plain, scratch)
}

// pickRaw chooses, of the raw lengths the index records for a copy (one,
// unless index files disagree), the one its plaintext claims: its length
// if stored raw, the size in its zstd frame header if compressed. The
// blob is then checked against that length alone, so a crafted entry with
// another length costs no decompression and does not fail the good copy.
// No raws means rawUnknown.
func pickRaw(comp byte, plain []byte, raws []int) int {
	switch len(raws) {
	case 0:
		return rawUnknown
	case 1:
		return raws[0]
	}
	claim := -1
	switch comp {
	case compressNone:
		claim = len(plain)
	case compressZstd:
		var fh zstd.Header
		if fh.Decode(plain) == nil && fh.HasFCS && fh.FrameContentSize <= MaxBlobSize {
			claim = int(fh.FrameContentSize)
		}
	}
	if claim >= 0 && slices.Contains(raws, claim) {
		return claim
	}
	return raws[0]
}

// rawLengths appends to dst the raw lengths the index records for the
// copy at loc (Index.rawLengthsAt). They must be that copy's: a crafted
// index entry for another copy, with another length, would otherwise fail
// the good copy.
func (r *Repository) rawLengths(loc BlobLocation, dst []int) []int {
	return r.idx.rawLengthsAt(loc, dst)
}

// openBlobInPlace opens a stored blob in a buffer the caller owns: it is
// decrypted where it lies (stored's bytes are lost, whatever the outcome),
// so an uncompressed plaintext is a subslice of stored. A compressed one is
// decompressed into *scratch, which keeps the grown buffer for the next
// blob; scratch never points into stored. raws are the raw lengths the
// index records for the copy (Repository.rawLengths).
func (r *Repository) openBlobInPlace(h backend.Handle, t BlobType, id ID, raws []int, stored []byte, scratch *[]byte) ([]byte, error) {
	return r.openStored(h, t, id, raws, stored, scratch, func(_ byte, sealed, ad []byte) ([]byte, error) {
		return r.key.OpenInPlace(sealed, ad)
	})
}

// openBlobBeside opens a stored blob without changing stored: the payload
// is decrypted into *open and a compressed one decompressed into *scratch
// (each kept grown for the next blob). Check opens a pack's blobs so,
// because only when one fails does it hash the whole pack, and the hash
// must be of the bytes as read.
func (r *Repository) openBlobBeside(h backend.Handle, t BlobType, id ID, raws []int, stored []byte, open, scratch *[]byte) ([]byte, error) {
	return r.openStored(h, t, id, raws, stored, scratch, func(_ byte, sealed, ad []byte) ([]byte, error) {
		plain, err := r.key.Open((*open)[:0], sealed, ad)
		if cap(plain) > cap(*open) {
			*open = plain[:0]
		}
		return plain, err
	})
}

// finishBlob decompresses a decrypted blob (into *buf, which it replaces
// with a larger buffer when it needs one, so that a caller reusing *buf
// allocates only for a blob larger than any before) and
// verifies its length and ID. raw is the plaintext length recorded for it
// (rawUnknown: look it up in the index). Decompression writes into a
// buffer of exactly that length and fails if the frame would produce more
// or fewer bytes: a tiny frame can expand to a gigabyte, and the recorded
// length, not the frame, decides what a blob may cost (doc/design.md §6).
func (r *Repository) finishBlob(h backend.Handle, t BlobType, id ID, comp byte, raw int, plain []byte, buf *[]byte) ([]byte, error) {
	if raw == rawUnknown {
		if l, ok := r.idx.RawLength(t, id); ok {
			raw = int(l)
		}
	}
	var out []byte
	switch comp {
	case compressNone:
		out = plain
		if raw != rawUnknown && len(out) != raw {
			return nil, damaged(h, &id, "plaintext is %d bytes, the index or pack header records %d", len(out), raw)
		}
	case compressZstd:
		dec, err := r.decoder()
		if err != nil {
			return nil, err
		}
		if raw == rawUnknown {
			// Not indexed (a caller's own location): cadang's writer
			// records the size in the frame header.
			var fh zstd.Header
			if err := fh.Decode(plain); err != nil || !fh.HasFCS || fh.FrameContentSize > MaxBlobSize {
				return nil, damaged(h, &id, "raw length unknown: not in the index, and the zstd frame records no size up to %d", MaxBlobSize)
			}
			raw = int(fh.FrameContentSize)
		}
		if raw > MaxBlobSize {
			return nil, damaged(h, &id, "raw length %d exceeds the largest blob (%d)", raw, MaxBlobSize)
		}
		// zstdSlack bytes beyond the raw length let the decoder use its
		// fast copies, which may write up to 32 bytes past a match; with
		// no slack it takes the bounds-exact ones for every block of a
		// blob under 128 KiB and the last block of any other (a third of
		// a full check's CPU time went to them). The length check below
		// still refuses a frame that expands beyond raw.
		// The three-index slice bounds what the decoder may write; *buf
		// keeps its whole capacity for the next, perhaps larger, blob
		// (keeping the bounded slice instead made nearly every blob of a
		// restore allocate: 317 MB of garbage for a 1 GB restore).
		if cap(*buf) < raw+zstdSlack {
			*buf = make([]byte, 0, raw+zstdSlack)
		}
		if out, err = dec.DecodeAll(plain, (*buf)[:0:raw+zstdSlack]); err != nil {
			return nil, damaged(h, &id, "decompress to the recorded %d bytes: %v", raw, err)
		}
		if len(out) != raw {
			return nil, damaged(h, &id, "decompressed to %d bytes, the index or pack header records %d", len(out), raw)
		}
	default:
		return nil, damaged(h, &id, "unknown compression %d", comp)
	}
	if ID(r.key.BlobID(out)) != id {
		return nil, damaged(h, &id, "content does not hash to the blob's ID")
	}
	return out, nil
}

// PrefetchPack asks the backend, where it can (backend.Prefetcher), to
// start reading length bytes of a pack at offset (0: to the end) before
// they are loaded. It returns at once and may do nothing.
func (r *Repository) PrefetchPack(ctx context.Context, pack ID, offset, length int64) {
	if pf, ok := optional[backend.Prefetcher](r.be); ok {
		pf.Prefetch(ctx, backend.Handle{Type: PackFile, Name: pack.String()}, offset, length)
	}
}

// LoadBlobsFromPack reads the listed blobs of one pack in a single range
// request and calls fn for each, in offset order. A blob that fails to
// verify there, or whose pack is missing, is read from another copy where
// the index has one (LoadBlob); one that no copy gives is passed with the
// error of this pack; fn decides whether to go on. The plaintext passed to
// fn is only valid until fn returns.
func (r *Repository) LoadBlobsFromPack(ctx context.Context, pack ID, blobs []BlobLocation, fn func(BlobLocation, []byte, error) error) error {
	return r.loadBlobsFromPack(ctx, pack, blobs, nil, true, fn)
}

// loadBlobsFromPack is LoadBlobsFromPack; without fallback it reads no
// other copy, and a blob that fails here is passed with its error. raws,
// if not nil, gives each location's raw lengths (VerifyCopies has them at
// hand; looking them up per location scans the blob's every copy).
func (r *Repository) loadBlobsFromPack(ctx context.Context, pack ID, blobs []BlobLocation, raws func(BlobLocation) []int, fallback bool, fn func(BlobLocation, []byte, error) error) error {
	if len(blobs) == 0 {
		return nil
	}
	sorted := append([]BlobLocation(nil), blobs...)
	sortLocations(sorted)
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	start := int64(sorted[0].Offset)
	end := start
	for _, b := range sorted {
		if e := int64(b.Offset) + int64(b.Length); e > end {
			end = e
		}
	}
	// In place only where that is safe: a range no real pack can have
	// (a damaged index) goes through Load, which checks it against the
	// file's size before allocating, and overlapping locations (also a
	// damaged index) are opened from copies, since a failed in-place open
	// wipes its bytes, which would fail a neighbour sharing them.
	inPlace := end-start <= int64(r.packBufSize())+MaxBlobSize+1<<20 && !overlapping(sorted)
	var data []byte
	lb := &loadBuf{}
	var err error
	if inPlace {
		lb = r.getLoadBuf(int(end - start))
		defer r.loadBufs.Put(lb)
		data = lb.pack
		err = backend.LoadInto(ctx, r.be, h, start, data)
	} else {
		data, err = r.be.Load(ctx, h, start, end-start)
	}
	if fallback && backend.IsNotExist(err) && r.moved(ctx, pack) {
		// Prune deleted this (obsolete) pack after our index was loaded;
		// the reloaded index has the blobs' live copies.
		return r.loadMoved(ctx, sorted, fn)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) && len(sorted) > 1 {
		// The pack is shorter than the range: truncated, or one location
		// (a crafted index entry) lies beyond its end. Each blob alone,
		// so that those within the file still load.
		return r.loadEach(ctx, sorted, raws, fallback, fn)
	}
	if err != nil {
		lerr := fmt.Errorf("load %s: %w", h, err)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			lerr = damaged(h, nil, "pack is shorter than the index says: %v", err)
		}
		for _, b := range sorted {
			var plain []byte
			berr := lerr
			if fallback {
				plain, berr = r.otherCopy(ctx, b, lerr, func(l BlobLocation) bool { return l.Pack == pack })
			}
			if ferr := fn(b, plain, berr); ferr != nil {
				return ferr
			}
		}
		return nil
	}
	var (
		prev    *BlobLocation
		plain   []byte
		openErr error
		rawBuf  [2]int
	)
	for i := range sorted {
		b := &sorted[i]
		// A blob listed twice is opened once: decryption in place has
		// already consumed its sealed bytes.
		if prev == nil || b.Offset != prev.Offset || b.Length != prev.Length || b.ID != prev.ID || b.Type != prev.Type {
			sealed := data[int64(b.Offset)-start : int64(b.Offset)-start+int64(b.Length)]
			if !inPlace {
				sealed = bytes.Clone(sealed)
			}
			var rl []int
			if raws != nil {
				rl = raws(*b)
			} else {
				rl = r.rawLengths(*b, rawBuf[:0])
			}
			plain, openErr = r.openBlobInPlace(h, b.Type, b.ID, rl, sealed, &lb.plain)
			if openErr != nil && fallback {
				plain, openErr = r.otherCopy(ctx, *b, openErr, func(l BlobLocation) bool { return sameLocation(l, *b) })
			}
			prev = b
		}
		if err := fn(*b, plain, openErr); err != nil {
			return err
		}
	}
	return nil
}

// loadEach is loadBlobsFromPack for one blob at a time.
func (r *Repository) loadEach(ctx context.Context, blobs []BlobLocation, raws func(BlobLocation) []int, fallback bool, fn func(BlobLocation, []byte, error) error) error {
	var rawBuf [2]int
	for _, b := range blobs {
		var rl []int
		if raws != nil {
			rl = raws(b)
		} else {
			rl = r.rawLengths(b, rawBuf[:0])
		}
		plain, err := r.loadAt(ctx, b, rl, nil)
		if err != nil && fallback {
			plain, err = r.otherCopy(ctx, b, err, func(l BlobLocation) bool { return sameLocation(l, b) })
		}
		if ferr := fn(b, plain, err); ferr != nil {
			return ferr
		}
	}
	return nil
}

// otherCopy loads the blob of loc from another copy after loading it from
// loc failed with err, passing over the locations skip reports. It
// returns err unchanged where err is not damage or a missing pack, or no
// other copy verifies.
func (r *Repository) otherCopy(ctx context.Context, loc BlobLocation, err error, skip func(BlobLocation) bool) ([]byte, error) {
	if !IsDamaged(err) && !backend.IsNotExist(err) {
		return nil, err
	}
	plain, _, lerr := r.loadBlob(ctx, loc.Type, loc.ID, nil, skip)
	if lerr != nil {
		return nil, err
	}
	return plain, nil
}

// overlapping reports whether any two different locations of sorted (by
// offset: see sortLocations) share bytes. Comparing neighbours is enough:
// a location overlapping a later one overlaps every location between them,
// and a copy of the same blob between two others overlaps them too.
func overlapping(sorted []BlobLocation) bool {
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.Offset == b.Offset && a.Length == b.Length && a.ID == b.ID && a.Type == b.Type {
			continue // the same blob listed twice
		}
		if uint64(a.Offset)+uint64(a.Length) > uint64(b.Offset) {
			return true
		}
	}
	return false
}

// loadBuf is the scratch of one LoadBlobsFromPack call or one pack of a
// check: the pack range as read, a buffer for decompressed blobs, and (for
// check, which opens blobs beside the pack's bytes, openBlobBeside) one
// for decrypted payloads.
type loadBuf struct{ pack, plain, open []byte }

func (r *Repository) getLoadBuf(n int) *loadBuf {
	lb := r.loadBufs.Get()
	if lb == nil {
		lb = &loadBuf{}
	}
	if cap(lb.pack) < n {
		// Room for the largest pack this repository writes, so that a
		// buffer is not replaced by one a few KiB larger for each pack
		// that is (a full check allocated 89 MB of them).
		lb.pack = make([]byte, n, max(n, r.packBufSize()))
	}
	lb.pack = lb.pack[:n]
	return lb
}

// ReadPackHeader loads and decodes the header of a pack file of the given
// size (0: stat it).
func (r *Repository) ReadPackHeader(ctx context.Context, pack ID, size int64) ([]PackBlob, error) {
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	if size == 0 {
		fi, err := r.be.Stat(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", h, err)
		}
		size = fi.Size
	}
	if size < 4 {
		return nil, damaged(h, nil, "pack of %d bytes is too short", size)
	}
	// Read the last 64 KiB in one go; most headers fit.
	tailLen := min(size, 64<<10)
	tail, err := r.be.Load(ctx, h, size-tailLen, tailLen)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	return r.parsePackTail(h, size, tail, func(off, n int64) ([]byte, error) { return r.be.Load(ctx, h, off, n) })
}

func (r *Repository) parsePackTail(h backend.Handle, size int64, tail []byte, load func(off, n int64) ([]byte, error)) ([]PackBlob, error) {
	hdrOff, hdrLen, err := packTrailer(size, tail[len(tail)-4:])
	if err != nil {
		return nil, damaged(h, nil, "%v", err)
	}
	var sealed []byte
	if hdrLen+4 <= int64(len(tail)) {
		sealed = tail[int64(len(tail))-4-hdrLen : int64(len(tail))-4]
	} else {
		sealed, err = load(hdrOff, hdrLen)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", h, err)
		}
	}
	plain, err := r.key.Open(nil, sealed, packHeaderAD)
	if err != nil {
		return nil, damaged(h, nil, "header: %v", err)
	}
	blobs, err := decodePackHeader(plain, hdrOff)
	if err != nil {
		return nil, unreadable(h, nil, err) // AEAD verified it
	}
	return blobs, nil
}
