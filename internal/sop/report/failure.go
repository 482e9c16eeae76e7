package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/pgdb"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
)

// Followups returns the follow-up records of run id.
func Followups(recs []runlog.Record, id string) []runlog.Record {
	var out []runlog.Record
	for _, r := range recs {
		if r.Op == runlog.OpFollowup && r.Ref == id {
			out = append(out, r)
		}
	}
	return out
}

// unshown returns the errors whose text is not among the texts shown
// already (an error reads "source: text").
func unshown(errs, shown []string) []string {
	var out []string
	for _, x := range errs {
		if !printed(x, shown) {
			out = append(out, x)
		}
	}
	return out
}

// printed reports whether text, or the text it quotes, is one of shown.
func printed(text string, shown []string) bool {
	for _, s := range shown {
		if s != "" && (strings.Contains(text, s) || strings.Contains(s, text)) {
			return true
		}
	}
	return false
}

func setField(fs doc.Fields, label, value string) doc.Fields {
	for i := range fs {
		if fs[i].Label == label {
			fs[i].Value = value
		}
	}
	return fs
}

// Failure is the "Laporan Analisa Kegagalan Backup" of one failed run (SOP
// step 5): the run, the kind of failure with its usual causes, the errors,
// and the follow-ups recorded (or lines to write them by hand), for the head
// of LPSE.
func (e Env) Failure(r runlog.Record, recs []runlog.Record) *doc.Document {
	d := e.newDoc("fail.title")
	d.Subtitle = e.t("fail.subtitle", r.ID)
	d.Ref = d.Title + " " + r.ID
	d.Meta = []doc.Field{
		{Label: e.t("f.sop"), Value: SOPNumber + " (" + e.t("fail.step") + ")"},
		{Label: e.t("f.to"), Value: or(e.Config.Organization.Head.Title, e.t("role.head"))},
		{Label: e.t("f.date"), Value: e.Lang.Date(e.Now.In(e.loc()))},
	}
	// The error is printed once (issue 15: three times before): in the row
	// of its source, else in the list of errors; the run's message keeps
	// its summary only when the text is printed there.
	var shown []string
	var rows [][]string
	for _, s := range r.Sources {
		text := runlog.SourceText(e.Lang, &s)
		shown = append(shown, s.Message)
		rows = append(rows, []string{s.Name, runlog.ResultLabel(e.Lang, s.Result) + kindSuffix(e.Lang, s.Failure), dash(short(s.Snapshot, 8)),
			e.Lang.Bytes(s.BytesAdded), fmt.Sprint(s.Skipped), dash(text)})
	}
	errs := unshown(r.Errors, shown)
	fs := e.runFields(&r)
	if r.Message != "" && (printed(r.Message, shown) || printed(r.Message, errs)) {
		summary := r
		summary.Message = ""
		if text := runlog.MessageText(e.Lang, &summary); text != "" {
			fs = setField(fs, e.t("f.message"), text)
		} else {
			errs = unshown(errs, []string{r.Message}) // the message is the error
		}
	}
	if r.RepositoryID == "" && r.Result == runlog.Failed {
		// Known wherever the repository opened, read-only included: a
		// failed run without it never opened one, and says so.
		fs = setField(fs, e.t("f.repo_id"), e.t("fail.repo_id_unread"))
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("fail.h_run")}, fs)
	if len(rows) > 0 {
		d.Blocks = append(d.Blocks, doc.Table{Header: []string{e.t("fail.source"), e.t("col.result"), e.t("log.snapshots"), e.t("col.added"), e.t("fail.skipped"), e.t("f.message")}, Rows: rows})
	}
	if len(errs) > 0 {
		d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("fail.h_errors")}, doc.List(errs))
	}
	d.Blocks = append(d.Blocks, e.checkDamage(r.Check)...)
	kind := r.Failure
	if kind == "" {
		kind = runlog.KindOther
	}
	fu := Followups(recs, r.ID)
	// The cause found, from the follow-ups that recorded one; blank lines
	// to write it by hand otherwise (issue 15).
	var causes []string
	for _, f := range fu {
		if f.Cause != "" {
			causes = append(causes, f.Cause)
		}
	}
	causeFields := doc.Fields{{Label: e.t("fail.cause"), Blank: true}, {Label: "", Blank: true}}
	if len(causes) > 0 {
		causeFields = doc.Fields{{Label: e.t("fail.cause"), Value: strings.Join(causes, "; ")}}
	}
	d.Blocks = append(d.Blocks,
		doc.Heading{Text: e.t("fail.h_analysis")},
		doc.Fields{{Label: e.t("f.failure"), Value: runlog.KindLabel(e.Lang, kind)}},
		doc.Paragraph{Text: e.t("cause." + string(kind))})
	d.Blocks = append(d.Blocks, e.checkAdvice(r.Check)...)
	d.Blocks = append(d.Blocks,
		causeFields,
		doc.Heading{Text: e.t("fail.h_followup")})
	if len(fu) == 0 {
		d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("fail.no_followup", r.ID)},
			doc.Fields{{Label: e.t("fail.action"), Blank: true}, {Label: "", Blank: true}, {Label: e.t("fail.action_date"), Blank: true}})
	} else {
		var rows [][]string
		for _, f := range fu {
			rows = append(rows, []string{e.stamp(f.Start), f.Operator, f.Message})
		}
		d.Blocks = append(d.Blocks, doc.Table{Header: []string{e.t("f.date"), e.t("f.operator"), e.t("fail.action")}, Rows: rows, Widths: []float64{2, 2, 6}})
	}
	d.Blocks = append(d.Blocks, e.adminAndHead())
	return d
}

