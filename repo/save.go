package repo

import (
	"context"
	"fmt"
	"github.com/klauspost/compress"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/crypto"
)

// DefaultPackSize is the target size of a pack file; see doc/design.md
// ("Pack size") for the measurement behind it.
const DefaultPackSize = 4 << 20

// MinPackSize and MaxPackSize bound the pack size of a repository's config.
const (
	MinPackSize = 1 << 20
	MaxPackSize = 512 << 20
)

// MaxBlobSize is the largest blob SaveBlob accepts. Chunks are far
// smaller (chunk.MaxChunkSize); larger blobs are for library users who
// store whole objects.
const MaxBlobSize = 1 << 30

// openPackers is the number of packs of each blob type filled at once.
// Blobs are spread over them at random so that the size of a pack says
// nothing about the sizes of the chunks of any one file (restic#5291).
const openPackers = 2

type packer struct {
	buf    []byte
	blobs  []PackBlob
	target int
	// writers counts blobs being sealed into buf outside the lock;
	// finishPack waits for them.
	writers sync.WaitGroup
	failed  atomic.Bool
	// slot is set while the packer holds one of r.packSlots: a data pack
	// buffer, from when the packer opens until its pack is written.
	slot atomic.Bool
}

// HasBlob reports whether a writer may reuse a blob: it is indexed in a
// pack that is not obsolete, or waiting in an open pack. LookupBlob finds
// obsolete copies too, for readers.
func (r *Repository) HasBlob(t BlobType, id ID) bool {
	if r.idx.HasLive(t, id) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.pending[t][id]
	return ok
}

// LookupBlob returns where an indexed blob is stored.
func (r *Repository) LookupBlob(t BlobType, id ID) (BlobLocation, bool) {
	return r.idx.Lookup(t, id)
}

// BlobID computes the ID a blob with this content has in this repository.
func (r *Repository) BlobID(data []byte) ID { return r.key.BlobID(data) }

// SaveStats counts what this session added.
type SaveStats struct {
	Blobs       int64 // new blobs
	TreeBlobs   int64
	RawBytes    int64 // plaintext bytes of new blobs
	StoredBytes int64 // sealed bytes of new blobs, after compression
}

// Stats returns the counters of this session.
func (r *Repository) Stats() SaveStats {
	return SaveStats{
		Blobs:       r.stats.blobs[DataBlob].Load() + r.stats.blobs[TreeBlob].Load(),
		TreeBlobs:   r.stats.blobs[TreeBlob].Load(),
		RawBytes:    r.stats.rawBytes[DataBlob].Load() + r.stats.rawBytes[TreeBlob].Load(),
		StoredBytes: r.stats.storedBytes[DataBlob].Load() + r.stats.storedBytes[TreeBlob].Load(),
	}
}

// SaveBlob stores data as a blob of type t unless the repository already
// has it, and reports whether it was new. It is safe for concurrent use and
// does its hashing, compression and encryption in the calling goroutine.
func (r *Repository) SaveBlob(ctx context.Context, t BlobType, data []byte) (ID, bool, error) {
	return r.saveBlob(ctx, t, data, false)
}

// CopyBlob stores data as a new copy even when the index already has the
// blob: prune moves the used blobs of a pack it repacks this way. Like
// SaveBlob, the copy is durable and indexed after Flush.
func (r *Repository) CopyBlob(ctx context.Context, t BlobType, data []byte) (ID, error) {
	id, _, err := r.saveBlob(ctx, t, data, true)
	return id, err
}

