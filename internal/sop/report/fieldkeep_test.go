package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/doc"
)

// A field's unlabelled continuation lines (the blank lines to write the
// cause of a failure on) go on the page of its label: before, the label
// could stand at the foot of a page with its lines on the next.
func TestFieldKeepsItsContinuation(t *testing.T) {
	for n := range 60 {
		d := &doc.Document{Title: "T"}
		for i := range n {
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: fmt.Sprintf("filler paragraph %d", i)})
		}
		d.Blocks = append(d.Blocks, doc.Fields{{Label: "Penyebab yang ditemukan", Value: "LINE-ONE"}, {Label: "", Value: "LINE-TWO"}, {Label: "", Value: "LINE-THREE"}})
		for _, p := range pages(t, d) {
			if strings.Contains(p, "Penyebab") != strings.Contains(p, "LINE-THREE") {
				t.Fatalf("%d paragraphs before: the field and its continuation are split across pages:\n%s", n, p)
			}
		}
	}
}

// A heading, the short paragraph that introduces a table, and the table's
// header and first row go on one page: the failure report of a check put
// "Berkas yang terdampak" and its sentence at the foot of a page and the
// table of files on the next.
func TestTableKeepsItsIntro(t *testing.T) {
	for n := range 60 {
		d := &doc.Document{Title: "T"}
		for i := range n {
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: fmt.Sprintf("filler paragraph %d", i)})
		}
		d.Blocks = append(d.Blocks, doc.Heading{Text: "HEADING"}, doc.Paragraph{Text: "INTRO of the table."},
			doc.Table{Header: []string{"Snapshot", "Path"}, Rows: [][]string{{"ROW-ONE", "/a"}, {"ROW-TWO", "/b"}}})
		for _, p := range pages(t, d) {
			if strings.Contains(p, "HEADING") != strings.Contains(p, "INTRO") || strings.Contains(p, "INTRO") != strings.Contains(p, "ROW-ONE") {
				t.Fatalf("%d paragraphs before: the heading, its paragraph and the table's first row are split across pages:\n%s", n, p)
			}
		}
	}
}