// checkDamage names the paths of the snapshots that a failed check found
// using lost blobs (runlog.CheckInfo), as the terminal named them; none
// where it named none.
func (e Env) checkDamage(c *runlog.CheckInfo) []doc.Block {
	if c == nil || len(c.Paths) == 0 {
		return nil
	}
	var rows [][]string
	for _, p := range c.Paths {
		path := p.Path
		if p.Tree {
			path = e.t("fail.damaged_tree", path)
		}
		rows = append(rows, []string{short(p.Snapshot, 8), path})
	}
	bs := []doc.Block{doc.Heading{Text: e.t("fail.h_damaged")}, doc.Paragraph{Text: e.t("fail.damaged_intro")},
		doc.Table{Header: []string{e.t("log.snapshots"), e.t("fail.path")}, Rows: rows, Widths: []float64{2, 8}}}
	if c.MorePaths > 0 {
		bs = append(bs, doc.Paragraph{Text: e.t("fail.damaged_more", e.Lang.Int(int64(c.MorePaths)))})
	}
	return bs
}

// checkAdvice gives the advice that a failed check gave on the terminal,
// by the keys its record keeps, in the document's language. A key this
// cadang does not know (a newer one's) is passed over.
func (e Env) checkAdvice(c *runlog.CheckInfo) []doc.Block {
	if c == nil {
		return nil
	}
	var items []string
	for _, k := range c.Advice {
		if i18n.Has("advice." + k) {
			items = append(items, e.t("advice."+k))
		}
	}
	if len(items) == 0 {
		return nil
	}
	// A heading: it keeps with the list (a paragraph stood at the foot
	// of a page, the list on the next).
	return []doc.Block{doc.Heading{Text: e.t("fail.advice")}, doc.List(items)}
}

// olderTestSources completes a restore test record written without a
// configuration before snapshots carried their source: each snapshot's
// source is "repository" and no job is named. The backup that made the
// snapshot, found in recs, gives both, shown as a newer record shows them
// ("database (spse-prod)"); a snapshot without one says its source was not
// recorded, rather than "repository". older reports such a record, whose
// job, where no backup names it, is not recorded either, and whose
// snapshots were not drawn per source. r.Test is copied, not changed.
func (e Env) olderTestSources(r runlog.Record, recs []runlog.Record) (_ runlog.Record, older bool) {
	if r.Job != "" || r.Test == nil {
		return r, false
	}
	t := *r.Test
	t.Snapshots = slices.Clone(t.Snapshots)
	old := false
	for i, s := range t.Snapshots {
		if s.Source != "repository" || s.Job != "" {
			continue
		}
		old = true
		job, src, ok := backupOfSnapshot(recs, s.ID)
		switch {
		case !ok || src == "":
			t.Snapshots[i].Source = e.t("rec.not_recorded")
		case job != "":
			t.Snapshots[i].Source, t.Snapshots[i].Job = src+" ("+job+")", job
		default:
			t.Snapshots[i].Source = src
		}
	}
	r.Test = &t
	return r, old
}

