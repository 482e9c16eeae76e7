package report

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// blankDate is the date line of a blank form, to be written by hand.
const blankDate = "...................."

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// RestoreRequest is the "Form Permintaan Restore" (SOP steps 4 and 7):
// blank when r is nil, to print and fill in by hand, or filled from a
// restore record. Of o, a filled form takes the requester's position and
// unit (else the record's) and the date of signing (else the request's
// date, the one the form is dated with at its top).
func (e Env) RestoreRequest(r *runlog.Record, o MinutesOptions) *doc.Document {
	d := e.newDoc("req.title")
	d.Subtitle = e.t("req.subtitle")
	var info runlog.RestoreInfo
	if r != nil && r.Restore != nil {
		info = *r.Restore
	}
	filled := r != nil
	v := func(s string) string {
		if !filled {
			return ""
		}
		return s
	}
	reqDate, requested := "", time.Time{}
	if filled {
		requested = requestDate(*r)
		reqDate = e.Lang.Date(requested.In(e.loc()))
	}
	d.Meta = []doc.Field{
		{Label: e.t("req.number"), Value: v(info.RequestID), Blank: true},
		{Label: e.t("f.date"), Value: reqDate, Blank: true},
	}
	// A filled form is signed on the day of the request it dates at its
	// top, not on the day it was printed, unless a date of signing is
	// given; a blank form is dated by whoever fills it in (issue 15).
	placeDate := e.placeDateOn(requested)
	if !o.SignedOn.IsZero() {
		placeDate = e.placeDateOn(o.SignedOn)
	}
	if !filled {
		placeDate = blankDate
		if city := e.Config.Organization.City; city != "" {
			placeDate = city + ", " + blankDate
		}
	}
	reason := strings.ToLower(info.Reason)
	ticks := []bool{
		filled && strings.Contains(reason, "lkpp"),
		filled && (strings.Contains(reason, "server") || strings.Contains(reason, "hardware") || strings.Contains(reason, "perangkat")),
		filled && r.Op == runlog.OpRestoreTest,
	}
	ticks = append(ticks, filled && !ticks[0] && !ticks[1] && !ticks[2])
	paths := ""
	if filled {
		paths = strings.Join(info.Paths, "\n")
	}
	d.Blocks = append(d.Blocks,
		doc.Heading{Text: e.t("req.h_requester")},
		doc.Fields{
			{Label: e.t("req.name"), Value: v(info.RequestedBy), Blank: true},
			{Label: e.t("req.unit"), Value: v(strings.Join(o.requester(info), ", ")), Blank: true},
		},
		doc.Heading{Text: e.t("req.h_request")},
		doc.Choice{Label: e.t("req.reason_kind"), Options: []string{e.t("req.r_ito"), e.t("req.r_hw"), e.t("req.r_test"), e.t("req.r_other")}, Ticked: ticks},
		doc.Fields{
			{Label: e.t("req.reason"), Value: v(info.Reason), Blank: true},
			{Label: e.t("f.job"), Value: v(jobOf(r)), Blank: true},
			{Label: e.t("req.what"), Value: paths, Blank: true},
			{Label: e.t("req.snapshot"), Value: v(e.snapshotCell(info)), Blank: true},
			{Label: e.t("req.target"), Value: v(info.Target), Blank: true},
			{Label: e.t("req.needed_by"), Blank: true},
		},
		doc.Paragraph{Text: e.t("req.note")},
		doc.Signatures{PlaceDate: placeDate, Signers: []doc.Signer{
			{Role: e.t("sig.requester"), Name: v(info.RequestedBy), Title: v(strings.Join(o.requester(info), "\n"))},
			{Role: e.t("sig.approved"), Name: e.Config.Organization.Head.Name, Title: or(e.Config.Organization.Head.Title, e.t("role.head")), NIP: e.Config.Organization.Head.NIP},
		}},
	)
	return d
}

// requestDate is the date of the request of restore r: the one recorded
// (restore --requested-on), else the day of the restore.
func requestDate(r runlog.Record) time.Time {
	if r.Restore != nil && !r.Restore.RequestedAt.IsZero() {
		return r.Restore.RequestedAt
	}
	return r.Start
}

// requester is the requester's position and unit, each as given in o,
// else as recorded with the restore.
func (o MinutesOptions) requester(info runlog.RestoreInfo) []string {
	return nonEmpty(or(o.RequesterPosition, info.RequesterPosition), or(o.RequesterUnit, info.RequesterOf))
}

