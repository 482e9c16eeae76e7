package sftp_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/sftp"
)

// testConfig returns a configuration for the server named by
// CADANG_TEST_SFTP, in a fresh directory below its path, or skips the test.
func testConfig(t testing.TB) sftp.Config {
	t.Helper()
	loc := os.Getenv("CADANG_TEST_SFTP")
	if loc == "" {
		t.Skip("sshd not running: set CADANG_TEST_SFTP (e.g. sftp://root@127.0.0.1:2222/tmp/dir), CADANG_TEST_SFTP_IDENTITY and CADANG_TEST_SFTP_KNOWN_HOSTS (scripts/test.sh starts one)")
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "sftp" || u.Host == "" || u.User == nil {
		t.Fatalf("CADANG_TEST_SFTP=%q: want sftp://USER@HOST:PORT/DIR", loc)
	}
	port := 22
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return sftp.Config{
		User:           u.User.Username(),
		Host:           u.Hostname(),
		Port:           port,
		Path:           strings.TrimRight(u.Path, "/") + "/cadang-test-" + hex.EncodeToString(b[:]) + "/repo",
		IdentityFile:   os.Getenv("CADANG_TEST_SFTP_IDENTITY"),
		KnownHostsFile: os.Getenv("CADANG_TEST_SFTP_KNOWN_HOSTS"),
		RetryTimeout:   10 * time.Second,
	}
}

func newBackend(t testing.TB) *sftp.Backend {
	t.Helper()
	be, err := sftp.Create(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return be
}

func TestSuite(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newBackend(t) })
}

func BenchmarkBackend(b *testing.B) {
	backendtest.Bench(b, func(b *testing.B) backend.Backend { return newBackend(b) })
}

func TestOpenNoRepository(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	_, err := sftp.Open(ctx, cfg)
	if !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), cfg.Path) {
		t.Fatalf("Open of a missing directory: want ErrNoRepository naming the path, got %v", err)
	}
	be, err := sftp.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if _, err := sftp.Open(ctx, cfg); !errors.Is(err, backend.ErrNoRepository) {
		t.Fatalf("Open without config: want ErrNoRepository, got %v", err)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	o, err := sftp.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	o.Close()
	if _, err := sftp.Create(ctx, cfg); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Create over an existing repository: want fs.ErrExist, got %v", err)
	}
	o, err = sftp.OpenOrCreate(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenOrCreate of an existing repository: %v", err)
	}
	o.Close()
	if got := be.Path(backend.Handle{Type: backend.PackFile, Name: "abcdef"}); got != cfg.Path+"/data/ab/abcdef" {
		t.Errorf("Path = %q", got)
	}
}

// hostLine returns the known_hosts line of the test server's first key.
func hostLine(t *testing.T, cfg sftp.Config) string {
	t.Helper()
	data, err := os.ReadFile(cfg.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			return l
		}
	}
	t.Fatalf("%s has no host key", cfg.KnownHostsFile)
	return ""
}

// assertNothingWritten checks that cfg.Path was not created.
func assertNothingWritten(t *testing.T, cfg sftp.Config) {
	t.Helper()
	_, err := sftp.Open(context.Background(), cfg)
	if !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), "directory not found") {
		t.Errorf("after a refused host key, want the directory missing, got %v", err)
	}
}

func TestUnknownHostKey(t *testing.T) {
	cfg := testConfig(t)
	good := cfg
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHostsFile = empty
	start := time.Now()
	_, err := sftp.Create(context.Background(), cfg)
	var hke *sftp.HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown {
		t.Fatalf("want an unknown-host error, got %v", err)
	}
	if !strings.Contains(err.Error(), "unknown host") || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), cfg.Host) {
		t.Errorf("error does not say unknown host, name the file and the host: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("an unknown host key was retried for %v", time.Since(start))
	}
	t.Logf("unknown host: %v", err)
	assertNothingWritten(t, good)
}

func TestChangedHostKey(t *testing.T) {
	cfg := testConfig(t)
	good := cfg
	fields := strings.Fields(hostLine(t, cfg))
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	// The host's entry, with another key.
	if err := os.WriteFile(kh, []byte(fields[0]+" "+string(ssh.MarshalAuthorizedKey(other))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHostsFile = kh
	_, err = sftp.Create(context.Background(), cfg)
	var hke *sftp.HostKeyError
	if !errors.As(err, &hke) || !hke.Changed {
		t.Fatalf("want a changed-host-key error, got %v", err)
	}
	if !strings.Contains(err.Error(), "HOST KEY CHANGED") || !strings.Contains(err.Error(), kh) {
		t.Errorf("error does not say the key changed and name the file: %v", err)
	}
	t.Logf("changed host key: %v", err)
	assertNothingWritten(t, good)
}

func TestWrongKey(t *testing.T) {
	cfg := testConfig(t)
	good := cfg
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	id := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(id, pemEncode(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.IdentityFile = id
	t.Setenv("SSH_AUTH_SOCK", "")
	start := time.Now()
	_, err = sftp.Create(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") || !strings.Contains(err.Error(), "--sftp-identity") {
		t.Fatalf("want a clear authentication error, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a refused login was retried for %v", time.Since(start))
	}
	t.Logf("wrong key: %v", err)
	assertNothingWritten(t, good)
}

func TestRetryGivesUp(t *testing.T) {
	// A port nobody listens on: connection refused is transient, retried
	// until RetryTimeout, and the error names the location.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	id := filepath.Join(t.TempDir(), "id")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(id, pemEncode(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sftp.Config{User: "u", Host: "127.0.0.1", Port: 1, Path: "/srv/repo", IdentityFile: id, KnownHostsFile: kh, RetryTimeout: 700 * time.Millisecond}
	start := time.Now()
	_, err = sftp.Open(context.Background(), cfg)
	el := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "sftp://u@127.0.0.1:1/srv/repo") || !strings.Contains(err.Error(), "giving up after") {
		t.Fatalf("want an error naming the location after retries, got %v", err)
	}
	if el < 300*time.Millisecond || el > 5*time.Second {
		t.Errorf("retried for %v, want about 0.7s", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	cfg.RetryTimeout = time.Minute
	start = time.Now()
	_, err = sftp.Open(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: want context.Canceled, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cancel took %v", el)
	}
}

func TestConfigErrors(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "missing_known_hosts")
	_, err := sftp.Open(context.Background(), sftp.Config{User: "u", Host: "h", Path: "/x", KnownHostsFile: kh})
	if err == nil || !strings.Contains(err.Error(), kh) {
		t.Errorf("missing known_hosts file: want an error naming it, got %v", err)
	}
	_, err = sftp.Open(context.Background(), sftp.Config{User: "u", Host: "h", Path: "rel"})
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative path: got %v", err)
	}
	if got := (sftp.Config{User: "u", Host: "h", Path: "/a/b"}).Location(); got != "sftp://u@h:22/a/b" {
		t.Errorf("Location = %q", got)
	}
	if got := (sftp.Config{User: "u", Host: "::1", Port: 2222, Path: "/a"}).Location(); got != "sftp://u@[::1]:2222/a" {
		t.Errorf("Location = %q", got)
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
