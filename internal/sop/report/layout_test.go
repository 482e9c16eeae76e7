package report

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/pdftext"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// The layout of the PDFs as a reader sees them (issue 15), read back with
// poppler's pdftotext and pdffonts.

func pdfBytes(t *testing.T, d *doc.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := doc.RenderPDF(&b, d); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("CADANG_SOP_DUMP"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "-").Replace(t.Name())
		os.WriteFile(filepath.Join(dir, name+".pdf"), b.Bytes(), 0o644)
	}
	return b.Bytes()
}

// pages renders d as a PDF and reads each page back with pdftotext.
func pages(t *testing.T, d *doc.Document) []string {
	t.Helper()
	ps, err := pdftext.Pages(pdfBytes(t, d))
	if errors.Is(err, pdftext.ErrNoPoppler) {
		t.Skip("pdftotext is not installed (apt-get install poppler-utils): the PDF layout is not checked")
	}
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

var runIDRE = regexp.MustCompile(`(?m)^\d{8}-\d{6}-[0-9a-f]{4} `)

// allDocuments are every document of the history, in one language.
func allDocuments(t *testing.T, h *history, e Env) map[string]*doc.Document {
	t.Helper()
	march, _ := ParseMonth("2026-03", h.cfg.Location())
	feb, _ := ParseMonth("2026-02", h.cfg.Location())
	mar, err := e.Monthly(h.recs, march)
	if err != nil {
		t.Fatal(err)
	}
	fe, err := e.Monthly(h.recs, feb)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := e.RestoreMinutes(h.rest, h.recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db := dbHistory(t, h)
	dbe := db.with(e)
	dbMinutes, err := dbe.RestoreMinutes(db.rest, db.recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*doc.Document{
		"inventory-databases":       dbe.Inventory(db.recs),
		"restore-test-databases":    dbe.RestoreTest(db.test, db.recs),
		"restore-minutes-databases": dbMinutes,
		"inventory":                 e.Inventory(h.recs),
		"runlog":                    e.RunLog(h.recs, "all"),
		"runlog-march":              e.RunLog(runlog.Select(h.recs, runlog.Filter{Since: march}), "March"),
		"failure-media":             e.Failure(h.failed, h.recs),
		"failure-dump":              e.Failure(dumpFailure(h), h.recs),
		"monthly-march":             mar,
		"monthly-feb":               fe,
		"restore-test":              e.RestoreTest(h.test, h.recs),
		"request-blank":             e.RestoreRequest(nil, MinutesOptions{}),
		"request-filled":            e.RestoreRequest(&h.rest, MinutesOptions{}),
		"restore-minutes":           ba,
		"restore-minutes-failed":    failedMinutes(t, h, e),
	}
}

// failedRestore is a restore into a read-only target as cadang records
// it: nothing restored, the causes first in its errors, the first paths,
// and how many more the record left out.
func failedRestore(h *history) runlog.Record {
	r := h.rest
	r.ID = "20260309-120000-ffff"
	r.Result, r.Failure = runlog.Failed, runlog.KindOther
	r.FilesRead, r.BytesRead = 0, 0
	info := *r.Restore
	info.Verified, info.Verify, info.Target = false, "", "/mnt/ro"
	r.Restore = &info
	r.Note = runlog.NewNote("restored-partial", "dddddddd", "/mnt/ro", int64(0), 307)
	r.Message = "307 file(s) could not be restored (listed above); errors by cause: 307 read-only file system (the target's file system is mounted read-only: remount it read-write or choose another --target); no file was restored"
	r.Errors = []string{"errors by cause: 307 read-only file system (the target's file system is mounted read-only: remount it read-write or choose another --target)"}
	for i := range 19 {
		r.Errors = append(r.Errors, fmt.Sprintf("not restored: /srv/spse/dok/p%03d/penawaran.pdf: open: read-only file system", i+1))
	}
	r.Errors = append(r.Errors, "... and 288 more error(s) not recorded (the restore's output lists them)")
	return r
}

func failedMinutes(t *testing.T, h *history, e Env) *doc.Document {
	t.Helper()
	d, err := e.RestoreMinutes(failedRestore(h), h.recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dumpFailure(h *history) runlog.Record {
	for _, x := range h.recs {
		if x.Failure == runlog.KindDumpFailed {
			return x
		}
	}
	panic("no dump failure in the history")
}

// The run log fits at least 20 ordinary rows on a landscape page, repeats
// its header on every page, and keeps the signatures with its last rows.
func TestRunLogPages(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := h.env(l)
		ps := pages(t, e.RunLog(h.recs, "Januari - Maret 2026"))
		if len(ps) < 2 {
			t.Fatalf("%s: %d records on %d page(s)", l, len(h.recs), len(ps))
		}
		total := 0
		for i, p := range ps {
			rows := len(runIDRE.FindAllString(p, -1))
			total += rows
			if i < len(ps)-1 && rows < 20 {
				t.Errorf("%s: page %d has %d rows, want at least 20", l, i+1, rows)
			}
			if !strings.Contains(p, l.Pick("ID Kegiatan Job Media Pelaksana", "ID Operation Job Medium Operator")) || !strings.Contains(p, l.Pick("Snapshot Hasil", "Snapshot Result")) {
				t.Errorf("%s: page %d lacks the table header:\n%s", l, i+1, p)
			}
		}
		if total != len(h.recs) {
			t.Errorf("%s: %d rows for %d records", l, total, len(h.recs))
		}
		last := ps[len(ps)-1]
		if n := len(runIDRE.FindAllString(last, -1)); n < 2 || !strings.Contains(last, l.Pick("Mengetahui,", "Acknowledged by,")) {
			t.Errorf("%s: the last page has %d rows with the signatures:\n%s", l, n, last)
		}
	}
}

// "Files read / new" shows both numbers.
func TestRunLogFilesReadAndNew(t *testing.T) {
	h := makeHistory(t)
	var b runlog.Record
	for _, r := range h.recs {
		if r.Op == runlog.OpBackup && r.Result == runlog.OK {
			b = r
		}
	}
	if b.FilesAdded == 0 {
		t.Fatalf("the fixture's backups add no files: %+v", b)
	}
	row := h.env(i18n.ID).runLogRow(b)
	if want := i18n.ID.Int(b.FilesRead) + " / " + i18n.ID.Int(b.FilesAdded); row[10] != want {
		t.Errorf("files column %q, want %q", row[10], want)
	}
}

// A follow-up of a thousand words takes a few lines, not a page.
func TestRunLogLongFollowup(t *testing.T) {
	h := makeHistory(t)
	recs := append([]runlog.Record(nil), h.recs...)
	long := h.recs[len(h.recs)-1]
	long.ID, long.Op, long.Ref = "20260310-160000-ffff", runlog.OpFollowup, h.failed.ID
	long.Message = strings.Repeat("Disk C dipasang ulang dan diperiksa dengan smartctl. ", 60)
	recs = append(recs[:40], append([]runlog.Record{long}, recs[40:]...)...)
	ps := pages(t, h.env(i18n.ID).RunLog(recs, "-"))
	for i, p := range ps[:len(ps)-1] {
		if rows := len(runIDRE.FindAllString(p, -1)); rows < 20 {
			t.Errorf("page %d has %d rows", i+1, rows)
		}
	}
	all := strings.Join(ps, "\n")
	if !strings.Contains(all, "…") || strings.Count(all, "smartctl") > 10 {
		t.Errorf("the long follow-up is not cut short: %d times smartctl", strings.Count(all, "smartctl"))
	}
}

// No word is broken across lines: every word pdftotext reads is a word of
// the document (the Markdown rendering has the same text, unbroken), and
// the broken words seen in issue 15 are gone.
func TestNoBrokenWords(t *testing.T) {
	h := makeHistory(t)
	broken := []string{"Pelaks ana", "Berka s", "dibac a", "spse-uploa d", "Stand ard", "Snapsh ot", "databas e"}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		for name, d := range allDocuments(t, h, h.env(l)) {
			var md bytes.Buffer
			if err := doc.RenderMarkdown(&md, d); err != nil {
				t.Fatal(err)
			}
			words := map[string]bool{}
			var paths []string
			for _, w := range strings.Fields(strings.NewReplacer("<br>", " ", "|", " ").Replace(md.String())) {
				words[normWord(w)] = true
				if strings.Contains(w, "/") {
					paths = append(paths, normWord(w))
				}
			}
			for _, w := range strings.Fields(l.T("doc.pageof")) {
				words[normWord(w)] = true
			}
			text := strings.Join(pages(t, d), "\n")
			flat := strings.Join(strings.Fields(text), " ")
			for _, b := range broken {
				if strings.Contains(flat, b) {
					t.Errorf("%s/%s: broken word %q", l, name, b)
				}
			}
			for _, w := range strings.Fields(text) {
				n := normWord(w)
				if n == "" || words[n] || strings.Trim(n, "0123456789") == "" || pathPiece(n, paths) {
					continue
				}
				i := strings.Index(text, w)
				t.Errorf("%s/%s: %q is not a word of the document (broken?): %q", l, name, w, text[max(0, i-80):min(len(text), i+80)])
			}
		}
	}
}

// pathPiece reports whether w is a piece of a path too long for its line,
// broken after a slash (the last resort, when the path does not fit even in
// the smallest size).
func pathPiece(w string, paths []string) bool {
	for _, p := range paths {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

func normWord(w string) string {
	w = strings.ReplaceAll(w, `\`, "")
	return strings.Trim(w, `*_:,.;()[]"'…-–`)
}

// Every font is embedded (DejaVu Sans), and a name in another script
// prints as written.
func TestFontsEmbedded(t *testing.T) {
	h := makeHistory(t)
	cfg := *h.cfg
	cfg.Organization.Administrator.Name = "Дмитрий Ωμέγα Nguyễn"
	e := h.env(i18n.ID)
	e.Config = &cfg
	for name, d := range allDocuments(t, h, e) {
		b := pdfBytes(t, d)
		fonts, err := pdftext.Fonts(b)
		if errors.Is(err, pdftext.ErrNoPoppler) {
			t.Skip("pdffonts is not installed (apt-get install poppler-utils)")
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(fonts) == 0 {
			t.Errorf("%s: no fonts", name)
		}
		for _, f := range fonts {
			if !f.Embedded || !strings.Contains(strings.ToLower(f.Name), "dejavu") {
				t.Errorf("%s: font %+v is not an embedded DejaVu", name, f)
			}
		}
		if name == "inventory" {
			ps, _ := pdftext.Pages(b)
			if !strings.Contains(strings.Join(ps, "\n"), "Дмитрий Ωμέγα Nguyễn") {
				t.Errorf("the name in Cyrillic, Greek and Vietnamese dropped out:\n%s", ps[len(ps)-1])
			}
		}
	}
}

// The signature block never stands alone on a page: something of the
// document comes before it on its page: more than the closing sentence
// before the signatures, which alone would leave a page of signatures
// that says nothing of what was signed.
func TestSignaturesNotAlone(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		for name, d := range allDocuments(t, h, h.env(l)) {
			ps := pages(t, d)
			last := ps[len(ps)-1]
			i := strings.Index(last, "Gorontalo, ")
			if i < 0 {
				t.Errorf("%s/%s: no place and date on the last page:\n%s", l, name, last)
				continue
			}
			before := strings.TrimSpace(last[:i])
			rest := strings.Join(strings.Fields(before), " ")
			if closing := strings.Join(strings.Fields(l.T("ba.closing")), " "); strings.HasPrefix(rest, closing) {
				rest = strings.TrimSpace(strings.TrimPrefix(rest, closing))
			}
			if len(strings.Split(before, "\n")) < 2 || rest == "" {
				t.Errorf("%s/%s: the signatures stand alone on page %d:\n%s", l, name, len(ps), last)
			}
		}
	}
}

// A table header is never the last thing on a page: the failure report's
// source table starts with its header and a row on the same page.
func TestNoOrphanTableHeader(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		for _, r := range []runlog.Record{h.failed, dumpFailure(h)} {
			for i, p := range pages(t, h.env(l).Failure(r, h.recs)) {
				lines := strings.Split(strings.TrimSpace(p), "\n")
				for k, ln := range lines {
					if strings.HasPrefix(ln, l.Pick("Sumber Hasil", "Source Result")) && (k+1 >= len(lines) || !strings.Contains(strings.Join(lines[k+1:], "\n"), "database")) {
						t.Errorf("%s: the source table's header is alone at the foot of page %d:\n%s", l, i+1, p)
					}
				}
			}
		}
	}
}

// The failure report prints the dump's error once, and the cause found.
func TestFailureErrorOnce(t *testing.T) {
	h := makeHistory(t)
	dump := dumpFailure(h)
	recs := append([]runlog.Record(nil), h.recs...)
	recs = append(recs, runlog.Record{ID: "20260211-090000-abcd", Op: runlog.OpFollowup, Ref: dump.ID, Result: runlog.OK,
		Start: dump.End.Add(30 * time.Hour), End: dump.End.Add(30 * time.Hour), Operator: "budi",
		Message: "Kata sandi PostgreSQL diperbarui", Cause: "Kata sandi pengguna backup kedaluwarsa"})
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		text := strings.Join(strings.Fields(strings.Join(pages(t, h.env(l).Failure(dump, recs)), " ")), " ")
		if n := strings.Count(text, "connection to server failed"); n != 1 {
			t.Errorf("%s: the error is printed %d times:\n%s", l, n, text)
		}
		if !strings.Contains(text, "Kata sandi pengguna backup kedaluwarsa") {
			t.Errorf("%s: the cause found is not printed", l)
		}
	}
}

// The restore minutes are dated on the restore (or the signing date
// given), name the performer rather than the system account, describe the
// requester as given, and are numbered by the configured pattern.
func TestRestoreMinutes(t *testing.T) {
	h := makeHistory(t)
	cfg := *h.cfg
	cfg.Organization.Numbering = "{seq}/BA-RESTORE/LPSE/{roman_month}/{year}"
	e := h.env(i18n.ID)
	e.Config = &cfg
	earlier := h.rest
	earlier.ID, earlier.Start, earlier.End = "20260201-100000-eeee", h.rest.Start.AddDate(0, -1, 0), h.rest.End.AddDate(0, -1, 0)
	lastYear := h.rest
	lastYear.ID, lastYear.Start, lastYear.End = "20251201-100000-dddd", h.rest.Start.AddDate(0, -3, 0), h.rest.End.AddDate(0, -3, 0)
	recs := append([]runlog.Record{lastYear, earlier}, h.recs...)
	d, err := e.RestoreMinutes(h.rest, recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(strings.Join(pages(t, d), " ")), " ")
	for _, want := range []string{"Gorontalo, 9 Maret 2026", "2/BA-RESTORE/LPSE/III/2026", "Budi Santoso (akun sistem: budi)", "Pada hari ini Senin tanggal sembilan"} {
		if !strings.Contains(text, want) {
			t.Errorf("minutes lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Gorontalo, 10 Maret 2026") {
		t.Errorf("minutes dated on the day they were made:\n%s", text)
	}
	signed := time.Date(2026, 3, 11, 0, 0, 0, 0, cfg.Location())
	d, err = e.RestoreMinutes(h.rest, recs, MinutesOptions{SignedOn: signed, RequesterPosition: "Kepala Seksi Pengawasan", RequesterUnit: "Inspektorat LKPP", Performer: "Rina Marlina"})
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Join(strings.Fields(strings.Join(pages(t, d), " ")), " ")
	for _, want := range []string{"Gorontalo, 11 Maret 2026", "Kepala Seksi Pengawasan, Inspektorat LKPP", "Rina Marlina (akun sistem: budi)", "Pada hari Senin tanggal sembilan"} {
		if !strings.Contains(text, want) {
			t.Errorf("minutes lack %q:\n%s", want, text)
		}
	}
	// Signed two days later, the minutes do not call the restore's day
	// "this day" (hari ini).
	if strings.Contains(text, "Pada hari ini") {
		t.Errorf("minutes signed on 11 March say the restore of 9 March was 'hari ini':\n%s", text)
	}
	// A partial restore's minutes name what is missing.
	partial := h.rest
	partial.Result, partial.Failure = runlog.Partial, runlog.KindIntegrity
	partial.Errors = []string{"/srv/spse/upload/penawaran.pdf: a directory is in the way", "/srv/x\nSIGNED: forged line: not restored"}
	d, err = e.RestoreMinutes(partial, recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Join(strings.Fields(strings.Join(pages(t, d), " ")), " ")
	if !strings.Contains(text, "Pesan kesalahan") || !strings.Contains(text, "penawaran.pdf: a directory is in the way") || !strings.Contains(text, `/srv/x\nSIGNED`) {
		t.Errorf("partial minutes lack the errors:\n%s", text)
	}
	cfg.Organization.Numbering = "{nomor}/BA"
	if _, err := e.RestoreMinutes(h.rest, recs, MinutesOptions{}); err == nil || !strings.Contains(err.Error(), "{nomor}") {
		t.Errorf("unknown placeholder: %v", err)
	}
}

// A blank request form has a blank date, not the day it was printed.
func TestBlankRequestUndated(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		text := strings.Join(pages(t, h.env(l).RestoreRequest(nil, MinutesOptions{})), "\n")
		text = text[:strings.Index(text, strings.Fields(l.T("doc.footer"))[0]+" ")] // the footer says when it was printed
		if today := l.Date(h.clk.Now().In(h.cfg.Location())); strings.Contains(text, today) {
			t.Errorf("%s: the blank form is dated %s:\n%s", l, today, text)
		}
	}
}

// The monthly analysis lists missed days as ranges, does not count a failed
// run as within the time standard, and flags a late follow-up.
func TestMonthlyAnalysis(t *testing.T) {
	h := makeHistory(t)
	e := h.env(i18n.ID)
	loc := h.cfg.Location()
	days := []time.Time{}
	for _, d := range []int{1, 2, 3, 4, 5, 8, 10, 11, 12} {
		days = append(days, time.Date(2026, 11, d, 0, 0, 0, 0, loc))
	}
	if got, want := e.dayRanges(days), "1–5, 8, 10–12 November 2026"; got != want {
		t.Errorf("ranges %q, want %q", got, want)
	}
	feb, _ := ParseMonth("2026-02", loc)
	dump := dumpFailure(h)
	recs := append([]runlog.Record(nil), h.recs...)
	recs = append(recs, runlog.Record{ID: "20260215-090000-abcd", Op: runlog.OpFollowup, Ref: dump.ID, Result: runlog.OK,
		Start: dump.End.Add(5 * 24 * time.Hour), End: dump.End.Add(5 * 24 * time.Hour), Operator: "budi", Message: "Kata sandi diperbarui"})
	if dump.StandardMet {
		t.Fatal("the fixture's failed dump is recorded as within its time standard")
	}
	// A record from before that rule says standard_met for the quick
	// failed run: it is not counted as met either.
	for i := range recs {
		if recs[i].ID == dump.ID {
			recs[i].StandardMet = true
		}
	}
	jm := Analyze(h.cfg, recs, feb, h.clk.Now()).Jobs[0]
	if jm.StandardMet != jm.Runs-1 {
		t.Errorf("%d of %d runs within the standard, the failed one counted", jm.StandardMet, jm.Runs)
	}
	d, err := e.Monthly(recs, feb)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(strings.Join(pages(t, d), " ")), " ")
	for _, want := range []string{"TERLAMBAT: dicatat 5 hari", "1 tindak lanjut dicatat lebih dari 1 hari", dump.ID} {
		if !strings.Contains(text, want) {
			t.Errorf("monthly lacks %q:\n%s", want, text)
		}
	}
}

// The inventory says where each medium is instead of claiming they are all
// apart from the server.
func TestMediaLocation(t *testing.T) {
	src := t.TempDir()
	for repo, want := range map[string]MediaKind{
		"s3:my-bucket/cadang":                  MediaRemote,
		"sftp://backup@nas.example.org/cadang": MediaRemote,
		"/media/usb-a/cadang":                  MediaRemovable,
		"/run/media/admin/DISK-B/cadang":       MediaRemovable,
		filepath.Join(src, "repo"):             MediaSameDisk,
	} {
		if got := LocateMedia(repo, []string{src}); got != want {
			t.Errorf("%s: %s, want %s", repo, got, want)
		}
	}
	h := makeHistory(t)
	e := h.env(i18n.EN)
	e.Locate = func(string, []string) MediaKind { return MediaSameDisk }
	text := strings.Join(strings.Fields(strings.Join(pages(t, e.Inventory(h.recs)), " ")), " ")
	if strings.Contains(text, "other than the source server") || !strings.Contains(text, "WARNING, a local disk of the same server") {
		t.Errorf("inventory:\n%s", text)
	}
}

// The letterhead prints the agency's lines and logo on every document.
func TestLetterhead(t *testing.T) {
	h := makeHistory(t)
	logo := filepath.Join(t.TempDir(), "logo.png")
	img := image.NewRGBA(image.Rect(0, 0, 40, 48))
	for x := range 40 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: 200, G: 160, A: 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	os.WriteFile(logo, b.Bytes(), 0o644)
	cfg := *h.cfg
	cfg.Organization.LetterheadLogo = logo
	cfg.Organization.LetterheadLines = []string{"PEMERINTAH PROVINSI GORONTALO", "LAYANAN PENGADAAN SECARA ELEKTRONIK", "Jl. Budi Utomo No. 1, Kota Gorontalo"}
	e := h.env(i18n.ID)
	e.Config = &cfg
	for name, d := range allDocuments(t, h, e) {
		pdf := pdfBytes(t, d)
		if got := pdftext.Read(pdf); got.Images < 1 || !strings.Contains(got.Flat(), "LAYANAN PENGADAAN SECARA ELEKTRONIK") {
			t.Errorf("%s: no letterhead (%d images)", name, got.Images)
		}
		var html bytes.Buffer
		if err := doc.RenderHTML(&html, d); err != nil || !strings.Contains(html.String(), "data:image/png;base64,") {
			t.Errorf("%s: html letterhead: %v", name, err)
		}
	}
	cfg.Organization.LetterheadLogo = filepath.Join(t.TempDir(), "missing.png")
	if err := doc.RenderPDF(&b, e.Inventory(nil)); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing logo: %v", err)
	}
}

// TestSectionNotSplitBeforeSignatures: the last fields of a section go to
// the next page with the signatures; where that would leave one field of
// the section behind (the restore minutes' "Result" alone at the foot of a
// page, its verification on the next: README walk), the whole section,
// heading included, goes with them.
func TestSectionNotSplitBeforeSignatures(t *testing.T) {
	for filler := 20; filler <= 44; filler += 2 {
		var blocks []doc.Block
		for i := range filler {
			blocks = append(blocks, doc.Paragraph{Text: fmt.Sprintf("Filler line %d.", i)})
		}
		blocks = append(blocks,
			doc.Heading{Text: "C. Result and verification"},
			doc.Fields{{Label: "Result", Value: "OK"},
				{Label: "Verification", Value: strings.Repeat("The restored data was verified against the snapshot. ", 6)},
				{Label: "Message", Value: "Snapshot restored"}},
			doc.Paragraph{Text: "These minutes are made truthfully."},
			doc.Signatures{PlaceDate: "Gorontalo, 7 December 2026", Signers: []doc.Signer{{Role: "Requester"}, {Role: "Performed by", Name: "root"}}})
		ps := pages(t, &doc.Document{Title: "Restore Minutes", Blocks: blocks})
		for i, p := range ps {
			if strings.Contains(p, "C. Result and verification") != strings.Contains(p, "Verification") ||
				strings.Contains(p, "Result :") && !strings.Contains(p, "Verification") {
				t.Errorf("%d filler lines: section C split on page %d of %d:\n%s", filler, i+1, len(ps), p)
			}
		}
	}
}

// TestTableNotSplitBeforeSignatures: a short table whose rows all go to
// the next page with the signatures after it takes its heading and header
// along; neither stays alone at the foot of the page (second review: the
// run log of a month with three records).
func TestTableNotSplitBeforeSignatures(t *testing.T) {
	for filler := 20; filler <= 44; filler++ {
		var blocks []doc.Block
		for i := range filler {
			blocks = append(blocks, doc.Paragraph{Text: fmt.Sprintf("Filler line %d.", i)})
		}
		if filler%2 == 0 { // with a heading, and without: the table's own keep
			blocks = append(blocks, doc.Heading{Text: "Run log of the month"})
		}
		blocks = append(blocks,
			doc.Table{Header: []string{"Run", "Result"}, Rows: [][]string{{"run-one", "OK"}, {"run-two", "OK"}, {"run-three", "Failed"}}},
			doc.Signatures{PlaceDate: "Gorontalo, 7 December 2026", Signers: []doc.Signer{{Role: "Performed by", Name: "root"}, {Role: "Head of LPSE"}}})
		ps := pages(t, &doc.Document{Title: "Run log", Blocks: blocks})
		for i, p := range ps {
			if strings.Contains(p, "Run log of the month") && !strings.Contains(p, "run-one") ||
				strings.Contains(p, "Result") && !strings.Contains(p, "run-") {
				t.Errorf("%d filler lines: the heading or header is apart from its rows on page %d of %d:\n%s", filler, i+1, len(ps), p)
			}
		}
	}
}

// TestLateBy: a follow-up 30 h 55 min after its failure is not "1 day"
// late, which reads as within the 1-day limit (a README walk).
func TestLateBy(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		id, en string
	}{
		{30*time.Hour + 55*time.Minute, "1 hari 7 jam", "1 day 7 h"},
		{5 * 24 * time.Hour, "5 hari", "5 days"},
		{2*time.Hour + 10*time.Minute, "2 jam 10 menit", "2 h 10 min"},
	} {
		if got := (Env{Lang: i18n.ID}).lateBy(c.d); got != c.id {
			t.Errorf("%v: %q, want %q", c.d, got, c.id)
		}
		if got := (Env{Lang: i18n.EN}).lateBy(c.d); got != c.en {
			t.Errorf("%v: %q, want %q", c.d, got, c.en)
		}
	}
}

// TestShortMinutesOnOnePage (a README walk): the minutes of an ordinary
// restore on a host without the configuration fit on one page; section C
// and the signatures were carried to a second page together, leaving half
// of the first blank. Minutes that do not fit (the letterhead, the head's
// NIP) carry the last section (C) to page 2 with the signatures: a page
// with the closing sentence and the signatures alone would sign nothing
// that can be read on it.
func TestShortMinutesOnOnePage(t *testing.T) {
	h := makeHistory(t)
	restore, _ := noteRecords(t)
	restore.Job, restore.Repository, restore.RepositoryID, restore.Operator, restore.Host = "", "/mnt/usb/cadang", strings.Repeat("b", 64), "root", "spse-baru"
	restore.Restore.SnapshotJob, restore.Restore.Source = "spse-prod", "upload"
	restore.Restore.Paths = []string{"/home/appserv/file_upload"}
	restore.Restore.RequestID, restore.Restore.RequestedBy, restore.Restore.Reason = "REQ-07", "Andi Wijaya", "penggantian hardware server"
	restore.Restore.SnapshotAt = restore.Start.Add(-8 * time.Hour)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		bare := noteEnv(l)
		bare.Config = &jobs.Config{}
		d, err := bare.RestoreMinutes(restore, nil, MinutesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		t.Run(string(l)+"-without-configuration", func(t *testing.T) { ps = pages(t, d) })
		if len(ps) != 1 {
			t.Errorf("%s, without configuration: the minutes take %d pages:\n%s", l, len(ps), strings.Join(ps, "\n---- page break ----\n"))
		}
		d, err = h.env(l).RestoreMinutes(h.rest, h.recs, MinutesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(l)+"-with-configuration", func(t *testing.T) { ps = pages(t, d) })
		// Page 2 carries the last section with the signatures, never the
		// closing sentence and the signatures alone; every page names the
		// minutes it belongs to.
		closing := strings.Fields(l.T("ba.closing"))[0]
		if last := strings.TrimSpace(ps[len(ps)-1]); len(ps) > 2 || len(ps) == 2 && strings.HasPrefix(last, closing) {
			t.Errorf("%s, with configuration: the signatures without their section on page 2 of %d:\n%s", l, len(ps), strings.Join(ps, "\n---- page break ----\n"))
		}
		for i, p := range ps {
			if !strings.Contains(p, d.Ref) || !strings.Contains(d.Ref, h.rest.ID) {
				t.Errorf("%s, with configuration: page %d does not name the minutes (%q):\n%s", l, i+1, d.Ref, p)
			}
		}
	}
}

// Every page of every document names the document in its footer (the
// documents of one run with its ID, the monthly analysis with its month),
// so that no page of a printed set can be taken for another document's.
func TestEveryPageNamesItsDocument(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		for name, d := range allDocuments(t, h, h.env(l)) {
			if d.Ref == "" || !strings.HasPrefix(d.Ref, d.Title) {
				t.Errorf("%s/%s: reference %q does not start with the title %q", l, name, d.Ref, d.Title)
				continue
			}
			for i, p := range pages(t, d) {
				if !strings.Contains(strings.Join(strings.Fields(p), " "), d.Ref) {
					t.Errorf("%s/%s: page %d does not carry %q:\n%s", l, name, i+1, d.Ref, p)
				}
			}
		}
	}
}

// The minutes of a failed restore show no line of the terminal: not the
// restore's closing line with its "(listed above)" as Keterangan, and in
// Indonesian not cadang's English frame of the error lines; the English
// that stays (causes, errors of the system) is said to be the program's.
func TestFailedRestoreMinutesText(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		text := strings.Join(strings.Fields(strings.Join(pages(t, failedMinutes(t, h, h.env(l))), " ")), " ")
		for _, bad := range []string{"listed above", "could not be restored (", "no file was restored"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: the minutes quote the terminal (%q):\n%s", l, bad, text)
			}
		}
		want := []string{"307 files could not be restored", "not restored: /srv/spse/dok/p001/penawaran.pdf", "and 288 more errors not recorded"}
		if l == i18n.ID {
			want = []string{"307 berkas tidak dapat di-restore", "tidak di-restore: /srv/spse/dok/p001/penawaran.pdf", "dan 288 kesalahan lain", "kesalahan menurut penyebab: 307 read-only file system", "dalam bahasa Inggris"}
			for _, bad := range []string{"not restored:", "errors by cause", "more error(s)"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s: English frame %q in the Indonesian minutes:\n%s", l, bad, text)
				}
			}
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q missing:\n%s", l, w, text)
			}
		}
	}
}

// The causes line in the form a restore writes when not every error is a
// failed file is given in the document's language too (the restore's own
// counts say the split).
func TestRestoreErrorLineCausesWithUnits(t *testing.T) {
	h := makeHistory(t)
	line := "31 errors (30 of files not restored, 1 of directories not restored) by cause: 31 read-only file system"
	got := h.env(i18n.ID).errorLine(line)
	if got != "kesalahan menurut penyebab: 31 read-only file system" {
		t.Errorf("errorLine(%q) in Indonesian = %q", line, got)
	}
}
