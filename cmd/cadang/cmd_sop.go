package main

// The SOP commands: job list, run, log, log verify, restore-test, status,
// followup add and the report documents. They only wire internal/sop.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/report"
	"github.com/lpse/cadang/internal/sop/restoretest"
	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
)

func sopCommands() []*cli.Command {
	return []*cli.Command{jobCommand(), runCommand(), logCommand(), restoreTestCommand(), statusCommand(),
		followupCommand(), reportCommand()}
}

// docFlags are the flags of every document command (with the global --lang).
func docFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "document format: md, html or pdf (default md, or from the --output extension)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the document to `FILE` instead of standard output"},
		signFlag(),
	}
}

const docHelp = "\n\nThe document is in Bahasa Indonesia unless --lang en is given; --format md|html|pdf, --output FILE."

// writeDoc renders d as the command's flags ask.
func (e *env) writeDoc(c *cli.Context, d *doc.Document, output string) error {
	fs := c.String("format")
	if fs == "" {
		switch strings.ToLower(filepath.Ext(output)) {
		case ".pdf":
			fs = "pdf"
		case ".html", ".htm":
			fs = "html"
		default:
			fs = "md"
		}
	}
	f, err := doc.ParseFormat(fs)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	var buf bytes.Buffer
	if err := doc.Render(&buf, d, f); err != nil {
		return err
	}
	if output == "" {
		if c.Bool("sign") {
			return errors.New("--sign needs --output FILE: the signature is written beside it")
		}
		w := e.stdout // Markdown or HTML on a terminal: escaped like every message
		if f == doc.PDF {
			w = e.rawStdout // bytes
		}
		_, err := w.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(output, buf.Bytes(), 0o640); err != nil {
		return err
	}
	e.logf("%s", e.termLang().T("term.wrote", output))
	return e.signDoc(c, output, buf.Bytes())
}

// reportEnv is what the documents need, with the run log's records.
// needConfig is false for the documents that the run log's records make
// alone (a plain restore has no job): without a configuration they have
// no organisation, which they show as blanks.
func (e *env) reportEnv(ctx context.Context, needConfig bool) (*sopState, report.Env, []runlog.Record, error) {
	st, err := e.loadSOP(needConfig)
	if err != nil {
		return nil, report.Env{}, nil, err
	}
	recs, err := st.log.Records()
	if err != nil {
		return nil, report.Env{}, nil, err
	}
	if loc := e.c.String("repo"); loc != "" {
		// The repository keeps every record too: on a replacement server,
		// whose local run log is new, the documents still find the runs.
		// Reading it is a help, not a condition (CADANG_REPOSITORY may be
		// set where no password is at hand): a failure is a warning.
		if stored, err := e.storeRecords(ctx, st); err != nil {
			e.warnf("records in the repository %s not read: %v", location.Redact(loc), err)
		} else {
			recs = runlog.Merge(recs, stored)
		}
	}
	vr, err := st.log.Verify(ctx, nil)
	if err != nil {
		return nil, report.Env{}, nil, err
	}
	if !vr.OK() {
		e.warnf("the run log %s has problems; run 'cadang log verify'", st.log.Path())
	}
	// A record logged before the one it follows is only a warning to
	// verify (a clock step), but a document places runs by their logged
	// time: whoever reads one must know which runs the clock may have put
	// in the wrong day or month (a backdated record looks like any other
	// run there).
	var steps []string
	for _, f := range vr.Findings {
		if f.Problem == runlog.ClockBack && f.Copy == "local" {
			steps = append(steps, f.RecordID)
		}
	}
	if n := len(steps); n > 0 {
		if n > 5 {
			steps = append(steps[:5], fmt.Sprintf("and %d more", n-5))
		}
		them, their := "them", "their"
		if n == 1 {
			them, their = "it", "its"
		}
		e.warnf("%s logged earlier than the record before it (a clock step: 'cadang log verify' says by how much): the documents place %s by %s logged time, which may be the wrong day or month: %s",
			plural(n, "run-log record"), them, their, strings.Join(steps, ", "))
	}
	return st, report.Env{Config: st.cfg, Lang: st.lang, Now: st.clock.Now(), Head: vr.Local.Head, Key: vr.Key}, recs, nil
}

// storeRecords reads the records kept in the repository of --repo.
func (e *env) storeRecords(ctx context.Context, st *sopState) ([]runlog.Record, error) {
	r, _, err := e.openSOPRepo(ctx, st, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return runlog.StoreRecords(ctx, r)
}

func jobCommand() *cli.Command {
	return &cli.Command{
		Name:  "job",
		Usage: "the backup jobs of the SOP configuration",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list the jobs (the SOP's list of database and application backups); see also 'report inventory'",
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				st, err := e.loadSOP(true)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSONLine(st.cfg.Jobs)
				}
				recs, _ := st.log.Records() // without a readable log, the first medium is due
				tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "Job\tClass\tClassification\tSchedule\tTime standard\tSources\tMedia\tDue next")
				for i := range st.cfg.Jobs {
					j := &st.cfg.Jobs[i]
					due := "-"
					if len(j.Media) > 0 {
						due = j.Media[j.DueMedium(soprun.LastRotationMedium(recs, j.Name), st.clock.Now())].Name
					}
					var srcs, media []string
					for _, s := range j.Sources {
						if len(s.Databases) > 0 {
							srcs = append(srcs, engine.SourceName(s)+"=PostgreSQL "+strings.Join(s.Databases, ","))
						} else if s.IsDump() {
							srcs = append(srcs, engine.SourceName(s)+"="+strings.Join(s.Command, " "))
						} else {
							srcs = append(srcs, engine.SourceName(s)+"="+strings.Join(s.Paths, ","))
						}
					}
					for _, m := range j.Media {
						media = append(media, m.Name)
					}
					fmt.Fprintf(tw, "%s\t%d %s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Info().No, st.termLang.Pick(j.Info().NameID, j.Info().NameEN),
						j.Classification, j.Schedule, time.Duration(soprun.StandardFor(runlog.OpBackup, j)), strings.Join(srcs, "; "), strings.Join(media, " → "), due)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				lastOK := func(job string) string { return soprun.LastRotationMedium(recs, job) }
				for _, s := range st.cfg.SharedRotations() {
					if due := st.cfg.DueApart(s, lastOK, st.clock.Now()); due != nil {
						e.warnf("jobs %s share their media but are due on different ones now (%s): their rotations parted; see 'cadang job check'",
							strings.Join(s.Jobs, ", "), strings.Join(due, "; "))
					}
				}
				return nil
			},
		}, jobCheckCommand(), scheduleCommand()},
	}
}

func jobCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check the SOP configuration and that every password file it names can be read, before a run needs it",
		ArgsUsage: "[JOB...]",
		Description: `Loads the configuration as every command does (a syntax error, an unknown key or a wrong value is
an error naming the file, line and key), then reads each password_file the jobs name (JOB... only, if
given): every medium's, the offsite medium's and [smtp]'s. One that is missing, empty or unreadable by
this user is an error naming the file, the line and the key; one that others may read is a warning, and
so are jobs that share a medium with rotations that can part (in sequence, or on different calendars). Run
it as the user of the scheduled runs (root). Exit codes: 0 all good, 1 a problem found. Opens no
repository, so it does not try the passwords: 'cadang -r MEDIUM snapshots' with the medium's
--password-file does, or the next 'cadang run'.`,
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			st, err := e.loadSOP(true)
			if err != nil {
				return err
			}
			var refs []jobs.PasswordFileRef
			names := c.Args().Slice()
			if len(names) == 0 {
				refs = st.cfg.PasswordFiles("")
			}
			for _, n := range names {
				if _, err := st.cfg.Job(n); err != nil {
					return err
				}
				for _, r := range st.cfg.PasswordFiles(n) {
					if r.Job != "" {
						refs = append(refs, r)
					}
				}
			}
			if errs := st.cfg.CheckPasswordFilesWarn(refs, func(msg string) { e.warnf("%s", msg) }); len(errs) > 0 {
				return errs
			}
			for _, s := range st.cfg.SharedRotations() {
				if len(names) == 0 || slices.ContainsFunc(s.Jobs, func(j string) bool { return slices.Contains(names, j) }) {
					e.warnf("%s", s)
				}
			}
			if !e.quiet {
				fmt.Fprintf(e.stdout, "configuration %s: %d job(s), %d password file(s) read (the passwords themselves are tried when a repository is opened)\n", st.cfg.Path, len(st.cfg.Jobs), len(refs))
			}
			return nil
		},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "make the SOP backup run of a job on the medium due in the rotation, and record it",
		ArgsUsage: "JOB",
		Description: `Checks that the medium due in the job's rotation is connected (by repository ID), backs up every
source of the job (paths, or the output of a dump command), checks the time standard, appends the
record to the run log (locally and in the repository) and, if the run did not end OK, notifies the
job's targets (hook and e-mail). --before-change REASON makes the SOP's backup before a system change,
protected in the repository from every forget for protect_before_change (default 90d).
After a successful backup, the job's [job.retention] is applied to its snapshots on the medium (each
source on its own, in the [organization] timezone; before-change backups are protected for
protect_before_change, default 90d) and, when [job.prune] every has passed since the last prune of
the medium, the medium is pruned beside any backups; both are recorded as forget and prune runs.
Then, if the job has a [job.offsite] medium, the job's snapshots on the medium that the offsite
repository lacks (this run's, and any an earlier failed copy left behind) are copied to it,
re-encrypted, uploading only the blobs it lacks; the copy is recorded as a copy run (tag offsite),
and its failure (kind offsite-copy-failed) never makes the backup a failure.
Exit codes: 0 ok, 3 partial (some files unreadable, or the backup succeeded but its offsite copy
failed), 12 wrong password, 13 the backup (or its forget, prune or copy) succeeded but its record could
not be written to the run log (a backup without a record is not followed by retention, prune or copy),
1 any other failure.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "before-change", Usage: "this is the backup before a system change: `REASON` (tagged before-change)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to the snapshots (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("run: give exactly one JOB (see 'cadang job list')")
			}
			for _, t := range c.StringSlice("tag") {
				if reservedTag(t) {
					return fmt.Errorf("--tag %s: cadang sets this tag itself (%s)", t, "manual, before-change, offsite, job:NAME and source:NAME mark its own runs; --before-change REASON makes a before-change backup")
				}
			}
			st, err := e.loadSOP(true)
			if err != nil {
				return err
			}
			if err := e.checkRunPasswordFiles(st, c.Args().First(), c.String("before-change") != ""); err != nil {
				return err
			}
			out, err := e.runner(st).Backup(c.Context, c.Args().First(), soprun.Options{BeforeChange: c.String("before-change"), Tags: c.StringSlice("tag")})
			var nre *soprun.NotRecordedError
			if out.Record.ID == "" && err != nil && !errors.As(err, &nre) {
				return err
			}
			for _, w := range out.Warnings {
				e.warnf("%v", w)
			}
			if nre != nil {
				// The backup ran (its snapshots are on the medium) but
				// has no record: say what it did, then why it is not
				// recorded; retention, prune and the offsite copy,
				// which cite the backup's record, did not run.
				e.printRecord(out.Record, st.termLang)
				e.warnNotRecorded(nre)
				return unrecordedError(nre)
			}
			e.printRecord(out.Record, st.termLang)
			// The forget and prune after the backup ([job.retention],
			// [job.prune]) have records of their own.
			for _, x := range out.Maintenance {
				if soprun.IsOffsiteCopy(&x, x.Job) && x.Result == runlog.OK {
					// As copy's summary, the protections it carried.
					e.printRecordWith(x, st.termLang, st.termLang.T("run.protections_added", out.OffsiteProtectionsAdded))
					continue
				}
				e.printRecord(x, st.termLang)
			}
			if err := runError(err); err != nil {
				return err
			}
			// A forget, prune or offsite copy that succeeded but could
			// not be recorded was a warning above; the run as a whole
			// is then not recorded in full.
			for _, w := range out.Warnings {
				if errors.As(w, &nre) && nre.Record.Result == runlog.OK {
					return notRecorded(nre.Record.Op)
				}
			}
			return nil
		},
	}
}

// printRecord prints the outcome of a recorded operation, its message in
// language l (--lang, like the log table).
func (e *env) printRecord(r runlog.Record, l i18n.Lang) {
	e.printRecordWith(r, l, "")
}

// printRecordWith is printRecord with more, a count that the record has no
// place for, after its message.
func (e *env) printRecordWith(r runlog.Record, l i18n.Lang, more string) {
	if e.json {
		_ = e.printJSONLine(r)
		return
	}
	if e.quiet && r.Result == runlog.OK {
		return
	}
	where := r.Medium
	if where == "" {
		where = r.Repository
	}
	id := r.ID
	if id == "" {
		// Not in the run log (exit 13 or the failure's code; a warning
		// says why): no ID to cite.
		id = "(not recorded)"
		if l == i18n.ID {
			id = "(tidak tercatat)"
		}
	}
	if l == i18n.ID {
		// One language per output (README): the line in Indonesian too,
		// with the kind's name beside its code.
		fmt.Fprintf(e.stdout, "%s %s job %s", l.T("op."+string(r.Op)), id, dashIf(r.Job))
		if where != "" {
			fmt.Fprintf(e.stdout, " di %s", where)
		}
		if r.Op == runlog.OpFollowup && r.Ref != "" {
			fmt.Fprintf(e.stdout, " atas %s", r.Ref)
		}
		fmt.Fprintf(e.stdout, ": %s", l.T("result."+string(r.Result)))
		if r.Failure != "" {
			fmt.Fprintf(e.stdout, " (%s, %s)", l.T("kind."+string(r.Failure)), r.Failure)
		}
		if r.Op != runlog.OpFollowup { // done, not run: no duration
			fmt.Fprintf(e.stdout, " dalam %s", l.Duration(r.Duration().Round(time.Millisecond)))
		}
		fmt.Fprintln(e.stdout)
	} else {
		fmt.Fprintf(e.stdout, "%s %s of %s", r.Op, id, dashIf(r.Job))
		if where != "" { // a follow-up is of a run, on no medium
			fmt.Fprintf(e.stdout, " on %s", where)
		}
		if r.Op == runlog.OpFollowup && r.Ref != "" {
			// Which failure it follows up, as the failure report pairs them.
			fmt.Fprintf(e.stdout, " for %s", r.Ref)
		}
		fmt.Fprintf(e.stdout, ": %s", r.Result)
		if r.Failure != "" {
			fmt.Fprintf(e.stdout, " (%s)", r.Failure)
		}
		if r.Op != runlog.OpFollowup {
			fmt.Fprintf(e.stdout, " in %s", r.Duration().Round(time.Millisecond))
		}
		fmt.Fprintln(e.stdout)
	}
	msg := runlog.MessageText(l, &r)
	if more != "" && msg != "" {
		msg += "; " + more
	} else if more != "" {
		msg = more
	}
	if msg != "" {
		// A quoted stderr keeps its lines, indented under the message:
		// none may start a line that reads as one of cadang's own.
		fmt.Fprintf(e.stdout, "  %s\n", strings.ReplaceAll(msg, "\n", "\n    "))
	}
	for _, s := range r.Errors {
		if r.Message != "" && strings.HasSuffix(s, ": "+r.Message) {
			continue // the source's error, said in the message above
		}
		fmt.Fprintf(e.stdout, "  %s\n", cellText(s))
	}
}

// reservedTag says whether t is a tag that cadang gives its own records and
// snapshots: a user's would make a run read as something it is not.
func reservedTag(t string) bool {
	switch t {
	case runlog.TagManual, runlog.TagBeforeChange, runlog.TagOffsite:
		return true
	}
	return strings.HasPrefix(t, soprun.TagJob) || strings.HasPrefix(t, soprun.TagSource)
}

func dashIf(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseWhen parses --since/--until: YYYY-MM-DD (midnight in the
// configured zone) or RFC 3339.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func filterFlagsSOP() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "since", Usage: "records from `DATE` (YYYY-MM-DD or RFC 3339) on"},
		&cli.StringFlag{Name: "until", Usage: "records before `DATE`"},
		&cli.StringFlag{Name: "job", Usage: "records of `JOB` only"},
		&cli.StringFlag{Name: "result", Usage: "records with `RESULT` only: ok, partial or failed"},
		&cli.StringFlag{Name: "op", Usage: "records of `OPERATION` only: backup, restore, restore-test, check, forget, prune, copy, repair, followup"},
	}
}

func logFilter(c *cli.Context, loc *time.Location) (runlog.Filter, error) {
	var f runlog.Filter
	var err error
	if f.Since, err = parseWhen(c.String("since"), loc); err != nil {
		return f, fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseWhen(c.String("until"), loc); err != nil {
		return f, fmt.Errorf("--until: %w", err)
	}
	if s := c.String("result"); s != "" {
		if f.Result, err = runlog.ParseResult(s); err != nil {
			return f, fmt.Errorf("--result: %w", err)
		}
	}
	f.Job = c.String("job")
	f.Op = runlog.Operation(c.String("op"))
	return f, nil
}

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "show the run log (the SOP's backup execution log); 'log verify' checks it",
		Description: `Prints the records of the local mirror of the run log, filtered, as a table, --json or --csv.
