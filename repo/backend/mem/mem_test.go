package mem_test

import (
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/mem"
)

func TestSuite(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return mem.New() })
}

func BenchmarkBackend(b *testing.B) {
	backendtest.Bench(b, func(*testing.B) backend.Backend { return mem.New() })
}
