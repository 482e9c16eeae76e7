package repo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

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
	if err := checkSaveLimit(h, sealed); err != nil {
		return ID{}, err
	}
	// Opened again after it was named, so that a file whose bytes match
	// its name always opens with the key: readers take one that does not
	// for junk that no holder of the key wrote (ErrForeignFile), and prune
	// passes over such a snapshot file. A memory fault that changed the
	// sealed bytes before they were hashed, a pooled hasher or the key
	// itself would otherwise make a genuine snapshot look like junk
	// (Verify derives afresh and checks the key's digest); one after this
	// check makes the name wrong, which is damage.
	if err := r.key.Verify(sealed, []byte(t)); err != nil {
		return ID{}, fmt.Errorf("save %s: the sealed file does not open again (a memory fault?); nothing was saved: %w", h, err)
	}
	if err := r.be.Save(ctx, h, sealed); err != nil {
		return ID{}, fmt.Errorf("save %s: %w", h, err)
	}
	return id, nil
}

// LoadFile loads a file saved with SaveFile, checks its hash and decrypts it.
// A file larger than LoadLimit(t) is not read: it fails as damaged,
// wrapping ErrTooLarge.
func (r *Repository) LoadFile(ctx context.Context, t FileType, id ID) ([]byte, error) {
	return r.loadFile(ctx, t, id, 0)
}

// LoadFileSized is LoadFile for a file whose stored size a listing gave
// (ListFilesSized): it reads no more than size bytes, so that a listing
// that understates a file (a broken or hostile server) cannot make the
// reader load more than it allowed for on the listed size. A file of
// another size fails as damaged (its hash), or as too short.
func (r *Repository) LoadFileSized(ctx context.Context, t FileType, id ID, size int64) ([]byte, error) {
	h := backend.Handle{Type: t, Name: id.String()}
	if size <= 0 {
		return nil, damaged(h, nil, "listed with %d bytes", size)
	}
	if max := LoadLimit(t); max > 0 && size > max {
		return nil, tooLarge(h, size, max)
	}
	return r.loadFile(ctx, t, id, size)
}

// loadFile loads length bytes of the file (all of it, within LoadLimit,
// for 0) and opens it.
func (r *Repository) loadFile(ctx context.Context, t FileType, id ID, length int64) ([]byte, error) {
	h := backend.Handle{Type: t, Name: id.String()}
	var raw []byte
	var err error
	if length > 0 {
		raw, err = r.be.Load(ctx, h, 0, length)
	} else {
		raw, err = loadLimited(ctx, r.be, h)
	}
	if IsDamaged(err) {
		return nil, err // too large: loadLimited named the file
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	if storedName(raw) != id {
		return nil, damaged(h, nil, "SHA-256 of its %d bytes does not match its name", len(raw))
	}
	plain, err := r.key.Open(nil, raw, []byte(t))
	switch {
	case err == nil:
		return plain, nil
	case errors.Is(err, ErrUnsupportedVersion):
		// The seal byte, the only version Open checks, changes only with
		// the config version (doc/design.md §13), which Open has checked:
		// junk that anyone can write, since a matching name is only a hash.
		err = fmt.Errorf("its bytes are as they were saved, but its seal version %d is one only a repository of a newer format could hold", raw[0])
	case errors.Is(err, crypto.ErrAuth):
		// The config opened with this key, so "wrong key" means a file
		// that this repository's key did not write.
		err = errors.New("its bytes are as they were saved, but its seal does not open with this repository's key")
	}
	// Its bytes are as they were saved (their hash is its name): whoever
	// saved them did not hold this repository's key (ErrForeignFile).
	return nil, &DamagedError{File: h, Err: foreignError{err}}
}

// ListFiles calls fn with the ID of every file of type t. Names that are
// not IDs (foreign files) are skipped.
func (r *Repository) ListFiles(ctx context.Context, t FileType, fn func(ID) error) error {
	return r.ListFilesSized(ctx, t, func(id ID, _ int64) error { return fn(id) })
}

// ListFilesSized is ListFiles with each file's stored size, as the backend
// lists it.
func (r *Repository) ListFilesSized(ctx context.Context, t FileType, fn func(id ID, size int64) error) error {
	return r.be.List(ctx, t, func(fi backend.FileInfo) error {
		id, err := ParseID(fi.Name)
		if err != nil {
			return nil
		}
		return fn(id, fi.Size)
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

// LoadStored returns a file's bytes as stored, without checking them
// against its name or opening them: what a repair keeps of a damaged file
// before it removes it. A file larger than LoadLimit(t) is not read (an
// error wrapping ErrTooLarge): a repair that cannot keep it must leave it.
func (r *Repository) LoadStored(ctx context.Context, t FileType, id ID) ([]byte, error) {
	h := backend.Handle{Type: t, Name: id.String()}
	raw, err := loadLimited(ctx, r.be, h)
	if IsDamaged(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	return raw, nil
}

// DamagedFiles returns the files of type t that LoadFile refuses as
// damaged (IsDamaged): bytes that do not match the file's name, that do
// not open with the repository's key, or whose seal byte is unknown
// (doc/design.md §13: a new seal version comes only with a new config
// version, so in a repository this program opened such a file is junk).
// A file that could not be read for
// another reason (a lost connection) is an error, so that no caller takes
// it for damage and removes it. t is a type saved with SaveFile: not
// packs or keys, which are checked otherwise (check).
func (r *Repository) DamagedFiles(ctx context.Context, t FileType) ([]ID, error) {
	if t == PackFile || t == KeyFile {
		return nil, fmt.Errorf("damaged files: %s files are not saved with SaveFile", t)
	}
	var ids []ID
	if err := r.ListFiles(ctx, t, func(id ID) error { ids = append(ids, id); return nil }); err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	// Loaded eight at a time: on a remote repository each is a request,
	// and a run log of years has thousands.
	bad := make([]bool, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			_, err := r.LoadFile(gctx, t, id)
			switch {
			case err == nil, backend.IsNotExist(err), errors.Is(err, ErrUnsupportedVersion):
			case IsDamaged(err):
				bad[i] = true
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []ID
	for i, id := range ids {
		if bad[i] {
			out = append(out, id)
		}
	}
	return out, nil
}
