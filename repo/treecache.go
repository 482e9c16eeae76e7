package repo

import (
	"container/list"
	"context"
	"sync"

	"github.com/lpse/cadang/repo/backend"
)

// treePackCache keeps whole tree packs in memory. A backup compares every
// directory with its parent snapshot's tree and a restore or check walks
// every tree; loading each tree blob with its own range request costs one
// open and read per directory (20,000 for an LPSE server), while the tree
// packs of a snapshot are a few MiB. Packs are evicted least recently used
// beyond the byte limit.
type treePackCache struct {
	mu    sync.Mutex
	limit int
	size  int
	order *list.List // of *cachedPack, most recent at the front
	packs map[ID]*list.Element
	// loading deduplicates concurrent loads of the same pack.
	loading map[ID]*packLoad
}

type cachedPack struct {
	id   ID
	data []byte
}

type packLoad struct {
	done chan struct{}
	data []byte
	err  error
}

const treeCacheLimit = 16 << 20

func newTreePackCache(limit int) *treePackCache {
	return &treePackCache{limit: limit, order: list.New(), packs: map[ID]*list.Element{}, loading: map[ID]*packLoad{}}
}

// get returns the whole pack, loading it with load if it is not cached.
func (c *treePackCache) get(ctx context.Context, id ID, load func(context.Context) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.packs[id]; ok {
		c.order.MoveToFront(e)
		data := e.Value.(*cachedPack).data
		c.mu.Unlock()
		return data, nil
	}
	if l, ok := c.loading[id]; ok {
		c.mu.Unlock()
		select {
		case <-l.done:
			return l.data, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &packLoad{done: make(chan struct{})}
	c.loading[id] = l
	c.mu.Unlock()

	l.data, l.err = load(ctx)
	close(l.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.loading, id)
	if l.err != nil || len(l.data) > c.limit {
		return l.data, l.err
	}
	c.packs[id] = c.order.PushFront(&cachedPack{id: id, data: l.data})
	c.size += len(l.data)
	for c.size > c.limit {
		e := c.order.Back()
		cp := e.Value.(*cachedPack)
		c.order.Remove(e)
		delete(c.packs, cp.id)
		c.size -= len(cp.data)
	}
	return l.data, nil
}

// loadTreeBlob reads a tree blob through the pack cache.
func (r *Repository) loadTreeBlob(ctx context.Context, h backend.Handle, loc BlobLocation) ([]byte, error) {
	data, err := r.treeCache.get(ctx, loc.Pack, func(ctx context.Context) ([]byte, error) {
		return r.loadPack(ctx, h)
	})
	if err != nil {
		return nil, err
	}
	end := int64(loc.Offset) + int64(loc.Length)
	if end > int64(len(data)) {
		return nil, damaged(h, &loc.ID, "pack of %d bytes is shorter than the index says (%d)", len(data), end)
	}
	return data[loc.Offset:end], nil
}