For the document (Markdown, HTML, PDF) use 'cadang report runlog'.`,
		Flags: append(filterFlagsSOP(), &cli.BoolFlag{Name: "csv", Usage: "print CSV"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			st, err := e.loadSOP(false)
			if err != nil {
				return err
			}
			f, err := logFilter(c, st.cfg.Location())
			if err != nil {
				return err
			}
			recs, err := st.log.Records()
			if err != nil {
				return err
			}
			recs = runlog.Select(recs, f)
			switch {
			case e.json:
				return runlog.WriteJSON(e.stdout, recs)
			case c.Bool("csv"):
				// Whole, in one write: csv flushes every 4 KiB, which
				// would split a character the escaping writer then
				// escapes byte by byte.
				var buf bytes.Buffer
				if err := runlog.WriteCSV(&buf, recs); err != nil {
					return err
				}
				_, err := e.stdout.Write(buf.Bytes())
				return err
			}
			return runlog.WriteTable(e.stdout, recs, st.termLang, e.displayZone())
		},
		Subcommands: []*cli.Command{logVerifyCommand(), logKeyCommand()}, // cmd_log.go
	}
}

// openSOPRepo opens a repository for an SOP command: --repo if given (with
// the global password options), else the connected medium of the job: the
// one of its last successful backup first, then the others in rotation
// order. The medium's repository ID must match.
func (e *env) openSOPRepo(ctx context.Context, st *sopState, jobName string) (*repo.Repository, *jobs.Medium, error) {
	lock := repo.SharedLock
	if e.c.Bool("no-lock") {
		lock = repo.NoLock
	}
	if loc := e.c.String("repo"); loc != "" {
		pw, err := e.password("enter the repository password: ", false)
		if err != nil {
			return nil, nil, err
		}
		l, err := e.parseLocation(loc)
		if err != nil {
			return nil, nil, err
		}
		o := repo.Options{Logf: e.logf, Warnf: e.warnf, AfterUnlock: debug.FreeOSMemory, Lock: lock, KDFMemory: e.kdfMemory()}
		o.ReadOnlyUnlocked = lock == repo.SharedLock // the SOP commands that open a repository read it
		done := hugeKDF(&o)
		r, err := engine.Open(ctx, l, pw, o)
		done()
		if err != nil {
			return nil, nil, e.saySource(err)
		}
		e.noteUnlocked(r)
		return r, mediumAt(st.cfg, loc, r.ID()), nil
	}
	if jobName == "" {
		return nil, nil, errors.New("give --job JOB or --repo LOCATION")
	}
	j, err := st.cfg.Job(jobName)
	if err != nil {
		return nil, nil, err
	}
	order := make([]int, 0, len(j.Media))
	if recs, err := st.log.Records(); err == nil {
		if last, ok := soprun.LastSuccess(recs, j.Name); ok {
			for i, m := range j.Media {
				if m.Name == last.Medium {
					order = append(order, i)
				}
			}
		}
	}
	for i := range j.Media {
		if len(order) == 0 || order[0] != i {
			order = append(order, i)
		}
	}
	var errs []error
	op := e.opener(st)
	op.ReadOnlyUnlocked = true
	for _, i := range order {
		m := &j.Media[i]
		x, err := op.Open(ctx, *m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := x.(*repo.Repository)
		if !strings.EqualFold(r.ID(), m.RepositoryID) {
			r.Close()
			errs = append(errs, runlog.Fail(runlog.KindMedia, fmt.Errorf("medium %s: the repository at %s has ID %s, not %s", m.Name, m.Repository, shortID(r.ID()), shortID(m.RepositoryID))))
			continue
		}
		e.noteUnlocked(r)
		return r, m, nil
	}
	// A medium whose repository did not open for another reason than
	// being absent (its password file missing, a wrong password) was
	// there: the failure is that one, not a missing medium.
	for _, err := range errs {
		if k := errclass.Kind(err); k != runlog.KindMedia && k != "" {
			return nil, nil, runlog.Fail(k, fmt.Errorf("no medium of job %s could be opened: %w", j.Name, errors.Join(errs...)))
		}
	}
	return nil, nil, runlog.Fail(runlog.KindMedia, fmt.Errorf("no medium of job %s is connected: %w", j.Name, errors.Join(errs...)))
}

func restoreTestCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore-test",
		Usage: "SOP step 4: restore a random sample of a job's backups and verify it byte for byte",
		Description: `Draws snapshots and files of the job at random (the seed comes from crypto/rand unless --seed is
given, and is recorded so the sample can be repeated), restores them into a scratch directory, compares
every byte with the snapshot, runs the verify command of dump sources (e.g. pg_restore --list), records
the test in the run log and prints the restore test report (with --json, the record instead, one JSON
line per job). Without --job, every job is tested.

