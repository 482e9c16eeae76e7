// Package runlog is the SOP's "Log Pelaksanaan Backup": one record per
// backup, restore, restore test, check, prune and follow-up, hash-chained,
// kept in a local JSON-lines mirror and copied into the repository as
// encrypted, append-only record files.
package runlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"time"
)

// Operation is what a record is about.
type Operation string

// The operations that get a record.
const (
	OpBackup      Operation = "backup"
	OpRestore     Operation = "restore"
	OpRestoreTest Operation = "restore-test"
	OpCheck       Operation = "check"
	OpPrune       Operation = "prune"
	// OpCopy records snapshots copied from another repository into this
	// one (Copy says how many and what was uploaded).
	OpCopy Operation = "copy"
	// OpForget records the retention policy applied to a job's snapshots
	// after its backup (Forget says what was removed and why).
	OpForget Operation = "forget"
	// OpFollowup records the follow-up taken after a failed run (SOP step 5);
	// Ref names the run.
	OpFollowup Operation = "followup"
	// OpRepair records a repair of the repository's structures (repair
	// records: damaged run-log files taken out, their bytes kept).
	OpRepair Operation = "repair"
)

// Result is the outcome of an operation.
type Result string

// The results.
const (
	OK      Result = "ok"
	Partial Result = "partial"
	Failed  Result = "failed"
)

// FailureKind is why an operation failed; the list is fixed.
type FailureKind string

// The failure kinds.
const (
	KindSourceUnreadable FailureKind = "source-unreadable"
	KindDumpFailed       FailureKind = "dump-failed"
	KindRepoUnreachable  FailureKind = "repository-unreachable"
	KindLock             FailureKind = "lock"
	KindWrongPassword    FailureKind = "wrong-password"
	KindOutOfSpace       FailureKind = "out-of-space"
	KindIntegrity        FailureKind = "integrity"
	KindMedia            FailureKind = "media"
	// KindMediaReadOnly: the medium is mounted read-only (a rescue disk
	// mounted the safe way, or one the kernel remounted after disk
	// errors), so nothing could be written to it.
	KindMediaReadOnly FailureKind = "media-read-only"
	KindTimeStandard  FailureKind = "time-standard-exceeded"
	KindInterrupted   FailureKind = "interrupted"
	// KindRetention: the retention policy could not be applied (forget).
	KindRetention FailureKind = "retention-failed"
	// KindPrune: the prune after a backup failed for no more specific
	// reason.
	KindPrune FailureKind = "prune-failed"
	// KindOffsite: the copy of a job's snapshots to its offsite medium
	// ([job.offsite]) after the backup failed; the backup stands.
	KindOffsite FailureKind = "offsite-copy-failed"
	// KindTargetNotWritable: a restore could not write to its target
	// (a read-only file system, permissions).
	KindTargetNotWritable FailureKind = "target-not-writable"
	KindOther             FailureKind = "other"
)

// Kinds lists every failure kind, in report order.
var Kinds = []FailureKind{
	KindSourceUnreadable, KindDumpFailed, KindRepoUnreachable, KindLock, KindWrongPassword,
	KindOutOfSpace, KindIntegrity, KindMedia, KindMediaReadOnly, KindTimeStandard, KindInterrupted, KindRetention, KindPrune, KindOffsite, KindTargetNotWritable, KindOther,
}

