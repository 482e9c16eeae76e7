package doc

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// PDF layout, in millimetres (A4 portrait).
const (
	pdfMargin = 20.0
	pdfLine   = 5.0
	pdfFont   = "Helvetica"
)

// pdfDoc wraps fpdf with the text translation to the core fonts' code page
// (cp1252 covers Indonesian and English).
type pdfDoc struct {
	*fpdf.Fpdf
	tr     func(string) string
	width  float64 // usable width
	height float64 // page height
	nimg   int
}

// RenderPDF writes d as an A4 PDF with the standard Helvetica font.
func RenderPDF(w io.Writer, d *Document) error {
	orient := "P"
	if d.Landscape {
		orient = "L"
	}
	f := fpdf.New(orient, "mm", "A4", "")
	p := &pdfDoc{Fpdf: f, tr: f.UnicodeTranslatorFromDescriptor("")}
	pw, ph := f.GetPageSize()
	p.width, p.height = pw-2*pdfMargin, ph
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin)
	f.SetTitle(d.Title, true)
	f.SetCreator("cadang", true)
	f.SetProducer("cadang", true)
	if !d.Created.IsZero() {
		f.SetCreationDate(d.Created)
		f.SetModificationDate(d.Created)
	}
	f.AliasNbPages("{nb}")
	pageOf := d.PageOf
	if pageOf == "" {
		pageOf = "%d / %s"
	}
	f.SetFooterFunc(func() {
		f.SetY(-17)
		f.SetFont(pdfFont, "I", 7)
		f.MultiCell(p.width, 3.5, p.tr(d.Footer), "T", "L", false)
		f.CellFormat(p.width, 3.5, p.tr(fmt.Sprintf(pageOf, f.PageNo(), "{nb}")), "", 0, "R", false, 0, "")
	})
	f.AddPage()

	if d.Org != "" {
		f.SetFont(pdfFont, "B", 11)
		p.center(d.Org)
	}
	if d.Unit != "" {
		f.SetFont(pdfFont, "", 10)
		p.center(d.Unit)
	}
	if d.Org != "" || d.Unit != "" {
		y := f.GetY() + 1
		f.SetLineWidth(0.6)
		f.Line(pdfMargin, y, pdfMargin+p.width, y)
		f.SetLineWidth(0.2)
		f.Ln(4)
	}
	f.SetFont(pdfFont, "B", 14)
	p.center(d.Title)
	if d.Subtitle != "" {
		f.SetFont(pdfFont, "", 10)
		p.center(d.Subtitle)
	}
	f.Ln(3)
	p.fields(d.Meta)
	for _, bl := range d.Blocks {
		switch x := bl.(type) {
		case Heading:
			if f.GetY() > p.height-47 {
				f.AddPage()
			}
			f.Ln(2)
			f.SetFont(pdfFont, "B", 11)
			f.MultiCell(p.width, 6, p.tr(x.Text), "B", "L", false)
			f.Ln(1)
		case Paragraph:
			f.SetFont(pdfFont, "", 10)
			f.MultiCell(p.width, pdfLine, p.tr(x.Text), "", "J", false)
			f.Ln(2)
		case Fields:
			p.fields(x)
		case Table:
			p.table(x)
		case List:
			f.SetFont(pdfFont, "", 10)
			for _, it := range x {
				f.CellFormat(5, pdfLine, p.tr("-"), "", 0, "L", false, 0, "")
				f.MultiCell(p.width-5, pdfLine, p.tr(it), "", "L", false)
			}
			f.Ln(2)
		case Choice:
			f.SetFont(pdfFont, "B", 10)
			f.MultiCell(p.width, pdfLine, p.tr(x.Label+":"), "", "L", false)
			f.SetFont(pdfFont, "", 10)
			for i, o := range x.Options {
				y := f.GetY()
				f.Rect(pdfMargin+2, y+1, 3.2, 3.2, "D")
				if i < len(x.Ticked) && x.Ticked[i] {
					f.Line(pdfMargin+2, y+1, pdfMargin+5.2, y+4.2)
					f.Line(pdfMargin+2, y+4.2, pdfMargin+5.2, y+1)
				}
				f.SetX(pdfMargin + 8)
				f.MultiCell(p.width-8, pdfLine, p.tr(o), "", "L", false)
			}
			f.Ln(2)
		case Chart:
			p.chart(x)
		case Signatures:
			p.signatures(x)
		}
	}
	return f.Output(w)
}

func (p *pdfDoc) center(s string) {
	p.MultiCell(p.width, 6, p.tr(s), "", "C", false)
}

func (p *pdfDoc) fields(fs []Field) {
	if len(fs) == 0 {
		return
	}
	lw := p.width * 0.32
	for _, f := range fs {
		p.SetFont(pdfFont, "B", 10)
		label := p.SplitText(p.tr(f.Label), lw-2)
		p.SetFont(pdfFont, "", 10)
		v := f.Value
		if v == "" && !f.Blank {
			v = "-"
		}
		val := p.SplitText(p.tr(v), p.width-lw-4)
		n := max(len(label), len(val), 1)
		if p.GetY()+float64(n)*pdfLine > p.height-pdfMargin-8 {
			p.AddPage()
		}
		x, y := p.GetX(), p.GetY()
		p.SetFont(pdfFont, "B", 10)
		for i, l := range label {
			p.SetXY(x, y+float64(i)*pdfLine)
			p.CellFormat(lw, pdfLine, l, "", 0, "L", false, 0, "")
		}
		p.SetFont(pdfFont, "", 10)
		p.SetXY(x+lw, y)
		p.CellFormat(4, pdfLine, ":", "", 0, "L", false, 0, "")
		if f.Value == "" && f.Blank {
			p.SetDrawColor(80, 80, 80)
			p.Line(x+lw+4, y+pdfLine-0.5, x+p.width, y+pdfLine-0.5)
			p.SetDrawColor(0, 0, 0)
		}
		for i, l := range val {
			if f.Value == "" && f.Blank {
				break
			}
			p.SetXY(x+lw+4, y+float64(i)*pdfLine)
			p.CellFormat(p.width-lw-4, pdfLine, l, "", 0, "L", false, 0, "")
		}
		p.SetXY(x, y+float64(n)*pdfLine+0.8)
	}
	p.Ln(2)
}