Without a configuration file, -r REPOSITORY tests that repository: its snapshots are grouped by source
(the source: tag, within the job: tag; else the host and paths), and every source is sampled: one file
of its newest snapshot always, --snapshots snapshots of each source, and the --sample files among them.

The report is printed on the terminal in English unless --lang id (or CADANG_LANG) is given, as run,
status and log print; written with --output FILE it is a document, in Bahasa Indonesia unless --lang en
is given, as every document. --format md|html|pdf.
A test that passed but whose record cannot be written to the run log exits 13 and writes no --output
document (a failed one keeps its code).`,
		Flags: append(docFlags(),
			&cli.StringFlag{Name: "job", Usage: "test `JOB` only"},
			&cli.IntFlag{Name: "sample", Usage: "restore `N` files", DefaultText: "[restore_test] sample, 20"},
			&cli.StringFlag{Name: "sample-bytes", Usage: "restore files up to `SIZE` in all instead of a number of files"},
			&cli.IntFlag{Name: "snapshots", Usage: "draw from `N` snapshots (without a configuration file: up to N of each source, its newest always)", DefaultText: "[restore_test] snapshots, 3"},
			&cli.StringFlag{Name: "seed", Usage: "repeat the sample of an earlier test: its `SEED`"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the scratch directory"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			st, err := e.loadSOP(false)
			if err != nil {
				return err
			}
			noConfig := st.cfgErr != nil
			if noConfig && (c.String("repo") == "" || c.String("job") != "") {
				return fmt.Errorf("%w; without one, give -r REPOSITORY to test that repository's snapshots", st.cfgErr)
			}
			rt := st.cfg.RestoreTest
			if errors.Is(st.cfgErr, jobs.ErrNoConfig) {
				rt = jobs.RestoreTestConfig{Sample: jobs.DefaultSample, Snapshots: jobs.DefaultSnapshots}
			}
			o := restoretest.Options{Sample: rt.Sample, SampleBytes: int64(rt.SampleBytes), Snapshots: rt.Snapshots,
				Scratch: rt.Scratch, Keep: c.Bool("keep")}
			if c.IsSet("sample") {
				o.Sample, o.SampleBytes = c.Int("sample"), 0
			}
			if s := c.String("sample-bytes"); s != "" {
				n, err := jobs.ParseSize(s)
				if err != nil {
					return fmt.Errorf("--sample-bytes: %w", err)
				}
				o.Sample, o.SampleBytes = 0, n
			}
			if o.Sample <= 0 && o.SampleBytes <= 0 {
				o.Sample = jobs.DefaultSample
			}
			if c.IsSet("snapshots") {
				o.Snapshots = c.Int("snapshots")
			}
			if s := c.String("seed"); s != "" {
				if o.Seed, err = strconv.ParseUint(s, 10, 64); err != nil {
					return fmt.Errorf("--seed: %w", err)
				}
				o.HasSeed = true
			}
			if noConfig {
				rec, err := e.restoreTestRepo(c.Context, st, o)
				var nre *soprun.NotRecordedError
				if errors.As(err, &nre) {
					e.printUnrecordedTest(c, nre.Record, false)
					return unrecordedError(nre)
				}
				if rec.ID == "" {
					return err
				}
				if perr := e.printRestoreTest(c, rec, c.String("output"), false); perr != nil {
					return perr
				}
				return runError(err)
			}
			names := []string{c.String("job")}
			if names[0] == "" {
				names = names[:0]
				for _, j := range st.cfg.Jobs {
					names = append(names, j.Name)
				}
			}
			// A test that failed decides the exit code before one that
			// only went unrecorded (13, each said in a warning).
			var errs, unrecorded []error
			for _, name := range names {
				rec, err := e.restoreTest(c.Context, st, name, o)
				var nre *soprun.NotRecordedError
				if errors.As(err, &nre) {
					e.printUnrecordedTest(c, nre.Record, len(names) > 1)
					if nre.Record.Result == runlog.OK {
						unrecorded = append(unrecorded, unrecordedError(nre))
					} else {
						errs = append(errs, unrecordedError(nre))
					}
					continue
				}
				if rec.ID == "" {
					if err != nil {
						return err
					}
					continue
				}
				if err != nil {
					errs = append(errs, runError(err))
				}
				if err := e.printRestoreTest(c, rec, c.String("output"), len(names) > 1); err != nil {
					return err
				}
			}
			if len(errs) == 0 {
				errs = unrecorded
			}
			return errors.Join(errs...)
		},
	}
}

// printRestoreTest prints the result of one restore test: its record as
// one JSON line with --json (so a script reads one value per job),
// otherwise the report document. --output writes the document in both
// cases; with several jobs each gets its own file, named after the job.
// Printed, the report is terminal output, in the terminal's language
// (English unless --lang/CADANG_LANG), as what run, status and log print;
// written to a file, it is a document in the documents' language.
func (e *env) printRestoreTest(c *cli.Context, rec runlog.Record, output string, several bool) error {
	if e.json {
		if err := e.printJSONLine(rec); err != nil {
			return err
		}
		if output == "" {
			return nil
		}
	}
	// Without a configuration file (a repository's test) the report has
	// no organisation, shown as blanks.
	st, env, recs, err := e.reportEnv(c.Context, rec.Job != "")
	if err != nil {
		return err
	}
	if output == "" {
		env.Lang = st.termLang
	}
	if output != "" && several {
		ext := filepath.Ext(output)
		output = strings.TrimSuffix(output, ext) + "-" + rec.Job + ext
	}
	return e.writeDoc(c, env.RestoreTest(rec, recs), output)
}

// printUnrecordedTest prints what a restore test whose record could not be
// written found, on the terminal (or its record, without an ID, with
// --json), since the operator ran it to see that. It writes no --output
// document: a document must cite a record of the run log, which
// 'cadang report restore-test' can print again, and this test has none.
// A failure to print is a warning: the exit code is the test's.
func (e *env) printUnrecordedTest(c *cli.Context, rec runlog.Record, several bool) {
	if c.String("output") != "" {
		e.warnf("--output: no document written for a restore test that is not in the run log")
	}
	if err := e.printRestoreTest(c, rec, "", several); err != nil {
		e.warnf("restore test report: %v", err)
	}
}

// restoreTest runs and records one restore test of a job.
func (e *env) restoreTest(ctx context.Context, st *sopState, jobName string, o restoretest.Options) (runlog.Record, error) {
	var opened *repo.Repository
	defer func() {
		if opened != nil {
			opened.Close()
		}
	}()
	out, err := e.runner(st).Do(ctx, runlog.OpRestoreTest, jobName, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		j, err := st.cfg.Job(jobName)
		if err != nil {
			return nil, err
		}
		r, m, err := e.openSOPRepo(ctx, st, jobName)
		if err != nil {
			return nil, err
		}
		opened = r
		rec.RepositoryID = r.ID()
		if m != nil {
			rec.Medium, rec.Repository = m.Name, location.Redact(m.Repository)
		} else {
			rec.Repository = location.Redact(e.c.String("repo"))
		}
		t := &restoretest.Tester{Source: &engine.Source{Repo: r}, Clock: st.clock, Records: e.backupRecords(ctx, st, r)}
		return r, t.Run(ctx, j, o, rec)
	})
	for _, w := range out.Warnings {
		if !e.warnReadOnlyCopy(st.log, opened, out.Record, w) {
			e.warnf("%v", w)
		}
	}
	if out.Record.ID != "" {
		e.logf("%s", testLine(st.termLang, &out.Record, jobName, ""))
	}
	var nre *soprun.NotRecordedError
	if errors.As(err, &nre) {
		e.logf("%s", testLine(st.termLang, &nre.Record, jobName, ""))
		e.warnNotRecorded(nre)
	}
	return out.Record, err
}

// restoreTestRepo runs and records the restore test of a repository
// without a configuration file: its snapshots are grouped by the source
// their tags (or host and paths) say, and every source is sampled, its
// newest snapshot always (a job without sources: restoretest.Sample), so
// a database dump of one file is tested beside thousands of uploaded
// files; the test goes to the run log this command uses (--log-file,
// else the default), whose path it prints.
func (e *env) restoreTestRepo(ctx context.Context, st *sopState, o restoretest.Options) (runlog.Record, error) {
	var opened *repo.Repository
	defer func() {
		if opened != nil {
			opened.Close()
		}
	}()
	job := &jobs.Job{}
	out, err := e.runner(st).Do(ctx, runlog.OpRestoreTest, "", func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		r, _, err := e.openSOPRepo(ctx, st, "")
		if err != nil {
			return nil, err
		}
		opened = r
		rec.RepositoryID, rec.Repository = r.ID(), location.Redact(e.c.String("repo"))
		job.Name = rec.Repository
		t := &restoretest.Tester{Source: &engine.Source{Repo: r, All: true}, Clock: st.clock, Records: e.backupRecords(ctx, st, r)}
		return r, t.Run(ctx, job, o, rec)
	})
	for _, w := range out.Warnings {
		if !e.warnReadOnlyCopy(st.log, opened, out.Record, w) {
			e.warnf("%v", w)
		}
	}
	if out.Record.ID != "" {
		e.logf("%s", testLine(st.termLang, &out.Record, out.Record.Repository, st.log.Path()))
		e.perSourceNote(st.termLang, out.Record, o.Snapshots)
	}
	var nre *soprun.NotRecordedError
	if errors.As(err, &nre) {
		e.logf("%s", testLine(st.termLang, &nre.Record, nre.Record.Repository, ""))
		e.perSourceNote(st.termLang, nre.Record, o.Snapshots)
		e.warnNotRecorded(nre)
	}
	return out.Record, err
}

// testLine is the line a restore test prints on the terminal, all of it
// in the terminal's language l: the record's ID (none for a test whose
// record could not be written), what was tested (of), the result, the
// record's note and the seed, and with logPath the run log it went to.
// English keeps the result's word as the run log writes it ("ok").
func testLine(l i18n.Lang, rec *runlog.Record, of, logPath string) string {
	res := string(rec.Result)
	if l != i18n.EN {
		res = runlog.ResultLabel(l, rec.Result)
	}
	var s string
	if rec.ID == "" {
		s = l.T("rt.term_unrecorded", of, res, runlog.MessageText(l, rec), seedOf(*rec))
	} else {
		s = l.T("rt.term", rec.ID, of, res, runlog.MessageText(l, rec), seedOf(*rec))
	}
	if logPath != "" {
		s += l.T("rt.term_logged", logPath)
	}
	return s
}

// perSourceNote says, after the line of a restore test without a
// configuration file that tested more snapshots than --snapshots asked,
// why: each source is sampled on its own, its newest snapshot always, so
// '--snapshots 1' of a repository with three sources tests three.
func (e *env) perSourceNote(l i18n.Lang, rec runlog.Record, asked int) {
	if asked <= 0 {
		asked = jobs.DefaultSnapshots
	}
	if rec.Test == nil || len(rec.Test.Snapshots) <= asked {
		return
	}
	e.logf("%s", l.T("rt.per_source", l.Int(int64(testSources(rec.Test))), l.Int(int64(asked))))
}

// testSources counts the sources a restore test drew snapshots of.
func testSources(t *runlog.TestInfo) int {
	seen := map[string]bool{}
	for _, s := range t.Snapshots {
		seen[s.Source] = true
	}
	return len(seen)
}

// backupRecords are the records in which a restore test looks up the
// check values its snapshots' backups recorded: the local run log's and
// the repository's (a replacement server has only the latter). Either may
// be missing; a check then says that no value was recorded.
func (e *env) backupRecords(ctx context.Context, st *sopState, r *repo.Repository) []runlog.Record {
	recs, err := st.log.Records()
	if err != nil {
		e.warnf("run log %s: %v", st.log.Path(), err)
	}
	stored, err := runlog.StoreRecords(ctx, r)
	if err != nil {
		e.warnf("records in the repository: %v", err)
	}
	return runlog.Merge(recs, stored)
}

func seedOf(r runlog.Record) uint64 {
	if r.Test != nil {
		return r.Test.Seed
	}
	return 0
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "where each job stands: last backup, next medium, restore tests due, offsite copies, what is overdue (for monitoring)",
		Description: `Per job: the last backup and its result, the medium due next in the rotation, the last and next
