package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/s3"
)

// testConfig returns a configuration for the server named by
// CADANG_TEST_S3_ENDPOINT, with a fresh bucket name, or skips the test.
func testConfig(t testing.TB) s3.Config {
	t.Helper()
	ep := os.Getenv("CADANG_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("versitygw not running: set CADANG_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:7070), CADANG_TEST_S3_ACCESS and CADANG_TEST_S3_SECRET (scripts/test.sh starts one)")
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		t.Fatalf("CADANG_TEST_S3_ENDPOINT=%q: want http[s]://HOST:PORT", ep)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return s3.Config{
		Endpoint:     u.Host,
		Secure:       u.Scheme == "https",
		Bucket:       "cadang-test-" + hex.EncodeToString(b[:]),
		Prefix:       "repo",
		Region:       "us-east-1",
		AccessKey:    os.Getenv("CADANG_TEST_S3_ACCESS"),
		SecretKey:    os.Getenv("CADANG_TEST_S3_SECRET"),
		RetryTimeout: 10 * time.Second,
	}
}

func newBackend(t testing.TB) *s3.Backend {
	t.Helper()
	be, err := s3.Create(context.Background(), testConfig(t))
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
	// No bucket.
	_, err := s3.Open(ctx, cfg)
	if !errors.Is(err, backend.ErrNoRepository) || !strings.Contains(err.Error(), cfg.Bucket) {
		t.Fatalf("Open of a missing bucket: want ErrNoRepository naming the bucket, got %v", err)
	}
	// A bucket without config.
	be, err := s3.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(ctx, cfg); !errors.Is(err, backend.ErrNoRepository) {
		t.Fatalf("Open without config: want ErrNoRepository, got %v", err)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(ctx, cfg); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s3.Create(ctx, cfg); err == nil {
		t.Fatal("Create over an existing repository: want an error")
	}
	if _, err := s3.OpenOrCreate(ctx, cfg); err != nil {
		t.Fatalf("OpenOrCreate of an existing repository: %v", err)
	}
	// Another prefix of the same bucket is another (missing) repository.
	other := cfg
	other.Prefix = "elsewhere"
	if _, err := s3.Open(ctx, other); !errors.Is(err, backend.ErrNoRepository) {
		t.Fatalf("Open of another prefix: want ErrNoRepository, got %v", err)
	}
	if got := be.Key(backend.Handle{Type: backend.PackFile, Name: "abcdef"}); got != "repo/data/ab/abcdef" {
		t.Errorf("Key = %q", got)
	}
}

func TestWrongSecret(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	be, err := s3.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.SecretKey = "wrong-" + cfg.SecretKey
	start := time.Now()
	_, err = s3.Open(ctx, bad)
	if err == nil || errors.Is(err, backend.ErrNoRepository) {
		t.Fatalf("Open with a wrong secret: want an error that is not ErrNoRepository, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a wrong secret was retried for %v", time.Since(start))
	}
	if !strings.Contains(err.Error(), cfg.Bucket) {
		t.Errorf("error does not name the location: %v", err)
	}
	t.Logf("wrong secret: %v", err)
	// Nothing was written.
	n := 0
	for _, ft := range backendtest.Types {
		_ = be.List(ctx, ft, func(backend.FileInfo) error { n++; return nil })
	}
	if n != 0 {
		t.Errorf("%d files in the bucket", n)
	}
}

func TestRetryGivesUp(t *testing.T) {
	// A port nobody listens on: connection refused is transient, retried
	// until RetryTimeout, and the error names the location and the file.
	cfg := s3.Config{Endpoint: "127.0.0.1:1", Bucket: "bkt", AccessKey: "a", SecretKey: "s", Region: "us-east-1", RetryTimeout: 700 * time.Millisecond}
	start := time.Now()
	_, err := s3.Open(context.Background(), cfg)
	el := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "s3:http://127.0.0.1:1/bkt") || !strings.Contains(err.Error(), "giving up after") {
		t.Fatalf("want an error naming the location after retries, got %v", err)
	}
	if el < 300*time.Millisecond || el > 5*time.Second {
		t.Errorf("retried for %v, want about 0.7s", el)
	}
	// A cancelled context stops the retries at once.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	cfg.RetryTimeout = time.Minute
	start = time.Now()
	_, err = s3.Open(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: want context.Canceled, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cancel took %v", el)
	}
}

func TestConfigLocation(t *testing.T) {
	c := s3.Config{Endpoint: "h:9000", Bucket: "b", Prefix: "/x/y/"}
	if got := c.Location(); got != "s3:http://h:9000/b/x/y" {
		t.Errorf("Location = %q", got)
	}
	c = s3.Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: "b"}
	if got := c.Location(); got != "s3:https://s3.amazonaws.com/b" {
		t.Errorf("Location = %q", got)
	}
}
