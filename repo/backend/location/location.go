// Package location parses repository locations (the -r LOCATION of the
// command line) and opens the backend they name:
//
//	/path/to/repo, relative/path, local:/path    a local directory
//	s3:http://HOST[:PORT]/BUCKET[/PREFIX]         an S3-compatible server
//	s3:https://HOST[:PORT]/BUCKET[/PREFIX]
//	s3:BUCKET[/PREFIX]                            AWS S3 (s3.amazonaws.com,
//	                                              region $AWS_DEFAULT_REGION)
//	sftp://[USER@]HOST[:PORT]/PATH                a directory on an SSH server
//	                                              (user $USER, port 22)
//	rest:http[s]://[USER[:PASS]@]HOST[:PORT]/NAME a repository on a cadang
//	                                              server (cadang serve)
//
// Any other NAME: prefix (NAME of letters and digits) is an error that
// lists the known ones, so that a mistyped or unsupported location does
// not become a local directory with a colon in its name. A local path that
// really starts so is written local:PATH or ./NAME:... . A single letter
// followed by :\ or :/ is a drive letter, a local path.
//
// S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, else from ~/.aws/credentials (AWS_PROFILE). SFTP
// logs in with the keys of the agent at SSH_AUTH_SOCK or SFTPIdentityFile,
// and verifies the host key against SFTPKnownHostsFile (default
// ~/.ssh/known_hosts). A rest: location's password comes from the URL or
// else from CADANG_REST_PASSWORD; CADANG_REST_CACERT names a PEM file of
// the certificates an https server's certificate must chain to (for a
// self-signed server certificate).
package location

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/rest"
	"github.com/lpse/cadang/repo/backend/s3"
	"github.com/lpse/cadang/repo/backend/sftp"
)

// Kinds of location.
const (
	Local = "local"
	S3    = "s3"
	SFTP  = "sftp"
	REST  = "rest"
)

// known lists the location prefixes Parse knows, for its error messages.
const known = "a local path, local:PATH, s3:..., sftp://... or rest:http[s]://..."

// SFTPIdentityFile and SFTPKnownHostsFile, when not empty, are the private
// key file and the known hosts file of the sftp: locations that Parse
// returns (the command line's --sftp-identity and --sftp-known-hosts set
// them). Set them before Parse; they are not synchronized.
var (
	SFTPIdentityFile   string
	SFTPKnownHostsFile string
)

// AWSEndpoint is the endpoint of s3:BUCKET[/PREFIX] locations.
const AWSEndpoint = "s3.amazonaws.com"

// Location is a parsed repository location.
type Location struct {
	// Kind is Local, S3, SFTP or REST.
	Kind string
	// Path is the directory of a local repository.
	Path string
	// S3 configures an S3 repository (credentials from the environment).
	S3 s3.Config
	// SFTP configures an SFTP repository.
	SFTP sftp.Config
	// REST configures a repository on a cadang server.
	REST rest.Config
}

// String returns the location for messages: the path of a local
// repository (with local: in front where the path alone would read as
// another location), s3:http[s]://HOST/BUCKET[/PREFIX] for S3,
// sftp://USER@HOST:PORT/PATH for SFTP.
func (l Location) String() string {
	switch l.Kind {
	case S3:
		return l.S3.Location()
	case SFTP:
		return l.SFTP.Location()
	case REST:
		return l.REST.Location()
	}
	// A local path that would read as another kind (b2:odd, given as
	// local:b2:odd) keeps its prefix, so that the string parses back to
	// the same location.
	if p, err := Parse(l.Path); err != nil || p.Kind != Local || p.Path != l.Path {
		return Local + ":" + l.Path
	}
	return l.Path
}

// SetConnections sets how many requests a remote backend (S3, SFTP, REST)
// keeps in flight at once; n <= 0 keeps the backend's default (5). A local
// directory has no such limit.
func (l *Location) SetConnections(n int) {
	if n <= 0 {
		return
	}
	l.S3.Connections, l.SFTP.Connections, l.REST.Connections = n, n, n
}

// SetRetryNotify makes a remote backend (S3, SFTP, REST) call f before it
// waits to retry a failed request (see rest.Config.RetryNotify); a local
// directory does not retry.
func (l *Location) SetRetryNotify(f func(err error, attempt int, wait time.Duration)) {
	l.S3.RetryNotify, l.SFTP.RetryNotify, l.REST.RetryNotify = f, f, f
}