restore test, and for a job with [job.offsite] the last successful copy to its offsite medium.

Exit codes, as monitoring plugins use them: 0 all is well, 1 warning (a restore test is overdue, the
last backup was partial, a failure of the last 35 days has had no follow-up for more than the day SOP
step 5 gives, the
last offsite copy is older than the job's [job.offsite] max_age, never happened or failed; the run
log has problems, so that no head of it reaches the repositories (runlog-problems), a record's copy into
its repository failed over an hour ago (runlog-not-copied; not when the repository was read-only, as on
a medium mounted read-only, which the next command that can write there fills), or the clock stepped back
between two records within the last 35 days (runlog-clock-back), or the clock stands more than 2 minutes
behind the newest record (clock-behind; less is two synchronised clocks' drift, not a step back; each says
what to check: the system clock, its time synchronisation, the hardware clock): these are said
for every job), 2 critical
(the last backup failed or a backup is overdue), 3 the status could not be read. A failure without a
follow-up within that day is listed only.

For Nagios or Icinga: 'cadang status --job spse-prod --format nagios' prints one plugin line (CADANG
OK|WARNING|CRITICAL|UNKNOWN - what, with performance data: ages of the last backup, restore test and
offsite copy in seconds, none for a time after now, bytes added and duration of the last backup) and
exits with the plugin code.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "job", Usage: "only the job `NAME` (one check per job)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or nagios (one plugin line with performance data)", Action: func(_ *cli.Context, v string) error {
				switch v {
				case "text", "json", "nagios":
					return nil
				}
				return fmt.Errorf("--format %q: use text, json or nagios", v)
			}},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			nagios := c.String("format") == "nagios"
			unknown := func(err error) error {
				if nagios {
					// A plugin's state goes to standard output, in its line.
					fmt.Fprintf(e.stdout, "CADANG UNKNOWN - %v\n", err)
				}
				return &codedError{Code: status.ExitUnknown, Msg: err.Error()}
			}
			st, err := e.loadSOP(false)
			if err != nil {
				return unknown(err)
			}
			if st.cfgErr != nil {
				if c.String("repo") == "" {
					return unknown(fmt.Errorf("%w; without one, give -r REPOSITORY for the status of that repository", st.cfgErr))
				}
				rep, err := e.repoStatus(c.Context, st)
				if err != nil {
					return unknown(err)
				}
				return e.writeStatus(c, st, rep)
			}
			// A monitoring user who cannot read the configured run log
			// would get an empty fallback log and "never backed up":
			// that is not knowing, not a critical state.
			if p := configuredLogPath(st.cfg); c.String("log-file") == "" && st.log.Path() != p {
				if f, err := os.Open(p); err == nil {
					// Readable, not writable: status only reads, so it
					// reads the log the administrator configured.
					f.Close()
					st.log = runlog.Open(p, st.logOpts)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return unknown(fmt.Errorf("status unknown: the run log %s cannot be read by this user (%v); run status as a user who can read it, or give --log-file", p, err))
				}
			}
			recs, err := st.log.Records()
			if err != nil {
				return unknown(err)
			}
			rep := status.Compute(st.cfg, recs, st.clock.Now())
			// What keeps the run log from the repositories is for
			// monitoring to hear of: a log with problems gets no head
			// written into any of them, run after run.
			health, err := st.log.Health(st.clock.Now())
			if err != nil {
				return unknown(fmt.Errorf("the run log %s: %w", st.log.Path(), err))
			}
			rep.AddRunLog(health, recs)
			if j := c.String("job"); j != "" {
				if rep, err = rep.Only(j); err != nil {
					return unknown(err)
				}
			}
			return e.writeStatus(c, st, rep)
		},
	}
}

