package repo

import "testing"

// The random subset is that part of the packs rounded up, never less than
// one: 7% of 100 packs is 7, not the 8 that 0.07*100 = 7.000000000000001
// rounds up to.
func TestRandomSubsetSize(t *testing.T) {
	packs := make([]ID, 100)
	for i := range packs {
		packs[i][0], packs[i][1] = byte(i), 1
	}
	for _, c := range []struct {
		f    float64
		n    int
		want int
	}{{0.07, 100, 7}, {0.14, 100, 14}, {0.28, 100, 28}, {0.57, 100, 57}, {0.005, 100, 1}, {0.05, 10, 1}, {0.25, 10, 3}, {0.999, 100, 100}, {0.5, 0, 0}} {
		got := CheckOptions{ReadData: true, SubsetFraction: c.f}.randomSubset(packs[:c.n])
		if len(got) != c.want {
			t.Errorf("%g of %d packs: %d picked, want %d", c.f*100, c.n, len(got), c.want)
		}
		for id := range got {
			if id[1] != 1 {
				t.Errorf("picked %v, not one of the packs", id)
			}
		}
	}
}
