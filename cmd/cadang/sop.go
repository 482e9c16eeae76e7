package main

// The wiring of the SOP layer (internal/sop/...) into the CLI: the
// configuration, the run log, the runner, and the hook that records every
// backup, restore and check attempt. The logic is in internal/sop.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/notify"
	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot/prune"
)

// envNow sets the SOP layer's clock: an RFC 3339 time (or YYYY-MM-DD) at
// which the clock starts, running on in real time. It is a hook for tests
// and demonstrations (a month of runs in a few seconds); never set it on a
// production server, as every record would carry the wrong time.
const envNow = "CADANG_NOW"

// clock returns the clock of the commands: the one CADANG_NOW starts
// (envNow), or the system clock. It is made once, so that every use in
// a command reads one clock.
func (e *env) clock() (clock.Clock, error) {
	if e.clk != nil {
		return e.clk, nil
	}
	s := os.Getenv(envNow)
	if s == "" {
		e.clk = clock.System{}
		return e.clk, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, s, time.Local)
	}
	if err != nil {
		return nil, fmt.Errorf("%s=%q: use RFC 3339 (2026-11-03T02:00:00+08:00) or YYYY-MM-DD", envNow, s)
	}
	e.clk = clock.NewShifted(t)
	return e.clk, nil
}

// now is the time on the commands' clock (clock): what a plain command
// writes into the repository as a time, or judges by it, follows
// CADANG_NOW as the SOP commands do. An unreadable CADANG_NOW is the
// SOP commands' error to say; here it is the system clock.
func (e *env) now() time.Time {
	c, err := e.clock()
	if err != nil {
		return time.Now()
	}
	return c.Now()
}

// repoClock is repo.Options.Now for the repositories a command opens:
// the clock CADANG_NOW starts, so that what prune marks and deletes says
// the replayed time, as the records do; nil (time.Now) without it. The
// repository judges its locks and obsolete sets by this clock, so a
// command under the hook must not share a repository with one without it.
func (e *env) repoClock() func() time.Time {
	c, err := e.clock()
	if _, sys := c.(clock.System); err != nil || sys {
		return nil
	}
	return c.Now
}

// envLog names the local mirror of the run log (like --log-file).
const envLog = "CADANG_LOG"

func sopGlobalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", EnvVars: []string{jobs.EnvConfig}, Usage: "SOP configuration `FILE` (default ./cadang.toml, then /etc/cadang/cadang.toml)"},
		&cli.StringFlag{Name: "log-file", EnvVars: []string{envLog}, Usage: "local mirror of the run log, `FILE` (default: [log] path of the configuration, or " + jobs.DefaultLogPath + ")"},
		&cli.StringFlag{Name: "lang", EnvVars: []string{"CADANG_LANG"}, Usage: "language of the SOP documents and reports (default id, Bahasa Indonesia) and of the SOP commands' terminal output (default en): id or en"},
		&cli.StringFlag{Name: "sign-key", EnvVars: []string{"CADANG_SIGN_KEY"}, Usage: "countersign run-log records, and sign documents, with the operator's ed25519 key `FILE` (PEM PKCS#8, kept off the server)"},
		&cli.StringSliceFlag{Name: "trust-key", EnvVars: []string{"CADANG_TRUST_KEY"}, Usage: "also accept run-log records and documents signed by `KEY` (fingerprint or hex public key, as 'cadang log key' prints it on the host that signs; e.g. the server this one replaced, or the backup host that runs forget and prune; repeatable; also [log] trust_keys)"},
	}
}

