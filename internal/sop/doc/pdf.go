package doc

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"codeberg.org/go-pdf/fpdf"

	"github.com/lpse/cadang/internal/sop/fonts"
)

// PDF layout, in millimetres (A4).
const (
	pdfMarginP  = 20.0 // left and right margin, portrait
	pdfMarginL  = 14.0 // left and right margin, landscape: wide tables need the room
	pdfTop      = 14.0
	pdfLine     = 5.0  // line height of body text
	pdfBody     = 10.0 // body font size, points
	pdfFootSize = 6.5
	pdfFootLine = 2.8
)

// pdfDoc is one rendering of a Document: fpdf with the embedded DejaVu Sans
// (UTF-8, so that names in any script it covers print as written), and the
// layout state that decides page breaks. fpdf's automatic page break is off:
// every block measures itself first, so that no table header, heading or
// signature block is left alone at the foot of a page.
type pdfDoc struct {
	*fpdf.Fpdf
	margin float64 // left and right margin
	width  float64 // usable width
	pageH  float64
	bottom float64 // lowest y a block may reach (above the footer)
	nimg   int
}

// RenderPDF writes d as an A4 PDF with DejaVu Sans embedded.
func RenderPDF(w io.Writer, d *Document) error {
	logo, err := d.Letterhead.logo()
	if err != nil {
		return err
	}
	// Two passes: the first counts the pages, so that the footer can say
	// "page 1 of 3" with the real number rather than a placeholder whose
	// width differs from the number's.
	p, err := renderPDF(d, logo, 0)
	if err != nil {
		return err
	}
	if p, err = renderPDF(d, logo, p.PageCount()); err != nil {
		return err
	}
	return p.Output(w)
}