// Redact returns s as it may be written down in a record, a log or a
// message: the location without a password that a rest: URL may carry.
// A string that does not parse is returned with any user information of
// a URL in it removed, since it cannot be told apart.
func Redact(s string) string {
	if l, err := Parse(s); err == nil {
		return l.String()
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 && !strings.Contains(rest[:at], "/") {
			return s[:i+3] + "***@" + rest[at+1:]
		}
	}
	return s
}

// Parse parses s. A path without a NAME: prefix is a local path;
// "local:" may be put in front of any path explicitly.
func Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty repository location")
	}
	scheme, after, ok := strings.Cut(s, ":")
	switch {
	case ok && scheme == Local:
		if after == "" {
			return Location{}, fmt.Errorf("repository location %q: no path after local:", s)
		}
		return Location{Kind: Local, Path: after}, nil
	case ok && scheme == S3:
		return parseS3(s, after)
	case ok && scheme == SFTP:
		return parseSFTP(s, after)
	case ok && scheme == REST:
		return parseREST(s, after)
	case ok && isDrive(scheme, after):
		return Location{Kind: Local, Path: s}, nil
	case ok && isName(scheme):
		return Location{}, fmt.Errorf("repository location %q: cadang has no %q backend; use %s (a local directory whose name has a colon: local:%s or ./%s)", s, scheme, known, s, s)
	}
	return Location{Kind: Local, Path: s}, nil
}

// isName reports whether s is a non-empty run of ASCII letters and digits.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isDrive reports whether scheme:rest is a Windows path such as C:\repo.
func isDrive(scheme, rest string) bool {
	return len(scheme) == 1 && isName(scheme) && !('0' <= scheme[0] && scheme[0] <= '9') &&
		(strings.HasPrefix(rest, "\\") || strings.HasPrefix(rest, "/"))
}

// parseREST parses rest:http[s]://[USER[:PASS]@]HOST[:PORT]/NAME. A path
// of several segments is allowed (a server behind a proxy's prefix); the
// last segment is the repository's NAME.
func parseREST(s, after string) (Location, error) {
	// Messages show the location without its password.
	shown := s
	if u, err := url.Parse(after); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			shown = "rest:" + u.Redacted()
		}
	}
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("repository location %q: %s (want rest:http[s]://[USER[:PASSWORD]@]HOST[:PORT]/NAME)", shown, why)
	}
	if !strings.HasPrefix(after, "http://") && !strings.HasPrefix(after, "https://") {
		return bad("the scheme must be http or https")
	}
	u, err := url.Parse(after)
	if err != nil {
		// url's errors quote the URL, password included.
		return bad("not a valid URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return bad("no query or fragment allowed")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("invalid port %q", p))
		}
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return bad("no repository NAME")
	}
	segs := strings.Split(p, "/")
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return bad(fmt.Sprintf("path %q has an empty, . or .. segment", u.Path))
		}
	}
	if err := rest.ValidName(segs[len(segs)-1]); err != nil {
		return bad(err.Error())
	}
	cfg := rest.Config{
		Scheme:     u.Scheme,
		Host:       u.Host,
		Path:       "/" + p,
		CACertFile: os.Getenv("CADANG_REST_CACERT"),
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		if pw, has := u.User.Password(); has {
			cfg.Password = pw
		}
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("CADANG_REST_PASSWORD")
	}
	if cfg.Password != "" && cfg.User == "" {
		return bad("a password without a user")
	}
	return Location{Kind: REST, REST: cfg}, nil
}

func parseS3(s, rest string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("repository location %q: %s (want s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX])", s, why)
	}
	cfg := s3.Config{
		AccessKey:    os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
	}
	var p string
	if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") {
		u, err := url.Parse(rest)
		if err != nil {
			return bad(err.Error())
		}
		if u.Host == "" {
			return bad("no host")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return bad("no user, query or fragment allowed")
		}
		cfg.Endpoint = u.Host
		cfg.Secure = u.Scheme == "https"
		cfg.Region = os.Getenv("AWS_DEFAULT_REGION")
		p = u.Path
	} else {
		if strings.Contains(rest, "://") {
			return bad("the scheme must be http or https")
		}
		cfg.Endpoint = AWSEndpoint
		cfg.Secure = true
		cfg.Region = os.Getenv("AWS_DEFAULT_REGION")
		p = rest
		// restic's form s3:HOST/BUCKET: a first segment with a dot or a
		// port is a host (https), not a bucket. (A bucket whose name has
		// dots is given with its host: s3:s3.amazonaws.com/my.bucket.)
		if host, after, ok := strings.Cut(p, "/"); ok && strings.ContainsAny(host, ".:") {
			cfg.Endpoint = host
			p = after
		}
	}
	p = strings.Trim(p, "/")
	bucket, prefix, _ := strings.Cut(p, "/")
	if bucket == "" {
		return bad("no bucket")
	}
	if err := validBucket(bucket); err != nil {
		return bad(err.Error())
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return bad(fmt.Sprintf("prefix %q has an empty, . or .. segment", prefix))
			}
		}
	}
	cfg.Bucket, cfg.Prefix = bucket, prefix
	return Location{Kind: S3, S3: cfg}, nil
}

