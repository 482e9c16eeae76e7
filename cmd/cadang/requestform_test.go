package main

// The filled restore request form (report restore-request) carries the
// requester's position and unit and the day of the request, recorded by
// the restore, and is signed on that day unless --signed-on says otherwise.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRestoreRequestFormRequester(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-02T09:00:00+08:00")
	h.must(0, "run", "-q", "spse-db")
	h.must(0, "restore", "-q", "-r", h.repoA, "--password-file", h.pw, "latest", "--path", h.src, "--target", filepath.Join(h.dir, "req"),
		"--requested-by", "Andi Wijaya", "--reason", "dokumen kontrak hilang", "--request-id", "REQ-2026-31",
		"--requester-position", "Kepala Seksi Pengadaan", "--requester-unit", "Bagian Pengadaan Barang/Jasa", "--requested-on", "2026-11-30")
	r := h.last()
	if r.Restore == nil || r.Restore.RequesterPosition != "Kepala Seksi Pengadaan" || r.Restore.RequesterOf != "Bagian Pengadaan Barang/Jasa" ||
		!r.Restore.RequestedAt.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.FixedZone("WITA", 8*3600))) {
		t.Fatalf("restore record: %+v", r.Restore)
	}

	// The form: dated and signed on the day of the request (the report
	// is made on 2 December), with the position and unit.
	form := h.must(0, "report", "restore-request", "latest")
	for _, want := range []string{"**Tanggal:** 30 November 2026", "**Jabatan / unit kerja:** Kepala Seksi Pengadaan, Bagian Pengadaan Barang/Jasa",
		"\nGorontalo, 30 November 2026\n", "Kepala Seksi Pengadaan<br>Bagian Pengadaan Barang/Jasa"} {
		if !strings.Contains(form, want) {
			t.Errorf("restore request form lacks %q:\n%s", want, form)
		}
	}
	if strings.Contains(form, "Gorontalo, 2 Desember 2026") {
		t.Errorf("restore request form signed on the day of the report:\n%s", form)
	}
	// --signed-on, and a position given now, as for the minutes.
	form = h.must(0, "report", "restore-request", "latest", "--signed-on", "2026-12-01", "--requester-position", "Kepala Bagian")
	if !strings.Contains(form, "\nGorontalo, 1 Desember 2026\n") || !strings.Contains(form, "Kepala Bagian, Bagian Pengadaan Barang/Jasa") {
		t.Errorf("restore request form with --signed-on and --requester-position:\n%s", form)
	}

	// The minutes take the recorded position too.
	minutes := h.must(0, "report", "restore", "latest")
	if !strings.Contains(minutes, "Kepala Seksi Pengadaan, Bagian Pengadaan Barang/Jasa") {
		t.Errorf("restore minutes lack the recorded position and unit:\n%s", minutes)
	}

	// A date that is no date is refused before anything is restored.
	if _, errs, code := h.cad("restore", "-r", h.repoA, "--password-file", h.pw, "latest", "--target", filepath.Join(h.dir, "x"),
		"--requested-by", "Andi Wijaya", "--requested-on", "30-11-2026"); code == 0 || !strings.Contains(errs, "--requested-on \"30-11-2026\": want YYYY-MM-DD") {
		t.Errorf("--requested-on 30-11-2026: exit %d\n%s", code, errs)
	}
}
