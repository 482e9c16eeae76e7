package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// trendRows returns the month column of the monthly report's trend table
// (section 3), from its Markdown.
func trendRows(t *testing.T, md string) []string {
	t.Helper()
	i := strings.Index(md, "# 3. ")
	j := strings.Index(md, "# 4. ")
	if i < 0 || j < i {
		t.Fatalf("no section 3 in:\n%s", md)
	}
	var months []string
	for _, l := range strings.Split(md[i:j], "\n") {
		c := strings.Split(l, "|")
		if len(c) > 2 && !strings.HasPrefix(strings.TrimSpace(c[1]), "-") {
			months = append(months, strings.TrimSpace(c[1]))
		}
	}
	return months[1:] // the header
}

// TestTrendFromFirstRecord: the trend of December 2026, for jobs that
// started on 1 November, shows November and December, not June to October
// as months of 0 backup runs, which read as months not backed up (README
// walk), and says that the log starts on 1 November; a log with nothing
// before this month shows this month alone, and says so.
func TestTrendFromFirstRecord(t *testing.T) {
	cfg, loc := twoJobs(t)
	for i := range cfg.Jobs {
		cfg.Jobs[i].ActiveSince = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	var recs []runlog.Record
	for d := 1; d <= 30; d++ {
		at := time.Date(2026, 11, d, 2, 0, 0, 0, loc)
		for _, j := range []string{"spse-prod", "spse-config"} {
			recs = append(recs, runlog.Record{ID: fmt.Sprintf("%s-%02d", j, d), Op: runlog.OpBackup, Job: j, Medium: "disk-A", Start: at, End: at.Add(time.Minute),
				Result: runlog.OK, StandardMet: true, Sources: []runlog.Source{{Name: "db"}}})
		}
	}
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	for _, c := range []struct {
		l          i18n.Lang
		months     []string
		note, none string
	}{
		{i18n.ID, []string{"November 2026", "Desember 2026"}, "Log pelaksanaan dimulai 1 November 2026", "Belum ada pelaksanaan yang tercatat sebelum Desember 2026"},
		{i18n.EN, []string{"November 2026", "December 2026"}, "The run log starts on 1 November 2026", "No runs were logged before December 2026"},
	} {
		e := Env{Config: cfg, Lang: c.l, Now: time.Date(2026, 12, 8, 9, 0, 0, 0, loc)}
		d, err := e.Monthly(recs, dec)
		if err != nil {
			t.Fatal(err)
		}
		md := render(t, d).md
		if got := trendRows(t, md); strings.Join(got, ",") != strings.Join(c.months, ",") {
			t.Errorf("%s: trend months %q, want %q", c.l, got, c.months)
		}
		if !strings.Contains(md, c.note) {
			t.Errorf("%s: section 3 lacks %q", c.l, c.note)
		}
		// No record before December, no job before it either.
		for i := range cfg.Jobs {
			cfg.Jobs[i].ActiveSince = dec
		}
		d, err = e.Monthly(recs[:0], dec)
		for i := range cfg.Jobs {
			cfg.Jobs[i].ActiveSince = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		}
		if err != nil {
			t.Fatal(err)
		}
		md = render(t, d).md
		if got := trendRows(t, md); strings.Join(got, ",") != c.months[1] {
			t.Errorf("%s: empty log: trend months %q, want %q", c.l, got, c.months[1])
		}
		if !strings.Contains(md, c.none) {
			t.Errorf("%s: empty log: section 3 lacks %q", c.l, c.none)
		}
	}
}
