// Package rest stores a repository on a cadang repository server (`cadang
// serve`, package rest/server) over HTTP or HTTPS. The protocol is
// described in doc/design.md, "The REST protocol"; in short, under the
// repository's URL:
//
//	POST   /?create=true     create the repository's layout
//	HEAD   /config, /TYPE/ID the file's size (Content-Length)
//	GET    /config, /TYPE/ID the file, or a byte range of it (Range)
//	POST   /config, /TYPE/ID store a new file (never replaces one)
//	DELETE /config, /TYPE/ID remove a file
//	GET    /TYPE/            list: [{"name": ID, "size": N}, ...]
//
// The server checks that every stored file's name is the SHA-256 of its
// bytes; the config, whose name is fixed, travels with its SHA-256 in the
// Cadang-Content-Sha256 header. Transient failures (network errors, 5xx,
// 429, a body cut short) are retried with the shared backoff loop of
// package retry. The password is sent with HTTP basic authentication and
// appears in no message.
package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
	"github.com/lpse/cadang/repo/backend/internal/retry"
)

// Protocol constants shared with the server.
const (
	// DigestHeader carries the lower-case hex SHA-256 of an upload's body.
	// The client sends it for the config, whose name is not its hash; the
	// server checks it whenever it is present.
	DigestHeader = "Cadang-Content-Sha256"
	// ListContentType is the media type of a listing.
	ListContentType = "application/json"
	// AppendOnlyPrefix starts the body of a 403 answer to a request that
	// an append-only server refuses.
	AppendOnlyPrefix = "append-only: "
	// AppendOnlyHeader is set to "true" on every answer of an
	// append-only server to an authenticated request, so that a client
	// can refuse work that would end in a refusal (prune) before it
	// writes anything.
	AppendOnlyHeader = "Cadang-Append-Only"
)

// DefaultConnections bounds concurrent requests when Config.Connections is 0.
const DefaultConnections = 5

// DefaultRetryTimeout bounds the time spent retrying one operation when
// Config.RetryTimeout is 0.
const DefaultRetryTimeout = 2 * time.Minute

// ErrAppendOnly is wrapped by the error of an operation that an
// append-only server refused (a deletion, or marking packs obsolete).
// It is backend.ErrAppendOnly, which the refusals of the repository's
// operations before they start wrap too.
var ErrAppendOnly = backend.ErrAppendOnly

// ErrUnauthorized is wrapped by the error of a request that the server
// refused for a wrong or missing user or password.
var ErrUnauthorized = errors.New("wrong user or password")

// Config says where a repository lives and how to reach it.
type Config struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is HOST:PORT of the server.
	Host string
	// Path is the repository's path on the server, "/NAME".
	Path string
	// User and Password are sent with HTTP basic authentication when User
	// is not empty.
	User     string
	Password string
	// CACertFile, when not empty, names a PEM file of the certificates
	// that an https server's certificate must chain to, instead of the
	// system's (a self-signed server certificate, for one).
	CACertFile string
	// Connections bounds the requests in flight at once (default 5).
	Connections int
	// RetryTimeout bounds the time spent retrying one operation after
	// transient failures (default 2 minutes); negative means no retries.
	RetryTimeout time.Duration
	// RetryNotify, if set, hears of each failed attempt that is retried:
	// its error, its number (from 1) and the wait before the next one, so
	// that a caller can say why a command is waiting.
	RetryNotify func(err error, attempt int, wait time.Duration)
	// Transport replaces the HTTP transport (tests); nil builds one from
	// the fields above.
	Transport http.RoundTripper
}

// Location returns rest:SCHEME://[USER@]HOST/PATH; never the password.
func (c Config) Location() string {
	u := url.URL{Scheme: c.Scheme, Host: c.Host, Path: c.Path}
	if c.User != "" {
		u.User = url.User(c.User)
	}
	return "rest:" + u.String()
}

