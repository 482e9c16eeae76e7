// Package backend defines the storage interface of a repository: files
// saved whole, loaded by range, listed, removed. It knows nothing about
// encryption or packs; see package repo for that.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNoRepository means that a location holds no repository: the
// directory, bucket or config file is not there. Backends return it
// (wrapped, naming the location) when opened on such a location, and
// repo.Open when the backend has no config; repo.ErrNoRepository is the
// same value, so one errors.Is test covers both.
var ErrNoRepository = errors.New("repository does not exist")

// ErrRepositoryExists is wrapped by a backend's Create for a location that
// holds a repository already (its config file). It matches fs.ErrExist
// too.
var ErrRepositoryExists error = repositoryExistsError{}

type repositoryExistsError struct{}

func (repositoryExistsError) Error() string        { return "a repository already exists" }
func (repositoryExistsError) Is(target error) bool { return target == fs.ErrExist }

// FileType is the kind of a file stored in a backend. Each type has its own
// directory (see doc/design.md).
type FileType string

// The file types of a repository.
const (
	ConfigFile   FileType = "config"
	KeyFile      FileType = "keys"
	PackFile     FileType = "data"
	IndexFile    FileType = "index"
	SnapshotFile FileType = "snapshots"
	LockFile     FileType = "locks"
	// RecordFile holds append-only records of an application (cadang's
	// SOP layer keeps its run log there): small sealed files that name no
	// blob, are never rewritten and are not removed by maintenance.
	RecordFile FileType = "records"
	// ObsoleteFile lists packs that prune has marked obsolete: still
	// indexed and readable, deleted by a later prune (doc/design.md,
	// "Prune beside backups").
	ObsoleteFile FileType = "obsolete"
	// ProtectFile holds protections of snapshots: small sealed files, each
	// naming a snapshot that forget must keep (until a time, or forever)
	// and why (doc/design.md, "Protections"). Removing one lifts it.
	ProtectFile FileType = "protected"
	// ForgottenFile records snapshots that forget removed, so that a copy
	// into the repository does not bring them back (doc/design-snapshot.md,
	// "Forgotten snapshots"): small sealed files that name no blob.
	ForgottenFile FileType = "forgotten"
)

// Handle names one stored file. Name is empty for the config file.
type Handle struct {
	Type FileType
	Name string
}

func (h Handle) String() string {
	if h.Type == ConfigFile {
		return "config"
	}
	return string(h.Type) + "/" + h.Name
}

// FileInfo describes a stored file.
type FileInfo struct {
	Name string
	Size int64
}

// ErrNotExist is returned (wrapped) by a backend for a file that is not there.
var ErrNotExist = errors.New("file does not exist")

// ErrUnknownType is returned (wrapped) by a backend whose storage does not
// know a file type: a REST server of an older cadang, which answers 400
// for a directory added since (forgotten/).
var ErrUnknownType = errors.New("the storage does not know this file type")

// ErrReadOnly is wrapped by the error of a write that the storage refused
// because it may not be written at all, as a medium mounted read-only
// refuses it: an SFTP server's file system mounted read-only, an S3 bucket
// whose policy lets this user read but not put (AccessDenied), a REST
// server's 403. The backend's own error stays in the chain, as the detail
// (ReadOnly). repo.ReadOnlyError wraps such an error, as it wraps EROFS.
var ErrReadOnly = errors.New("the storage refuses writes")

// ReadOnly marks err, the refusal of a write, as ErrReadOnly, keeping err
// (and its message) as it is.
func ReadOnly(err error) error {
	if err == nil || errors.Is(err, ErrReadOnly) {
		return err
	}
	return &readOnlyError{err}
}

// ReadOnlyDetail returns the storage's own refusal inside err, as the
// backend marked it with ReadOnly: the detail of a message that says
// plainly that the storage is read-only. ok is false when err holds none.
func ReadOnlyDetail(err error) (detail error, ok bool) {
	var ro *readOnlyError
	if !errors.As(err, &ro) {
		return nil, false
	}
	return ro.err, true
}