func parseSFTP(s, rest string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("repository location %q: %s (want sftp://USER@HOST[:PORT]/ABSOLUTE/PATH)", s, why)
	}
	if !strings.HasPrefix(rest, "//") {
		return bad("not a URL; restic's sftp:HOST:PATH form is not accepted")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	if u.Hostname() == "" {
		return bad("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("no query or fragment allowed")
	}
	cfg := sftp.Config{
		Host:           u.Hostname(),
		Port:           sftp.DefaultPort,
		IdentityFile:   SFTPIdentityFile,
		KnownHostsFile: SFTPKnownHostsFile,
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return bad("passwords are not supported; log in with a key (--sftp-identity or ssh-agent)")
		}
		cfg.User = u.User.Username()
	}
	if cfg.User == "" {
		cfg.User = os.Getenv("USER")
	}
	if cfg.User == "" {
		return bad("no user, and $USER is not set")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("invalid port %q", p))
		}
		cfg.Port = n
	}
	p := u.Path
	if p == "" || p == "/" {
		return bad("no path")
	}
	if p == "/~" || strings.HasPrefix(p, "/~/") {
		return bad("paths relative to the home directory are not supported; give the absolute path")
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad(fmt.Sprintf("path %q has an empty, . or .. segment", p))
		}
	}
	cfg.Path = path.Clean(p)
	return Location{Kind: SFTP, SFTP: cfg}, nil
}

// validBucket checks the S3 rules for bucket names: 3-63 characters of
// lower-case letters, digits, '.' and '-', starting and ending with a
// letter or digit.
func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must have 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '.' && c != '-' || i == 0 || i == len(b)-1) {
			return fmt.Errorf("bucket name %q: only lower-case letters, digits, '.' and '-' (not first or last)", b)
		}
	}
	return nil
}

// Open opens the repository backend at loc. A location without a
// repository gives an error wrapping backend.ErrNoRepository.
func Open(ctx context.Context, loc Location) (backend.Backend, error) {
	switch loc.Kind {
	case Local:
		return nilIfErr(local.Open(ctx, loc.Path))
	case S3:
		return nilIfErr(s3.Open(ctx, loc.S3))
	case SFTP:
		return nilIfErr(sftp.Open(ctx, loc.SFTP))
	case REST:
		return nilIfErr(rest.Open(ctx, loc.REST))
	}
	return nil, fmt.Errorf("repository location %q: unknown kind %q", loc.String(), loc.Kind)
}

// Create prepares a new repository at loc (a directory, a bucket, a
// directory on an SFTP server or a cadang server).
func Create(ctx context.Context, loc Location) (backend.Backend, error) {
	switch loc.Kind {
	case Local:
		return nilIfErr(local.Create(ctx, loc.Path))
	case S3:
		return nilIfErr(s3.Create(ctx, loc.S3))
	case SFTP:
		return nilIfErr(sftp.Create(ctx, loc.SFTP))
	case REST:
		return nilIfErr(rest.Create(ctx, loc.REST))
	}
	return nil, fmt.Errorf("repository location %q: unknown kind %q", loc.String(), loc.Kind)
}

// OpenOrCreate opens the repository at loc, or prepares a new one there
// when the location holds none.
func OpenOrCreate(ctx context.Context, loc Location) (backend.Backend, error) {
	switch loc.Kind {
	case Local:
		return nilIfErr(local.OpenOrCreate(ctx, loc.Path))
	case S3:
		return nilIfErr(s3.OpenOrCreate(ctx, loc.S3))
	case SFTP:
		return nilIfErr(sftp.OpenOrCreate(ctx, loc.SFTP))
	case REST:
		return nilIfErr(rest.OpenOrCreate(ctx, loc.REST))
	}
	return nil, fmt.Errorf("repository location %q: unknown kind %q", loc.String(), loc.Kind)
}

// nilIfErr keeps a typed nil pointer from becoming a non-nil interface.
func nilIfErr[T backend.Backend](be T, err error) (backend.Backend, error) {
	if err != nil {
		return nil, err
	}
	return be, nil
}
