package doc

import (
	"math"
	"sort"
	"strings"
)

// keepLast is how many rows (or fields) of the block before a signature
// block move to the next page with it, so the signatures never stand alone.
const keepLast = 2

// keepStart is the first of the items of an n-item block that move to the
// next page with the signatures after it: the last keepLast, or all of
// them where only one would stay behind (a section's result alone at the
// foot of a page, its verification on the next).
func keepStart(n int) int {
	k := n - min(keepLast, n)
	if k == 1 {
		k = 0
	}
	return k
}

// keepHeight is the height that must fit before printing item i of a block
// whose items have the heights hs, above being what is printed before it
// on the page with it (a heading, a table's header): the item alone, or,
// for the first of the items that keep with signatures after the block
// (tail, keepStart), every item from it to the end and the signatures,
// when that fits a page at all. The signatures never stand on a page
// without the last items of the section before them: a page of a Berita
// Acara with the closing sentence and the signatures alone, none of the
// facts they sign, could be detached from the rest.
//
// Where they do not fit a page together, the last item alone goes with the
// signatures if it fits a page with them; a longer last item keeps its
// last lines with them instead (keepLines).
func (p *pdfDoc) keepHeight(hs []float64, i int, tail, extra, above float64) float64 {
	if tail <= 0 || (i != keepStart(len(hs)) && i != len(hs)-1) {
		return hs[i]
	}
	sum := extra + tail
	for _, h := range hs[i:] {
		sum += h
	}
	if sum > p.capacity()-above {
		return hs[i] // kept together they fit no page
	}
	return sum
}

// keepLines is how many of the last lines of a block too long to move to
// the page of the signatures after it go there with them: a failed
// restore's twenty error lines ended at the foot of a page, and the
// closing sentence and the signatures stood alone on the next (issue D3).
const keepLines = 3

// keepTail makes room, before line k of the lines of the last item of a
// block followed by signatures (tail), for the rest of the item, extra
// (what follows it in the block) and the signatures: from the start of
// the line of the text (lines broken at a newline, not at the width) that
// holds the keepLines-th last line, so that no half of a wrapped line goes
// with them.
func (p *pdfDoc) keepTail(k int, lines []textLine, lh, extra, tail float64) {
	if tail <= 0 || k == 0 || k != tailStart(lines) {
		return
	}
	if h := float64(len(lines)-k)*lh + extra + tail; h < p.capacity() {
		p.room(h)
	}
}

// lineLen is how many of lines make the first line of the text they are
// of, as wrap broke it (up to a few: a paragraph goes on across pages).
func lineLen(lines []textLine) int {
	for i, l := range lines {
		if l.last || i == keepLines-1 {
			return i + 1
		}
	}
	return len(lines)
}

// tailStart is the first of the lines that keepTail keeps with the
// signatures.
func tailStart(lines []textLine) int {
	k := len(lines) - min(keepLines, len(lines))
	for k > 0 && !lines[k-1].last {
		k--
	}
	return k
}

// Fields: label in bold, a colon, the value; the label takes a third of the
// width.
func (p *pdfDoc) fieldCols() (lw, vw float64) {
	lw = p.width * 0.32
	return lw, p.width - lw - 4
}

func (p *pdfDoc) fieldLines(f Field) (label, val []textLine) {
	lw, vw := p.fieldCols()
	label = p.wrap(f.Label, "B", pdfBody, lw-2)
	v := f.Value
	if v == "" && !f.Blank {
		v = "-"
	}
	return label, p.wrap(v, "", pdfBody, vw)
}

func (p *pdfDoc) fieldHeight(f Field) float64 {
	label, val := p.fieldLines(f)
	return float64(max(len(label), len(val), 1))*pdfLine + 0.8
}