// Backend is a repository on a cadang server. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	client *http.Client
	base   string // SCHEME://HOST/PATH, no trailing slash, no user
	loc    string
	sem    chan struct{}
	// appendOnly is what the server's last answer said (AppendOnlyHeader).
	appendOnly atomic.Bool
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.BufferLoader = (*Backend)(nil)
)

func newBackend(cfg Config) (*Backend, error) {
	loc := cfg.Location()
	if cfg.Scheme != "http" && cfg.Scheme != "https" {
		return nil, fmt.Errorf("rest repository %s: the scheme must be http or https", loc)
	}
	if cfg.Host == "" {
		return nil, fmt.Errorf("rest repository %s: no host", loc)
	}
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultConnections
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = DefaultRetryTimeout
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Connections
		// Packs are compressed and encrypted: gzip would only cost CPU.
		t.DisableCompression = true
		// A server that takes the request and never answers is retried
		// rather than waited for forever. Saving a large pack (fsync
		// included) takes far less.
		t.ResponseHeaderTimeout = 2 * time.Minute
		if cfg.CACertFile != "" {
			pem, err := os.ReadFile(cfg.CACertFile)
			if err != nil {
				return nil, fmt.Errorf("rest repository %s: CA certificates: %w", loc, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("rest repository %s: CA certificates: no PEM certificate in %s", loc, cfg.CACertFile)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rt = t
	}
	base := (&url.URL{Scheme: cfg.Scheme, Host: cfg.Host, Path: strings.TrimRight(cfg.Path, "/")}).String()
	return &Backend{
		cfg:    cfg,
		client: &http.Client{Transport: rt, CheckRedirect: noRedirect},
		base:   base,
		loc:    loc,
		sem:    make(chan struct{}, cfg.Connections),
	}, nil
}

// noRedirect refuses redirects: a POST must not be replayed elsewhere,
// and a repository does not move.
func noRedirect(req *http.Request, _ []*http.Request) error {
	return &permanent{fmt.Errorf("the server redirects to %s; give that location instead", req.URL.Redacted())}
}

// Open opens the repository described by cfg. A missing repository or
// config gives an error wrapping backend.ErrNoRepository naming the
// location; wrong credentials an error wrapping ErrUnauthorized.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	var ae *authError
	switch {
	case errors.As(err, &ae):
		return nil, ae
	case backend.IsNotExist(err):
		return nil, fmt.Errorf("open repository %s: no config file: %w", b.loc, backend.ErrNoRepository)
	case err != nil:
		return nil, fmt.Errorf("open repository %s: %w", b.loc, err)
	}
	return b, nil
}

// Create asks the server to prepare a new repository (its directory
// layout). It does not write the config; that is the caller's last Save.
// A location that holds a repository or other files is refused.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	err = b.retry(ctx, func(ctx context.Context) error {
		resp, err := b.send(ctx, http.MethodPost, "/?create=true", nil, nil)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	if err != nil {
		if isStatus(err, http.StatusConflict) {
			err = fmt.Errorf("%w: %w", err, fs.ErrExist)
		}
		return nil, fmt.Errorf("create repository %s: %w", b.loc, err)
	}
	return b, nil
}

// OpenOrCreate opens the repository, or prepares a new one (as Create does)
// when the location holds none.
func OpenOrCreate(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := Open(ctx, cfg)
	if err == nil || !errors.Is(err, backend.ErrNoRepository) {
		return b, err
	}
	return Create(ctx, cfg)
}

// AppendOnly reports whether the server said, in its last answer, that it
// refuses deletions (cadang serve --append-only). Open and Create ask the
// server, so it is known from then on.
func (b *Backend) AppendOnly() bool { return b.appendOnly.Load() }

// Location returns rest:SCHEME://[USER@]HOST/PATH.
func (b *Backend) Location() string { return b.loc }

// Close closes idle connections.
func (b *Backend) Close() error {
	b.client.CloseIdleConnections()
	return nil
}

// what names h for messages: the handle and the location.
func (b *Backend) what(h backend.Handle) string { return h.String() + " in " + b.loc }

