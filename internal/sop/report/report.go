// Package report builds the SOP documents from the configuration and the run
// log: the list of database and application backups (inventory), the backup
// execution log, the failure analysis report, the monthly analysis, the
// restore test report, the restore request form and the restore minutes.
// Each is a doc.Document, rendered by package doc as Markdown, HTML or PDF.
package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// SOPNumber is the SOP these documents implement.
const SOPNumber = "800/SET-BP/SOP-01/LPSE/032/2019"

// Env is what every document needs.
type Env struct {
	Config *jobs.Config
	Lang   i18n.Lang
	Now    time.Time // when the document is made (from the injected clock)
	// Head is the hash of the newest record of the local run log chain
	// (runlog.VerifyReport.Local.Head); printed in the footer, all 256
	// bits, as an anchor for `cadang log verify --expect-head`.
	Head string
	// Key is the fingerprint of the key that signs the run log
	// (runlog.VerifyReport.Key); printed in the footer beside Head.
	Key string
	// Locate tells where each medium of the inventory is; nil:
	// LocateMedia, which looks at this machine's filesystems.
	Locate MediaLocator
}

func (e Env) loc() *time.Location { return e.Config.Location() }

func (e Env) t(key string, args ...any) string { return e.Lang.T(key, args...) }

// newDoc starts a document with the organisation header and footer.
func (e Env) newDoc(titleKey string) *doc.Document {
	o := e.Config.Organization
	d := &doc.Document{Lang: string(e.Lang), Org: o.Name, Unit: o.Unit, Title: e.t(titleKey),
		PageOf: e.t("doc.pageof"), Created: e.Now}
	// Every page names its document, so that a page of signatures or of a
	// long table cannot be taken for another's; the documents of one run
	// add its ID.
	d.Ref = d.Title
	foot := e.t("doc.footer", SOPNumber, e.Lang.DateTime(e.Now.In(e.loc())))
	if e.Head != "" {
		foot += " " + e.t("doc.head", e.Head)
	}
	if e.Key != "" {
		foot += " " + e.t("doc.key", e.Key)
	}
	d.Footer = foot
	if len(o.LetterheadLines) > 0 || o.LetterheadLogo != "" {
		d.Letterhead = doc.Letterhead{Logo: e.Config.Abs(o.LetterheadLogo), Lines: o.LetterheadLines}
	}
	return d
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (e Env) dt(t time.Time) string { return e.Lang.DateTime(t.In(e.loc())) }
func (e Env) stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return e.Lang.Stamp(t.In(e.loc()))
}

// signedBy returns the signature block of the administrator and the head.
func (e Env) adminAndHead() doc.Signatures {
	o := e.Config.Organization
	return doc.Signatures{
		PlaceDate: e.placeDate(),
		Signers: []doc.Signer{
			{Role: e.t("sig.made_by"), Name: o.Administrator.Name, Title: or(o.Administrator.Title, e.t("role.admin")), NIP: o.Administrator.NIP},
			{Role: e.t("sig.known_by"), Name: o.Head.Name, Title: or(o.Head.Title, e.t("role.head")), NIP: o.Head.NIP},
		},
	}
}

func (e Env) placeDate() string { return e.placeDateOn(e.Now) }

