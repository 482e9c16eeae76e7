// Package sftp stores a repository in a directory of an SSH server, through
// the SFTP subsystem (github.com/pkg/sftp over golang.org/x/crypto/ssh).
//
// Layout under the directory, the same as the local backend's:
//
//	PATH/config
//	PATH/keys/<name>
//	PATH/data/<first two hex digits of name>/<name>
//	PATH/index/<name>
//	...
//
// Authentication is by key only: the keys of the agent at SSH_AUTH_SOCK
// and/or Config.IdentityFile (without one, ~/.ssh/id_ed25519, id_ecdsa and
// id_rsa when they exist and are not encrypted). The server's host key is
// always verified against Config.KnownHostsFile (default ~/.ssh/known_hosts):
// an unknown host or a changed host key is an error that says which, never
// accepted silently.
//
// A file is written under a temporary name (handle.TempPrefix and random
// hex) in its final directory, its size is checked, and it is renamed to
// its final name with SSH_FXP_RENAME, which fails when the final name
// exists (OpenSSH implements it as link+unlink), so a file is never replaced
// and a reader never sees a partial file under a final name. SSH's MAC
// protects the bytes in transit. (posix-rename@openssh.com is not used: it
// replaces an existing file, and of two concurrent writers of one name with
// different bytes both would "succeed".)
//
// Transient failures (a lost connection, refused or reset connections,
// timeouts) are retried with exponential backoff and jitter for at most
// Config.RetryTimeout, reconnecting as needed; a cancelled context stops
// at once.
package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
	"github.com/lpse/cadang/repo/backend/internal/retry"
)

// DefaultConnections bounds concurrent operations when Config.Connections
// is 0.
const DefaultConnections = 5

// DefaultRetryTimeout bounds the time spent retrying one operation when
// Config.RetryTimeout is 0.
const DefaultRetryTimeout = 2 * time.Minute

// DefaultPort is the SSH port when Config.Port is 0.
const DefaultPort = 22

// dialTimeout bounds one TCP connect plus SSH handshake.
const dialTimeout = 30 * time.Second

// keepaliveInterval is how often an idle connection is probed; a probe
// without an answer within the same time closes the connection, so that
// operations on a dead link fail (and are retried) instead of hanging.
var keepaliveInterval = 15 * time.Second

// Config says where a repository lives and how to reach it.
type Config struct {
	// User to log in as; Host and Port (default 22) of the SSH server.
	User string
	Host string
	Port int
	// Path is the absolute path of the repository directory on the server.
	Path string
	// IdentityFile is a private key file (unencrypted; keep encrypted keys
	// in ssh-agent). Empty: the agent's keys, else ~/.ssh/id_*.
	IdentityFile string
	// KnownHostsFile holds the trusted host keys (default ~/.ssh/known_hosts).
	KnownHostsFile string
	// Connections bounds the operations in flight at once (default 5). They
	// share one SSH connection; SFTP multiplexes requests.
	Connections int
	// RetryTimeout bounds the time spent retrying one operation after
	// transient failures (default 2 minutes); negative means no retries.
	RetryTimeout time.Duration
	// RetryNotify, if set, hears of each failed attempt that is retried:
	// its error, its number (from 1) and the wait before the next one, so
	// that a caller can say why a command is waiting.
	RetryNotify func(err error, attempt int, wait time.Duration)
}

// Location returns sftp://USER@HOST:PORT/PATH.
func (c Config) Location() string {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	p := c.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return "sftp://" + c.User + "@" + net.JoinHostPort(c.Host, strconv.Itoa(port)) + p
}

// conn is one SSH connection with its SFTP session.
type conn struct {
	ssh  *ssh.Client
	sftp *sftp.Client
	done chan struct{}
	once sync.Once
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.sftp.Close()
		_ = c.ssh.Close()
	})
}

// Backend is a repository in a directory of an SFTP server. It is safe for
// concurrent use.
type Backend struct {
	cfg     Config
	addr    string
	loc     string
	root    string
	sshConf *ssh.ClientConfig
	sem     chan struct{}

	mu     sync.Mutex
	cur    *conn
	closed bool
	agentC net.Conn
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.BufferLoader = (*Backend)(nil)
)

