// Package chart draws the failure trend of the monthly report as a PNG
// (gonum/plot), and as text for Markdown.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Series is one bar series, e.g. failures per month.
type Series struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars: one group per label, one bar per series.
func Bars(title, ylabel string, labels []string, series []Series) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	w := vg.Points(14)
	colors := []color.Color{
		color.RGBA{R: 200, G: 40, B: 40, A: 255},
		color.RGBA{R: 240, G: 160, B: 30, A: 255},
		color.RGBA{R: 60, G: 110, B: 190, A: 255},
	}
	maxV := 1.0
	for i, s := range series {
		vals := make(plotter.Values, len(s.Values))
		for k, v := range s.Values {
			vals[k] = v
			maxV = max(maxV, v)
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = vg.Length(0)
		b.Color = colors[i%len(colors)]
		b.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * w
		p.Add(b)
		p.Legend.Add(s.Name, b)
	}
	p.Y.Max = maxV * 1.15
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(40)
	p.NominalX(labels...)
	var buf bytes.Buffer
	wt, err := p.WriterTo(16*vg.Centimeter, 7*vg.Centimeter, "png")
	if err != nil {
		return nil, err
	}
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Text renders the same data as text bars, one line per label and series.
func Text(labels []string, series []Series) []string {
	maxV := 1.0
	nameW := 0
	for _, s := range series {
		nameW = max(nameW, len(s.Name))
		for _, v := range s.Values {
			maxV = max(maxV, v)
		}
	}
	var out []string
	for i, l := range labels {
		for _, s := range series {
			v := 0.0
			if i < len(s.Values) {
				v = s.Values[i]
			}
			n := int(v / maxV * 30)
			out = append(out, fmt.Sprintf("%-8s %-*s %s %g", l, nameW, s.Name, strings.Repeat("#", n), v))
		}
	}
	return out
}
