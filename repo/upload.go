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

// storePack seals the header of a full pack, saves it and indexes it.
func (r *Repository) storePack(ctx context.Context, p *packer) error {
	hdr := encodePackHeader(p.blobs)
	n := len(p.buf)
	buf, err := r.key.Seal(p.buf, hdr, packHeaderAD)
	if err != nil {
		r.dropPending(p.blobs)
		return err
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-n))
	id := storedName(buf)
	h := backend.Handle{Type: PackFile, Name: id.String()}
	if err := r.be.Save(ctx, h, buf); err != nil {
		r.dropPending(p.blobs)
		return fmt.Errorf("save pack %s: %w", id, err)
	}
	if cap(buf) >= r.packBufSize() {
		select {
		case r.packBufs <- buf[:0]: // the backend does not keep buf
		default:
		}
	}
	if err := r.idx.AddPack(id, p.blobs); err != nil {
		return err
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

// uploads runs pack writes in the background. Its goroutines belong to
// the Repository: Flush and Close wait for them. A failed upload is
// reported once, by the next SaveBlob or Flush; its blobs are no longer
// pending, so saving them again stores them.
type uploads struct {
	sem   chan struct{}
	wg    sync.WaitGroup
	drain sync.Mutex // held while failure() takes every slot
	mu    sync.Mutex
	err   error
}

func newUploads(n int) *uploads { return &uploads{sem: make(chan struct{}, n)} }

// start runs fn once a slot is free.
func (u *uploads) start(ctx context.Context, fn func() error) error {
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
		defer func() { <-u.sem }()
		if err := fn(); err != nil {
			u.mu.Lock()
			if u.err == nil {
				u.err = err
			}
			u.mu.Unlock()
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
	u.drain.Lock()
	for range cap(u.sem) {
		u.sem <- struct{}{}
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
