package repo_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestRebuildIndexConcurrentReaders: LoadBlob and HasBlob running while the
// index is rebuilt always find the blobs (the packs do not change), and
// -race finds no unsynchronised access to the index.
func TestRebuildIndexConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	_, r := newLocal(t)
	defer r.Close()
	var ids []repo.ID
	for i := range 20 {
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(i), 5000))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i++ {
				id := ids[i%len(ids)]
				if !r.HasBlob(repo.DataBlob, id) || !r.Index().Has(repo.DataBlob, id) {
					errs <- fmt.Errorf("blob %s missing during rebuild", id.Short())
					return
				}
				if _, err := r.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 5 {
		if _, _, err := r.RebuildIndex(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