// sopState is what the SOP commands share: the configuration, the run log,
// the clock and the language.
type sopState struct {
	cfg *jobs.Config // never nil: empty when there is no configuration
	// cfgErr says why cfg has no job: no file (jobs.ErrNoConfig), a file
	// without [[job]] (jobs.ErrNoJobs; cfg holds the rest of it), or,
	// for the engine commands, a file that does not load (cfg empty).
	cfgErr error
	log    *runlog.Log
	// logOpts are the options log was opened with, for a command that
	// opens another run log (status reading the configured one).
	logOpts runlog.Options
	clock   clock.Clock
	lang    i18n.Lang // of the documents: --lang, else Bahasa Indonesia
	// termLang is the language of what the SOP commands print on the
	// terminal: --lang/CADANG_LANG when given, else English, as the engine
	// commands print. Each output is in one language (issue 15).
	termLang i18n.Lang
	// runLogChecked are the repositories already compared with the run
	// log in this command (checkRunLog), so that one is said once; "*"
	// turns the comparison off (log verify does its own).
	runLogChecked map[string]bool
}

// loadSOP is for the SOP commands (log, report, status, job, run,
// restore-test, followup): a configuration file that exists but does not
// load is an error, so that no command quietly reads the default run log
// in its place (log verify once called that log intact); a missing one is
// an error only with needConfig.
func (e *env) loadSOP(needConfig bool) (*sopState, error) {
	st, err := e.loadSOPState(needConfig, true)
	if err != nil {
		return nil, err
	}
	if st.cfgErr != nil && !noJobs(st.cfgErr) {
		return nil, st.cfgErr
	}
	return st, nil
}

// termLang is the language of an SOP command's terminal lines (sopState's
// termLang), for a helper such as writeDoc that is given no state: English
// when no SOP state was loaded, as the engine commands print.
func (e *env) termLang() i18n.Lang {
	if e.sop == nil {
		return i18n.EN
	}
	return e.sop.termLang
}

// noJobs reports whether cfgErr says only that there is no job: no
// configuration file, or one without [[job]].
func noJobs(cfgErr error) bool {
	return errors.Is(cfgErr, jobs.ErrNoConfig) || errors.Is(cfgErr, jobs.ErrNoJobs)
}

// loadSOPForRecords is for the engine commands that keep run-log records
// (backup, restore, check): their work does not depend on the
// configuration, so an invalid one is a warning and the record still goes
// to the run log.
func (e *env) loadSOPForRecords() (*sopState, error) { return e.loadSOPState(false, false) }

// loadSOPState reads the configuration and opens the run log. With
// needConfig, a missing or invalid configuration is an error; without it,
// it is a warning for an invalid file and nothing for a missing one, and
// the run log is still kept. strict (the SOP commands) makes an invalid
// file an error, said once, not a warning followed by the same error.
func (e *env) loadSOPState(needConfig, strict bool) (*sopState, error) {
	if e.sop != nil {
		if needConfig && e.sop.cfgErr != nil {
			return nil, e.sop.cfgErr
		}
		return e.sop, nil
	}
	st := &sopState{}
	lang, err := i18n.Parse(e.c.String("lang"))
	if err != nil {
		return nil, fmt.Errorf("--lang: %w", err)
	}
	st.lang, st.termLang = lang, i18n.EN
	if e.c.String("lang") != "" { // an empty CADANG_LANG is no choice
		st.termLang = lang
	}
	if st.clock, err = e.clock(); err != nil {
		return nil, err
	}
	st.cfg, st.cfgErr = jobs.LoadDefault(e.c.String("config"), nil)
	switch {
	case st.cfgErr == nil:
		// A configuration without jobs (a host that only verifies the
		// run log and runs retention) still counts for its zone, its run
		// log and the keys it trusts; only the commands that need a job
		// are refused, saying why.
		st.cfgErr = st.cfg.NeedJobs()
	case !errors.Is(st.cfgErr, jobs.ErrNoConfig):
		if needConfig || strict {
			return nil, st.cfgErr
		}
		e.warnf("ignoring the SOP configuration: %v", st.cfgErr)
		st.cfg = &jobs.Config{}
	default:
		st.cfg = &jobs.Config{}
	}
	lo := runlog.Options{Clock: st.clock}
	if err := signingOptions(e.c.String("sign-key"), append(e.c.StringSlice("trust-key"), st.cfg.Log.TrustKeys...), &lo); err != nil {
		return nil, err
	}
	e.sop = st // before displayZone and orgZone, which then read this configuration
	// The times in log verify's findings and the run log's errors are in
	// the zone of every other time the CLI prints, and name it.
	lo.Zone = e.displayZone()
	// A record's ID carries the day of the run in the organisation's zone,
	// not --utc's: IDs are kept for good and cited in the minutes.
	lo.IDZone = e.orgZone()
	st.logOpts = lo
	st.log = runlog.Open(e.logPath(st.cfg), lo)
	if needConfig && st.cfgErr != nil {
		return nil, st.cfgErr
	}
	return st, nil
}

