// Package status tells, per job, where the SOP stands: the last backup and
// its result, the last successful restore test and when the next is due,
// and what is overdue. Its exit code is for monitoring (Nagios style).
package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo/backend/location"
)

// Exit codes, as monitoring plugins use them.
const (
	ExitOK       = 0 // nothing overdue, last runs OK
	ExitWarning  = 1 // a restore test or a follow-up is overdue, or the last backup was partial
	ExitCritical = 2 // the last backup failed, or a backup is overdue
	ExitUnknown  = 3 // the status could not be read (for the CLI to use)
)

// Level is how bad a problem is.
type Level int

// The levels, with their exit codes.
const (
	OK       Level = ExitOK
	Warning  Level = ExitWarning
	Critical Level = ExitCritical
)

// Problem is one thing that needs attention.
type Problem struct {
	Level Level  `json:"level"`
	What  string `json:"what"` // backup-failed, backup-partial, backup-overdue, never-backed-up, restore-test-overdue, offsite-failed, offsite-overdue, offsite-never, followup-open, followup-overdue, runlog-problems, runlog-not-copied, runlog-clock-back, clock-behind
	Since string `json:"since,omitempty"`
	Text  string `json:"text"`
	// textIn is Text in another language, times in loc: every problem
	// status makes has one, made from the facts of Text where Text is
	// made. nil (a Problem made elsewhere): the date of Since.
	textIn textFunc
}

// textFunc gives a problem's detail in language l, its times in loc.
type textFunc func(l i18n.Lang, loc *time.Location) string

// dated is the detail of a problem whose translated line says no more
// than its title and the date it began (none when t is zero).
func dated(t time.Time) textFunc {
	return func(l i18n.Lang, loc *time.Location) string {
		if t.IsZero() {
			return ""
		}
		return l.ShortDate(inLoc(t, loc))
	}
}

// stampIn is t to the minute in loc, in language l, naming the zone.
func stampIn(l i18n.Lang, loc *time.Location, t time.Time) string {
	return l.Stamp(inLoc(t, loc)) + " " + runlog.ZoneName(loc)
}

// Job is the status of one job.
type Job struct {
	Name            string             `json:"job"`
	LastBackup      *runlog.Record     `json:"-"`
	LastBackupID    string             `json:"last_backup_id,omitempty"`
	LastBackupAt    time.Time          `json:"last_backup_at,omitzero"`
	LastResult      runlog.Result      `json:"last_result,omitempty"`
	LastFailure     runlog.FailureKind `json:"last_failure,omitempty"`
	LastSuccessAt   time.Time          `json:"last_success_at,omitzero"`
	BackupDue       time.Time          `json:"backup_due,omitzero"`
	LastRestoreTest time.Time          `json:"last_restore_test,omitzero"`
	RestoreTestDue  time.Time          `json:"restore_test_due"`
	// NextMedium is the medium of the rotation due for the next backup.
	NextMedium string `json:"next_medium,omitempty"`
	// Offsite is the job's copy to its offsite medium; nil when the job
	// has none.
	Offsite *Offsite `json:"offsite,omitempty"`
	// OpenFollowups are the failed runs without a follow-up;
	// OverdueFollowups those of them that ended more than FollowupLimit
	// ago.
	OpenFollowups    []string  `json:"open_followups,omitempty"`
	OverdueFollowups []string  `json:"overdue_followups,omitempty"`
	Problems         []Problem `json:"problems"`
	Level            Level     `json:"level"`
}

// FollowupLimit is the time the SOP gives to follow a failed run up (step
// 5: 1 day). The configuration has no setting for it: the SOP fixes it.
// A failure without a follow-up after it is a warning in status, and a
// later follow-up is flagged in the monthly analysis.
const FollowupLimit = 24 * time.Hour

// FollowupWatch is how far back a failure without a follow-up makes status
// warn: the last month and a few days, which the monthly analysis of the
// month before has already reported beyond.
const FollowupWatch = 35 * 24 * time.Hour