func (p *pdfDoc) fields(fs []Field, tail float64) {
	if len(fs) == 0 {
		return
	}
	hs := make([]float64, len(fs))
	for i, f := range fs {
		hs[i] = p.fieldHeight(f)
	}
	lw, vw := p.fieldCols()
	for i, f := range fs {
		need := max(p.keepHeight(hs, i, tail, 2, 0), p.withContinuation(fs, hs, i))
		if i == len(fs)-1 && tail > 0 && hs[i]+2+tail >= p.capacity() {
			// The last field is split whatever page it starts on, its
			// last lines going with the signatures (keepTail): it
			// starts here, not on a page of its own after a half-empty
			// one.
			need = min(hs[i], keepLines*pdfLine)
		}
		p.room(need)
		label, val := p.fieldLines(f)
		blank := f.Value == "" && f.Blank
		n := max(len(label), len(val), 1)
		for k := 0; k < n; k++ {
			// A field longer than a page continues on the next.
			if i == len(fs)-1 && len(val) == n {
				p.keepTail(k, val, pdfLine, 0.8+2, tail)
			}
			// A line of the value that wraps (an error with its path)
			// is not split across pages.
			if k < len(val) && (k == 0 || val[k-1].last) {
				p.room(float64(lineLen(val[k:])) * pdfLine)
			}
			p.room(pdfLine)
			y := p.GetY()
			if k < len(label) {
				p.drawLine(label[k], p.margin, y, lw, pdfLine, "B", "L", false)
			}
			if k == 0 {
				p.font("", pdfBody)
				p.SetXY(p.margin+lw, y)
				p.CellFormat(4, pdfLine, ":", "", 0, "L", false, 0, "")
				if blank {
					p.SetDrawColor(80, 80, 80)
					p.Line(p.margin+lw+4, y+pdfLine-0.5, p.margin+p.width, y+pdfLine-0.5)
					p.SetDrawColor(0, 0, 0)
				}
			}
			if k < len(val) && !blank {
				p.drawLine(val[k], p.margin+lw+4, y, vw, pdfLine, "", "L", false)
			}
			p.SetY(y + pdfLine)
		}
		p.SetY(p.GetY() + 0.8)
	}
	p.Ln(2)
}

// withContinuation is the height of field i and of the unlabelled fields
// after it, which continue it (the blank lines to write a failure's cause
// on): they go on one page, where they fit one, so that the label is never
// left at the foot of a page with its lines on the next.
func (p *pdfDoc) withContinuation(fs []Field, hs []float64, i int) float64 {
	if fs[i].Label == "" {
		return hs[i]
	}
	h := hs[i]
	for j := i + 1; j < len(fs) && fs[j].Label == ""; j++ {
		h += hs[j]
	}
	if h >= p.capacity() {
		return hs[i]
	}
	return h
}

// tableLayout is a table measured for the page: its column widths and font
// size, and every cell broken into lines.
type tableLayout struct {
	widths  []float64
	size    float64
	lh      float64
	header  [][]textLine
	headerH float64
	rows    [][][]textLine
	heights []float64
}

const (
	cellPad     = 1.0 // left and right padding of a cell
	slack       = 0.3 // added to measured widths against rounding
	maxColShare = 0.4 // the most of the width a column's words may ask for
	cellPadV    = 0.7 // top and bottom padding
	tableSize   = 8.0 // the font size tables start from
	tableMinFit = 6.5 // the smallest size tried
)

// layoutTable fits the columns to their content: every word fits its column
// unbroken where that is possible at all (in a smaller size if need be), the
// usual cell of a column fits on one line, and what is left goes to the
// columns with long texts. Table.Widths are not used: fixed proportions
// broke words ("Pelaks ana") in narrow columns.
func (p *pdfDoc) layoutTable(t Table) tableLayout {
	n := len(t.Header)
	widths, size := p.columnWidths(t)
	l := tableLayout{widths: widths, size: size, lh: size * 0.4233}
	cell := func(cells []string, i int, style string) []textLine {
		v := ""
		if i < len(cells) {
			v = cells[i]
		}
		lines := p.wrap(v, style, size, widths[i]-2*cellPad)
		if i < len(t.MaxLines) {
			lines = p.truncate(lines, t.MaxLines[i], style, widths[i]-2*cellPad)
		}
		return lines
	}
	height := func(cells [][]textLine) float64 {
		m := 1
		for _, c := range cells {
			m = max(m, len(c))
		}
		return float64(m)*l.lh + 2*cellPadV
	}
	l.header = make([][]textLine, n)
	for i := range n {
		l.header[i] = cell(t.Header, i, "B")
	}
	l.headerH = height(l.header)
	for _, r := range t.Rows {
		cells := make([][]textLine, n)
		for i := range n {
			cells[i] = cell(r, i, "")
		}
		l.rows = append(l.rows, cells)
		l.heights = append(l.heights, height(cells))
	}
	return l
}

// colMetrics are the widths a column asks for at one font size.
type colMetrics struct {
	min []float64 // its longest word
	typ []float64 // its usual cell on one line
	nat []float64 // its longest cell on one line
}