// logPath chooses the local mirror of the run log: --log-file/CADANG_LOG,
// else the configuration's [log] path, else the default. A configured or
// default path that cannot be written (cadang not run as root) falls back,
// with a warning, to $XDG_STATE_HOME/cadang/runlog.jsonl or
// ~/.local/state/cadang/runlog.jsonl.
func (e *env) logPath(cfg *jobs.Config) string {
	if p := e.c.String("log-file"); p != "" {
		return p
	}
	p := configuredLogPath(cfg)
	if writable(p) {
		return p
	}
	fb := fallbackLogPath()
	if fb == "" || fb == p {
		return p
	}
	if !writable(fb) {
		e.warnf("run log %s cannot be written by this user, nor %s (set [log] path in the configuration, --log-file or %s)", p, fb, envLog)
		return fb
	}
	e.warnf("run log %s cannot be written by this user; keeping the run log in %s instead (set [log] path in the configuration, --log-file or %s)", p, fb, envLog)
	return fb
}

// configuredLogPath is the run log the configuration names ([log] path),
// or the default: the one an administrator means, before any fallback.
func configuredLogPath(cfg *jobs.Config) string {
	if cfg.Log.Path != "" {
		return cfg.Abs(cfg.Log.Path)
	}
	return jobs.DefaultLogPath
}

func fallbackLogPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "cadang", "runlog.jsonl")
}

// writable reports whether the file p can be appended to, or created in the
// nearest existing directory above it.
func writable(p string) bool {
	if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		f.Close()
		return true
	} else if !errors.Is(err, os.ErrNotExist) {
		return false
	}
	dir := filepath.Dir(p)
	for {
		if fi, err := os.Stat(dir); err == nil {
			if !fi.IsDir() {
				return false
			}
			f, err := os.CreateTemp(dir, ".cadang-probe-*")
			if err != nil {
				return false
			}
			f.Close()
			os.Remove(f.Name())
			return true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return false
		}
		dir = up
	}
}

// runner is the SOP runner over the real engine.
func (e *env) runner(st *sopState) *soprun.Runner {
	return &soprun.Runner{
		Config:    st.cfg,
		Log:       st.log,
		Clock:     st.clock,
		Opener:    e.opener(st),
		Backupper: &engine.Backupper{Config: st.cfg, ProgramVersion: "cadang " + version, Now: st.clock.Now},
		// [job.retention] and [job.prune] after a successful `cadang run`.
		Maintainer: &engine.Maintainer{Opener: e.opener(st), Now: st.clock.Now, Options: prune.Options{TimeText: e.timeText}},
		Copier:     &engine.Copier{Config: st.cfg, Logf: e.logf, Warnf: e.warnf, KDFMemory: e.kdfMemory(), Location: e.offsiteLocation}, // [job.offsite] after them
		Notifier:   &notify.Notifier{SMTP: st.cfg.SMTP, Loc: st.cfg.Location(), Now: st.clock.Now, Warnf: e.warnf},
		Classify:   errclass.Kind,
	}
}

