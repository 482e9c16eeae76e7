// Package chart draws the failure trend of the monthly report as a PNG, and
// as text for Markdown.
//
// The PNG is drawn by github.com/go-analyze/charts, in DejaVu Sans from
// internal/sop/fonts. That library loads fonts only when a chart is drawn;
// gonum/plot, used before, parsed a dozen Liberation fonts in an init
// function, in every run of the CLI whatever the command (about 2 MiB of
// memory and 3 ms at start-up, 4 MB of binary), for a chart that only the
// monthly report draws.
package chart

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/go-analyze/charts"
	"github.com/golang/freetype/truetype"

	"github.com/lpse/cadang/internal/sop/fonts"
)

// Series is one bar series, e.g. failures per month.
type Series struct {
	Name   string
	Values []float64
}

// The picture is 16 cm × 7 cm at 150 dpi (the documents scale it to the
// page's width). The text sizes are in points at the renderer's 96 dpi, so
// that on the page they come out as large as gonum's 10 and 12 points did.
const (
	width     = 945
	height    = 413
	tickSize  = 15.0 // axis tick labels
	labelSize = 17.0 // legend, axis title, title
)

// seriesColors are the bar colours, in series order (the test finds the
// bars by these exact colours).
var seriesColors = []charts.Color{
	{R: 200, G: 40, B: 40, A: 255},
	{R: 240, G: 160, B: 30, A: 255},
	{R: 60, G: 110, B: 190, A: 255},
}

// sans is DejaVu Sans, parsed on the first chart drawn: a run that draws no
// chart pays nothing for it.
var sans = sync.OnceValues(func() (*truetype.Font, error) {
	f, err := truetype.Parse(fonts.Regular())
	if err != nil {
		return nil, fmt.Errorf("chart: font %s: %w", fonts.Family, err)
	}
	return f, nil
})

// Bars draws grouped bars: one group per label, one bar per series. The
// values are counts: the y axis has whole-number ticks only, written by
// intFmt (the document's language's digits and separators; nil: plain).
// The text is in DejaVu Sans, the typeface of the documents.
func Bars(title, ylabel string, labels []string, series []Series, intFmt func(int64) string) ([]byte, error) {
	font, err := sans()
	if err != nil {
		return nil, err
	}
	if intFmt == nil {
		intFmt = func(n int64) string { return strconv.FormatInt(n, 10) }
	}
	text := func(size float64) charts.FontStyle {
		return charts.FontStyle{Font: font, FontSize: size, FontColor: charts.ColorBlack}
	}

	maxV := 1.0
	list := make(charts.BarSeriesList, len(series))
	names := make([]string, len(series))
	for i, s := range series {
		vals := make([]float64, len(labels))
		for k := range vals {
			// A zero (or missing) count draws nothing, not a hairline:
			// its slot stays empty.
			vals[k] = charts.GetNullValue()
			if k < len(s.Values) {
				if v := s.Values[k]; v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
					vals[k] = v
					maxV = max(maxV, v)
				}
			}
		}
		list[i] = charts.BarSeries{Values: vals, Name: s.Name}
		names[i] = s.Name
	}
	top, step := yScale(maxV)

	theme := charts.MakeTheme(charts.ThemeOption{
		BackgroundColor: charts.ColorWhite,
		TextColor:       charts.ColorBlack,
		// The library draws the x axis line right under the bars, on the
		// rows where an empty slot must stay white: no x axis line (nor
		// ticks), the labels name the groups.
		XAxisStrokeColor: charts.ColorWhite,
		YAxisStrokeColor: charts.ColorBlack,
		SeriesColors:     seriesColors,
	})
	opt := charts.NewBarChartOptionWithSeries(list)
	opt.Theme = theme
	opt.Title = charts.TitleOption{Text: title, FontStyle: text(labelSize)}
	opt.Legend = charts.LegendOption{
		SeriesNames: names,
		FontStyle:   text(labelSize),
		Offset:      charts.OffsetLeft,
	}
	opt.CategoryAxis = charts.CategoryAxisOption{
		Labels:         labels,
		LabelFontStyle: text(tickSize),
		BoundaryGap:    charts.Ptr(true),
	}
	opt.ValueAxis = []charts.ValueAxisOption{{
		Title:          ylabel,
		TitleFontStyle: text(labelSize),
		LabelFontStyle: text(tickSize),
		Min:            charts.Ptr(0.0),
		Max:            charts.Ptr(top),
		LabelCount:     int(top/step) + 1,
		SplitLineShow:  charts.Ptr(false),
		SpineLineShow:  charts.Ptr(true),
		ValueFormatter: func(v float64) string { return intFmt(int64(math.Round(v))) },
	}}
	// A group takes half of its label's slot, so that the groups stand
	// well apart. The bars of a group stand one pixel apart: the library
	// draws sharp edges, where gonum blended a column between touching
	// bars, and the gap keeps a bar's pitch its width and one column. The
	// library takes the margin as a share of the slot, which is about
	// 800 px / len(labels) wide.
	opt.BarSize = 0.5
	opt.BarMargin = charts.Ptr(float64(len(labels)) / 800)

	p := charts.NewPainter(charts.PainterOptions{
		OutputFormat: charts.ChartOutputPNG,
		Width:        width,
		Height:       height,
		Font:         font,
		Theme:        theme,
	})
	if title != "" {
		// The library puts the legend on the title's baseline, over its
		// descenders: below them, then.
		h := p.MeasureText(title, 0, opt.Title.FontStyle).Height()
		opt.Legend.Offset.Top = strconv.Itoa(h * 3 / 2)
	}
	if err := p.BarChart(opt); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return p.Bytes()
}

// yScale returns the top of the y axis and the step between its ticks.
// The ticks are whole numbers only, for counts have no fractions (issue 15:
// "0.5" failures, in an Indonesian document with a decimal point): the step
// is 1, 2 or 5 times a power of ten, and the top a multiple of it, for the
// library spaces the ticks evenly from 0 to the top. The top is the lowest
// such multiple at or above 1.15 times the largest value, in at most 10
// steps; of the steps that reach it, the one nearest to 5 steps.
func yScale(maxV float64) (top, step float64) {
	want := math.Ceil(maxV * 1.15)
	top = math.Inf(1)
	for s := 1.0; s <= want; s *= 10 {
		for _, m := range []float64{1, 2, 5} {
			t := math.Ceil(want/(s*m)) * s * m
			n := t / (s * m)
			if n > 10 {
				continue
			}
			if t < top || t == top && math.Abs(n-5) < math.Abs(top/step-5) {
				top, step = t, s*m
			}
		}
	}
	return top, step
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
