package repo

import (
	"context"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// NewTestRepository creates a repository in be with a cheap KDF, for the
// tests of this package (internal and external). Other packages use
// repotest.New, which does the same without linking testing into repo.
func NewTestRepository(tb testing.TB, be backend.Backend, password string, o InitOptions) *Repository {
	tb.Helper()
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = crypto.CheapKDFParams()
	}
	r, err := Init(context.Background(), be, []byte(password), o)
	if err != nil {
		tb.Fatalf("init test repository: %v", err)
	}
	return r
}
