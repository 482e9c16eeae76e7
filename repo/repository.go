// Package repo is the storage engine of cadang: an encrypted,
// content-addressed store of blobs gathered into pack files, with an index,
// key files, locks and small encrypted files for snapshots and records.
//
// The on-disk format is specified in doc/design.md. A Repository is safe
// for concurrent use; SaveBlob does its hashing, compression and encryption
// in the caller's goroutine, so callers get parallelism by calling it from
// several goroutines.
package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/user"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// DefaultPackSize is the target size of a pack file; see doc/design.md
// ("Pack size") for the measurement behind it.
const DefaultPackSize = 4 << 20

// MaxBlobSize is the largest blob SaveBlob accepts. Chunks are far
// smaller (chunk.MaxChunkSize); larger blobs are for library users who
// store whole objects.
const MaxBlobSize = 1 << 30

// openPackers is the number of packs of each blob type filled at once.
// Blobs are spread over them at random so that the size of a pack says
// nothing about the sizes of the chunks of any one file (restic#5291).
const openPackers = 2

// InitOptions are the parameters of a new repository.
type InitOptions struct {
	Chunk       chunk.Params     // zero value: chunk.DefaultParams()
	PackSize    uint32           // zero: DefaultPackSize
	Compression string           // empty: CompressionFastest
	KDF         crypto.KDFParams // zero: crypto.DefaultKDFParams()
}

// Options tune an open repository.
type Options struct {
	// IndexInterval is how often a session writes an index of the packs it
	// has finished, so that an interrupted run loses at most that much.
	// Zero means 2 minutes.
	IndexInterval time.Duration
	// NoIndex skips loading the index (for repair).
	NoIndex bool
	// Logf receives messages a user should see, such as a stale lock being
	// removed. Nil discards them.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterUnlock, if set, is called once the password has opened a key
	// and before the index is loaded. argon2id has just allocated 64 MiB
	// that is now garbage; the CLI uses this hook to return it to the
	// operating system before the rest of the work adds to the peak.
	AfterUnlock func()
	// Lock is the lock Open (or OpenOrInit) takes before it returns and
	// Close releases. The zero value takes none, for library callers that
	// lock by hand with Repository.Lock; any lock taken either way is
	// released by Close.
	Lock LockMode
}

// LockMode is the lock a Repository holds while it is open.
type LockMode uint8

// The lock modes.
const (
	// NoLock takes no lock: for reading a repository that nobody writes,
	// or when the caller locks by hand.
	NoLock LockMode = iota
	// SharedLock is for work that adds to a repository or reads it:
	// backup, restore, check. Shared locks coexist.
	SharedLock
	// ExclusiveLock is for work that removes or rewrites files: repair,
	// key removal. It excludes every other lock.
	ExclusiveLock
)

func (m LockMode) String() string {
	switch m {
	case NoLock:
		return "none"
	case SharedLock:
		return "shared"
	case ExclusiveLock:
		return "exclusive"
	}
	return fmt.Sprintf("lockmode(%d)", uint8(m))
}

// Repository is an open repository.
type Repository struct {
	be    backend.Backend
	key   *crypto.Key
	keyID ID
	cfg   Config
	idx   *Index
	opts  Options

	enc *zstd.Encoder
	// The decoder is made on first use: a backup rarely decompresses
	// anything, and zstd decoders hold window-sized buffers.
	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error

	mu        sync.Mutex
	packers   [3][]*packer
	pending   [3]map[ID]struct{}
	retired   []*packer // packs without room, waiting to be finished
	unsaved   []IndexPack
	lastIndex time.Time
	indexFile []ID // index files written by this session
	uploads   *uploads
	treeCache *treePackCache

	// held are the locks taken through this Repository; writes stop once
	// one of them is lost.
	held heldLocks

	// packBufs holds free data pack buffers. It is a bounded free list, not
	// a sync.Pool, so that exactly as many pack buffers exist as can be in
	// use at once (open packers plus uploads in flight).
	packBufs chan []byte
	scratch  sync.Pool // *[]byte, per-blob buffers for compression and sealing
	loadBufs sync.Pool // *loadBuf, for LoadBlobsFromPack

	stats struct {
		blobs, rawBytes, storedBytes [3]atomic.Int64
	}

	closeOnce sync.Once
	closeErr  error
}

