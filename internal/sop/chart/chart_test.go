package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
)

// barColors mirror the series colours in Bars, in series order.
var barColors = []color.RGBA{
	{R: 200, G: 40, B: 40, A: 255},
	{R: 240, G: 160, B: 30, A: 255},
	{R: 60, G: 110, B: 190, A: 255},
}

// seriesAt says which series' colour the pixel has, or -1. Bar interiors are
// drawn in the exact colour; anti-aliased edges are blends and match none.
func seriesAt(img image.Image, x, y int) int {
	r, g, b, _ := img.At(x, y).RGBA()
	for s, c := range barColors {
		if absDiff(r>>8, uint32(c.R)) <= 4 && absDiff(g>>8, uint32(c.G)) <= 4 && absDiff(b>>8, uint32(c.B)) <= 4 {
			return s
		}
	}
	return -1
}

func isBackground(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r>>8 >= 250 && g>>8 >= 250 && b>>8 >= 250
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// bar is one bar found in the picture: its series (by colour), the columns
// of its solid interior, and its height in pixels above the baseline.
type bar struct {
	series int
	x0, x1 int
	height int
}

func (b bar) String() string {
	return fmt.Sprintf("{series %d, x %d-%d, h %d}", b.series, b.x0, b.x1, b.height)
}

// findBars measures the bars standing on the baseline, left to right. The
// baseline is the lowest row with a bar colour in it; the legend swatches
// float above it and are not counted.
func findBars(img image.Image) (bars []bar, baseline int) {
	bd := img.Bounds()
	baseline = -1
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			if seriesAt(img, x, y) >= 0 {
				baseline = y
				break
			}
		}
	}
	if baseline < 0 {
		return nil, -1
	}
	var cur *bar
	for x := bd.Min.X; x < bd.Max.X; x++ {
		s := seriesAt(img, x, baseline)
		if s < 0 || cur == nil || cur.series != s || cur.x1 != x-1 {
			if cur != nil {
				bars = append(bars, *cur)
				cur = nil
			}
			if s < 0 {
				continue
			}
			cur = &bar{series: s, x0: x, x1: x}
		}
		cur.x1 = x
		h := 0
		for y := baseline; y >= bd.Min.Y && seriesAt(img, x, y) == s; y-- {
			h++
		}
		cur.height = max(cur.height, h)
	}
	if cur != nil {
		bars = append(bars, *cur)
	}
	return bars, baseline
}

func TestBars(t *testing.T) {
	labels := []string{"2026-01", "2026-02", "2026-03"}
	// Every non-zero value differs from the others, so a swap changes a
	// height; there is a zero (Gagal in 2026-02), and the largest value (8)
	// is not the last one of its series or group.
	series := []Series{
		{"Gagal", []float64{2, 0, 5}},
		{"Terlewat", []float64{1, 3, 8}},
		{"Lain", []float64{4, 6, 7}},
	}
	b, err := Bars("Tren", "jumlah", labels, series, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	if img.Bounds().Dx() < 400 {
		t.Fatalf("png is %v, want at least 400 pixels wide", img.Bounds())
	}
	bars, baseline := findBars(img)
	if baseline < 0 {
		t.Fatal("no bar drawn in any series colour")
	}

	// Split the bars into groups: the bars of one label touch (or leave a
	// gap of one bar width for a zero), the labels are far apart.
	w := 0.0 // a bar's full width: its solid columns plus one blended edge
	for _, br := range bars {
		w += float64(br.x1 - br.x0 + 2)
	}
	w /= float64(len(bars))
	var groups [][]bar
	for i, br := range bars {
		if i == 0 || float64(br.x0-bars[i-1].x1) > 2*w {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], br)
	}
	if len(groups) != len(labels) {
		t.Fatalf("found %d groups of bars, want %d (one per label): %v", len(groups), len(labels), bars)
	}

	maxV, hmax := 0.0, 0
	for _, br := range bars {
		hmax = max(hmax, br.height)
	}
	for _, s := range series {
		for _, v := range s.Values {
			maxV = max(maxV, v)
		}
	}
	if hmax < img.Bounds().Dy()/2 {
		t.Fatalf("tallest bar is %d pixels of %d; the largest value should fill most of the plot", hmax, img.Bounds().Dy())
	}

	origins := make([]float64, len(groups)) // x of each group's first slot
	for g, got := range groups {
		// The bars present, in series order, are those of non-zero values.
		var want []int
		for s := range series {
			if series[s].Values[g] != 0 {
				want = append(want, s)
			}
		}
		var gotSeries []int
		for _, br := range got {
			gotSeries = append(gotSeries, br.series)
		}
		if fmt.Sprint(gotSeries) != fmt.Sprint(want) {
			t.Fatalf("group %s: bars of series %v, want %v (non-zero values only): %v", labels[g], gotSeries, want, got)
		}
		// Each bar stands in its series' slot.
		origins[g] = float64(got[0].x0) - float64(got[0].series)*w
		for _, br := range got[1:] {
			if slot := float64(br.x0) - origins[g]; math.Abs(slot-float64(br.series)*w) > 2 {
				t.Errorf("group %s: series %d bar starts %.1f px into the group, want %.1f: %v", labels[g], br.series, slot, float64(br.series)*w, got)
			}
		}
		// Heights are proportional to the values.
		for _, br := range got {
			v := series[br.series].Values[g]
			want := v / maxV * float64(hmax)
			if math.Abs(float64(br.height)-want) > 2 {
				t.Errorf("group %s, series %s (value %g): bar is %d px high, want %.1f (largest value %g is %d px)",
					labels[g], series[br.series].Name, v, br.height, want, maxV, hmax)
			}
		}
	}
	// The groups are evenly spaced, one per label.
	step := origins[1] - origins[0]
	for g := 2; g < len(origins); g++ {
		if d := origins[g] - origins[g-1]; math.Abs(d-step) > 2 {
			t.Errorf("group %s starts %.1f px after the one before, want %.1f", labels[g], d, step)
		}
	}
	// A zero value leaves its slot empty on the baseline, and on the row
	// below it, which the other bars' lower edges blend into.
	for g := range labels {
		for s := range series {
			if series[s].Values[g] != 0 {
				continue
			}
			x0 := int(math.Round(origins[g] + float64(s)*w))
			for x := x0 + 3; x < x0+int(w)-3; x++ {
				for y := baseline - 2; y <= baseline+1; y++ {
					if !isBackground(img, x, y) {
						t.Fatalf("group %s, series %s is 0, but pixel (%d,%d) in its slot is %v", labels[g], series[s].Name, x, y, img.At(x, y))
					}
				}
			}
		}
	}
}

func TestText(t *testing.T) {
	got := Text([]string{"2026-01", "2026-02"}, []Series{{"Gagal", []float64{2, 0}}, {"Terlewat", []float64{1, 4}}})
	// 30 marks for the largest value (4), the others in proportion, rounded down.
	want := []string{
		"2026-01  Gagal    " + strings.Repeat("#", 15) + " 2",
		"2026-01  Terlewat " + strings.Repeat("#", 7) + " 1",
		"2026-02  Gagal     0",
		"2026-02  Terlewat " + strings.Repeat("#", 30) + " 4",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Text:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
