// Package pdftext extracts the text and a few structural facts from the PDFs
// cadang writes (fpdf; the embedded UTF-8 fonts write UTF-16BE strings, the
// core fonts cp1252), so tests can read the documents.
// It is not a general PDF parser. It is used by the tests of internal/sop and
// of the CLI (cmd/cadang), and by nothing else.
package pdftext

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// Doc is what was read from a PDF.
type Doc struct {
	Text   string // the strings shown, one per line, in content order
	Pages  int
	Images int
}

var (
	streamRE = regexp.MustCompile(`(?s)<<([^>]*(?:>[^>][^>]*)*)>>\s*stream\r?\n`)
	pageRE   = regexp.MustCompile(`/Type\s*/Page[^s]`)
	imageRE  = regexp.MustCompile(`/Subtype\s*/Image`)
)

// Read parses a PDF.
func Read(pdf []byte) Doc {
	var d Doc
	d.Pages = len(pageRE.FindAll(pdf, -1))
	d.Images = len(imageRE.FindAll(pdf, -1))
	// fpdf's UTF-8 fonts are Type0 fonts with the Identity-H encoding, whose
	// strings are UTF-16BE code units.
	wide := bytes.Contains(pdf, []byte("/Identity-H"))
	var out strings.Builder
	for _, m := range streamRE.FindAllSubmatchIndex(pdf, -1) {
		dict := string(pdf[m[2]:m[3]])
		start := m[1]
		end := bytes.Index(pdf[start:], []byte("endstream"))
		if end < 0 || strings.Contains(dict, "/Image") || strings.Contains(dict, "/Length1") {
			continue
		}
		data := pdf[start : start+end]
		if strings.Contains(dict, "/FlateDecode") {
			r, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				continue
			}
			data, _ = io.ReadAll(r)
		}
		extract(data, wide, &out)
	}
	d.Text = out.String()
	return d
}

// extract appends the (string) operands of Tj operators.
func extract(content []byte, wide bool, out *strings.Builder) {
	dec := charmap.Windows1252.NewDecoder()
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var s []byte
		depth := 1
		j := i + 1
		for ; j < len(content) && depth > 0; j++ {
			c := content[j]
			switch {
			case c == '\\' && j+1 < len(content):
				j++
				switch e := content[j]; e {
				case 'n':
					s = append(s, '\n')
				case 'r':
					s = append(s, '\r')
				case 't':
					s = append(s, '\t')
				default:
					if e >= '0' && e <= '7' {
						v := 0
						k := 0
						for ; k < 3 && j+k < len(content) && content[j+k] >= '0' && content[j+k] <= '7'; k++ {
							v = v*8 + int(content[j+k]-'0')
						}
						s = append(s, byte(v))
						j += k - 1
					} else {
						s = append(s, e)
					}
				}
			case c == '(':
				depth++
				s = append(s, c)
			case c == ')':
				depth--
				if depth > 0 {
					s = append(s, c)
				}
			default:
				s = append(s, c)
			}
		}
		rest := strings.TrimLeft(string(content[j:min(j+6, len(content))]), " ")
		if strings.HasPrefix(rest, "Tj") {
			if wide {
				out.WriteString(decodeUTF16(s))
			} else {
				u, err := dec.Bytes(s)
				if err != nil {
					u = s
				}
				out.Write(u)
			}
			out.WriteByte('\n')
		}
		i = j - 1
	}
}

// Flat returns the text with line breaks and repeated spaces folded to one
// space, for searching phrases that a PDF line may have wrapped.
func (d Doc) Flat() string { return strings.Join(strings.Fields(d.Text), " ") }

func decodeUTF16(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}