// noFilesNote names the snapshots a restore test drew that hold no regular
// file, so nothing of them was restored: a snapshot of a source that
// backed up nothing is said, not left out of the list; nil when none.
func (e Env) noFilesNote(t *runlog.TestInfo) doc.Block {
	var names []string
	for _, s := range t.Snapshots {
		if s.NoFiles {
			names = append(names, short(s.ID, 8)+" ("+dash(s.Source)+")")
		}
	}
	if len(names) == 0 {
		return nil
	}
	return doc.Paragraph{Text: e.t("rt.no_files", strings.Join(names, ", "))}
}

// RestoreTest is the report of a restore test (SOP step 4, reported to the
// head of LPSE): the seed and sample, every file restored and its check,
// the verify commands, the database dumps loaded into a scratch database
// with their tables and check queries, the time taken, and when the next
// test is due, from recs (the run log; may be nil) by the rule `cadang
// status` follows (status.NextRestoreTest): a failed test does not count
// as done, so the test due before it is still due then.
func (e Env) RestoreTest(r runlog.Record, recs []runlog.Record) *doc.Document {
	d := e.newDoc("rt.title")
	if r.Job == "" {
		// a test of a repository without a configuration file
		d.Subtitle = e.t("rt.subtitle_repo", dash(r.Repository), e.Lang.Date(r.Start.In(e.loc())))
	} else {
		d.Subtitle = e.t("rt.subtitle", r.Job, e.Lang.Date(r.Start.In(e.loc())))
	}
	d.Ref = d.Title + " " + r.ID
	d.Meta = []doc.Field{{Label: e.t("f.sop"), Value: SOPNumber + " (" + e.t("rt.step") + ")"}}
	r, older := e.olderTestSources(r, recs)
	fields := e.runFields(&r)
	for i := range fields {
		if older && runJob(&r) == "" && fields[i].Label == e.t("f.job") {
			fields[i].Value = e.t("rec.not_recorded")
		}
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("rt.h_run")}, fields)
	t := r.Test
	if t == nil {
		t = &runlog.TestInfo{}
	}
	next := status.NextRestoreTest(e.Config, r, recs)
	nextText := e.Lang.Date(next.In(e.loc()))
	if !next.After(r.End) {
		// A failed test when the test was already due: it still is.
		nextText += " (" + e.t("st.restore-test-overdue") + ")"
	}
	// The checks the summary (the record's note) counts, each listed
	// here: the files compared, the verify commands, the dumps loaded and
	// the check queries (restoretest.Count).
	c := restoretest.Count(t, r.Errors)
	dumpSnaps, pathSources := e.dumpSnapshots(t)
	sampled, dumpFiles := 0, 0
	for _, it := range t.Items {
		if dumpSnaps[it.Snapshot] {
			dumpFiles++
		} else {
			sampled++
		}
	}
	sample := e.Lang.Int(int64(t.Sample)) + " " + e.t("rt.files")
	if t.Sample == 0 && t.SampleBytes > 0 {
		sample = e.Lang.Bytes(t.SampleBytes)
	}
	verified := e.t("rt.verified_v", c.FilesOK, c.Files)
	if len(dumpSnaps) > 0 {
		// The sample is of the path sources' files; a dump source gives
		// every dump file of the snapshots drawn, which the files
		// verified count too.
		if sampled == 0 && !pathSources {
			sample = e.t("rt.sample_dumps_only", len(dumpSnaps))
		} else {
			sample = e.t("rt.sample_dumps", sample, len(dumpSnaps))
			verified += " (" + e.t("rt.verified_split", sampled, dumpFiles) + ")"
		}
	}
	fields = doc.Fields{
		{Label: e.t("rt.seed"), Value: fmt.Sprint(t.Seed)},
		{Label: e.t("rt.sample"), Value: sample},
		{Label: e.t("rt.repeat"), Value: e.repeatCommand(r, t)},
		{Label: e.t("rt.scratch"), Value: t.Scratch},
		{Label: e.t("rt.restore_time"), Value: e.Lang.Duration(msDur(t.RestoreMS))},
		{Label: e.t("rt.verified"), Value: verified},
	}
	if c.Commands > 0 {
		fields = append(fields, doc.Field{Label: e.t("rt.commands"), Value: e.t("rt.commands_v", c.CommandsOK, c.Commands)})
	}
	if len(t.Databases) > 0 {
		fields = append(fields, e.databaseSummary(c)...)
	}
	fields = append(fields, doc.Field{Label: e.t("rt.next"), Value: nextText})
	d.Blocks = append(d.Blocks, fields)
	if len(t.Snapshots) > 0 {
		var rows [][]string
		for _, s := range t.Snapshots {
			rows = append(rows, []string{s.ID, s.Source, e.stamp(s.Time)})
		}
		d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("rt.h_snapshots")}, doc.Table{Header: []string{e.t("log.snapshots"), e.t("fail.source"), e.t("f.date")}, Rows: rows, Widths: []float64{6, 2, 2}})
		if len(t.MissingSources) > 0 {
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("rt.missing_sources", strings.Join(t.MissingSources, ", "))})
		}
		if b := e.noFilesNote(t); b != nil {
			d.Blocks = append(d.Blocks, b)
		}
		if r.Job == "" && !older {
			// '--snapshots 1' of a repository with three sources tests
			// three snapshots: said, not left to surprise.
			sources := map[string]bool{}
			for _, s := range t.Snapshots {
				sources[s.Source] = true
			}
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: e.t("rt.per_source_doc", e.Lang.Int(int64(len(sources))))})
		}
	}
	var rows [][]string
	for _, it := range t.Items {
		res := e.t("rt.ok")
		if !it.OK {
			res = e.t("rt.bad") + ": " + it.Error
		}
		rows = append(rows, []string{short(it.Snapshot, 8), it.Path, e.Lang.Bytes(it.Size), res})
	}
	d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("rt.h_items")}, doc.Table{Header: []string{e.t("log.snapshots"), e.t("rt.path"), e.t("rt.size"), e.t("col.result")}, Rows: rows, Widths: []float64{2, 6, 2, 3}})
	section := 4 // the sections after the files are numbered as they come
	heading := func(key string) doc.Heading {
		h := doc.Heading{Text: fmt.Sprintf("%d. %s", section, e.t(key))}
		section++
		return h
	}
	if len(t.Commands) > 0 {
		var rows [][]string
		for _, c := range t.Commands {
			rows = append(rows, []string{strings.Join(c.Command, " "), fmt.Sprint(c.ExitCode), e.yesNo(c.OK), c.Output})
		}
		d.Blocks = append(d.Blocks, heading("rt.h_commands"), doc.Table{Header: []string{e.t("rt.command"), e.t("rt.exit"), e.t("col.result"), e.t("rt.output")}, Rows: rows, Widths: []float64{4, 1, 1, 4}})
	}
	// The errors the tables above say already, in the document's
	// language, are not repeated in English (issue 15).
	said := t.Said()
	if len(t.Databases) > 0 {
		d.Blocks = append(d.Blocks, heading("rt.h_databases"), e.databaseTable(t.Databases, r.Errors))
		for _, p := range e.serverHints(r, t, said) {
			d.Blocks = append(d.Blocks, doc.Paragraph{Text: p})
		}
		if checks := e.checkTable(t.Databases); checks != nil {
			d.Blocks = append(d.Blocks, heading("rt.h_checks"), *checks)
		}
	}
	var errs []string
	for _, s := range r.Errors {
		if !said[s] {
			errs = append(errs, s)
		}
	}
	if len(errs) > 0 {
		d.Blocks = append(d.Blocks, doc.Heading{Text: e.t("fail.h_errors")}, doc.List(errs))
	}
	d.Blocks = append(d.Blocks, doc.Fields{{Label: e.t("f.result"), Value: runlog.ResultLabel(e.Lang, r.Result) + kindSuffix(e.Lang, r.Failure)}}, e.adminAndHead())
	return d
}

