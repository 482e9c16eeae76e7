// Package run carries out SOP operations and records them: the daily backup
// of a job on the medium due in the rotation (SOP steps 1-3), the backup
// before a change (step 2), and the recording and notification of any other
// operation the CLI performs (restore, check, prune) and of follow-ups.
//
// The work itself (opening a repository, backing up a source) is done by
// interfaces the CLI implements over the engine, so this package is tested
// with fakes.
package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/monitor"
	"github.com/lpse/cadang/internal/sop/notify"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo/backend/location"
)

// Repository is an open repository as this package sees it. The CLI wraps
// *repo.Repository (which provides the record file methods).
type Repository interface {
	// ID returns the repository ID (64 hex digits).
	ID() string
	runlog.RecordStore
	Close() error
}

// Opener opens the repository on a medium. Errors may be wrapped with
// runlog.Fail to give their kind (wrong password, lock...); an unwrapped
// error that is fs.ErrNotExist counts as a missing medium, any other as an
// unreachable repository.
type Opener interface {
	Open(ctx context.Context, m jobs.Medium) (Repository, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, m jobs.Medium) (Repository, error)

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context, m jobs.Medium) (Repository, error) { return f(ctx, m) }

// BackupOptions tell a Backupper about the run.
type BackupOptions struct {
	Job    *jobs.Job
	Tags   []string // snapshot tags, e.g. runlog.TagBeforeChange
	Reason string
}

// BackupResult is what backing up one source did.
type BackupResult struct {
	Snapshot string // ID of the snapshot saved; empty if none
	// Unprotected says why a before-change snapshot, saved, could not be
	// protected from forget (the run's own retention still keeps it).
	Unprotected string
	FilesRead   int64
	FilesAdded  int64
	BytesRead   int64
	BytesAdded  int64
	// Skipped lists files that could not be read (the snapshot was saved
	// without them): the run is partial.
	Skipped []string
	// Changed lists files that changed while they were read; the snapshot
	// holds them as read. The run is partial too, but they were not skipped.
	Changed []string
	// Unlisted counts the items that could not be read, or changed, beyond
	// those listed (the snapshot lists them up to a size): counted as
	// skipped, since which they were is not known.
	Unlisted int64
	// Databases and Checks are what a databases source dumped and the
	// results of the job's compare = "source" checks in the dump's
	// snapshot (runlog.Source).
	Databases []string
	Checks    []runlog.CheckValue
}

// Backupper backs up one source of a job into an open repository. A dump
// command that exits non-zero must return an error (and save no snapshot).
type Backupper interface {
	Backup(ctx context.Context, r Repository, src jobs.Source, o BackupOptions) (BackupResult, error)
}

// BackupFunc adapts a function to Backupper.
type BackupFunc func(ctx context.Context, r Repository, src jobs.Source, o BackupOptions) (BackupResult, error)

// Backup calls f.
func (f BackupFunc) Backup(ctx context.Context, r Repository, src jobs.Source, o BackupOptions) (BackupResult, error) {
	return f(ctx, r, src, o)
}

// Notifier tells people about a failed run; *notify.Notifier implements it.
type Notifier interface {
	Notify(ctx context.Context, t jobs.Notify, rec runlog.Record) error
}

// Runner runs and records operations.
type Runner struct {
	Config    *jobs.Config
	Log       *runlog.Log
	Opener    Opener
	Backupper Backupper
	Notifier  Notifier // optional
	// Maintainer, if set, applies the job's retention after a successful
	// backup and prunes the medium when [job.prune] every says so.
	Maintainer Maintainer
	// Copier, if set, copies the job's snapshots to its [job.offsite]
	// medium after a successful backup (and its retention and prune).
	Copier Copier
	Clock  clock.Clock
	// Classify gives the kind of an error; default runlog.KindOf.
	Classify func(error) runlog.FailureKind
	// Ping calls a job's dead-man's-switch URL ([job.notify] ping_url);
	// default notify.Ping.
	Ping func(ctx context.Context, url, event string, timeout time.Duration, msg string) error
}