type packer struct {
	buf    []byte
	blobs  []PackBlob
	target int
	// writers counts blobs being sealed into buf outside the lock;
	// finishPack waits for them.
	writers sync.WaitGroup
	failed  atomic.Bool
}

// Init creates a repository in an empty backend and returns it open, with
// no lock taken. See OpenOrInit for the session that most callers want.
func Init(ctx context.Context, be backend.Backend, password []byte, o InitOptions) (*Repository, error) {
	return initRepository(ctx, be, password, o, Options{})
}

func initRepository(ctx context.Context, be backend.Backend, password []byte, o InitOptions, ro Options) (*Repository, error) {
	if o.Chunk == (chunk.Params{}) {
		o.Chunk = chunk.DefaultParams()
	}
	if o.PackSize == 0 {
		o.PackSize = DefaultPackSize
	}
	if o.Compression == "" {
		o.Compression = CompressionFastest
	}
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = crypto.DefaultKDFParams()
	}
	if len(password) == 0 {
		return nil, errors.New("init: empty password")
	}
	if _, err := be.Stat(ctx, backend.Handle{Type: ConfigFile}); err == nil {
		return nil, fmt.Errorf("init: %s already holds a repository", be.Location())
	} else if !backend.IsNotExist(err) {
		return nil, fmt.Errorf("init: %w", err)
	}
	pol, err := chunk.RandomPol()
	if err != nil {
		return nil, fmt.Errorf("init: chunker polynomial: %w", err)
	}
	var rid [32]byte
	if _, err := rand.Read(rid[:]); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	cfg := Config{
		Version: FormatVersion, ID: hex.EncodeToString(rid[:]), Created: time.Now().UTC(),
		ChunkerPolynomial: pol, Chunk: o.Chunk, PackSize: o.PackSize, Compression: o.Compression,
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	r, err := newRepository(be, key, cfg, ro)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			r.freeCodecs()
		}
	}()
	// The key file goes first: a config without a key would be a repository
	// nobody can open, while a lone key file is harmless and Init refuses
	// nothing because of it.
	keyID, err := r.saveKeyFile(ctx, password, o.KDF)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	r.keyID = keyID
	plain, err := marshalConfig(&cfg)
	if err != nil {
		return nil, err
	}
	hdr := configHeader(FormatVersion)
	sealed, err := key.Seal(append([]byte(nil), hdr...), plain, hdr)
	if err != nil {
		return nil, err
	}
	if err := be.Save(ctx, backend.Handle{Type: ConfigFile}, sealed); err != nil {
		return nil, fmt.Errorf("init: save config: %w", err)
	}
	ok = true
	return r, nil
}

func newRepository(be backend.Backend, key *crypto.Key, cfg Config, o Options) (*Repository, error) {
	if o.IndexInterval == 0 {
		o.IndexInterval = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	level := zstd.SpeedFastest
	switch cfg.Compression {
	case CompressionDefault:
		level = zstd.SpeedDefault
	case CompressionBetter:
		level = zstd.SpeedBetterCompression
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithZeroFrames(true),
		// The AEAD and the blob ID already detect any change; a CRC per frame
		// would only cost time.
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true),
		// Blobs are chunks of at most a few MiB; a larger window buys nothing.
		zstd.WithWindowSize(windowFor(cfg.Chunk.Max)))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	uploads := maxUploads()
	r := &Repository{be: be, key: key, cfg: cfg, idx: NewIndex(), opts: o, enc: enc, lastIndex: o.Now(), uploads: newUploads(uploads), treeCache: newTreePackCache(treeCacheLimit),
		packBufs: make(chan []byte, openPackers+uploads)}
	for t := range r.pending {
		r.pending[t] = make(map[ID]struct{})
	}
	return r, nil
}

