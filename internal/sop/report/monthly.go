package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/chart"
	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
)

// JobMonth is what one job did in a month.
type JobMonth struct {
	Job        string
	Expected   int         // scheduled runs whose period is over (days for a daily job)
	Done       int         // of those, periods with at least one backup run of the job
	Successful int         // periods with at least one ok or partial backup of the job
	Missed     []time.Time // periods with no backup run of the job at all (their first day)
	// NotOverFrom is the first day of the month's first period that is
	// not over yet (today's, or all of a month still to come), zero when
	// every period is over; those periods are in none of the counts
	// above, so a day still running does not read as a day with no
	// backup done. NotOverRan are the days of that span with a backup
	// of the job already.
	NotOverFrom time.Time
	NotOverRan  []time.Time
	// Runs, Failed and StandardMet count every backup recorded under the
	// job, before-change runs and plain commands' backups of its media
	// (runlog.TagManual) included; Done, Successful and Missed only the
	// job's own backups (runlog.Record.JobBackup): a manual backup of
	// some folder is not the day's scheduled backup.
	Runs        int // backup runs
	Failed      int // backup runs not OK
	StandardMet int // backup runs within the time standard
}

// Month is the analysis of one month.
type Month struct {
	Start, End time.Time // [Start, End) in the configured zone
	Jobs       []JobMonth
	// ByKind and Failures are the failures of step 6 (the backups and the
	// runs that keep them): the records not OK that ask a follow-up
	// (runlog.Record.AsksFollowup, step 5's failed backups). A restore
	// that failed on the target (full, something in the way) is no failed
	// backup: it is in Restores, counted apart.
	ByKind   map[runlog.FailureKind]int
	Failures []runlog.Record
	Restores []runlog.Record // failed restores that are no failed backup
	Tests    []runlog.Record // restore tests
	// Backups counts every backup record of the month, whatever its job:
	// on a host without [[job]], or for a job no longer configured, the
	// log still holds them, and the trend counts what it holds.
	Backups int
}

// MissedTotal returns the missed runs of all jobs.
func (m *Month) MissedTotal() int {
	n := 0
	for _, j := range m.Jobs {
		n += len(j.Missed)
	}
	return n
}

// ParseMonth parses YYYY-MM in loc.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return t, nil
}

// Analyze computes the month starting at month (its first day, in the
// configured zone) as of now: a period that is not over yet is not expected.
func Analyze(c *jobs.Config, recs []runlog.Record, month, now time.Time) *Month {
	loc := c.Location()
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
	end := start.AddDate(0, 1, 0)
	m := &Month{Start: start, End: end, ByKind: map[runlog.FailureKind]int{}}
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	for _, r := range recs {
		if !in(r.Start) || r.Op == runlog.OpFollowup {
			continue
		}
		switch {
		case r.AsksFollowup():
			m.Failures = append(m.Failures, r)
			m.ByKind[r.Failure]++
		case r.Result != runlog.OK:
			m.Restores = append(m.Restores, r)
		}
		if r.Op == runlog.OpBackup {
			m.Backups++
		}
		if r.Op == runlog.OpRestoreTest {
			m.Tests = append(m.Tests, r)
		}
	}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		jm := JobMonth{Job: j.Name}
		ran := map[time.Time]bool{}
		okp := map[time.Time]bool{}
		runDays := map[time.Time][]time.Time{} // the days of each period's runs
		var seen time.Time                     // the job's first backup, of any month
		for _, r := range recs {
			// A plain `cadang backup` is not the job's run: its failure
			// is in the failure analysis above, but neither its count nor
			// its time is the job's (status and section 1 pass over it),
			// and it does not start the job's schedule (a check or a
			// manual backup of a new medium does not either).
			if r.Job != j.Name || !r.JobBackup() {
				continue
			}
			if seen.IsZero() || r.Start.Before(seen) {
				seen = r.Start
			}
			// A period is done by a run within it, in this month or not:
			// a week that starts on the 30th ends in the next month.
			p := periodStart(j.Schedule, r.Start.In(loc))
			ran[p] = true
			if day := periodStart(jobs.Daily, r.Start.In(loc)); len(runDays[p]) == 0 || !runDays[p][len(runDays[p])-1].Equal(day) {
				runDays[p] = append(runDays[p], day)
			}
			if r.Result == runlog.OK || r.Result == runlog.Partial {
				okp[p] = true
			}
			if !in(r.Start) {
				continue
			}
			jm.Runs++
			if r.Result != runlog.OK {
				jm.Failed++
			}
			// A failed run did not do its work within the standard,
			// however quickly it failed (issue 15: 9/9, 100%), nor a
			// partial one; older records may say it did.
			if r.MetStandard() {
				jm.StandardMet++
			}
		}
		// Runs are expected from active_since, or, without it, from the
		// day of the job's first backup: a job added on the 8th did not
		// miss the 1st to the 7th, nor every day of the months before.
		// A job that has never run is expected from the first of the
		// month that now is in: not in the months before, of which
		// nothing says that it existed then.
		first := start
		since := j.ActiveSince
		if since.IsZero() {
			since = seen
		}
		if since.IsZero() {
			y, mo, _ := now.In(loc).Date()
			since = time.Date(y, mo, 1, 0, 0, 0, 0, loc)
		}
		if !since.IsZero() {
			y, mo, d := since.In(loc).Date()
			if j.ActiveSince.Equal(since) {
				y, mo, d = since.Date() // a date as configured, not a time
			}
			if a := time.Date(y, mo, d, 0, 0, 0, 0, loc); a.After(first) {
				first = a
			}
		}
		for p := periodStart(j.Schedule, first); p.Before(end); p = nextPeriod(j.Schedule, p) {
			if p.Before(periodStart(j.Schedule, first)) {
				continue
			}
			if j.Schedule != jobs.Daily && p.Before(start) {
				continue // a week starting in the previous month belongs to it
			}
			if nextPeriod(j.Schedule, p).After(now) {
				// Not over yet: not expected, nor done, nor missed.
				if jm.NotOverFrom.IsZero() {
					jm.NotOverFrom = p
				}
				for _, d := range runDays[p] {
					if in(d) {
						jm.NotOverRan = append(jm.NotOverRan, d)
					}
				}
				continue
			}
			jm.Expected++
			switch {
			case okp[p]:
				jm.Done++
				jm.Successful++
			case ran[p]:
				jm.Done++
			default:
				jm.Missed = append(jm.Missed, p)
			}
		}
		m.Jobs = append(m.Jobs, jm)
	}
	return m
}