// writeStatus prints a status report as --format asks and ends with its
// monitoring exit code.
func (e *env) writeStatus(c *cli.Context, st *sopState, rep *status.Report) error {
	var err error
	switch {
	case c.String("format") == "nagios":
		err = rep.WriteNagios(e.stdout)
	case e.json || c.String("format") == "json":
		err = rep.WriteJSON(e.stdout)
	default:
		err = rep.WriteText(e.stdout, st.termLang, e.displayZone())
	}
	if err != nil {
		if c.String("format") == "nagios" {
			fmt.Fprintf(e.stdout, "CADANG UNKNOWN - %v\n", err)
		}
		return &codedError{Code: status.ExitUnknown, Msg: err.Error()}
	}
	if code := rep.ExitCode(); code != status.ExitOK {
		n := 0
		for _, j := range rep.Jobs {
			if j.Level != status.OK {
				n++
			}
		}
		return &codedError{Code: code, Msg: fmt.Sprintf("status: %d job(s) need attention", n)}
	}
	return nil
}

// repoStatus is the status of the repository of --repo without a
// configuration file: from the records about it (the run log's and the
// repository's own) and its snapshots, held to a daily backup and the
// SOP's restore-test interval.
func (e *env) repoStatus(ctx context.Context, st *sopState) (*status.Report, error) {
	r, _, err := e.openSOPRepo(ctx, st, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sns, err := e.listSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		return nil, err
	}
	infos := make([]status.SnapshotInfo, len(sns))
	for i, sn := range sns {
		infos[i] = status.SnapshotInfo{ID: sn.ID().String(), Time: sn.Time}
	}
	recs, err := st.log.Records()
	if err != nil {
		return nil, fmt.Errorf("the run log %s cannot be read: %w", st.log.Path(), err)
	}
	stored, err := runlog.StoreRecords(ctx, r)
	if err != nil {
		e.warnf("records in the repository: %v", err)
	}
	name := location.Redact(e.c.String("repo"))
	rep := status.ComputeRepository(name, r.ID(), runlog.Merge(recs, stored), infos, 0, st.clock.Now())
	health, err := st.log.Health(st.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("the run log %s: %w", st.log.Path(), err)
	}
	rep.AddRunLog(health, recs)
	return rep, nil
}