// placeDateOn is the place and date of signing, e.g. "Gorontalo, 9 Maret
// 2026".
func (e Env) placeDateOn(t time.Time) string {
	city := e.Config.Organization.City
	d := e.Lang.Date(t.In(e.loc()))
	if city == "" {
		return d
	}
	return city + ", " + d
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (e Env) jobInfo(j *jobs.Job) string {
	in := j.Info()
	return fmt.Sprintf("%d. %s", in.No, e.Lang.Pick(in.NameID, in.NameEN))
}

func (e Env) class(c jobs.Classification) string { return e.t("class." + string(c)) }

func (e Env) sources(j *jobs.Job) string {
	var s []string
	for _, src := range j.Sources {
		if len(src.Databases) > 0 {
			s = append(s, src.Name+": "+e.postgresSource(src))
			continue
		}
		if src.IsDump() {
			s = append(s, fmt.Sprintf("%s: %s -> %s", src.Name, strings.Join(src.Command, " "), src.Filename))
			continue
		}
		x := fmt.Sprintf("%s: %s", src.Name, strings.Join(src.Paths, ", "))
		if len(src.Exclude) > 0 {
			x += " (" + e.t("inv.except") + " " + strings.Join(src.Exclude, ", ") + ")"
		}
		s = append(s, x)
	}
	return strings.Join(s, "\n")
}

// postgresSource describes a databases source: which databases of which
// server, and that cadang dumps the globals and each database itself.
func (e Env) postgresSource(src jobs.Source) string {
	what := e.t("inv.pg_list", strings.Join(src.Databases, ", "))
	for _, db := range src.Databases {
		if db == jobs.AllDatabases {
			what = e.t("inv.pg_all")
		}
	}
	if src.PGHost != "" || src.PGPort != 0 {
		server := src.PGHost
		if src.PGPort != 0 {
			server = fmt.Sprintf("%s:%d", or(server, "localhost"), src.PGPort)
		}
		what += ", " + e.t("inv.pg_server", server)
	}
	return what
}

func (e Env) media(j *jobs.Job) string {
	var s []string
	for i, m := range j.Media {
		s = append(s, fmt.Sprintf("%d. %s (%s, ID %s)", i+1, m.Name, m.Repository, short(m.RepositoryID, 8)))
	}
	if o := j.Offsite; o != nil {
		// The copy off the server belongs to the job's media, outside the
		// rotation.
		where := o.Repository
		if o.RepositoryID != "" {
			where += ", ID " + short(o.RepositoryID, 8)
		}
		s = append(s, e.t("inv.offsite", o.Name, where))
	}
	return strings.Join(s, "\n")
}

func (e Env) retention(r jobs.Retention) string {
	if r.IsZero() {
		return e.t("inv.keep_all")
	}
	var s []string
	for _, x := range []struct {
		n   int
		key string
	}{{r.Last, "inv.last"}, {r.Hourly, "inv.hourly"}, {r.Daily, "inv.daily"}, {r.Weekly, "inv.weekly"}, {r.Monthly, "inv.monthly"}, {r.Yearly, "inv.yearly"}} {
		if x.n > 0 {
			s = append(s, e.t(x.key, x.n))
		}
	}
	if r.Within > 0 {
		s = append(s, e.t("inv.within", e.Lang.Span(r.Within.D())))
	}
	return e.t("inv.configured", strings.Join(s, ", "))
}

// Inventory is the "Daftar Backup Database dan Aplikasi": every job with its
// information class, classification, sources, media, schedule, time
// standard and retention, and its last backup from recs (may be nil).
func (e Env) Inventory(recs []runlog.Record) *doc.Document {
	d := e.newDoc("inv.title")
	d.Landscape = true
	d.Subtitle = e.t("inv.subtitle")
	d.Meta = []doc.Field{{Label: e.t("f.sop"), Value: SOPNumber}, {Label: e.t("f.date"), Value: e.Lang.Date(e.Now.In(e.loc()))}}
	var rows [][]string
	for i := range e.Config.Jobs {
		j := &e.Config.Jobs[i]
		last := "-"
		for k := len(recs) - 1; k >= 0; k-- {
			// A plain `cadang backup` of the job's medium did not back up
			// the job (runlog.TagManual).
			if recs[k].Job == j.Name && recs[k].JobBackup() {
				last = e.stamp(recs[k].End) + " " + runlog.ResultLabel(e.Lang, recs[k].Result)
				break
			}
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), j.Name + "\n" + j.Description, e.jobInfo(j), e.class(j.Classification),
			e.sources(j), e.media(j), e.t("sched."+string(j.Schedule)) + "\n" + e.t("inv.standard", e.Lang.Duration(j.TimeStandard.D())),
			strings.TrimSpace(e.retention(j.Retention) + "\n" + e.applied(j, recs)), last})
	}
	d.Blocks = append(d.Blocks,
		doc.Table{Header: []string{e.t("col.no"), e.t("col.job"), e.t("inv.info"), e.t("inv.class"), e.t("inv.sources"), e.t("inv.media"),
			e.t("inv.schedule"), e.t("inv.retention"), e.t("st.last_backup")},
			Rows: rows, Widths: []float64{3, 9, 11, 8, 16, 14, 9, 14, 10}},
		doc.Paragraph{Text: e.t("inv.note_media")},
		doc.List(e.mediaLocations()),
		e.adminAndHead())
	return d
}

// mediaLocations says, for every medium of every job, where it is seen from
// the source server, rather than claim that every medium is apart from it.
func (e Env) mediaLocations() []string {
	locate := e.Locate
	if locate == nil {
		locate = LocateMedia
	}
	var out []string
	for i := range e.Config.Jobs {
		j := &e.Config.Jobs[i]
		var paths []string
		for _, src := range j.Sources {
			paths = append(paths, src.Paths...)
		}
		add := func(name, repo string) {
			key := "inv.loc_" + string(locate(repo, paths))
			out = append(out, e.t(key, j.Name+" "+name, repo))
		}
		for _, m := range j.Media {
			add(m.Name, m.Repository)
		}
		if o := j.Offsite; o != nil {
			add(o.Name, o.Repository)
		}
	}
	return out
}

