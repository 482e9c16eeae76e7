package ui

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Printable returns s with every character that a terminal would act on
// rather than show written as an escape: C0 controls but the newline and
// the tab when keepLayout, DEL, C1 controls, bytes that are not UTF-8 (a lone 0x9b is
// CSI to some terminals) and the bidirectional overrides that reorder what
// a reader sees. Text from a repository (a snapshot's host, tags, paths
// and reason, file names, records) is written by whoever holds the
// password, and file names by whoever uploads a file to the server backed
// up: printed as it is, an escape sequence could clear the screen, hide a
// line of a report, or set the terminal's title or clipboard at 3 a.m.
// Without keepLayout (a one-line field) a backslash that reads as the
// start of such an escape (\u and four hex digits, \x and two) is escaped
// too (\u005c), so that no name reads as an escape it is not. A string without such characters is returned as it is.
func Printable(s string, keepLayout bool) string {
	if printableAlready(s, keepLayout) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case (r == '\n' || r == '\t') && keepLayout:
			b.WriteRune(r)
		case r == '\\' && !keepLayout && escapeLike(s[i+1:]):
			// A name that holds the six characters \u000a would read as
			// the escape of a newline: its backslash is escaped too, so
			// that every \u and \x in a one-line field is an escape.
			b.WriteString(`\u005c`)
		case unsafeRune(r):
			// \u, as JSON writes it: JSON passes through unchanged in
			// meaning (encoding/json leaves DEL, C1 and the bidi controls
			// as they are, and never writes bytes that are not UTF-8).
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func printableAlready(s string, keepLayout bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || unsafeRune(r) && !((r == '\n' || r == '\t') && keepLayout) ||
			r == '\\' && !keepLayout && escapeLike(s[i+1:]) {
			return false
		}
		i += n
	}
	return true
}

// escapeLike tells whether what follows a backslash would read as one of
// Printable's escapes: u and four hex digits, or x and two (either case).
// A backslash before anything else (C:\xampp) stays as it is. Only
// one-line fields escape such a backslash: layout-keeping text includes
// JSON, where \u already means an escape.
func escapeLike(rest string) bool {
	n := 0
	switch {
	case strings.HasPrefix(rest, "u"):
		n = 4
	case strings.HasPrefix(rest, "x"):
		n = 2
	default:
		return false
	}
	if len(rest) < 1+n {
		return false
	}
	for _, c := range []byte(rest[1 : 1+n]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, // bidi embeddings, overrides, isolates
		r == 0x200e, r == 0x200f, r == 0x061c, // bidi marks
		r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// PrintableWriter passes what is written to w through Printable, newlines
// and tabs kept: for tables and reports that hold text from a repository. A write
// is escaped as a whole, so a character split across two writes (a
// multi-byte one) is escaped byte by byte: tabwriter and fmt write whole
// lines, and writers that buffer (encoding/csv) must write whole output.
type PrintableWriter struct{ W io.Writer }

func (p PrintableWriter) Write(b []byte) (int, error) {
	s := string(b)
	if printableAlready(s, true) {
		return p.W.Write(b)
	}
	if _, err := io.WriteString(p.W, Printable(s, true)); err != nil {
		return 0, err
	}
	return len(b), nil
}
