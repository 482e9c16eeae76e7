package snapfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// File is an open regular file of a snapshot. It implements [fs.File],
// [io.ReadSeeker], [io.ReaderAt] and [io.WriterTo].
//
// Read, Seek and WriteTo share a file offset and must not be called
// concurrently with each other; ReadAt does not use the offset and may be
// called concurrently with anything, including itself.
type File struct {
	fsys *FS
	name string
	info fileInfo
	ext  []snapshot.Extent
	ends []int64 // ends[i] is the offset just past extent i
	size int64

	pos    int64 // for Read, Seek and WriteTo
	closed atomic.Bool

	mu      sync.Mutex // guards the blob cache
	cacheID repo.ID
	cache   []byte // plaintext of cacheID, or nil
}

var (
	_ fs.File       = (*File)(nil)
	_ io.ReadSeeker = (*File)(nil)
	_ io.ReaderAt   = (*File)(nil)
	_ io.WriterTo   = (*File)(nil)
)

func (f *FS) openFile(op, name string, n *snapshot.Node) (*File, error) {
	if n.Size < 0 {
		return nil, pathErr(op, name, fmt.Errorf("%w: negative size %d", ErrInvalidContent, n.Size))
	}
	ends := make([]int64, len(n.Content))
	// A blob has one length: extents naming it with different sizes would
	// let a cached blob be read past its end.
	sizeOf := make(map[repo.ID]int64, len(n.Content))
	var sum int64
	for i, e := range n.Content {
		if e.Size <= 0 {
			return nil, pathErr(op, name, fmt.Errorf("%w: extent %d has size %d", ErrInvalidContent, i, e.Size))
		}
		if !e.IsHole() {
			if s, ok := sizeOf[e.ID]; ok && s != e.Size {
				return nil, pathErr(op, name, fmt.Errorf("%w: blob %s appears with sizes %d and %d", ErrInvalidContent, e.ID.Short(), s, e.Size))
			}
			sizeOf[e.ID] = e.Size
		}
		if sum > math.MaxInt64-e.Size {
			return nil, pathErr(op, name, fmt.Errorf("%w: extent sizes overflow", ErrInvalidContent))
		}
		sum += e.Size
		ends[i] = sum
	}
	if sum != n.Size {
		return nil, pathErr(op, name, fmt.Errorf("%w: extents add up to %d bytes, size is %d", ErrInvalidContent, sum, n.Size))
	}
	return &File{fsys: f, name: name, info: fileInfo{name: baseName(name), n: n}, ext: n.Content, ends: ends, size: n.Size}, nil
}

// Stat describes the file.
func (f *File) Stat() (fs.FileInfo, error) { return f.info, nil }

