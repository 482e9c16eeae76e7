package repo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
)

// A key file that anyone can upload may ask for the most memory the
// format allows (4 GiB). Tried cheapest first, it runs only when no other
// key opens: with a mistyped password, it pushed a small server into the
// OOM killer. A key file asking for more than the machine has free is not
// tried, and the error names it and the command that removes it.
func TestKeyFileAskingTooMuchMemoryIsNotTried(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	repotest.New(t, be, "pw", repo.InitOptions{})
	kf := onlyKeyFile(t, be)
	upload := func(p crypto.KDFParams) string {
		kf.Params = p
		b, err := kf.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		name := hex.EncodeToString(sum[:])
		if err := be.Save(ctx, backend.Handle{Type: backend.KeyFile, Name: name}, b); err != nil {
			t.Fatal(err)
		}
		return name
	}
	name := upload(crypto.KDFParams{Memory: 4 << 20, Time: 100, Threads: 1})
	// And one that fits in memory but costs 17 times a writer's default.
	slow := upload(crypto.KDFParams{Memory: 64 << 10, Time: 51, Threads: 1})
	const free = 1 << 20 // 1 GiB

	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{KDFMemory: free})
	if err != nil {
		t.Fatalf("the right password: %v", err)
	}
	r.Close()

	var warned []string
	_, err = repo.Open(ctx, be, []byte("typo"), repo.Options{KDFMemory: free, Warnf: func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }})
	// Not "wrong password": the key not tried may be the one it opens.
	if !errors.Is(err, repo.ErrKeyNotTried) || errors.Is(err, repo.ErrWrongPassword) ||
		!strings.Contains(err.Error(), "was not tried: its key derivation asks for 4096 MiB") ||
		!strings.Contains(err.Error(), "'cadang key remove "+name+"'") {
		t.Fatalf("a wrong password: %v", err)
	}
	// The costly one that was tried was announced first.
	if len(warned) != 1 || !strings.Contains(warned[0], "key file "+slow[:8]+" asks for 64 MiB of memory and 51 passes") {
		t.Errorf("warnings: %q", warned)
	}

	// A report of little free memory (a cgroup's page cache counted as
	// used) never keeps a key of up to 256 MiB from being tried.
	r, err = repo.Open(ctx, be, []byte("pw"), repo.Options{KDFMemory: 1})
	if err != nil {
		t.Fatalf("a genuine key with 1 KiB reported free: %v", err)
	}
	r.Close()

	// A config whose version byte reads as a newer format is classified
	// by trying the keys too: under the same limits, or the 4 GiB key
	// runs for minutes (on a machine with the memory) before the error.
	cfgH := backend.Handle{Type: repo.ConfigFile}
	cfg, err := be.Load(ctx, cfgH, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg[8] = repo.FormatVersion + 1
	if err := be.Remove(ctx, cfgH); err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, cfgH, cfg); err != nil {
		t.Fatal(err)
	}
	warned = nil
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = repo.Open(tctx, be, []byte("typo"), repo.Options{KDFMemory: free, Warnf: func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }})
	var ve *repo.VersionError
	if !errors.As(err, &ve) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("newer version byte, a wrong password: %v", err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "key file "+slow[:8]+" asks for 64 MiB of memory and 51 passes") {
		t.Errorf("newer version byte: warnings %q", warned)
	}
	// The key not tried is named: it may be the one that would tell.
	if !errors.Is(err, repo.ErrKeyNotTried) {
		t.Errorf("newer version byte: the key not tried is not named: %v", err)
	}
	// Ctrl-C at the warning, as it invites, interrupts the open.
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	_, err = repo.Open(cctx, be, []byte("typo"), repo.Options{KDFMemory: free, Warnf: func(string, ...any) { ccancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("newer version byte, cancelled at the warning: %v", err)
	}
}

// argon2id cannot be interrupted, but the open can: Ctrl-C during a costly
// key file's derivation ends the command, not minutes later.
func TestCostlyKeyFileDerivationIsCancellable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	be := mem.New()
	repotest.New(t, be, "pw", repo.InitOptions{})
	kf := onlyKeyFile(t, be)
	kf.Params = crypto.KDFParams{Memory: 64 << 10, Time: 100, Threads: 1}
	b, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if err := be.Save(ctx, backend.Handle{Type: backend.KeyFile, Name: hex.EncodeToString(sum[:])}, b); err != nil {
		t.Fatal(err)
	}
	// Cancelled as the notice comes, as an administrator who reads it would.
	_, err = repo.Open(ctx, be, []byte("typo"), repo.Options{Warnf: func(string, ...any) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("open cancelled during a costly derivation: %v", err)
	}
}

// onlyKeyFile returns the repository's one key file, parsed.
func onlyKeyFile(t *testing.T, be backend.Backend) *crypto.KeyFile {
	t.Helper()
	ctx := context.Background()
	var b []byte
	if err := be.List(ctx, backend.KeyFile, func(fi backend.FileInfo) error {
		var err error
		b, err = be.Load(ctx, backend.Handle{Type: backend.KeyFile, Name: fi.Name}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kf, err := crypto.ParseKeyFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return kf
}