// Offsite is where a job's copies to its offsite medium stand.
type Offsite struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// LastCopyAt and LastCopyID are the last successful copy's end and
	// record; zero when none succeeded.
	LastCopyAt time.Time `json:"last_copy_at,omitzero"`
	LastCopyID string    `json:"last_copy_id,omitempty"`
	// LastID, LastResult and LastFailure are those of the last copy
	// attempted.
	LastID      string             `json:"last_id,omitempty"`
	LastResult  runlog.Result      `json:"last_result,omitempty"`
	LastFailure runlog.FailureKind `json:"last_failure,omitempty"`
	// MaxAgeMS is [job.offsite] max_age; Due is LastCopyAt plus it: after
	// it, status warns.
	MaxAgeMS int64     `json:"max_age_ms"`
	Due      time.Time `json:"due,omitzero"`
}

// Report is the status of all jobs.
type Report struct {
	At   time.Time `json:"at"`
	Jobs []Job     `json:"jobs"`
	// loc is the organisation's zone, that the English texts give their
	// times in (nil: the machine's, as jobs.Config.Location).
	loc *time.Location
}

// ExitCode returns the worst level of all jobs.
func (r *Report) ExitCode() int {
	worst := OK
	for _, j := range r.Jobs {
		worst = max(worst, j.Level)
	}
	return int(worst)
}

// Compute derives the status at now from the configuration and the run log.
//
// A backup is overdue when no backup succeeded (ok or partial) within the
// job's schedule interval plus its time standard; a restore test is due
// as RestoreTestDue says: RestoreTest.Interval (90 days) after the last
// successful one, or after the job's first successful backup (or
// ActiveSince) if there was none; a failed test changes nothing.
//
// A failed run that asks a follow-up (runlog.Record.AsksFollowup: any
// operation's, a manual one's included, but a restore's only when it
// found damaged backup data) without a follow-up recorded within
// FollowupLimit of its end is a warning (followup-overdue); before that
// it is only listed (followup-open).
//
// For a job with an offsite medium, the last copy to it that succeeded
// (by `cadang run`: a copy record tagged offsite) must be younger than
// max_age, or status warns; it warns too when the last copy failed, and
// when none ever succeeded (from max_age after ActiveSince, if set).
//
// A backup of a plain command (runlog.TagManual: `cadang backup` of a
// job's medium) is not the job's backup: it is not its last backup, last
// success nor rotation, though its failure still waits for its follow-up.
func Compute(c *jobs.Config, recs []runlog.Record, now time.Time) *Report {
	return compute(c, recs, now, false)
}