// Valid reports whether k is one of Kinds.
func (k FailureKind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Error is an error with its failure kind. The CLI wraps engine errors in it
// (Fail) so that the SOP layer records the right kind.
type Error struct {
	Kind FailureKind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Fail wraps err with a failure kind. Fail(k, nil) is nil.
func Fail(k FailureKind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Failf returns a new error of kind k.
func Failf(k FailureKind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// KindOf classifies err: the kind of the outermost *Error if any; otherwise
// interrupted for a cancelled context, out of space for ENOSPC/EDQUOT,
// media-read-only for EROFS, and other for anything else. KindOf(nil) is
// "".
func KindOf(err error) FailureKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Kind.Valid() {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindInterrupted
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return KindOutOfSpace
	case errors.Is(err, syscall.EROFS):
		return KindMediaReadOnly
	case errors.Is(err, fs.ErrPermission):
		return KindSourceUnreadable
	}
	return KindOther
}

// Record is one entry of the run log. Chain, Seq, Prev, ID and Logged are
// set by Log.Append; the rest by whoever made the run.
type Record struct {
	// Chain identifies the hash chain (one per local mirror, so one per
	// machine); Seq is the position in it, from 1; Prev is the hash of the
	// record at Seq-1 ("" for Seq 1).
	Chain string `json:"chain"`
	Seq   uint64 `json:"seq"`
	Prev  string `json:"prev"`

	ID     string    `json:"id"`
	Logged time.Time `json:"logged"` // when the record was appended

	Op  Operation `json:"op"`
	Job string    `json:"job,omitempty"`
	// Medium is the name of the medium in the job's rotation; Repository its
	// location and RepositoryID the ID of the repository actually found.
	Medium       string `json:"medium,omitempty"`
	Repository   string `json:"repository,omitempty"`
	RepositoryID string `json:"repository_id,omitempty"`
	Host         string `json:"host"`
	Operator     string `json:"operator"`

	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	DurationMS   int64     `json:"duration_ms"`
	TimeStandard int64     `json:"time_standard_ms,omitempty"`
	// StandardMet: the run did its work within TimeStandard, so it ended
	// ok. Records written before that rule may say true for a failed or
	// partial run that took less time: MetStandard reads them right.
	StandardMet bool `json:"standard_met"`

	FilesRead  int64    `json:"files_read"`
	FilesAdded int64    `json:"files_added"`
	BytesRead  int64    `json:"bytes_read"`
	BytesAdded int64    `json:"bytes_added"`
	Snapshots  []string `json:"snapshots,omitempty"`
	Sources    []Source `json:"sources,omitempty"`

	Result  Result      `json:"result"`
	Failure FailureKind `json:"failure,omitempty"`
	// Note says what happened as a code and its arguments, not as a
	// sentence, so that every document says it in its own language (see
	// MessageText). Message holds only text that is not cadang's to
	// translate: the raw error of an external program or library, or the
	// follow-up action as the operator wrote it. Records written before
	// Note existed have an English sentence in Message, shown as it is.
	Note    *Note  `json:"note,omitempty"`
	Message string `json:"message,omitempty"`
	// Errors holds the first errors of the run, skipped files included.
	Errors []string `json:"errors,omitempty"`

	// Tags mark special runs; TagBeforeChange marks the SOP step 2 backup
	// taken before a change to the system, Reason says which change;
	// TagManual a run of a plain command rather than of the job.
	Tags   []string `json:"tags,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// Ref names the run a follow-up is about.
	Ref string `json:"ref,omitempty"`
	// Cause is, for a follow-up, the cause of the failure that was found
	// (Message holds the action taken).
	Cause string `json:"cause,omitempty"`

	Restore *RestoreInfo `json:"restore,omitempty"`
	Test    *TestInfo    `json:"test,omitempty"`
	Forget  *ForgetInfo  `json:"forget,omitempty"`
	Prune   *PruneInfo   `json:"prune,omitempty"`
	Copy    *CopyInfo    `json:"copy,omitempty"`
	Check   *CheckInfo   `json:"check,omitempty"`

	// Signer is the public key (hex) of the host's signing key, whose
	// ed25519 signature over the record's bytes the envelope carries;
	// Cosigner that of the operator's key when the record was also
	// countersigned (--sign-key). Both are set by Log.Append; records
	// written before signing was introduced have neither.
	Signer   string `json:"signer,omitempty"`
	Cosigner string `json:"cosigner,omitempty"`

	// Hash is the hash of this record, filled in when read or appended; it is
	// not part of the hashed bytes.
	Hash string `json:"-"`
}

// Concerns reports whether the record is about the repository with ID id:
// a run that used it, or a copy that read from it. Only such records are
// copied into a repository, so that whoever holds its password learns
// nothing of the host's other repositories.
func (r *Record) Concerns(id string) bool {
	return id != "" && (r.RepositoryID == id || (r.Copy != nil && r.Copy.FromID == id))
}

// TagBeforeChange marks a backup before a system change (SOP step 2).
const TagBeforeChange = "before-change"

// TagManual marks the record of a plain command (`cadang backup`,
// `restore`, `check`, `copy`, `forget`, `prune`, `repair`), as against a
// run that `cadang run` or `restore-test` made for the job. Such a record
// names the job whose medium it used (none where several jobs share the
// medium: it is the medium's), but a manual backup is not the
// job's backup: it backed up whatever it was given, not the job's
// sources, so it is neither the job's last backup or last success
// (status, the inventory), nor the rotation's, nor the day's scheduled
// backup in the monthly analysis (JobBackup). Its failure is a failure
// like any other: it asks for a follow-up and is counted in the failure
// analysis. Records written before this tag existed do not have it, and
// a plain backup among them still counts as the job's: they cannot be
// told apart from the job's runs.
const TagManual = "manual"

// JobBackup reports whether r is a backup made for its job, by `cadang
// run`: a backup with a source's outcome (only a run has them), or
// without TagManual (a run that failed before its sources). `cadang run
// --tag manual` refuses the tag; a record with sources is the job's
// whatever its tags say.
func (r *Record) JobBackup() bool {
	return r.Op == OpBackup && (len(r.Sources) > 0 || !r.HasTag(TagManual))
}

// AsksFollowup reports whether r is a failed run that SOP step 5 asks a
// follow-up of ("every failed backup is reported to the head of LPSE,
// with follow-up"): a failed or partial backup; a failed check, prune,
// forget, copy, repair or restore test (the runs that keep the backups);
// and a restore only when its failure kind is KindIntegrity, which means
// it found the backup data damaged: that is a failed backup in step 5's
// sense. Any other failed restore (a full disk, a read-only target, a
// wrong password) is no backup that failed: its minutes (step 8), which
// every restore gets, state its result and what is missing. status, the
// monthly analysis and `report failure latest` all use this one rule, so
// that no SOP record asks a follow-up that another does not.
func (r *Record) AsksFollowup() bool {
	if r.Op == OpFollowup || r.Result == OK {
		return false
	}
	if r.Op == OpRestore {
		return r.Failure == KindIntegrity
	}
	return true
}

// TagOffsite marks the copy record of a job's copy to its offsite medium
// (`cadang run`), to tell it from a `cadang copy` made by hand.
const TagOffsite = "offsite"

// HasTag reports whether the record has tag t.
func (r *Record) HasTag(t string) bool {
	for _, x := range r.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// MetStandard reports whether the run did its work within its time
// standard: StandardMet for a run that ended ok, false for any other, as
// older records said true for a failed or partial run that was quick.
func (r *Record) MetStandard() bool { return r.StandardMet && r.Result == OK }

// Duration returns the run's duration.
func (r *Record) Duration() time.Duration { return time.Duration(r.DurationMS) * time.Millisecond }

// Source is what one source of a job contributed to a backup.
type Source struct {
	Name       string      `json:"name"`
	Snapshot   string      `json:"snapshot,omitempty"`
	FilesRead  int64       `json:"files_read"`
	FilesAdded int64       `json:"files_added"`
	BytesRead  int64       `json:"bytes_read"`
	BytesAdded int64       `json:"bytes_added"`
	Skipped    int64       `json:"skipped,omitempty"`
	Result     Result      `json:"result"`
	Failure    FailureKind `json:"failure,omitempty"`
	// Note and Message are as in Record.
	Note    *Note  `json:"note,omitempty"`
	Message string `json:"message,omitempty"`
	// Databases are the PostgreSQL databases a databases source dumped
	// into its snapshot (as /DB.dump, beside /globals.sql).
	Databases []string `json:"databases,omitempty"`
	// Checks are the results of the job's compare = "source" check
	// queries on each database, in the snapshot the dump was taken from;
	// a restore test compares the restored database with them.
	Checks []CheckValue `json:"checks,omitempty"`
}

// CheckValue is a check query's result on a source database at backup time.
type CheckValue struct {
	Database string `json:"database"`
	Query    string `json:"query"`
	Value    string `json:"value"`
}

// RestoreInfo describes a restore (SOP steps 7-8): the request and what was done.
type RestoreInfo struct {
	RequestID   string `json:"request_id,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
	// RequesterPosition and RequesterOf are the requester's position
	// (jabatan) and unit (unit kerja); RequestedAt is the day of the
	// request (restore --requested-on), midnight in the organisation's
	// zone; zero: not given.
	RequesterPosition string    `json:"requester_position,omitempty"`
	RequesterOf       string    `json:"requester_unit,omitempty"`
	RequestedAt       time.Time `json:"requested_at,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	Snapshot          string    `json:"snapshot,omitempty"`
	SnapshotAt        time.Time `json:"snapshot_time,omitempty"`
	// SnapshotJob and Source are the snapshot's job and source tags (job:,
	// source:): on a host without the configuration the record has no job
	// of its own, and the minutes take it from the snapshot.
	SnapshotJob string   `json:"snapshot_job,omitempty"`
	Source      string   `json:"source,omitempty"`
	Paths       []string `json:"paths,omitempty"`
	// Target is the absolute path restored into (a relative --target is
	// made absolute: the minutes must say where the data is).
	Target   string `json:"target,omitempty"`
	Verified bool   `json:"verified"`
	// Overwrite is the --overwrite mode (always, if-changed, never).
	Overwrite string `json:"overwrite,omitempty"`
	// Resumes is the ID of the interrupted restore of the same snapshot
	// into the same target that this one completed (--overwrite
	// if-changed after Ctrl-C); FilesAlready are the files it found
	// already the snapshot's there and kept (same size and time, or read
	// back with --verify): part of the restore, though not written by
	// this run (FilesRead counts those written).
	Resumes      string `json:"resumes,omitempty"`
	FilesAlready int64  `json:"files_already,omitempty"`
	// VerifyKind says how the restored files were checked; with the record's
	// FilesRead (files restored), FilesVerified and FilesFailed the
	// documents describe it in their language (VerifyText).
	VerifyKind    VerifyKind `json:"verify_kind,omitempty"`
	FilesVerified int64      `json:"files_verified,omitempty"`
	FilesFailed   int64      `json:"files_failed,omitempty"`
	// FilesKept are the existing entries (files, symlinks, FIFOs, hardlink
	// names) that the overwrite mode (if-changed, never) kept as the target
	// had them: neither written nor verified.
	FilesKept int64 `json:"files_kept,omitempty"`
	// FilesKeptVerified are the existing files kept (--overwrite
	// if-changed) that --verify read back and found the snapshot's; they
	// are in neither FilesVerified nor FilesKept.
	FilesKeptVerified int64 `json:"files_kept_verified,omitempty"`
	// HardlinkCopies are hardlinks written as files of their own, where the
	// target could not link them (their content is the snapshot's).
	HardlinkCopies int64 `json:"hardlink_copies,omitempty"`
	// ItemsWithErrors are the entries, other than the files counted in
	// FilesFailed, that the record's errors name: not made (a device node
	// a non-root restore cannot make, a symlink in the way), or made
	// without some of their metadata. Without it, "0 could not be
	// restored" stood in the minutes above an error that said otherwise.
	ItemsWithErrors int64 `json:"items_with_errors,omitempty"`
	// InTheWay counts the errors of entries not restored because another
	// entry stands at their name (a directory where the snapshot has a
	// file): a cause the failure kinds have no word for (it is "other"),
	// which the minutes name instead.
	InTheWay int64 `json:"in_the_way,omitempty"`
	// What the restore left different from the snapshot on purpose, or
	// changed in the target, for the minutes to say: OwnersNotRestored
	// (not run as root, or --no-owner: every entry is the restoring
	// user's); SetIDDropped, the files restored without a setuid or setgid
	// bit for that reason; DevicesSkipped, the device nodes --no-devices
	// left out; Replaced, the existing entries of the target replaced by
	// the snapshot's (a kept file found changed, with --verify, among
	// them); KeptMetadataSet, kept files given the snapshot's mode or
	// attributes in place.
	OwnersNotRestored bool  `json:"owners_not_restored,omitempty"`
	SetIDDropped      int64 `json:"setid_dropped,omitempty"`
	DevicesSkipped    int64 `json:"devices_skipped,omitempty"`
	Replaced          int64 `json:"replaced,omitempty"`
	KeptMetadataSet   int64 `json:"kept_metadata_set,omitempty"`
	// Verify is the English sentence that records written before VerifyKind
	// existed carry instead; it is shown only for them.
	Verify string `json:"verify,omitempty"`
}

// VerifyKind is how a restore was verified.
type VerifyKind string

// The verify kinds.
const (
	// VerifyAll: --verify read every restored file back and all matched.
	VerifyAll VerifyKind = "all"
	// VerifySome: --verify was given but not every file was restored or
	// matched.
	VerifySome VerifyKind = "some"
	// VerifyBlobs: no --verify; only the blobs' authenticated decryption.
	VerifyBlobs VerifyKind = "blobs"
)

// Note is a sentence about a run kept as facts: Code names the sentence
// (the i18n message "note."+Code) and Args fill it in. Args are strings
// and integers only, so that they read back from JSON the same and the
// numbers can be written the document language's way.
type Note struct {
	Code string `json:"code"`
	Args []any  `json:"args,omitempty"`
}

// NewNote returns the note code with args.
func NewNote(code string, args ...any) *Note { return &Note{Code: code, Args: args} }

// NoteError is the note of a failure known only by its raw error text,
// which is in Message.
const NoteError = "error"

// Noted marks err as fully said by the record's Note: Runner.Do keeps its
// failure kind but not its text, which is cadang's own English and would
// only repeat the note in another language. Noted(nil) is nil.
func Noted(err error) error {
	if err == nil {
		return nil
	}
	return noted{err}
}

type noted struct{ error }

func (n noted) Unwrap() error { return n.error }

// IsNoted reports whether err was marked by Noted.
func IsNoted(err error) bool {
	var n noted
	return errors.As(err, &n)
}

// SaidError is an error the record can say as a note: Note names what
// happened in the reader's language; Raw is the text that is not cadang's
// to translate (a command's own stderr), kept verbatim. Its Error is the
// English sentence, for the terminal of the engine commands.
type SaidError struct {
	Note *Note
	Raw  string
	Err  error
}

func (e *SaidError) Error() string { return e.Err.Error() }
func (e *SaidError) Unwrap() error { return e.Err }

// Said wraps err with the note that says it and its raw text. Said(nil, ...)
// is nil.
func Said(err error, raw string, code string, args ...any) error {
	if err == nil {
		return nil
	}
	return &SaidError{Note: NewNote(code, args...), Raw: raw, Err: err}
}

// SaidOf returns the note and raw text of the first SaidError in err's
// chain.
func SaidOf(err error) (note *Note, raw string, ok bool) {
	var s *SaidError
	if !errors.As(err, &s) {
		return nil, "", false
	}
	return s.Note, s.Raw, true
}

// TestInfo describes a restore test (SOP step 4).
type TestInfo struct {
	Seed        uint64 `json:"seed"`
	Sample      int    `json:"sample,omitempty"`
	SampleBytes int64  `json:"sample_bytes,omitempty"`
	// Draw is the number of snapshots drawn from (--snapshots), recorded
	// so that the command that repeats the sample can give it: with
	// another number the same seed draws other snapshots. Records made
	// before it was recorded have 0.
	Draw      int           `json:"draw,omitempty"`
	Scratch   string        `json:"scratch,omitempty"`
	Items     []TestItem    `json:"items"`
	Commands  []CommandRun  `json:"commands,omitempty"`
	RestoreMS int64         `json:"restore_ms"`
	Snapshots []SnapshotRef `json:"snapshots,omitempty"`
	// MissingSources are the job's configured sources that had no
	// snapshot to test at all.
	MissingSources []string `json:"missing_sources,omitempty"`
	// Databases are the PostgreSQL dumps the test loaded into a database.
	Databases []DatabaseTest `json:"databases,omitempty"`
}

// DatabaseTest is one PostgreSQL dump a restore test loaded into a scratch
// database (or a throwaway server) and checked there.
type DatabaseTest struct {
	Snapshot string `json:"snapshot"`
	Source   string `json:"source,omitempty"`
	File     string `json:"file"`               // in the snapshot, e.g. /epns_prod.dump
	Database string `json:"database,omitempty"` // the source database the dump is of
	// Globals marks /globals.sql (roles, tablespaces), which is loaded
	// only into a throwaway server: on the configured one it would change
	// the server's roles.
	Globals bool `json:"globals,omitempty"`
	// Server is where it was loaded (host:port, or the throwaway server);
	// Scratch the temporary database, dropped after the test (Dropped).
	Server  string `json:"server,omitempty"`
	Scratch string `json:"scratch,omitempty"`
	Loaded  bool   `json:"loaded"`
	LoadMS  int64  `json:"load_ms"`
	// Tables counts the tables the dump creates; MissingTables are those
	// not found in the loaded database.
	Tables        int        `json:"tables"`
	MissingTables []string   `json:"missing_tables,omitempty"`
	Checks        []CheckRun `json:"checks,omitempty"`
	Dropped       bool       `json:"dropped"`
	OK            bool       `json:"ok"`
	Error         string     `json:"error,omitempty"`
}

// CheckRun is a check query run on a restored database: its result Got
// against Want, the expected value or (Compare "source") the value
// recorded at backup time.
type CheckRun struct {
	Query   string `json:"query"`
	Compare string `json:"compare,omitempty"`
	Want    string `json:"want"`
	Got     string `json:"got"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// SnapshotRef names a snapshot drawn for a restore test.
type SnapshotRef struct {
	ID     string    `json:"id"`
	Source string    `json:"source,omitempty"`
	Time   time.Time `json:"time"`
	// Job is the job its job: tag names, where the test ran without a
	// configuration file (the record has no job of its own then).
	Job string `json:"job,omitempty"`
	// NoFiles: the snapshot was drawn but holds no regular file, so
	// nothing of it was restored; the report says so rather than leave
	// it out.
	NoFiles bool `json:"no_files,omitempty"`
	// Dump: a snapshot of a dump source, all of whose dump files were
	// restored (not a sample of files), so that the report says the
	// sample from the record, not from a configuration that may have
	// changed or be absent.
	Dump bool `json:"dump,omitempty"`
}

// TestItem is one file restored and verified by a restore test.
type TestItem struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// CommandRun is a verify command run on a restored dump.
type CommandRun struct {
	Command  []string `json:"command"`
	ExitCode int      `json:"exit_code"`
	OK       bool     `json:"ok"`
	Output   string   `json:"output,omitempty"` // the last lines
	MS       int64    `json:"ms"`
}

// Policy is a retention policy as facts: the counts of the rules (negative:
// all), the span of "within" in the form "1y2m3d4h" (snapshot/retention's
// Duration), and how long before-change backups are protected.
type Policy struct {
	Last    int    `json:"last,omitempty"`
	Hourly  int    `json:"hourly,omitempty"`
	Daily   int    `json:"daily,omitempty"`
	Weekly  int    `json:"weekly,omitempty"`
	Monthly int    `json:"monthly,omitempty"`
	Yearly  int    `json:"yearly,omitempty"`
	Within  string `json:"within,omitempty"`
	// ProtectMS is how long (in milliseconds) a before-change backup, or a
	// snapshot a restore used, is kept whatever the rules say.
	ProtectMS int64 `json:"protect_ms,omitempty"`
}

// Flags writes the policy as the options of `cadang forget` (and restic's),
// e.g. "--keep-daily 7 --keep-weekly 4 --keep-within 30d": a text in no
// language.
func (p Policy) Flags() string {
	var f []string
	for _, c := range []struct {
		n    int
		name string
	}{{p.Last, "last"}, {p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if c.n != 0 {
			f = append(f, fmt.Sprintf("--keep-%s %d", c.name, c.n))
		}
	}
	if p.Within != "" {
		f = append(f, "--keep-within "+p.Within)
	}
	return strings.Join(f, " ")
}

// ForgetInfo describes the retention applied to a job's snapshots on one
// medium (an OpForget record): the policy, the zone of its calendar, and
// every snapshot of the job it looked at, removed or kept, with why.
type ForgetInfo struct {
	Policy Policy `json:"policy"`
	// Zone is the time zone of the days, weeks, months and years.
	Zone string `json:"zone"`
	// Removed are the snapshots whose files were removed; Kept those that
	// stay, each with the rules that keep it. Failed are those the policy
	// removes but that were not removed (the record failed).
	Removed []ForgetItem `json:"removed,omitempty"`
	Kept    []ForgetItem `json:"kept,omitempty"`
	Failed  []ForgetItem `json:"failed,omitempty"`
	// Protected counts the kept snapshots that only protection kept.
	Protected int `json:"protected,omitempty"`
	// NotRecorded is set when every removal was done but the repository
	// could not keep the record of them that copies read
	// (snapshot.ErrNotRecorded: storage of an older cadang serve, or a
	// fault while saving it), so a copy into it may bring the removed
	// snapshots back. MessageText adds a sentence that says so.
	NotRecorded bool `json:"not_recorded,omitempty"`
}

// ForgetItem is one snapshot a forget decided on.
type ForgetItem struct {
	Snapshot string    `json:"snapshot"`
	Source   string    `json:"source,omitempty"`
	Time     time.Time `json:"time"`
	// Reasons are the rules that keep the snapshot, as snapshot/retention
	// names them ("daily snapshot", "within 30d", "protected:
	// before-change", ...); for a removed snapshot ReasonNotKept.
	Reasons []string `json:"reasons,omitempty"`
}

// ReasonNotKept is the reason of a removed snapshot: no rule keeps it.
const ReasonNotKept = "not-kept"

// MaxCheckPaths bounds the paths a check record names (CheckInfo.Paths):
// one damaged pack may hold blobs of thousands of files, and the failure
// report needs the first of them and a count.
const MaxCheckPaths = 20

// CheckInfo is what a failed check found (an OpCheck record), for the
// failure report: the counts of the closing line ("check found 1 damaged
// pack"), the paths of the snapshots that use a blob found lost, and the
// advice the terminal gave, by key ("advice."+key in the message
// catalogue), so that the report gives the same advice in its language.
type CheckInfo struct {
	DamagedPacks  int `json:"damaged_packs,omitempty"`
	OtherProblems int `json:"other_problems,omitempty"`
	// Paths are the first MaxCheckPaths uses of lost blobs, in the order
	// check printed them, and MorePaths how many more there are.
	Paths     []CheckPath `json:"paths,omitempty"`
	MorePaths int         `json:"more_paths,omitempty"`
	Advice    []string    `json:"advice,omitempty"`
}

// CheckPath is a path of a snapshot that uses a blob a check found lost;
// Tree marks a directory whose listing (tree blob) is lost.
type CheckPath struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
	Tree     bool   `json:"tree,omitempty"`
}

// CopyInfo is what a copy did (an OpCopy record), the numbers of
// snapshot/copier's Result. From is the source repository's location.
type CopyInfo struct {
	From    string `json:"from"`
	FromID  string `json:"from_id,omitempty"`
	Copied  int    `json:"copied"`
	Skipped int    `json:"skipped"`
	// Forgotten counts the snapshots not copied because the destination
	// forgot them (its retention removed them: copying them again would
	// only have them removed again).
	Forgotten int   `json:"forgotten,omitempty"`
	DataBlobs int   `json:"data_blobs"`
	TreeBlobs int   `json:"tree_blobs"`
	Bytes     int64 `json:"bytes"`
	// UnreadableProtections are the source's protection files the copy
	// could not read: what they protect is not protected on the
	// destination, which the copy's result (not failed for them) hides.
	UnreadableProtections []UnreadableFile `json:"unreadable_protections,omitempty"`
}

// UnreadableFile is a repository file that could not be read, and why.
type UnreadableFile struct {
	File  string `json:"file"` // its ID
	Error string `json:"error"`
}

// PruneInfo is what a prune found and did (an OpPrune record), the numbers
// of snapshot/prune's Result. Marked packs are taken out by a later prune;
// Deleted are those of an earlier prune removed now.
type PruneInfo struct {
	Snapshots     int   `json:"snapshots"`
	PacksBefore   int   `json:"packs_before"`
	BytesBefore   int64 `json:"bytes_before"`
	UsedBytes     int64 `json:"used_bytes"`
	UnusedBytes   int64 `json:"unused_bytes"`
	MarkedPacks   int   `json:"marked_packs"`
	MarkedBytes   int64 `json:"marked_bytes"`
	RepackedPacks int   `json:"repacked_packs,omitempty"`
	RepackedBytes int64 `json:"repacked_bytes,omitempty"`
	DeletedPacks  int   `json:"deleted_packs"`
	DeletedBytes  int64 `json:"deleted_bytes"`
	Resurrected   int   `json:"resurrected,omitempty"`
	// WaitingSets are the marked sets still held back by a backup that
	// started before they were marked.
	WaitingSets int `json:"waiting_sets,omitempty"`
	// ForeignSnapshotFiles counts the snapshot files prune passed over as
	// junk: not written with the repository's key (someone who can write
	// to the storage added them; 'cadang check' names them).
	ForeignSnapshotFiles int `json:"foreign_snapshot_files,omitempty"`
	// EveryMS is the job's prune interval ([job.prune] every).
	EveryMS int64 `json:"every_ms,omitempty"`
}
