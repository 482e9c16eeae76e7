// Package s3 stores a repository in an S3 bucket (AWS S3 or any
// S3-compatible server: MinIO, versitygw, Ceph RGW, ...) through minio-go.
//
// Layout under the bucket and an optional prefix, the same as the local
// backend's:
//
//	PREFIX/config
//	PREFIX/keys/<name>
//	PREFIX/data/<first two hex digits of name>/<name>
//	PREFIX/index/<name>
//	...
//
// Every object is written with one PUT (S3 PUTs are atomic: a reader never
// sees a partial object), with Content-MD5 so that the server verifies the
// bytes, and with "If-None-Match: *" so that a concurrent writer of other
// bytes cannot replace an object (servers without conditional writes ignore
// the header; the Stat before the PUT still refuses existing objects).
//
// Transient failures (network errors, 5xx, 429/SlowDown) are retried with
// exponential backoff and jitter for at most Config.RetryTimeout; a
// cancelled context stops at once.
package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
	"github.com/lpse/cadang/repo/backend/internal/retry"
)

// DefaultConnections bounds concurrent requests when Config.Connections is 0.
const DefaultConnections = 5

// DefaultRetryTimeout bounds the time spent retrying one operation when
// Config.RetryTimeout is 0.
const DefaultRetryTimeout = 2 * time.Minute

// Config says where a repository lives and how to reach it.
type Config struct {
	// Endpoint is HOST[:PORT] of the server, e.g. "s3.amazonaws.com" or
	// "127.0.0.1:7070".
	Endpoint string
	// Secure selects https.
	Secure bool
	// Bucket holds the repository; Prefix (optional, without leading or
	// trailing slashes) is the "directory" inside it.
	Bucket string
	Prefix string
	// Region of the bucket; empty lets minio-go find out (us-east-1 for
	// most S3-compatible servers).
	Region string
	// AccessKey, SecretKey and SessionToken are static credentials. When
	// AccessKey is empty, the credentials come from the environment
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, then
	// MINIO_ACCESS_KEY/MINIO_SECRET_KEY) or ~/.aws/credentials
	// (AWS_PROFILE), through minio-go's credential chain.
	AccessKey    string
	SecretKey    string
	SessionToken string
	// Connections bounds the requests in flight at once (default 5).
	Connections int
	// RetryTimeout bounds the time spent retrying one operation after
	// transient failures (default 2 minutes); negative means no retries.
	RetryTimeout time.Duration
	// RetryNotify, if set, hears of each failed attempt that is retried:
	// its error, its number (from 1) and the wait before the next one, so
	// that a caller can say why a command is waiting.
	RetryNotify func(err error, attempt int, wait time.Duration)
	// Transport replaces the HTTP transport (tests, proxies); nil is
	// minio-go's default.
	Transport http.RoundTripper
}

// Backend is a repository in an S3 bucket. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	client *minio.Client
	core   minio.Core
	sem    chan struct{}
	loc    string
	prefix string // "" or "PREFIX/"
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.BufferLoader = (*Backend)(nil)
)

// Location returns the configuration as a location string,
// s3:http[s]://ENDPOINT/BUCKET[/PREFIX].
func (c Config) Location() string {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	s := "s3:" + scheme + "://" + c.Endpoint + "/" + c.Bucket
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		s += "/" + p
	}
	return s
}

func newBackend(cfg Config) (*Backend, error) {
	loc := cfg.Location()
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("s3 repository %s: no endpoint", loc)
	}
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("s3 repository %s: no bucket", loc)
	}
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultConnections
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = DefaultRetryTimeout
	}
	cfg.Prefix = cleanPrefix(cfg.Prefix)
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.EnvMinio{},
		})
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     creds,
		Secure:    cfg.Secure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
		// We retry ourselves, bounded in time and naming the file.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 repository %s: %w", loc, err)
	}
	b := &Backend{
		cfg:    cfg,
		client: client,
		core:   minio.Core{Client: client},
		sem:    make(chan struct{}, cfg.Connections),
		loc:    loc,
	}
	if cfg.Prefix != "" {
		b.prefix = cfg.Prefix + "/"
	}
	return b, nil
}

// Open opens the repository described by cfg. A missing bucket or config
// object gives an error wrapping backend.ErrNoRepository naming the
// location; wrong credentials or an unreachable server give other errors.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.checkBucket(ctx, "open"); err != nil {
		return nil, err
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	switch {
	case backend.IsNotExist(err):
		return nil, fmt.Errorf("open repository %s: no config file: %w", b.loc, backend.ErrNoRepository)
	case err != nil:
		return nil, fmt.Errorf("open repository %s: %w", b.loc, err)
	}
	return b, nil
}

