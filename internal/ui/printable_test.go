package ui

import (
	"bytes"
	"encoding/json"
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
		{"h\x1b[2J", `h\u001b[2J`, false},
		{"a\nb", `a\u000ab`, false},
		{"a\nb", "a\nb", true},
		{"tab\there", `tab\u0009here`, false},
		{"tab\there", "tab\there", true},
		{"\x7f\u0085\u009b", `\u007f\u0085\u009b`, false},
		{"cr\rff\fbs\b", `cr\u000dff\u000cbs\u0008`, true},
		{"\u2066iso\u2069\u200f\u2028", `\u2066iso\u2069\u200f\u2028`, false},
		{"bad\x9bbyte", `bad\x9bbyte`, false},
		{"file\u202egpj.exe", `file\u202egpj.exe`, false},
		{"\x1b]52;c;aGk=\x07", `\u001b]52;c;aGk=\u0007`, false},
		// A name that spells an escape does not read as the character
		// it names; other backslashes stay, and layout text (JSON) keeps
		// its own escapes.
		{`a\u000ab`, `a\u005cu000ab`, false},
		{`a\u000Ab`, `a\u005cu000Ab`, false},
		{`bad\x9bbyte`, `bad\u005cx9bbyte`, false},
		{`C:\Users\n\`, `C:\Users\n\`, false},
		{`C:\xampp\htdocs\uploads`, `C:\xampp\htdocs\uploads`, false},
		{`t\x4`, `t\x4`, false},
		{`t\u12`, `t\u12`, false},
		{`{"name":"a\u000ab"}`, `{"name":"a\u000ab"}`, true},
	} {
		if got := Printable(c.in, c.nl); got != c.want {
			t.Errorf("Printable(%q, %v) = %q, want %q", c.in, c.nl, got, c.want)
		}
	}
}

func TestPrintableWriter(t *testing.T) {
	var b bytes.Buffer
	fmt.Fprintf(PrintableWriter{&b}, "host %s\nnext\n", "h\x1b[31m")
	if got := b.String(); got != "host h\\u001b[31m\nnext\n" {
		t.Errorf("got %q", got)
	}
}

// JSON through the writer stays JSON, with the same meaning.
func TestPrintableWriterKeepsJSON(t *testing.T) {
	in := map[string]string{"tag": "del\x7f c1\u0085 bidi\u202e esc\x1b nl\n"}
	var b bytes.Buffer
	if err := json.NewEncoder(PrintableWriter{&b}).Encode(in); err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || out["tag"] != in["tag"] {
		t.Fatalf("%q: %v, %q", b.String(), err, out)
	}
	if bytes.ContainsAny(b.Bytes(), "\x7f\x1b") || bytes.Contains(b.Bytes(), []byte("\u0085")) {
		t.Errorf("a control character went through: %q", b.String())
	}
}