// compute is Compute; with manual, a plain command's backup counts as
// the job's (ComputeRepository: without a configuration, plain commands
// are all there is).
func compute(c *jobs.Config, recs []runlog.Record, now time.Time, manual bool) *Report {
	// The problems' texts give times in the organization's zone and name
	// it, as the table beside them does (a server kept on UTC printed a
	// bare UTC time under a WITA heading).
	loc := c.Location()
	rep := &Report{At: now, loc: loc}
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }
	runs := func(n int) string {
		if n == 1 {
			return "1 failed run"
		}
		return fmt.Sprintf("%d failed runs", n)
	}
	interval := c.RestoreTest.Interval.D()
	if interval <= 0 {
		interval = jobs.DefaultRestoreTestInterval
	}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		st := Job{Name: j.Name, Problems: []Problem{}}
		var firstOK time.Time
		var lastOKMedium string
		var lastCopy, lastCopyOK *runlog.Record
		followed := map[string]bool{}
		var failures []runlog.Record
		for k := range recs {
			r := &recs[k]
			if r.Job != j.Name {
				continue
			}
			switch r.Op {
			case runlog.OpBackup:
				if !manual && !r.JobBackup() {
					break // its failure is still one (below)
				}
				st.LastBackup = r
				if r.Result == runlog.OK || r.Result == runlog.Partial {
					st.LastSuccessAt = r.End
					// A before-change backup does not move the rotation
					// (run.LastRotationMedium).
					if !r.HasTag(runlog.TagBeforeChange) {
						lastOKMedium = r.Medium
					}
					if firstOK.IsZero() {
						firstOK = r.End
					}
				}
			case runlog.OpRestoreTest:
				if r.Result == runlog.OK {
					st.LastRestoreTest = r.End
				}
			case runlog.OpCopy:
				// A copy that only took longer than its standard did
				// copy (as run.LastOffsite counts it).
				if r.HasTag(runlog.TagOffsite) {
					lastCopy = r
					if r.Result == runlog.OK || r.Failure == runlog.KindTimeStandard {
						lastCopyOK = r
					}
				}
			case runlog.OpFollowup:
				followed[r.Ref] = true
			}
			if r.AsksFollowup() {
				failures = append(failures, *r)
			}
		}
		var overdueSince time.Time // the deadline of the oldest overdue
		for _, f := range failures {
			if followed[f.ID] {
				continue
			}
			st.OpenFollowups = append(st.OpenFollowups, f.ID)
			// Only recent failures raise the level: an installation's
			// older ones, from before it followed runs up or upgraded,
			// are the monthly analysis's to report, and do not keep
			// every check at WARNING until each gets a follow-up.
			if due := f.End.Add(FollowupLimit); now.After(due) && now.Sub(f.End) <= FollowupWatch {
				st.OverdueFollowups = append(st.OverdueFollowups, f.ID)
				if overdueSince.IsZero() || due.Before(overdueSince) {
					overdueSince = due
				}
			}
		}
		add := func(l Level, what string, since time.Time, text string, in textFunc) {
			p := Problem{Level: l, What: what, Text: text, textIn: in}
			if !since.IsZero() {
				p.Since = since.Format(time.RFC3339)
			}
			st.Problems = append(st.Problems, p)
			st.Level = max(st.Level, l)
		}
		grace := j.Schedule.Interval() + j.TimeStandard.D()
		if lb := st.LastBackup; lb != nil {
			st.LastBackupID, st.LastBackupAt, st.LastResult, st.LastFailure = lb.ID, lb.End, lb.Result, lb.Failure
			in := func(l i18n.Lang, loc *time.Location) string {
				return l.T("st.text.run", lb.ID, runlog.KindLabel(l, lb.Failure), dated(lb.End)(l, loc))
			}
			switch lb.Result {
			case runlog.Failed:
				add(Critical, "backup-failed", lb.End, fmt.Sprintf("last backup %s failed: %s", lb.ID, lb.Failure), in)
			case runlog.Partial:
				add(Warning, "backup-partial", lb.End, fmt.Sprintf("last backup %s was partial: %s", lb.ID, lb.Failure), in)
			}
		}
		switch {
		case !st.LastSuccessAt.IsZero():
			st.BackupDue = st.LastSuccessAt.Add(grace)
			if now.After(st.BackupDue) {
				last := st.LastSuccessAt
				add(Critical, "backup-overdue", st.BackupDue, fmt.Sprintf("no successful backup since %s", stamp(last)),
					func(l i18n.Lang, loc *time.Location) string { return l.T("st.text.since", stampIn(l, loc, last)) })
			}
		case j.ActiveSince.IsZero() || now.After(j.ActiveSince.Add(grace)):
			add(Critical, "never-backed-up", time.Time{}, "no successful backup recorded", dated(time.Time{}))
		}
		st.RestoreTestDue = RestoreTestDue(interval, st.LastRestoreTest, firstOK, j.ActiveSince, now)
		if now.After(st.RestoreTestDue) {
			add(Warning, "restore-test-overdue", st.RestoreTestDue, fmt.Sprintf("restore test due since %s", st.RestoreTestDue.In(loc).Format("2006-01-02")), dated(st.RestoreTestDue))
		}
		if len(j.Media) > 0 {
			st.NextMedium = j.Media[j.DueMedium(lastOKMedium, now)].Name
		}
		if o := j.Offsite; o != nil {
			maxAge := o.MaxAge.D()
			if maxAge <= 0 {
				maxAge = jobs.DefaultOffsiteMaxAge
			}
			off := &Offsite{Name: o.Name, Repository: location.Redact(o.Repository), MaxAgeMS: maxAge.Milliseconds()}
			st.Offsite = off
			if lastCopy != nil {
				off.LastID, off.LastResult, off.LastFailure = lastCopy.ID, lastCopy.Result, lastCopy.Failure
			}
			switch {
			case lastCopyOK != nil:
				off.LastCopyAt, off.LastCopyID = lastCopyOK.End, lastCopyOK.ID
				off.Due = lastCopyOK.End.Add(maxAge)
				if now.After(off.Due) {
					add(Warning, "offsite-overdue", off.Due, fmt.Sprintf("no copy to offsite medium %s since %s", o.Name, stamp(lastCopyOK.End)),
						func(l i18n.Lang, loc *time.Location) string {
							return l.T("st.text.offsite-since", o.Name, stampIn(l, loc, lastCopyOK.End))
						})
				}
			case j.ActiveSince.IsZero() || now.After(j.ActiveSince.Add(maxAge)):
				add(Warning, "offsite-never", time.Time{}, fmt.Sprintf("no copy to offsite medium %s recorded", o.Name),
					func(l i18n.Lang, _ *time.Location) string { return l.T("st.text.offsite", o.Name) })
			}
			if lastCopy != nil && lastCopy != lastCopyOK {
				add(Warning, "offsite-failed", lastCopy.End, fmt.Sprintf("last copy %s to offsite medium %s failed: %s", lastCopy.ID, o.Name, lastCopy.Failure),
					func(l i18n.Lang, loc *time.Location) string {
						return l.T("st.text.offsite-run", lastCopy.ID, o.Name, runlog.KindLabel(l, lastCopy.Failure), dated(lastCopy.End)(l, loc))
					})
			}
		}
		if len(st.OpenFollowups) > 0 {
			// Reported, not alarmed: a failure awaiting its follow-up is
			// already alarmed by its own run, within the day the SOP
			// gives to follow it up.
			ids := strings.Join(st.OpenFollowups, ", ")
			st.Problems = append(st.Problems, Problem{Level: OK, What: "followup-open",
				Text:   fmt.Sprintf("%s without follow-up: %s", runs(len(st.OpenFollowups)), ids),
				textIn: func(i18n.Lang, *time.Location) string { return ids }})
		}
		if len(st.OverdueFollowups) > 0 {
			// After it, the failure is a warning of its own: a later
			// run that went well clears the run's alarm, not the SOP's
			// follow-up (step 5).
			ids := strings.Join(st.OverdueFollowups, ", ")
			add(Warning, "followup-overdue", overdueSince, fmt.Sprintf("%s without follow-up for more than a day: %s",
				runs(len(st.OverdueFollowups)), ids), func(i18n.Lang, *time.Location) string { return ids })
		}
		rep.Jobs = append(rep.Jobs, st)
	}
	return rep
}

