package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

const budgetPw = "pw"

// slowIndexLoads makes every load of an index file take a while, and
// counts how many of the files named in big overlap.
type slowIndexLoads struct {
	backend.Backend
	big       map[string]bool
	mu        sync.Mutex
	cur, peak int
}

func (b *slowIndexLoads) Unwrap() backend.Backend { return b.Backend }

func (b *slowIndexLoads) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	if h.Type != IndexFile || !b.big[h.Name] {
		return b.Backend.Load(ctx, h, off, n)
	}
	b.mu.Lock()
	b.cur++
	b.peak = max(b.peak, b.cur)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.cur--
		b.mu.Unlock()
	}()
	time.Sleep(20 * time.Millisecond)
	return b.Backend.Load(ctx, h, off, n)
}

func (b *slowIndexLoads) reset() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.peak
	b.peak = 0
	return p
}

// TestIndexReadBudget: the index files read at once are bounded by their
// listed bytes, so that junk files uploaded through an append-only server
// (any number, each up to the server's limit) cannot make every command
// hold gigabytes. With the default budget small files are still read in
// parallel; with a budget below two files', one at a time, in both
// loaders, and the junk is still passed over.
func TestIndexReadBudget(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r0 := NewTestRepository(t, be, budgetPw, InitOptions{})
	id, _, err := r0.SaveBlob(ctx, DataBlob, []byte("kontrak pengadaan 2026"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r0.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r0.Close()
	const junkSize = 4 << 10
	big := map[string]bool{}
	for i := range 6 {
		junk := make([]byte, junkSize)
		junk[0], junk[1] = 1, byte(i)
		sum := sha256.Sum256(junk)
		name := hex.EncodeToString(sum[:])
		big[name] = true
		if err := be.Save(ctx, backend.Handle{Type: IndexFile, Name: name}, junk); err != nil {
			t.Fatal(err)
		}
	}
	slow := &slowIndexLoads{Backend: be, big: big}
	r, err := Open(ctx, slow, []byte(budgetPw), Options{Lock: NoLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if p := slow.reset(); p < 2 {
		t.Fatalf("with the default budget at most %d of the large files were read at once; the test cannot tell a bound", p)
	}
	if len(r.SkippedFiles()) != 6 {
		t.Fatalf("skipped %d files, want the 6 junk ones", len(r.SkippedFiles()))
	}

	r.indexReads = newIndexReads(junkSize + junkSize/2)
	idx := NewIndex()
	if err := r.loadIndexInto(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if p := slow.reset(); p != 1 {
		t.Errorf("loading into an empty index read %d of the large files at once, want 1", p)
	}
	if _, ok := idx.Lookup(DataBlob, id); !ok {
		t.Error("the genuine blob is not in the index loaded under the budget")
	}
	all, _, _, skipped, err := r.readIndexFiles(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := slow.reset(); p != 1 {
		t.Errorf("readIndexFiles read %d of the large files at once, want 1", p)
	}
	if len(all) != 1 || len(skipped) != 6 {
		t.Errorf("readIndexFiles: %d packs, %d skipped", len(all), len(skipped))
	}
}

// TestIndexReadBudgetCancelled: a load whose context ends while it waits
// for the budget fails, and does not return a partial index as whole.
func TestIndexReadBudgetCancelled(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := NewTestRepository(t, be, budgetPw, InitOptions{})
	defer r.Close()
	for i := range 3 {
		if _, _, err := r.SaveBlob(ctx, DataBlob, []byte{byte(i), 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.indexReads = newIndexReads(1)
	w, err := r.indexReads.acquire(ctx, 1) // the whole budget, held
	if err != nil {
		t.Fatal(err)
	}
	defer r.indexReads.release(w)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	idx := NewIndex()
	if ok, err := r.loadIntoEmpty(cctx, idx); err == nil || ok {
		t.Fatalf("loadIntoEmpty with no budget left: %v, %v", ok, err)
	}
	// (Whether a cancelled load leaves the index untouched is
	// TestIndexReadBudgetCancelledMidway's: here nothing was read at all.)
}

// blockIndexLoad blocks the load of one index file until its context ends.
type blockIndexLoad struct {
	backend.Backend
	name string
}

func (b *blockIndexLoad) Unwrap() backend.Backend { return b.Backend }

func (b *blockIndexLoad) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	if h.Type == IndexFile && h.Name == b.name {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.Backend.Load(ctx, h, off, n)
}

// TestIndexReadBudgetCancelledMidway: with a budget of one file at a
// time, the first file loads and is decoded, the second hangs until the
// context ends while the third waits for the budget: the load fails and
// installs nothing, though the first file was read.
func TestIndexReadBudgetCancelledMidway(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r0 := NewTestRepository(t, be, budgetPw, InitOptions{})
	for i := range 3 {
		if _, _, err := r0.SaveBlob(ctx, DataBlob, []byte{byte(i), 9, 9, 9}); err != nil {
			t.Fatal(err)
		}
		if err := r0.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r0.Close()
	var names []string
	var largest int64
	if err := be.List(ctx, IndexFile, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		largest = max(largest, fi.Size)
		return nil
	}); err != nil || len(names) < 3 {
		t.Fatalf("index files: %v %v", names, err)
	}
	r, err := Open(ctx, be, []byte(budgetPw), Options{Lock: NoLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.be = &blockIndexLoad{Backend: be, name: names[1]}
	r.indexReads = newIndexReads(largest)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	idx := NewIndex()
	if ok, err := r.loadIntoEmpty(cctx, idx); err == nil || ok {
		t.Fatalf("loadIntoEmpty cancelled midway: %v, %v", ok, err)
	}
	if !idx.isEmpty() {
		t.Error("a load cancelled midway installed an index")
	}
	if !r.indexReads.sem.TryAcquire(largest) {
		t.Error("the budget was not given back")
	}
}