func periodStart(s jobs.Schedule, t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	switch s {
	case jobs.Weekly:
		off := (int(d.Weekday()) + 6) % 7 // weeks start on Monday
		return d.AddDate(0, 0, -off)
	case jobs.Monthly:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	}
	return d
}

func nextPeriod(s jobs.Schedule, p time.Time) time.Time {
	switch s {
	case jobs.Weekly:
		return p.AddDate(0, 0, 7)
	case jobs.Monthly:
		return p.AddDate(0, 1, 0)
	}
	return p.AddDate(0, 0, 1)
}

// Monthly is the monthly analysis of backup effectiveness (SOP step 6,
// recorded in the "Laporan Analisa Kegagalan Backup"): runs expected
// against done with the missed days, failures by kind, the trend of the
// last 6 months with a chart, follow-ups taken and open, restore tests done
// and due, the time standard, and the retention applied and prunes run
// (what they removed and freed).
func (e Env) Monthly(recs []runlog.Record, month time.Time) (*doc.Document, error) {
	loc := e.loc()
	m := Analyze(e.Config, recs, month, e.Now)
	d := e.newDoc("mon.title")
	d.Subtitle = e.t("mon.subtitle", e.Lang.Month(m.Start))
	d.Ref = d.Title + ", " + e.Lang.Month(m.Start)
	d.Meta = []doc.Field{
		{Label: e.t("f.sop"), Value: SOPNumber + " (" + e.t("mon.step") + ")"},
		{Label: e.t("mon.period"), Value: e.Lang.Date(m.Start) + " - " + e.Lang.Date(m.End.AddDate(0, 0, -1))},
		{Label: e.t("f.date"), Value: e.Lang.Date(e.Now.In(loc))},
	}

	// 1. runs expected against runs done
	var rows [][]string
	var notOver []doc.Block
	for i, jm := range m.Jobs {
		j := &e.Config.Jobs[i]
		counts := []string{fmt.Sprint(jm.Expected), fmt.Sprint(jm.Done), fmt.Sprint(jm.Successful), fmt.Sprint(len(jm.Missed))}
		if jm.Expected == 0 && !jm.NotOverFrom.IsZero() {
			counts = []string{"-", "-", "-", "-"} // nothing is over: not "0 done"
		}
		rows = append(rows, append(append([]string{jm.Job, e.t("sched." + string(j.Schedule))}, counts...), dashIfEmpty(e.dayRanges(jm.Missed))))
		if b := e.notOverNote(jm); b != nil {
			notOver = append(notOver, b)
		}
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_runs")})
	if len(e.Config.Jobs) == 0 {
		// A host without [[job]] (one that verifies the run log and runs
		// retention) has no schedule to count against: an empty table
		// would read as a month of nothing missed.
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.no_jobs")})
	} else {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.runs_note")},
			doc.Table{Header: []string{e.t("col.job"), e.t("inv.schedule"), e.t("mon.expected"), e.t("mon.done"), e.t("mon.success"), e.t("mon.missed"), e.t("mon.missed_days")},
				Rows: rows, Widths: []float64{3, 2, 2, 2, 2, 2, 5}})
		d.Blocks = append(d.Blocks, notOver...)
	}

	// 2. failures by kind (a: kinds, b: counts)
	rows = nil
	total := 0
	for _, k := range runlog.Kinds {
		if n := m.ByKind[k]; n > 0 {
			rows = append(rows, []string{runlog.KindLabel(e.Lang, k), fmt.Sprint(n)})
			total += n
		}
	}
	if n := m.MissedTotal(); n > 0 {
		rows = append(rows, []string{e.t("mon.not_run"), fmt.Sprint(n)})
		total += n
	}
	rows = append(rows, []string{e.t("mon.total"), fmt.Sprint(total)})
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_kinds")}, doc.Paragraph{Text: e.t("mon.kinds_note")},
		doc.Table{Header: []string{e.t("col.failure"), e.t("mon.count")}, Rows: rows, Widths: []float64{4, 1}})
	if b := e.failedRestoresNote(m.Restores); b != nil {
		d.Blocks = append(d.Blocks, b)
	}

	// 3. trend (c)
	var labels []string
	var fails, missed, runs []float64
	var active []bool // a month in which some job was expected to run, or ran
	rows = nil
	first := firstStart(recs)
	skipped := 0
	for k := 5; k >= 0; k-- {
		mo := m.Start.AddDate(0, -k, 0)
		am := Analyze(e.Config, recs, mo, e.Now)
		n, expected := am.Backups, 0
		for _, jm := range am.Jobs {
			expected += jm.Expected
		}
		on := expected > 0 || n > 0 || len(am.Failures) > 0
		if k > 0 && len(rows) == 0 && !on && (first.IsZero() || !first.Before(am.End)) {
			// Before the log's first record and any job's schedule:
			// rows of 0 backup runs would read as months not backed up.
			skipped++
			continue
		}
		active = append(active, on)
		labels = append(labels, mo.Format("2006-01"))
		fails = append(fails, float64(len(am.Failures)))
		missed = append(missed, float64(am.MissedTotal()))
		runs = append(runs, float64(n))
		rows = append(rows, []string{e.Lang.Month(mo), fmt.Sprint(n), fmt.Sprint(len(am.Failures)), fmt.Sprint(am.MissedTotal())})
	}
	series := []chart.Series{{Name: e.t("mon.s_failed"), Values: fails}, {Name: e.t("mon.s_missed"), Values: missed}}
	png, err := chart.Bars("", e.t("mon.count"), labels, series, func(n int64) string { return e.Lang.Int(n) })
	if err != nil {
		return nil, fmt.Errorf("monthly report: chart: %w", err)
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_trend")})
	if skipped > 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.trendFrom(first, m.Start)})
	}
	d.Blocks = append(d.Blocks,
		doc.Table{Header: []string{e.t("mon.month"), e.t("mon.runs"), e.t("mon.s_failed"), e.t("mon.s_missed")}, Rows: rows},
		doc.Chart{Title: e.t("mon.chart"), PNG: png, Alt: chart.Text(labels, series)},
		doc.Paragraph{Text: e.trendText(fails, missed, active)})

	// 4. follow-ups (d): of the failures that ask one
	// (runlog.Record.AsksFollowup, as status counts them)
	rows = nil
	open, late := 0, 0
	var restores []string // failed restores that ask no follow-up
	for _, f := range m.Restores {
		restores = append(restores, f.ID)
	}
	for _, f := range m.Failures {
		fu := Followups(recs, f.ID)
		var acts []string
		for _, x := range fu {
			acts = append(acts, e.Lang.ShortDate(x.Start.In(loc))+": "+x.Message)
		}
		state := e.t("mon.fu_done")
		switch {
		case len(fu) == 0:
			state = e.t("mon.fu_open")
			open++
		case fu[0].Start.Sub(f.End) > FollowupLimit:
			// The SOP gives a day to follow a failure up.
			state = e.t("mon.fu_late", e.lateBy(fu[0].Start.Sub(f.End)))
			late++
		}
		rows = append(rows, []string{f.ID, dash(f.Job), runlog.KindLabel(e.Lang, f.Failure), state, dashIfEmpty(strings.Join(acts, "\n"))})
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_followup")})
	switch {
	case len(rows) == 0 && len(restores) == 0:
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.no_failures")})
	case len(rows) == 0:
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.no_followup")})
	default:
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.fu_summary", len(rows)-open, open)})
		if late > 0 {
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.fu_late_note", late)})
		}
		d.Blocks = append(d.Blocks,
			doc.Table{Header: []string{e.t("col.id"), e.t("col.job"), e.t("col.failure"), e.t("mon.fu_state"), e.t("fail.action")}, Rows: rows, Widths: []float64{3, 2, 3, 2, 5}})
	}
	if len(restores) > 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.fu_restores", strings.Join(restores, ", "))})
	}

	// 5. restore tests done and due
	rows = nil
	for _, t := range m.Tests {
		rows = append(rows, []string{t.ID, t.Job, e.stamp(t.Start), runlog.ResultLabel(e.Lang, t.Result) + kindSuffix(e.Lang, t.Failure)})
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_tests")})
	if len(rows) == 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.no_tests")})
	} else {
		d.Blocks = append(d.Blocks, doc.Table{Header: []string{e.t("col.id"), e.t("col.job"), e.t("f.date"), e.t("col.result")}, Rows: rows})
	}
	st := status.Compute(e.Config, before(recs, m.End), minTime(e.Now, m.End))
	rows = nil
	for _, js := range st.Jobs {
		state := e.t("mon.test_ok")
		if !js.RestoreTestDue.After(minTime(e.Now, m.End)) {
			state = e.t("mon.test_overdue")
		}
		rows = append(rows, []string{js.Name, e.Lang.ShortDate(inLoc(js.LastRestoreTest, loc)), e.Lang.ShortDate(inLoc(js.RestoreTestDue, loc)), state})
	}
	if len(rows) > 0 {
		d.Blocks = append(d.Blocks, doc.Table{Header: []string{e.t("col.job"), e.t("st.last_test"), e.t("st.test_due"), e.t("st.state")}, Rows: rows})
	}

	// 6. time standard
	rows = nil
	for _, jm := range m.Jobs {
		pct := "-"
		if jm.Runs > 0 {
			pct = e.Lang.Percent(float64(jm.StandardMet) / float64(jm.Runs))
		}
		rows = append(rows, []string{jm.Job, fmt.Sprint(jm.Runs), fmt.Sprint(jm.StandardMet), pct})
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_standard")})
	if len(e.Config.Jobs) == 0 {
		// Not section 1's text: its "analysed below" would point past
		// the end of the document from here.
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.no_jobs_std")})
	} else {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.std_note")},
			doc.Table{Header: []string{e.t("col.job"), e.t("mon.runs"), e.t("mon.std_met"), "%"}, Rows: rows})
	}
	var over []string
	for _, f := range m.Failures {
		if f.Failure == runlog.KindTimeStandard {
			over = append(over, fmt.Sprintf("%s %s: %s", f.ID, f.Job, e.Lang.Duration(f.Duration())))
		}
	}
	if len(over) > 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("mon.std_over")}, doc.List(over))
	}
	// 7. retention and prune: what was removed and freed
	d.Blocks = append(d.Blocks, e.maintenanceBlocks(maintenanceIn(recs, m.Start, m.End))...)
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("mon.h_conclusion")}, doc.Fields{{Label: e.t("mon.conclusion"), Blank: true}, {Label: "", Blank: true}},
		e.adminAndHead())
	return d, nil
}

