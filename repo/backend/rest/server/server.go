// Package server is cadang's repository server (`cadang serve`): it serves
// the repositories in the subdirectories of a root directory over HTTP(S)
// with the protocol of package rest (doc/design.md, "The REST protocol").
//
// It sits beside its client, package rest, because the two are the two
// ends of one protocol and share its constants; it is a package of its
// own so that a client program does not carry a server.
//
// Files are stored by the local backend (package local), exactly as a
// local repository stores them: a repository served here can also be used
// as a directory on the server's machine, and the other way round. On
// upload the server checks that a file's name is the SHA-256 of its bytes
// (the config, whose name is fixed, against the digest the client sends),
// never replaces an existing file, and saves through local's temporary
// name and hard link, so that a client killed mid-upload leaves no half
// file. In append-only mode it refuses every deletion except of lock
// files, and the marking of packs as obsolete, so that a client that has
// the repository password (ransomware on the backed-up server) can add
// snapshots but cannot destroy old ones.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/rest"
)

// Defaults of the Config's limits.
const (
	// DefaultMaxFileSize bounds one upload. The largest pack a repository
	// makes is its pack size (at most 512 MiB) plus one chunk (at most
	// 64 MiB) and a header.
	DefaultMaxFileSize = 640 << 20
	// DefaultUploadMemory bounds the bytes of all uploads held in memory
	// at once; an upload waits for room. It is at least MaxFileSize.
	DefaultUploadMemory = 1 << 30
	// DefaultMinRate is the slowest transfer, in bytes per second, that a
	// request's deadline allows for (after a grace of RequestGrace): a
	// client that trickles bytes (slow loris) is cut off.
	DefaultMinRate = 64 << 10
	// DefaultMaxConns bounds the connections served at once; more wait in
	// the listen queue.
	DefaultMaxConns = 256
	// RequestGrace is the time a request has beyond its size at MinRate.
	RequestGrace = 30 * time.Second
)

// Config configures a Server.
type Config struct {
	// Root is the directory whose subdirectories are the repositories;
	// repository NAME is Root/NAME. It must exist.
	Root string
	// AppendOnly refuses deletions except of lock files, and the saving
	// of obsolete-pack lists (prune's first step).
	AppendOnly bool
	// Users, when not nil, is the htpasswd file every request must
	// authenticate against; nil serves everyone.
	Users *Htpasswd
	// MaxFileSize, UploadMemory, MinRate and MaxConns: see the defaults.
	// Zero takes the default.
	MaxFileSize  int64
	UploadMemory int64
	MinRate      int64
	MaxConns     int
	// Logf receives a line for each refused or failed request; nil
	// discards them.
	Logf func(format string, args ...any)

	// grace replaces RequestGrace (tests only).
	grace time.Duration
	// trustNames skips the check that names are SHA-256 of the bytes, for
	// the conformance suite, whose names are random (tests only).
	trustNames bool
}

// Server serves repositories; it is an http.Handler.
type Server struct {
	cfg   Config
	mem   *semaphore.Weighted
	mu    sync.Mutex
	repos map[string]*local.Backend
}