// ping calls the job's ping URL, if it has one, for event.
func (r *Runner) ping(ctx context.Context, j *jobs.Job, event, msg string) error {
	if j == nil || r.Config == nil {
		return nil
	}
	t := r.Config.NotifyFor(j)
	if t.PingURL == "" {
		return nil
	}
	p := r.Ping
	if p == nil {
		p = notify.Ping
	}
	return p(context.WithoutCancel(ctx), t.PingURL, event, t.PingTimeout.D(), msg)
}

// writeTextfile rewrites the monitoring file ([monitoring] textfile) from
// the run log, after a record was added.
func (r *Runner) writeTextfile() error {
	if r.Config == nil || r.Config.Monitoring.Textfile == "" {
		return nil
	}
	recs, err := r.Log.Records()
	if err != nil {
		return fmt.Errorf("monitoring textfile: %w", err)
	}
	now := r.clock().Now()
	health, err := r.Log.Health(now)
	if err != nil {
		return fmt.Errorf("monitoring textfile: run log %s: %w", r.Log.Path(), err)
	}
	return monitor.WriteTextfile(r.Config.Abs(r.Config.Monitoring.Textfile), r.Config, recs, health, now)
}

// Time standards of the SOP by operation.
const (
	RestoreStandard = 24 * time.Hour // steps 4, 7, 8: 1 day
	CheckStandard   = 3 * time.Hour
)

// StandardFor returns the SOP time standard of an operation.
func StandardFor(op runlog.Operation, j *jobs.Job) time.Duration {
	switch op {
	case runlog.OpBackup:
		if j != nil && j.TimeStandard > 0 {
			return j.TimeStandard.D()
		}
		return jobs.DefaultTimeStandard
	case runlog.OpRestore, runlog.OpRestoreTest:
		return RestoreStandard
	case runlog.OpCopy:
		return CopyStandard
	}
	return CheckStandard
}

// Outcome is what Backup and Record return.
type Outcome struct {
	Record runlog.Record
	// Warnings are problems that did not change the result: the record
	// could not be copied into the repository (it is in the local mirror
	// and is copied by the next run), or a notification failed.
	Warnings []error
	// Maintenance are the records of the forget, prune and offsite copy
	// that followed a successful backup, in order.
	Maintenance []runlog.Record
	// OffsiteProtectionsAdded counts the protections the offsite copy
	// wrote there (copier.Result.ProtectionsAdded), for the terminal: its
	// record (runlog.CopyInfo) has no place for it.
	OffsiteProtectionsAdded int
}

// MediumFullError marks an error of a backup (Backupper.Backup) as a
// write into the repository that found the medium's disk, or its quota,
// full: the medium's failure, not the source's, which the record and the
// CLI's hint say so that nobody goes looking at the database.
type MediumFullError struct{ Err error }

func (e *MediumFullError) Error() string { return e.Err.Error() }
func (e *MediumFullError) Unwrap() error { return e.Err }

// FailedError is returned when the recorded operation did not end OK.
type FailedError struct {
	Record runlog.Record
	// Cause is the error that failed the operation, where the runner
	// had one (the medium could not be opened), so that the CLI can say
	// what to do about it as the plain command would. It is no part of
	// the error's chain: the run's exit code is the record's.
	Cause error
}

func (e *FailedError) Error() string {
	// Error messages of the CLI are in English, whatever the documents' language.
	id := e.Record.ID
	if id == "" {
		id = "(not recorded)"
	}
	return fmt.Sprintf("%s %s: %s (%s): %s", e.Record.Op, id, e.Record.Result, e.Record.Failure, runlog.MessageText(i18n.EN, &e.Record))
}

// NotRecordedError is returned when an operation ran but its record could
// not be written to the local run log (the file cannot be created or
// written): Record is the record as it would have been written, without
// an ID, so that the caller can tell an operation that succeeded but is
// unrecorded (the CLI's exit code 13) from one that failed and keeps its
// own code. Nothing was notified for it.
type NotRecordedError struct {
	Record runlog.Record
	Err    error
}

