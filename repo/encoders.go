package repo

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// encoders compresses with one zstd encoder per CPU, each used by whoever
// runs on that CPU when it is free.
//
// zstd's own pool (zstd.WithEncoderConcurrency) hands out whichever
// encoder was returned last, so a blob compressed on one core mostly got
// the encoder the other core had just used, whose hash table (256 KiB at
// the fastest level) then had to come over from that core's cache for
// every blob. With two cores, the first backup's zstd took 1.3 times the
// CPU it took on one core (perf, 2026-12-08: 2.25 against 1.74 CPU-s on
// the 1 GB dataset, and twice as much in EncodeNoHist, the blobs of up to
// 128 KiB whose compression is short next to the table's transfer), while
// chunking, hashing and sealing took the same on one or two cores.
type encoders struct {
	slots []encoderSlot
	next  atomic.Uint32 // where currentCPU cannot tell: the slots in turn
}

type encoderSlot struct {
	mu  sync.Mutex
	enc *zstd.Encoder
	_   [40]byte // keep two slots' locks off one cache line
}

// newEncoders makes n encoders (n ≥ 1) with opts; each compresses one
// blob at a time.
func newEncoders(n int, opts ...zstd.EOption) (*encoders, error) {
	e := &encoders{slots: make([]encoderSlot, max(n, 1))}
	for i := range e.slots {
		enc, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderConcurrency(1))...)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.slots[i].enc = enc
	}
	return e, nil
}

// EncodeAll compresses src, appending to dst, with the encoder of the CPU
// it runs on if that one is free, else with any free one, else it waits
// for its CPU's.
func (e *encoders) EncodeAll(src, dst []byte) []byte {
	n := len(e.slots)
	cpu, ok := currentCPU()
	if !ok {
		cpu = int(e.next.Add(1))
	}
	i := cpu % n
	for k := range n {
		s := &e.slots[(i+k)%n]
		if s.mu.TryLock() {
			defer s.mu.Unlock()
			return s.enc.EncodeAll(src, dst)
		}
	}
	s := &e.slots[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc.EncodeAll(src, dst)
}

// Close stops every encoder.
func (e *encoders) Close() error {
	var errs []error
	for i := range e.slots {
		if enc := e.slots[i].enc; enc != nil {
			errs = append(errs, enc.Close())
		}
	}
	return errors.Join(errs...)
}