// Close closes the file; further operations fail with [fs.ErrClosed].
func (f *File) Close() error {
	if f.closed.Swap(true) {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.mu.Lock()
	f.cache = nil
	f.mu.Unlock()
	return nil
}

// extent returns the index of the extent containing off (0 <= off < size).
func (f *File) extent(off int64) int {
	return sort.Search(len(f.ends), func(i int) bool { return f.ends[i] > off })
}

// ReadAt reads len(p) bytes at offset off, loading only the data blobs
// that cover them. It returns io.EOF when fewer bytes are left.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.closed.Load() {
		return 0, pathErr("read", f.name, fs.ErrClosed)
	}
	if off < 0 {
		return 0, pathErr("read", f.name, errors.New("negative offset"))
	}
	if off >= f.size {
		return 0, io.EOF
	}
	n := 0
	for i := f.extent(off); n < len(p) && i < len(f.ext); i++ {
		e := f.ext[i]
		within := off - (f.ends[i] - e.Size)
		k := int(min(int64(len(p)-n), e.Size-within))
		if e.IsHole() {
			clear(p[n : n+k])
		} else if err := f.copyBlob(p[n:n+k], e, within); err != nil {
			return n, err
		}
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// copyBlob copies the bytes of data extent e from offset within into dst,
// using or refilling the cache.
func (f *File) copyBlob(dst []byte, e snapshot.Extent, within int64) error {
	f.mu.Lock()
	if f.cache != nil && f.cacheID == e.ID {
		copy(dst, f.cache[within:])
		f.mu.Unlock()
		return nil
	}
	// Take the cached buffer (no one else can be using it: readers copy
	// under the lock) to load into.
	buf := f.cache
	f.cache = nil
	f.mu.Unlock()

	data, err := f.load(e, buf)
	if err != nil {
		return err
	}
	copy(dst, data[within:])
	f.mu.Lock()
	if f.cache == nil && !f.closed.Load() {
		f.cache, f.cacheID = data, e.ID
	}
	f.mu.Unlock()
	return nil
}

// load loads the blob of data extent e, into buf if large enough, and
// checks its length.
func (f *File) load(e snapshot.Extent, buf []byte) ([]byte, error) {
	data, err := f.fsys.r.LoadBlob(f.fsys.ctx, repo.DataBlob, e.ID, buf)
	if err != nil {
		return nil, pathErr("read", f.name, err)
	}
	if int64(len(data)) != e.Size {
		return nil, pathErr("read", f.name, fmt.Errorf("%w: blob %s has %d bytes, extent says %d",
			ErrInvalidContent, e.ID.Short(), len(data), e.Size))
	}
	return data, nil
}

// Read reads up to len(p) bytes at the file offset and advances it.
func (f *File) Read(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, pathErr("read", f.name, fs.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.pos >= f.size {
		return 0, io.EOF
	}
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil // the next Read reports it
	}
	return n, err
}

// Seek sets the file offset as described by [io.Seeker]. Seeking past the
// end is allowed; reads there return io.EOF.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.closed.Load() {
		return 0, pathErr("seek", f.name, fs.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, pathErr("seek", f.name, fmt.Errorf("invalid whence %d: %w", whence, fs.ErrInvalid))
	}
	if offset < 0 {
		return 0, pathErr("seek", f.name, fmt.Errorf("negative offset: %w", fs.ErrInvalid))
	}
	f.pos = offset
	return offset, nil
}

// zeros is written for holes.
var zeros [32 << 10]byte

// WriteTo writes the rest of the file, from the file offset to the end, to
// w and advances the offset; it is what [io.Copy] uses. It loads the data
// blobs in file order into one reused buffer, a blob repeated in
// consecutive extents only once.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	if f.closed.Load() {
		return 0, pathErr("read", f.name, fs.ErrClosed)
	}
	if f.pos >= f.size {
		return 0, nil
	}
	// Borrow the cache as the working buffer, and leave the last blob
	// loaded in it.
	f.mu.Lock()
	buf, bufID := f.cache, f.cacheID
	f.cache = nil
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.cache == nil && buf != nil && !f.closed.Load() {
			f.cache, f.cacheID = buf, bufID
		}
		f.mu.Unlock()
	}()

	var total int64
	for i := f.extent(f.pos); i < len(f.ext); i++ {
		e := f.ext[i]
		within := f.pos - (f.ends[i] - e.Size)
		if e.IsHole() {
			for within < e.Size {
				k := min(e.Size-within, int64(len(zeros)))
				m, err := w.Write(zeros[:k])
				total += int64(m)
				f.pos += int64(m)
				within += int64(m)
				if err == nil && int64(m) < k {
					err = io.ErrShortWrite
				}
				if err != nil {
					return total, err
				}
			}
			continue
		}
		if buf == nil || bufID != e.ID {
			data, err := f.load(e, buf)
			if err != nil {
				buf = nil
				return total, err
			}
			buf, bufID = data, e.ID
		}
		m, err := w.Write(buf[within:])
		total += int64(m)
		f.pos += int64(m)
		if err == nil && int64(m) < e.Size-within {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