func (e *NotRecordedError) Error() string { return fmt.Sprintf("record %s: %v", e.Record.Op, e.Err) }
func (e *NotRecordedError) Unwrap() error { return e.Err }

// Options are the options of a backup run.
type Options struct {
	// BeforeChange, when not empty, marks the SOP step 2 backup taken
	// before a change to the system and says which change.
	BeforeChange string
	Tags         []string
}

const maxErrors = 20

func (r *Runner) clock() clock.Clock { return clock.Or(r.Clock) }

func (r *Runner) classify(err error) runlog.FailureKind {
	if r.Classify != nil {
		if k := r.Classify(err); k != "" {
			return k
		}
	}
	return runlog.KindOf(err)
}

// otherMediumAt tells, when m's password does not open the repository at
// m's location, whether the password of another medium of the job does,
// and that the repository there is that medium's: its index in j.Media and
// the repository's ID, or -1. Each try derives a key, only on this failure.
func (r *Runner) otherMediumAt(ctx context.Context, j *jobs.Job, m jobs.Medium) (int, string) {
	tried := map[string]bool{m.PasswordFile: true}
	for i, alt := range j.Media {
		if alt.Name == m.Name || tried[alt.PasswordFile] {
			continue
		}
		tried[alt.PasswordFile] = true
		probe := alt
		probe.Repository = m.Repository
		rp, err := r.Opener.Open(ctx, probe)
		if err != nil {
			continue
		}
		id := rp.ID()
		rp.Close()
		if strings.EqualFold(id, m.RepositoryID) {
			// The due disk itself, which another medium's password
			// opens: its own password file is what is wrong.
			return -1, ""
		}
		if strings.EqualFold(id, alt.RepositoryID) {
			return i, id
		}
		if k := j.MediumByID(id); k >= 0 {
			return k, id
		}
	}
	return -1, ""
}

// LastSuccess returns the last backup of job that was OK or partial. A
// plain `cadang backup` of the job's medium (runlog.TagManual) is not the
// job's backup and is passed over.
func LastSuccess(recs []runlog.Record, job string) (runlog.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		x := recs[i]
		if x.JobBackup() && x.Job == job && (x.Result == runlog.OK || x.Result == runlog.Partial) {
			return x, true
		}
	}
	return runlog.Record{}, false
}

// LastRotationMedium returns the medium of the job's last successful
// backup that counts for the rotation: a before-change backup (SOP step 2)
// goes to whatever medium is connected and does not move the rotation, so
// the disk due tomorrow is still due tomorrow. Nor does a plain `cadang
// backup` of a medium of the job (runlog.TagManual).
func LastRotationMedium(recs []runlog.Record, job string) string {
	for i := len(recs) - 1; i >= 0; i-- {
		x := &recs[i]
		if x.JobBackup() && x.Job == job && (x.Result == runlog.OK || x.Result == runlog.Partial) && !x.HasTag(runlog.TagBeforeChange) {
			return x.Medium
		}
	}
	return ""
}

// DueMedium returns the medium due for the job's next backup.
func (r *Runner) DueMedium(j *jobs.Job) (jobs.Medium, error) {
	i, err := r.dueIndex(j)
	if err != nil {
		return jobs.Medium{}, err
	}
	return j.Media[i], nil
}

func (r *Runner) dueIndex(j *jobs.Job) (int, error) {
	recs, err := r.Log.Records()
	if err != nil {
		return 0, err
	}
	return j.DueMedium(LastRotationMedium(recs, j.Name), r.clock().Now()), nil
}