// RunLog is the "Log Pelaksanaan Backup" for the records given (already
// filtered by the caller), with the period it covers in words.
func (e Env) RunLog(recs []runlog.Record, period string) *doc.Document {
	d := e.newDoc("log.title")
	d.Landscape = true
	d.Subtitle = period
	d.Meta = []doc.Field{{Label: e.t("f.sop"), Value: SOPNumber + " (" + e.t("log.step") + ")"}, {Label: e.t("f.host"), Value: hosts(recs)}}
	var rows [][]string
	for _, r := range recs {
		rows = append(rows, e.runLogRow(r))
	}
	if len(rows) == 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("log.empty")})
	} else {
		d.Blocks = append(d.Blocks, doc.Table{Header: []string{e.t("col.id"), e.t("col.op"), e.t("col.job"), e.t("col.medium"), e.t("f.operator"),
			e.t("col.start"), e.t("col.end"), e.t("col.duration"), e.t("log.std"), e.t("log.bytes"), e.t("log.files"), e.t("log.snapshots"), e.t("col.result")},
			Rows: rows, MaxLines: []int{1: 3}})
	}
	d.Blocks = append(d.Blocks, e.adminAndHead())
	return d
}

// runLogRow is one row of the run log. A follow-up reads, moves and stores
// nothing: its figures are dashes rather than zeros. The end time leaves out
// the date when the run ended on the day it started, which keeps the usual
// row on one line.
func (e Env) runLogRow(r runlog.Record) []string {
	what := runlog.OpLabel(e.Lang, r.Op)
	if r.HasTag(runlog.TagBeforeChange) {
		what += " (" + e.t("tag.before-change") + ": " + r.Reason + ")"
	}
	std := e.standardMet(r)
	end := e.stamp(r.End)
	if s, en := r.Start.In(e.loc()), r.End.In(e.loc()); !r.Start.IsZero() && s.YearDay() == en.YearDay() && s.Year() == en.Year() {
		end = en.Format(e.Lang.Pick("15.04", "15:04")) // as in the start stamp
	}
	dur := e.Lang.Duration(r.Duration())
	bytes := e.Lang.Bytes(r.BytesRead) + " / " + e.Lang.Bytes(r.BytesAdded)
	files := e.Lang.Int(r.FilesRead) + " / " + e.Lang.Int(r.FilesAdded)
	if r.Op == runlog.OpFollowup {
		what += " " + r.Ref + ": " + r.Message
		std, end, dur, bytes, files = "-", "-", "-", "-", "-"
	}
	return []string{r.ID, what, dash(r.Job), dash(r.Medium), r.Operator, e.stamp(r.Start), end,
		dur, std, bytes, files, dash(strings.Join(shortIDs(r.Snapshots), " ")), runlog.ResultLabel(e.Lang, r.Result) + kindSuffix(e.Lang, r.Failure)}
}

func hosts(recs []runlog.Record) string {
	seen := map[string]bool{}
	var hs []string
	for _, r := range recs {
		if r.Host != "" && !seen[r.Host] {
			seen[r.Host] = true
			hs = append(hs, r.Host)
		}
	}
	return strings.Join(hs, ", ")
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, s := range ids {
		out[i] = short(s, 8)
	}
	return out
}