// checkRunPasswordFiles checks the password files that `cadang run JOB`
// reads before the run starts (jobs.Config.CheckRunPasswordFiles): the
// other media's, the offsite's and [smtp]'s, when missing or unreadable,
// are warnings naming the file, line and key, so that the operator hears
// of them before the run that needs them. The due medium's is left to the
// run: it fails opening the medium with the same message (engine.Opener),
// and a failed run is recorded and notified, so that a scheduled run's
// failure reaches the run log, the failure report and the hook rather
// than only a cron job's stderr.
func (e *env) checkRunPasswordFiles(st *sopState, job string, beforeChange bool) error {
	j, err := st.cfg.Job(job)
	if err != nil {
		return nil // the run says so
	}
	due, err := e.runner(st).DueMedium(j)
	idx := -1
	for i := range j.Media {
		if err == nil && j.Media[i].Name == due.Name {
			idx = i
		}
	}
	_, warnings := st.cfg.CheckRunPasswordFiles(job, idx, beforeChange)
	for _, w := range warnings {
		e.warnf("%v", w)
	}
	return nil
}

// offsiteLocation adjusts the offsite medium's location as the opener's
// Location does a medium's: its retries are said on stderr.
func (e *env) offsiteLocation(l *location.Location) {
	l.SetRetryNotify(e.retryNotify("offsite " + l.String()))
}

func (e *env) opener(st *sopState) *engine.Opener {
	return &engine.Opener{Config: st.cfg, Now: e.repoClock(), LockWait: e.c.Duration("retry-lock"), Logf: e.logf, Warnf: e.warnf, KDFMemory: e.kdfMemory(), Password: func() ([]byte, error) {
		return e.password("enter the repository password: ", false)
	}, AfterOpen: e.checkRunLog, Location: func(l *location.Location) {
		l.SetConnections(e.c.Int("backend-connections"))
		l.SetRetryNotify(e.retryNotify(l.String()))
	}}
}

// recording collects the repositories opened by withRepo during a
// recorded operation; they stay open until the record is copied into them.
type recording struct {
	repos []*repo.Repository
	// openErr is the error of the first repository that did not open.
	openErr error
}

func (r *recording) keep(x *repo.Repository) { r.repos = append(r.repos, x) }

// keepRepo hands r to the recorded operation under way, which closes it
// once the run-log record is copied into it, and returns a function that
// does nothing; outside a recorded operation (the run log could not be
// loaded) the function it returns closes r. Use: defer e.keepRepo(r)().
func (e *env) keepRepo(r *repo.Repository) (done func()) {
	if e.rec != nil {
		e.rec.keep(r)
		return func() {}
	}
	return func() { e.closeRepo(r) }
}

