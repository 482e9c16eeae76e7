// Package faulty wraps a backend to inject faults and count calls, for tests
// of the layers above: a failing Save, a disk that fills up, a bit flipped or
// a file truncated on the way back from storage, a failing Load. FlipByte and
// Truncate damage a real file on disk instead, for local-backend tests.
//
// A Backend with no faults configured passes the conformance suite, so a test
// can wrap every backend it uses and add faults only where it needs them.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
)

// ErrInjected is the error of an injected failure when no other is given.
var ErrInjected = errors.New("injected fault")

// Counts are the calls a Backend has seen, failed ones included, and the
// bytes that went through successfully.
type Counts struct {
	Saves, Loads, Stats, Lists, Removes int
	SavedBytes, LoadedBytes             int64
}

type flip struct {
	offset int64
	mask   byte
}

type failRule struct {
	match func(backend.Handle) bool
	err   error
}

// Backend is a fault-injecting decorator. It is safe for concurrent use, and
// faults may be added or cleared while it is in use.
type Backend struct {
	inner backend.Backend

	mu         sync.Mutex
	counts     Counts
	loadsOf    map[backend.Handle]int
	savesOf    map[backend.Handle]int
	failSaveAt map[int]error // by the 1-based number of the Save call
	saveRules  []failRule
	loadRules  []failRule
	budget     int64 // bytes Save may still store; < 0 means no limit
	flips      map[backend.Handle][]flip
	truncs     map[backend.Handle]int64
}

var _ backend.Backend = (*Backend)(nil)

// New wraps inner with no faults.
func New(inner backend.Backend) *Backend {
	b := &Backend{inner: inner}
	b.Heal()
	b.loadsOf = make(map[backend.Handle]int)
	b.savesOf = make(map[backend.Handle]int)
	return b
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.inner }

// Heal removes every fault; the counts stay.
func (b *Backend) Heal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failSaveAt = make(map[int]error)
	b.saveRules, b.loadRules = nil, nil
	b.budget = -1
	b.flips = make(map[backend.Handle][]flip)
	b.truncs = make(map[backend.Handle]int64)
}

// FailSave makes the nth Save from now fail (1 is the next one) with an
// error wrapping err, or ErrInjected if err is nil. Nothing is stored.
func (b *Backend) FailSave(n int, err error) {
	if n < 1 {
		panic("faulty: FailSave needs n >= 1")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failSaveAt[b.counts.Saves+n] = orInjected(err)
}

// FailSaves makes every Save of a handle for which match returns true fail
// with an error wrapping err (ErrInjected if nil), until Heal.
func (b *Backend) FailSaves(match func(backend.Handle) bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.saveRules = append(b.saveRules, failRule{match, orInjected(err)})
}

// FailLoads makes every Load of a handle for which match returns true fail
// with an error wrapping err (ErrInjected if nil), until Heal.
func (b *Backend) FailLoads(match func(backend.Handle) bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loadRules = append(b.loadRules, failRule{match, orInjected(err)})
}

// DiskFullAfter lets Saves store n more bytes in all; a Save that would go
// beyond fails with an error wrapping syscall.ENOSPC and stores nothing, as
// a disk that fills up does. Removes give no space back. A negative n
// removes the limit.
func (b *Backend) DiskFullAfter(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.budget = n
}

// FlipBit makes every Load of h return the bit (0-7) of the byte at offset
// (from the start of the file) inverted. The stored file is not changed.
func (b *Backend) FlipBit(h backend.Handle, offset int64, bit uint) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flips[h] = append(b.flips[h], flip{offset, 1 << (bit % 8)})
}

// Truncate makes h look size bytes long to Load, Stat and List, as if the
// file had been cut short. The stored file is not changed.
func (b *Backend) Truncate(h backend.Handle, size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.truncs[h] = size
}

// Counts returns the calls seen so far.
func (b *Backend) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts
}