// Backup makes one SOP run of the job: it opens the medium due in the
// rotation and checks its repository ID (a wrong or missing medium is a
// failure of kind media), backs up every source, checks the time standard,
// records the run (locally, then in the repository) and notifies the job's
// targets if the run did not end OK. It returns a *FailedError when the run
// did not end OK; the outcome always holds the record.
func (r *Runner) Backup(ctx context.Context, jobName string, o Options) (Outcome, error) {
	j, err := r.Config.Job(jobName)
	if err != nil {
		return Outcome{}, err
	}
	clk := r.clock()
	rec := runlog.Record{Op: runlog.OpBackup, Job: j.Name, Start: clk.Now(),
		TimeStandard: StandardFor(runlog.OpBackup, j).Milliseconds(), Tags: o.Tags, Reason: o.BeforeChange}
	if o.BeforeChange != "" {
		rec.Tags = append(rec.Tags, runlog.TagBeforeChange)
	}
	// The dead-man's switch hears of the start first, so that a run that
	// hangs is noticed by the service's grace time, not by nobody.
	startErr := r.ping(ctx, j, notify.PingStart, fmt.Sprintf("cadang run %s started on %s", j.Name, rec.Start.Format(time.RFC3339)))
	done := func(out Outcome, err error) (Outcome, error) {
		if startErr != nil {
			out.Warnings = append([]error{startErr}, out.Warnings...)
		}
		if w := out.Record; w.ID != "" {
			ev := notify.PingSuccess
			if w.Result != runlog.OK {
				ev = notify.PingFail
			}
			msg := fmt.Sprintf("cadang run %s: %s %s", w.Job, w.ID, w.Result)
			if w.Failure != "" {
				msg += " (" + string(w.Failure) + ")"
			}
			if perr := r.ping(ctx, j, ev, msg); perr != nil {
				out.Warnings = append(out.Warnings, perr)
			}
		}
		return out, err
	}
	due, err := r.dueIndex(j)
	if err != nil {
		return Outcome{}, err
	}
	m := j.Media[due]
	rec.Medium, rec.Repository = m.Name, location.Redact(m.Repository)

	dueName := m.Name
	repo, err := r.Opener.Open(ctx, m)
	if err != nil && o.BeforeChange != "" {
		// A backup before a system change cannot wait for the rotation:
		// it goes to the first medium that is connected, from the due
		// one on, recorded as that medium; the rotation is not moved by
		// it (LastRotationMedium).
		for k := 1; k < len(j.Media) && err != nil; k++ {
			alt := j.Media[(due+k)%len(j.Media)]
			if r2, err2 := r.Opener.Open(ctx, alt); err2 == nil {
				repo, err, m = r2, nil, alt
				rec.Medium, rec.Repository = alt.Name, location.Redact(alt.Repository)
			}
		}
	}
	if err != nil {
		k := r.classify(err)
		var ke *runlog.Error
		if k == runlog.KindOther && !errors.As(err, &ke) {
			// The medium could not be opened for a reason the error table
			// does not know: as far as the run can tell, the repository
			// was out of reach.
			k = runlog.KindRepoUnreachable
			if errors.Is(err, fs.ErrNotExist) {
				k = runlog.KindMedia
			}
		}
		rec.Result, rec.Failure = runlog.Failed, k
		rec.Note, rec.Message = runlog.NewNote("open-failed", m.Repository, m.Name), err.Error()
		if note, raw, ok := runlog.SaidOf(err); ok {
			rec.Note, rec.Message = note, raw
		}
		if k == runlog.KindWrongPassword {
			if i, id := r.otherMediumAt(ctx, j, m); i >= 0 {
				// Rotation disks share a mount point and have passwords
				// of their own: the disk there is another medium of the
				// job, not a wrong password.
				rec.Failure, rec.Message = runlog.KindMedia, ""
				rec.Note = runlog.NewNote("wrong-medium-known", m.Name, short(m.RepositoryID), m.Repository, j.Media[i].Name, i+1, short(id))
			}
		}
		out, ferr := r.finish(ctx, j, rec, nil)
		var fe *FailedError
		if errors.As(ferr, &fe) {
			fe.Cause = err
		}
		return done(out, ferr)
	}
	closed := false
	closeRepo := func() {
		if !closed {
			closed = true
			repo.Close()
		}
	}
	defer closeRepo()
	rec.RepositoryID = repo.ID()
	if i := j.MediumByID(repo.ID()); o.BeforeChange != "" && i >= 0 && !strings.EqualFold(repo.ID(), m.RepositoryID) {
		// Rotation disks often share one mount point: the disk found
		// there is a medium of the job, and the backup before a change
		// goes to it.
		m = j.Media[i]
		rec.Medium, rec.Repository = m.Name, location.Redact(m.Repository)
	}
	if !strings.EqualFold(repo.ID(), m.RepositoryID) {
		rec.Result, rec.Failure = runlog.Failed, runlog.KindMedia
		rec.Note = runlog.NewNote("wrong-medium", m.Name, short(m.RepositoryID), m.Repository, short(repo.ID()))
		if i := j.MediumByID(repo.ID()); i >= 0 {
			rec.Note = runlog.NewNote("wrong-medium-known", m.Name, short(m.RepositoryID), m.Repository, j.Media[i].Name, i+1, short(repo.ID()))
		}
		// Nothing is written to a medium that is not due.
		return done(r.finish(ctx, j, rec, nil))
	}

	bo := BackupOptions{Job: j, Tags: rec.Tags, Reason: o.BeforeChange}
	var firstFail *runlog.Source
	partial := false
	for _, src := range j.Sources {
		if ctx.Err() != nil {
			rec.Sources = append(rec.Sources, runlog.Source{Name: src.Name, Result: runlog.Failed, Failure: runlog.KindInterrupted, Note: runlog.NewNote("not-started")})
			continue
		}
		res, err := r.Backupper.Backup(ctx, repo, src, bo)
		s := runlog.Source{Name: src.Name, Snapshot: res.Snapshot, FilesRead: res.FilesRead, FilesAdded: res.FilesAdded,
			BytesRead: res.BytesRead, BytesAdded: res.BytesAdded, Skipped: int64(len(res.Skipped)) + res.Unlisted, Result: runlog.OK,
			Databases: res.Databases, Checks: res.Checks}
		switch {
		case err != nil:
			s.Result, s.Failure, s.Message = runlog.Failed, r.classify(err), err.Error()
			if s.Failure == runlog.KindOther && src.IsDump() {
				s.Failure = runlog.KindDumpFailed
			}
			if mf := (*MediumFullError)(nil); errors.As(err, &mf) {
				s.Failure = runlog.KindOutOfSpace
				s.Note = runlog.NewNote("medium-full", m.Name, location.Redact(m.Repository))
				addErr(&rec, fmt.Sprintf("%s: %v", src.Name, err))
				break
			}
			if note, raw, ok := runlog.SaidOf(err); ok {
				// The note says it in each document's language; the
				// raw text (a command's stderr) is all of the error
				// that is not cadang's own sentence.
				s.Note, s.Message = note, raw
				if raw != "" {
					addErr(&rec, fmt.Sprintf("%s: %s", src.Name, raw))
				}
				break
			}
			addErr(&rec, fmt.Sprintf("%s: %v", src.Name, err))
		case len(res.Skipped) > 0 || len(res.Changed) > 0 || res.Unlisted > 0:
			s.Result, s.Failure = runlog.Partial, runlog.KindSourceUnreadable
			s.Note = runlog.NewNote("files-unreadable", int64(len(res.Skipped)+len(res.Changed))+res.Unlisted)
			partial = true
			if res.Unlisted > 0 {
				// First: the errors below stop at maxErrors, and there are
				// thousands of items before any goes unlisted.
				addErr(&rec, fmt.Sprintf("%s: %d item(s) that could not be read or changed while being read are counted but not named (the snapshot's list of them is full); the first are below", src.Name, res.Unlisted))
			}
			for _, f := range res.Skipped {
				addErr(&rec, fmt.Sprintf("%s: skipped %s", src.Name, f))
			}
			for _, f := range res.Changed {
				addErr(&rec, fmt.Sprintf("%s: changed during the backup, stored as read: %s", src.Name, f))
			}
		}
		if res.Unprotected != "" {
			addErr(&rec, fmt.Sprintf("%s: %s", src.Name, res.Unprotected))
		}
		rec.Sources = append(rec.Sources, s)
		if s.Snapshot != "" {
			rec.Snapshots = append(rec.Snapshots, s.Snapshot)
		}
		rec.FilesRead += s.FilesRead
		rec.FilesAdded += s.FilesAdded
		rec.BytesRead += s.BytesRead
		rec.BytesAdded += s.BytesAdded
		if s.Result == runlog.Failed && firstFail == nil {
			firstFail = &rec.Sources[len(rec.Sources)-1]
		}
	}
	switch {
	case firstFail != nil:
		rec.Result, rec.Failure = runlog.Failed, firstFail.Failure
		rec.Note, rec.Message = sourceFailedNote(firstFail), firstFail.Message
	case partial:
		rec.Result, rec.Failure = runlog.Partial, runlog.KindSourceUnreadable
		rec.Note = runlog.NewNote("saved-unreadable")
	default:
		rec.Result = runlog.OK
		rec.Note = runlog.NewNote("snapshots-saved", len(rec.Snapshots))
		if m.Name != dueName {
			rec.Note = runlog.NewNote("snapshots-saved-connected", len(rec.Snapshots), m.Name, dueName)
		}
	}
	out, err := done(r.finish(ctx, j, rec, repo))
	if ctx.Err() != nil || out.Record.ID == "" || !maintainOK(out.Record.Result) {
		return out, err
	}
	// After a successful backup: the job's retention on this medium, then
	// a prune when one is due, then the copy to the offsite medium. Their
	// failures are records of their own; the backup's record stands.
	//
	// The copy comes last: the medium's own steps then never wait on the
	// network nor fail with it; the snapshots retention removes are not
	// sent offsite; and the prune needs this run's handle closed (see
	// below) while the copy takes a shared lock of its own once the prune
	// is done, so neither holds the other back. The prune removes no data
	// of a snapshot that is kept, so the copy reads the same snapshots.
	var failed *runlog.Record
	if r.Maintainer != nil {
		if !j.Retention.IsZero() {
			if x := r.forget(ctx, j, m, repo, out.Record, &out); x.Result != runlog.OK {
				failed = &x
			}
		}
		// The prune opens the medium with a prune lock: this run's shared
		// lock would hold back the packs an earlier prune marked.
		closeRepo()
		if recs, lerr := r.Log.Records(); lerr == nil && ctx.Err() == nil && PruneDue(recs, j, m.Name, r.clock().Now()) {
			if x := r.prune(ctx, j, m, out.Record, &out); x.Result != runlog.OK && failed == nil {
				failed = &x
			}
		} else if lerr != nil {
			out.Warnings = append(out.Warnings, fmt.Errorf("prune: %w", lerr))
		}
	}
	closeRepo()
	var offErr error
	if j.Offsite != nil && r.Copier != nil && ctx.Err() == nil {
		offErr = offsiteFailed(r.offsite(ctx, j, m, out.Record, &out))
	}
	switch {
	case err != nil:
	case failed != nil:
		err = &MaintenanceError{FailedError{Record: *failed}}
	default:
		err = offErr
	}
	return out, err
}