// failedRestoresNote says how many restores failed in the month, by kind,
// apart from the failures of section 2, which they are not: a restore to
// a full disk or with an entry in the way is no failed backup (README, SOP
// step 5); nil when none did.
func (e Env) failedRestoresNote(restores []runlog.Record) doc.Block {
	if len(restores) == 0 {
		return nil
	}
	by := map[runlog.FailureKind]int{}
	var kinds []runlog.FailureKind // in the order they first came
	for _, r := range restores {
		if by[r.Failure] == 0 {
			kinds = append(kinds, r.Failure)
		}
		by[r.Failure]++
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", runlog.KindLabel(e.Lang, k), by[k]))
	}
	return doc.Paragraph{Text: e.t("mon.restores_apart", len(restores), strings.Join(parts, ", "))}
}

// notOverNote says which of a job's scheduled backups of the month are not
// over yet when the analysis is made, and so in none of its counts, and
// on which of those days a backup was already made; nil when every period
// is over.
func (e Env) notOverNote(jm JobMonth) doc.Block {
	if jm.NotOverFrom.IsZero() {
		return nil
	}
	s := e.t("mon.not_over", jm.Job, e.Lang.Date(jm.NotOverFrom))
	if len(jm.NotOverRan) > 0 {
		s += " " + e.t("mon.not_over_ran", e.dayRanges(jm.NotOverRan))
	}
	return doc.Paragraph{Text: s}
}

