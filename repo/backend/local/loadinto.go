package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
)

// LoadInto implements backend.BufferLoader: Load without the allocation.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, buf []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("load %s: %w", h, err)
	}
	path := b.Path(h)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return b.wrap("load", path, err)
	}
	defer f.Close()
	n, err := f.ReadAt(buf, offset)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("load %s: read %d of %d bytes at offset %d: %w", path, n, len(buf), offset, err)
}

var _ backend.BufferLoader = (*Backend)(nil)