// AddRunLog adds to every job (the run log is one for all) a warning for
// what the run log says of itself (runlog.Log.Health), as monitoring must
// hear of it: an error among fs (runlog-problems) keeps every head out of
// the repositories until it is dealt with, so that a replacement server
// cannot prove from the medium that its records are complete; a copy that
// failed (runlog-not-copied) leaves records on this server only. A clock
// that stepped back (runlog-clock-back) is a warning while either record
// around the step is from the last FollowupWatch: the chain keeps the
// order, but the logged times of the runs after the step are the clock's,
// and the monthly analysis places runs by them. recs are the run log's
// records, to date the step.
func (r *Report) AddRunLog(fs []runlog.Finding, recs []runlog.Record) {
	var errs, notCopied, steps []runlog.Finding
	var stepSince time.Time
	logged := map[string]time.Time{}
	for _, rec := range recs {
		logged[fmt.Sprintf("%s/%d", rec.Chain, rec.Seq)] = rec.Logged
	}
	for _, f := range fs {
		switch {
		case !f.Warning:
			errs = append(errs, f)
		case f.Problem == runlog.NotCopied:
			notCopied = append(notCopied, f)
		case f.Problem == runlog.ClockBack && f.Copy == "local":
			at := logged[fmt.Sprintf("%s/%d", f.Chain, f.Seq)]
			before := logged[fmt.Sprintf("%s/%d", f.Chain, f.Seq-1)]
			if recent(r.At, at) || recent(r.At, before) {
				steps = append(steps, f)
				if stepSince.IsZero() || at.Before(stepSince) {
					stepSince = at
				}
			}
		}
	}
	var add []Problem
	if p, ok := clockBehind(recs, r.At, r.zone()); ok {
		add = append(add, p)
	}
	if len(errs) > 0 {
		add = append(add, Problem{Level: Warning, What: "runlog-problems",
			Text:   fmt.Sprintf("the run log has %d problem(s), so no head of it is written into the repositories; the first: %s; run 'cadang log verify'", len(errs), errs[0]),
			textIn: dated(time.Time{})})
	}
	for _, f := range notCopied {
		add = append(add, Problem{Level: Warning, What: "runlog-not-copied", Text: f.String(), textIn: dated(time.Time{})})
	}
	if len(steps) > 0 {
		in := func(l i18n.Lang, _ *time.Location) string {
			ts := make([]string, len(steps))
			for i, f := range steps {
				ts[i] = l.T("st.clock_step", f.RecordID, f.Seq, f.DetailIn(l))
			}
			return strings.Join(ts, "; ")
		}
		p := Problem{Level: Warning, What: "runlog-clock-back", Text: in(i18n.EN, nil), textIn: in}
		if !stepSince.IsZero() {
			p.Since = stepSince.Format(time.RFC3339)
		}
		add = append(add, p)
	}
	for i := range r.Jobs {
		j := &r.Jobs[i]
		for _, p := range add {
			j.Problems = append(j.Problems, p)
			j.Level = max(j.Level, p.Level)
		}
	}
}