// path returns h's path below the repository's URL.
func path(h backend.Handle) string {
	if h.Type == backend.ConfigFile {
		return "/config"
	}
	return "/" + string(h.Type) + "/" + h.Name
}

// statusError is an HTTP answer other than success.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("server answered %d %s", e.code, http.StatusText(e.code))
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// Is makes the answer of an older server to a file type added since
// (400, "unknown file type") match backend.ErrUnknownType.
func (e *statusError) Is(target error) bool {
	return target == backend.ErrUnknownType && e.code == http.StatusBadRequest && strings.Contains(e.body, "unknown file type")
}

func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == code
}

// authError is a 401: it names the location, and Open returns it as it is.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }
func (e *authError) Unwrap() error { return ErrUnauthorized }

// appendOnlyError is an append-only server's refusal. It names the
// location and the file, and Save and Remove return it as it is.
type appendOnlyError struct{ msg string }

func (e *appendOnlyError) Error() string { return e.msg }
func (e *appendOnlyError) Unwrap() error { return ErrAppendOnly }

// errTruncated is a response body that ended before its declared length:
// the connection dropped. It is retried, and never taken for a short file
// (which the repository calls damage).
type errTruncated struct{ n, want int64 }

func (e *errTruncated) Error() string {
	return fmt.Sprintf("connection ended after %d of %d bytes", e.n, e.want)
}

// errShort is a range beyond the end of the file.
type errShort struct{ msg string }

func (e *errShort) Error() string { return e.msg }
func (e *errShort) Unwrap() error { return io.ErrUnexpectedEOF }

// send makes one request. A 2xx answer is returned for the caller to read
// and close; any other is read (its first KiB kept for the message) and
// returned as an error: ErrUnauthorized for 401, ErrAppendOnly for the
// append-only server's 403, a *statusError otherwise.
func (b *Backend) send(ctx context.Context, method, p string, body []byte, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+p, rd)
	if err != nil {
		return nil, &permanent{err}
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if b.cfg.User != "" {
		req.SetBasicAuth(b.cfg.User, b.cfg.Password)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) && b.cfg.CACertFile == "" {
			return nil, fmt.Errorf("%w (a self-signed server certificate: name its PEM file in CADANG_REST_CACERT)", err)
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		b.appendOnly.Store(resp.Header.Get(AppendOnlyHeader) == "true")
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	resp.Body.Close()
	text := strings.TrimSpace(string(msg))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		if b.cfg.User == "" {
			return nil, &authError{fmt.Sprintf("%v for %s: the server wants a user and password (rest:%s://USER:PASSWORD@%s%s, or the password in CADANG_REST_PASSWORD)",
				ErrUnauthorized, b.loc, b.cfg.Scheme, b.cfg.Host, b.cfg.Path)}
		}
		return nil, &authError{fmt.Sprintf("%v for %s", ErrUnauthorized, b.loc)}
	case resp.StatusCode == http.StatusForbidden && strings.HasPrefix(text, AppendOnlyPrefix):
		return nil, &appendOnlyError{fmt.Sprintf("the server at %s is append-only: %s", b.loc, strings.TrimPrefix(text, AppendOnlyPrefix))}
	}
	if text == "" && resp.StatusCode == http.StatusBadRequest && b.cfg.Scheme == "http" && method == http.MethodHead {
		// An answer to HEAD has no body to say why; the likeliest reason
		// is Go's answer to plain HTTP sent to an HTTPS port.
		text = "no reason given (if the server speaks HTTPS, give https://)"
	}
	return nil, &statusError{code: resp.StatusCode, body: text}
}

