package chunk_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/lpse/cadang/chunk"
)

// stepEdge is how far Next's search steps reach: Next copies Min+stepEdge
// bytes into the chunk, then stepEdge at a time, each step searched from
// where the last ended.
const stepEdge = chunk.SearchStep

// boundaryWindow returns 64 bytes whose fingerprint is a boundary for p,
// and a filler byte that cuts nowhere, so that filler×(L-64) followed by
// the window is a chunk of exactly L bytes (Min <= L <= Max).
func boundaryWindow(t *testing.T, p chunk.Params) (win []byte, fill byte) {
	t.Helper()
	data := randData(77, 8<<20)
	off := 0
	for _, n := range resticLens(t, testPol, p, data) {
		if n > int(p.Min)+64 && n < int(p.Max) {
			win = data[off+n-64 : off+n]
			break
		}
		off += n
	}
	if win == nil {
		t.Fatal("no content-defined boundary in the random data")
	}
	L := min(int(p.Min)+3*stepEdge+1, int(p.Max))
	for f := 0xff; f >= 0; f-- {
		d := append(bytes.Repeat([]byte{byte(f)}, L-64), win...)
		if lens := resticLens(t, testPol, p, d); len(lens) == 1 && lens[0] == L {
			return win, byte(f)
		}
	}
	t.Fatal("no filler byte cuts nowhere")
	return nil, 0
}

// TestBoundaryAtStepEdge puts chunk ends at, just before and just after the
// ends of Next's search steps, counted from Min and back from Max, and at
// Min and Max themselves, chunk after chunk: a step whose search starts a
// byte or two late (which the random inputs of the other tests miss) cuts
// elsewhere than restic does.
func TestBoundaryAtStepEdge(t *testing.T) {
	for _, p := range []chunk.Params{
		{Min: 64, Avg: 256, Max: 1 << 20},
		{Min: 100, Avg: 4 << 10, Max: 300007},
		chunk.DefaultParams(),
	} {
		win, fill := boundaryWindow(t, p)
		mn, mx := int(p.Min), int(p.Max)
		var edges []int
		for k := range 7 {
			edges = append(edges, mn+k*stepEdge)
		}
		for k := 1; k <= 3; k++ {
			edges = append(edges, mx-k*stepEdge)
		}
		var lens []int
		for _, e := range edges {
			for _, L := range []int{e - 1, e, e + 1} {
				if L >= mn && L >= 64 && L <= mx {
					lens = append(lens, L)
				}
			}
		}
		lens = append(lens, mn, mx, mx-1)
		var data []byte
		for _, L := range lens {
			data = append(data, bytes.Repeat([]byte{fill}, L-64)...)
			data = append(data, win...)
		}
		data = append(data, randData(5, 1000)...)
		want := resticLens(t, testPol, p, data)
		if len(want) < len(lens) || !slices.Equal(want[:len(lens)], lens) {
			t.Fatalf("params %+v: the crafted data is not cut where meant: %v, meant %v", p, want, lens)
		}
		c, err := chunk.New(testPol, p)
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("params %d/%d/%d", p.Min, p.Avg, p.Max)
		equalLens(t, what, want, ourLens(t, c, data, bytes.NewReader(data)))
		equalLens(t, what+", reads of 4099 bytes", want, ourLens(t, c, data, &stepReader{data: data, step: 4099}))
	}
}
