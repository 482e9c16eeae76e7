package repo

import (
	"context"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// countingLoads counts the index files loaded through a backend.
type countingLoads struct {
	backend.Backend
	indexLoads int
}

func (c *countingLoads) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	if h.Type == IndexFile {
		c.indexLoads++
	}
	return c.Backend.Load(ctx, h, off, n)
}

// LoadNewIndex reads only the index files written since the index was
// read, and the index then knows their blobs.
func TestLoadNewIndexReadsOnlyNewFiles(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	w := NewTestRepository(t, be, "pw", InitOptions{})
	defer w.Close()
	save := func(from, to int) {
		for i := from; i < to; i++ {
			if _, _, err := w.SaveBlob(ctx, DataBlob, []byte{byte(i), 7, 7, 7}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	save(0, 10)
	cl := &countingLoads{Backend: be}
	r, err := Open(ctx, cl, []byte("pw"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	atOpen := cl.indexLoads
	if atOpen == 0 || r.idx.Len(DataBlob) != 10 {
		t.Fatalf("open read %d index files, knows %d blobs", atOpen, r.idx.Len(DataBlob))
	}
	save(10, 15)
	cl.indexLoads = 0
	if err := r.LoadNewIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if cl.indexLoads != 1 {
		t.Errorf("LoadNewIndex read %d index files, want the 1 new one", cl.indexLoads)
	}
	if n := r.idx.Len(DataBlob); n != 15 {
		t.Errorf("index knows %d blobs, want 15", n)
	}
	cl.indexLoads = 0
	if err := r.LoadNewIndex(ctx); err != nil || cl.indexLoads != 0 {
		t.Errorf("LoadNewIndex with nothing new: %v, read %d files", err, cl.indexLoads)
	}
}