// snapshotCell is the row "Snapshot / backup date" of the restore request
// and minutes: the snapshot's ID, which ties the minutes to the repository,
// and on a line of its own the time the backup was taken, in the
// organisation's zone as every time of the document, which is what the
// requester asked for and what a signatory reads. A record without the time
// (zero) gives the ID alone.
func (e Env) snapshotCell(info runlog.RestoreInfo) string {
	if info.SnapshotAt.IsZero() {
		return info.Snapshot
	}
	return strings.TrimPrefix(info.Snapshot+"\n"+e.dt(info.SnapshotAt), "\n")
}

// restoreJobOf is the job of the snapshot a restore restored: the
// record's (RestoreJob), else, for a record written before restores kept
// the snapshot's job tag, the job of the backup that made the snapshot.
func restoreJobOf(r runlog.Record, recs []runlog.Record) string {
	if j := RestoreJob(r); j != "" || r.Restore == nil {
		return j
	}
	j, _, _ := backupOfSnapshot(recs, r.Restore.Snapshot)
	return j
}

func jobOf(r *runlog.Record) string {
	if r == nil {
		return ""
	}
	return r.Job
}

// MinutesOptions are what the restore's record does not say and the
// minutes need: given by flags of `cadang report restore`.
type MinutesOptions struct {
	// SignedOn is the date of signing; zero: the day of the restore.
	SignedOn time.Time
	// RequesterPosition and RequesterUnit describe the requester; empty:
	// as recorded with the restore (restore --requester-position,
	// --requester-unit).
	RequesterPosition, RequesterUnit string
	// Performer is who carried out the restore; empty: the administrator
	// of [organization], else the operating-system user of the record
	// (personOf).
	Performer string
	// SystemAccounts are the names of the accounts no person signs as
	// (root, and the name of uid 0 where it is another); SudoUser is who
	// ran sudo to make the minutes ($SUDO_USER), taken as the performer
	// of a restore that such an account recorded.
	SystemAccounts []string
	SudoUser       string
}

// personOf is the name of the person behind the account that recorded a
// restore, for the performer's signature: the sudo user the record names
// ("budi (sudo)"), or for a system account (root) the user who runs sudo
// now, or "" so that the name is written by hand above the title, not
// "root".
func (o MinutesOptions) personOf(operator string) string {
	if name, ok := strings.CutSuffix(operator, " (sudo)"); ok {
		return name
	}
	for _, a := range append([]string{"root"}, o.SystemAccounts...) {
		if operator == a {
			return o.SudoUser
		}
	}
	return operator
}

// mediumCell is the minutes' "Medium": the rotation medium's name, the
// location as the administrator typed it (-r), and the repository's short
// ID beside it, which ties the minutes to the repository; not the 64 hex
// digits alone, which no one reading the minutes recognises.
func mediumCell(r runlog.Record) string {
	s := strings.Join(nonEmpty(r.Medium, r.Repository), " – ")
	if r.RepositoryID == "" {
		return s
	}
	return strings.TrimSpace(s + " (ID " + short(r.RepositoryID, 8) + ")")
}

