package doc

import (
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"

	"github.com/lpse/cadang/internal/sop/fonts"
)

func testPDF(t *testing.T) *pdfDoc {
	t.Helper()
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes(fonts.Family, "", fonts.Regular())
	f.AddUTF8FontFromBytes(fonts.Family, "B", fonts.Bold())
	f.AddPage()
	return &pdfDoc{Fpdf: f, width: 180}
}

// A lock ID and a path in a failure report's message shrank to about 4 pt
// to fit one line, unreadable on paper (README walk). An over-long word is
// broken across lines at '/', '-', '_' or '.' (else between characters) in
// the block's size; no line is wider than the cell or smaller than 7 pt.
func TestWrapBreaksLongWords(t *testing.T) {
	p := testPDF(t)
	lock := strings.Repeat("ec6544a1b2c3d4e5", 4) + "d00"
	text := "repository is locked by lock " + lock + " at /tmp/walk/mediaA/locks/" + lock + ": remove it with cadang unlock"
	for _, c := range []struct {
		size, w float64
	}{{pdfBody, 120}, {pdfBody, 100}, {pdfBody, 40}, {8, 25}, {6.5, 30}} {
		lines := p.wrap(text, "", c.size, c.w)
		var got []string
		for _, l := range lines {
			p.font("", l.size)
			if wd := p.GetStringWidth(l.text()); wd > c.w+0.01 {
				t.Errorf("size %v width %v: line %q is %.1f mm wide", c.size, c.w, l.text(), wd)
			}
			if l.size < min(c.size, 7) { // about 7 pt: readable on paper
				t.Errorf("size %v width %v: line %q printed at %.1f pt", c.size, c.w, l.text(), l.size)
			}
			got = append(got, l.words...)
		}
		// Nothing is lost: the pieces read back as the text.
		joined := strings.Join(got, " ")
		if strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(text, " ", "") {
			t.Errorf("size %v width %v: lines read %q", c.size, c.w, joined)
		}
		if c.w == 120 && len(lines) < 2 {
			t.Errorf("size %v width %v: %d line(s), want the long words broken", c.size, c.w, len(lines))
		}
	}
	// The path breaks after its slashes.
	lines := p.wrap("/tmp/walk/mediaA/locks/"+lock, "", pdfBody, 60)
	if len(lines) < 2 || !strings.HasSuffix(lines[0].text(), "/") || lines[0].size != pdfBody {
		t.Errorf("path broken as %q", lineTexts(lines))
	}
	// A word only a little too wide keeps its line, a little smaller.
	p.font("B", pdfBody)
	w := p.GetStringWidth("Pelaksana") * 0.95
	if lines := p.wrap("Pelaksana", "B", pdfBody, w); len(lines) != 1 || lines[0].size >= pdfBody || lines[0].size < 7 {
		t.Errorf("a word slightly too wide: %q", lineTexts(lines))
	}
}

func lineTexts(ls []textLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.text())
	}
	return out
}
