// Package location parses repository locations (the -r LOCATION of the
// command line) and opens the backend they name:
//
//	/path/to/repo, relative/path, local:/path    a local directory
//	s3:http://HOST[:PORT]/BUCKET[/PREFIX]         an S3-compatible server
//	s3:https://HOST[:PORT]/BUCKET[/PREFIX]
//	s3:BUCKET[/PREFIX]                            AWS S3 (s3.amazonaws.com,
//	                                              region $AWS_DEFAULT_REGION)
//
// S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, else from ~/.aws/credentials (AWS_PROFILE).
package location

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/s3"
)

// Kinds of location.
const (
	Local = "local"
	S3    = "s3"
)

// AWSEndpoint is the endpoint of s3:BUCKET[/PREFIX] locations.
const AWSEndpoint = "s3.amazonaws.com"

// Location is a parsed repository location.
type Location struct {
	// Kind is Local or S3.
	Kind string
	// Path is the directory of a local repository.
	Path string
	// S3 configures an S3 repository (credentials from the environment).
	S3 s3.Config
}

// String returns the location for messages: the path of a local
// repository, s3:http[s]://HOST/BUCKET[/PREFIX] for S3.
func (l Location) String() string {
	if l.Kind == S3 {
		return l.S3.Location()
	}
	return l.Path
}

// unsupported names schemes of other tools' locations that cadang does
// not (yet) have a backend for; a path starting with one of them is taken
// for such a location, not for a local directory.
var unsupported = []string{"sftp", "rest", "b2", "azure", "gs", "swift", "rclone"}

// Parse parses s. Anything that is not "s3:..." (or another known scheme)
// is a local path; "local:" may be put in front of a path explicitly.
func Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty repository location")
	}
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case ok && scheme == Local:
		if rest == "" {
			return Location{}, fmt.Errorf("repository location %q: no path after local:", s)
		}
		return Location{Kind: Local, Path: rest}, nil
	case ok && scheme == S3:
		return parseS3(s, rest)
	case ok:
		for _, u := range unsupported {
			if scheme == u {
				return Location{}, fmt.Errorf("repository location %q: the %s backend is not supported; use a local path, local:PATH or s3:...", s, u)
			}
		}
	}
	return Location{Kind: Local, Path: s}, nil
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
		// restic's form s3:s3.amazonaws.com/BUCKET names the host too.
		if host, after, ok := strings.Cut(p, "/"); ok && (host == AWSEndpoint || strings.HasSuffix(host, ".amazonaws.com")) {
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
	}
	return nil, fmt.Errorf("repository location %q: unknown kind %q", loc.String(), loc.Kind)
}

// Create prepares a new repository at loc (a directory, a bucket).
func Create(ctx context.Context, loc Location) (backend.Backend, error) {
	switch loc.Kind {
	case Local:
		return nilIfErr(local.Create(ctx, loc.Path))
	case S3:
		return nilIfErr(s3.Create(ctx, loc.S3))
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
