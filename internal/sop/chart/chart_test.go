package chart

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestBars(t *testing.T) {
	b, err := Bars("Tren", "jumlah", []string{"2026-01", "2026-02"}, []Series{{"Gagal", []float64{2, 0}}, {"Terlewat", []float64{1, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("png: %v", err)
	}
	txt := Text([]string{"2026-01"}, []Series{{"Gagal", []float64{2}}})
	if !strings.Contains(txt[0], "##") {
		t.Fatal(txt)
	}
}