// Save stores data under h with one POST. An existing file with the same
// bytes is a success (a retry); with other bytes the error wraps
// fs.ErrExist and the file is left alone.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("save %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", b.what(h), err)
	}
	var hdr http.Header
	if h.Type == backend.ConfigFile {
		sum := sha256.Sum256(data)
		hdr = http.Header{DigestHeader: {hex.EncodeToString(sum[:])}}
	}
	body := data
	if body == nil {
		body = []byte{}
	}
	err := b.retry(ctx, func(ctx context.Context) error {
		resp, err := b.send(ctx, http.MethodPost, path(h), body, hdr)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	var ao *appendOnlyError
	if errors.As(err, &ao) {
		// A write the server refuses as append-only: refused as a
		// read-only medium refuses it (backend.ErrReadOnly).
		return backend.ReadOnly(ao)
	}
	if err != nil {
		if isStatus(err, http.StatusConflict) {
			err = fmt.Errorf("%w: %w", err, fs.ErrExist)
		}
		if isStatus(err, http.StatusForbidden) {
			// The server (or a proxy before it) lets this user read but
			// not write: read-only storage, its answer kept as detail.
			err = backend.ReadOnly(err)
		}
		return fmt.Errorf("save %s: %w", b.what(h), err)
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

// LoadMax implements backend.MaxLoader: one GET, refused on its
// Content-Length before the body is read.
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

// maxWholeLoad bounds a whole-file load's allocation, against a server
// (or something posing as one) that announces an absurd length.
const maxWholeLoad = 4 << 30

// load does a (ranged) GET; buf, when not nil, has length bytes. max, when
// not 0, bounds a whole-file load (length 0): a larger file is a
// *backend.TooLargeError.
func (b *Backend) load(ctx context.Context, h backend.Handle, offset, length, max int64, buf []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", b.what(h), err)
	}
	var hdr http.Header
	switch {
	case length > 0:
		hdr = http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)}}
	case offset > 0:
		hdr = http.Header{"Range": {fmt.Sprintf("bytes=%d-", offset)}}
	}
	var out []byte
	err := b.retry(ctx, func(ctx context.Context) error {
		resp, err := b.send(ctx, http.MethodGet, path(h), nil, hdr)
		if err != nil {
			switch {
			case isStatus(err, http.StatusNotFound):
				return backend.NotExist(h, b.loc)
			case isStatus(err, http.StatusRequestedRangeNotSatisfiable):
				var se *statusError
				errors.As(err, &se)
				return &errShort{se.body}
			}
			return err
		}
		defer resp.Body.Close()
		if hdr != nil && resp.StatusCode != http.StatusPartialContent {
			// Something between (a proxy that drops the Range header)
			// answers so every time: asking again only takes minutes.
			return &permanent{fmt.Errorf("server answered %d to a range request, not 206 (a proxy in between may drop the Range header)", resp.StatusCode)}
		}
		want := length
		if want == 0 {
			want = resp.ContentLength
			if max > 0 && want > max {
				return &permanent{&backend.TooLargeError{File: h, Size: want, Max: max}}
			}
			if want < 0 || want > maxWholeLoad {
				return fmt.Errorf("server announced a body of %d bytes", want)
			}
		} else if resp.ContentLength != length {
			return fmt.Errorf("server sent %d bytes for a range of %d", resp.ContentLength, length)
		}
		dst := buf
		if dst == nil {
			dst = make([]byte, want)
		}
		n, err := io.ReadFull(resp.Body, dst)
		if err != nil {
			return &errTruncated{n: int64(n), want: want}
		}
		out = dst
		return nil
	})
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
		resp, err := b.send(ctx, http.MethodHead, path(h), nil, nil)
		if isStatus(err, http.StatusNotFound) {
			return backend.NotExist(h, b.loc)
		}
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.ContentLength < 0 {
			return errors.New("server sent no Content-Length")
		}
		size = resp.ContentLength
		return nil
	})
	if err != nil {
		if backend.IsNotExist(err) {
			return backend.FileInfo{}, fmt.Errorf("stat: %w", err)
		}
		return backend.FileInfo{}, fmt.Errorf("stat %s: %w", b.what(h), err)
	}
	return backend.FileInfo{Name: h.Name, Size: size}, nil
}