func (r *Repository) saveBlob(ctx context.Context, t BlobType, data []byte, again bool) (ID, bool, error) {
	if !t.Valid() {
		return ID{}, false, fmt.Errorf("save blob: invalid type %d", t)
	}
	if len(data) > MaxBlobSize {
		return ID{}, false, fmt.Errorf("save blob: %d bytes exceed the blob limit of %d", len(data), MaxBlobSize)
	}
	if err := ctx.Err(); err != nil {
		return ID{}, false, err
	}
	if err := r.uploads.failure(); err != nil {
		return ID{}, false, err
	}
	if err := r.lockErr(); err != nil {
		return ID{}, false, fmt.Errorf("save %s blob: %w", t, err)
	}
	id := ID(r.key.BlobID(data))
	// Not against a blob whose only copy prune marked obsolete: that pack
	// may be deleted once this session's lock is gone.
	if !again && r.idx.HasLive(t, id) {
		return id, false, nil
	}
	r.mu.Lock()
	if _, ok := r.pending[t][id]; ok {
		r.mu.Unlock()
		return id, false, nil
	}
	r.pending[t][id] = struct{}{}
	r.mu.Unlock()
	// The index may have gained the blob between the check and the mark.
	if !again && r.idx.HasLive(t, id) {
		r.mu.Lock()
		delete(r.pending[t], id)
		r.mu.Unlock()
		return id, false, nil
	}

	comp, payload := compressNone, data
	var scratch []byte
	if r.shouldCompress(data) {
		scratch = r.enc.EncodeAll(data, r.getScratch(len(data)))
		// Keep the compressed form only when it saves at least 1/32.
		if len(scratch) < len(data)-len(data)/32 {
			comp, payload = compressZstd, scratch
		}
	}
	n := 1 + len(payload) + crypto.Overhead

	// Reserve room in a pack and seal straight into it: copying every
	// sealed blob once more cost as much as encrypting it.
	r.mu.Lock()
	p, i := r.packerFor(t, n)
	for p == nil {
		// Every data pack buffer is open, being finished or being written:
		// wait for a written pack's buffer instead of allocating another.
		// Packs retired on the way are finished first, as they hold buffers.
		done := r.retired
		r.retired = nil
		r.mu.Unlock()
		var err error
		for _, d := range done {
			if ferr := r.finishPack(ctx, d); ferr != nil && err == nil {
				err = ferr
			}
		}
		if err == nil {
			select {
			case r.packSlots <- struct{}{}:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil {
			r.dropPending([]PackBlob{{Type: t, ID: id}})
			return ID{}, false, fmt.Errorf("save %s blob %s: %w", t, id.Short(), err)
		}
		r.mu.Lock()
		if i < len(r.packers[t]) && r.packers[t][i] == nil {
			r.packers[t][i] = r.newPacker(t, 0, true)
		} else {
			<-r.packSlots // another saver opened the packer meanwhile
		}
		p, i = r.packerFor(t, n)
	}
	off := len(p.buf)
	p.buf = p.buf[:off+n]
	buf := p.buf
	p.blobs = append(p.blobs, PackBlob{Type: t, ID: id, Offset: uint32(off), Length: uint32(n), RawLength: uint32(len(data)), Compression: comp})
	p.writers.Add(1)
	var done []*packer
	if len(p.buf) >= p.target {
		done = append(done, p)
		r.packers[t][i] = r.newPacker(t, 0, false)
	}
	done = append(done, r.retired...)
	r.retired = nil
	r.mu.Unlock()

	buf[off] = comp
	_, err := r.key.Seal(buf[off+1:off+1], payload, blobAD(t, id, comp))
	if err != nil {
		p.failed.Store(true)
	}
	p.writers.Done()
	if scratch != nil {
		r.putScratch(scratch)
	}
	r.stats.blobs[t].Add(1)
	r.stats.rawBytes[t].Add(int64(len(data)))
	r.stats.storedBytes[t].Add(int64(n))
	for _, d := range done {
		if ferr := r.finishPack(ctx, d); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		return ID{}, false, fmt.Errorf("save %s blob %s: %w", t, id.Short(), err)
	}
	return id, true, nil
}

// packerFor returns an open packer of type t with room for n more bytes,
// and its slot. A packer without room is sent off to be finished first;
// a blob too large for any packer gets one of its own. A nil packer means
// that the slot waits for a data pack buffer (newPacker). Called with r.mu
// held.
func (r *Repository) packerFor(t BlobType, n int) (*packer, int) {
	want := openPackers
	if t == TreeBlob {
		want = 1 // trees are small; one open pack keeps memory down
	}
	for len(r.packers[t]) < want {
		r.packers[t] = append(r.packers[t], r.newPacker(t, 0, false))
	}
	i := mrand.IntN(len(r.packers[t]))
	p := r.packers[t][i]
	if p == nil {
		p = r.newPacker(t, n, false)
		r.packers[t][i] = p
		return p, i
	}
	if cap(p.buf)-len(p.buf) >= n {
		return p, i
	}
	// No room: the caller finishes this pack once the lock is released.
	r.retired = append(r.retired, p)
	p = r.newPacker(t, n, false)
	r.packers[t][i] = p
	return p, i
}

// newPacker opens a packer of type t with room for a blob of atLeast
// bytes. A data packer needs one of r.packSlots (held says the caller has
// taken it): without a free one it returns nil.
func (r *Repository) newPacker(t BlobType, atLeast int, held bool) *packer {
	// Vary the target between 75% and 100% of the pack size, so pack sizes
	// carry no information either.
	target := int(r.cfg.PackSize) * (75 + mrand.IntN(26)) / 100
	p := &packer{target: target}
	size := r.packBufSize()
	if atLeast+64<<10 > size {
		// A blob larger than a whole pack (library use): a pack of its own.
		if held {
			<-r.packSlots
		}
		p.buf = make([]byte, 0, atLeast+64<<10)
		p.target = 0
		return p
	}
	if t == TreeBlob {
		// Trees are a few MiB per backup even for large trees: a small
		// buffer, and a new pack whenever it is full, keeps memory low.
		p.buf = make([]byte, 0, min(size, 2<<20+atLeast))
		return p
	}
	if !held {
		select {
		case r.packSlots <- struct{}{}:
		default:
			return nil
		}
	}
	p.slot.Store(true)
	select {
	case b := <-r.packBufs:
		p.buf = b[:0]
	default:
		p.buf = make([]byte, 0, size)
	}
	return p
}

// packBufSize is the capacity of a pack buffer: the pack size (at least
// two of the largest chunks) and room for the header. A pack is finished
// at its target or when the next blob does not fit, so no pack outgrows
// the pack size; room for one more chunk past it cost a MiB per buffer.
func (r *Repository) packBufSize() int {
	return max(int(r.cfg.PackSize), 2*(int(r.cfg.Chunk.Max)+1+crypto.Overhead)) + 1 + crypto.Overhead + 64<<10
}

// releasePack gives back p's data pack buffer once its pack is written or
// given up: buf (p's buffer, or what became of it) goes to the free list
// and p's slot is freed for the next packer.
func (r *Repository) releasePack(p *packer, buf []byte) {
	if !p.slot.Swap(false) {
		return
	}
	if cap(buf) >= r.packBufSize() {
		select {
		case r.packBufs <- buf[:0]:
		default:
		}
	}
	<-r.packSlots
}

func (r *Repository) getScratch(n int) []byte {
	if bp, _ := r.scratch.Get().(*[]byte); bp != nil && cap(*bp) >= n {
		return (*bp)[:0]
	}
	return make([]byte, 0, max(n, int(r.cfg.Chunk.Max)+64))
}

func (r *Repository) putScratch(b []byte) {
	if cap(b) > 4*int(r.cfg.Chunk.Max) {
		return // a rare huge blob: let it go
	}
	b = b[:0]
	r.scratch.Put(&b)
}

// shouldCompress decides cheaply whether data is worth compressing: small
// blobs always are tried; for larger ones an 8 KiB sample from the middle
// is compressed, and the blob is stored raw if the sample shrinks by less
// than 10%. Photos, PDFs and archives are rejected after a few microseconds.
//
// Before that, a statistical estimate of 2 KiB (klauspost/compress's
// Estimate: byte histogram and order-1 prediction, about 1.5 us) lets
// clearly compressible blobs, such as a SQL dump's, skip the sample: its
// zstd run was spent on every one of them only to say yes (0.2 CPU-s per
// GB of SQL text). The estimate only ever says yes early; a blob it does
// not find clearly compressible (all incompressible data, but also data
// whose redundancy is in repeats that a byte histogram cannot see) is
// decided by the sample as before, so nothing is stored raw that was
// compressed before. On the benchmark's 4,720 blobs over 64 KiB, the
// compressible ones estimated 0.33 or more, the others at most 0.075, as
// did 10,000 random samples.
func (r *Repository) shouldCompress(data []byte) bool {
	if r.cfg.Compression == CompressionOff || len(data) < 64 {
		return false
	}
	const sample = 8 << 10
	if len(data) <= 4*sample {
		return true
	}
	mid := len(data) / 2
	if compress.Estimate(data[mid-estimateSample/2:mid+estimateSample/2]) >= clearlyCompressible {
		return true
	}
	s := data[mid-sample/2 : mid+sample/2]
	var tmp [sample + 512]byte
	out := r.enc.EncodeAll(s, tmp[:0])
	return len(out) < sample-sample/10
}

// estimateSample and clearlyCompressible: see shouldCompress.
const (
	estimateSample      = 2 << 10
	clearlyCompressible = 0.25
)

// finishPack seals the header, stores the pack and indexes its blobs.
func (r *Repository) finishPack(ctx context.Context, p *packer) error {
	p.writers.Wait()
	if p.failed.Load() {
		r.releasePack(p, p.buf)
		r.dropPending(p.blobs)
		return fmt.Errorf("a blob could not be sealed; pack of %d blobs discarded", len(p.blobs))
	}
	if len(p.blobs) == 0 {
		r.releasePack(p, p.buf)
		return nil
	}
	// The goroutine that filled the pack seals its header and hashes it
	// (its name) before it asks for an upload slot, so that a slot is held
	// only while the pack is written: with the hash in the slot, a saver
	// waited for the slot while the one uploader hashed a pack that could
	// have been hashed on the other core (random data, which fills a 4 MiB
	// pack every few milliseconds, bounded a backup there). Writing and
	// fsync happen in the background; at most maxUploads() packs are
	// written at once, and the next finisher waits for a slot.
	buf, id, err := r.sealPack(p)
	if err != nil {
		r.releasePack(p, p.buf)
		r.dropPending(p.blobs)
		return err
	}
	wctx := context.WithoutCancel(ctx)
	if err := r.uploads.start(ctx, func(toSync func()) error { return r.storePack(wctx, p, buf, id, toSync) }); err != nil {
		// The pack will never be written: its blobs must not stay pending,
		// or later saves of them would be skipped as already stored.
		r.releasePack(p, buf)
		r.dropPending(p.blobs)
		return err
	}
	return nil
}

func (r *Repository) dropPending(blobs []PackBlob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range blobs {
		delete(r.pending[b.Type], b.ID)
	}
}

// Flush finishes all open packs and writes the index for them. After Flush
// returns, every blob saved before it is durable and findable.
func (r *Repository) Flush(ctx context.Context) error {
	// Packs finished under a lost lock would only be unindexed garbage.
	if err := r.lockErr(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	r.mu.Lock()
	open := r.retired
	r.retired = nil
	for t := range r.packers {
		for _, p := range r.packers[t] {
			if p != nil {
				open = append(open, p)
			}
		}
		r.packers[t] = nil
	}
	r.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range open {
		g.Go(func() error { return r.finishPack(gctx, p) })
	}
	// Wait for every upload even when a pack failed: one still in flight
	// would otherwise report its failure (a full disk, say) on a later,
	// healthy call, after the disk was freed. Its error belongs to this
	// episode, which the first error already reports.
	gerr := g.Wait()
	uerr := r.uploads.wait()
	if gerr != nil {
		return gerr
	}
	if uerr != nil {
		return uerr
	}
	return r.writeIndex(ctx)
}