// Open unlocks the repository in be with password, loads its index and
// takes the lock o.Lock names. The Repository owns be from then on: its
// Close releases the lock and closes be. On error the caller still owns be.
//
// A wrong password gives ErrWrongPassword; a backend without a repository
// ErrNoRepository; an unknown format version a *VersionError; damage a
// *DamagedError naming the file; a conflicting lock a *LockedError. In
// every case nothing in the repository is changed.
func Open(ctx context.Context, be backend.Backend, password []byte, o Options) (*Repository, error) {
	cfgH := backend.Handle{Type: ConfigFile}
	raw, err := be.Load(ctx, cfgH, 0, 0)
	if err != nil {
		if backend.IsNotExist(err) {
			return nil, fmt.Errorf("%s: %w", be.Location(), ErrNoRepository)
		}
		return nil, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	if err := checkConfigHeader(raw); err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%s: %w", be.Location(), err)
		}
		return nil, damaged(cfgH, nil, "%v", err)
	}
	key, keyID, err := unlock(ctx, be, password)
	if err != nil {
		return nil, err
	}
	if o.AfterUnlock != nil {
		o.AfterUnlock()
	}
	hdr := raw[:len(configMagic)+1]
	plain, err := key.Open(nil, raw[len(hdr):], hdr)
	if err != nil {
		return nil, damaged(cfgH, nil, "%v", err)
	}
	var cfg Config
	if err := jsonUnmarshalStrict(plain, &cfg); err != nil {
		return nil, damaged(cfgH, nil, "decode: %v", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, damaged(cfgH, nil, "%v", err)
	}
	r, err := newRepository(be, key, cfg, o)
	if err != nil {
		return nil, err
	}
	r.keyID = keyID
	if !o.NoIndex {
		if err := r.LoadIndex(ctx); err != nil {
			r.freeCodecs()
			return nil, err
		}
	}
	if err := r.takeSessionLock(ctx); err != nil {
		r.freeCodecs()
		return nil, err
	}
	return r, nil
}

