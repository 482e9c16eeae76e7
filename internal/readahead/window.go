// Package readahead keeps a bounded window of reads asked for ahead of a
// reader that takes its items in a known order (check's packs, a
// restore's packs).
package readahead

// Window asks for the items after the one being taken, in order, each
// once, keeping at most MaxItems items and MaxBytes bytes asked for and not
// yet taken (one item always fits, however large). The zero MaxItems or
// MaxBytes asks for nothing. It is not safe for concurrent use: the
// goroutine that hands out the items drives it.
type Window struct {
	N        int               // items, numbered 0..N-1 in the order they are taken
	Size     func(i int) int64 // bytes of item i
	Ask      func(i int)       // asks for item i; returns without waiting for it
	MaxItems int
	MaxBytes int64

	next  int   // the first item not asked for
	taken int   // items taken so far
	bytes int64 // asked for and not taken
}

// Took records that item i was handed out (items are taken in order) and
// asks for as many items after it as the window holds. Call it after
// handing the item out, so that asking (an open, advice to the kernel)
// never delays the hand-out.
func (w *Window) Took(i int) {
	for w.taken <= i && w.taken < w.N {
		if w.taken < w.next {
			w.bytes -= w.Size(w.taken)
		}
		w.taken++
	}
	w.fill()
}

// Start asks for the first items, before any is taken.
func (w *Window) Start() { w.fill() }

func (w *Window) fill() {
	if w.MaxItems <= 0 || w.MaxBytes <= 0 {
		return
	}
	if w.next < w.taken {
		w.next = w.taken
	}
	for w.next < w.N && w.next-w.taken < w.MaxItems {
		s := w.Size(w.next)
		if w.next > w.taken && w.bytes+s > w.MaxBytes {
			return
		}
		w.Ask(w.next)
		w.bytes += s
		w.next++
	}
}
