package doc

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// RenderMarkdown writes d as GitHub-flavoured Markdown.
func RenderMarkdown(w io.Writer, d *Document) error {
	b := bufio.NewWriter(w)
	if !d.Letterhead.IsZero() {
		for i, l := range d.Letterhead.Lines {
			if i > 0 {
				b.WriteString("  \n")
			}
			fmt.Fprintf(b, "**%s**", mdEsc(l))
		}
		b.WriteString("\n\n---\n\n")
	} else if d.Org != "" {
		fmt.Fprintf(b, "**%s**", mdEsc(d.Org))
		if d.Unit != "" {
			fmt.Fprintf(b, "  \n%s", mdEsc(d.Unit))
		}
		b.WriteString("\n\n")
	}
	fmt.Fprintf(b, "# %s\n\n", mdEsc(d.Title))
	if d.Subtitle != "" {
		fmt.Fprintf(b, "%s\n\n", mdEsc(d.Subtitle))
	}
	if len(d.Meta) > 0 {
		mdFields(b, d.Meta)
	}
	for _, bl := range d.Blocks {
		switch x := bl.(type) {
		case Heading:
			fmt.Fprintf(b, "## %s\n\n", mdEsc(x.Text))
		case Paragraph:
			fmt.Fprintf(b, "%s\n\n", mdEsc(x.Text))
		case Fields:
			mdFields(b, x)
		case Table:
			mdTable(b, x.Header, x.Rows)
		case List:
			for _, it := range x {
				fmt.Fprintf(b, "- %s\n", mdEsc(it))
			}
			b.WriteString("\n")
		case Choice:
			fmt.Fprintf(b, "%s:\n\n", mdEsc(x.Label))
			for i, o := range x.Options {
				mark := " "
				if i < len(x.Ticked) && x.Ticked[i] {
					mark = "x"
				}
				fmt.Fprintf(b, "- [%s] %s\n", mark, mdEsc(o))
			}
			b.WriteString("\n")
		case Chart:
			fmt.Fprintf(b, "**%s**\n\n```\n%s\n```\n\n", mdEsc(x.Title), strings.Join(x.Alt, "\n"))
		case Signatures:
			if x.PlaceDate != "" {
				fmt.Fprintf(b, "%s\n\n", mdEsc(x.PlaceDate))
			}
			head := make([]string, len(x.Signers))
			names := make([]string, len(x.Signers))
			titles := make([]string, len(x.Signers))
			space := make([]string, len(x.Signers))
			for i, s := range x.Signers {
				head[i] = s.Role
				names[i] = s.Name
				if names[i] == "" {
					names[i] = blankLine
				}
				titles[i] = s.Title
				if s.NIP != "" {
					titles[i] += " NIP " + s.NIP
				}
				space[i] = "<br><br><br>"
			}
			mdTable(b, head, [][]string{space, names, titles})
		}
	}
	if d.Footer != "" {
		fmt.Fprintf(b, "---\n\n_%s_\n", mdEsc(d.Footer))
	}
	return b.Flush()
}

func mdFields(b *bufio.Writer, fs []Field) {
	for _, f := range fs {
		v := f.Value
		if v == "" && f.Blank {
			v = blankLine
		} else if v == "" {
			v = "-"
		}
		if f.Label == "" {
			// A line that goes on the field above (a second line to
			// write on): no empty bold label.
			fmt.Fprintf(b, "  %s\n", mdEsc(v))
			continue
		}
		// A value of several lines (the error messages) keeps them: a
		// hard break (a backslash at the end) and the list item's indent,
		// not a lazy continuation that runs them into one paragraph.
		fmt.Fprintf(b, "- **%s:** %s\n", mdEsc(f.Label), strings.ReplaceAll(mdEsc(v), "\n", "\\\n  "))
	}
	b.WriteString("\n")
}

func mdTable(b *bufio.Writer, head []string, rows [][]string) {
	cell := func(s string) string {
		s = strings.ReplaceAll(s, "|", `\|`)
		return strings.ReplaceAll(s, "\n", "<br>")
	}
	b.WriteString("|")
	for _, h := range head {
		fmt.Fprintf(b, " %s |", cell(h))
	}
	b.WriteString("\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for i := range head {
			v := ""
			if i < len(r) {
				v = r[i]
			}
			fmt.Fprintf(b, " %s |", cell(v))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// mdEsc escapes the characters that would start Markdown markup.
func mdEsc(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}