// ClockMargin is how far the clock may stand behind the newest record
// before status warns clock-behind. Two hosts that write one run log (the
// backup host's forget and prune), or one whose NTP is still slewing it,
// log records a few seconds apart from each other's clock: a record
// logged a moment ago by a clock a second ahead is no step back. Two
// minutes is far above what synchronised clocks differ by (milliseconds;
// chrony slews at most 83 ms a second, so seconds within a minute) and far
// below anything status counts in (an hour's backup interval, a day's
// follow-up), so a clock wrong by less misplaces nothing that status
// reports; the ages of a time less than it ahead are still not told.
const ClockMargin = 2 * time.Minute

// zone is the zone of the English texts.
func (r *Report) zone() *time.Location {
	if r.loc == nil {
		return time.Local
	}
	return r.loc
}

// clockBehind is the warning for a clock that stands more than ClockMargin
// behind the newest of recs at now: it stepped back after that record was
// logged (until it passes it again, the next records are clock-back ones).
// The ages that status and monitoring count from now would be negative:
// they are not told (WriteNagios), and this says why. Its English text
// gives the times in zone, naming it, as the other problems do.
func clockBehind(recs []runlog.Record, now time.Time, zone *time.Location) (Problem, bool) {
	var newest *runlog.Record
	for i := range recs {
		if newest == nil || recs[i].Logged.After(newest.Logged) {
			newest = &recs[i]
		}
	}
	if newest == nil || newest.Logged.Sub(now) <= ClockMargin {
		return Problem{}, false
	}
	step := newest.Logged.Sub(now).Round(time.Second)
	in := func(l i18n.Lang, loc *time.Location) string {
		stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
		d := step.String()
		if l != i18n.EN {
			stamp = func(t time.Time) string { return stampIn(l, loc, t) }
			d = l.Duration(step)
		}
		return l.T("st.clock_behind_text", stamp(now), d, newest.ID, newest.Seq, stamp(newest.Logged)) + "; " + runlog.ClockAction(l)
	}
	return Problem{Level: Warning, What: "clock-behind", Since: newest.Logged.Format(time.RFC3339), Text: in(i18n.EN, zone), textIn: in}, true
}

// recent says whether t is within FollowupWatch before now.
func recent(now, t time.Time) bool {
	return !t.IsZero() && !t.After(now) && now.Sub(t) <= FollowupWatch
}

// WriteJSON writes the report as JSON on one line, like every --json output.
func (r *Report) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(struct {
		*Report
		Exit int `json:"exit_code"`
	}{r, r.ExitCode()})
}

