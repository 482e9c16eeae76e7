package repo

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// indexReadBudget bounds the bytes of index files that loading the index
// reads at once, by their listed sizes. Each file is read whole and opened
// into a second buffer, and the loaders read several files in parallel
// (GOMAXPROCS + 2): junk uploaded through an append-only server (up to its
// 640 MiB per file, and any number of files) could otherwise hold
// gigabytes at once in every command. Genuine index files are at most a
// few MiB (indexFileBlobs), so the budget does not slow them; a file larger
// than the budget is read alone.
const indexReadBudget = 256 << 20

// indexReads is the budget of index bytes being read.
type indexReads struct {
	sem    *semaphore.Weighted
	budget int64
}

func newIndexReads(budget int64) indexReads {
	return indexReads{sem: semaphore.NewWeighted(budget), budget: budget}
}

// weight is what a file of the listed size takes of the budget: at least
// one byte (a size a backend does not know reads as 0), at most all.
func (b indexReads) weight(size int64) int64 {
	return min(max(size, 1), b.budget)
}

// acquire waits until a file of the listed size may be read, and returns
// the weight to release.
func (b indexReads) acquire(ctx context.Context, size int64) (int64, error) {
	w := b.weight(size)
	return w, b.sem.Acquire(ctx, w)
}

func (b indexReads) release(w int64) { b.sem.Release(w) }