func newBackend(cfg Config) (*Backend, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	loc := cfg.Location()
	switch {
	case cfg.Host == "":
		return nil, fmt.Errorf("sftp repository %s: no host", loc)
	case cfg.User == "":
		return nil, fmt.Errorf("sftp repository %s: no user", loc)
	case !path.IsAbs(cfg.Path):
		return nil, fmt.Errorf("sftp repository %s: the path must be absolute", loc)
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("sftp repository %s: invalid port %d", loc, cfg.Port)
	}
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultConnections
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = DefaultRetryTimeout
	}
	cfg.Path = path.Clean(cfg.Path)
	b := &Backend{
		cfg:  cfg,
		addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		loc:  loc,
		root: cfg.Path,
		sem:  make(chan struct{}, cfg.Connections),
	}
	hk, algos, err := hostKeyCallback(cfg.KnownHostsFile, b.addr)
	if err != nil {
		return nil, fmt.Errorf("sftp repository %s: %w", loc, err)
	}
	auth, agentC, err := authMethods(cfg.IdentityFile)
	if err != nil {
		return nil, fmt.Errorf("sftp repository %s: %w", loc, err)
	}
	b.agentC = agentC
	b.sshConf = &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   hk,
		HostKeyAlgorithms: algos,
		Timeout:           dialTimeout,
	}
	return b, nil
}

// hostKeyCallback verifies host keys against file (default
// ~/.ssh/known_hosts). It also returns the host key algorithms of the keys
// known for addr, so that the server is asked for a key we can check.
func hostKeyCallback(file, addr string) (ssh.HostKeyCallback, []string, error) {
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil, fmt.Errorf("no known_hosts file to verify the host key: %w (use --sftp-known-hosts)", err)
		}
		file = filepath.Join(home, ".ssh", "known_hosts")
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the known hosts file %s to verify the server's host key: %w (add the key with ssh-keyscan after checking its fingerprint, or use --sftp-known-hosts)", file, err)
	}
	verify := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		fp := key.Type() + " " + ssh.FingerprintSHA256(key)
		switch {
		case errors.As(err, &re):
			return &HostKeyError{Host: hostname, File: file, Revoked: true, msg: fmt.Sprintf("host key of %s (%s) is REVOKED in %s", hostname, fp, file)}
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return &HostKeyError{Host: hostname, File: file, Unknown: true, msg: fmt.Sprintf(
				"unknown host: %s (host key %s) is not in the known hosts file %s; check the fingerprint and add it (ssh-keyscan -p PORT HOST >> %s)",
				hostname, fp, file, file)}
		case errors.As(err, &ke):
			var lines []string
			for _, w := range ke.Want {
				lines = append(lines, fmt.Sprintf("%s:%d has %s %s", w.Filename, w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
			}
			return &HostKeyError{Host: hostname, File: file, Changed: true, msg: fmt.Sprintf(
				"HOST KEY CHANGED for %s: the server offers %s, but %s (someone may be intercepting the connection; if the key was changed on purpose, replace its line in %s)",
				hostname, fp, strings.Join(lines, ", "), file)}
		}
		return fmt.Errorf("verify host key of %s against %s: %w", hostname, file, err)
	}
	// Ask the callback which keys it knows for addr: with a key it cannot
	// know, it answers with the list.
	var algos []string
	if probe, err := ssh.NewPublicKey(probeKey()); err == nil {
		var ke *knownhosts.KeyError
		if err := cb(addr, &net.TCPAddr{IP: net.IPv4zero}, probe); errors.As(err, &ke) {
			seen := map[string]bool{}
			for _, w := range ke.Want {
				for _, a := range algosFor(w.Key.Type()) {
					if !seen[a] {
						seen[a] = true
						algos = append(algos, a)
					}
				}
			}
		}
	}
	return verify, algos, nil
}

// algosFor maps a key type to the host key algorithms that use it.
func algosFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// HostKeyError is a host key that the known hosts file does not vouch for.
type HostKeyError struct {
	Host    string
	File    string
	Unknown bool // the host is not in File
	Changed bool // File has other keys for the host
	Revoked bool
	msg     string
}

func (e *HostKeyError) Error() string { return e.msg }

