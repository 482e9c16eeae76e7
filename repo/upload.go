package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/lpse/cadang/repo/backend"
)

// maxUploads is the number of packs being written at once: one on up to
// seven cores, where a single uploader (SHA-256 of the pack, write, fsync)
// keeps up with the savers; then one per four cores, at most four. On 16
// cores one uploader left savers waiting for its slot (bench/README.md,
// "Scaling with cores"). Each costs a pack buffer.
func maxUploads(be backend.Backend) int {
	// A remote backend is bound by round trips, not by the CPU: it says
	// how many requests it keeps in flight, and that many packs upload at
	// once (one at a time, a 20 ms round trip halved an S3 backup's speed).
	if c, ok := be.(backend.Concurrent); ok && c.Connections() > 0 {
		return min(c.Connections(), 32)
	}
	return min(max(1, runtime.GOMAXPROCS(0)/4), 4)
}

// sealPack appends the sealed header of a full pack and its length, and
// returns the complete pack file and its name.
func (r *Repository) sealPack(p *packer) ([]byte, ID, error) {
	hdr := encodePackHeader(p.blobs)
	n := len(p.buf)
	buf, err := r.key.Seal(p.buf, hdr, packHeaderAD)
	if err != nil {
		return nil, ID{}, err
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-n))
	return buf, storedName(buf), nil
}

// storePack saves a sealed pack (sealPack) under its name and indexes it.
// Where the backend writes a pack and makes it durable apart
// (backend.Stager: a local disk), the pack's upload slot is exchanged for
// a sync slot (toSync) once the pack is written and its buffer free, so
// that the next pack is written while this one's fsyncs wait on the disk.
// The upload slots bound the pack buffers in flight; the sync slots bound
// the files waiting for the disk.
func (r *Repository) storePack(ctx context.Context, p *packer, buf []byte, id ID, toSync func()) error {
	h := backend.Handle{Type: PackFile, Name: id.String()}
	if st, ok := r.be.(backend.Stager); ok {
		commit, err := st.Stage(ctx, h, buf)
		r.releasePack(p, buf)
		if err != nil {
			r.dropPending(p.blobs)
			return fmt.Errorf("save pack %s: %w", id, err)
		}
		// The sync slot is taken before the upload slot is given up: a
		// disk slower than the savers then holds them back, as one upload
		// at a time did, instead of gathering open files without end.
		toSync()
		if err := commit(ctx); err != nil {
			r.dropPending(p.blobs)
			return fmt.Errorf("save pack %s: %w", id, err)
		}
	} else {
		err := r.be.Save(ctx, h, buf)
		r.releasePack(p, buf)
		if err != nil {
			r.dropPending(p.blobs)
			return fmt.Errorf("save pack %s: %w", id, err)
		}
	}
	if err := r.idx.AddPack(id, p.blobs); err != nil {
		r.dropPending(p.blobs) // not indexed: a later save must store them again
		return fmt.Errorf("index pack %s: %w", id, err)
	}
	r.mu.Lock()
	for _, b := range p.blobs {
		delete(r.pending[b.Type], b.ID)
	}
	r.unsaved = append(r.unsaved, IndexPack{ID: id, Blobs: p.blobs})
	due := r.opts.Now().Sub(r.lastIndex) >= r.opts.IndexInterval || r.indexFullLocked()
	r.mu.Unlock()
	if due {
		return r.writeIndex(ctx)
	}
	return nil
}

// maxSyncs is the number of written packs that may wait for their fsyncs
// at once (backend.Stager). Each holds an open file and no buffer.
const maxSyncs = 4

// uploads runs pack writes in the background. Its goroutines belong to
// the Repository: Flush and Close wait for them. A failed upload is
// reported once, by the next SaveBlob or Flush; its blobs are no longer
// pending, so saving them again stores them.
type uploads struct {
	sem   chan struct{}
	syncs chan struct{} // packs written and waiting to be made durable
	wg    sync.WaitGroup
	drain sync.Mutex // held while failure() takes every slot
	mu    sync.Mutex
	err   error
}

func newUploads(n int) *uploads {
	return &uploads{sem: make(chan struct{}, n), syncs: make(chan struct{}, maxSyncs)}
}

// start runs fn once a slot is free. fn may exchange its upload slot for
// a sync slot with toSync, once it no longer holds a pack buffer but still
// waits for the storage; either slot is given back only after fn's error
// is recorded, so that failure, which takes every slot, sees it.
func (u *uploads) start(ctx context.Context, fn func(toSync func()) error) error {
	if err := u.failure(); err != nil {
		return err
	}
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		synced := false
		toSync := func() {
			if !synced {
				u.syncs <- struct{}{}
				<-u.sem
				synced = true
			}
		}
		if err := fn(toSync); err != nil {
			u.mu.Lock()
			if u.err == nil {
				u.err = err
			}
			u.mu.Unlock()
		}
		if synced {
			<-u.syncs
		} else {
			<-u.sem
		}
	}()
	return nil
}

// takeErr returns the first upload error not yet reported, and forgets it.
func (u *uploads) takeErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	err := u.err
	u.err = nil
	return err
}

// failure returns nil when no upload has failed since the last report.
// Otherwise it waits for the uploads still in flight and reports their
// failures too: one error for the whole episode, after which no stale
// failure can surface on a later, healthy call (a disk that filled up and
// was freed again, say).
func (u *uploads) failure() error {
	err := u.takeErr()
	if err == nil {
		return nil
	}
	// Wait for the uploads in flight by taking every slot: an upload gives
	// its slot back only after recording its error. (u.wg.Wait here could
	// race with another saver's u.wg.Add.) One drainer at a time, or two
	// could each hold half the slots and wait for the other half forever.
	// The upload slots first: an upload waiting for a sync slot holds one,
	// and gets its sync slot once a sync ends.
	u.drain.Lock()
	for range cap(u.sem) {
		u.sem <- struct{}{}
	}
	for range cap(u.syncs) {
		u.syncs <- struct{}{}
	}
	for range cap(u.syncs) {
		<-u.syncs
	}
	for range cap(u.sem) {
		<-u.sem
	}
	u.drain.Unlock()
	if more := u.takeErr(); more != nil {
		err = errors.Join(err, more)
	}
	return err
}

// wait waits for every upload and returns the first error not yet reported.
func (u *uploads) wait() error {
	u.wg.Wait()
	return u.takeErr()
}