// recorded runs fn, an operation of the plain commands (backup, restore,
// check), and appends its record to the run log: always to the local
// mirror, and into the repository when fn opened it (withRepo). The job is
// the one whose medium is at the --repo location, if the configuration has
// one and only one (jobAt); the record is tagged runlog.TagManual all the same, being no run of
// the job: a plain backup of the job's medium is not the job's backup
// (status, the rotation and the reports pass over it), though its failure
// is a failure to follow up. fn fills in the record (snapshots, counts,
// restore request...); a *partialError from fn makes the result partial.
// It returns fn's error: a problem with the run log itself is only a
// warning, as the operation is done.
func (e *env) recorded(ctx context.Context, op runlog.Operation, fn func(ctx context.Context, rec *runlog.Record) error) error {
	st, err := e.loadSOPForRecords()
	if err != nil {
		e.warnf("run log: %v; this %s is not recorded", err, op)
		if ferr := fn(ctx, &runlog.Record{}); ferr != nil {
			return ferr
		}
		return notRecorded(op)
	}
	loc, err := e.repoLocation()
	if err != nil {
		// No repository, or one that cannot be parsed: a mistake in the
		// command line, which names nothing to do (like a mistyped
		// snapshot ID) and is not a failed run to follow up, nor one to
		// take a number of the restore minutes.
		return err
	}
	job := jobAt(st.cfg, loc)
	jobName := ""
	if job != nil {
		jobName = job.Name
	}
	rc := &recording{}
	e.rec = rc
	defer func() {
		e.rec = nil
		for _, r := range rc.repos {
			e.closeRepo(r)
		}
	}()
	var opErr error
	runner := e.runner(st)
	out, err := runner.Do(ctx, op, jobName, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		rec.Repository = loc
		rec.Tags = append(rec.Tags, runlog.TagManual)
		opErr = panicerr.Call(func() string { return string(op) }, func() error { return fn(ctx, rec) })
		if isNoPassword(opErr) {
			// No password given at all: the command was called wrong
			// (cron without CADANG_PASSWORD), nothing was tried, and
			// there is no failed run to follow up.
			opErr = soprun.NotARun(opErr)
		}
		if opErr != nil && errors.Is(context.Cause(ctx), errBrokenPipe) {
			// Not Ctrl-C: the record says why the run stopped.
			opErr = fmt.Errorf("%w (stopped because the reader of its output went away)", opErr)
		}
		var store runlog.RecordStore
		if op == runlog.OpRestore {
			var r *repo.Repository
			if len(rc.repos) > 0 {
				r = rc.repos[0]
			}
			e.completeRestore(ctx, st, rec, r)
		}
		if len(rc.repos) > 0 {
			r := rc.repos[0]
			store = r
			rec.RepositoryID = r.ID()
			if m := mediumAt(st.cfg, loc, r.ID()); m != nil {
				rec.Medium = m.Name
			}
		}
		var ro *repo.ReadOnlyError
		readOnly := len(rc.repos) == 0 && errors.As(rc.openErr, &ro)
		if opErr != nil && len(rc.repos) == 0 && rc.openErr != nil && rec.Note == nil {
			// Said in each document's language; the error, cadang's
			// English or the system's, follows as the program's message.
			code := "repo-open-failed"
			if readOnly {
				code = "repo-read-only"
			}
			rec.Note, rec.Message = runlog.NewNote(code, loc), opErr.Error()
		}
		if readOnly && ro.ID != "" {
			// Its config was read, and names it; only its lock could not
			// be written.
			rec.RepositoryID = ro.ID
			if job != nil {
				if i := job.MediumByID(ro.ID); i >= 0 {
					rec.Medium = job.Media[i].Name
				}
			}
		}
		var pe *partialError
		if errors.As(opErr, &pe) {
			rec.Result = runlog.Partial
			if rec.Failure == "" {
				// The kind the error carries (errclass: empty is an
				// unreadable source), so that the monthly analysis's
				// kinds add up to its failures.
				rec.Failure = pe.Kind
				if rec.Failure == "" {
					rec.Failure = runlog.KindSourceUnreadable
				}
			}
			if rec.Note == nil {
				// pe.msg is an English sentence of cadang's own: not
				// for the documents.
				rec.Note = runlog.NewNote("partial")
			}
			return store, nil
		}
		return store, opErr
	})
	e.recordOutcome(out, err, runner.Log, rc.repos)
	if op == runlog.OpRestore && len(rc.repos) > 0 {
		// After the record, which names the run the minutes cite.
		e.protectRequested(ctx, st, out.Record, rc.repos[0])
	}
	var fe *soprun.FailedError
	if err != nil && !errors.As(err, &fe) && opErr == nil {
		return notRecorded(op)
	}
	// The record goes into the first repository kept; the others it
	// concerns (a copy's source) get it too, now that they are open: a
	// rotation medium carries the record of its copy when it leaves.
	if out.Record.ID != "" {
		for _, r := range rc.repos[min(1, len(rc.repos)):] {
			if _, serr := runner.Log.Sync(context.WithoutCancel(ctx), r); serr != nil {
				if !e.warnReadOnlyCopy(runner.Log, r, out.Record, serr) {
					e.warnf("run log: %v", serr)
				}
			}
		}
	}
	return opErr
}

