// Package chart draws the failure trend of the monthly report as a PNG
// (gonum/plot), and as text for Markdown.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"

	"github.com/lpse/cadang/internal/sop/fonts"
	"golang.org/x/image/font/opentype"
)

// Series is one bar series, e.g. failures per month.
type Series struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars: one group per label, one bar per series. The
// values are counts: the y axis has whole-number ticks only, written by
// intFmt (the document's language's digits and separators; nil: plain).
// The text is in DejaVu Sans, the typeface of the documents.
func Bars(title, ylabel string, labels []string, series []Series, intFmt func(int64) string) ([]byte, error) {
	p, err := newPlot()
	if err != nil {
		return nil, err
	}
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Y.Tick.Marker = intTicks{format: intFmt}
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
	p.Y.Max = math.Ceil(maxV * 1.15)
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

// newPlot makes a plot whose every text is set in DejaVu Sans, from the
// fonts embedded in the binary (gonum's default is a serif face).
func newPlot() (*plot.Plot, error) {
	regular, err := opentype.Parse(fonts.Regular())
	if err != nil {
		return nil, fmt.Errorf("chart: font: %w", err)
	}
	sans := font.Font{Typeface: fonts.Family}
	cache := font.NewCache(font.Collection{{Font: sans, Face: regular}})
	h := text.Plain{Fonts: cache}
	p := plot.New()
	p.TextHandler = h
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.Legend.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label} {
		st.Handler = h
		st.Font.Typeface = sans.Typeface
		st.Font.Variant = ""
		st.Font.Style = sans.Style
		st.Font.Weight = sans.Weight
	}
	return p, nil
}

// intTicks marks whole numbers only: counts have no fractions (issue 15:
// "0.5" failures, in an Indonesian document with a decimal point).
type intTicks struct{ format func(int64) string }

func (t intTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int64(math.Ceil(lo)), int64(math.Floor(hi))
	step := int64(1)
	for (last-first)/step > 8 {
		step *= 2
	}
	var out []plot.Tick
	for v := first; v <= last; v += step {
		label := strconv.FormatInt(v, 10)
		if t.format != nil {
			label = t.format(v)
		}
		out = append(out, plot.Tick{Value: float64(v), Label: label})
	}
	return out
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
			out = append(out, fmt.Sprintf("%-8s %-*s %s %s", l, nameW, s.Name, strings.Repeat("#", n), strconv.FormatFloat(v, 'f', -1, 64)))
		}
	}
	return out
}
