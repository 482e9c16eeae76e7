// Package backup is the one way cadang makes a backup: options in, a typed
// result out. Prepare checks the options and reads the exclude files
// (before any repository is opened); Plan.Run picks the parent snapshot and
// runs the archiver (package snapshot/archiver) over paths, a reader or a
// command; Run does both. The CLI's `backup` and the SOP's `run` both call
// it, so a setting that one of them honours the other honours too.
//
// A backup that could not read some items still writes its snapshot: Run
// returns it with the items in Result.Skipped and a nil error. An error
// means that no snapshot was written.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
)

// Options say what to back up and how. Exactly one of Paths, Stdin and
// Command is the source.
type Options struct {
	// Paths are files and directories to back up; relative ones are made
	// absolute against the working directory.
	Paths []string
	// SkipMissingPaths makes a path that does not exist a skipped item
	// (the backup is partial) instead of an error; the backup fails only
	// when no path exists. The SOP uses it: one vanished directory of a
	// job must not cost the day's backup of the others.
	SkipMissingPaths bool
	// Stdin is backed up as the single file /Filename.
	Stdin io.Reader
	// Command is run (argv, no shell) and its standard output backed up as
	// the file /Filename. If it exits non-zero no snapshot is written and
	// the error is an *archiver.CommandError.
	Command []string
	// Filename names the file of Stdin or Command; empty means "stdin".
	Filename string
	// CommandStderr, if set, receives a copy of the command's standard
	// error (the last lines are in the CommandError either way).
	CommandStderr io.Writer

	// Excludes are patterns of paths not to back up (see archiver.Matcher);
	// ExcludeFiles name files of more patterns, one per line.
	Excludes     []string
	ExcludeFiles []string
	// ExcludeIfPresent excludes a directory that holds a file of one of
	// these names (e.g. ".nobackup").
	ExcludeIfPresent []string
	// OneFileSystem does not cross into other file systems below a path.
	OneFileSystem bool
	// ReadConcurrency is the number of files read at once; zero or less is
	// the archiver's default.
	ReadConcurrency int

	// Tags, Host and Reason are recorded in the snapshot; an empty Host is
	// this machine's hostname. Reason says why the backup was made (e.g.
	// before a system change).
	Tags   []string
	Host   string
	Reason string
	// ProtectFor, when positive, protects the snapshot once it is saved
	// from every forget (snapshot.ProtectSnapshot) until its time plus
	// ProtectFor, with ProtectReason: a backup made before a system change
	// must outlive retention rules that a later forget applies, whoever
	// runs it. A protection that cannot be saved is Result.ProtectionErr;
	// the snapshot stands.
	ProtectFor    time.Duration
	ProtectReason string
	// ProgramVersion is recorded in the snapshot.
	ProgramVersion string
	// Time is the snapshot's time; zero means now.
	Time time.Time

	// Parent names the snapshot to compare with (an ID, a unique prefix or
	// "latest"); empty means the newest snapshot of the same host and
	// paths. Force compares with none and reads every file; it wins over
	// Parent.
	Parent string
	Force  bool

	// ResumeDir is a local directory for resume records (see
	// archiver.Archiver.ResumeDir): a backup of paths that is killed or
	// fails before its snapshot leaves one there, and the next backup of
	// the same paths does not read again the directories and large files
	// it finished. Empty means none; DefaultResumeDir is the usual place.
	ResumeDir string

	// Progress receives the archiver's events; nil means none.
	Progress archiver.ArchiveProgress
	// FS is the source file system; nil means the local one.
	FS archiver.FS
}

// Result is what a backup did.
type Result struct {
	// Snapshot is the snapshot written. Its Summary has the counts.
	Snapshot *snapshot.Snapshot
	// Skipped are the items that are not in the snapshot because they
	// could not be read (or, with SkipMissingPaths, did not exist). A
	// backup with skipped items is partial: its snapshot is valid but
	// incomplete.
	Skipped []snapshot.ItemError
	// SkippedOmitted counts the items that could not be read beyond those
	// in Skipped (the snapshot lists them up to snapshot.MaxErrorsSize).
	SkippedOmitted uint64
	// Duration is how long Run took.
	Duration time.Duration
	// Adopted is what the backup took over from an interrupted one: packs
	// that were written but never indexed (see PackAdopter).
	Adopted repo.AdoptResult
	// Protection is the snapshot's protection (Options.ProtectFor), if one
	// was saved; ProtectionErr says why none was, the snapshot saved.
	Protection    *snapshot.Protection
	ProtectionErr error
}

