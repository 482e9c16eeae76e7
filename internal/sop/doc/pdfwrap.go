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
// fits its column unbroken (a hash in a field); a longer word (a lock's
// path) is broken across lines in the block's size instead, as a 4-point
// line cannot be read on paper.
const pdfMinSize = 7.0

// textLine is one printed line: its words, and the size it is printed in
// (smaller than the block's where one word had to shrink to fit).
type textLine struct {
	words []string
	size  float64
	last  bool // the last line of a paragraph, never justified
}

func (l textLine) text() string { return strings.Join(l.words, " ") }

// wrap breaks s into lines no wider than w, at spaces: never inside a word
// that fits a line ("Pelaks ana"). A word a little too wide for the width
// gets a line of its own in a smaller size down to pdfMinSize; a longer one
// is broken
// (see breakWord), its first piece after the line's words where it fits.
// Newlines in s start new lines.
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
		flush := func() {
			if len(cur) > 0 {
				out = append(out, textLine{words: cur, size: size})
				cur, curW = nil, 0
			}
		}
		for _, wd := range words {
			ww := p.GetStringWidth(wd)
			if len(cur) > 0 && curW+space+ww <= w {
				cur = append(cur, wd)
				curW += space + ww
				continue
			}
			if ww <= w {
				flush()
				cur, curW = []string{wd}, ww
				continue
			}
			if sz := p.shrunk(size, w, ww); sz > 0 {
				flush()
				out = append(out, textLine{words: []string{wd}, size: sz})
				p.font(style, size)
				continue
			}
			first := w
			if len(cur) > 0 {
				first = w - curW - space
			}
			pieces := p.breakWord(wd, first, w)
			if pieces[0] == "" {
				pieces = pieces[1:] // no room on the line: start a new one
			} else if len(cur) > 0 {
				cur = append(cur, pieces[0])
				pieces = pieces[1:]
			}
			flush()
			if len(pieces) == 0 {
				continue
			}
			for _, pc := range pieces[:len(pieces)-1] {
				out = append(out, textLine{words: []string{pc}, size: size})
			}
			last := pieces[len(pieces)-1]
			cur, curW = []string{last}, p.GetStringWidth(last)
		}
		flush()
		out[len(out)-1].last = true
	}
	return out
}

// shrunk is the size at which a word of width ww (at size) fits w, if
// that is not below pdfMinSize; else 0: the word is broken instead.
func (p *pdfDoc) shrunk(size, w, ww float64) float64 {
	sz := math.Floor(size*w/ww*10) / 10
	if sz < pdfMinSize {
		return 0
	}
	return sz
}

// breakWord cuts word, in the current font, into pieces: the first no
// wider than first ("" when none of it fits there), the others no wider
// than w. It cuts after a '/', '-', '_' or '.' where it can, as a path or
// an ID reads back across lines, else between any two characters.
func (p *pdfDoc) breakWord(word string, first, w float64) []string {
	var out []string
	limit := first
	cur := ""
	flush := func() {
		out = append(out, cur)
		cur, limit = "", w
	}
	for _, seg := range splitAfterAny(word, "/-_.") {
		if p.GetStringWidth(cur+seg) <= limit {
			cur += seg
			continue
		}
		if cur != "" || limit < w {
			flush()
		}
		if p.GetStringWidth(seg) <= limit {
			cur = seg
			continue
		}
		for _, r := range seg {
			if cur != "" && p.GetStringWidth(cur+string(r)) > limit {
				flush()
			}
			cur += string(r)
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// splitAfterAny splits s after each of the characters in seps.
func splitAfterAny(s, seps string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if strings.ContainsRune(seps, r) {
			out = append(out, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
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