// authMethods returns the key authentication: the identity file's key and
// the agent's keys. The agent connection, if any, is returned for Close.
func authMethods(identity string) ([]ssh.AuthMethod, net.Conn, error) {
	var signers []ssh.Signer
	if identity != "" {
		s, err := loadKey(identity)
		if err != nil {
			return nil, nil, err
		}
		signers = append(signers, s)
	}
	var agentC net.Conn
	var ag agent.ExtendedAgent
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			agentC = c
			ag = agent.NewClient(c)
		}
	}
	if identity == "" && ag == nil {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				if s, err := loadKey(filepath.Join(home, ".ssh", n)); err == nil {
					signers = append(signers, s)
				}
			}
		}
	}
	if len(signers) == 0 && ag == nil {
		return nil, nil, errors.New("no SSH key to log in with: use --sftp-identity FILE or an ssh-agent (SSH_AUTH_SOCK)")
	}
	cb := func() ([]ssh.Signer, error) {
		out := append([]ssh.Signer(nil), signers...)
		if ag != nil {
			if more, err := ag.Signers(); err == nil {
				out = append(out, more...)
			}
		}
		return out, nil
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(cb)}, agentC, nil
}

func loadKey(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pp *ssh.PassphraseMissingError
	if errors.As(err, &pp) {
		return nil, fmt.Errorf("identity file %s is protected by a passphrase: load it into ssh-agent (ssh-add) and set SSH_AUTH_SOCK", file)
	}
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", file, err)
	}
	return s, nil
}

// probeKey is a fixed ed25519 public key that no server has.
func probeKey() any {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i * 7)
	}
	return ed25519.PublicKey(k)
}

// errClosed is returned by operations on a closed backend.
var errClosed = errors.New("backend is closed")

// client returns the current connection, dialing one if there is none.
func (b *Backend) client(ctx context.Context) (*conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	if b.cur != nil {
		return b.cur, nil
	}
	c, err := b.dial(ctx)
	if err != nil {
		return nil, err
	}
	b.cur = c
	return c, nil
}

// drop forgets c (if it is still current) and closes it.
func (b *Backend) drop(c *conn) {
	b.mu.Lock()
	if b.cur == c {
		b.cur = nil
	}
	b.mu.Unlock()
	c.close()
}

func (b *Backend) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(dialTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(nc, b.addr, b.sshConf)
	stop()
	if err != nil {
		nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return nil, hke
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &authError{fmt.Errorf("%w (as user %q; check --sftp-identity, the agent at SSH_AUTH_SOCK and the server's authorized_keys)", err, b.cfg.User)}
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	sc2, err := sftp.NewClient(client,
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(64))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("start the sftp subsystem: %w", err)
	}
	c := &conn{ssh: client, sftp: sc2, done: make(chan struct{})}
	go b.keepalive(c)
	return c, nil
}

// keepalive probes c and closes it when the server stops answering.
func (b *Backend) keepalive(c *conn) {
	t := time.NewTicker(keepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		select {
		case <-c.done:
			return
		case err := <-res:
			if err != nil {
				b.drop(c)
				return
			}
		case <-time.After(keepaliveInterval):
			b.drop(c)
			return
		}
	}
}

// authError marks a refused login: not retried.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// Open opens the repository described by cfg. A missing directory or config
// file gives an error wrapping backend.ErrNoRepository naming the location;
// an unknown or changed host key, a refused login or an unreachable server
// give other errors.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.checkRoot(ctx, "open"); err != nil {
		b.Close()
		return nil, err
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	switch {
	case backend.IsNotExist(err):
		b.Close()
		return nil, fmt.Errorf("open repository %s: no config file: %w", b.loc, backend.ErrNoRepository)
	case err != nil:
		b.Close()
		return nil, fmt.Errorf("open repository %s: %w", b.loc, err)
	}
	return b, nil
}

// checkRoot returns an error wrapping backend.ErrNoRepository if the
// repository directory is missing.
func (b *Backend) checkRoot(ctx context.Context, op string) error {
	var fi os.FileInfo
	err := b.retry(ctx, func(c *conn) error {
		var err error
		fi, err = c.sftp.Stat(b.root)
		return err
	})
	switch {
	case isNotExist(err):
		return fmt.Errorf("%s repository %s: directory not found: %w", op, b.loc, backend.ErrNoRepository)
	case err != nil:
		return fmt.Errorf("%s repository %s: %w", op, b.loc, err)
	case !fi.IsDir():
		return fmt.Errorf("%s repository %s: not a directory: %w", op, b.loc, backend.ErrNoRepository)
	}
	return nil
}

