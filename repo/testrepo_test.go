package repo

import (
	"context"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// TestKDF is a cheap argon2id setting for tests only.
var TestKDF = crypto.KDFParams{Time: 1, Memory: 8 << 10, Threads: 1}

// TestRepository creates a repository in be with a cheap KDF, for tests in
// this and other packages.
func TestRepository(tb testing.TB, be backend.Backend, password string, o InitOptions) *Repository {
	tb.Helper()
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = TestKDF
	}
	r, err := Init(context.Background(), be, []byte(password), o)
	if err != nil {
		tb.Fatalf("init test repository: %v", err)
	}
	return r
}