func (p *pdfDoc) table(t Table) {
	n := len(t.Header)
	if n == 0 {
		return
	}
	widths := make([]float64, n)
	if len(t.Widths) == n {
		var sum float64
		for _, w := range t.Widths {
			sum += w
		}
		for i, w := range t.Widths {
			widths[i] = p.width * w / sum
		}
	} else {
		// proportional to the longest text, within bounds
		p.SetFont(pdfFont, "", 8)
		need := make([]float64, n)
		var sum float64
		for i := range need {
			need[i] = p.GetStringWidth(p.tr(t.Header[i])) + 4
			for _, r := range t.Rows {
				if i < len(r) {
					need[i] = max(need[i], min(p.GetStringWidth(p.tr(r[i]))+4, 70))
				}
			}
			sum += need[i]
		}
		for i := range widths {
			widths[i] = p.width * need[i] / sum
		}
	}
	const lh = 4
	row := func(cells []string, header bool) {
		style := ""
		if header {
			style = "B"
		}
		p.SetFont(pdfFont, style, 8)
		lines := make([][]string, n)
		h := 1
		for i := 0; i < n; i++ {
			v := ""
			if i < len(cells) {
				v = cells[i]
			}
			for _, part := range strings.Split(v, "\n") {
				lines[i] = append(lines[i], p.SplitText(p.tr(part), widths[i]-2)...)
			}
			h = max(h, len(lines[i]))
		}
		height := float64(h)*lh + 1.5
		if p.GetY()+height > p.height-pdfMargin-8 {
			p.AddPage()
		}
		x, y := pdfMargin, p.GetY()
		for i := 0; i < n; i++ {
			if header {
				p.SetFillColor(230, 230, 230)
				p.Rect(x, y, widths[i], height, "FD")
			} else {
				p.Rect(x, y, widths[i], height, "D")
			}
			for k, l := range lines[i] {
				p.SetXY(x+1, y+0.75+float64(k)*lh)
				p.CellFormat(widths[i]-2, lh, l, "", 0, "L", false, 0, "")
			}
			x += widths[i]
		}
		p.SetXY(pdfMargin, y+height)
	}
	row(t.Header, true)
	for _, r := range t.Rows {
		if p.GetY() > p.height-pdfMargin-20 {
			p.AddPage()
			row(t.Header, true)
		}
		row(r, false)
	}
	p.Ln(3)
}

func (p *pdfDoc) chart(c Chart) {
	if len(c.PNG) == 0 {
		return
	}
	p.nimg++
	name := fmt.Sprintf("chart%d", p.nimg)
	opt := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	info := p.RegisterImageOptionsReader(name, opt, bytes.NewReader(c.PNG))
	if info == nil || p.Err() {
		return
	}
	w := p.width
	h := w * info.Height() / info.Width()
	if p.GetY()+h+10 > p.height-pdfMargin-8 {
		p.AddPage()
	}
	p.SetFont(pdfFont, "B", 10)
	p.MultiCell(p.width, pdfLine, p.tr(c.Title), "", "C", false)
	p.ImageOptions(name, pdfMargin, p.GetY(), w, h, true, opt, 0, "")
	p.Ln(3)
}

func (p *pdfDoc) signatures(s Signatures) {
	perRow := 2
	if len(s.Signers) == 3 {
		perRow = 3
	}
	colW := p.width / float64(perRow)
	need := 42.0 * float64((len(s.Signers)+perRow-1)/perRow)
	if p.GetY()+need+8 > p.height-pdfMargin-8 {
		p.AddPage()
	}
	p.Ln(4)
	if s.PlaceDate != "" {
		p.SetFont(pdfFont, "", 10)
		p.MultiCell(p.width, pdfLine, p.tr(s.PlaceDate), "", "R", false)
		p.Ln(2)
	}
	for start := 0; start < len(s.Signers); start += perRow {
		y := p.GetY()
		end := min(start+perRow, len(s.Signers))
		for i := start; i < end; i++ {
			sg := s.Signers[i]
			x := pdfMargin + float64(i-start)*colW
			p.SetFont(pdfFont, "", 10)
			p.SetXY(x, y)
			p.MultiCell(colW, pdfLine, p.tr(sg.Role), "", "C", false)
			p.SetXY(x, y+25)
			if sg.Name == "" {
				p.Line(x+10, y+29, x+colW-10, y+29)
			} else {
				p.SetFont(pdfFont, "BU", 10)
				p.CellFormat(colW, pdfLine, p.tr(sg.Name), "", 0, "C", false, 0, "")
			}
			p.SetFont(pdfFont, "", 9)
			p.SetXY(x, y+30)
			t := sg.Title
			if sg.NIP != "" {
				t += "\nNIP " + sg.NIP
			}
			p.MultiCell(colW, 4.5, p.tr(t), "", "C", false)
		}
		p.SetXY(pdfMargin, y+42)
	}
}
