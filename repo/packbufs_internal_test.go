package repo

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// slowMem is a memory backend whose pack writes take a while, and which
// records the pack buffers it is handed.
type slowMem struct {
	*mem.Backend
	mu   sync.Mutex
	bufs map[*byte]bool
}

func (s *slowMem) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if h.Type == PackFile {
		s.mu.Lock()
		s.bufs[unsafe.SliceData(data)] = true
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return s.Backend.Save(ctx, h, data)
}

// TestPackBuffersBounded: savers that fill packs faster than they are
// written wait for a written pack's buffer. Before, each saver waiting for
// an upload slot held a full pack while a fresh buffer was allocated for
// its place, and the pack buffers were most of a backup's peak heap.
func TestPackBuffersBounded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	ctx := context.Background()
	be := &slowMem{Backend: mem.New(), bufs: map[*byte]bool{}}
	r := NewTestRepository(t, be, "pw", InitOptions{PackSize: 1 << 20})
	defer r.Close()
	const savers, perSaver = 8, 64
	var wg sync.WaitGroup
	for g := range savers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range perSaver {
				data := make([]byte, 64<<10) // random: stored raw
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				if _, _, err := r.SaveBlob(ctx, DataBlob, data); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if packs := len(be.bufs); packs == 0 {
		t.Fatal("no pack written")
	}
	// The data packs' buffers, and the tree packs' (none here).
	want := openPackers + maxUploads(be)
	if got := len(be.bufs); got > want {
		t.Errorf("%d pack buffers for %d open packers and %d uploads", got, openPackers, maxUploads(be))
	}
	if got := len(r.packSlots); got != 0 {
		t.Errorf("%d pack slots still taken after Flush", got)
	}
}