// notRecorded ends an operation that succeeded but whose record could not
// be written (exit code 13), saying what to do.
func notRecorded(op runlog.Operation) error {
	return &codedError{Code: errclass.ExitNotRecorded, Msg: fmt.Sprintf(
		"the %s itself succeeded, but it is not in the run log (the warning above says why), so no document can cite it: "+
			"put that right (a run log this user cannot write: --log-file PATH or %s=PATH), and note this %s by hand until then", op, envLog, op)}
}

// unrecordedError ends an SOP operation (run, restore-test) whose record
// could not be written, as recorded ends the plain commands': exit code 13
// when the operation itself ended OK, and otherwise the code of its own
// failure (partial 3, wrong password 12, interrupted 130, else 1), which an
// unwritable run log must not hide behind 13.
func unrecordedError(nre *soprun.NotRecordedError) error {
	if nre.Record.Result == runlog.OK {
		return notRecorded(nre.Record.Op)
	}
	return runError(&soprun.FailedError{Record: nre.Record})
}

// warnNotRecorded says why the record of an operation could not be written,
// for notRecorded's "the warning above".
func (e *env) warnNotRecorded(nre *soprun.NotRecordedError) {
	e.warnf("run log: %v; this %s is not recorded", nre, nre.Record.Op)
}

// recordOutcome tells the user where the record went, and warns about
// what went wrong in recording it.
func (e *env) recordOutcome(out soprun.Outcome, err error, l *runlog.Log, kept []*repo.Repository) {
	for _, w := range out.Warnings {
		// The record goes into the first repository kept (runOp).
		if len(kept) > 0 && e.warnReadOnlyCopy(l, kept[0], out.Record, w) {
			continue
		}
		e.warnf("%v", w)
	}
	var fe *soprun.FailedError
	if err != nil && !errors.As(err, &fe) {
		e.warnf("run log: %v", err)
		return
	}
	if out.Record.ID != "" {
		e.logf("recorded in the run log as %s %s (%s)", out.Record.Op, out.Record.ID, out.Record.Result)
	}
}