// Create prepares a new repository: it makes the directory and those of
// every file type, and checks that no repository is there yet. It does not
// write the config; that is the caller's last Save. The fan-out
// directories of packs are made when the first pack goes there.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Backend, error) {
		b.Close()
		return nil, err
	}
	err = b.checkRoot(ctx, "create")
	if err != nil && !errors.Is(err, backend.ErrNoRepository) {
		return fail(err)
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	switch {
	case err == nil:
		return fail(fmt.Errorf("create repository: %w at %s", backend.ErrRepositoryExists, b.loc))
	case !backend.IsNotExist(err):
		return fail(fmt.Errorf("create repository %s: %w", b.loc, err))
	}
	err = b.retry(ctx, func(c *conn) error {
		if err := c.sftp.MkdirAll(b.root); err != nil {
			return err
		}
		for _, t := range handle.Types {
			if t == backend.ConfigFile {
				continue
			}
			if err := c.sftp.MkdirAll(path.Join(b.root, string(t))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("create repository %s: %w", b.loc, err))
	}
	return b, nil
}

// OpenOrCreate opens the repository, or prepares a new one (as Create does)
// when the directory or config is missing.
func OpenOrCreate(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := Open(ctx, cfg)
	if err == nil || !errors.Is(err, backend.ErrNoRepository) {
		return b, err
	}
	return Create(ctx, cfg)
}

// Location returns sftp://USER@HOST:PORT/PATH.
func (b *Backend) Location() string { return b.loc }

// Close closes the connection.
func (b *Backend) Close() error {
	b.mu.Lock()
	c := b.cur
	b.cur = nil
	b.closed = true
	ac := b.agentC
	b.agentC = nil
	b.mu.Unlock()
	if c != nil {
		c.close()
	}
	if ac != nil {
		ac.Close()
	}
	return nil
}

// Path returns the remote file name h is stored under. It does not
// validate h.
func (b *Backend) Path(h backend.Handle) string {
	switch {
	case h.Type == backend.ConfigFile:
		return path.Join(b.root, string(backend.ConfigFile))
	case h.Type == backend.PackFile && len(h.Name) >= 2:
		return path.Join(b.root, string(h.Type), h.Name[:2], h.Name)
	default:
		return path.Join(b.root, string(h.Type), h.Name)
	}
}

// what names h for messages: the handle and the location.
func (b *Backend) what(h backend.Handle) string { return h.String() + " in " + b.loc }

// errExists marks a rename refused because the final name exists.
var errExists = errors.New("final name exists")

// Save stores data under h: written to a temporary name in the final
// directory, size checked, renamed without replacing. An existing file
// with the same bytes is a success (a retry); with other bytes the error
// wraps fs.ErrExist and the file is left alone.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("save %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", b.what(h), err)
	}
	final := b.Path(h)
	dir := path.Dir(final)
	exists := false
	err := b.retry(ctx, func(c *conn) error {
		if _, err := c.sftp.Lstat(final); err == nil {
			exists = true
			return nil
		} else if !isNotExist(err) {
			return err
		}
		tmp := path.Join(dir, tempName())
		f, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if isNotExist(err) && h.Type != backend.ConfigFile {
			if err := c.sftp.MkdirAll(dir); err != nil {
				return err
			}
			f, err = c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		}
		if err != nil {
			return err
		}
		err = writeClose(f, data)
		if err == nil {
			// Verify what arrived before it gets its name.
			var fi os.FileInfo
			fi, err = c.sftp.Lstat(tmp)
			if err == nil && fi.Size() != int64(len(data)) {
				err = fmt.Errorf("uploaded %d bytes, but the server stored %d", len(data), fi.Size())
			}
		}
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = c.sftp.Rename(tmp, final)
			if err != nil {
				// Refused because final exists (a concurrent writer), or
				// another failure: look.
				if _, serr := c.sftp.Lstat(final); serr == nil {
					exists = true
					err = nil
				}
			}
		}
		if err != nil || exists {
			_ = c.sftp.Remove(tmp)
		}
		return err
	})
	if err != nil {
		if b.readOnlyRefusal(ctx, err) {
			err = backend.ReadOnly(err)
		}
		return fmt.Errorf("save %s: %w", b.what(h), err)
	}
	if exists {
		return b.compare(ctx, h, data)
	}
	return nil
}