// checkBucket returns an error wrapping backend.ErrNoRepository if the
// bucket is missing.
func (b *Backend) checkBucket(ctx context.Context, op string) error {
	var exists bool
	err := b.retry(ctx, func(ctx context.Context) error {
		var err error
		exists, err = b.client.BucketExists(ctx, b.cfg.Bucket)
		return err
	})
	if err != nil {
		switch minio.ToErrorResponse(err).Code {
		case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken":
			return fmt.Errorf("%s repository %s: %w (check the credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or ~/.aws/credentials)", op, b.loc, err)
		}
		return fmt.Errorf("%s repository %s: %w", op, b.loc, err)
	}
	if !exists {
		return fmt.Errorf("%s repository %s: bucket %q not found: %w", op, b.loc, b.cfg.Bucket, backend.ErrNoRepository)
	}
	return nil
}

// Create prepares a new repository: it makes the bucket if it is missing
// and checks that no repository is there yet. It does not write the
// config; that is the caller's last Save. Objects that an interrupted
// create left (key files written before the config) do not count.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	err = b.checkBucket(ctx, "create")
	if errors.Is(err, backend.ErrNoRepository) {
		err = b.retry(ctx, func(ctx context.Context) error {
			err := b.client.MakeBucket(ctx, b.cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region})
			if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
				return nil
			}
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("create repository %s: %w", b.loc, err)
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	switch {
	case err == nil:
		return nil, fmt.Errorf("create repository: %w at %s", backend.ErrRepositoryExists, b.loc)
	case !backend.IsNotExist(err):
		return nil, fmt.Errorf("create repository %s: %w", b.loc, err)
	}
	return b, nil
}

// OpenOrCreate opens the repository, or prepares a new one (as Create does)
// when the bucket or config is missing.
func OpenOrCreate(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := Open(ctx, cfg)
	if err == nil || !errors.Is(err, backend.ErrNoRepository) {
		return b, err
	}
	return Create(ctx, cfg)
}

// Location returns s3:http[s]://ENDPOINT/BUCKET[/PREFIX].
func (b *Backend) Location() string { return b.loc }

// Close does nothing; idle connections are closed by the transport.
func (b *Backend) Close() error { return nil }

// Key returns the object name h is stored under. It does not validate h.
func (b *Backend) Key(h backend.Handle) string {
	switch {
	case h.Type == backend.ConfigFile:
		return b.prefix + string(backend.ConfigFile)
	case h.Type == backend.PackFile && len(h.Name) >= 2:
		return b.prefix + string(h.Type) + "/" + h.Name[:2] + "/" + h.Name
	default:
		return b.prefix + string(h.Type) + "/" + h.Name
	}
}

// what names h for messages: the handle and the location.
func (b *Backend) what(h backend.Handle) string { return h.String() + " in " + b.loc }

// errPrecondition marks a PUT refused because the object exists.
var errPrecondition = errors.New("object exists")

// Save stores data under h with one PUT. An existing object with the same
// bytes is a success (a retry); with other bytes the error wraps
// fs.ErrExist and the object is left alone.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("save %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", b.what(h), err)
	}
	if _, err := b.Stat(ctx, h); err == nil {
		return b.compare(ctx, h, data)
	} else if !backend.IsNotExist(err) {
		return fmt.Errorf("save: %w", err)
	}
	key := b.Key(h)
	err := b.retry(ctx, func(ctx context.Context) error {
		opts := minio.PutObjectOptions{
			ContentType:      "application/octet-stream",
			SendContentMd5:   true,
			DisableMultipart: true,
		}
		opts.SetMatchETagExcept("*")
		_, err := b.client.PutObject(ctx, b.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed" {
			return errPrecondition
		}
		return err
	})
	if errors.Is(err, errPrecondition) {
		return b.compare(ctx, h, data)
	}
	if err != nil {
		if putDenied(err) {
			err = backend.ReadOnly(err)
		}
		return fmt.Errorf("save %s: %w", b.what(h), err)
	}
	return nil
}

// putDenied reports whether err is the AccessDenied of a put: the bucket
// (its policy, or the key's) lets this user read, as the repository was
// opened, but not write: read-only storage, as a medium mounted read-only.
func putDenied(err error) bool {
	var r minio.ErrorResponse
	return errors.As(err, &r) && r.Code == "AccessDenied"
}