// days says a delay of a day or more in whole days, rounded down.
// lateBy says how long after a failure its follow-up came: days and hours
// past a day ("1 hari 7 jam"), hours and minutes within one. Whole days
// alone read 30 hours as "1 day", within the 1-day limit the row is
// flagged for passing.
func (e Env) lateBy(d time.Duration) string {
	if d < 24*time.Hour {
		return e.Lang.Duration(d.Round(time.Minute))
	}
	d = d.Round(time.Hour)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	plural := ""
	if days != 1 {
		plural = "s"
	}
	out := e.Lang.Pick(fmt.Sprintf("%d hari", days), fmt.Sprintf("%d day%s", days, plural))
	if hours > 0 {
		out += e.Lang.Pick(fmt.Sprintf(" %d jam", hours), fmt.Sprintf(" %d h", hours))
	}
	return out
}

// FollowupLimit is the time the SOP gives to record the follow-up of a
// failure; a later follow-up is flagged in the monthly analysis, a missing
// one after it is a warning in status.
const FollowupLimit = status.FollowupLimit

// dayRanges lists days as ranges of consecutive days, with the month once
// at the end: "1–5, 8, 10–22 Maret 2026" (days of other months, which a
// weekly schedule may give, carry their own month).
func (e Env) dayRanges(days []time.Time) string {
	var parts []string
	for i := 0; i < len(days); {
		j := i
		for j+1 < len(days) && days[j+1].Sub(days[j]) <= 25*time.Hour && days[j+1].Month() == days[i].Month() {
			j++
		}
		part := fmt.Sprint(days[i].Day())
		if j > i {
			part += "–" + fmt.Sprint(days[j].Day())
		}
		last := j+1 == len(days) || days[j+1].Month() != days[j].Month() || days[j+1].Year() != days[j].Year()
		if last {
			part += " " + e.Lang.MonthName(days[j].Month()) + " " + fmt.Sprint(days[j].Year())
		}
		parts = append(parts, part)
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// firstStart returns the start of the earliest record in recs (zero
// without records): the run log's first day.
func firstStart(recs []runlog.Record) time.Time {
	var first time.Time
	for _, r := range recs {
		if !r.Start.IsZero() && (first.IsZero() || r.Start.Before(first)) {
			first = r.Start
		}
	}
	return first
}

// trendFrom says why the trend starts after the six months: the run log
// starts at first (zero: it holds nothing before the month that starts at
// month).
func (e Env) trendFrom(first, month time.Time) string {
	if first.IsZero() || !first.Before(month.AddDate(0, 1, 0)) {
		return e.t("mon.trend_empty", e.Lang.Month(month))
	}
	return e.t("mon.trend_from", e.Lang.Date(first.In(e.loc())))
}

// trendText compares this month's failures and missed backups (the last
// of fails and missed) with the average of the months before in which a
// backup was scheduled or made (active): months before the jobs existed
// would pull the average down to nothing.
func (e Env) trendText(fails, missed []float64, active []bool) string {
	n := len(fails)
	cur := fails[n-1] + missed[n-1]
	var prev float64
	months := 0
	for i := 0; i < n-1; i++ {
		if active[i] {
			prev += fails[i] + missed[i]
			months++
		}
	}
	if months == 0 {
		return e.t("mon.trend_none", e.Lang.Float(cur, 0))
	}
	avg := prev / float64(months)
	count := fmt.Sprint(months)
	switch {
	case cur > avg:
		return e.t("mon.trend_up", e.Lang.Float(cur, 0), count, e.Lang.Float(avg, 1))
	case cur < avg:
		return e.t("mon.trend_down", e.Lang.Float(cur, 0), count, e.Lang.Float(avg, 1))
	}
	return e.t("mon.trend_flat", e.Lang.Float(cur, 0), count)
}

func before(recs []runlog.Record, t time.Time) []runlog.Record {
	var out []runlog.Record
	for _, r := range recs {
		if r.End.Before(t) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].End.Before(out[j].End) })
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func inLoc(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