type readOnlyError struct{ err error }

func (e *readOnlyError) Error() string        { return e.err.Error() }
func (e *readOnlyError) Unwrap() error        { return e.err }
func (e *readOnlyError) Is(target error) bool { return target == ErrReadOnly }

// ErrAppendOnly is wrapped by the error of a removal that the storage
// refused because it only adds files (a server run with cadang serve
// --append-only, which removes nothing but lock files), and by the error
// of an operation refused before it started because it would need such a
// removal (repo.Repository.RefuseAppendOnly).
var ErrAppendOnly = errors.New("the server is append-only")

// AppendOnlyer is implemented by backends whose storage may refuse to
// remove files other than lock files (the rest backend, which the server
// tells whether it does). A backend that does not implement it removes
// what it is asked to.
type AppendOnlyer interface {
	// AppendOnly reports whether the storage refuses removals, as far as
	// the backend knows (the rest backend: from the server's answer to
	// Open or Create on).
	AppendOnly() bool
}

// IsAppendOnly reports whether be, or a backend it wraps (a decorator with
// an Unwrap() Backend method), refuses to remove files other than locks.
func IsAppendOnly(be Backend) bool {
	for be != nil {
		if ao, ok := be.(AppendOnlyer); ok {
			return ao.AppendOnly()
		}
		u, ok := be.(interface{ Unwrap() Backend })
		if !ok {
			return false
		}
		be = u.Unwrap()
	}
	return false
}

// Backend stores whole files. It is deliberately small: every storage
// (local disk, SFTP, S3) implements it, and everything else (caching,
// retries, limits) is a wrapper around it.
//
// Save must be atomic: after an error, no file exists under h's name, and a
// reader never sees a partial file. Files are never modified once saved.
type Backend interface {
	// Save stores data under h. Saving over an existing file with other
	// bytes fails (fs.ErrExist); saving the same bytes again succeeds, since
	// names are content hashes.
	// Save must not keep data after it returns: the caller reuses it.
	Save(ctx context.Context, h Handle, data []byte) error
	// Load returns length bytes from offset; length 0 means to the end.
	Load(ctx context.Context, h Handle, offset, length int64) ([]byte, error)
	// List calls fn for every file of type t, in no particular order.
	List(ctx context.Context, t FileType, fn func(FileInfo) error) error
	// Remove deletes the file.
	Remove(ctx context.Context, h Handle) error
	// Stat returns the file's size.
	Stat(ctx context.Context, h Handle) (FileInfo, error)
	// Location describes the backend for messages, e.g. a path or URL.
	Location() string
	// Close releases resources held by the backend.
	Close() error
}

// BufferLoader is implemented by backends that can read a range straight
// into the caller's buffer. Restore and check read every pack once; a fresh
// buffer per pack would be megabytes of garbage each time.
type BufferLoader interface {
	// LoadInto fills buf with len(buf) bytes from offset. A range beyond
	// the end of the file is an error, as for Load.
	LoadInto(ctx context.Context, h Handle, offset int64, buf []byte) error
}

// Stager is implemented by backends whose Save spends most of its time
// waiting for the storage to make a written file durable (a local disk's
// fsync). Stage writes data and returns as soon as data is no longer
// needed; the commit it returns finishes the save (makes the file durable
// and gives it its name) and must be called exactly once. Until commit has
// returned nil no file exists under h's name, as for a Save that has not
// returned, and a failed Stage or commit leaves nothing behind that a
// failed Save would not. A writer that keeps one buffer per file in flight
// can so reuse the buffer while the storage is still busy with the file.
type Stager interface {
	Stage(ctx context.Context, h Handle, data []byte) (commit func(context.Context) error, err error)
}