func followupCommand() *cli.Command {
	return &cli.Command{
		Name:  "followup",
		Usage: "SOP step 5: the follow-up taken after a failed run",
		Subcommands: []*cli.Command{{
			Name:      "add",
			Usage:     "record the follow-up taken after a failed run",
			ArgsUsage: "RUN_ID [RUN_ID...]",
			Description: "Records what was done after a failed run (SOP step 5); the failure report of the run prints it.\n" +
				"Several RUN_IDs (failures of one cause, such as a week of runs on a broken disk) get one follow-up\n" +
				"each, with the same action and cause. Every RUN_ID is checked first: if one is not a failed run,\n" +
				"nothing is recorded. With --repo the follow-up is copied into that repository too; where it cannot be\n" +
				"(a medium mounted read-only) it is stored on this server only, which the command says, with exit\n" +
				"code 3, and the next command that can write there copies it.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "action", Usage: "what was done, in `TEXT`", Required: true},
				&cli.StringFlag{Name: "cause", Usage: "the cause of the failure that was found, in `TEXT` (the failure report prints it)"},
				&cli.StringFlag{Name: "at", Usage: "when the action was taken, if not now: `TIME` as YYYY-MM-DD HH:MM (in the [organization] timezone) or RFC 3339"},
			},
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				if c.NArg() == 0 {
					return errors.New("followup add: give the RUN_ID of the failed run (several for failures of one cause)")
				}
				st, err := e.loadSOP(false)
				if err != nil {
					return err
				}
				var store runlog.RecordStore
				var r *repo.Repository
				if c.String("repo") != "" {
					r, _, err = e.openSOPRepo(c.Context, st, "")
					if err != nil {
						return err
					}
					defer r.Close()
					store = r
				}
				o := soprun.FollowupOptions{Action: c.String("action"), Cause: c.String("cause")}
				if at := c.String("at"); at != "" {
					t, err := time.ParseInLocation("2006-01-02 15:04", at, st.cfg.Location())
					if err != nil {
						t, err = time.Parse(time.RFC3339, at)
					}
					if err != nil {
						return fmt.Errorf("--at %q: use YYYY-MM-DD HH:MM or RFC 3339", at)
					}
					o.At = t
				}
				recs, err := e.runner(st).FollowupMany(c.Context, c.Args().Slice(), o, store)
				for _, rec := range recs {
					e.printRecord(rec, st.termLang)
				}
				if r != nil && errors.Is(err, runlog.ErrNotStored) {
					// (ErrUnsigned matches it too: only the records the
					// log notes as not copied into r are said.)
					if left := notCopied(st.log, r, recs); len(left) > 0 {
						return followupNotStored(r, left, err)
					}
				}
				return err
			},
		}},
	}
}

// notCopied returns those of recs that the run log l notes as not copied
// into r.
func notCopied(l *runlog.Log, r *repo.Repository, recs []runlog.Record) []runlog.Record {
	pending := l.PendingCopies(r.ID())
	var out []runlog.Record
	for _, rec := range recs {
		if slices.Contains(pending, rec.Seq) {
			out = append(out, rec)
		}
	}
	return out
}

// followupNotStored is the end of a 'followup add --repo' whose records
// are in the local run log but not in r (err wraps runlog.ErrNotStored):
// exit code 3, done with a warning, and not a failure, since the follow-up
// is recorded (status and the failure report see it) and the next command
// that can write to r copies it there; a failure would have the
// administrator run it again, and record it twice. Its line says plainly
// that the records are on this server only, and why: on a read-only
// medium (a rotation disk mounted read-only), the repository and the
// mount point to remount.
func followupNotStored(r *repo.Repository, recs []runlog.Record, err error) error {
	ids, refs := make([]string, len(recs)), make([]string, len(recs))
	for i, rec := range recs {
		ids[i], refs[i] = rec.ID, rec.Ref
	}
	what := fmt.Sprintf("the follow-up %s of %s is stored on this server only: it was", ids[0], refs[0])
	if len(recs) > 1 {
		what = fmt.Sprintf("the follow-ups %s of %s are stored on this server only: they were", strings.Join(ids, ", "), strings.Join(refs, ", "))
	}
	loc := location.Redact(r.Backend().Location())
	var ro *repo.ReadOnlyError
	switch {
	case r.Unlocked() || errors.As(err, &ro):
		why := "whose storage is read-only"
		if filepath.IsAbs(loc) {
			why = fmt.Sprintf("whose file system (mounted at %s) is read-only", errclass.MountPoint(loc))
		}
		return &partialError{Msg: fmt.Sprintf("%s not written to the repository %s, %s; the next command that can write there copies it", what, loc, why)}
	}
	return &partialError{Msg: fmt.Sprintf("%s not written to the repository %s (%v); the next command that opens it copies it", what, loc, err)}
}

func reportCommand() *cli.Command {
	// sub makes a document command; needConfig is false for the documents
	// that need the run log's records only: every one but the inventory,
	// which lists the configured jobs. A host whose configuration has no
	// [[job]] (or that has none) still documents what its run log holds.
	sub := func(name, usage, args string, needConfig bool, extra []cli.Flag, fn func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error)) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: args, Description: usage + "." + docHelp,
			Flags: append(docFlags(), extra...),
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				st, env, recs, err := e.reportEnv(c.Context, needConfig)
				if err != nil {
					return err
				}
				d, err := fn(c, env, recs)
				if errors.Is(err, runlog.ErrNoRecord) {
					where := "the run log " + st.log.Path()
					if loc := c.String("repo"); loc != "" {
						where += " and the repository " + loc
					}
					return fmt.Errorf("%w; looked in %s (another log: --log-file or %s; the repository's records: --repo)", err, where, envLog)
				}
				if err != nil {
					return err
				}
				return e.writeDoc(c, d, c.String("output"))
			},
		}
	}
	find := func(c *cli.Context, recs []runlog.Record, op runlog.Operation) (runlog.Record, error) {
		if c.NArg() != 1 {
			return runlog.Record{}, fmt.Errorf("give one RUN_ID (or latest)")
		}
		return runlog.FindRecord(recs, c.Args().First(), op)
	}
	return &cli.Command{
		Name:  "report",
		Usage: "the SOP documents (Markdown, HTML or PDF; Bahasa Indonesia or --lang en)",
		Subcommands: []*cli.Command{
			sub("inventory", "the list of database and application backups (Daftar Backup Database dan Aplikasi)", "", true, nil,
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					return env.Inventory(recs), nil
				}),
			sub("runlog", "the backup execution log (Log Pelaksanaan Backup)", "", false, filterFlagsSOP(),
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					f, err := logFilter(c, env.Config.Location())
					if err != nil {
						return nil, err
					}
					period := env.Lang.Pick("seluruh catatan", "all records")
					switch {
					case !f.Since.IsZero() && !f.Until.IsZero():
						period = env.Lang.Date(f.Since) + " – " + env.Lang.Date(f.Until.Add(-time.Nanosecond))
					case !f.Since.IsZero():
						period = env.Lang.Pick("sejak ", "since ") + env.Lang.Date(f.Since)
					case !f.Until.IsZero():
						period = env.Lang.Pick("sebelum ", "before ") + env.Lang.Date(f.Until)
					}
					return env.RunLog(runlog.Select(recs, f), period), nil
				}),
			sub("failure", "the backup failure analysis report of a failed run (Laporan Analisa Kegagalan Backup)", "RUN_ID|latest", false, nil,
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					id := c.Args().First()
					var r runlog.Record
					var err error
					if id == "latest" {
						r, err = latestFailure(recs)
					} else {
						r, err = find(c, recs, "")
					}
					if err != nil {
						return nil, err
					}
					return env.Failure(r, recs), nil
				}),
			sub("monthly", "the monthly analysis of backup effectiveness (SOP step 6)", "", false,
				[]cli.Flag{&cli.StringFlag{Name: "month", Usage: "the `YYYY-MM` to analyse (default: the previous month)"}},
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					loc := env.Config.Location()
					var month time.Time
					if s := c.String("month"); s != "" {
						var err error
						if month, err = report.ParseMonth(s, loc); err != nil {
							return nil, fmt.Errorf("--month: %w", err)
						}
					} else {
						now := env.Now.In(loc)
						month = time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, loc)
					}
					return env.Monthly(recs, month)
				}),
			sub("restore-request", "the restore request form (Form Permintaan Restore): blank, or filled from a restore's record, signed on the day of the request", "[RUN_ID|latest]", false, requestFlags(),
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					o, err := minutesOptions(c, env.Config.Location())
					if err != nil {
						return nil, err
					}
					if c.NArg() == 0 {
						return env.RestoreRequest(nil, o), nil
					}
					r, err := runlog.FindRecord(recs, c.Args().First(), runlog.OpRestore)
					if err != nil {
						return nil, err
					}
					return env.RestoreRequest(&r, o), nil
				}),
			sub("restore", "the restore minutes (Berita Acara Pelaksanaan Restore) of a restore", "RUN_ID|latest", false, minutesFlags(),
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					var r runlog.Record
					var err error
					if c.NArg() == 1 && c.Args().First() == "latest" {
						r, err = newEnv(c).latestRestore(recs)
					} else {
						r, err = find(c, recs, runlog.OpRestore)
					}
					if err != nil {
						return nil, err
					}
					if r.Op != runlog.OpRestore {
						return nil, fmt.Errorf("%s is a %s, not a restore", r.ID, r.Op)
					}
					o, err := minutesOptions(c, env.Config.Location())
					if err != nil {
						return nil, err
					}
					return env.RestoreMinutes(r, recs, o)
				}),
			sub("restore-test", "the report of a restore test (SOP step 4)", "RUN_ID|latest", false, nil,
				func(c *cli.Context, env report.Env, recs []runlog.Record) (*doc.Document, error) {
					r, err := find(c, recs, runlog.OpRestoreTest)
					if err != nil {
						return nil, err
					}
					if r.Op != runlog.OpRestoreTest {
						return nil, fmt.Errorf("%s is a %s, not a restore test", r.ID, r.Op)
					}
					return env.RestoreTest(r, recs), nil
				}),
			reportVerifyCommand(), // cmd_log.go
		},
	}
}