// columnWidths chooses the font size and the column widths: the largest
// size at which the usual cells fit on one line with a tenth of the width
// left for the long texts (so ordinary rows are one line high and the long
// ones not too tall), or else the largest at which the usual cells fit, or
// else the largest at which every word fits unbroken, or else the smallest
// size with the words shrunk in their cells.
func (p *pdfDoc) columnWidths(t Table) ([]float64, float64) {
	var ms []colMetrics
	var sizes []float64
	for size := tableSize; size >= tableMinFit-0.01; size -= 0.5 {
		ms = append(ms, p.columnMetrics(t, size))
		sizes = append(sizes, size)
	}
	for _, limit := range []float64{0.9 * p.width, p.width} {
		for k, m := range ms {
			if sum(m.typ) > limit {
				continue
			}
			w := make([]float64, len(m.typ))
			if s := sum(m.nat); s <= p.width {
				for i := range w {
					w[i] = m.nat[i] + (p.width-s)*m.nat[i]/s
				}
			} else {
				spread(w, m.typ, m.nat, p.width-sum(m.typ))
			}
			return w, sizes[k]
		}
	}
	for k, m := range ms {
		if sum(m.min) <= p.width {
			w := make([]float64, len(m.min))
			spread(w, m.min, m.typ, p.width-sum(m.min))
			return w, sizes[k]
		}
	}
	m := ms[len(ms)-1]
	w := make([]float64, len(m.min))
	for i := range w {
		w[i] = m.min[i] * p.width / sum(m.min)
	}
	return w, tableMinFit
}

func (p *pdfDoc) columnMetrics(t Table, size float64) colMetrics {
	n := len(t.Header)
	m := colMetrics{min: make([]float64, n), typ: make([]float64, n), nat: make([]float64, n)}
	for i := range n {
		var body []float64
		measure := func(s, style string, header bool) {
			p.font(style, size)
			for _, para := range strings.Split(s, "\n") {
				for _, wd := range strings.Fields(para) {
					m.min[i] = max(m.min[i], p.GetStringWidth(wd)+2*cellPad+slack)
				}
				w := p.GetStringWidth(strings.Join(strings.Fields(para), " ")) + 2*cellPad + slack
				m.nat[i] = max(m.nat[i], w)
				if !header {
					body = append(body, w)
				}
			}
		}
		measure(t.Header[i], "B", true)
		for _, r := range t.Rows {
			if i < len(r) {
				measure(r[i], "", false)
			}
		}
		// One long path must not take the page: a longer word shrinks in
		// its cell instead.
		m.min[i] = min(m.min[i], p.width*maxColShare)
		m.typ[i] = max(m.min[i], min(percentile(body, 0.85), p.width*maxColShare))
		m.nat[i] = max(m.nat[i], m.typ[i])
	}
	return m
}

// spread sets w to base plus the room left, shared by the columns that
// lack some of want, by the square root of what they lack: the column of
// long texts gets the most, but a column of middling texts (results with
// their kind of failure) is not starved by it. No column gets more than it
// wants while another still lacks.
func spread(w, base, want []float64, room float64) {
	copy(w, base)
	for range 8 {
		var weight float64
		for i := range w {
			if lack := want[i] - w[i]; lack > 0.01 {
				weight += math.Sqrt(lack)
			}
		}
		if weight == 0 || room < 0.01 {
			break
		}
		left := room
		for i := range w {
			if lack := want[i] - w[i]; lack > 0.01 {
				add := min(room*math.Sqrt(lack)/weight, lack)
				w[i] += add
				left -= add
			}
		}
		room = left
	}
	// What no column wants is shared evenly.
	for i := range w {
		w[i] += room / float64(len(w))
	}
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))]
}

// table prints t, its header repeated at the top of every page, the header
// never alone at the foot of a page, and the last rows kept with a
// signature block that follows (tail).
func (p *pdfDoc) table(t Table, tail float64) {
	if len(t.Header) == 0 {
		return
	}
	l := p.layoutTable(t)
	first := 0.0
	if len(l.heights) > 0 {
		// The first row, or every row where they all go with the
		// signatures after the table (keepStart): the header goes
		// with them, not alone at the foot of the page.
		first = p.keepHeight(l.heights, 0, tail, 3, l.headerH)
	}
	p.room(l.headerH + first)
	p.tableRow(l, l.header, l.headerH, true)
	for i, cells := range l.rows {
		if p.GetY()+p.keepHeight(l.heights, i, tail, 3, 0) > p.bottom {
			p.AddPage()
			p.tableRow(l, l.header, l.headerH, true)
		}
		p.tableRow(l, cells, l.heights[i], false)
	}
	p.Ln(3)
}

