// Package snapshottest provides an in-memory repository for tests of
// package snapshot, its subpackages (archiver, restorer, walker, checker)
// and their users (the CLI), and helpers for tests that back up and
// restore real directory trees (WriteFile, RandBytes, MakeFiles, ScanTree,
// CompareTrees). It imports no snapshot package, so that the tests of all
// of them can use it.
package snapshottest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/repo"
)

// TestPol is a fixed irreducible polynomial, so chunk boundaries are the
// same in every test run.
const TestPol = chunk.Pol(0x3DA3358B4DC173)

// SmallParams are small chunk sizes that make tests see many chunks.
var SmallParams = chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}

// ErrDamaged is returned for a blob marked with Damage.
var ErrDamaged = errors.New("blob is damaged (simulated)")

type key struct {
	t  repo.BlobType
	id repo.ID
}

type blob struct {
	data []byte
	loc  repo.BlobLocation
}

// Repo is an in-memory repository with every method that package snapshot
// and its subpackages ask of one (their interfaces). Blob IDs are
// SHA-256 of the plaintext; blobs are grouped into packs of about PackSize
// bytes. It is safe for concurrent use.
type Repo struct {
	params chunk.Params
	// PackSize is the size at which a pack is closed (default 4 MiB).
	PackSize int

	mu        sync.Mutex
	blobs     map[key]*blob
	packs     map[repo.ID][]key
	cur       repo.ID // the open pack
	curSize   int
	packSeq   uint64
	files     map[repo.FileType]map[repo.ID][]byte
	damaged   map[repo.ID]bool
	flushes   int
	unflushed []key

	// Counters for tests.
	SaveBlobCalls     atomic.Int64
	LoadBlobCalls     atomic.Int64
	LoadPackCalls     atomic.Int64
	StoredBytes       atomic.Int64
	FailSaveBlobAfter atomic.Int64 // when > 0, SaveBlob fails once this many calls were made
}

// New returns an empty repository with the given chunker parameters
// (chunk.DefaultParams() when p is the zero value).
func New(p chunk.Params) *Repo {
	if p == (chunk.Params{}) {
		p = chunk.DefaultParams()
	}
	r := &Repo{params: p, PackSize: 4 << 20, blobs: map[key]*blob{}, packs: map[repo.ID][]key{},
		files: map[repo.FileType]map[repo.ID][]byte{}, damaged: map[repo.ID]bool{}}
	r.newPack()
	return r
}

func (r *Repo) newPack() {
	r.packSeq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], r.packSeq)
	r.cur = sha256.Sum256(b[:])
	r.curSize = 0
}

// ID computes a blob ID.
func ID(data []byte) repo.ID { return sha256.Sum256(data) }

// BlobID implements restorer.BlobHasher.
func (r *Repo) BlobID(data []byte) repo.ID { return ID(data) }

// SaveBlob implements snapshot.BlobSaver.
func (r *Repo) SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (repo.ID, bool, error) {
	id, isNew, _, err := r.SaveBlobSized(ctx, t, data)
	return id, isNew, err
}

// SaveBlobSized implements archiver.SizedSaver; the stored size is the
// plaintext size plus 32 bytes of simulated overhead.
func (r *Repo) SaveBlobSized(ctx context.Context, t repo.BlobType, data []byte) (repo.ID, bool, int, error) {
	if err := ctx.Err(); err != nil {
		return repo.ID{}, false, 0, err
	}
	n := r.SaveBlobCalls.Add(1)
	if f := r.FailSaveBlobAfter.Load(); f > 0 && n > f {
		return repo.ID{}, false, 0, errors.New("simulated repository failure")
	}
	if !t.Valid() {
		return repo.ID{}, false, 0, fmt.Errorf("invalid blob type %d", t)
	}
	id := ID(data)
	k := key{t, id}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.blobs[k]; ok {
		return id, false, 0, nil
	}
	stored := len(data) + 32
	b := &blob{data: slices.Clone(data), loc: repo.BlobLocation{Type: t, ID: id, Pack: r.cur, Offset: uint32(r.curSize), Length: uint32(stored)}}
	r.blobs[k] = b
	r.packs[r.cur] = append(r.packs[r.cur], k)
	r.unflushed = append(r.unflushed, k)
	r.curSize += stored
	r.StoredBytes.Add(int64(stored))
	if r.curSize >= r.PackSize {
		r.newPack()
	}
	return id, true, stored, nil
}

