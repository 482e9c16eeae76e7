package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

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
		return nil, fmt.Errorf("init: %s %w", be.Location(), ErrRepositoryExists)
	} else if !backend.IsNotExist(err) {
		return nil, fmt.Errorf("init: %w", err)
	}
	pol := o.ChunkerPolynomial
	if pol == 0 {
		var err error
		if pol, err = chunk.RandomPol(); err != nil {
			return nil, fmt.Errorf("init: chunker polynomial: %w", err)
		}
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
		if errors.Is(err, fs.ErrExist) {
			// Another process created a repository here after our Stat (two
			// `backup --init` on a fresh medium). Its config won; our key
			// file opens nothing, so it goes, and the caller may open theirs.
			if rerr := be.Remove(ctx, backend.Handle{Type: KeyFile, Name: keyID.String()}); rerr != nil && !backend.IsNotExist(rerr) {
				r.opts.Logf("init: removing the unused key file %s: %v", keyID, rerr)
			}
			return nil, fmt.Errorf("init: %s %w (created by another process meanwhile)", be.Location(), ErrRepositoryExists)
		}
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
	// One encoder per CPU (see encoders).
	enc, err := newEncoders(runtime.GOMAXPROCS(0), zstd.WithEncoderLevel(level), zstd.WithZeroFrames(true),
		// The AEAD and the blob ID already detect any change; a CRC per frame
		// would only cost time.
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true),
		// Blobs are chunks of at most a few MiB; a larger window buys nothing.
		zstd.WithWindowSize(windowFor(cfg.Chunk.Max)))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	uploads := maxUploads(be)
	r := &Repository{be: be, key: key, cfg: cfg, idx: NewIndex(), opts: o, enc: enc, lastIndex: o.Now(), uploads: newUploads(uploads), treeCache: newTreePackCache(treeCacheLimit),
		indexReads: newIndexReads(indexReadBudget),
		packBufs:   make(chan []byte, openPackers+uploads), packSlots: make(chan struct{}, openPackers+uploads)}
	for t := range r.pending {
		r.pending[t] = make(map[ID]struct{})
	}
	return r, nil
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
