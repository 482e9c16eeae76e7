package location

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

func TestParse(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SK")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	tests := []struct {
		in                       string
		kind, path               string
		endpoint, bucket, prefix string
		secure                   bool
		str                      string
	}{
		{in: "/srv/repo", kind: Local, path: "/srv/repo", str: "/srv/repo"},
		{in: "rel/repo", kind: Local, path: "rel/repo", str: "rel/repo"},
		{in: "local:/srv/repo", kind: Local, path: "/srv/repo", str: "/srv/repo"},
		{in: "local:rel", kind: Local, path: "rel", str: "rel"},
		{in: "C:\\repo", kind: Local, path: "C:\\repo", str: "C:\\repo"},
		{in: "./odd:name", kind: Local, path: "./odd:name", str: "./odd:name"},
		{in: "s3:http://127.0.0.1:7070/bkt", kind: S3, endpoint: "127.0.0.1:7070", bucket: "bkt", str: "s3:http://127.0.0.1:7070/bkt"},
		{in: "s3:http://127.0.0.1:7070/bkt/", kind: S3, endpoint: "127.0.0.1:7070", bucket: "bkt", str: "s3:http://127.0.0.1:7070/bkt"},
		{in: "s3:https://minio.example:9000/bkt/a/b/", kind: S3, endpoint: "minio.example:9000", bucket: "bkt", prefix: "a/b", secure: true, str: "s3:https://minio.example:9000/bkt/a/b"},
		{in: "s3:my-bucket/hosts/web1", kind: S3, endpoint: AWSEndpoint, bucket: "my-bucket", prefix: "hosts/web1", secure: true, str: "s3:https://s3.amazonaws.com/my-bucket/hosts/web1"},
		{in: "s3:my.bucket", kind: S3, endpoint: AWSEndpoint, bucket: "my.bucket", secure: true, str: "s3:https://s3.amazonaws.com/my.bucket"},
		{in: "s3:s3.amazonaws.com/bkt/p", kind: S3, endpoint: AWSEndpoint, bucket: "bkt", prefix: "p", secure: true, str: "s3:https://s3.amazonaws.com/bkt/p"},
	}
	for _, tc := range tests {
		l, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if l.Kind != tc.kind || l.Path != tc.path || l.S3.Endpoint != tc.endpoint || l.S3.Bucket != tc.bucket ||
			l.S3.Prefix != tc.prefix || l.S3.Secure != tc.secure || l.String() != tc.str {
			t.Errorf("Parse(%q) = %+v (%s)", tc.in, l, l)
		}
		if l.Kind == S3 && (l.S3.AccessKey != "AK" || l.S3.SecretKey != "SK" || l.S3.Region != "eu-west-1") {
			t.Errorf("Parse(%q): credentials/region not from the environment: %+v", tc.in, l.S3)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "local:", "s3:", "s3:/", "s3:http://", "s3:http:///bkt", "s3:http://h:1/",
		"s3:ftp://h/bkt", "s3:ab", "s3:Upper", "s3:-bkt", "s3:bkt/a/../b", "s3:bkt/a//b",
		"s3:http://u:p@h/bkt", "s3:http://h/bkt?x=1", "sftp:host:/srv", "rest:http://h/",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): want an error", in)
			continue
		}
		if in != "" && !strings.Contains(err.Error(), in) {
			t.Errorf("Parse(%q): error does not name the location: %v", in, err)
		}
	}
}

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	l, err := Parse("local:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, l); !errors.Is(err, backend.ErrNoRepository) {
		t.Fatalf("Open of a missing directory: %v", err)
	}
	be, err := OpenOrCreate(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if be.Location() != dir {
		t.Errorf("Location = %q", be.Location())
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, l); err == nil {
		t.Error("Create over a repository: want an error")
	}
}

func TestParseSFTP(t *testing.T) {
	t.Setenv("USER", "alice")
	old1, old2 := SFTPIdentityFile, SFTPKnownHostsFile
	SFTPIdentityFile, SFTPKnownHostsFile = "/keys/id", "/keys/kh"
	defer func() { SFTPIdentityFile, SFTPKnownHostsFile = old1, old2 }()
	tests := []struct {
		in, user, host, path, str string
		port                      int
	}{
		{"sftp://root@127.0.0.1:2222/srv/repo", "root", "127.0.0.1", "/srv/repo", "sftp://root@127.0.0.1:2222/srv/repo", 2222},
		{"sftp://backup.example/srv/repo/", "alice", "backup.example", "/srv/repo", "sftp://alice@backup.example:22/srv/repo", 22},
		{"sftp://bob@[::1]:2200/r", "bob", "::1", "/r", "sftp://bob@[::1]:2200/r", 2200},
	}
	for _, tc := range tests {
		l, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		c := l.SFTP
		if l.Kind != SFTP || c.User != tc.user || c.Host != tc.host || c.Port != tc.port || c.Path != tc.path || l.String() != tc.str {
			t.Errorf("Parse(%q) = %+v (%s)", tc.in, l, l)
		}
		if c.IdentityFile != "/keys/id" || c.KnownHostsFile != "/keys/kh" {
			t.Errorf("Parse(%q): identity/known hosts not from the package variables: %+v", tc.in, c)
		}
	}
	for _, in := range []string{
		"sftp://", "sftp://host", "sftp://host/", "sftp://u@host/~/repo", "sftp://u@host/~",
		"sftp:host:/srv", "sftp://u:pw@host/srv", "sftp://u@host:0/srv", "sftp://u@host:x/srv",
		"sftp://u@host/a/../b", "sftp://u@host/srv?x=1",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): want an error", in)
			continue
		}
		if !strings.Contains(err.Error(), in) {
			t.Errorf("Parse(%q): error does not name the location: %v", in, err)
		}
	}
	_, err := Parse("sftp://u@host/~/repo")
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("home-relative path: want a message asking for an absolute path, got %v", err)
	}
	t.Setenv("USER", "")
	if _, err := Parse("sftp://host/srv"); err == nil || !strings.Contains(err.Error(), "USER") {
		t.Errorf("no user: got %v", err)
	}
}