// LoadBlob implements snapshot.BlobLoader.
func (r *Repo) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	r.LoadBlobCalls.Add(1)
	r.mu.Lock()
	b, ok := r.blobs[key{t, id}]
	dmg := r.damaged[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s blob %s not found", t, id.Short())
	}
	if dmg {
		return nil, fmt.Errorf("%s blob %s: %w", t, id.Short(), ErrDamaged)
	}
	return append(buf[:0], b.data...), nil
}

// HasBlob implements archiver.Repository and checker.TreeRepository.
func (r *Repo) HasBlob(t repo.BlobType, id repo.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.blobs[key{t, id}]
	return ok
}

// LookupBlob implements restorer.Repository and walker.Repository.
func (r *Repo) LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.blobs[key{t, id}]
	if !ok {
		return repo.BlobLocation{}, false
	}
	return b.loc, true
}

// LoadBlobsFromPack implements restorer.Repository.
func (r *Repo) LoadBlobsFromPack(ctx context.Context, pack repo.ID, locs []repo.BlobLocation, fn func(loc repo.BlobLocation, plaintext []byte, err error) error) error {
	r.LoadPackCalls.Add(1)
	locs = slices.Clone(locs)
	slices.SortFunc(locs, func(a, b repo.BlobLocation) int { return int(a.Offset) - int(b.Offset) })
	for _, l := range locs {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.mu.Lock()
		b, ok := r.blobs[key{l.Type, l.ID}]
		dmg := r.damaged[l.ID]
		r.mu.Unlock()
		var err error
		var data []byte
		switch {
		case !ok || b.loc.Pack != pack:
			err = fmt.Errorf("blob %s not in pack %s", l.ID.Short(), pack.Short())
		case dmg:
			err = fmt.Errorf("blob %s in pack %s: %w", l.ID.Short(), pack.Short(), ErrDamaged)
		default:
			data = slices.Clone(b.data)
		}
		if ferr := fn(l, data, err); ferr != nil {
			return ferr
		}
	}
	return nil
}

// SaveFile implements snapshot.FileSaver.
func (r *Repo) SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	id := ID(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files[t] == nil {
		r.files[t] = map[repo.ID][]byte{}
	}
	if _, ok := r.files[t][id]; ok {
		return id, fmt.Errorf("%s/%s already exists", t, id)
	}
	r.files[t][id] = slices.Clone(data)
	return id, nil
}

// LoadFile implements snapshot.FileLoader.
func (r *Repo) LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.files[t][id]
	if !ok {
		return nil, fmt.Errorf("%s/%s does not exist", t, id)
	}
	return slices.Clone(d), nil
}

// ListFiles implements snapshot.FileLoader, in ID order.
func (r *Repo) ListFiles(ctx context.Context, t repo.FileType, fn func(id repo.ID) error) error {
	r.mu.Lock()
	var ids []repo.ID
	for id := range r.files[t] {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	slices.SortFunc(ids, func(a, b repo.ID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// RemoveFile implements snapshot.FileRewriter.
func (r *Repo) RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.files[t][id]; !ok {
		return fmt.Errorf("%s/%s does not exist", t, id)
	}
	delete(r.files[t], id)
	return nil
}

// Flush implements archiver.Repository: it closes the open pack.
func (r *Repo) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
	r.unflushed = nil
	if r.curSize > 0 {
		r.newPack()
	}
	return nil
}

// Flushes returns how many times Flush was called.
func (r *Repo) Flushes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushes
}

// ChunkerPolynomial implements archiver.Repository.
func (r *Repo) ChunkerPolynomial() chunk.Pol { return TestPol }

// ChunkerParams implements archiver.Repository.
func (r *Repo) ChunkerParams() chunk.Params { return r.params }

// Damage makes every later load of the blob fail as if it did not decrypt.
func (r *Repo) Damage(id repo.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.damaged[id] = true
}

// BlobCount returns how many blobs of type t are stored.
func (r *Repo) BlobCount(t repo.BlobType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k := range r.blobs {
		if k.t == t {
			n++
		}
	}
	return n
}

// PackCount returns how many packs hold blobs.
func (r *Repo) PackCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.packs)
}

// FileCount returns how many files of type t are stored.
func (r *Repo) FileCount(t repo.FileType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.files[t])
}
