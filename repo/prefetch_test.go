package repo_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// prefetchLog is a backend that records the packs asked for ahead and the
// packs loaded, in order.
type prefetchLog struct {
	backend.Backend
	mu         sync.Mutex
	prefetched map[string]int // pack name -> order of its first prefetch
	lateLoads  []string       // packs loaded before they were asked for ahead
	loads      int
}

func (p *prefetchLog) Prefetch(ctx context.Context, h backend.Handle, offset, length int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.prefetched[h.Name]; !ok && h.Type == backend.PackFile {
		p.prefetched[h.Name] = len(p.prefetched)
	}
}

func (p *prefetchLog) load(h backend.Handle) {
	if h.Type != backend.PackFile {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loads++
	if _, ok := p.prefetched[h.Name]; !ok {
		p.lateLoads = append(p.lateLoads, h.Name)
	}
}

func (p *prefetchLog) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	p.load(h)
	return p.Backend.Load(ctx, h, offset, length)
}

func (p *prefetchLog) LoadInto(ctx context.Context, h backend.Handle, offset int64, buf []byte) error {
	p.load(h)
	return backend.LoadInto(ctx, p.Backend, h, offset, buf)
}

// TestCheckPrefetchesPacks: check --read-data asks the backend for every
// pack it reads before it loads it (on a cold backup medium the disk then
// works ahead of the hashing), and never for a pack it does not read.
func TestCheckPrefetchesPacks(t *testing.T) {
	// Check keeps GOMAXPROCS+2 loads in flight and asks for twice that
	// many packs ahead; on 2 Ps the repository below holds more packs
	// than the first request covers, so the requests made as loads go out
	// are tested too.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	ctx := context.Background()
	log := &prefetchLog{Backend: mem.New(), prefetched: map[string]int{}}
	r, err := repo.Init(ctx, log, []byte("pw"), repo.InitOptions{PackSize: 1 << 20, KDF: crypto.CheapKDFParams()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		data := make([]byte, 300_000) // incompressible: a pack holds three
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	log.prefetched, log.lateLoads, log.loads = map[string]int{}, nil, 0
	log.mu.Unlock()

	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check: %v %+v", err, res)
	}
	if first := 2 * (runtime.GOMAXPROCS(0) + 2); res.PacksRead <= first+2 {
		t.Fatalf("only %d packs read: the test needs more than the %d asked for at the start", res.PacksRead, first)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.lateLoads) != 0 {
		t.Errorf("%d of %d packs loaded without being asked for ahead: %v", len(log.lateLoads), log.loads, log.lateLoads)
	}
	if len(log.prefetched) != res.PacksRead {
		t.Errorf("%d packs asked for ahead, %d read", len(log.prefetched), res.PacksRead)
	}

	// Without --read-data no pack is read, and none is asked for.
	log.prefetched = map[string]int{}
	log.mu.Unlock()
	_, err = r.Check(ctx, repo.CheckOptions{})
	log.mu.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if len(log.prefetched) != 0 {
		t.Errorf("a check without --read-data asked for %d packs ahead", len(log.prefetched))
	}
}