// Remove deletes h; a missing file gives an error wrapping
// backend.ErrNotExist. An append-only server refuses every deletion but
// of lock files; the error wraps ErrAppendOnly.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	attempts := 0
	err := b.retry(ctx, func(ctx context.Context) error {
		attempts++
		resp, err := b.send(ctx, http.MethodDelete, path(h), nil, nil)
		if isStatus(err, http.StatusNotFound) {
			if attempts > 1 {
				// An earlier attempt removed it and its answer was lost.
				return nil
			}
			return backend.NotExist(h, b.loc)
		}
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	var ao *appendOnlyError
	if errors.As(err, &ao) {
		return ao
	}
	if err != nil {
		if backend.IsNotExist(err) {
			return fmt.Errorf("remove: %w", err)
		}
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	return nil
}

// listEntry is one file of a listing.
type listEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// maxListBody bounds a listing: 256 MiB holds about 2.5 million entries,
// the packs of 10 TB at the default pack size.
const maxListBody = 256 << 20

// List calls fn for every file of type t, with its size. The listing is
// fetched whole before fn is called, so that a retried request cannot
// report a file twice and fn may remove files as it goes. For ConfigFile
// it calls fn once, with an empty name, if the config exists.
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
	var entries []listEntry
	err := b.retry(ctx, func(ctx context.Context) error {
		resp, err := b.send(ctx, http.MethodGet, "/"+string(t)+"/", nil, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxListBody+1))
		if err != nil {
			return &errTruncated{n: int64(len(data)), want: resp.ContentLength}
		}
		if len(data) > maxListBody {
			return &permanent{fmt.Errorf("listing larger than %d bytes", maxListBody)}
		}
		entries = entries[:0]
		if err := json.Unmarshal(data, &entries); err != nil {
			// The server writes the closing bracket last: a listing cut
			// short by an error on its side does not parse.
			return fmt.Errorf("listing does not parse (cut short?): %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	for _, e := range entries {
		if handle.Valid(backend.Handle{Type: t, Name: e.Name}) != nil || e.Size < 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
		}
		if err := fn(backend.FileInfo{Name: e.Name, Size: e.Size}); err != nil {
			return err
		}
	}
	return nil
}

// permanent marks an error that is not worth retrying.
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// transient reports whether err is worth retrying.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var p *permanent
	var short *errShort
	if backend.IsNotExist(err) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrAppendOnly) ||
		errors.As(err, &p) || errors.As(err, &short) {
		return false
	}
	var truncated *errTruncated
	if errors.As(err, &truncated) {
		return true
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests || se.code == http.StatusRequestTimeout
	}
	// A certificate the client does not trust, or TLS spoken to a plain
	// port, does not mend itself.
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var notTLS tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &badCert) ||
		errors.As(err, &notTLS) || errors.As(err, &verify) {
		return false
	}
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &netErr), errors.As(err, &urlErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// A malformed answer (wrong length, no Content-Length) may be a proxy's
	// hiccup; it is retried within the bound.
	return true
}

// retry runs fn with the backend's retry policy (package retry): one of
// its connections held per attempt, transient failures retried with
// backoff until RetryTimeout. Callers wrap the error with the operation,
// the file and the location.
func (b *Backend) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	return retry.Policy{Sem: b.sem, Timeout: b.cfg.RetryTimeout, Transient: transient, Notify: b.cfg.RetryNotify}.Do(ctx, fn)
}

// ValidName reports whether name can name a repository on a server: 1 to
// 100 letters, digits, '.', '_' and '-', starting with a letter or digit.
// Server and client apply the same rule.
func ValidName(name string) error {
	if name == "" || len(name) > 100 {
		return fmt.Errorf("repository name %q must have 1 to 100 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("repository name %q: only letters, digits, '.', '_' and '-' (not first)", name)
		}
	}
	return nil
}

// Connections implements backend.Concurrent: the requests kept in flight.
func (b *Backend) Connections() int { return b.cfg.Connections }
