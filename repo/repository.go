// Package repo is the storage engine of cadang: an encrypted,
// content-addressed store of blobs gathered into pack files, with an index,
// key files, locks and small encrypted files for snapshots and records.
//
// The on-disk format is specified in doc/design.md. A Repository is safe
// for concurrent use; SaveBlob does its hashing, compression and encryption
// in the caller's goroutine, so callers get parallelism by calling it from
// several goroutines.
//
// # Sessions
//
// A Repository is a session: Open and OpenOrInit return it with the lock
// Options.Lock names held and refreshed (Init returns it with none), and
// Close releases everything: the lock files, their refresh, the codecs and
// the backend.
//
//	r, err := repo.Open(ctx, be, password, repo.Options{Lock: repo.SharedLock})
//	if err != nil { ... }
//	defer r.Close()
//
// # Files of the package, in pipeline order
//
//   - repository.go: the session (Options, Open, OpenOrInit, Close)
//   - init.go: creating a repository
//   - keys.go, config.go, lock.go: key files, the config, locks
//   - save.go: SaveBlob and the pack writer (packers, Flush)
//   - upload.go: the bounded pool that stores finished packs
//   - pack.go, index.go, indexfiles.go: pack and index encodings, the
//     in-memory index and the index files
//   - load.go: the read path (LoadBlob, LoadBlobsFromPack, pack headers)
//   - files.go: small sealed files (snapshots, locks, records)
//   - check.go: structural and data checks, and RebuildIndex for repair
//   - treecache.go: the cache of tree packs that restores and checks read
package repo

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/user"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// InitOptions are the parameters of a new repository.
type InitOptions struct {
	Chunk       chunk.Params     // zero value: chunk.DefaultParams()
	PackSize    uint32           // zero: DefaultPackSize
	Compression string           // empty: CompressionFastest
	KDF         crypto.KDFParams // zero: crypto.DefaultKDFParams()
	// ChunkerPolynomial, if not zero, is the polynomial of the new
	// repository instead of a random one (to share another repository's
	// chunking, see cadang init --copy-chunker-params). It must be
	// irreducible; Init refuses it otherwise.
	ChunkerPolynomial chunk.Pol
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
	// Warnf receives warnings that must reach the user even where notices
	// are hidden (cadang --quiet, a cron job's mail): an index file that
	// could not be read and was passed over. Nil sends them to Logf with
	// "warning: " before them.
	Warnf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterUnlock, if set, is called once the password has opened a key
	// and before the index is loaded. argon2id has just allocated 64 MiB
	// that is now garbage; the CLI uses this hook to return it to the
	// operating system before the rest of the work adds to the peak.
	AfterUnlock func()
	// KDFMemory is the most memory, in KiB, that a key file's argon2id may
	// ask for before Open tries it: zero means what the system has
	// available (Linux), or no limit where that is unknown. A key file
	// asking for more is not tried, and the error names it.
	// A key of up to 256 MiB is tried whatever the limit.
	KDFMemory uint64 // the CLI: CADANG_KDF_MEMORY (MiB)
	// Lock is the lock Open (or OpenOrInit) takes before it returns and
	// Close releases. The zero value takes none, for library callers that
	// lock by hand with Repository.Lock; any lock taken either way is
	// released by Close.
	Lock LockMode
	// LockWait is how long Open waits while a live lock of another process
	// conflicts with Lock, trying again with growing pauses (at most 30
	// s); zero refuses at once with a *LockedError, as restic does without
	// --retry-lock.
	LockWait time.Duration
	// ReadOnlyUnlocked is for commands that only read: when Lock, a
	// SharedLock, cannot be taken because the storage is read-only (a rescue disk mounted
	// read-only), Open goes on without a lock rather than fail, and
	// Unlocked says so. Nothing can be written there, but a prune
	// through a writable mount of the same storage could remove data
	// under the reader.
	ReadOnlyUnlocked bool
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
	// PruneLock is for prune, which runs beside backups
	// (doc/design.md, "Prune beside backups"): it excludes other prune
	// locks and exclusive locks, and coexists with shared ones.
	PruneLock
	// CopyLock is for copying snapshots into the repository: like a
	// shared lock, but it excludes other copy locks (and exclusive ones),
	// so that two copies of the same snapshot, each finding it missing,
	// cannot both save it.
	CopyLock
)

