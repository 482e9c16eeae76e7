package doc

import (
	"bytes"
	"image"
	_ "image/jpeg" // letterhead logos
	_ "image/png"  // charts and letterhead logos
	"math"
	"strings"
)

// pdfMinSize is the smallest font size a word is shrunk to so that it
// fits its column unbroken; only a word wider than the column at that size
// (a 64-digit hash in a narrow column) is ever broken, and then by
// characters, as the last resort.
const pdfMinSize = 5.0

// textLine is one printed line: its words, and the size it is printed in
// (smaller than the block's where one word had to shrink to fit).
type textLine struct {
	words []string
	size  float64
	last  bool // the last line of a paragraph, never justified
}

func (l textLine) text() string { return strings.Join(l.words, " ") }

// wrap breaks s into lines no wider than w, at spaces only: never inside a
// word ("Pelaks ana"). A word that does not fit the width alone gets a line
// of its own in a smaller size. Newlines in s start new lines.
func (p *pdfDoc) wrap(s, style string, size, w float64) []textLine {
	var out []textLine
	for _, para := range strings.Split(s, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, textLine{size: size, last: true})
			continue
		}
		p.font(style, size)
		space := p.GetStringWidth(" ")
		var cur []string
		curW := 0.0
		for _, wd := range words {
			ww := p.GetStringWidth(wd)
			if len(cur) > 0 && curW+space+ww <= w {
				cur = append(cur, wd)
				curW += space + ww
				continue
			}
			if len(cur) > 0 {
				out = append(out, textLine{words: cur, size: size})
				cur, curW = nil, 0
			}
			if ww <= w {
				cur, curW = []string{wd}, ww
				continue
			}
			out = append(out, p.shrink(wd, style, size, w, ww)...)
			p.font(style, size)
		}
		if len(cur) > 0 {
			out = append(out, textLine{words: cur, size: size})
		}
		out[len(out)-1].last = true
	}
	return out
}

// shrink fits one word of width ww (at size) into w: in a smaller size, or,
// below pdfMinSize, cut into pieces at that size: after the slashes of a
// path where it has them, else by characters (the last resort).
func (p *pdfDoc) shrink(word, style string, size, w, ww float64) []textLine {
	sz := math.Floor(size*w/ww*10) / 10
	if sz >= pdfMinSize {
		return []textLine{{words: []string{word}, size: sz}}
	}
	p.font(style, pdfMinSize)
	var out []textLine
	cur := ""
	flush := func() {
		if cur != "" {
			out = append(out, textLine{words: []string{cur}, size: pdfMinSize})
			cur = ""
		}
	}
	for _, seg := range strings.SplitAfter(word, "/") {
		if cur != "" && p.GetStringWidth(cur+seg) > w {
			flush()
		}
		if p.GetStringWidth(seg) <= w {
			cur += seg
			continue
		}
		for _, r := range seg {
			if cur != "" && p.GetStringWidth(cur+string(r)) > w {
				flush()
			}
			cur += string(r)
		}
	}
	flush()
	return out
}

// drawLine prints l at (x, y) in a box w by h, aligned L, C or R; justify
// spreads the words of a line that is not the last of its paragraph.
func (p *pdfDoc) drawLine(l textLine, x, y, w, h float64, style, align string, justify bool) {
	p.font(style, l.size)
	if !justify || l.last || len(l.words) < 2 {
		p.SetXY(x, y)
		p.CellFormat(w, h, l.text(), "", 0, align, false, 0, "")
		return
	}
	var ww float64
	for _, wd := range l.words {
		ww += p.GetStringWidth(wd)
	}
	gap := (w - ww) / float64(len(l.words)-1)
	if gap > 4*p.GetStringWidth(" ") {
		// A line cut short by a long word that follows (a command to
		// type) reads better ragged than with holes between its words.
		gap = p.GetStringWidth(" ")
	}
	for _, wd := range l.words {
		cw := p.GetStringWidth(wd)
		p.SetXY(x, y)
		p.CellFormat(cw, h, wd, "", 0, "L", false, 0, "")
		x += cw + gap
	}
}

// truncate keeps at most n lines, ending the last kept one with an
// ellipsis, so that a long text cannot make a table row a page tall.
func (p *pdfDoc) truncate(lines []textLine, n int, style string, w float64) []textLine {
	if n <= 0 || len(lines) <= n {
		return lines
	}
	lines = append([]textLine(nil), lines[:n]...)
	last := lines[n-1]
	last.words = append([]string(nil), last.words...)
	p.font(style, last.size)
	for len(last.words) > 1 && p.GetStringWidth(last.text()+" …") > w {
		last.words = last.words[:len(last.words)-1]
	}
	last.words[len(last.words)-1] += " …"
	last.last = true
	lines[n-1] = last
	return lines
}

func imageConfig(b []byte) (image.Config, string, error) {
	return image.DecodeConfig(bytes.NewReader(b))
}
