package repo

import (
	"runtime"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

type concurrentMem struct {
	*mem.Backend
	n int
}

func (c concurrentMem) Connections() int { return c.n }

// TestMaxUploadsFollowsTheBackend: a remote backend's connections decide how
// many packs upload at once; on 2 cores it was one, and a 20 ms round trip
// then halved a backup's speed (issue 12 benchmark).
func TestMaxUploadsFollowsTheBackend(t *testing.T) {
	var _ backend.Concurrent = concurrentMem{}
	if got := maxUploads(concurrentMem{mem.New(), 8}); got != 8 {
		t.Errorf("a backend with 8 connections: %d uploads", got)
	}
	if got := maxUploads(concurrentMem{mem.New(), 1000}); got != 32 {
		t.Errorf("capped at 32: %d", got)
	}
	want := min(max(1, runtime.GOMAXPROCS(0)/4), 4)
	if got := maxUploads(mem.New()); got != want {
		t.Errorf("a local backend: %d uploads, want %d", got, want)
	}
}
