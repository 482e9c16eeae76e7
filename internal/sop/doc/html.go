package doc

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"strings"
)

const css = `body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:11pt;max-width:60em;margin:2em auto;color:#000}
.org{text-align:center;font-weight:bold}.unit{text-align:center}
.letterhead{display:flex;align-items:center;border-bottom:4px double #000;padding-bottom:.4em;margin-bottom:1em}
.letterhead img{height:5.5em;margin-right:1em}.letterhead>div{flex:1;text-align:center}
.lh{font-weight:bold;font-size:13pt}.lh-addr{font-size:9pt}
h1{font-size:15pt;text-align:center;margin-bottom:.2em}.subtitle{text-align:center;margin-top:0}
h2{font-size:12pt;margin-top:1.5em;border-bottom:1px solid #888}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #555;padding:3px 5px;vertical-align:top;text-align:left}
th{background:#eee}table.fields td{border:none;padding:1px 5px}table.fields td.l{width:30%;font-weight:bold}
.blank{display:inline-block;min-width:20em;border-bottom:1px dotted #000}
table.sig td{border:none;text-align:center;width:25%}.sigspace{height:5em}
footer{margin-top:2em;font-size:9pt;color:#444;border-top:1px solid #888}
@media print{body{margin:0}}`

// RenderHTML writes d as one self-contained HTML page (charts embedded as
// PNG data URIs), fit for printing.
func RenderHTML(w io.Writer, d *Document) error {
	b := bufio.NewWriter(w)
	e := html.EscapeString
	lang := d.Lang
	if lang == "" {
		lang = "id"
	}
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", e(lang), e(d.Title), css)
	if !d.Letterhead.IsZero() {
		if err := htmlLetterhead(b, d.Letterhead); err != nil {
			return err
		}
	} else {
		if d.Org != "" {
			fmt.Fprintf(b, "<div class=\"org\">%s</div>\n", e(d.Org))
		}
		if d.Unit != "" {
			fmt.Fprintf(b, "<div class=\"unit\">%s</div>\n", e(d.Unit))
		}
	}
	fmt.Fprintf(b, "<h1>%s</h1>\n", e(d.Title))
	if d.Subtitle != "" {
		fmt.Fprintf(b, "<p class=\"subtitle\">%s</p>\n", e(d.Subtitle))
	}
	htmlFields(b, d.Meta)
	for _, bl := range d.Blocks {
		switch x := bl.(type) {
		case Heading:
			fmt.Fprintf(b, "<h2>%s</h2>\n", e(x.Text))
		case Paragraph:
			fmt.Fprintf(b, "<p>%s</p>\n", e(x.Text))
		case Fields:
			htmlFields(b, x)
		case Table:
			b.WriteString("<table>\n<thead><tr>")
			for _, h := range x.Header {
				fmt.Fprintf(b, "<th>%s</th>", e(h))
			}
			b.WriteString("</tr></thead>\n<tbody>\n")
			for _, r := range x.Rows {
				b.WriteString("<tr>")
				for i := range x.Header {
					v := ""
					if i < len(r) {
						v = r[i]
					}
					fmt.Fprintf(b, "<td>%s</td>", strings.ReplaceAll(e(v), "\n", "<br>"))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table>\n")
		case List:
			b.WriteString("<ul>\n")
			for _, it := range x {
				fmt.Fprintf(b, "<li>%s</li>\n", e(it))
			}
			b.WriteString("</ul>\n")
		case Choice:
			fmt.Fprintf(b, "<p><b>%s:</b></p>\n<ul style=\"list-style:none\">\n", e(x.Label))
			for i, o := range x.Options {
				mark := "&#9744;"
				if i < len(x.Ticked) && x.Ticked[i] {
					mark = "&#9745;"
				}
				fmt.Fprintf(b, "<li>%s %s</li>\n", mark, e(o))
			}
			b.WriteString("</ul>\n")
		case Chart:
			fmt.Fprintf(b, "<figure>\n<img alt=\"%s\" src=\"data:image/png;base64,%s\" style=\"max-width:100%%\">\n<figcaption>%s</figcaption>\n</figure>\n",
				e(strings.Join(x.Alt, "; ")), base64.StdEncoding.EncodeToString(x.PNG), e(x.Title))
		case Signatures:
			if x.PlaceDate != "" {
				fmt.Fprintf(b, "<p style=\"text-align:right\">%s</p>\n", e(x.PlaceDate))
			}
			b.WriteString("<table class=\"sig\">\n<tr>")
			for _, s := range x.Signers {
				fmt.Fprintf(b, "<td>%s</td>", e(s.Role))
			}
			b.WriteString("</tr>\n<tr>")
			for range x.Signers {
				b.WriteString("<td class=\"sigspace\"></td>")
			}
			b.WriteString("</tr>\n<tr>")
			for _, s := range x.Signers {
				if s.Name == "" {
					b.WriteString("<td><span class=\"blank\" style=\"min-width:10em\"></span></td>")
				} else {
					fmt.Fprintf(b, "<td><b><u>%s</u></b></td>", e(s.Name))
				}
			}
			b.WriteString("</tr>\n<tr>")
			for _, s := range x.Signers {
				t := e(s.Title)
				if s.NIP != "" {
					t += "<br>NIP " + e(s.NIP)
				}
				fmt.Fprintf(b, "<td>%s</td>", t)
			}
			b.WriteString("</tr>\n</table>\n")
		}
	}
	if d.Footer != "" {
		fmt.Fprintf(b, "<footer>%s</footer>\n", e(d.Footer))
	}
	b.WriteString("</body>\n</html>\n")
	return b.Flush()
}

func htmlFields(b *bufio.Writer, fs []Field) {
	if len(fs) == 0 {
		return
	}
	b.WriteString("<table class=\"fields\">\n")
	for _, f := range fs {
		v := html.EscapeString(f.Value)
		if f.Value == "" && f.Blank {
			v = "<span class=\"blank\"></span>"
		} else if f.Value == "" {
			v = "-"
		}
		fmt.Fprintf(b, "<tr><td class=\"l\">%s</td><td>%s</td></tr>\n", html.EscapeString(f.Label), strings.ReplaceAll(v, "\n", "<br>"))
	}
	b.WriteString("</table>\n")
}

// htmlLetterhead writes the kop surat: the logo (embedded as a data URI, so
// the page stays self-contained) beside the agency's lines.
func htmlLetterhead(b *bufio.Writer, l Letterhead) error {
	logo, err := l.logo()
	if err != nil {
		return err
	}
	b.WriteString("<div class=\"letterhead\">")
	if len(logo) > 0 {
		mime := "image/png"
		if l.logoType() == "JPG" {
			mime = "image/jpeg"
		}
		fmt.Fprintf(b, "<img src=\"data:%s;base64,%s\" alt=\"\">", mime, base64.StdEncoding.EncodeToString(logo))
	}
	b.WriteString("<div>")
	for i, s := range l.Lines {
		style, _, _ := letterheadStyle(i, len(l.Lines))
		class := "lh"
		if style == "" {
			class = "lh-addr"
		}
		fmt.Fprintf(b, "<div class=\"%s\">%s</div>", class, html.EscapeString(s))
	}
	b.WriteString("</div></div>\n")
	return nil
}
