package restorer

import (
	"container/list"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultMaxOpenFiles bounds the files a restore holds open at once when
// Restorer.MaxOpenFiles is not set (and RLIMIT_NOFILE allows it). A file
// stays open from its first written blob to its last; in a snapshot whose
// files' blobs interleave across packs (small files deduplicated against
// many earlier ones, a re-backed-up tree), that could be most of the
// files, and a million files do not fit under any descriptor limit.
const DefaultMaxOpenFiles = 1024

// fdCache is the set of files a restore holds open, at most max of them: a
// file opened beyond that closes the least recently used file that no
// worker is writing, and that file is reopened (without O_CREAT, O_TRUNC or
// O_EXCL) when its next blob arrives. Only open files cost an entry.
//
// Lock order: a file's mu, then the cache's mu; the cache takes a victim's
// mu only with TryLock, so two goroutines opening two files never wait on
// each other.
type fdCache struct {
	mu    sync.Mutex
	max   int
	lru   *list.List // of *rFile, most recently used first
	elems map[*rFile]*list.Element
	peak  int // most files open at once, for tests
	// closed holds the inode of each file the cache closed to make room,
	// until it is reopened: the reopened file must be that one, not one
	// someone renamed over its name in between (only such files pay for
	// the record).
	closed map[*rFile]uint64
}

func newFDCache(max int) *fdCache {
	return &fdCache{max: max, lru: list.New(), elems: map[*rFile]*list.Element{}, closed: map[*rFile]uint64{}}
}

// reopened returns the inode f had when the cache closed it, and forgets
// it; ok is false for a file the cache did not close.
func (c *fdCache) reopened(f *rFile) (ino uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ino, ok = c.closed[f]
	delete(c.closed, f)
	return ino, ok
}

// maxOpenFiles is the cap for a restore with the given workers: the
// configured or default value, at most half the process's descriptor
// limit, and at least one per worker and one more (every worker pins the
// file it writes, so a smaller cap could not make room).
func maxOpenFiles(configured, workers int) int {
	n := configured
	if n <= 0 {
		n = DefaultMaxOpenFiles
		var rl unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2*n) {
			n = int(rl.Cur / 2)
		}
	}
	return max(n, workers+1)
}

// touch marks f, open, as just used.
func (c *fdCache) touch(f *rFile) {
	c.mu.Lock()
	if e := c.elems[f]; e != nil {
		c.lru.MoveToFront(e)
	}
	c.mu.Unlock()
}

// add records f (whose mu the caller holds) as open, first closing the
// least recently used unpinned files while the cache is full. A file whose
// mu is busy is passed over; if every file is busy the cap is exceeded for
// a moment rather than waited on.
func (c *fdCache) add(f *rFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Back(); e != nil && len(c.elems) >= c.max; {
		g := e.Value.(*rFile)
		prev := e.Prev()
		if g != f && g.mu.TryLock() {
			if g.pins == 0 && g.fd >= 0 {
				var st unix.Stat_t
				if unix.Fstat(g.fd, &st) == nil {
					c.closed[g] = st.Ino
				}
				unix.Close(g.fd) // written with pwrite: nothing is buffered
				g.fd = -1
				c.lru.Remove(e)
				delete(c.elems, g)
			}
			g.mu.Unlock()
		}
		e = prev
	}
	c.elems[f] = c.lru.PushFront(f)
	c.peak = max(c.peak, len(c.elems))
}

// remove forgets f, whose descriptor the caller (holding f's mu) closes.
func (c *fdCache) remove(f *rFile) {
	c.mu.Lock()
	if e := c.elems[f]; e != nil {
		c.lru.Remove(e)
		delete(c.elems, f)
	}
	c.mu.Unlock()
}
