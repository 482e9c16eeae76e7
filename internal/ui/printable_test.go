package ui

import (
	"bytes"
	"fmt"
	"testing"
)

func TestPrintable(t *testing.T) {
	for _, c := range []struct {
		in, want string
		nl       bool
	}{
		{"spse-prod", "spse-prod", false},
		{"Pengadaan Jalan Tol — Makassar", "Pengadaan Jalan Tol — Makassar", false},
		{"h\x1b[2J", `h\x1b[2J`, false},
		{"a\nb", `a\x0ab`, false},
		{"a\nb", "a\nb", true},
		{"tab\there", `tab\x09here`, false},
		{"tab\there", "tab\there", true},
		{"\x7f\u0085", `\x7f\u0085`, false},
		{"bad\x9bbyte", `bad\x9bbyte`, false},
		{"file\u202egpj.exe", `file\u202egpj.exe`, false},
		{"\x1b]52;c;aGk=\x07", `\x1b]52;c;aGk=\x07`, false},
	} {
		if got := Printable(c.in, c.nl); got != c.want {
			t.Errorf("Printable(%q, %v) = %q, want %q", c.in, c.nl, got, c.want)
		}
	}
}

func TestPrintableWriter(t *testing.T) {
	var b bytes.Buffer
	fmt.Fprintf(PrintableWriter{&b}, "host %s\nnext\n", "h\x1b[31m")
	if got := b.String(); got != "host h\\x1b[31m\nnext\n" {
		t.Errorf("got %q", got)
	}
}