// RestoreMinutes is the "Berita Acara Pelaksanaan Restore" (SOP step 8):
// what was requested and by whom, what was restored from which snapshot and
// where to, the verification and the duration, signed by the requester, the
// performer and their superiors. It is dated on the day of the restore
// (or o.SignedOn) and numbered by [organization] numbering, counting the
// restores in recs.
func (e Env) RestoreMinutes(r runlog.Record, recs []runlog.Record, o MinutesOptions) (*doc.Document, error) {
	d := e.newDoc("ba.title")
	info := runlog.RestoreInfo{}
	if r.Restore != nil {
		info = *r.Restore
	}
	when := r.End.In(e.loc())
	number, err := e.minutesNumber(r, recs)
	if err != nil {
		return nil, err
	}
	d.Meta = []doc.Field{{Label: e.t("ba.number"), Value: number}}
	d.Ref = d.Title + " " + number // on every page: a page of signatures names what they sign
	signed := when
	if !o.SignedOn.IsZero() {
		signed = o.SignedOn
	}
	org := e.Config.Organization
	performer := or(o.Performer, or(org.Administrator.Name, o.personOf(r.Operator)))
	performed := performer
	if r.Operator != "" && r.Operator != performer {
		// the account that ran cadang, for the audit trail
		performed = strings.TrimSpace(performed + " (" + e.t("ba.account", r.Operator) + ")")
	}
	position := strings.Join(o.requester(info), ", ")
	// Without an organisation name in the configuration the place is
	// left out, not written as "at -".
	var opening string
	place := e.Config.Organization.Name
	if e.Lang == "en" {
		at := ""
		if place != "" {
			at = " at " + place + ","
		}
		opening = fmt.Sprintf("On %s, %s,%s a restore of backup data was carried out as described below.",
			e.Lang.Weekday(when.Weekday()), e.Lang.Date(when), at)
	} else {
		at := ""
		if place != "" {
			at = " bertempat di " + place + ","
		}
		// "Pada hari ini" (on this day) only when the minutes are signed
		// on the day of the restore: signed later (--signed-on), the day
		// is named without "ini".
		day := "Pada hari"
		if y, m, dd := signed.In(e.loc()).Date(); y == when.Year() && m == when.Month() && dd == when.Day() {
			day = "Pada hari ini"
		}
		opening = fmt.Sprintf("%s %s tanggal %s bulan %s tahun %s (%s),%s telah dilaksanakan restore data backup dengan rincian sebagai berikut.",
			day, e.Lang.Weekday(when.Weekday()), e.Lang.Words(when.Day()), e.Lang.MonthName(when.Month()), e.Lang.Words(when.Year()),
			when.Format("02-01-2006"), at)
	}
	verify := e.t("ba.not_verified")
	if info.Verified {
		verify = e.t("ba.verified")
	}
	if v := runlog.VerifyText(e.Lang, &r); v != "" {
		verify += " " + v
	}
	d.Blocks = append(d.Blocks,
		doc.Paragraph{Text: opening},
		doc.Heading{Text: e.t("ba.h_request")},
		doc.Fields{
			{Label: e.t("req.number"), Value: info.RequestID},
			{Label: e.t("req.name"), Value: info.RequestedBy},
			{Label: e.t("req.unit"), Value: position},
			{Label: e.t("req.reason"), Value: info.Reason},
		},
		doc.Heading{Text: e.t("ba.h_restore")},
		doc.Fields{
			{Label: e.t("f.job"), Value: restoreJobOf(r, recs)},
			{Label: e.t("req.what"), Value: e.restoredWhat(r, recs)},
			{Label: e.t("req.snapshot"), Value: e.snapshotCell(info)},
			{Label: e.t("f.medium"), Value: mediumCell(r)},
			{Label: e.t("req.target"), Value: info.Target},
			{Label: e.t("f.operator"), Value: performed},
			{Label: e.t("f.host"), Value: r.Host},
			{Label: e.t("ba.when"), Value: e.span(r)},
			{Label: e.t("f.standard"), Value: e.t("f.standard_v", e.Lang.Duration(msDur(r.TimeStandard)), e.standardMetWhy(r))},
			{Label: e.t("ba.files"), Value: e.filesCell(r, info)},
		},
	)
	if info.Resumes != "" {
		d.Blocks[len(d.Blocks)-1] = append(d.Blocks[len(d.Blocks)-1].(doc.Fields),
			doc.Field{Label: e.t("ba.resumes"), Value: e.resumesCell(info.Resumes, recs)})
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("ba.h_result")})
	result := doc.Fields{
		{Label: e.t("f.result"), Value: runlog.ResultLabel(e.Lang, r.Result) + e.restoreCause(r)},
		{Label: e.t("ba.verification"), Value: verify},
		{Label: e.t("f.message"), Value: e.minutesMessage(r)},
	}
	if r.Result != runlog.OK && len(r.Errors) > 0 {
		// A partial restore's minutes name what is missing (the first
		// errors the record keeps), for whoever signs them.
		// One line each: a newline in a file's name must not make a
		// line of its own in the signed document.
		lines := make([]string, len(r.Errors))
		for i, x := range r.Errors {
			lines[i] = e.errorLine(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(x))
		}
		if e.Lang != "en" {
			// The causes, errors of the system and paths stay as the
			// program recorded them, in English: said so, rather than
			// leave English prose unexplained in an Indonesian document.
			lines = append([]string{e.t("ba.err_program")}, lines...)
		}
		result = append(result, doc.Field{Label: e.t("fail.h_errors"), Value: strings.Join(lines, "\n")})
	}
	d.Blocks = append(d.Blocks, result,
		doc.Paragraph{Text: e.t("ba.closing")},
		doc.Signatures{PlaceDate: e.placeDateOn(signed), Signers: []doc.Signer{
			{Role: e.t("sig.requester"), Name: info.RequestedBy, Title: strings.Join(o.requester(info), "\n")},
			{Role: e.t("sig.performer"), Name: performer, Title: e.performerTitle(performer)},
			{Role: e.t("sig.req_superior")},
			{Role: e.t("sig.perf_superior"), Name: org.Head.Name, Title: or(org.Head.Title, e.t("role.head")), NIP: org.Head.NIP},
		}},
	)
	return d, nil
}

