package local_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/local"
)

func newBackend(t testing.TB) *local.Backend {
	t.Helper()
	be, err := local.Create(context.Background(), filepath.Join(t.TempDir(), "repo"))
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