// OpenOrInit opens the repository in be, or creates one there with io
// when be holds none (its config file is missing), and takes the lock
// o.Lock names. created reports which happened. The backend must exist:
// for a directory that may not, use local.OpenOrCreate.
func OpenOrInit(ctx context.Context, be backend.Backend, password []byte, o Options, io InitOptions) (r *Repository, created bool, err error) {
	_, err = be.Stat(ctx, backend.Handle{Type: ConfigFile})
	switch {
	case err == nil:
		r, err = Open(ctx, be, password, o)
		return r, false, err
	case !backend.IsNotExist(err):
		return nil, false, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	r, err = initRepository(ctx, be, password, io, o)
	if err != nil {
		return nil, false, err
	}
	if err := r.takeSessionLock(ctx); err != nil {
		_ = r.Close()
		return nil, false, err
	}
	return r, true, nil
}

// takeSessionLock takes the lock of Options.Lock. The lock's refresh runs
// detached from ctx (it must outlive a cancelled command until Close
// removes the file); Close stops it.
func (r *Repository) takeSessionLock(ctx context.Context) error {
	if r.opts.Lock == NoLock {
		return nil
	}
	if _, err := r.Lock(ctx, r.opts.Lock == ExclusiveLock); err != nil {
		return err
	}
	return nil
}

// Config returns the repository's configuration.
func (r *Repository) Config() Config { return r.cfg }

// ID returns the repository's unique ID (from its config).
func (r *Repository) ID() string { return r.cfg.ID }

// Backend returns the backend the repository is stored in.
func (r *Repository) Backend() backend.Backend { return r.be }

// Index returns the in-memory index.
func (r *Repository) Index() *Index { return r.idx }

// ChunkerPolynomial returns the polynomial for chunk.New.
func (r *Repository) ChunkerPolynomial() chunk.Pol { return r.cfg.ChunkerPolynomial }

// ChunkerParams returns the chunk size bounds for chunk.New.
func (r *Repository) ChunkerParams() chunk.Params { return r.cfg.Chunk }

// LoadIndex reads every index file into memory, replacing nothing: packs
// already known are skipped.
func (r *Repository) LoadIndex(ctx context.Context) error {
	var names []ID
	err := r.ListFiles(ctx, IndexFile, func(id ID) error { names = append(names, id); return nil })
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	results := make([][]IndexPack, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for i, id := range names {
		g.Go(func() error {
			packs, err := r.loadIndexFile(gctx, id)
			results[i] = packs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var all []IndexPack
	for _, p := range results {
		all = append(all, p...)
	}
	return r.idx.bulkAdd(all)
}

func (r *Repository) loadIndexFile(ctx context.Context, id ID) ([]IndexPack, error) {
	plain, err := r.LoadFile(ctx, IndexFile, id)
	if err != nil {
		return nil, err
	}
	packs, err := decodeIndexFile(plain)
	if err != nil {
		return nil, damaged(backend.Handle{Type: IndexFile, Name: id.String()}, nil, "%v", err)
	}
	return packs, nil
}

// ReadIndexFile returns the decoded contents of one index file.
func (r *Repository) ReadIndexFile(ctx context.Context, id ID) ([]IndexPack, error) {
	return r.loadIndexFile(ctx, id)
}

// storedName returns the ID of stored bytes: their SHA-256. File names are
// content hashes of what is on disk, so `sha256sum` finds damage without
// the password.
func storedName(b []byte) ID { return sha256.Sum256(b) }

// SaveFile seals data, binding the file type, and stores it under the
// SHA-256 of the sealed bytes, which is returned.
//
// While a lock taken through r is lost, SaveFile refuses every type but
// locks and records: records are append-only and name no blob, so adding
// one cannot break anything another process does, and an application may
// want to record that its work failed. Before a snapshot it also checks
// that the lock files still exist: the snapshot is what makes everything
// written before it reachable.
func (r *Repository) SaveFile(ctx context.Context, t FileType, data []byte) (ID, error) {
	switch t {
	case LockFile, RecordFile:
	case SnapshotFile:
		if err := r.verifyLocks(ctx); err != nil {
			return ID{}, fmt.Errorf("save %s file: %w", t, err)
		}
	default:
		if err := r.lockErr(); err != nil {
			return ID{}, fmt.Errorf("save %s file: %w", t, err)
		}
	}
	sealed, err := r.key.Seal(nil, data, []byte(t))
	if err != nil {
		return ID{}, err
	}
	id := storedName(sealed)
	h := backend.Handle{Type: t, Name: id.String()}
	if err := r.be.Save(ctx, h, sealed); err != nil {
		return ID{}, fmt.Errorf("save %s: %w", h, err)
	}
	return id, nil
}

// LoadFile loads a file saved with SaveFile, checks its hash and decrypts it.
func (r *Repository) LoadFile(ctx context.Context, t FileType, id ID) ([]byte, error) {
	h := backend.Handle{Type: t, Name: id.String()}
	raw, err := r.be.Load(ctx, h, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	if storedName(raw) != id {
		return nil, damaged(h, nil, "SHA-256 of its %d bytes does not match its name", len(raw))
	}
	plain, err := r.key.Open(nil, raw, []byte(t))
	if err != nil {
		return nil, damaged(h, nil, "%v", err)
	}
	return plain, nil
}

// ListFiles calls fn with the ID of every file of type t. Names that are
// not IDs (foreign files) are skipped.
func (r *Repository) ListFiles(ctx context.Context, t FileType, fn func(ID) error) error {
	return r.be.List(ctx, t, func(fi backend.FileInfo) error {
		id, err := ParseID(fi.Name)
		if err != nil {
			return nil
		}
		return fn(id)
	})
}

// RemoveFile deletes a stored file. Like SaveFile, it refuses while a lock
// taken through r is lost, except for lock files: removing files is what
// maintenance does, and under a lost lock someone else may be using them.
func (r *Repository) RemoveFile(ctx context.Context, t FileType, id ID) error {
	if t != LockFile {
		if err := r.lockErr(); err != nil {
			return fmt.Errorf("remove %s/%s: %w", t, id.Short(), err)
		}
	}
	return r.be.Remove(ctx, backend.Handle{Type: t, Name: id.String()})
}

// HasBlob reports whether a blob is indexed or waiting in an open pack.
func (r *Repository) HasBlob(t BlobType, id ID) bool {
	if r.idx.Has(t, id) {
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
	if r.idx.Has(t, id) {
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
	if r.idx.Has(t, id) {
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
	off := len(p.buf)
	p.buf = p.buf[:off+n]
	buf := p.buf
	p.blobs = append(p.blobs, PackBlob{Type: t, ID: id, Offset: uint32(off), Length: uint32(n), RawLength: uint32(len(data)), Compression: comp})
	p.writers.Add(1)
	var done []*packer
	if len(p.buf) >= p.target {
		done = append(done, p)
		r.packers[t][i] = r.newPacker(t, 0)
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
// a blob too large for any packer gets one of its own. Called with r.mu held.
func (r *Repository) packerFor(t BlobType, n int) (*packer, int) {
	want := openPackers
	if t == TreeBlob {
		want = 1 // trees are small; one open pack keeps memory down
	}
	for len(r.packers[t]) < want {
		r.packers[t] = append(r.packers[t], r.newPacker(t, 0))
	}
	i := mrand.IntN(len(r.packers[t]))
	p := r.packers[t][i]
	if cap(p.buf)-len(p.buf) >= n {
		return p, i
	}
	// No room: the caller finishes this pack once the lock is released.
	r.retired = append(r.retired, p)
	p = r.newPacker(t, n)
	r.packers[t][i] = p
	return p, i
}

func (r *Repository) newPacker(t BlobType, atLeast int) *packer {
	// Vary the target between 75% and 100% of the pack size, so pack sizes
	// carry no information either.
	target := int(r.cfg.PackSize) * (75 + mrand.IntN(26)) / 100
	p := &packer{target: target}
	size := r.packBufSize()
	if atLeast+64<<10 > size {
		// A blob larger than a whole pack (library use): a pack of its own.
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
	select {
	case b := <-r.packBufs:
		p.buf = b[:0]
	default:
		p.buf = make([]byte, 0, size)
	}
	return p
}

// packBufSize is the capacity of a pack buffer: the largest target, one
// more chunk, and the header.
func (r *Repository) packBufSize() int {
	return int(r.cfg.PackSize) + int(r.cfg.Chunk.Max) + 1 + crypto.Overhead + 64<<10
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
func (r *Repository) shouldCompress(data []byte) bool {
	if r.cfg.Compression == CompressionOff || len(data) < 64 {
		return false
	}
	const sample = 8 << 10
	if len(data) <= 4*sample {
		return true
	}
	mid := len(data) / 2
	s := data[mid-sample/2 : mid+sample/2]
	var tmp [sample + 512]byte
	out := r.enc.EncodeAll(s, tmp[:0])
	return len(out) < sample-sample/10
}

// finishPack seals the header, stores the pack and indexes its blobs.
func (r *Repository) finishPack(ctx context.Context, p *packer) error {
	p.writers.Wait()
	if p.failed.Load() {
		r.dropPending(p.blobs)
		return fmt.Errorf("a blob could not be sealed; pack of %d blobs discarded", len(p.blobs))
	}
	if len(p.blobs) == 0 {
		return nil
	}
	// Hashing and writing the pack happen in the background, so that the
	// goroutine that filled it goes back to compressing and encrypting
	// instead of waiting for write and fsync. At most maxUploads() packs are
	// in flight; the next finisher waits for a slot.
	wctx := context.WithoutCancel(ctx)
	if err := r.uploads.start(ctx, func() error { return r.storePack(wctx, p) }); err != nil {
		// The pack will never be written: its blobs must not stay pending,
		// or later saves of them would be skipped as already stored.
		r.dropPending(p.blobs)
		return err
	}
	return nil
}

// maxUploads is the number of packs being written at once: one on up to
// seven cores, where a single uploader (SHA-256 of the pack, write, fsync)
// keeps up with the savers; then one per four cores, at most four. On 16
// cores one uploader left savers waiting for its slot (bench/README.md,
// "Scaling with cores"). Each costs a pack buffer.
func maxUploads() int { return min(max(1, runtime.GOMAXPROCS(0)/4), 4) }

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
	due := r.opts.Now().Sub(r.lastIndex) >= r.opts.IndexInterval
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

func (r *Repository) dropPending(blobs []PackBlob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range blobs {
		delete(r.pending[b.Type], b.ID)
	}
}

// writeIndex stores an index file for the packs finished since the last one.
func (r *Repository) writeIndex(ctx context.Context) error {
	r.mu.Lock()
	packs := r.unsaved
	r.unsaved = nil
	r.lastIndex = r.opts.Now()
	r.mu.Unlock()
	if len(packs) == 0 {
		return nil
	}
	id, err := r.SaveFile(ctx, IndexFile, encodeIndexFile(packs))
	if err != nil {
		r.mu.Lock()
		r.unsaved = append(packs, r.unsaved...)
		r.mu.Unlock()
		return fmt.Errorf("write index: %w", err)
	}
	r.mu.Lock()
	r.indexFile = append(r.indexFile, id)
	r.mu.Unlock()
	return nil
}

// WriteIndex stores the given packs as one index file (used by repair).
func (r *Repository) WriteIndex(ctx context.Context, packs []IndexPack) (ID, error) {
	return r.SaveFile(ctx, IndexFile, encodeIndexFile(packs))
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
		open = append(open, r.packers[t]...)
		r.packers[t] = nil
	}
	r.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range open {
		g.Go(func() error { return r.finishPack(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := r.uploads.wait(); err != nil {
		return err
	}
	return r.writeIndex(ctx)
}

// closeTimeout bounds how long Close may spend removing lock files: a
// backend that has gone away must not hang the end of a command.
const closeTimeout = 30 * time.Second

// Close ends the session: it waits for uploads in flight, releases every
// lock taken through r (stopping their refresh and removing their files,
// also when the context of the work was cancelled), frees the codecs and
// closes the backend. Blobs not flushed are lost (their packs were never
// written). Close is idempotent; later calls return the first result.
func (r *Repository) Close() error {
	r.closeOnce.Do(func() {
		_ = r.uploads.wait() // their blobs are lost without a Flush anyway
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		for _, l := range r.held.list() {
			if err := l.Unlock(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		r.freeCodecs()
		errs = append(errs, r.be.Close())
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// freeCodecs stops the zstd encoder's and decoder's goroutines. On a
// failed Open it is all the cleanup there is: the caller still owns the
// backend and closes it.
func (r *Repository) freeCodecs() {
	r.enc.Close()
	r.decOnce.Do(func() { r.decErr = errors.New("repository is closed") })
	if r.dec != nil {
		r.dec.Close()
	}
}

// LoadBlob returns the plaintext of a blob. It verifies the blob's ID.
func (r *Repository) LoadBlob(ctx context.Context, t BlobType, id ID, buf []byte) ([]byte, error) {
	loc, ok := r.idx.Lookup(t, id)
	if !ok {
		return nil, fmt.Errorf("%s blob %s: %w", t, id, ErrBlobNotFound)
	}
	h := backend.Handle{Type: PackFile, Name: loc.Pack.String()}
	var sealed []byte
	var err error
	if t == TreeBlob {
		sealed, err = r.loadTreeBlob(ctx, h, loc)
		if err == nil {
			return r.openBlob(h, t, id, sealed, buf)
		}
		if IsDamaged(err) {
			return nil, err
		}
	} else {
		sealed, err = r.be.Load(ctx, h, int64(loc.Offset), int64(loc.Length))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, damaged(h, &id, "pack is shorter than the index says: %v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s blob %s from %s: %w", t, id, h, err)
	}
	return r.openBlob(h, t, id, sealed, buf)
}

func (r *Repository) decoder() (*zstd.Decoder, error) {
	r.decOnce.Do(func() {
		r.dec, r.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxBlobSize+1<<20))
		if r.decErr != nil {
			r.decErr = fmt.Errorf("zstd decoder: %w", r.decErr)
		}
	})
	return r.dec, r.decErr
}

func (r *Repository) openBlob(h backend.Handle, t BlobType, id ID, stored, buf []byte) ([]byte, error) {
	if len(stored) < 1+crypto.Overhead {
		return nil, damaged(h, &id, "stored blob of %d bytes is too short", len(stored))
	}
	comp := stored[0]
	var dst []byte
	if comp == compressNone {
		dst = buf[:0] // raw payloads decrypt straight into the caller's buffer
	}
	plain, err := r.key.Open(dst, stored[1:], blobAD(t, id, comp))
	if err != nil {
		return nil, damaged(h, &id, "%v", err)
	}
	return r.finishBlob(h, t, id, comp, plain, buf)
}

// openBlobInPlace opens a stored blob in a buffer the caller owns: it is
// decrypted where it lies (stored's bytes are lost, whatever the outcome),
// so an uncompressed plaintext is a subslice of stored. A compressed one is
// decompressed into *scratch, which keeps the grown buffer for the next
// blob; scratch never points into stored.
func (r *Repository) openBlobInPlace(h backend.Handle, t BlobType, id ID, stored []byte, scratch *[]byte) ([]byte, error) {
	if len(stored) < 1+crypto.Overhead {
		return nil, damaged(h, &id, "stored blob of %d bytes is too short", len(stored))
	}
	comp := stored[0]
	plain, err := r.key.OpenInPlace(stored[1:], blobAD(t, id, comp))
	if err != nil {
		return nil, damaged(h, &id, "%v", err)
	}
	out, err := r.finishBlob(h, t, id, comp, plain, *scratch)
	if err == nil && comp == compressZstd {
		*scratch = out
	}
	return out, err
}

// finishBlob decompresses a decrypted blob (into buf, grown as needed) and
// verifies its ID.
func (r *Repository) finishBlob(h backend.Handle, t BlobType, id ID, comp byte, plain, buf []byte) ([]byte, error) {
	var out []byte
	switch comp {
	case compressNone:
		out = plain
	case compressZstd:
		dec, err := r.decoder()
		if err != nil {
			return nil, err
		}
		if out, err = dec.DecodeAll(plain, buf[:0]); err != nil {
			return nil, damaged(h, &id, "decompress: %v", err)
		}
	default:
		return nil, damaged(h, &id, "unknown compression %d", comp)
	}
	if ID(r.key.BlobID(out)) != id {
		return nil, damaged(h, &id, "content does not hash to the blob's ID")
	}
	return out, nil
}

// LoadBlobsFromPack reads the listed blobs of one pack in a single range
// request and calls fn for each, in offset order. A blob that fails to
// verify is passed with its error; fn decides whether to go on. The
// plaintext passed to fn is only valid until fn returns.
func (r *Repository) LoadBlobsFromPack(ctx context.Context, pack ID, blobs []BlobLocation, fn func(BlobLocation, []byte, error) error) error {
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
	if err != nil {
		lerr := fmt.Errorf("load %s: %w", h, err)
		for _, b := range sorted {
			if ferr := fn(b, nil, lerr); ferr != nil {
				return ferr
			}
		}
		return nil
	}
	var (
		prev    *BlobLocation
		plain   []byte
		openErr error
	)
	for i := range sorted {
		b := &sorted[i]
		// A blob listed twice is opened once: decryption in place has
		// already consumed its sealed bytes.
		if prev == nil || b.Offset != prev.Offset || b.Length != prev.Length || b.ID != prev.ID {
			sealed := data[int64(b.Offset)-start : int64(b.Offset)-start+int64(b.Length)]
			if !inPlace {
				sealed = bytes.Clone(sealed)
			}
			plain, openErr = r.openBlobInPlace(h, b.Type, b.ID, sealed, &lb.plain)
			prev = b
		}
		if err := fn(*b, plain, openErr); err != nil {
			return err
		}
	}
	return nil
}

// overlapping reports whether any two different locations of sorted (by
// offset: see sortLocations) share bytes. Comparing neighbours is enough:
// a location overlapping a later one overlaps every location between them,
// and a copy of the same blob between two others overlaps them too.
func overlapping(sorted []BlobLocation) bool {
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.Offset == b.Offset && a.Length == b.Length && a.ID == b.ID {
			continue // the same blob listed twice
		}
		if uint64(a.Offset)+uint64(a.Length) > uint64(b.Offset) {
			return true
		}
	}
	return false
}

// loadBuf is the scratch of one LoadBlobsFromPack call: the pack range as
// read, and a buffer for decompressed blobs.
type loadBuf struct{ pack, plain []byte }

func (r *Repository) getLoadBuf(n int) *loadBuf {
	lb, _ := r.loadBufs.Get().(*loadBuf)
	if lb == nil {
		lb = &loadBuf{}
	}
	if cap(lb.pack) < n {
		lb.pack = make([]byte, n)
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
		return nil, damaged(h, nil, "%v", err)
	}
	return blobs, nil
}

func hostAndUser() (string, string) {
	host, _ := os.Hostname()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return host, name
}

// windowFor returns the zstd window for blobs of up to max bytes: the
// smallest power of two that covers a whole chunk, within zstd's limits.
func windowFor(max uint) int {
	w := zstd.MinWindowSize
	for w < int(max) && w < zstd.MaxWindowSize {
		w <<= 1
	}
	return w
}