// warnReadOnlyCopy says, in one line in the terminal's language, why the
// record rec is not in r when r was read without a lock because its
// storage is read-only (a rescue disk) and the copy failed (err wraps
// runlog.ErrNotStored): this command's record and the earlier ones that
// never reached r wait in the local run log for the next command that can
// write there. The copy's own error would name the first of those, an
// earlier record, and a temporary file. The line is the same for every
// backend whose storage refused the lock as read-only (repo.ReadOnlyError:
// EROFS, or a remote backend's backend.ErrReadOnly), with a remote one's
// own error after it. It returns false for any other warning, which the
// caller says as it is.
func (e *env) warnReadOnlyCopy(l *runlog.Log, r *repo.Repository, rec runlog.Record, err error) bool {
	if l == nil || r == nil || !r.Unlocked() || !errors.Is(err, runlog.ErrNotStored) || rec.ID == "" {
		return false
	}
	earlier := 0
	for _, seq := range l.PendingCopies(r.ID()) {
		if seq != rec.Seq {
			earlier++
		}
	}
	t := e.termLang()
	loc := location.Redact(r.Backend().Location())
	msg := t.T("term.ro_copy", loc, rec.ID)
	if earlier > 0 {
		msg = t.T("term.ro_copy_earlier", loc, rec.ID, earlier)
	}
	if detail, ok := backend.ReadOnlyDetail(r.ReadOnlyCause()); ok {
		// A remote backend's refusal (an SFTP server's failure, S3's
		// AccessDenied, a REST server's 403) is not EROFS's plain
		// "read-only file system": the storage's own words, on the line.
		msg += " (" + ui.Printable(detail.Error(), true) + ")"
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", t.T("term.warning"), msg)
	return true
}

// jobsAt returns the jobs that have a medium at the repository location
// loc, in the configuration's order.
func jobsAt(c *jobs.Config, loc string) []*jobs.Job {
	if loc == "" {
		return nil
	}
	want := cleanLoc(loc)
	var out []*jobs.Job
	for i := range c.Jobs {
		for _, m := range c.Jobs[i].Media {
			if cleanLoc(c.Abs(strings.TrimPrefix(m.Repository, "local:"))) == want {
				out = append(out, &c.Jobs[i])
				break
			}
		}
	}
	return out
}

// jobAt returns the job that has a medium at the repository location loc,
// or nil when no job has one or several share it: a plain command on a
// medium that several jobs back up to (a `cadang forget` of all its
// snapshots) is the medium's, not the first job's.
func jobAt(c *jobs.Config, loc string) *jobs.Job {
	if js := jobsAt(c, loc); len(js) == 1 {
		return js[0]
	}
	return nil
}

// mediumAt returns the medium with the repository ID id that a job has at
// loc, the first job's where several share it (they name one disk alike),
// or nil.
func mediumAt(c *jobs.Config, loc, id string) *jobs.Medium {
	for _, j := range jobsAt(c, loc) {
		if i := j.MediumByID(id); i >= 0 {
			return &j.Media[i]
		}
	}
	return nil
}

func cleanLoc(p string) string {
	p = strings.TrimPrefix(p, "local:")
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// codedError ends the command with a given exit code (status uses the
// monitoring codes 0-3).
type codedError = errclass.CodedError

// mediumHint is the hint that the plain command gives for cause, when the
// medium of a run could not be opened because it is missing or mounted
// read-only; "" for other causes, whose records say enough.
func mediumHint(cause error) string {
	if cause == nil {
		return ""
	}
	switch errclass.Kind(cause) {
	case runlog.KindMedia, runlog.KindMediaReadOnly:
		return errclass.Hint(cause)
	}
	return ""
}

// mediumFullHint says what to do about a backup that failed because its
// medium is full (note source-medium-full: source, medium, location);
// "" for any other record. The space of a forget comes back only on the
// prune after the one that marks it (README, "Retention and prune").
func mediumFullHint(rec runlog.Record) string {
	n := rec.Note
	if n == nil || n.Code != "source-medium-full" || len(n.Args) != 3 {
		return ""
	}
	loc := fmt.Sprint(n.Args[2])
	return fmt.Sprintf("backup medium %s (%s) is full: remove snapshots from it with 'cadang forget -r %s' and a policy that keeps fewer than [job.retention] does (--dry-run first), "+
		"then run 'cadang prune -r %s' twice (a prune deletes what the prune before it marked); or replace it with a larger disk, made a new repository with 'cadang init' and its repository_id put in the configuration",
		n.Args[1], loc, loc, loc)
}

// runError turns the error of a recorded SOP operation into the CLI's exit
// codes: partial is 3, a wrong password 12, anything else failed 1. A
// backup whose copy to the offsite medium failed (and nothing else) is 3
// too: the snapshot is on the medium, but the job is not complete; an
// interrupted copy is 130.
func runError(err error) error {
	var oe *soprun.OffsiteError
	if errors.As(err, &oe) {
		if oe.Record.Failure == runlog.KindInterrupted {
			return fmt.Errorf("%w (%w)", oe, context.Canceled)
		}
		return &partialError{Msg: oe.Error(), Kind: runlog.KindOffsite}
	}
	var fe *soprun.FailedError
	if !errors.As(err, &fe) {
		return err
	}
	switch {
	case mediumHint(fe.Cause) != "":
		return &errclass.HintedError{Err: err, Hint: mediumHint(fe.Cause)}
	case mediumFullHint(fe.Record) != "":
		return &errclass.HintedError{Err: err, Hint: mediumFullHint(fe.Record)}
	case fe.Record.Result == runlog.Partial:
		return &partialError{Msg: fe.Error()}
	case fe.Record.Failure == runlog.KindWrongPassword:
		return fmt.Errorf("%w (%w)", fe, repo.ErrWrongPassword)
	case fe.Record.Failure == runlog.KindInterrupted:
		// As the offsite copy's above: exit 130, or 141 when a closed
		// output pipe was what stopped it.
		return fmt.Errorf("%w (%w)", fe, context.Canceled)
	}
	return err
}
