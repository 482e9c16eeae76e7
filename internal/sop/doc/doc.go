// Package doc is the document model of the SOP records and its three
// renderings: Markdown, HTML and PDF. Reports build one Document; each
// renderer prints every block, so the three formats say the same thing.
package doc

import (
	"fmt"
	"io"
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
	PageOf  string
	Created time.Time
	// Landscape prints the PDF in landscape, for wide tables.
	Landscape bool
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

// Table is a table; Widths are relative column widths (optional).
type Table struct {
	Header []string
	Rows   [][]string
	Widths []float64
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