// compare checks an existing object against data.
func (b *Backend) compare(ctx context.Context, h backend.Handle, data []byte) error {
	// No more than one byte past data: a larger file differs, and a
	// storage that gives it gigabytes must not make the save take them in.
	old, err := b.LoadMax(ctx, h, int64(len(data))+1)
	if _, ok := errors.AsType[*backend.TooLargeError](err); ok {
		return fmt.Errorf("save %s: file exists with different content: %w", b.what(h), fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("save %s: exists, and reading it back failed: %w", b.what(h), err)
	}
	if !bytes.Equal(old, data) {
		return fmt.Errorf("save %s: file exists with different content: %w", b.what(h), fs.ErrExist)
	}
	return nil
}

// Load returns length bytes of h from offset; length 0 means to the end.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	if err := handle.Valid(h); err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("load %s: invalid range: offset %d, length %d", b.what(h), offset, length)
	}
	return b.load(ctx, h, offset, length, 0, nil)
}

// LoadMax implements backend.MaxLoader: one GET, refused on the object's
// announced size before the body is read.
func (b *Backend) LoadMax(ctx context.Context, h backend.Handle, max int64) ([]byte, error) {
	if err := handle.Valid(h); err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	return b.load(ctx, h, 0, 0, max, nil)
}

var _ backend.MaxLoader = (*Backend)(nil)

// LoadInto implements backend.BufferLoader.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, buf []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("load %s: %w", h, err)
	}
	if offset < 0 {
		return fmt.Errorf("load %s: invalid range: offset %d", b.what(h), offset)
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := b.load(ctx, h, offset, int64(len(buf)), 0, buf)
	return err
}

// errShort marks a range beyond the end of the object.
// errTruncated is a response body that ended before its declared length.
type errTruncated struct{ n, want int64 }

func (e *errTruncated) Error() string {
	return fmt.Sprintf("connection ended after %d of %d bytes", e.n, e.want)
}

type errShort struct{ msg string }

func (e *errShort) Error() string { return e.msg }
func (e *errShort) Unwrap() error { return io.ErrUnexpectedEOF }

// load does a ranged GET; buf, when not nil, has length bytes. max, when
// not 0, bounds a whole-file load (length 0): a larger file is a
// *backend.TooLargeError.
func (b *Backend) load(ctx context.Context, h backend.Handle, offset, length, max int64, buf []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", b.what(h), err)
	}
	key := b.Key(h)
	var out []byte
	var emptyTail bool // a 416 for "bytes=offset-": offset may be the size
	err := b.retry(ctx, func(ctx context.Context) error {
		var opts minio.GetObjectOptions
		switch {
		case length > 0:
			if err := opts.SetRange(offset, offset+length-1); err != nil {
				return err
			}
		case offset > 0:
			if err := opts.SetRange(offset, 0); err != nil {
				return err
			}
		}
		body, info, _, err := b.core.GetObject(ctx, b.cfg.Bucket, key, opts)
		if err != nil {
			r := minio.ToErrorResponse(err)
			switch {
			case isNotFound(err):
				return backend.NotExist(h, b.loc)
			case r.StatusCode == http.StatusRequestedRangeNotSatisfiable || r.Code == "InvalidRange":
				if length == 0 {
					emptyTail = true
					return nil
				}
				return &errShort{fmt.Sprintf("range %d+%d beyond end of file", offset, length)}
			}
			return err
		}
		defer body.Close()
		if length > 0 {
			dst := buf
			if dst == nil {
				dst = make([]byte, length)
			}
			n, err := io.ReadFull(body, dst)
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				if info.Size >= 0 && info.Size < length {
					// The server says the range is shorter: the file is.
					return &errShort{fmt.Sprintf("range %d+%d beyond end of file (%d bytes there)", offset, length, n)}
				}
				// The body ended before its declared length: the
				// connection dropped. Retried, and never taken for a
				// short file (which the repository calls damage).
				return &errTruncated{n: int64(n), want: length}
			}
			if err != nil {
				return err
			}
			out = dst
			return nil
		}
		if info.Size < 0 {
			return fmt.Errorf("no Content-Length in the response")
		}
		if max > 0 && info.Size > max {
			return &backend.TooLargeError{File: h, Size: info.Size, Max: max}
		}
		dst := make([]byte, info.Size)
		if _, err := io.ReadFull(body, dst); err != nil {
			return err // truncated body: transient
		}
		out = dst
		return nil
	})
	if err == nil && emptyTail {
		fi, serr := b.Stat(ctx, h)
		switch {
		case serr != nil:
			err = serr
		case fi.Size == offset:
			out = []byte{}
		default:
			err = &errShort{fmt.Sprintf("offset %d beyond end of %d-byte file", offset, fi.Size)}
		}
	}
	if err != nil {
		if backend.IsNotExist(err) {
			return nil, err
		}
		return nil, fmt.Errorf("load %s: %w", b.what(h), err)
	}
	return out, nil
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := handle.Valid(h); err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %s: %w", b.what(h), err)
	}
	var size int64
	err := b.retry(ctx, func(ctx context.Context) error {
		info, err := b.client.StatObject(ctx, b.cfg.Bucket, b.Key(h), minio.StatObjectOptions{})
		if isNotFound(err) {
			return backend.NotExist(h, b.loc)
		}
		size = info.Size
		return err
	})
	if err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat: %w", err)
	}
	return backend.FileInfo{Name: h.Name, Size: size}, nil
}

