package repo

import (
	"runtime"
	"sync"
)

// loadBufList is a bounded free list of load buffers. A sync.Pool is
// emptied by the garbage collector; with the CLI's GOGC of 20 a restore
// or check collects every few megabytes, so the pool was mostly empty and
// each pack load allocated (and faulted in) a new pack-sized buffer, which
// in turn brought the next collection. The list keeps as many buffers as
// loads run at once (check reads GOMAXPROCS+2 packs at a time), no more.
type loadBufList struct {
	mu   sync.Mutex
	free []*loadBuf
}

// Get returns a free buffer, or nil.
func (l *loadBufList) Get() *loadBuf {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		lb := l.free[n-1]
		l.free = l.free[:n-1]
		return lb
	}
	return nil
}

// Put keeps lb for the next load, or drops it when the list is full.
func (l *loadBufList) Put(lb *loadBuf) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free) < runtime.GOMAXPROCS(0)+2 {
		l.free = append(l.free, lb)
	}
}
