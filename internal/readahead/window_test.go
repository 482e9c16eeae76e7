package readahead

import (
	"slices"
	"testing"
)

// TestWindow: every item is asked for once, in order, before it is taken
// (the first always), and never more than MaxItems items or MaxBytes bytes
// are asked for and not taken, except one item alone that is larger.
func TestWindow(t *testing.T) {
	sizes := []int64{4, 4, 4, 100, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 4, 4}
	for _, c := range []struct {
		items int
		bytes int64
	}{{1, 1000}, {3, 1000}, {8, 10}, {4, 12}, {100, 1000}} {
		var asked []int
		w := &Window{N: len(sizes), Size: func(i int) int64 { return sizes[i] }, MaxItems: c.items, MaxBytes: c.bytes}
		w.Ask = func(i int) { asked = append(asked, i) }
		check := func(taken int) {
			t.Helper()
			var n int
			var b int64
			for _, i := range asked {
				if i >= taken {
					n++
					b += sizes[i]
				}
			}
			if n > c.items || (n > 1 && b > c.bytes) {
				t.Errorf("%+v: after %d taken, %d items of %d bytes asked for ahead", c, taken, n, b)
			}
		}
		w.Start()
		check(0)
		for i := range sizes {
			if !slices.Contains(asked, i) {
				t.Errorf("%+v: item %d taken before it was asked for (asked %v)", c, i, asked)
			}
			w.Took(i)
			check(i + 1)
		}
		want := make([]int, len(sizes))
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(asked, want) {
			t.Errorf("%+v: asked for %v, want each item once in order", c, asked)
		}
	}
	// Nothing to ask for: nothing asked.
	w := &Window{N: 3, Size: func(int) int64 { return 1 }, Ask: func(int) { t.Error("asked with MaxItems 0") }}
	w.Start()
	w.Took(0)
}