// stRdonly is ST_RDONLY, the read-only bit of statvfs@openssh.com's
// f_flag.
const stRdonly = 0x1

// readOnlyRefusal reports whether err, a write's failure, is the refusal of
// a server whose file system is read-only, not a permission error. OpenSSH
// answers EROFS with SSH_FX_FAILURE and the message "Failure" (its test
// server, writing into a read-only bind mount), so the message does not say
// it; the statvfs@openssh.com extension does, ST_RDONLY of the
// repository's file system. Other servers say "read-only" in the message
// (pkg/sftp's server sends the errno's text). A permission error on a
// writable file system (a directory this user may not write, chattr +i:
// SSH_FX_PERMISSION_DENIED) stays a permission error, as does any failure
// where the server has no such extension.
func (b *Backend) readOnlyRefusal(ctx context.Context, err error) bool {
	var se *sftp.StatusError
	failure := errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxFailure
	if !failure && !errors.Is(err, fs.ErrPermission) {
		return false
	}
	if failure && strings.Contains(strings.ToLower(se.Error()), "read-only") {
		return true
	}
	ro := false
	_ = b.retry(ctx, func(c *conn) error {
		st, err := c.sftp.StatVFS(b.root)
		if err == nil {
			ro = st.Flag&stRdonly != 0
		}
		return err
	})
	return ro
}

func tempName() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return handle.TempPrefix + hex.EncodeToString(r[:])
}