// minutesFlags are what the restore minutes need and the record lacks.
func minutesFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "signed-on", Usage: "the `YYYY-MM-DD` of signing (default: the day of the restore)"},
		&cli.StringFlag{Name: "requester-position", Usage: "the requester's position (jabatan), in `TEXT` (default: the position recorded with the restore)"},
		&cli.StringFlag{Name: "requester-unit", Usage: "the requester's unit (unit kerja), in `TEXT` (default: the unit recorded with the restore)"},
		&cli.StringFlag{Name: "performer", Usage: "the `NAME` of who carried out the restore (default: [organization.administrator] name)"},
	}
}

// requestFlags are minutesFlags less the performer, for the filled
// restore request form.
func requestFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "signed-on", Usage: "the `YYYY-MM-DD` of signing (default: the day of the request, as recorded by restore --requested-on, else of the restore)"},
		&cli.StringFlag{Name: "requester-position", Usage: "the requester's position (jabatan), in `TEXT` (default: the position recorded with the restore)"},
		&cli.StringFlag{Name: "requester-unit", Usage: "the requester's unit (unit kerja), in `TEXT` (default: the unit recorded with the restore)"},
	}
}

func minutesOptions(c *cli.Context, loc *time.Location) (report.MinutesOptions, error) {
	o := report.MinutesOptions{RequesterPosition: c.String("requester-position"), RequesterUnit: c.String("requester-unit"), Performer: c.String("performer"),
		SudoUser: os.Getenv("SUDO_USER")}
	if u, err := user.LookupId("0"); err == nil {
		// root by another name: no person signs as it either
		o.SystemAccounts = append(o.SystemAccounts, u.Username)
	}
	if s := c.String("signed-on"); s != "" {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return o, fmt.Errorf("--signed-on %q: want YYYY-MM-DD", s)
		}
		o.SignedOn = t
	}
	return o, nil
}

// latestRestore is the restore `report restore latest` documents
// (report.FindLatestRestore), and says on stderr which one it is when
// there is more to know: later attempts that never opened the repository
// (a mistyped path, a wrong password), and the other restores of the same
// request, each of which has minutes of its own.
func (e *env) latestRestore(recs []runlog.Record) (runlog.Record, error) {
	l, err := report.FindLatestRestore(recs)
	if err != nil {
		return l.Record, err
	}
	if n := len(l.NotOpened); n > 0 {
		e.warnf("minutes of restore %s (%s, %s): the %d later attempt(s) %s failed before opening the repository and restored nothing; 'cadang report restore RUN_ID' gives the minutes of any attempt",
			l.Record.ID, l.Record.Result, describeRestore(l.Record), n, attemptList(l.NotOpened))
	}
	if len(l.Related) > 0 {
		e.warnf("restore %s is one of %d restores of the same request made within minutes of each other; the others have minutes of their own: %s (cadang report restore RUN_ID)",
			l.Record.ID, len(l.Related)+1, attemptList(l.Related))
	}
	return l.Record, nil
}

// describeRestore names what a restore restored, for a message: its
// snapshot (and source) and target.
func describeRestore(r runlog.Record) string {
	if r.Restore == nil {
		return "no snapshot"
	}
	s := "snapshot " + dashIf(shortID(r.Restore.Snapshot))
	if r.Restore.Source != "" {
		s += " of source " + r.Restore.Source
	}
	return s + " to " + dashIf(r.Restore.Target)
}

// attemptList lists restore records for a message: each ID with its
// failure kind, or what it restored.
func attemptList(rs []runlog.Record) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		what := string(r.Failure)
		if r.Result != runlog.Failed || what == "" {
			what = describeRestore(r)
		}
		parts[i] = r.ID + " (" + what + ")"
	}
	return strings.Join(parts, ", ")
}

// latestFailure is the last failed run that asks a follow-up
// (runlog.Record.AsksFollowup, as status and the monthly analysis count
// them): a failed restore that found no damaged backup data is documented
// by its minutes, not by a backup failure analysis; its ID still gives
// one when named.
func latestFailure(recs []runlog.Record) (runlog.Record, error) {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].AsksFollowup() {
			return recs[i], nil
		}
	}
	return runlog.Record{}, errors.New("the run log has no failed run that asks a follow-up (a failed restore that found no damaged backup data has its minutes instead: cadang report restore RUN_ID)")
}