// repeatCommand is the command that draws the same sample again: with the
// job's configuration, or (a test made without a configuration file, whose
// record has no job) on the record's repository. Every option that changes
// the draw is given, even the configured ones: the configuration may have
// changed since. A record made before the number of snapshots was recorded
// (Draw 0) leaves it to the configuration, as the command printed then.
func (e Env) repeatCommand(r runlog.Record, t *runlog.TestInfo) string {
	cmd := "cadang restore-test --job " + shellWord(r.Job)
	if r.Job == "" {
		cmd = "cadang -r " + shellWord(or(r.Repository, "REPO")) + " restore-test"
	}
	cmd += fmt.Sprintf(" --seed %d", t.Seed)
	switch {
	case t.Sample > 0:
		cmd += fmt.Sprintf(" --sample %d", t.Sample)
	case t.SampleBytes > 0:
		cmd += fmt.Sprintf(" --sample-bytes %d", t.SampleBytes)
	}
	if t.Draw > 0 {
		cmd += fmt.Sprintf(" --snapshots %d", t.Draw)
	}
	return cmd
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// databaseName names what a dump holds: the database, or for /globals.sql
// the cluster's roles and tablespaces.
func (e Env) databaseName(dt runlog.DatabaseTest) string {
	if dt.Globals {
		return e.t("rt.globals", strings.TrimPrefix(dt.File, "/"))
	}
	// A source with no server to load into has a row of its own, with
	// neither database nor file: it is named by the source.
	return or(dt.Database, or(dt.File, dt.Source))
}

// databaseSummary counts the dumps loaded and the check queries that
// gave the expected value, for the fields at the head of the report.
func (e Env) databaseSummary(c restoretest.Tally) doc.Fields {
	check := e.t("rt.no_checks")
	if c.Queries > 0 {
		check = e.t("rt.checks_v", c.QueriesOK, c.Queries)
	}
	loaded := e.t("rt.databases_v", c.DumpsOK, c.Dumps)
	if c.DumpsNotDone > 0 {
		loaded += "; " + e.t("rt.databases_not_done", c.DumpsNotDone)
	}
	return doc.Fields{
		{Label: e.t("rt.databases"), Value: loaded},
		{Label: e.t("rt.checks"), Value: check},
	}
}

// dumpSnapshots are the snapshots of t whose dump files were all restored
// (a dump source's), as the record says: SnapshotRef.Dump, or, in a
// record from before it, a dump loaded into a database. paths says
// whether any other snapshot (of a path source) was drawn, or none is
// known. The record alone: a configuration changed since the test, or
// absent (a host without [[job]]), must not change what it says.
func (e Env) dumpSnapshots(t *runlog.TestInfo) (map[string]bool, bool) {
	dumps := map[string]bool{}
	for _, s := range t.Snapshots {
		if s.Dump {
			dumps[s.ID] = true
		}
	}
	for _, dt := range t.Databases {
		dumps[dt.Snapshot] = true
	}
	paths := len(t.Snapshots) == 0
	for _, s := range t.Snapshots {
		if !dumps[s.ID] {
			paths = true
		}
	}
	return dumps, paths
}

// serverHints say in the document's language which server the dumps of a
// dump command's source were to be loaded into and how it is chosen,
// where the test recorded it (restoretest.ServerHint: no scratch database
// could be made there); those it says are marked in said.
func (e Env) serverHints(r runlog.Record, t *runlog.TestInfo, said map[string]bool) []string {
	var job *jobs.Job
	if r.Job != "" && e.Config != nil {
		job, _ = e.Config.Job(r.Job)
	}
	if job == nil {
		return nil
	}
	errs := map[string]bool{}
	for _, x := range r.Errors {
		errs[x] = true
	}
	var out []string
	for _, src := range job.Sources {
		for _, dt := range t.Databases {
			h := restoretest.ServerHint(src, dt.Server)
			if dt.Source != src.Name || !errs[h] || said[h] {
				continue
			}
			server := dt.Server
			if u := pgdb.FromSource(src).User; u != "" {
				server += e.t("rt.as_user", u)
			}
			out = append(out, e.t("rt.command_server", src.Name, server))
			said[h] = true
		}
	}
	return out
}

// databaseTable has a row per dump the test loaded (or tried to): where it
// was loaded, whether it loaded, the tables found and the result. A
// scratch database is said to be dropped or not only when it was created.
func (e Env) databaseTable(dbs []runlog.DatabaseTest, errs []string) doc.Table {
	var rows [][]string
	for _, dt := range dbs {
		where := "-"
		switch {
		case restoretest.ScratchNotCreated(dt, errs):
			where = e.t("rt.no_scratch", dt.Server)
		case dt.Scratch != "":
			where = e.t("rt.scratch_on", dt.Scratch, dt.Server)
			if dt.Dropped {
				where += ", " + e.t("rt.dropped")
			} else {
				where += ", " + e.t("rt.not_dropped")
			}
		case dt.Server != "":
			where = dt.Server
		}
		load, tables := e.t("rt.load_failed"), "-"
		notDone := restoretest.DumpNotDone(dt, errs)
		switch {
		case notDone:
			load = e.t("rt.load_not_done")
		case dt.Loaded:
			load = e.t("rt.load_ok", e.Lang.Duration(msDur(dt.LoadMS)))
		case dt.Globals && dt.Error == "":
			load, where = e.t("rt.globals_kept"), "-"
		}
		if dt.Error != "" {
			load += `: "` + dt.Error + `"`
		}
		if dt.Loaded && !dt.Globals && (dt.Tables > 0 || len(dt.MissingTables) > 0) {
			tables = e.t("rt.tables_v", dt.Tables-len(dt.MissingTables), dt.Tables)
			if len(dt.MissingTables) > 0 {
				tables += "; " + e.t("rt.tables_miss", strings.Join(dt.MissingTables, ", "))
			}
		}
		res := e.t("rt.pass")
		switch {
		case notDone:
			res = e.t("rt.not_done")
		case !dt.OK:
			res = e.t("rt.fail")
		}
		rows = append(rows, []string{e.databaseName(dt), short(dt.Snapshot, 8), where, load, tables, res})
	}
	return doc.Table{Header: []string{e.t("rt.database"), e.t("log.snapshots"), e.t("rt.loaded_into"), e.t("rt.load"), e.t("rt.tables"), e.t("col.result")},
		Rows: rows, Widths: []float64{3, 2, 4, 3, 2, 2}, MaxLines: []int{3: 6, 4: 4}}
}

// checkTable has a row per check query run on a restored database: the
// value expected (set in the configuration, or the source's at backup
// time), the value found and the result; nil when no query ran.
func (e Env) checkTable(dbs []runlog.DatabaseTest) *doc.Table {
	var rows [][]string
	for _, dt := range dbs {
		for _, c := range dt.Checks {
			from := e.t("rt.want_expect")
			if c.Compare == jobs.CompareSource {
				from = e.t("rt.want_source")
			}
			want := c.Want + " (" + from + ")"
			res := e.t("rt.pass")
			if !c.OK {
				res = e.t("rt.fail")
			}
			switch {
			case c.Error == runlog.NoRecordedValue:
				// cadang's own reason, said in the document's language
				want = e.t("rt.want_none")
			case c.Error != "":
				res += `: "` + c.Error + `"`
			}
			got := c.Got
			if got == "" && c.Error != "" {
				got = "-"
			}
			rows = append(rows, []string{e.databaseName(dt) + "\n" + short(dt.Snapshot, 8), c.Query, want, got, res})
		}
	}
	if rows == nil {
		return nil
	}
	return &doc.Table{Header: []string{e.t("rt.database"), e.t("rt.query"), e.t("rt.want"), e.t("rt.got"), e.t("col.result")},
		Rows: rows, Widths: []float64{2, 4, 3, 2, 2}, MaxLines: []int{1: 4, 4: 4}}
}