// Concurrent is implemented by backends whose requests wait on a network
// (S3, SFTP, REST): Connections is how many they keep in flight at once,
// and a repository uploads that many packs at a time.
type Concurrent interface {
	Connections() int
}

// Prefetcher is implemented by backends that can start bringing a file's
// bytes close before they are loaded (the local backend: into the page
// cache, with POSIX_FADV_WILLNEED). Prefetch returns without waiting for
// the bytes; it is advice, and may do nothing. length 0 means to the end.
// A reader of many files in a known order (check, restore) prefetches the
// next ones, so that a cold disk works while it decrypts the current one.
type Prefetcher interface {
	Prefetch(ctx context.Context, h Handle, offset, length int64)
}

// LoadInto reads len(buf) bytes at offset into buf, through BufferLoader
// when be has it and through Load otherwise.
func LoadInto(ctx context.Context, be Backend, h Handle, offset int64, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if bl, ok := be.(BufferLoader); ok {
		return bl.LoadInto(ctx, h, offset, buf)
	}
	data, err := be.Load(ctx, h, offset, int64(len(buf)))
	if err != nil {
		return err
	}
	if len(data) != len(buf) {
		return fmt.Errorf("load %s: got %d bytes at offset %d, want %d: %w", h, len(data), offset, len(buf), io.ErrUnexpectedEOF)
	}
	copy(buf, data)
	return nil
}

// IsNotExist reports whether err says a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }

// NotExist wraps ErrNotExist with the handle and location.
func NotExist(h Handle, loc string) error {
	return fmt.Errorf("%s in %s: %w", h, loc, ErrNotExist)
}

// ErrTooLarge is wrapped by LoadMax's error (a *TooLargeError) for a file
// larger than the caller allowed.
var ErrTooLarge = errors.New("file larger than allowed")

// TooLargeError is LoadMax's error for a file of more than Max bytes. It
// was neither read nor allocated: Size is what the storage said it holds
// (a listing, a stat, a Content-Length), which a hostile server may make
// up, so it says only that the file is not one to read.
type TooLargeError struct {
	File Handle
	Size int64
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s holds %d bytes, more than the %d allowed", e.File, e.Size, e.Max)
}

// Is makes a *TooLargeError match ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// MaxLoader is implemented by backends that can load a whole file in one
// request and refuse it, before they allocate or read its bytes, when it
// is larger than max: a server asked for a file of a few kilobytes must not
// make the client take in gigabytes. A file of more than max bytes is a
// *TooLargeError (not retried); Load's errors otherwise.
type MaxLoader interface {
	LoadMax(ctx context.Context, h Handle, max int64) ([]byte, error)
}

// LoadMax loads the whole file h if it holds at most max bytes (max > 0),
// and fails with a *TooLargeError otherwise, having allocated and read no
// more than max bytes. A backend without MaxLoader is asked for the size
// first (Stat) and then for exactly that many bytes, which Load must honour
// (backendtest checks it): a second request, but never more than max bytes.
func LoadMax(ctx context.Context, be Backend, h Handle, max int64) ([]byte, error) {
	if max <= 0 {
		return nil, fmt.Errorf("load %s: invalid bound %d", h, max)
	}
	if ml, ok := be.(MaxLoader); ok {
		return ml.LoadMax(ctx, h, max)
	}
	fi, err := be.Stat(ctx, h)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Size > max:
		return nil, fmt.Errorf("load %s: %w", h, &TooLargeError{File: h, Size: fi.Size, Max: max})
	case fi.Size <= 0:
		// Load(0, 0) would mean "all of it", however much that is; the
		// file is immutable, so its name check fails on these 0 bytes if
		// the stat lied.
		return []byte{}, nil
	}
	data, err := be.Load(ctx, h, 0, fi.Size)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != fi.Size {
		return nil, fmt.Errorf("load %s: got %d bytes for a range of %d: %w", h, len(data), fi.Size, io.ErrUnexpectedEOF)
	}
	return data, nil
}