// WriteText writes the report as a table for a terminal.
func (r *Report) WriteText(w io.Writer, l i18n.Lang, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join([]string{l.T("col.job"), l.T("st.last_backup") + " (" + runlog.ZoneName(loc) + ")", l.T("col.result"), l.T("st.next_medium"), l.T("st.last_test"), l.T("st.test_due"),
		l.T("st.last_offsite"), l.T("st.state")}, "\t"))
	for _, j := range r.Jobs {
		res := runlog.ResultLabel(l, j.LastResult)
		if j.LastFailure != "" {
			res += " (" + runlog.KindLabel(l, j.LastFailure) + ")"
		}
		// The offsite column names the medium and the last copy that
		// succeeded; "-" for a job without one.
		off := "-"
		if o := j.Offsite; o != nil {
			off = o.Name + " " + l.Stamp(inLoc(o.LastCopyAt, loc))
		}
		fmt.Fprintln(tw, strings.Join([]string{j.Name, l.Stamp(inLoc(j.LastBackupAt, loc)), res, or(j.NextMedium, "-"),
			l.ShortDate(inLoc(j.LastRestoreTest, loc)), l.ShortDate(inLoc(j.RestoreTestDue, loc)), off, l.T(fmt.Sprintf("st.level%d", j.Level))}, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, j := range r.Jobs {
		for _, p := range j.Problems {
			// The detail text is English; in another language the line
			// says the same facts in that language (textIn), so that
			// the output stays in one language.
			text := p.Text
			if l != i18n.EN {
				text = p.textFor(l, loc)
			}
			if text == "" {
				fmt.Fprintf(w, "%s: %s\n", j.Name, l.T("st."+p.What))
				continue
			}
			fmt.Fprintf(w, "%s: %s: %s\n", j.Name, l.T("st."+p.What), text)
		}
	}
	return nil
}

// textFor is the detail of p in language l, its times in loc.
func (p Problem) textFor(l i18n.Lang, loc *time.Location) string {
	if p.textIn != nil {
		return p.textIn(l, loc)
	}
	t, _ := time.Parse(time.RFC3339, p.Since) // zero when none
	return dated(t)(l, loc)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func inLoc(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() || loc == nil {
		return t
	}
	return t.In(loc)
}

// Only returns the report of one job, for a monitoring check per job.
func (r *Report) Only(job string) (*Report, error) {
	for _, j := range r.Jobs {
		if j.Name == job {
			return &Report{At: r.At, Jobs: []Job{j}, loc: r.loc}, nil
		}
	}
	names := make([]string, len(r.Jobs))
	for i, j := range r.Jobs {
		names[i] = j.Name
	}
	return nil, fmt.Errorf("no job %q in the configuration (jobs: %s)", job, strings.Join(names, ", "))
}

// nagiosState is the plugin state word of each exit code.
var nagiosState = [...]string{ExitOK: "OK", ExitWarning: "WARNING", ExitCritical: "CRITICAL", ExitUnknown: "UNKNOWN"}

// WriteNagios writes the report as one line of a Nagios/Icinga plugin:
// "CADANG STATE - summary | performance data", the state being that of the
// exit code. The summary names each job that needs attention and why; the
// performance data give, per job, the age of the last successful backup
// and restore test and of the last offsite copy (seconds), and the bytes
// the last backup added and how long it took.
func (r *Report) WriteNagios(w io.Writer) error {
	code := r.ExitCode()
	var bad []string
	for _, j := range r.Jobs {
		if j.Level == OK {
			continue
		}
		var what []string
		for _, p := range j.Problems {
			if p.Level != OK {
				what = append(what, p.What)
			}
		}
		bad = append(bad, j.Name+": "+strings.Join(what, ", "))
	}
	summary := fmt.Sprintf("%d job(s) ok", len(r.Jobs))
	if len(bad) > 0 {
		summary = strings.Join(bad, "; ")
	}
	var perf []string
	age := func(job, what string, t time.Time) {
		// A time after now (the clock stepped back: clock-behind says
		// so) has no age to tell.
		if !t.IsZero() && !t.After(r.At) {
			perf = append(perf, fmt.Sprintf("'%s_%s_age'=%ds;;;0", job, what, int64(r.At.Sub(t).Seconds())))
		}
	}
	for _, j := range r.Jobs {
		age(j.Name, "backup", j.LastSuccessAt)
		age(j.Name, "restore_test", j.LastRestoreTest)
		if j.Offsite != nil {
			age(j.Name, "offsite", j.Offsite.LastCopyAt)
		}
		if b := j.LastBackup; b != nil {
			perf = append(perf, fmt.Sprintf("'%s_bytes_added'=%dB;;;0", j.Name, b.BytesAdded),
				fmt.Sprintf("'%s_duration'=%.1fs;;;0", j.Name, b.Duration().Seconds()))
		}
		perf = append(perf, fmt.Sprintf("'%s_problems'=%d;1;;0", j.Name, countProblems(j)))
	}
	line := fmt.Sprintf("CADANG %s - %s", nagiosState[code], summary)
	if len(perf) > 0 {
		line += " | " + strings.Join(perf, " ")
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func countProblems(j Job) int {
	n := 0
	for _, p := range j.Problems {
		if p.Level != OK {
			n++
		}
	}
	return n
}