// PackAdopter is implemented by repositories that can take over the packs
// an interrupted backup completed but never indexed (*repo.Repository).
// Plan.Run adopts them before it backs up, when the repository has it.
type PackAdopter interface {
	AdoptUnindexedPacks(ctx context.Context) (repo.AdoptResult, error)
}

// Partial reports whether some items could not be backed up.
func (r *Result) Partial() bool { return len(r.Skipped) > 0 || r.SkippedOmitted > 0 }

// OptionError is an invalid option. Option is the name of the field of
// Options, so that a caller can name its own flag or setting for it.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return fmt.Sprintf("backup option %s: %v", e.Option, e.Err) }
func (e *OptionError) Unwrap() error { return e.Err }

func optionErr(option string, err error) error { return &OptionError{Option: option, Err: err} }

// Plan is a checked backup, ready to run against a repository. Prepare
// makes it; a caller that must check its input before it opens (or
// creates) a repository, or asks for a password, prepares first.
type Plan struct {
	// Progress, if set, receives the events instead of Options.Progress
	// (a CLI makes its progress display once the repository is open).
	Progress archiver.ArchiveProgress

	o        Options
	excludes []string
}

// Prepare checks the options before any repository is opened: it reads
// the exclude files and, unless SkipMissingPaths is set, checks that every
// path exists, so that a mistyped path fails before a password is asked
// for. Errors about an option are *OptionError.
func Prepare(o Options) (*Plan, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	excludes, err := o.excludes()
	if err != nil {
		return nil, err
	}
	if !o.SkipMissingPaths {
		fsys := o.FS
		if fsys == nil {
			fsys = archiver.LocalFS{}
		}
		for _, p := range o.Paths {
			abs, err := filepath.Abs(p)
			if err == nil {
				_, err = fsys.Lstat(abs)
			}
			if err != nil {
				return nil, fmt.Errorf("backup source: %w", err)
			}
		}
	}
	return &Plan{o: o, excludes: excludes}, nil
}

// check validates the options that need no file system.
func (o *Options) check() error {
	sources := 0
	for _, set := range []bool{len(o.Paths) > 0, o.Stdin != nil, o.Command != nil} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return optionErr("Paths", errors.New("nothing to back up: give paths, a reader or a command"))
	case sources > 1:
		return optionErr("Paths", errors.New("paths, a reader and a command exclude each other"))
	case o.Command != nil && len(o.Command) == 0:
		return optionErr("Command", errors.New("empty command"))
	}
	return nil
}

// excludes returns the exclude patterns with those of the exclude files,
// checked.
func (o *Options) excludes() ([]string, error) {
	pats := append([]string(nil), o.Excludes...)
	if _, err := archiver.NewMatcher(pats); err != nil {
		return nil, optionErr("Excludes", err)
	}
	for _, f := range o.ExcludeFiles {
		p, err := archiver.ReadPatternFile(f)
		if err != nil {
			return nil, optionErr("ExcludeFiles", err)
		}
		if _, err := archiver.NewMatcher(p); err != nil {
			return nil, optionErr("ExcludeFiles", fmt.Errorf("%s: %w", f, err))
		}
		pats = append(pats, p...)
	}
	return pats, nil
}

// DefaultResumeDir is where cadang keeps resume records: "resume" in
// $CACHE_DIRECTORY (set by systemd for a unit with CacheDirectory=, as
// cadang's own units have), else "cadang/resume" in the user's cache
// directory ($XDG_CACHE_HOME, else ~/.cache), else, for root without a
// home (a system service), /var/cache/cadang/resume; "" (no records) when
// there is none of these.
func DefaultResumeDir() string {
	if d, _, _ := strings.Cut(os.Getenv("CACHE_DIRECTORY"), ":"); d != "" {
		return filepath.Join(d, "resume")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cadang", "resume")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/cadang/resume"
	}
	return ""
}