// LoadCount returns how many times h was loaded (ranges count separately).
func (b *Backend) LoadCount(h backend.Handle) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loadsOf[h]
}

// SaveCount returns how many times h was saved, failed attempts included.
func (b *Backend) SaveCount(h backend.Handle) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.savesOf[h]
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// Save applies the save faults, then saves through the wrapped backend.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	b.mu.Lock()
	b.counts.Saves++
	b.savesOf[h]++
	injected, ok := b.failSaveAt[b.counts.Saves]
	delete(b.failSaveAt, b.counts.Saves)
	if !ok {
		for _, r := range b.saveRules {
			if r.match(h) {
				injected, ok = r.err, true
				break
			}
		}
	}
	if !ok && b.budget >= 0 {
		if int64(len(data)) > b.budget {
			injected, ok = syscall.ENOSPC, true
		} else {
			b.budget -= int64(len(data))
		}
	}
	b.mu.Unlock()
	if ok {
		return fmt.Errorf("save %s in %s: %w", h, b.inner.Location(), injected)
	}
	if err := b.inner.Save(ctx, h, data); err != nil {
		return err
	}
	b.mu.Lock()
	b.counts.SavedBytes += int64(len(data))
	b.mu.Unlock()
	return nil
}

// Load applies the load faults to what the wrapped backend returns.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	b.mu.Lock()
	b.counts.Loads++
	b.loadsOf[h]++
	var injected error
	for _, r := range b.loadRules {
		if r.match(h) {
			injected = r.err
			break
		}
	}
	flips := append([]flip(nil), b.flips[h]...)
	truncSize, truncated := b.truncs[h]
	b.mu.Unlock()
	if injected != nil {
		return nil, fmt.Errorf("load %s in %s: %w", h, b.inner.Location(), injected)
	}

	var data []byte
	var err error
	if truncated {
		data, err = b.loadTruncated(ctx, h, truncSize, offset, length)
	} else {
		data, err = b.inner.Load(ctx, h, offset, length)
	}
	if err != nil {
		return nil, err
	}
	for _, f := range flips {
		if i := f.offset - offset; i >= 0 && i < int64(len(data)) {
			data[i] ^= f.mask
		}
	}
	b.mu.Lock()
	b.counts.LoadedBytes += int64(len(data))
	b.mu.Unlock()
	return data, nil
}

func (b *Backend) loadTruncated(ctx context.Context, h backend.Handle, size, offset, length int64) ([]byte, error) {
	whole, err := b.inner.Load(ctx, h, 0, 0)
	if err != nil {
		return nil, err
	}
	if size < int64(len(whole)) {
		whole = whole[:max(size, 0)]
	}
	end, err := handle.CheckRange(int64(len(whole)), offset, length)
	if err != nil {
		return nil, fmt.Errorf("load %s in %s: %w", h, b.inner.Location(), err)
	}
	return whole[offset:end], nil
}

// Stat reports a truncated file's shortened size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	b.mu.Lock()
	b.counts.Stats++
	size, truncated := b.truncs[h]
	b.mu.Unlock()
	fi, err := b.inner.Stat(ctx, h)
	if err == nil && truncated && size < fi.Size {
		fi.Size = max(size, 0)
	}
	return fi, err
}

// List reports truncated files with their shortened sizes.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	b.mu.Lock()
	b.counts.Lists++
	b.mu.Unlock()
	return b.inner.List(ctx, t, func(fi backend.FileInfo) error {
		b.mu.Lock()
		size, truncated := b.truncs[backend.Handle{Type: t, Name: fi.Name}]
		b.mu.Unlock()
		if truncated && size < fi.Size {
			fi.Size = max(size, 0)
		}
		return fn(fi)
	})
}

// Remove removes through the wrapped backend.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	b.mu.Lock()
	b.counts.Removes++
	b.mu.Unlock()
	return b.inner.Remove(ctx, h)
}

// Location returns the wrapped backend's location.
func (b *Backend) Location() string { return b.inner.Location() }

// Close closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }
