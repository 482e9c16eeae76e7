package pdftext

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoPoppler is returned when pdftotext or pdffonts (poppler-utils) is not
// installed; tests skip on it.
var ErrNoPoppler = errors.New("poppler-utils (pdftotext, pdffonts) is not installed")

// Font is one line of pdffonts: a font used by the PDF and whether it is
// embedded.
type Font struct {
	Name     string
	Type     string
	Embedded bool
}

// Pages returns the text of each page as pdftotext -raw reads it (in the
// order it was written, a table row on a line when it is one line high): what
// a reader of the PDF sees, independently of how cadang wrote it.
func Pages(pdf []byte) ([]string, error) {
	out, err := poppler("pdftotext", pdf, "-raw", "-enc", "UTF-8")
	if err != nil {
		return nil, err
	}
	pages := strings.Split(out, "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	return pages, nil
}

// Fonts lists the fonts of the PDF with pdffonts.
func Fonts(pdf []byte) ([]Font, error) {
	out, err := poppler("pdffonts", pdf)
	if err != nil {
		return nil, err
	}
	var fonts []Font
	lines := strings.Split(out, "\n")
	for _, l := range lines[min(2, len(lines)):] { // a header and a rule
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		// name type [type...] encoding emb sub uni object ID: emb is the
		// fifth field from the end.
		fonts = append(fonts, Font{Name: f[0], Type: strings.Join(f[1:len(f)-6], " "), Embedded: f[len(f)-5] == "yes"})
	}
	return fonts, nil
}

// poppler runs a poppler tool on pdf (written to a temporary file) and
// returns what it printed (pdftotext prints to standard output with "-").
func poppler(tool string, pdf []byte, args ...string) (string, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return "", ErrNoPoppler
	}
	dir, err := os.MkdirTemp("", "pdftext")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		return "", err
	}
	args = append(args, in)
	if tool == "pdftotext" {
		args = append(args, "-")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