// New checks cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" {
		return nil, errors.New("server: no root directory")
	}
	fi, err := os.Stat(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("server: root %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("server: root %s is not a directory", cfg.Root)
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.UploadMemory <= 0 {
		cfg.UploadMemory = DefaultUploadMemory
	}
	if cfg.UploadMemory < cfg.MaxFileSize {
		return nil, fmt.Errorf("server: upload memory %d is less than the largest upload (%d bytes)", cfg.UploadMemory, cfg.MaxFileSize)
	}
	if cfg.MinRate <= 0 {
		cfg.MinRate = DefaultMinRate
	}
	if cfg.grace <= 0 {
		cfg.grace = RequestGrace
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Server{cfg: cfg, mem: semaphore.NewWeighted(cfg.UploadMemory), repos: map[string]*local.Backend{}}, nil
}

// Serve serves HTTP on ln (HTTPS when certFile is not empty) until ctx
// ends, then shuts down, giving requests in flight up to 30 seconds. It
// returns nil after a shutdown by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	hs := &http.Server{
		Handler: s,
		// A client that sends its headers slowly (slow loris) or keeps an
		// idle connection is cut off; request bodies have deadlines of
		// their own, from their size (see deadline).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		// net/http's own complaints (TLS handshakes, panics) go where
		// the server's other lines go.
		ErrorLog: log.New(logWriter(s.cfg.Logf), "", 0),
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: TLS certificate %s and key %s: %w", certFile, keyFile, err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln = netutil.LimitListener(ln, s.cfg.MaxConns)
	if hs.TLSConfig != nil {
		// TLS outermost: net/http sees *tls.Conn, does the handshake
		// under its header timeout, and answers plain HTTP sent to this
		// port with a 400 that says so.
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s: %w", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	return g.Wait()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := ""
	if s.cfg.Users != nil {
		u, p, ok := r.BasicAuth()
		if !ok || !s.cfg.Users.Check(u, p) {
			s.cfg.Logf("%s %s %s: refused: wrong user or password (user %q)", r.RemoteAddr, r.Method, r.URL.Path, u)
			w.Header().Set("WWW-Authenticate", `Basic realm="cadang", charset="UTF-8"`)
			http.Error(w, "wrong user or password", http.StatusUnauthorized)
			return
		}
		user = u + "@"
	}
	who := user + r.RemoteAddr
	if s.cfg.AppendOnly {
		w.Header().Set(rest.AppendOnlyHeader, "true")
	}
	req, err := parsePath(r.URL.Path)
	if err != nil {
		s.fail(w, r, who, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case req.create:
		if r.Method != http.MethodPost || r.URL.Query().Get("create") != "true" {
			s.fail(w, r, who, http.StatusNotFound, "no such resource; POST /NAME/?create=true creates a repository")
			return
		}
		s.create(w, r, who, req.name)
	case req.list:
		if r.Method != http.MethodGet {
			s.fail(w, r, who, http.StatusMethodNotAllowed, "a listing is read with GET")
			return
		}
		s.list(w, r, who, req)
	default:
		switch r.Method {
		case http.MethodHead, http.MethodGet:
			s.load(w, r, who, req)
		case http.MethodPost:
			s.save(w, r, who, req)
		case http.MethodDelete:
			s.remove(w, r, who, req)
		default:
			s.fail(w, r, who, http.StatusMethodNotAllowed, "files are read with HEAD and GET, stored with POST, removed with DELETE")
		}
	}
}

// request is a parsed request path.
type request struct {
	name   string // the repository
	create bool   // /NAME or /NAME/
	list   bool   // /NAME/TYPE/
	h      backend.Handle
}

// parsePath parses /NAME/, /NAME/config, /NAME/TYPE/ and /NAME/TYPE/ID.
// NAME and ID must be plain names, so no path can leave the root.
func parsePath(p string) (request, error) {
	if !strings.HasPrefix(p, "/") {
		return request{}, fmt.Errorf("bad path %q", p)
	}
	parts := strings.Split(p[1:], "/")
	if err := rest.ValidName(parts[0]); err != nil {
		return request{}, fmt.Errorf("bad path %q: %w", p, err)
	}
	req := request{name: parts[0]}
	switch {
	case len(parts) == 1 || len(parts) == 2 && parts[1] == "":
		req.create = true
		return req, nil
	case len(parts) == 2 && parts[1] == string(backend.ConfigFile):
		req.h = backend.Handle{Type: backend.ConfigFile}
		return req, nil
	case len(parts) == 3:
		t := backend.FileType(parts[1])
		if !handle.ValidType(t) || t == backend.ConfigFile {
			return request{}, fmt.Errorf("bad path %q: unknown file type %q", p, parts[1])
		}
		if parts[2] == "" {
			req.list = true
			req.h.Type = t
			return req, nil
		}
		req.h = backend.Handle{Type: t, Name: parts[2]}
		if !isHash(req.h.Name) {
			return request{}, fmt.Errorf("bad path %q: a file name is 64 lower-case hex digits", p)
		}
		if err := handle.Valid(req.h); err != nil {
			return request{}, fmt.Errorf("bad path %q: %w", p, err)
		}
		return req, nil
	}
	return request{}, fmt.Errorf("bad path %q", p)
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fail answers with code and a one-line message, and logs refusals and
// failures (not a missing file, which clients ask about routinely).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, who string, code int, msg string) {
	if code != http.StatusNotFound {
		s.cfg.Logf("%s %s %s: %d %s", who, r.Method, r.URL.Path, code, msg)
	}
	http.Error(w, msg, code)
}

// failErr answers with the status that err calls for.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, who string, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, backend.ErrNoRepository), backend.IsNotExist(err):
		code = http.StatusNotFound
	case errors.Is(err, fs.ErrExist):
		code = http.StatusConflict
	case errors.Is(err, io.ErrUnexpectedEOF):
		code = http.StatusRequestedRangeNotSatisfiable
	case errors.Is(err, context.Canceled):
		code = 499 // the client went away; nobody reads the answer
	}
	s.fail(w, r, who, code, s.relative(err.Error()))
}

// relative strips the root directory from messages: clients need not
// know where the server keeps its files.
func (s *Server) relative(msg string) string {
	return strings.ReplaceAll(msg, filepath.Clean(s.cfg.Root)+string(filepath.Separator), "")
}

// repo returns the backend of repository name. A directory that holds a
// repository, or the layout of one being created (key files, no config
// yet), is opened; anything else is backend.ErrNoRepository.
func (s *Server) repo(ctx context.Context, name string) (*local.Backend, error) {
	s.mu.Lock()
	be := s.repos[name]
	s.mu.Unlock()
	if be != nil {
		return be, nil
	}
	dir := filepath.Join(s.cfg.Root, name)
	be, err := local.Open(ctx, dir)
	if errors.Is(err, backend.ErrNoRepository) {
		// Between create and the config's save, a repository has its
		// layout and maybe key files. Create accepts exactly that (and
		// refuses anything else), without making anything new.
		if fi, serr := os.Stat(filepath.Join(dir, string(backend.KeyFile))); serr == nil && fi.IsDir() {
			if b, cerr := local.Create(ctx, dir); cerr == nil {
				be, err = b, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", name, err)
	}
	s.mu.Lock()
	s.repos[name] = be
	s.mu.Unlock()
	return be, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, who, name string) {
	dir := filepath.Join(s.cfg.Root, name)
	if _, err := os.Stat(filepath.Join(dir, string(backend.ConfigFile))); err == nil {
		s.fail(w, r, who, http.StatusConflict, "repository "+name+" exists already")
		return
	}
	be, err := local.Create(r.Context(), dir)
	if err != nil {
		code := http.StatusInternalServerError
		if strings.Contains(err.Error(), "not empty") || strings.Contains(err.Error(), "not a directory") {
			code = http.StatusConflict
		}
		s.fail(w, r, who, code, s.relative(err.Error()))
		return
	}
	s.mu.Lock()
	s.repos[name] = be
	s.mu.Unlock()
	s.cfg.Logf("%s: created repository %s", who, name)
	w.WriteHeader(http.StatusOK)
}

// deadline gives the request until it has moved n bytes at MinRate.
func (s *Server) deadline(n int64) time.Time {
	return time.Now().Add(s.cfg.grace + time.Duration(n/s.cfg.MinRate)*time.Second)
}

func (s *Server) save(w http.ResponseWriter, r *http.Request, who string, req request) {
	h := req.h
	if s.cfg.AppendOnly && h.Type == backend.ObsoleteFile {
		// Obsolete-pack lists are prune's first step; a prune that cannot
		// delete would only make backups store their data again.
		s.fail(w, r, who, http.StatusForbidden, rest.AppendOnlyPrefix+"marking packs obsolete (prune) is refused; prune on the backup host")
		return
	}
	size := r.ContentLength
	switch {
	case size < 0:
		s.fail(w, r, who, http.StatusLengthRequired, "an upload needs a Content-Length")
		return
	case size > s.cfg.MaxFileSize:
		s.fail(w, r, who, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: %d bytes is more than the server's limit of %d", h, size, s.cfg.MaxFileSize))
		return
	}
	digest := r.Header.Get(rest.DigestHeader)
	if digest != "" && !isHash(digest) {
		s.fail(w, r, who, http.StatusBadRequest, fmt.Sprintf("%s: header %s must be 64 lower-case hex digits", h, rest.DigestHeader))
		return
	}
	if h.Type == backend.ConfigFile && digest == "" && !s.cfg.trustNames {
		s.fail(w, r, who, http.StatusBadRequest, fmt.Sprintf("config: the upload needs its SHA-256 in header %s", rest.DigestHeader))
		return
	}
	be, err := s.repo(r.Context(), req.name)
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	ctx := r.Context()
	_ = http.NewResponseController(w).SetReadDeadline(s.deadline(size))
	if err := s.mem.Acquire(ctx, size); err != nil {
		s.failErr(w, r, who, err)
		return
	}
	defer s.mem.Release(size)
	// The whole body is read and checked before anything is written: a
	// client that goes away mid-upload leaves nothing behind.
	buf := make([]byte, size)
	if n, err := io.ReadFull(r.Body, buf); err != nil {
		s.fail(w, r, who, http.StatusBadRequest, fmt.Sprintf("%s: upload cut off after %d of %d bytes: %v", h, n, size, err))
		return
	}
	sum := sha256.Sum256(buf)
	got := hex.EncodeToString(sum[:])
	switch {
	case digest != "" && got != digest:
		s.fail(w, r, who, http.StatusBadRequest, fmt.Sprintf("%s: the bytes' SHA-256 is %s, not %s as the client says: damaged on the way", h, got, digest))
		return
	case h.Type != backend.ConfigFile && got != h.Name && !s.cfg.trustNames:
		s.fail(w, r, who, http.StatusBadRequest, fmt.Sprintf("%s: the bytes' SHA-256 is %s; a file's name must be the SHA-256 of its bytes", h, got))
		return
	}
	if err := be.Save(ctx, h, buf); err != nil {
		s.failErr(w, r, who, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) load(w http.ResponseWriter, r *http.Request, who string, req request) {
	be, err := s.repo(r.Context(), req.name)
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	fi, err := be.Stat(r.Context(), req.h)
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	// Files are never modified, so the file opened is the one stated,
	// unless it was removed in between.
	f, err := os.Open(be.Path(req.h))
	if errors.Is(err, fs.ErrNotExist) {
		s.failErr(w, r, who, backend.NotExist(req.h, req.name))
		return
	}
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	size := st.Size()
	offset, end, ranged, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		s.fail(w, r, who, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("%s: %v", req.h, err))
		return
	}
	n := end - offset
	_ = http.NewResponseController(w).SetWriteDeadline(s.deadline(n))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if ranged {
		if n > 0 {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, end-1, size))
		} else {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		}
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	// Seek and a limited *os.File, not a SectionReader: net/http then
	// sends the file with sendfile(2) on plain HTTP, without copying.
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		s.cfg.Logf("%s GET %s: %v", who, r.URL.Path, err)
		return
	}
	if _, err := io.CopyN(w, f, n); err != nil {
		s.cfg.Logf("%s GET %s: sending: %v", who, r.URL.Path, err)
	}
}

// parseRange parses "bytes=A-B" or "bytes=A-" (one range; no suffix
// ranges) against a file of size bytes. Unlike RFC 9110, "bytes=SIZE-" is
// satisfiable: it is the empty tail of the file, which the backend
// interface allows to load.
func parseRange(v string, size int64) (offset, end int64, ranged bool, err error) {
	if v == "" {
		return 0, size, false, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false, fmt.Errorf("unsupported range %q", v)
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok || a == "" {
		return 0, 0, false, fmt.Errorf("unsupported range %q", v)
	}
	offset, err = strconv.ParseInt(a, 10, 64)
	if err != nil || offset < 0 {
		return 0, 0, false, fmt.Errorf("bad range %q", v)
	}
	length := int64(0)
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < offset {
			return 0, 0, false, fmt.Errorf("bad range %q", v)
		}
		length = last - offset + 1
	}
	end, err = handle.CheckRange(size, offset, length)
	if err != nil {
		return 0, 0, false, err
	}
	return offset, end, true, nil
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request, who string, req request) {
	if s.cfg.AppendOnly && req.h.Type != backend.LockFile {
		s.fail(w, r, who, http.StatusForbidden, rest.AppendOnlyPrefix+"deleting "+req.h.String()+" is refused")
		return
	}
	be, err := s.repo(r.Context(), req.name)
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	if err := be.Remove(r.Context(), req.h); err != nil {
		s.failErr(w, r, who, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// list streams [{"name": ID, "size": N}, ...]. The closing bracket comes
// last, so a listing cut short by an error does not parse.
func (s *Server) list(w http.ResponseWriter, r *http.Request, who string, req request) {
	be, err := s.repo(r.Context(), req.name)
	if err != nil {
		s.failErr(w, r, who, err)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Minute))
	w.Header().Set("Content-Type", rest.ListContentType)
	bw := &errWriter{w: w}
	bw.write("[")
	first := true
	err = be.List(r.Context(), req.h.Type, func(fi backend.FileInfo) error {
		if !isHash(fi.Name) {
			return nil
		}
		if !first {
			bw.write(",")
		}
		first = false
		bw.write(`{"name":"` + fi.Name + `","size":` + strconv.FormatInt(fi.Size, 10) + "}")
		return bw.err
	})
	if err != nil {
		// The status is sent; the unterminated list tells the client.
		s.cfg.Logf("%s GET %s: %v", who, r.URL.Path, s.relative(err.Error()))
		return
	}
	bw.write("]\n")
}

// logWriter turns a log.Logger's lines into Logf calls.
type logWriter func(format string, args ...any)

func (f logWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}
