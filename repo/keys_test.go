package repo_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
)

// TestAddKeyKDFFloor: new key files below OWASP's argon2id minimum are
// refused unless the caller says it wants an insecure KDF; at the floor
// they are written, and ListKeys reports each key's cost and host.
func TestAddKeyKDFFloor(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	weak := []crypto.KDFParams{
		crypto.CheapKDFParams(),
		{Time: 1, Memory: 64 << 10, Threads: 1},   // enough memory, one pass
		{Time: 10, Memory: 18 << 10, Threads: 4},  // many passes, too little memory
		{Time: 2, Memory: 19<<10 - 1, Threads: 1}, // one KiB short
	}
	for _, p := range weak {
		if _, err := r.AddKey(ctx, []byte("second"), repo.KeyOptions{KDF: p}); !errors.Is(err, repo.ErrWeakKDF) {
			t.Errorf("AddKey with %+v: %v, want ErrWeakKDF", p, err)
		}
		if _, err := r.ChangePassword(ctx, []byte("second"), repo.KeyOptions{KDF: p}); !errors.Is(err, repo.ErrWeakKDF) {
			t.Errorf("ChangePassword with %+v: %v, want ErrWeakKDF", p, err)
		}
	}
	keys, err := r.ListKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("refused keys were written: %d keys, %v", len(keys), err)
	}
	if _, err := r.AddKey(ctx, []byte("cheap"), repo.KeyOptions{KDF: crypto.CheapKDFParams(), InsecureKDF: true}); err != nil {
		t.Fatalf("AddKey with InsecureKDF: %v", err)
	}
	floor, err := r.AddKey(ctx, []byte("floor"), repo.KeyOptions{KDF: repo.KDFFloor()})
	if err != nil {
		t.Fatalf("AddKey at the floor: %v", err)
	}
	keys, err = r.ListKeys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("ListKeys: %d keys, %v", len(keys), err)
	}
	host, _ := os.Hostname()
	for _, k := range keys {
		want := crypto.CheapKDFParams() // the repository's own key (repotest) and "cheap"
		if k.ID == floor {
			want = repo.KDFFloor()
		}
		if k.KDF != want {
			t.Errorf("key %s: KDF %+v, want %+v", k.ID.Short(), k.KDF, want)
		}
		if host != "" && k.Host != host {
			t.Errorf("key %s: host %q, want %q", k.ID.Short(), k.Host, host)
		}
	}
	// The new keys open the repository.
	for _, pw := range []string{"cheap", "floor"} {
		r2, err := repo.Open(ctx, be, []byte(pw), repo.Options{})
		if err != nil {
			t.Fatalf("open with %q: %v", pw, err)
		}
		r2.Close()
	}
}

// BenchmarkKDFCosts: what one password guess (and one open) costs at the
// test suites' cheap setting, at KDFFloor and at the default.
func BenchmarkKDFCosts(b *testing.B) {
	salt, _ := crypto.NewSalt()
	for _, c := range []struct {
		name string
		p    crypto.KDFParams
	}{{"cheap", crypto.CheapKDFParams()}, {"floor", repo.KDFFloor()}, {"default", crypto.DefaultKDFParams()}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := crypto.DeriveWrappingKey([]byte("correct horse battery staple"), salt, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