func renderPDF(d *Document, logo []byte, pages int) (*pdfDoc, error) {
	orient, margin := "P", pdfMarginP
	if d.Landscape {
		orient, margin = "L", pdfMarginL
	}
	f := fpdf.New(orient, "mm", "A4", "")
	f.AddUTF8FontFromBytes(fonts.Family, "", fonts.Regular())
	f.AddUTF8FontFromBytes(fonts.Family, "B", fonts.Bold())
	pw, ph := f.GetPageSize()
	p := &pdfDoc{Fpdf: f, margin: margin, width: pw - 2*margin, pageH: ph}
	f.SetMargins(margin, pdfTop, margin)
	f.SetCellMargin(0)
	f.SetAutoPageBreak(false, 0)
	f.SetTitle(d.Title, true)
	f.SetCreator("cadang", true)
	f.SetProducer("cadang", true)
	if d.Lang != "" {
		f.SetLang(d.Lang)
	}
	if !d.Created.IsZero() {
		f.SetCreationDate(d.Created)
		f.SetModificationDate(d.Created)
	}
	foot := p.wrap(d.Footer, "", pdfFootSize, p.width)
	footH := float64(len(foot))*pdfFootLine + 4
	p.bottom = ph - 8 - footH - 3
	f.SetFooterFunc(func() { p.footer(d, foot, pages) })
	f.AddPage()
	if err := p.top(d, logo); err != nil {
		return nil, err
	}
	tails := p.tails(d.Blocks)
	for i, bl := range d.Blocks {
		var next Block
		if i+1 < len(d.Blocks) {
			next = d.Blocks[i+1]
		}
		var nextTail float64
		if i+1 < len(tails) {
			nextTail = tails[i+1]
		}
		p.block(bl, next, tails[i], nextTail)
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return p, nil
}

// tails gives each block the height of what must follow it on its page: a
// signature block stays with the end of the block before it, and a short
// closing paragraph before the signatures ("Demikian berita acara ini
// dibuat...") goes with them, so the block before the paragraph keeps its
// end with both.
func (p *pdfDoc) tails(blocks []Block) []float64 {
	tails := make([]float64, len(blocks))
	intro := make([]bool, len(blocks)) // a paragraph's tail is its table's start
	for i := len(blocks) - 2; i >= 0; i-- {
		switch x := blocks[i+1].(type) {
		case Signatures:
			tails[i] = p.sigHeight(x)
		case Paragraph:
			if tails[i+1] > 0 && !intro[i+1] {
				if n := len(p.wrap(x.Text, "", pdfBody, p.width)); n <= 3 {
					tails[i] = tails[i+1] + float64(n)*pdfLine + 2
				}
			}
		case Table:
			// A short paragraph that introduces a table keeps with its
			// header and first rows, as a heading does.
			if para, ok := blocks[i].(Paragraph); ok && len(p.wrap(para.Text, "", pdfBody, p.width)) <= 3 {
				tails[i], intro[i] = p.lead(x, 0, 0), true
			}
		}
	}
	return tails
}

// block prints bl; tail is what must follow it on its page (tails), and
// nextTail the same for next, which a heading keeps with.
func (p *pdfDoc) block(bl, next Block, tail, nextTail float64) {
	switch x := bl.(type) {
	case Heading:
		p.heading(x, next, nextTail)
	case Paragraph:
		p.paragraph(x.Text, tail)
	case Fields:
		p.fields(x, tail)
	case Table:
		p.table(x, tail)
	case List:
		p.list(x, tail)
	case Choice:
		p.choice(x)
	case Chart:
		p.chart(x)
	case Signatures:
		p.signatures(x)
	}
}

// font selects the document's typeface; style is "" or "B" (and "U" to
// underline).
func (p *pdfDoc) font(style string, size float64) { p.SetFont(fonts.Family, style, size) }

// room reports whether h more millimetres fit on the page, and starts a new
// page when they do not.
func (p *pdfDoc) room(h float64) {
	if p.GetY()+h > p.bottom {
		p.AddPage()
	}
}

// capacity is the height a block may fill on a fresh page.
func (p *pdfDoc) capacity() float64 { return p.bottom - pdfTop }

func (p *pdfDoc) footer(d *Document, lines []textLine, pages int) {
	y := p.pageH - 8 - float64(len(lines))*pdfFootLine - 4
	p.SetDrawColor(120, 120, 120)
	p.Line(p.margin, y, p.margin+p.width, y)
	p.SetDrawColor(0, 0, 0)
	for i, l := range lines {
		p.drawLine(l, p.margin, y+0.5+float64(i)*pdfFootLine, p.width, pdfFootLine, "", "L", false)
	}
	pageOf := d.PageOf
	if pageOf == "" {
		pageOf = "%d / %s"
	}
	total := "-"
	if pages > 0 {
		total = strconv.Itoa(pages)
	}
	p.font("", pdfFootSize+0.5)
	p.SetXY(p.margin, y+0.5+float64(len(lines))*pdfFootLine)
	num := fmt.Sprintf(pageOf, p.PageNo(), total)
	if d.Ref != "" {
		p.CellFormat(p.width-p.GetStringWidth(num)-4, 3.5, d.Ref, "", 0, "L", false, 0, "")
		p.SetXY(p.margin, y+0.5+float64(len(lines))*pdfFootLine)
	}
	p.CellFormat(p.width, 3.5, num, "", 0, "R", false, 0, "")
}

// top prints the letterhead (or the organisation), the title and the
// document's fields.
func (p *pdfDoc) top(d *Document, logo []byte) error {
	if d.Letterhead.IsZero() {
		p.orgHeader(d.Org, d.Unit)
	} else if err := p.letterhead(d.Letterhead, logo); err != nil {
		return err
	}
	p.font("B", 14)
	p.centered(d.Title, "B", 14, 6.5)
	if d.Subtitle != "" {
		p.centered(d.Subtitle, "", pdfBody, pdfLine)
	}
	p.Ln(3)
	p.fields(d.Meta, 0)
	return nil
}

func (p *pdfDoc) orgHeader(org, unit string) {
	if org != "" {
		p.centered(org, "B", 11, 6)
	}
	if unit != "" {
		p.centered(unit, "", pdfBody, pdfLine)
	}
	if org != "" || unit != "" {
		y := p.GetY() + 1
		p.SetLineWidth(0.6)
		p.Line(p.margin, y, p.margin+p.width, y)
		p.SetLineWidth(0.2)
		p.SetY(y + 4)
	}
}

// letterhead prints the kop surat: the logo at the left, the agency's lines
// centred on the page, and the double rule under them.
func (p *pdfDoc) letterhead(lh Letterhead, logo []byte) error {
	y0 := p.GetY()
	const logoH = 24.0
	bottom := y0
	if len(logo) > 0 {
		opt := fpdf.ImageOptions{ImageType: lh.logoType()}
		info := p.RegisterImageOptionsReader("letterhead", opt, bytes.NewReader(logo))
		if info == nil || p.Err() {
			return fmt.Errorf("letterhead logo %s: %w", lh.Logo, p.Error())
		}
		w := min(logoH*info.Width()/info.Height(), 32)
		p.ImageOptions("letterhead", p.margin, y0, w, w*info.Height()/info.Width(), false, opt, 0, "")
		bottom = y0 + w*info.Height()/info.Width()
	}
	y := y0
	for i, s := range lh.Lines {
		style, size, h := letterheadStyle(i, len(lh.Lines))
		p.SetY(y)
		p.centered(s, style, size, h)
		y = p.GetY()
	}
	y = max(y, bottom) + 1.5
	p.SetLineWidth(0.8)
	p.Line(p.margin, y, p.margin+p.width, y)
	p.SetLineWidth(0.2)
	p.Line(p.margin, y+1.1, p.margin+p.width, y+1.1)
	p.SetY(y + 5)
	return nil
}

// letterheadStyle follows the usual kop surat: the government on top, the
// agency in larger bold, and the last of three or more lines (the address)
// in small regular type.
func letterheadStyle(i, n int) (style string, size, h float64) {
	switch {
	case n >= 3 && i == n-1:
		return "", 8.5, 4
	case i == 0:
		return "B", 12, 5.5
	}
	return "B", 13.5, 6
}

// centered prints s centred on the page, wrapped at spaces.
func (p *pdfDoc) centered(s, style string, size, lh float64) {
	for _, l := range p.wrap(s, style, size, p.width) {
		p.room(lh)
		y := p.GetY()
		p.drawLine(l, p.margin, y, p.width, lh, style, "C", false)
		p.SetY(y + lh)
	}
}

// lead is the height of the start of b that must share a page with the
// heading above it, whose height is above.
func (p *pdfDoc) lead(b Block, tail, above float64) float64 {
	switch x := b.(type) {
	case Paragraph:
		n := len(p.wrap(x.Text, "", pdfBody, p.width))
		if tail > 0 && n <= 3 {
			return float64(n)*pdfLine + 2 + tail // the whole paragraph, with what it keeps with
		}
		return float64(min(2, n)) * pdfLine
	case Fields:
		if len(x) > 0 {
			// The whole block, where it goes with the signatures after
			// it (keepStart 0): the heading goes with it.
			hs := make([]float64, len(x))
			for i, f := range x {
				hs[i] = p.fieldHeight(f)
			}
			return p.keepHeight(hs, 0, tail, 2, above)
		}
	case Table:
		t := p.layoutTable(x)
		h := t.headerH
		if len(t.heights) > 0 {
			h += p.keepHeight(t.heights, 0, tail, 3, above+h) // as table() keeps it
		}
		return h
	case List:
		if len(x) > 0 {
			return float64(len(p.wrap(x[0], "", pdfBody, p.width-5))) * pdfLine
		}
	case Choice:
		return 2 * pdfLine
	case Chart:
		return p.chartHeight(x)
	case Signatures:
		return p.sigHeight(x)
	}
	return pdfLine
}

func (p *pdfDoc) heading(h Heading, next Block, nextTail float64) {
	lines := p.wrap(h.Text, "B", 11, p.width)
	height := float64(len(lines))*6 + 3
	lead := p.lead(next, nextTail, height)
	if lead < p.capacity()-height {
		p.room(height + lead)
	}
	p.Ln(2)
	for _, l := range lines {
		y := p.GetY()
		p.drawLine(l, p.margin, y, p.width, 6, "B", "L", false)
		p.SetY(y + 6)
	}
	y := p.GetY()
	p.Line(p.margin, y, p.margin+p.width, y)
	p.SetY(y + 1)
}

// paragraph prints justified text; a paragraph followed by a signature
// block (tail) moves to the next page with it rather than leave the
// signatures alone there.
func (p *pdfDoc) paragraph(s string, tail float64) {
	lines := p.wrap(s, "", pdfBody, p.width)
	h := float64(len(lines))*pdfLine + 2
	if tail > 0 && h+tail < p.capacity() {
		p.room(h + tail)
	}
	for k, l := range lines {
		p.keepTail(k, lines, pdfLine, 2, tail)
		p.room(pdfLine)
		y := p.GetY()
		p.drawLine(l, p.margin, y, p.width, pdfLine, "", "L", true)
		p.SetY(y + pdfLine)
	}
	p.Ln(2)
}

// list prints a bulleted list; the last items of a list followed by a
// signature block (tail) move to the next page with it rather than leave
// the signatures alone there.
func (p *pdfDoc) list(items List, tail float64) {
	hs := make([]float64, len(items))
	for i, it := range items {
		hs[i] = float64(len(p.wrap(it, "", pdfBody, p.width-5))) * pdfLine
	}
	for k, it := range items {
		p.room(p.keepHeight(hs, k, tail, 2, 0))
		lines := p.wrap(it, "", pdfBody, p.width-5)
		for i, l := range lines {
			if k == len(items)-1 {
				p.keepTail(i, lines, pdfLine, 2, tail)
			}
			p.room(pdfLine)
			y := p.GetY()
			if i == 0 {
				p.font("", pdfBody)
				p.SetXY(p.margin, y)
				p.CellFormat(5, pdfLine, "–", "", 0, "L", false, 0, "")
			}
			p.drawLine(l, p.margin+5, y, p.width-5, pdfLine, "", "L", false)
			p.SetY(y + pdfLine)
		}
	}
	p.Ln(2)
}

func (p *pdfDoc) choice(c Choice) {
	label := p.wrap(c.Label+":", "B", pdfBody, p.width)
	p.room(float64(len(label)+1) * pdfLine)
	for _, l := range label {
		y := p.GetY()
		p.drawLine(l, p.margin, y, p.width, pdfLine, "B", "L", false)
		p.SetY(y + pdfLine)
	}
	for i, o := range c.Options {
		lines := p.wrap(o, "", pdfBody, p.width-8)
		p.room(float64(len(lines)) * pdfLine)
		y := p.GetY()
		p.Rect(p.margin+2, y+1, 3.2, 3.2, "D")
		if i < len(c.Ticked) && c.Ticked[i] {
			p.Line(p.margin+2, y+1, p.margin+5.2, y+4.2)
			p.Line(p.margin+2, y+4.2, p.margin+5.2, y+1)
		}
		for k, l := range lines {
			p.drawLine(l, p.margin+8, y+float64(k)*pdfLine, p.width-8, pdfLine, "", "L", false)
		}
		p.SetY(y + float64(len(lines))*pdfLine)
	}
	p.Ln(2)
}

func (p *pdfDoc) chartHeight(c Chart) float64 {
	cfg, _, err := imageConfig(c.PNG)
	if err != nil || cfg.Width == 0 {
		return 0
	}
	return p.width*float64(cfg.Height)/float64(cfg.Width) + pdfLine + 3
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
	p.room(h + pdfLine + 3)
	p.centered(c.Title, "B", pdfBody, pdfLine)
	p.ImageOptions(name, p.margin, p.GetY(), w, h, true, opt, 0, "")
	p.Ln(3)
}