// inTheWayCause matches the causes line cadang restore records before
// RestoreInfo.InTheWay existed, where an entry in the way is the first
// cause ("... by cause: 3 entry/entries in the way, ...").
var inTheWayCause = regexp.MustCompile(`by cause: [0-9]+ entry/entries in the way`)

// restoreCause is the cause beside a restore's result in its minutes: the
// failure kind, but for a restore that an entry in the way kept from
// completing, that cause, where the record has it: the kind "other" says
// nothing to whoever signs ("Partial (Other)").
func (e Env) restoreCause(r runlog.Record) string {
	if r.Failure != runlog.KindOther || r.Restore == nil {
		return kindSuffix(e.Lang, r.Failure)
	}
	inTheWay := r.Restore.InTheWay > 0
	for _, x := range r.Errors {
		inTheWay = inTheWay || inTheWayCause.MatchString(x)
	}
	if !inTheWay {
		return kindSuffix(e.Lang, r.Failure)
	}
	return " (" + e.t("ba.in_the_way") + ")"
}

// minutesMessage is the minutes' "Message": the record's note in the
// language of the document, without the restore's closing line on the
// terminal ("307 file(s) could not be restored (listed above); errors by
// cause: ..."), which the error list below says again, and whose "listed
// above" points at nothing in a document. A record without a note gives
// its message, less that phrase.
func (e Env) minutesMessage(r runlog.Record) string {
	if r.Note != nil && len(r.Errors) > 0 {
		r.Message = ""
	}
	r.Message = strings.ReplaceAll(r.Message, " (listed above)", "")
	return runlog.MessageText(e.Lang, &r)
}

// moreErrorsRE is the last of a restore record's errors when it holds
// only the first (cmd/cadang recordRestoreOmitted).
var moreErrorsRE = regexp.MustCompile(`^\.\.\. and (\d+) more error\(s\) not recorded \(the restore's output lists them\)$`)

// causesUnitsRE is the causes line when not every error is a failed file
// ("31 errors (30 of files not restored, 1 of directories not restored) by
// cause: ..."): the split is in the minutes' own counts, so the line is
// given as the causes alone.
var causesUnitsRE = regexp.MustCompile(`^\d+ errors \([^)]*\) by cause: (.*)$`)

// errorLine is one of a restore record's errors in the language of the
// document where cadang wrote it in a known form: the frame ("not
// restored: ", "errors by cause: ", the count of those left out) is
// translated; the paths and the errors of the system are kept as they
// are.
func (e Env) errorLine(s string) string {
	if m := moreErrorsRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return e.t("ba.err_more", e.Lang.Int(n))
	}
	if m := causesUnitsRE.FindStringSubmatch(s); m != nil {
		return e.t("ba.err_causes", m[1])
	}
	for _, f := range []struct{ prefix, key string }{
		{"errors by cause: ", "ba.err_causes"},
		{"not restored: ", "ba.err_not_restored"},
		{"not tried: ", "ba.err_not_tried"},
	} {
		if rest, ok := strings.CutPrefix(s, f.prefix); ok {
			return e.t(f.key, rest)
		}
	}
	return s
}

// span is when a run took place, in one field of the minutes (their
// start, end and duration on three lines pushed the signatures of short
// minutes onto a second page): "9 Maret 2026 10.00.00 – 11.35.00 WITA (1
// jam 35 menit)", the end's date repeated only when it is another day.
func (e Env) span(r runlog.Record) string {
	start, end := r.Start.In(e.loc()), r.End.In(e.loc())
	from, to := e.dt(r.Start), e.dt(r.End)
	if sy, sm, sd := start.Date(); end.Year() == sy && end.Month() == sm && end.Day() == sd {
		// the zone once, after the end
		from = strings.TrimSuffix(from, start.Format(" MST"))
		to = e.Lang.Clock(end)
	}
	return fmt.Sprintf("%s – %s (%s)", from, to, e.Lang.Duration(r.Duration()))
}

// filesCell is the minutes' "Files / data restored": the files written,
// and where the restore kept files that were already the snapshot's (a
// rerun with --overwrite if-changed after an interrupt), those too, as
// part of the restore: "1 file" over 505 complete ones misleads.
func (e Env) filesCell(r runlog.Record, info runlog.RestoreInfo) string {
	if info.FilesAlready == 0 {
		return e.Lang.Int(r.FilesRead) + " / " + e.Lang.Bytes(r.BytesRead)
	}
	total := r.FilesRead + info.FilesAlready
	return e.t("ba.files_already", e.Lang.Int(total), e.Lang.Int(r.FilesRead), e.Lang.Int(info.FilesAlready), e.Lang.Bytes(r.BytesRead))
}