func addErr(rec *runlog.Record, s string) {
	if len(rec.Errors) < maxErrors {
		rec.Errors = append(rec.Errors, s)
	} else if len(rec.Errors) == maxErrors {
		rec.Errors = append(rec.Errors, "... (more errors not recorded)")
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// finish stamps the end, checks the time standard, appends and notifies.
func (r *Runner) finish(ctx context.Context, j *jobs.Job, rec runlog.Record, store runlog.RecordStore) (Outcome, error) {
	rec.End = r.clock().Now()
	rec.DurationMS = rec.End.Sub(rec.Start).Milliseconds()
	if rec.TimeStandard == 0 {
		rec.TimeStandard = StandardFor(rec.Op, j).Milliseconds()
	}
	within := rec.DurationMS <= rec.TimeStandard
	if !within && rec.Result == runlog.OK {
		// SOP: any deviation from the time standard is a failure to account
		// for. The documents say so from the failure kind, the duration and
		// the standard (runlog.MessageText), so no sentence is added here.
		rec.Result, rec.Failure = runlog.Failed, runlog.KindTimeStandard
		if rec.Note == nil {
			// MessageText adds the time taken to a note only: without
			// one, the record would be taken for an old one.
			rec.Note = runlog.NewNote("done")
		}
	}
	// The standard is met by a run that did its work within it: not by a
	// failed run, however quickly it failed, nor by a partial one, which
	// left part of it undone. This is the monthly analysis's rule and the
	// documents' (runlog.Record.MetStandard), so that log --json, --csv
	// and the failure hook say what they say.
	rec.StandardMet = within && rec.Result == runlog.OK
	var out Outcome
	written, err := r.Log.Append(context.WithoutCancel(ctx), rec, store)
	if err != nil && !errors.Is(err, runlog.ErrNotStored) {
		return Outcome{Record: rec}, &NotRecordedError{Record: rec, Err: err}
	}
	if err != nil {
		out.Warnings = append(out.Warnings, err)
	}
	out.Record = written
	if r.Notifier != nil && written.Result != runlog.OK && written.Op != runlog.OpFollowup {
		var t jobs.Notify
		if j != nil {
			t = r.Config.NotifyFor(j)
		} else if r.Config != nil {
			t = r.Config.Notify
		}
		if err := r.Notifier.Notify(context.WithoutCancel(ctx), t, written); err != nil {
			out.Warnings = append(out.Warnings, err)
		}
	}
	if err := r.writeTextfile(); err != nil {
		out.Warnings = append(out.Warnings, err)
	}
	if written.Result != runlog.OK {
		return out, &FailedError{Record: written}
	}
	return out, nil
}

// Do runs fn as an operation of kind op (restore, restore-test, check,
// prune) and records it like a backup: start and end, time standard,
// result and failure kind from fn's error (runlog.Partial if fn set it),
// notification when not OK. fn fills in the rest of the record (medium,
// repository ID, snapshots, RestoreInfo, TestInfo...). store, if not nil, is
// where the record is copied; fn may also set it through the returned
// pointer when it opens the repository itself. An error of fn marked by
// NotARun records nothing: Do returns an empty Outcome and no error.
func (r *Runner) Do(ctx context.Context, op runlog.Operation, jobName string, fn func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error)) (Outcome, error) {
	var j *jobs.Job
	if jobName != "" && r.Config != nil {
		var err error
		if j, err = r.Config.Job(jobName); err != nil {
			return Outcome{}, err
		}
	}
	rec := runlog.Record{Op: op, Job: jobName, Start: r.clock().Now(), TimeStandard: StandardFor(op, j).Milliseconds()}
	store, err := fn(ctx, &rec)
	if IsNotARun(err) {
		return Outcome{}, nil
	}
	switch {
	case err != nil:
		rec.Result = runlog.Failed
		if rec.Failure == "" {
			rec.Failure = r.classify(err)
		}
		// Without a note from fn, the raw error is all there is; with one,
		// the raw error follows it unless it only repeats it (Noted).
		switch {
		case rec.Note == nil:
			rec.Note, rec.Message = runlog.NewNote(runlog.NoteError), err.Error()
		case rec.Message == "" && !runlog.IsNoted(err):
			rec.Message = err.Error()
		}
	case rec.Result == "":
		rec.Result = runlog.OK
	}
	return r.finish(ctx, j, rec, store)
}

// NotARun marks the error of an operation that did not start because its
// arguments name nothing (a mistyped snapshot ID): Do appends no record
// for it, so that a typo at 3 a.m. is not a failed run that the SOP asks a
// follow-up of. NotARun(nil) is nil.
func NotARun(err error) error {
	if err == nil {
		return nil
	}
	return notARun{err}
}

type notARun struct{ error }

func (e notARun) Unwrap() error { return e.error }

// IsNotARun reports whether err was marked by NotARun.
func IsNotARun(err error) bool {
	var n notARun
	return errors.As(err, &n)
}

// Followup records the follow-up taken after a failed run (SOP step 5).
func (r *Runner) Followup(ctx context.Context, runID, action string, store runlog.RecordStore) (runlog.Record, error) {
	return r.FollowupWith(ctx, runID, FollowupOptions{Action: action}, store)
}

// FollowupOptions describe a follow-up (SOP step 5).
type FollowupOptions struct {
	// Action is what was done (required).
	Action string
	// Cause is the cause of the failure that was found; the failure
	// report prints it under "cause found".
	Cause string
	// At is when the action was taken, when it is not now (recorded
	// afterwards); it must lie between the failed run's end and now.
	At time.Time
}

// FollowupWith records a follow-up of the failed run runID.
func (r *Runner) FollowupWith(ctx context.Context, runID string, o FollowupOptions, store runlog.RecordStore) (runlog.Record, error) {
	recs, err := r.FollowupMany(ctx, []string{runID}, o, store)
	if len(recs) == 0 {
		return runlog.Record{}, err
	}
	return recs[0], err
}

// FollowupMany records one follow-up, the same action and cause, of each
// of the failed runs runIDs: one cause (a disk that failed, a network
// outage) often fails a week of runs, and the failure report of each must
// show what was done. Every run ID is checked before anything is written,
// so that a typo in the fifth records nothing rather than four of five;
// a run named twice gets one follow-up. The records returned are those
// appended, in the order given; an error while appending stops there. A
// record appended to the local run log but not copied into store (a
// medium mounted read-only) does not stop it: the records are returned
// with the first such error, which wraps runlog.ErrNotStored.
func (r *Runner) FollowupMany(ctx context.Context, runIDs []string, o FollowupOptions, store runlog.RecordStore) ([]runlog.Record, error) {
	if strings.TrimSpace(o.Action) == "" {
		return nil, errors.New("followup: the action taken is empty")
	}
	if len(runIDs) == 0 {
		return nil, errors.New("followup: no run named")
	}
	now := r.clock().Now()
	var targets []runlog.Record
	seen := map[string]bool{}
	for _, runID := range runIDs {
		target, err := r.Log.Find(runID, "")
		if err != nil {
			return nil, err
		}
		if target.Result == runlog.OK || target.Op == runlog.OpFollowup {
			return nil, fmt.Errorf("followup: %s %s ended %s; follow-ups are for failed runs", target.Op, target.ID, target.Result)
		}
		if !o.At.IsZero() && (o.At.After(now) || o.At.Before(target.End)) {
			return nil, fmt.Errorf("followup: --at %s must lie between the failed run's end (%s %s ended %s) and now (%s)",
				o.At.Format(time.RFC3339), target.Op, target.ID, target.End.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		if !seen[target.ID] {
			seen[target.ID] = true
			targets = append(targets, target)
		}
	}
	when := now
	if !o.At.IsZero() {
		when = o.At
	}
	var out []runlog.Record
	var notStored error
	for _, target := range targets {
		rec := runlog.Record{Op: runlog.OpFollowup, Job: target.Job, Ref: target.ID, Message: o.Action, Cause: strings.TrimSpace(o.Cause),
			Result: runlog.OK, Start: when, End: when}
		got, err := r.Log.Append(ctx, rec, store)
		if err != nil && !errors.Is(err, runlog.ErrNotStored) {
			return out, fmt.Errorf("followup of %s %s: %w", target.Op, target.ID, err)
		}
		if err != nil && notStored == nil {
			notStored = err
		}
		out = append(out, got)
	}
	// Every follow-up is in the local run log; the caller must say that
	// one is not in store, which the administrator asked for.
	return out, notStored
}

// sourceFailedNote is the note of a run whose source s failed: the
// source's own note with the source named ("source-" + its code), or
// "source-failed" before its raw error, or "source-not-started".
func sourceFailedNote(s *runlog.Source) *runlog.Note {
	switch {
	case s.Note != nil && i18n.Has("note.source-"+s.Note.Code):
		return runlog.NewNote("source-"+s.Note.Code, append([]any{s.Name}, s.Note.Args...)...)
	case s.Message == "":
		return runlog.NewNote("source-not-started", s.Name)
	}
	return runlog.NewNote("source-failed", s.Name)
}