func (p *pdfDoc) tableRow(l tableLayout, cells [][]textLine, h float64, header bool) {
	x, y := p.margin, p.GetY()
	style := ""
	if header {
		style = "B"
		p.SetFillColor(230, 230, 230)
	}
	for i, lines := range cells {
		if header {
			p.Rect(x, y, l.widths[i], h, "FD")
		} else {
			p.Rect(x, y, l.widths[i], h, "D")
		}
		for k, ln := range lines {
			p.drawLine(ln, x+cellPad, y+cellPadV+float64(k)*l.lh, l.widths[i]-2*cellPad, l.lh, style, "L", false)
		}
		x += l.widths[i]
	}
	p.SetXY(p.margin, y+h)
}

// Signatures: place and date on the right, then the signers side by side,
// two (or three) to a row.
const (
	sigSpace = 15.0 // room to sign: enough for a signature, and short restore minutes keep theirs on one page
	sigTitle = 4.2  // line height of the title under the name
)

func (p *pdfDoc) sigLayout(s Signatures) (perRow int, colW float64) {
	perRow = 2
	if len(s.Signers) == 3 {
		perRow = 3
	}
	return perRow, p.width / float64(perRow)
}

func (p *pdfDoc) signerLines(sg Signer, colW float64) (role, title []textLine) {
	t := sg.Title
	if sg.NIP != "" {
		t += "\nNIP " + sg.NIP
	}
	return p.wrap(sg.Role, "", pdfBody, colW-4), p.wrap(t, "", 9, colW-4)
}

func (p *pdfDoc) sigRowHeight(signers []Signer, colW float64) (roleH, rowH float64) {
	var titleH float64
	for _, sg := range signers {
		role, title := p.signerLines(sg, colW)
		roleH = max(roleH, float64(len(role))*pdfLine)
		if strings.TrimSpace(sg.Title+sg.NIP) != "" {
			titleH = max(titleH, float64(len(title))*sigTitle)
		}
	}
	return roleH, roleH + sigSpace + pdfLine + titleH + 3
}

func (p *pdfDoc) sigHeight(s Signatures) float64 {
	perRow, colW := p.sigLayout(s)
	h := 4.0
	if s.PlaceDate != "" {
		h += float64(len(p.wrap(s.PlaceDate, "", pdfBody, p.width)))*pdfLine + 2
	}
	for start := 0; start < len(s.Signers); start += perRow {
		_, rh := p.sigRowHeight(s.Signers[start:min(start+perRow, len(s.Signers))], colW)
		h += rh
	}
	return h
}

func (p *pdfDoc) signatures(s Signatures) {
	perRow, colW := p.sigLayout(s)
	p.room(p.sigHeight(s))
	p.Ln(4)
	if s.PlaceDate != "" {
		for _, l := range p.wrap(s.PlaceDate, "", pdfBody, p.width) {
			y := p.GetY()
			p.drawLine(l, p.margin, y, p.width, pdfLine, "", "R", false)
			p.SetY(y + pdfLine)
		}
		p.Ln(2)
	}
	for start := 0; start < len(s.Signers); start += perRow {
		row := s.Signers[start:min(start+perRow, len(s.Signers))]
		roleH, rowH := p.sigRowHeight(row, colW)
		y := p.GetY()
		for i, sg := range row {
			x := p.margin + float64(i)*colW
			role, title := p.signerLines(sg, colW)
			for k, l := range role {
				p.drawLine(l, x+2, y+float64(k)*pdfLine, colW-4, pdfLine, "", "C", false)
			}
			ny := y + roleH + sigSpace
			if sg.Name == "" {
				p.Line(x+10, ny+pdfLine-0.5, x+colW-10, ny+pdfLine-0.5)
			} else {
				for _, l := range p.wrap(sg.Name, "B", pdfBody, colW-4)[:1] {
					p.drawLine(l, x+2, ny, colW-4, pdfLine, "BU", "C", false)
				}
			}
			if strings.TrimSpace(sg.Title+sg.NIP) != "" {
				for k, l := range title {
					p.drawLine(l, x+2, ny+pdfLine+float64(k)*sigTitle, colW-4, sigTitle, "", "C", false)
				}
			}
		}
		p.SetXY(p.margin, y+rowH)
	}
}