// resumesCell names the interrupted restore that this one completed, with
// its time when the records hold it.
func (e Env) resumesCell(id string, recs []runlog.Record) string {
	for _, x := range recs {
		if x.ID == id {
			return e.t("ba.resumes_v", id, e.dt(x.End))
		}
	}
	return id
}

// restoredWhat says what a restore brought back: its paths, or for a
// snapshot of a databases source (/globals.sql and /DB.dump) each
// database by name, as a head of LPSE reads them.
func (e Env) restoredWhat(r runlog.Record, recs []runlog.Record) string {
	if r.Restore == nil {
		return ""
	}
	paths := r.Restore.Paths
	if !e.databasesSnapshot(r, recs) {
		return strings.Join(paths, "\n")
	}
	var lines []string
	for _, p := range paths {
		name := strings.TrimPrefix(p, "/")
		switch {
		case strings.Contains(name, "/"):
			lines = append(lines, p)
		case name == pgGlobals:
			lines = append(lines, e.t("ba.db_globals", p))
		case path.Ext(name) == ".dump":
			lines = append(lines, e.t("ba.db", strings.TrimSuffix(name, ".dump"), p))
		default:
			lines = append(lines, p)
		}
	}
	return strings.Join(append(lines, e.t("ba.db_note")), "\n")
}

// pgGlobals is the file of a databases source's snapshot that holds the
// cluster's roles and tablespaces (engine.GlobalsFile).
const pgGlobals = "globals.sql"

// databasesSnapshot reports whether restore r is of a snapshot of a
// PostgreSQL databases source: the backup that made the snapshot says so,
// or the restore took the globals file, or the paths are dumps at the top
// of a snapshot of a job with a databases source.
func (e Env) databasesSnapshot(r runlog.Record, recs []runlog.Record) bool {
	info := r.Restore
	for _, x := range recs {
		if x.Op != runlog.OpBackup {
			continue
		}
		for _, s := range x.Sources {
			if s.Snapshot != "" && s.Snapshot == info.Snapshot {
				return len(s.Databases) > 0
			}
		}
	}
	if len(info.Paths) == 0 {
		return false
	}
	dumps := true
	for _, p := range info.Paths {
		name := strings.TrimPrefix(p, "/")
		if name == pgGlobals {
			return true
		}
		dumps = dumps && !strings.Contains(name, "/") && path.Ext(name) == ".dump"
	}
	if j, err := e.Config.Job(r.Job); dumps && err == nil {
		for _, s := range j.Sources {
			if len(s.Databases) > 0 {
				return true
			}
		}
	}
	return false
}

// performerTitle is the administrator's title when the administrator
// performed the restore; another performer's title is not known.
func (e Env) performerTitle(performer string) string {
	a := e.Config.Organization.Administrator
	if performer == a.Name || a.Name == "" {
		return or(a.Title, e.t("role.admin"))
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// minutesNumber numbers the minutes of restore r by [organization]
// numbering. {seq} is the place of r among the restores of its year (in the
// organisation's zone) in recs, in order of time, r included: the same
// restore gets the same number however often its minutes are printed, as
// long as the run log keeps every restore (records are never removed).
func (e Env) minutesNumber(r runlog.Record, recs []runlog.Record) (string, error) {
	pattern := e.Config.Organization.Numbering
	if pattern == "" {
		return r.ID, nil
	}
	when := r.Start.In(e.loc())
	seq := 0
	seen := map[string]bool{r.ID: true}
	for _, x := range recs {
		t := x.Start.In(e.loc())
		if x.Op != runlog.OpRestore || seen[x.ID] || t.Year() != when.Year() || !x.Start.Before(r.Start) {
			continue
		}
		seen[x.ID] = true
		seq++
	}
	seq++ // r itself
	var bad error
	out := placeholderRE.ReplaceAllStringFunc(pattern, func(m string) string {
		switch m[1 : len(m)-1] {
		case "seq":
			return strconv.Itoa(seq)
		case "year":
			return strconv.Itoa(when.Year())
		case "month":
			return fmt.Sprintf("%02d", int(when.Month()))
		case "roman_month":
			return romanMonths[when.Month()-1]
		case "run_id":
			return r.ID
		}
		bad = fmt.Errorf("[organization] numbering %q: unknown placeholder %s", pattern, m)
		return m
	})
	return out, bad
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

var romanMonths = [...]string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"}