func (m LockMode) String() string {
	switch m {
	case NoLock:
		return "none"
	case SharedLock:
		return "shared"
	case ExclusiveLock:
		return "exclusive"
	case PruneLock:
		return "prune"
	case CopyLock:
		return "copy"
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

	enc *encoders
	// The decoder is made on first use: a backup rarely decompresses
	// anything, and zstd decoders hold window-sized buffers.
	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error

	mu      sync.Mutex
	packers [3][]*packer
	pending [3]map[ID]struct{}
	retired []*packer // packs without room, waiting to be finished
	unsaved []IndexPack
	// adopted is set once AdoptUnindexedPacks has run in this session:
	// a job with several sources backs up each through the same session,
	// and one listing of the packs is enough.
	adopted   bool
	lastIndex time.Time
	indexFile []ID // index files written by this session
	// indexRead are the index files the index holds, as last read by
	// loadIndexInto: LoadNewIndex reads only the others.
	indexRead map[ID]struct{}
	// indexSkipped are the index files that the index, as last read,
	// passed over because they could not be read (indexskip.go), with
	// their errors.
	indexSkipped map[ID]error
	// missingPacks are packs a load found missing that a fresh index
	// still names (load.go, moved).
	missingPacks map[ID]struct{}
	// foreignLocks are the foreign lock files warned of that could not
	// be removed (lock.go dropForeign): one warning each.
	foreignLocks map[ID]struct{}
	uploads      *uploads
	treeCache    *treePackCache
	// indexReads bounds the bytes of index files read at once
	// (indexbudget.go).
	indexReads indexReads

	// held are the locks taken through this Repository; writes stop once
	// one of them is lost.
	held heldLocks

	// packBufs holds free data pack buffers. It is a bounded free list, not
	// a sync.Pool, so that exactly as many pack buffers exist as can be in
	// use at once. packSlots bounds those in use (open packers, packs
	// waiting for an upload slot or being written) to the open packers
	// plus the uploads: a saver that needs another waits for a written
	// pack's buffer instead of allocating one.
	packBufs  chan []byte
	packSlots chan struct{}
	scratch   sync.Pool   // *[]byte, per-blob buffers for compression and sealing
	loadBufs  loadBufList // for LoadBlobsFromPack and check

	stats struct {
		blobs, rawBytes, storedBytes [3]atomic.Int64
	}

	// unlocked: Open went on without its lock on read-only storage
	// (Options.ReadOnlyUnlocked); readOnlyCause is the storage's refusal
	// of the lock.
	unlocked      bool
	readOnlyCause error

	closeOnce sync.Once
	closeErr  error
}

// Open unlocks the repository in be with password, loads its index and
// takes the lock o.Lock names. The Repository owns be from then on: its
// Close releases the lock and closes be. On error the caller still owns be.
//
// A wrong password gives ErrWrongPassword; a backend without a repository
// ErrNoRepository; an unknown format version a *VersionError; damage a
// *DamagedError naming the file; a conflicting lock a *LockedError. On
// error nothing in the repository is changed, except that taking a lock
// removes stale lock files in its way (reported through Options.Logf).
func Open(ctx context.Context, be backend.Backend, password []byte, o Options) (*Repository, error) {
	cfgH := backend.Handle{Type: ConfigFile}
	raw, err := loadLimited(ctx, be, cfgH)
	if err != nil {
		if IsDamaged(err) {
			return nil, fmt.Errorf("open %s: %w", be.Location(), err)
		}
		if backend.IsNotExist(err) {
			return nil, fmt.Errorf("%s: %w", be.Location(), ErrNoRepository)
		}
		return nil, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	kdfMem := o.KDFMemory
	if kdfMem == 0 {
		kdfMem = systemKDFMemory()
	}
	slow := func(id ID, p crypto.KDFParams) {
		msg := fmt.Sprintf("key file %s asks for %d MiB of memory and %d passes for its key derivation, which may take minutes: the password opened no cheaper key file (if it is mistyped, press Ctrl-C and try again; if the key file is not yours, 'cadang key remove %s' removes it)", id.Short(), p.Memory>>10, p.Time, id)
		switch {
		case o.Warnf != nil:
			o.Warnf("%s", msg)
		case o.Logf != nil:
			o.Logf("warning: %s", msg)
		}
	}
	limits := unlockLimits{mem: kdfMem, slow: slow}
	if err := checkConfigHeader(raw); err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			return nil, classifyVersion(ctx, be, password, raw, ve, limits)
		}
		return nil, damaged(cfgH, nil, "%v", err)
	}
	hdr := raw[:len(configMagic)+1]
	var plain []byte
	key, keyID, err := unlock(ctx, be, password, limits, func(k *crypto.Key) error {
		p, err := k.Open(nil, raw[len(hdr):], hdr)
		if err != nil {
			return damaged(cfgH, nil, "%v", err)
		}
		plain = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.AfterUnlock != nil {
		o.AfterUnlock()
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
	// The lock comes before the index: an index loaded before the lock is
	// granted may miss what a writer finished meanwhile, or name packs an
	// exclusive holder removed.
	if err := r.takeSessionLock(ctx); err != nil {
		r.freeCodecs()
		if ro := (*ReadOnlyError)(nil); errors.As(err, &ro) && ro.ID == "" {
			ro.ID = cfg.ID // read: the failure report names the repository
		}
		return nil, err
	}
	if !o.NoIndex {
		if err := r.LoadIndex(ctx); err != nil {
			r.abandon()
			return nil, err
		}
	}
	return r, nil
}

// classifyVersion tells a config written by a newer cadang from one whose
// clear-text version byte was damaged. The byte is part of the seal's
// associated data, so a key that opens the config with the byte as stored
// proves a newer repository, and one that opens it only with our own
// version proves the byte changed. Without a key that opens (a wrong
// password), a version far beyond any release is called damage and a
// near one stays a version error that mentions damage. It tries keys under
// the same limits as Open (Options.KDFMemory, the slow-key warning).
func classifyVersion(ctx context.Context, be backend.Backend, password []byte, raw []byte, ve *VersionError, limits unlockLimits) error {
	cfgH := backend.Handle{Type: ConfigFile}
	stored := raw[:len(configMagic)+1]
	ours := configHeader(FormatVersion)
	var verdict error
	_, _, uerr := unlock(ctx, be, password, limits, func(k *crypto.Key) error {
		_, err := k.Open(nil, raw[len(stored):], stored)
		if err == nil || errors.Is(err, ErrUnsupportedVersion) {
			verdict = fmt.Errorf("%s: %w", be.Location(), ve)
			return nil
		}
		if _, err := k.Open(nil, raw[len(ours):], ours); err == nil {
			verdict = damaged(cfgH, nil, "its format version byte reads %d, but the config was sealed as version %d: the byte was changed", ve.Version, FormatVersion)
			return nil
		}
		return damaged(cfgH, nil, "format version byte %d, and the sealed config does not open with it or with version %d", ve.Version, FormatVersion)
	})
	switch {
	case verdict != nil:
		return verdict
	case IsDamaged(uerr):
		return uerr
	case ctx.Err() != nil || errors.Is(uerr, context.Canceled) || errors.Is(uerr, context.DeadlineExceeded):
		// Ctrl-C during a costly key file's derivation, as its warning
		// invites: an interruption, not a version error.
		return uerr
	case ve.Version > FormatVersion+implausibleVersionStep:
		return damaged(cfgH, nil, "format version %d is implausible (this cadang reads version %d): the version byte is damaged", ve.Version, FormatVersion)
	case errors.Is(uerr, ErrKeyNotTried):
		// The key not tried may be the one that would have told.
		return fmt.Errorf("%s: %w (if no newer cadang wrote this repository, its config file is damaged); %w", be.Location(), ve, uerr)
	}
	return fmt.Errorf("%s: %w (if no newer cadang wrote this repository, its config file is damaged)", be.Location(), ve)
}

// implausibleVersionStep is how far beyond FormatVersion a version byte
// may be and still be taken for a future format when it cannot be checked.
const implausibleVersionStep = 16

// abandon undoes a session that will not be returned: it releases its
// locks and codecs but leaves the backend, which the caller still owns.
func (r *Repository) abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	r.held.close()
	for _, l := range r.held.list() {
		_ = l.Unlock(ctx)
	}
	r.freeCodecs()
}

// OpenOrInit opens the repository in be, or creates one there with io
// when be holds none (its config file is missing), and takes the lock
// o.Lock names. created reports which happened. The backend must exist:
// for a directory that may not, use local.OpenOrCreate. Ownership of be
// is as with Open: the Repository's Close closes it; on error the caller
// still owns it.
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
	if errors.Is(err, ErrRepositoryExists) {
		// Another process created the repository since the Stat above:
		// back up into theirs rather than lose this run.
		r, err = Open(ctx, be, password, o)
		return r, false, err
	}
	if err != nil {
		return nil, false, err
	}
	if err := r.takeSessionLock(ctx); err != nil {
		r.abandon() // as with Open, the caller still owns be
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
	deadline := time.Now().Add(r.opts.LockWait)
	pause := time.Second
	for said := false; ; said = true {
		_, err := r.Acquire(ctx, r.opts.Lock)
		err = r.readOnly(err)
		var ro *ReadOnlyError
		if r.opts.ReadOnlyUnlocked && r.opts.Lock == SharedLock && errors.As(err, &ro) {
			r.unlocked, r.readOnlyCause = true, ro.Err
			return nil
		}
		var le *LockedError
		left := time.Until(deadline)
		if err == nil || !errors.As(err, &le) && !errors.Is(err, errLocksChanging) || left <= 0 {
			if le != nil && said {
				le.Waited = r.opts.LockWait
			}
			return err
		}
		if !said {
			r.opts.Logf("%s; waiting up to %s for it to go", err, r.opts.LockWait.Round(time.Second))
		}
		// Jitter: two processes that backed off from each other's new
		// locks at once must not try again in step.
		jittered := pause*3/4 + time.Duration(mrand.Int64N(int64(pause/2)+1))
		t := time.NewTimer(min(jittered, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, 30*time.Second)
	}
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

// closeTimeout bounds how long Close may spend removing lock files: a
// backend that has gone away must not hang the end of a command.
const closeTimeout = 30 * time.Second

// Close ends the session: it waits for uploads in flight, releases every
// lock taken through r (stopping their refresh and removing their files,
// also when the context of the work was cancelled), frees the codecs and
// closes the backend. Blobs not flushed are lost (their packs were never
// written). Close is idempotent; later calls return the first result. A
// Lock after Close is refused; Close must not run while another goroutine
// is still using the Repository (an Unlock in flight included).
func (r *Repository) Close() error {
	r.closeOnce.Do(func() {
		_ = r.uploads.wait() // their blobs are lost without a Flush anyway
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		r.held.close() // no Lock may start after this
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

func hostAndUser() (string, string) {
	host, _ := os.Hostname()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return host, name
}

// Now is the time on the repository's clock (Options.Now): the clock its
// locks and obsolete sets are written and judged by, which a caller that
// compares with them must read too.
func (r *Repository) Now() time.Time { return r.opts.Now() }
