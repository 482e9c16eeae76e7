package report

import (
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
)

// The filled restore request form carries the requester's position and
// unit (as recorded, or as given), and is signed on the day of the request
// that it dates at its top, not on the day it was printed, unless a date
// of signing is given.
func TestRestoreRequestRequesterAndDate(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := h.env(l)
		pick := func(id, en string) string {
			if l == i18n.EN {
				return en
			}
			return id
		}
		rest := h.rest
		info := *h.rest.Restore
		info.RequesterPosition = "Kepala Seksi Pengadaan"
		info.RequestedAt = time.Date(2026, 3, 6, 0, 0, 0, 0, h.cfg.Location()) // three days before the restore
		rest.Restore = &info
		if !e.Now.After(rest.Start) {
			t.Fatalf("the report's date %s must differ from the restore's %s", e.Now, rest.Start)
		}

		md := render(t, e.RestoreRequest(&rest, MinutesOptions{})).md
		requested := pick("6 Maret 2026", "6 March 2026")
		for _, want := range []string{"Kepala Seksi Pengadaan, ITO LKPP", "Kepala Seksi Pengadaan", requested} {
			if !strings.Contains(md, want) {
				t.Errorf("%s: the filled form lacks %q:\n%s", l, want, md)
			}
		}
		signed := signingLine(md)
		if !strings.Contains(signed, requested) {
			t.Errorf("%s: the form is signed %q, want on the day of the request (%s):\n%s", l, signed, requested, md)
		}

		// Given: a date of signing, and a position and unit that replace
		// the recorded ones.
		md = render(t, e.RestoreRequest(&rest, MinutesOptions{SignedOn: time.Date(2026, 3, 12, 0, 0, 0, 0, h.cfg.Location()),
			RequesterPosition: "Direktur", RequesterUnit: "Direktorat Pengembangan"})).md
		if signed := signingLine(md); !strings.Contains(signed, pick("12 Maret 2026", "12 March 2026")) {
			t.Errorf("%s: signed on %q, want the date given", l, signed)
		}
		if !strings.Contains(md, "Direktur, Direktorat Pengembangan") || strings.Contains(md, "Kepala Seksi") || strings.Contains(md, "<br>ITO LKPP") {
			t.Errorf("%s: the position and unit given do not replace the recorded ones:\n%s", l, md)
		}

		// Blank, it stays blank: dated by hand, no requester.
		blank := render(t, e.RestoreRequest(nil, MinutesOptions{RequesterPosition: "Direktur"})).md
		if strings.Contains(blank, "Direktur") || strings.Contains(blank, requested) {
			t.Errorf("%s: the blank form is not blank:\n%s", l, blank)
		}
	}
}

// signingLine is the line of a rendered document with the place (the
// city of the test configuration) and date of signing.
func signingLine(md string) string {
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "Gorontalo, ") {
			return l
		}
	}
	return ""
}
