// Package mem is an in-memory backend for tests. It follows the same rules
// as the local backend (handle validation, no overwrite, range errors), so a
// test that passes against it means something for real storage.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
)

// Backend keeps files in a map. It is safe for concurrent use. The zero
// value is not usable; call New.
type Backend struct {
	loc   string
	mu    sync.RWMutex
	files map[backend.Handle][]byte
}

var _ backend.Backend = (*Backend)(nil)

var instances atomic.Int64

// New returns an empty in-memory backend.
func New() *Backend {
	return &Backend{
		loc:   fmt.Sprintf("mem:%d", instances.Add(1)),
		files: make(map[backend.Handle][]byte),
	}
}

// Location returns "mem:N", unique within the process.
func (b *Backend) Location() string { return b.loc }

// Close does nothing; the files stay readable.
func (b *Backend) Close() error { return nil }

// Save stores a copy of data under h. Saving the same bytes again succeeds;
// other bytes under an existing name give an error wrapping fs.ErrExist.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("save %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s in %s: %w", h, b.loc, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.files[h]; ok {
		if bytes.Equal(old, data) {
			return nil
		}
		return fmt.Errorf("save %s in %s: file exists with different content: %w", h, b.loc, fs.ErrExist)
	}
	b.files[h] = append([]byte{}, data...)
	return nil
}

// file returns the stored bytes of h (not a copy), for a load.
func (b *Backend) file(ctx context.Context, h backend.Handle) ([]byte, error) {
	if err := handle.Valid(h); err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s in %s: %w", h, b.loc, err)
	}
	b.mu.RLock()
	data, ok := b.files[h]
	b.mu.RUnlock()
	if !ok {
		return nil, backend.NotExist(h, b.loc)
	}
	return data, nil
}

// Load returns a copy of length bytes of h from offset; length 0 means to
// the end. A range beyond the end is an error wrapping io.ErrUnexpectedEOF.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	data, err := b.file(ctx, h)
	if err != nil {
		return nil, err
	}
	end, err := handle.CheckRange(int64(len(data)), offset, length)
	if err != nil {
		return nil, fmt.Errorf("load %s in %s: %w", h, b.loc, err)
	}
	return bytes.Clone(data[offset:end:end]), nil
}

// LoadMax implements backend.MaxLoader.
func (b *Backend) LoadMax(ctx context.Context, h backend.Handle, max int64) ([]byte, error) {
	data, err := b.file(ctx, h)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("load %s in %s: %w", h, b.loc, &backend.TooLargeError{File: h, Size: int64(len(data)), Max: max})
	}
	return bytes.Clone(data), nil
}

var _ backend.MaxLoader = (*Backend)(nil)

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := handle.Valid(h); err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %s in %s: %w", h, b.loc, err)
	}
	b.mu.RLock()
	data, ok := b.files[h]
	b.mu.RUnlock()
	if !ok {
		return backend.FileInfo{}, fmt.Errorf("stat: %w", backend.NotExist(h, b.loc))
	}
	return backend.FileInfo{Name: h.Name, Size: int64(len(data))}, nil
}

// Remove deletes h.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s in %s: %w", h, b.loc, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[h]; !ok {
		return fmt.Errorf("remove: %w", backend.NotExist(h, b.loc))
	}
	delete(b.files, h)
	return nil
}

// List calls fn for every file of type t. It works on a snapshot taken at
// the start, so fn may call the backend.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !handle.ValidType(t) {
		return fmt.Errorf("list %q: unknown file type", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	b.mu.RLock()
	var infos []backend.FileInfo
	for h, data := range b.files {
		if h.Type == t {
			infos = append(infos, backend.FileInfo{Name: h.Name, Size: int64(len(data))})
		}
	}
	b.mu.RUnlock()
	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}