func kindSuffix(l i18n.Lang, k runlog.FailureKind) string {
	if k == "" {
		return ""
	}
	return " (" + runlog.KindLabel(l, k) + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// standardMet says whether run r kept its time standard, as its record's
// standard_met says (runlog.Record.MetStandard): "-" without a standard,
// and "No" for a run that failed or was partial, however quickly, as it
// did not do its work within the standard (the monthly analysis counts it
// so). It once said "-" for those, while 'cadang log' showed the record's
// false beside the document.
func (e Env) standardMet(r runlog.Record) string {
	if r.TimeStandard <= 0 {
		return "-"
	}
	return e.yesNo(r.MetStandard())
}

// standardMetWhy is standardMet with, for a run that failed or was partial
// for a cause other than its time, why a quick run did not meet it: a
// "No" beside a duration well within the standard reads as a mistake.
func (e Env) standardMetWhy(r runlog.Record) string {
	s := e.standardMet(r)
	if r.TimeStandard <= 0 || r.Failure == runlog.KindTimeStandard {
		return s
	}
	switch r.Result {
	case runlog.Partial:
		return e.t("f.met_partial", s)
	case runlog.Failed:
		return e.t("f.met_failed", s)
	}
	return s
}

func (e Env) yesNo(b bool) string {
	if b {
		return e.t("yes")
	}
	return e.t("no")
}

// runJob is the job of a run: the record's, or for a restore test run
// without a configuration file (no job of its own) the jobs the job: tags
// of the snapshots it tested name, as the restore minutes take the job
// from the restored snapshot's tag.
func runJob(r *runlog.Record) string {
	if r.Job != "" || r.Test == nil {
		return r.Job
	}
	var jobs []string
	for _, s := range r.Test.Snapshots {
		if s.Job != "" && !slices.Contains(jobs, s.Job) {
			jobs = append(jobs, s.Job)
		}
	}
	return strings.Join(jobs, ", ")
}

// backupOfSnapshot finds in recs the backup that made snapshot id: its
// job and the name of its source ("" where the record does not say). An
// older record that lacks them (a restore's snapshot_job, a restore test's
// snapshot source) is completed from it.
func backupOfSnapshot(recs []runlog.Record, id string) (job, source string, ok bool) {
	if id == "" {
		return "", "", false
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := &recs[i]
		if r.Op != runlog.OpBackup {
			continue
		}
		for _, s := range r.Sources {
			if s.Snapshot == id {
				return r.Job, s.Name, true
			}
		}
		if slices.Contains(r.Snapshots, id) {
			return r.Job, "", true
		}
	}
	return "", "", false
}

// runFields describes a run record as fields.
func (e Env) runFields(r *runlog.Record) doc.Fields {
	fs := doc.Fields{
		{Label: e.t("f.run_id"), Value: r.ID},
		{Label: e.t("f.op"), Value: runlog.OpLabel(e.Lang, r.Op)},
		{Label: e.t("f.job"), Value: runJob(r)},
		{Label: e.t("f.medium"), Value: r.Medium},
		{Label: e.t("f.repository"), Value: r.Repository},
		{Label: e.t("f.repo_id"), Value: r.RepositoryID},
		{Label: e.t("f.host"), Value: r.Host},
		{Label: e.t("f.operator"), Value: r.Operator},
		{Label: e.t("f.start"), Value: e.dt(r.Start)},
		{Label: e.t("f.end"), Value: e.dt(r.End)},
		{Label: e.t("f.duration"), Value: e.Lang.Duration(r.Duration())},
	}
	if r.TimeStandard > 0 {
		fs = append(fs, doc.Field{Label: e.t("f.standard"), Value: e.t("f.standard_v", e.Lang.Duration(time.Duration(r.TimeStandard)*time.Millisecond), e.standardMetWhy(*r))})
	}
	if r.Op == runlog.OpBackup {
		fs = append(fs,
			doc.Field{Label: e.t("log.bytes"), Value: e.Lang.Bytes(r.BytesRead) + " / " + e.Lang.Bytes(r.BytesAdded)},
			doc.Field{Label: e.t("log.files"), Value: e.Lang.Int(r.FilesRead) + " / " + e.Lang.Int(r.FilesAdded)},
			doc.Field{Label: e.t("log.snapshots"), Value: strings.Join(r.Snapshots, "\n")})
	}
	if c := r.Copy; c != nil {
		// A copy (an offsite copy of `cadang run`, or `cadang copy`):
		// where from, and what it got done before it ended.
		fs = append(fs,
			doc.Field{Label: e.t("f.copy_from"), Value: strings.TrimSpace(c.From + " " + short(c.FromID, 8))},
			doc.Field{Label: e.t("f.copied"), Value: copiedValue(e, c)})
	}
	if r.HasTag(runlog.TagBeforeChange) {
		fs = append(fs, doc.Field{Label: e.t("tag.before-change"), Value: r.Reason})
	}
	fs = append(fs,
		doc.Field{Label: e.t("f.result"), Value: runlog.ResultLabel(e.Lang, r.Result)},
		doc.Field{Label: e.t("f.failure"), Value: runlog.KindLabel(e.Lang, r.Failure)},
		doc.Field{Label: e.t("f.message"), Value: runlog.MessageText(e.Lang, r)},
		doc.Field{Label: e.t("f.hash"), Value: r.Hash})
	return fs
}

// copiedValue says what a copy copied, and what it passed over because the
// destination had forgotten it, when it did.
func copiedValue(e Env, c *runlog.CopyInfo) string {
	if c.Forgotten > 0 {
		return e.t("f.copied_vf", c.Copied, c.Skipped, c.Forgotten, e.Lang.Bytes(c.Bytes))
	}
	return e.t("f.copied_v", c.Copied, c.Skipped, e.Lang.Bytes(c.Bytes))
}
