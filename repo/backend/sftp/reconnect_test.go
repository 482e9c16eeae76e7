package sftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
)

// TestReconnect breaks the connection under running operations: they
// reconnect and complete.
func TestReconnect(t *testing.T) {
	loc := os.Getenv("CADANG_TEST_SFTP")
	if loc == "" {
		t.Skip("sshd not running: set CADANG_TEST_SFTP, CADANG_TEST_SFTP_IDENTITY and CADANG_TEST_SFTP_KNOWN_HOSTS (scripts/test.sh starts one)")
	}
	u, err := url.Parse(loc)
	if err != nil || u.User == nil {
		t.Fatalf("CADANG_TEST_SFTP=%q: want sftp://USER@HOST:PORT/DIR", loc)
	}
	port, _ := strconv.Atoi(u.Port())
	var r [6]byte
	_, _ = rand.Read(r[:])
	cfg := Config{
		User: u.User.Username(), Host: u.Hostname(), Port: port,
		Path:           strings.TrimRight(u.Path, "/") + "/cadang-reconnect-" + hex.EncodeToString(r[:]),
		IdentityFile:   os.Getenv("CADANG_TEST_SFTP_IDENTITY"),
		KnownHostsFile: os.Getenv("CADANG_TEST_SFTP_KNOWN_HOSTS"),
		RetryTimeout:   10 * time.Second,
	}
	ctx := context.Background()
	b, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := bytes.Repeat([]byte("cadang"), 100_000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	breaks := 0
	breakSoon := func() {
		wg.Go(func() {
			time.Sleep(time.Millisecond)
			b.mu.Lock()
			c := b.cur
			b.mu.Unlock()
			if c != nil {
				_ = c.ssh.Close() // the link drops: requests in flight fail
				mu.Lock()
				breaks++
				mu.Unlock()
			}
		})
	}
	for i := range 30 {
		h := backend.Handle{Type: backend.PackFile, Name: "ab" + strconv.Itoa(i)}
		if i%3 == 0 {
			breakSoon() // during the Save
		}
		if err := b.Save(ctx, h, data); err != nil {
			t.Fatalf("Save %d: %v", i, err)
		}
		got, err := b.Load(ctx, h, 0, 0)
		if err != nil {
			t.Fatalf("Load %d: %v", i, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("Load %d: content differs", i)
		}
	}
	wg.Wait()
	if breaks == 0 {
		t.Error("no connection was broken")
	}
	n := 0
	if err := b.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		n++
		if fi.Size != int64(len(data)) {
			t.Errorf("%s: size %d", fi.Name, fi.Size)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 30 {
		t.Errorf("listed %d packs, want 30", n)
	}
	t.Logf("%d connection breaks survived", breaks)
}
