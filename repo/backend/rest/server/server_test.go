package server

// The rest client and this server, tested together over real HTTP on
// loopback: the conformance suite, and what the server must refuse.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/rest"
)

// startServer serves cfg on a loopback port until the test ends and
// returns the address.
func startServer(t testing.TB, cfg Config, certFile, keyFile string) string {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	var mu sync.Mutex
	cfg.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("server: "+format, args...)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, certFile, keyFile) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func clientConfig(addr, name string) rest.Config {
	return rest.Config{Scheme: "http", Host: addr, Path: "/" + name, RetryTimeout: 3 * time.Second}
}

func create(t testing.TB, cfg rest.Config) *rest.Backend {
	t.Helper()
	be, err := rest.Create(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

func TestSuite(t *testing.T) {
	// The suite's names are random, not hashes of the bytes: this server
	// trusts them. Every other test checks names.
	addr := startServer(t, Config{trustNames: true}, "", "")
	n := 0
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		n++
		be, err := rest.Create(context.Background(), clientConfig(addr, fmt.Sprintf("repo%d", n)))
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func BenchmarkBackend(b *testing.B) {
	addr := startServer(b, Config{trustNames: true}, "", "")
	n := 0
	backendtest.Bench(b, func(b *testing.B) backend.Backend {
		n++
		be, err := rest.Create(context.Background(), clientConfig(addr, fmt.Sprintf("repo%d", n)))
		if err != nil {
			b.Fatal(err)
		}
		return be
	})
}

// named returns data and the handle a repository would store it under.
func named(t backend.FileType, data []byte) backend.Handle {
	sum := sha256.Sum256(data)
	return backend.Handle{Type: t, Name: hex.EncodeToString(sum[:])}
}

// tree lists the files under dir (relative paths and sizes).
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out = append(out, fmt.Sprintf("%s %d", rel, fi.Size()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestNamesAreHashes(t *testing.T) {
	root := t.TempDir()
	addr := startServer(t, Config{Root: root}, "", "")
	be := create(t, clientConfig(addr, "r"))
	if be.AppendOnly() {
		t.Error("the client takes a normal server for append-only")
	}
	ctx := context.Background()

	good := []byte("a pack's bytes")
	h := named(backend.PackFile, good)
	if err := be.Save(ctx, h, good); err != nil {
		t.Fatal(err)
	}
	before := tree(t, root)
	// Bytes that are not what the name says are refused, whatever the type.
	for _, ft := range backendtest.Types {
		bad := named(ft, []byte("other bytes"))
		err := be.Save(ctx, bad, []byte("not the other bytes"))
		if err == nil || !strings.Contains(err.Error(), "must be the SHA-256 of its bytes") || !strings.Contains(err.Error(), bad.Name) {
			t.Errorf("Save %v with bytes that do not match: %v", bad, err)
		}
	}
	// The existing file is not replaced (there are no other bytes with its
	// name, so the refusal is the same check).
	if err := be.Save(ctx, h, []byte("a pack's bytez")); err == nil {
		t.Error("Save over an existing pack with other bytes succeeded")
	}
	// Saving the same bytes again is a retry and succeeds.
	if err := be.Save(ctx, h, good); err != nil {
		t.Errorf("Save of the same bytes again: %v", err)
	}
	if after := tree(t, root); !slicesEqual(before, after) {
		t.Errorf("files changed by refused saves:\nbefore %v\nafter  %v", before, after)
	}

	// The config travels with its digest; without it, or with a wrong
	// one, the server refuses it.
	cfgData := []byte("config bytes")
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, cfgData); err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/r/config"
	for _, hdr := range []string{"", strings.Repeat("0", 64), "xyz"} {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte("other config")))
		if hdr != "" {
			req.Header.Set(rest.DigestHeader, hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("config with digest %q: %d %s", hdr, resp.StatusCode, body)
		}
	}
	// A correct digest over an existing config with other bytes: 409.
	other := []byte("other config")
	err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, other)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over the config: want fs.ErrExist, got %v", err)
	}
	got, err := os.ReadFile(filepath.Join(root, "r", "config"))
	if err != nil || !bytes.Equal(got, cfgData) {
		t.Errorf("config on disk: %q, %v", got, err)
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestAppendOnly(t *testing.T) {
	root := t.TempDir()
	addr := startServer(t, Config{Root: root, AppendOnly: true}, "", "")
	be := create(t, clientConfig(addr, "r"))
	if !be.AppendOnly() {
		t.Error("the client does not know that the server is append-only")
	}
	ctx := context.Background()
	var hs []backend.Handle
	for _, ft := range backendtest.Types {
		data := []byte("file of type " + string(ft))
		h := named(ft, data)
		err := be.Save(ctx, h, data)
		if ft == backend.ObsoleteFile {
			if !errors.Is(err, rest.ErrAppendOnly) || !strings.Contains(err.Error(), "prune") {
				t.Errorf("Save %v on an append-only server: %v", h, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	hs = append(hs, backend.Handle{Type: backend.ConfigFile})
	before := tree(t, root)
	for _, h := range hs {
		err := be.Remove(ctx, h)
		if h.Type == backend.LockFile {
			if err != nil {
				t.Errorf("Remove %v: %v", h, err)
			}
			continue
		}
		want := "the server at rest:http://" + addr + "/r is append-only: deleting " + h.String() + " is refused"
		if !errors.Is(err, rest.ErrAppendOnly) || !strings.Contains(err.Error(), want) {
			t.Errorf("Remove %v: want %q, got %v", h, want, err)
		}
	}
	var wantAfter []string
	for _, f := range before {
		if !strings.HasPrefix(f, "r/locks/") {
			wantAfter = append(wantAfter, f)
		}
	}
	if after := tree(t, root); !slicesEqual(after, wantAfter) {
		t.Errorf("files after refused removes:\n%v\nwant\n%v", after, wantAfter)
	}
}

// TestCutOffUpload sends half an upload and hangs up, several times and
// at once: nothing is stored, no temporary file is left, and the server
// keeps serving.
func TestCutOffUpload(t *testing.T) {
	root := t.TempDir()
	addr := startServer(t, Config{Root: root}, "", "")
	be := create(t, clientConfig(addr, "r"))
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	h := named(backend.PackFile, data)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /r/data/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", h.Name, len(data))
			if _, err := c.Write(data[:(i+1)*len(data)/10]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Let the server notice the hang-ups.
	deadline := time.Now().Add(10 * time.Second)
	for {
		files := tree(t, root)
		if len(files) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files after cut-off uploads: %v", files)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := be.Stat(context.Background(), h); !backend.IsNotExist(err) {
		t.Errorf("Stat after cut-off uploads: %v", err)
	}
	// The server still serves, and the whole upload works.
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatal(err)
	}
	got, err := be.Load(context.Background(), h, 0, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Load after the good upload: %d bytes, %v", len(got), err)
	}
	if files := tree(t, root); len(files) != 1 || !strings.HasPrefix(files[0], "r/data/") {
		t.Errorf("files: %v", files)
	}
}

// TestSlowClient: a client that sends its headers or body too slowly is
// cut off, and does not hold the server.
func TestSlowClient(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server's header timeout (10 s)")
	}
	addr := startServer(t, Config{}, "", "")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /r/config HTTP/1.1\r\nHost: x\r\n") // never finishes its headers
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	start := time.Now()
	_, err = io.ReadAll(c)
	if err != nil {
		t.Fatalf("want the server to close the connection, got %v", err)
	}
	t.Logf("slow header cut off after %v", time.Since(start).Round(time.Second))
}

func TestBadPaths(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(filepath.Dir(root), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, Config{Root: root}, "", "")
	create(t, clientConfig(addr, "r"))
	hash := strings.Repeat("ab", 32)
	for _, p := range []string{
		"/../secret", "/r/../../secret", "/r/keys/../../../secret", "/%2e%2e/secret", "/r/keys/%2e%2e%2fconfig",
		"/.hidden/config", "/r/bogus/" + hash, "/r/keys/ABCD", "/r/keys/.tmp-0123", "/r/data/" + hash + "/x",
		"/r/config/", "/", "//r/config", "/r/keys/" + strings.ToUpper(hash),
	} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			req, err := http.NewRequest(m, "http://"+addr+p, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			req.URL.RawPath = "" // as written
			req.URL.Opaque = p
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: %d %s", m, p, resp.StatusCode, body)
			}
		}
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
		t.Errorf("secret: %q %v", b, err)
	}
	if files := tree(t, root); len(files) != 0 {
		t.Errorf("files: %v", files)
	}
}

func TestMissingRepository(t *testing.T) {
	root := t.TempDir()
	addr := startServer(t, Config{Root: root}, "", "")
	if _, err := rest.Open(context.Background(), clientConfig(addr, "nope")); !errors.Is(err, backend.ErrNoRepository) {
		t.Errorf("Open of a missing repository: %v", err)
	}
	// An empty directory is not a repository, and opening does not fill it.
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := rest.Open(context.Background(), clientConfig(addr, "empty")); !errors.Is(err, backend.ErrNoRepository) {
		t.Errorf("Open of an empty directory: %v", err)
	}
	if files := tree(t, root); len(files) != 0 {
		t.Errorf("files: %v", files)
	}
	// Create over a repository is refused.
	be := create(t, clientConfig(addr, "r"))
	if err := be.Save(context.Background(), backend.Handle{Type: backend.ConfigFile}, []byte("c")); err != nil {
		t.Fatal(err)
	}
	if _, err := rest.Create(context.Background(), clientConfig(addr, "r")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a repository: %v", err)
	}
	if _, err := rest.Open(context.Background(), clientConfig(addr, "r")); err != nil {
		t.Errorf("Open: %v", err)
	}
}

func writeHtpasswd(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func bcryptOf(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestAuth(t *testing.T) {
	users, err := ReadHtpasswd(writeHtpasswd(t, "# admins", "", "backup:"+bcryptOf(t, "s3cret"),
		"other:"+strings.Replace(bcryptOf(t, "x"), "$2a$", "$2y$", 1)))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	addr := startServer(t, Config{Root: root, Users: users}, "", "")
	cfg := clientConfig(addr, "r")
	cfg.User, cfg.Password = "backup", "s3cret"
	be := create(t, cfg)
	if err := be.Save(context.Background(), backend.Handle{Type: backend.ConfigFile}, []byte("c")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{{"backup", "wr0ngpass"}, {"nobody", "s3cret"}, {"", ""}, {"other", "s3cret"}} {
		bad := cfg
		bad.User, bad.Password = c.user, c.pw
		_, err := rest.Open(context.Background(), bad)
		if !errors.Is(err, rest.ErrUnauthorized) || !strings.Contains(err.Error(), "wrong user or password for rest:http://") {
			t.Errorf("Open as %q/%q: %v", c.user, c.pw, err)
		}
		if c.pw != "" && strings.Contains(err.Error(), c.pw) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if _, err := rest.Open(context.Background(), cfg); err != nil {
		t.Errorf("Open with the right password: %v", err)
	}
	other := cfg
	other.User, other.Password = "other", "x"
	if _, err := rest.Open(context.Background(), other); err != nil {
		t.Errorf("Open with a $2y$ entry: %v", err)
	}
}

func TestHtpasswdRefusesWeakHashes(t *testing.T) {
	for _, line := range []string{
		"u:$apr1$abcdefgh$0123456789012345678901", // MD5
		"u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",     // SHA-1
		"u:abJnggxhB/yWI",                         // crypt
		"u:plain",
		"u:$2x$10$abcdefghijklmnopqrstuu",
		"nocolon",
		"u:$2a$10$short",
	} {
		_, err := ParseHtpasswd(strings.NewReader(line + "\n"))
		if err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: want an error naming line 1, got %v", line, err)
		}
	}
	if _, err := ParseHtpasswd(strings.NewReader("# nothing\n")); err == nil {
		t.Error("a file without users: want an error")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cadang test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	addr := startServer(t, Config{}, certFile, keyFile)
	cfg := clientConfig(addr, "r")
	cfg.Scheme = "https"
	// Without the certificate, the client does not trust the server, and
	// says so at once rather than retrying.
	cfg.RetryTimeout = time.Minute
	_, err := rest.Create(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "CADANG_REST_CACERT") {
		t.Errorf("Create against an untrusted certificate: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "giving up after") {
		t.Errorf("an untrusted certificate was retried: %v", err)
	}
	cfg.CACertFile = certFile
	be := create(t, cfg)
	data := []byte("over TLS")
	h := named(backend.SnapshotFile, data)
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatal(err)
	}
	if got, err := be.Load(context.Background(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("Load over TLS: %q, %v", got, err)
	}
	// Plain HTTP to the TLS port is refused at once, saying why.
	plain := clientConfig(addr, "r")
	plain.RetryTimeout = time.Minute
	if _, err := rest.Create(context.Background(), plain); err == nil || !strings.Contains(err.Error(), "HTTP request to an HTTPS server") {
		t.Errorf("plain HTTP to a TLS server: %v", err)
	}
	_, err = rest.Open(context.Background(), plain)
	if err == nil || !strings.Contains(err.Error(), "https://") || strings.Contains(err.Error(), "giving up") {
		t.Errorf("plain HTTP to a TLS server: %v", err)
	}
}

// TestBadTLSFiles: missing certificate files are an error at start.
func TestBadTLSFiles(t *testing.T) {
	s, err := New(Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = s.Serve(context.Background(), ln, "/nonexistent/cert.pem", "/nonexistent/key.pem")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Errorf("Serve with missing TLS files: %v", err)
	}
	_ = tls.VersionTLS12
}

// TestTooLarge: an upload over the limit is refused before it is read.
func TestTooLarge(t *testing.T) {
	root := t.TempDir()
	addr := startServer(t, Config{Root: root, MaxFileSize: 1000}, "", "")
	be := create(t, clientConfig(addr, "r"))
	data := make([]byte, 1001)
	err := be.Save(context.Background(), named(backend.PackFile, data), data)
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("Save over the limit: %v", err)
	}
	data = data[:1000]
	if err := be.Save(context.Background(), named(backend.PackFile, data), data); err != nil {
		t.Errorf("Save at the limit: %v", err)
	}
}

// TestSlowBody: a client that sends its body slower than MinRate after the
// grace is cut off; its memory is given back and nothing is stored.
func TestSlowBody(t *testing.T) {
	root := t.TempDir()
	// Room for one upload in memory: the trickler holds it until cut off.
	// 64 KiB at 64 KiB/s after a second's grace: 2 seconds.
	addr := startServer(t, Config{Root: root, MaxFileSize: 64 << 10, UploadMemory: 64 << 10, grace: time.Second}, "", "")
	be := create(t, clientConfig(addr, "r"))
	data := make([]byte, 64<<10)
	h := named(backend.PackFile, data)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /r/data/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", h.Name, len(data))
	start := time.Now()
	// Trickle a byte every 100 ms until the server hangs up.
	var werr error
	for time.Since(start) < 30*time.Second {
		if _, werr = c.Write([]byte{0}); werr != nil {
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // the server answered or closed
		}
	}
	took := time.Since(start)
	if took > 20*time.Second {
		t.Fatalf("a trickling client was served for %v", took)
	}
	t.Logf("trickling client cut off after %v", took.Round(100*time.Millisecond))
	// The memory is free again: a whole upload of the same size goes through.
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatal(err)
	}
	if files := tree(t, root); len(files) != 1 {
		t.Errorf("files: %v", files)
	}
}