func writeClose(f *sftp.File, data []byte) error {
	_, err := f.ReadFrom(bytes.NewReader(data))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// compare checks an existing file against data.
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

// LoadMax implements backend.MaxLoader: the size is taken from the open
// file, and nothing is allocated for one larger than max.
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

// errShort marks a range beyond the end of the file.
type errShort struct{ err error }

func (e *errShort) Error() string { return e.err.Error() }
func (e *errShort) Unwrap() error { return e.err }

// load reads length bytes at offset (0: to the end); buf, when not nil,
// has length bytes. max, when not 0, bounds a whole-file load: a larger
// file is a *backend.TooLargeError.
func (b *Backend) load(ctx context.Context, h backend.Handle, offset, length, max int64, buf []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", b.what(h), err)
	}
	p := b.Path(h)
	var out []byte
	err := b.retry(ctx, func(c *conn) error {
		f, err := c.sftp.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n := length
		if length == 0 {
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if _, err := handle.CheckRange(fi.Size(), offset, 0); err != nil {
				return &errShort{err}
			}
			n = fi.Size() - offset
			if max > 0 && n > max {
				return &backend.TooLargeError{File: h, Size: n, Max: max}
			}
		}
		dst := buf
		if dst == nil {
			dst = make([]byte, n)
		}
		if n == 0 {
			out = dst
			return nil
		}
		got, err := f.ReadAt(dst, offset)
		if got == len(dst) {
			out = dst
			return nil
		}
		if err == nil || errors.Is(err, io.EOF) {
			if length == 0 {
				return io.ErrUnexpectedEOF // shrank while we read: odd, retry
			}
			return &errShort{fmt.Errorf("range %d+%d beyond end of file (%d bytes there): %w", offset, length, int64(got), io.ErrUnexpectedEOF)}
		}
		return err
	})
	if err != nil {
		if isNotExist(err) {
			return nil, backend.NotExist(h, b.loc)
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
	var fi os.FileInfo
	err := b.retry(ctx, func(c *conn) error {
		var err error
		fi, err = c.sftp.Lstat(b.Path(h))
		return err
	})
	if isNotExist(err) {
		return backend.FileInfo{}, backend.NotExist(h, b.loc)
	}
	if err != nil {
		return backend.FileInfo{}, fmt.Errorf("stat %s: %w", b.what(h), err)
	}
	if !fi.Mode().IsRegular() {
		return backend.FileInfo{}, fmt.Errorf("stat %s: not a regular file", b.what(h))
	}
	return backend.FileInfo{Name: h.Name, Size: fi.Size()}, nil
}

// Remove deletes h; a missing file gives an error wrapping
// backend.ErrNotExist.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := handle.Valid(h); err != nil {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	p := b.Path(h)
	attempts := 0
	err := b.retry(ctx, func(c *conn) error {
		attempts++
		err := c.sftp.Remove(p)
		if isNotExist(err) && attempts > 1 {
			// An earlier attempt may have removed it before the
			// connection broke.
			return nil
		}
		return err
	})
	if isNotExist(err) {
		return backend.NotExist(h, b.loc)
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", b.what(h), err)
	}
	return nil
}

// List calls fn for every file of type t, with its size, skipping
// temporary and hidden names. For ConfigFile it calls fn once, with an
// empty name, if the config exists.
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
	dir := path.Join(b.root, string(t))
	ents, err := b.readDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	emit := func(ents []os.FileInfo, prefix string) error {
		for _, e := range ents {
			name := e.Name()
			if !e.Mode().IsRegular() || name == "" || name[0] == '.' || prefix != "" && !strings.HasPrefix(name, prefix) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
			}
			if err := fn(backend.FileInfo{Name: name, Size: e.Size()}); err != nil {
				return err
			}
		}
		return nil
	}
	if t != backend.PackFile {
		return emit(ents, "")
	}
	// The 256 fan-out directories are read in parallel, up to the
	// connection limit: read one by one, a listing costs 256 round trips
	// (5 s at 20 ms), and every backup lists the packs (adoption).
	subs := make([][]os.FileInfo, len(ents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.cfg.Connections)
	for i, d := range ents {
		n := d.Name()
		if !d.IsDir() || len(n) != 2 || !isHex(n) {
			continue
		}
		g.Go(func() error {
			sub, err := b.readDir(gctx, path.Join(dir, n))
			subs[i] = sub
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("list %s in %s: %w", t, b.loc, err)
	}
	for i, d := range ents {
		n := d.Name()
		if !d.IsDir() || len(n) != 2 || !isHex(n) {
			continue
		}
		if err := emit(subs[i], n); err != nil {
			return err
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// readDir lists dir; a missing directory is empty.
func (b *Backend) readDir(ctx context.Context, dir string) ([]os.FileInfo, error) {
	var ents []os.FileInfo
	err := b.retry(ctx, func(c *conn) error {
		var err error
		ents, err = c.sftp.ReadDirContext(ctx, dir)
		return err
	})
	if isNotExist(err) {
		return nil, nil
	}
	return ents, err
}

// isNotExist reports whether err says a remote file is missing.
func isNotExist(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var se *sftp.StatusError
	return errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoSuchFile
}

// transient reports whether err is worth retrying on a new connection.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var hke *HostKeyError
	var ae *authError
	var short *errShort
	if isNotExist(err) || errors.As(err, &hke) || errors.As(err, &ae) || errors.As(err, &short) || errors.Is(err, errClosed) ||
		errors.Is(err, backend.ErrTooLarge) {
		return false
	}
	var se *sftp.StatusError
	if errors.As(err, &se) {
		switch se.FxCode() {
		case sftp.ErrSSHFxConnectionLost, sftp.ErrSSHFxNoConnection:
			return true
		}
		return false
	}
	var netErr net.Error
	switch {
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, sftp.ErrSSHFxNoConnection),
		errors.As(err, &netErr), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	// ssh's own wording for a connection that went away mid-handshake.
	return strings.Contains(err.Error(), "handshake failed: EOF") || strings.Contains(err.Error(), "connection lost")
}

// retry runs fn on a connection with the backend's retry policy (package
// retry): transient failures are retried with backoff until RetryTimeout,
// and the connection is dropped after each one so that the next attempt
// reconnects. Callers wrap the error with the operation, the file and the
// location.
func (b *Backend) retry(ctx context.Context, fn func(c *conn) error) error {
	p := retry.Policy{Sem: b.sem, Timeout: b.cfg.RetryTimeout, Transient: transient, Notify: b.cfg.RetryNotify}
	return p.Do(ctx, func(ctx context.Context) error {
		c, err := b.client(ctx)
		if err != nil {
			return err
		}
		err = fn(c)
		if err != nil && transient(err) {
			b.drop(c)
		}
		return err
	})
}

// Connections implements backend.Concurrent: the requests kept in flight.
func (b *Backend) Connections() int { return b.cfg.Connections }