// TestParseS3HostForm: restic's s3:HOST/BUCKET names the host when the
// first segment has a dot or a port; only a bare name is an AWS bucket.
func TestParseS3HostForm(t *testing.T) {
	for _, c := range []struct{ in, endpoint, bucket string }{
		{"s3:s3.wasabisys.com/arsip/lpse", "s3.wasabisys.com", "arsip"},
		{"s3:minio.lpse.local:9000/arsip", "minio.lpse.local:9000", "arsip"},
		{"s3:arsip/lpse", "s3.amazonaws.com", "arsip"},
	} {
		l, err := Parse(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if l.S3.Endpoint != c.endpoint || l.S3.Bucket != c.bucket {
			t.Errorf("%s: endpoint %q bucket %q, want %q %q", c.in, l.S3.Endpoint, l.S3.Bucket, c.endpoint, c.bucket)
		}
	}
}

func TestParseREST(t *testing.T) {
	t.Setenv("CADANG_REST_PASSWORD", "")
	t.Setenv("CADANG_REST_CACERT", "/etc/cadang/ca.pem")
	tests := []struct {
		in, scheme, host, path, user, pw, str string
	}{
		{"rest:http://127.0.0.1:8000/spse", "http", "127.0.0.1:8000", "/spse", "", "", "rest:http://127.0.0.1:8000/spse"},
		{"rest:https://backup:s3cret@arsip.lpse.local:8443/spse/", "https", "arsip.lpse.local:8443", "/spse", "backup", "s3cret", "rest:https://backup@arsip.lpse.local:8443/spse"},
		{"rest:https://backup@[::1]/behind/proxy/spse-2", "https", "[::1]", "/behind/proxy/spse-2", "backup", "", "rest:https://backup@[::1]/behind/proxy/spse-2"},
	}
	for _, tc := range tests {
		l, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		c := l.REST
		if l.Kind != REST || c.Scheme != tc.scheme || c.Host != tc.host || c.Path != tc.path || c.User != tc.user ||
			c.Password != tc.pw || l.String() != tc.str || c.CACertFile != "/etc/cadang/ca.pem" {
			t.Errorf("Parse(%q) = %+v (%s)", tc.in, l, l)
		}
	}
	// The password may come from the environment instead; the URL's wins.
	t.Setenv("CADANG_REST_PASSWORD", "from-env")
	l, err := Parse("rest:http://backup@h:1/r")
	if err != nil || l.REST.Password != "from-env" || strings.Contains(l.String(), "from-env") {
		t.Errorf("password from CADANG_REST_PASSWORD: %+v, %v", l.REST, err)
	}
	if l, err := Parse("rest:http://backup:url-pw@h:1/r"); err != nil || l.REST.Password != "url-pw" {
		t.Errorf("password in the URL: %+v, %v", l.REST, err)
	}
	t.Setenv("CADANG_REST_PASSWORD", "")
	for _, in := range []string{
		"rest:", "rest:h:1/r", "rest:ftp://h/r", "rest:http://", "rest:http:///r", "rest:http://h:1/",
		"rest:http://h:1", "rest:http://h:0/r", "rest:http://h:99999/r", "rest:http://h/a/../r", "rest:http://h/r?x=1",
		"rest:http://h/.hidden", "rest:http://h/r#frag", "rest:http://:pw@h/r",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): want an error", in)
			continue
		}
		if !strings.Contains(err.Error(), in) && !strings.Contains(in, ":pw@") {
			t.Errorf("Parse(%q): error does not name the location: %v", in, err)
		}
	}
	// A password never shows in an error.
	for _, in := range []string{"rest:http://u:topsecret@h:1/", "rest:http://u:topsecret@h:1/r?x", "rest:http://u:topsecret@h:0/r"} {
		if _, err := Parse(in); err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

// TestParseUnknownScheme: a NAME: prefix that is no backend is an error
// that lists the known ones, not a local directory named "NAME:...".
func TestParseUnknownScheme(t *testing.T) {
	for _, in := range []string{"b2:bucket/repo", "azure:c/r", "gs:b/r", "swift:c/r", "rclone:remote:path", "S3:http://h/b",
		"sftp2://h/r", "foo:bar", "http://h/r", "https://h/r", "file:/srv/repo", "x1:y"} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): want an error", in)
			continue
		}
		for _, want := range []string{in, "local:PATH", "s3:", "sftp://", "rest:http", "./"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%q): error lacks %q: %v", in, want, err)
			}
		}
	}
	// Paths that merely contain a colon, written so.
	for _, in := range []string{"./s3:odd", "local:s3:odd", "/srv/a:b", "rel/a:b", "a-b:c", "_x:y", "C:\\repo", "D:/repo", ".:x"} {
		l, err := Parse(in)
		if err != nil || l.Kind != Local {
			t.Errorf("Parse(%q) = %+v, %v; want a local path", in, l, err)
		}
	}
}

// TestRedact: a rest: URL's password must never reach a run-log record
// (issue 12 review: records stored the -r value as typed).
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/backup": "/srv/backup",
		"rest:https://lpse:s3cret@10.0.0.5:8000/spse": "rest:https://lpse@10.0.0.5:8000/spse",
		"bogus://user:s3cret@host/x":                  "bogus://***@host/x",
	} {
		got := Redact(in)
		if strings.Contains(got, "s3cret") || (want != "" && got != want) {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