// Remove deletes h; a missing object gives an error wrapping
// backend.ErrNotExist (S3 itself reports success for those).
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	if _, err := b.Stat(ctx, h); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	err := b.retry(ctx, func(ctx context.Context) error {
		return b.client.RemoveObject(ctx, b.cfg.Bucket, b.Key(h), minio.RemoveObjectOptions{})
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	return nil
}

// List calls fn for every file of type t, with its size. It pages through
// the bucket listing; a transient failure resumes after the last key seen.
// For ConfigFile it calls fn once, with an empty name, if the config exists.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !handle.ValidType(t) {
		return fmt.Errorf("list %q: unknown file type", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
		if backend.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		return fn(fi)
	}
	dir := b.prefix + string(t) + "/"
	last := ""
	for {
		page, truncated, err := b.listPage(ctx, t, dir, last)
		if err != nil {
			return err
		}
		for _, o := range page {
			last = o.Key
			name, ok := nameOf(t, strings.TrimPrefix(o.Key, dir))
			if !ok {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
			}
			if err := fn(backend.FileInfo{Name: name, Size: o.Size}); err != nil {
				return err
			}
		}
		if !truncated {
			return nil
		}
	}
}

const listPageSize = 1000

// listPage returns up to listPageSize objects after startAfter.
func (b *Backend) listPage(ctx context.Context, t backend.FileType, dir, startAfter string) ([]minio.ObjectInfo, bool, error) {
	var page []minio.ObjectInfo
	truncated := false
	err := b.retry(ctx, func(ctx context.Context) error {
		page = page[:0]
		truncated = false
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for o := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{
			Prefix:     dir,
			Recursive:  true,
			StartAfter: startAfter,
			MaxKeys:    listPageSize,
		}) {
			if o.Err != nil {
				return o.Err
			}
			if len(page) == listPageSize {
				truncated = true // there is more; the next page starts after page's last key
				return nil
			}
			page = append(page, o)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	return page, truncated, nil
}

// nameOf returns the file name of a key below its type's directory, or false
// for keys that are not repository files (nested, hidden, misplaced packs).
func nameOf(t backend.FileType, rest string) (string, bool) {
	if t == backend.PackFile {
		dir, name, ok := strings.Cut(rest, "/")
		if !ok || len(dir) != 2 || len(name) < 2 || name[:2] != dir {
			return "", false
		}
		rest = name
	}
	if rest == "" || strings.Contains(rest, "/") || rest[0] == '.' {
		return "", false
	}
	return rest, true
}

// isNotFound reports whether err says the object (or bucket) is missing.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	r := minio.ToErrorResponse(err)
	switch r.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return true
	}
	return r.StatusCode == http.StatusNotFound
}

// transient reports whether err is worth retrying.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if backend.IsNotExist(err) || errors.Is(err, errPrecondition) || errors.Is(err, backend.ErrTooLarge) {
		return false
	}
	var short *errShort
	if errors.As(err, &short) {
		return false
	}
	var truncated *errTruncated
	if errors.As(err, &truncated) {
		return true
	}
	// A certificate the client does not trust, or TLS spoken to a plain
	// port, does not mend itself.
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var notTLS tls.RecordHeaderError
	if errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &badCert) || errors.As(err, &notTLS) {
		return false
	}
	r := minio.ToErrorResponse(err)
	if r.Code != "" || r.StatusCode != 0 {
		switch r.Code {
		case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
			"ConditionalRequestConflict", "OperationAborted":
			return true
		}
		return r.StatusCode >= 500 || r.StatusCode == http.StatusTooManyRequests
	}
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &netErr), errors.As(err, &urlErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// retry runs fn with the backend's retry policy (package retry): one of
// its connections held per attempt, transient failures retried with
// backoff until RetryTimeout. Callers wrap the error with the operation,
// the file and the location.
func (b *Backend) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	return retry.Policy{Sem: b.sem, Timeout: b.cfg.RetryTimeout, Transient: transient, Notify: b.cfg.RetryNotify}.Do(ctx, fn)
}

// cleanPrefix is path.Clean for a prefix, "" for none.
func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// Connections implements backend.Concurrent: the requests kept in flight.
func (b *Backend) Connections() int { return b.cfg.Connections }
