// Package doc is the document model of the SOP records and its three
// renderings: Markdown, HTML and PDF. Reports build one Document; each
// renderer prints every block, so the three formats say the same thing.
package doc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Format is an output format.
type Format string

// The formats.
const (
	Markdown Format = "md"
	HTML     Format = "html"
	PDF      Format = "pdf"
)

// ParseFormat parses md, html or pdf.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "md", "markdown":
		return Markdown, nil
	case "html", "htm":
		return HTML, nil
	case "pdf":
		return PDF, nil
	}
	return "", fmt.Errorf("unknown format %q (want md, html or pdf)", s)
}

// Document is one SOP record.
type Document struct {
	Lang     string // "id" or "en", for HTML
	Org      string // issuing office, printed above the title
	Unit     string
	Title    string
	Subtitle string
	Meta     []Field // document number, date, period...
	Blocks   []Block
	Footer   string // printed at the end (and on every PDF page)
	// PageOf formats the PDF page number, e.g. "Halaman %d dari %s".
	PageOf string
	// Ref identifies the document on every PDF page, left of the page
	// number (e.g. the minutes' title and number), so that no page of a
	// signed record can be taken for another document's.
	Ref     string
	Created time.Time
	// Landscape prints the PDF in landscape, for wide tables.
	Landscape bool
	// Letterhead is the kop surat printed instead of Org and Unit; zero:
	// none.
	Letterhead Letterhead
}

// Letterhead is the heading of an agency's official paper (kop surat): a
// logo at the left and the agency's lines, e.g. "PEMERINTAH PROVINSI
// GORONTALO", "LAYANAN PENGADAAN SECARA ELEKTRONIK", the address.
type Letterhead struct {
	Logo  string // path of a PNG or JPEG image; empty: no logo
	Lines []string
}

// IsZero reports whether there is no letterhead.
func (l Letterhead) IsZero() bool { return l.Logo == "" && len(l.Lines) == 0 }

// logo reads the logo image, if any.
func (l Letterhead) logo() ([]byte, error) {
	if l.Logo == "" {
		return nil, nil
	}
	b, err := os.ReadFile(l.Logo)
	if err != nil {
		return nil, fmt.Errorf("letterhead logo: %w", err)
	}
	if _, _, err := imageConfig(b); err != nil {
		return nil, fmt.Errorf("letterhead logo %s: not a PNG or JPEG image: %w", l.Logo, err)
	}
	return b, nil
}

// logoType is the image type of the logo for fpdf and for HTML.
func (l Letterhead) logoType() string {
	switch strings.ToLower(filepath.Ext(l.Logo)) {
	case ".jpg", ".jpeg":
		return "JPG"
	}
	return "PNG"
}

// Block is a part of a document.
type Block interface{ block() }

// Heading starts a section.
type Heading struct{ Text string }

// Paragraph is running text.
type Paragraph struct{ Text string }

// Field is a label and a value; an empty value with Blank prints a line to
// fill in by hand.
type Field struct {
	Label, Value string
	Blank        bool
}

// Fields is a list of labelled values.
type Fields []Field

// Table is a table. Widths are relative column widths, a hint that no
// renderer needs: the PDF fits the columns to their content. MaxLines, per
// column (0 or missing: no bound), bounds the lines of a cell in the PDF: a
// longer text ends in an ellipsis, so that one long follow-up cannot make a
// row a page tall.
type Table struct {
	Header   []string
	Rows     [][]string
	Widths   []float64
	MaxLines []int
}

// List is a bulleted list.
type List []string

// Choice is a list of options with some ticked, for forms.
type Choice struct {
	Label   string
	Options []string
	Ticked  []bool
}

// Chart is a picture with a text fallback for Markdown.
type Chart struct {
	Title string
	PNG   []byte
	Alt   []string // text rendering, one line each
}

// Signer is one signature block.
type Signer struct {
	Role  string // "Pemohon", "Pelaksana", "Mengetahui, Kepala LPSE"...
	Name  string // empty: a line to fill in
	Title string
	NIP   string
}

// Signatures is a row of signature blocks, with place and date above.
type Signatures struct {
	PlaceDate string
	Signers   []Signer
}

func (Heading) block()    {}
func (Paragraph) block()  {}
func (Fields) block()     {}
func (Table) block()      {}
func (List) block()       {}
func (Choice) block()     {}
func (Chart) block()      {}
func (Signatures) block() {}

// Render writes d in format f.
func Render(w io.Writer, d *Document, f Format) error {
	switch f {
	case Markdown:
		return RenderMarkdown(w, d)
	case HTML:
		return RenderHTML(w, d)
	case PDF:
		return RenderPDF(w, d)
	}
	return fmt.Errorf("unknown format %q", f)
}

const blankLine = "______________________________"
