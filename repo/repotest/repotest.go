// Package repotest helps tests of code built on package repo: it creates
// repositories with a cheap key derivation, so that a test suite can make
// hundreds of them. It imports testing, so only test binaries should
// import it.
package repotest

import (
	"context"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// New creates a repository in be with crypto.CheapKDFParams (unless o sets
// a KDF) and returns it open; it fails the test if that is not possible.
// The repository is closed when the test ends.
func New(tb testing.TB, be backend.Backend, password string, o repo.InitOptions) *repo.Repository {
	tb.Helper()
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = crypto.CheapKDFParams()
	}
	r, err := repo.Init(context.Background(), be, []byte(password), o)
	if err != nil {
		tb.Fatalf("init test repository: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}