// Run prepares and runs one backup into r: Prepare, then Plan.Run.
func Run(ctx context.Context, r archiver.Repository, o Options) (*Result, error) {
	p, err := Prepare(o)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, r)
}

// Run makes the backup into r. On error no snapshot was written; a backup
// that skipped items returns its snapshot, the items and a nil error.
func (p *Plan) Run(ctx context.Context, r archiver.Repository) (*Result, error) {
	start := time.Now()
	o := p.o
	// A backup killed while writing its last index left complete packs
	// that no index names; adopting them first makes this run store only
	// what they lack, instead of everything again.
	var adopted repo.AdoptResult
	if pa, ok := r.(PackAdopter); ok {
		var err error
		// Without a lock, prune's wait would not cover the adoption: such a
		// session (a tool or test that took none) backs up without it.
		if adopted, err = pa.AdoptUnindexedPacks(ctx); err != nil && !errors.Is(err, repo.ErrAdoptNeedsLock) {
			return nil, err
		}
	}
	a := archiver.NewArchiver(r)
	a.FS = o.FS
	a.Excludes = p.excludes
	a.ExcludeIfPresent = o.ExcludeIfPresent
	a.OneFileSystem = o.OneFileSystem
	a.SkipMissingPaths = o.SkipMissingPaths
	a.ReadConcurrency = max(o.ReadConcurrency, 0)
	a.Tags = o.Tags
	a.Hostname = o.Host
	a.Reason = o.Reason
	a.ProgramVersion = o.ProgramVersion
	a.Time = o.Time
	a.NoParent = o.Force
	a.Progress = o.Progress
	if p.Progress != nil {
		a.Progress = p.Progress
	}
	a.CommandStderr = o.CommandStderr
	a.ResumeDir = o.ResumeDir
	if o.Parent != "" && !o.Force {
		// "latest" passes over what was never a snapshot (junk, or a file
		// too large for a listing), as restore's does.
		parent, err := snapshot.FindSnapshotSkipping(ctx, r, o.Parent, snapshot.Filter{}, func(_ repo.ID, err error) error {
			if snapshot.Passed(err) {
				return nil
			}
			return err
		})
		switch {
		case err == nil:
			a.Parent = parent
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case repo.IsDamaged(err), errors.Is(err, repo.ErrUnsupportedVersion):
			return nil, fmt.Errorf("parent snapshot: %w", err) // the repository's problem, not the option's
		default:
			return nil, optionErr("Parent", err)
		}
	}
	name := o.Filename
	if name == "" {
		name = "stdin"
	}
	var sn *snapshot.Snapshot
	var err error
	switch {
	case o.Command != nil:
		sn, err = a.SnapshotFromCommand(ctx, name, o.Command)
	case o.Stdin != nil:
		sn, err = a.ArchiveReader(ctx, name, o.Stdin)
	default:
		sn, err = a.Snapshot(ctx, o.Paths)
	}
	res := &Result{Snapshot: sn, Adopted: adopted}
	var inc *archiver.IncompleteError
	if errors.As(err, &inc) && sn != nil {
		res.Skipped, res.SkippedOmitted, err = inc.Errors, inc.Omitted, nil
	}
	if err != nil {
		return nil, err
	}
	if o.ProtectFor > 0 {
		var at time.Time
		if !o.Time.IsZero() {
			// On the caller's clock, as the snapshot's time is.
			at = o.Time.Add(time.Since(start))
		}
		res.Protection, res.ProtectionErr = protect(ctx, r, sn, o, at)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// protect saves the protection Options.ProtectFor asks for sn.
func protect(ctx context.Context, r archiver.Repository, sn *snapshot.Snapshot, o Options, at time.Time) (*snapshot.Protection, error) {
	fs, ok := r.(snapshot.FileSaver)
	if !ok {
		return nil, fmt.Errorf("snapshot %s saved, but not protected from forget: %T cannot save files", sn.ID().Short(), r)
	}
	p, err := snapshot.ProtectSnapshotAt(ctx, fs, sn, sn.Time.Add(o.ProtectFor), o.ProtectReason, at)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s saved, but not protected from forget: %w", sn.ID().Short(), err)
	}
	return &p, nil
}
