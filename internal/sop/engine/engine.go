// Package engine implements the interfaces of the SOP layer (run.Opener,
// run.Backupper, restoretest.Source) over the real engine: local
// repositories (package repo) and snapshots (package snapshot). The
// failure kinds of engine errors come from internal/errclass.
//
// The CLI wires these into run.Runner and restoretest.Tester; all the SOP
// logic stays in the packages run, restoretest and runlog.
package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/pwfile"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/walker"
)

// Tag prefixes put on the snapshots of a job run, so that a restore test
// finds the snapshots of each source of a job.
const (
	TagJob    = run.TagJob
	TagSource = run.TagSource
)

// ReadPassword reads a password file: its content without the trailing
// newline. An empty file is an error. A file that its group or others can
// read is read, and warn (if not nil) gets a message that names it.
func ReadPassword(file string, warn func(string)) ([]byte, error) {
	p, err := pwfile.Read(file, warn)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	return p, nil
}

// Open opens the repository at location, any location the engine
// commands open (repo/backend/location: a path, local:PATH, s3:...,
// sftp://..., rest:...), with password, holding the lock o.Lock names
// until Close. Errors are wrapped with their failure kind (runlog.Fail).
func Open(ctx context.Context, loc location.Location, password []byte, o repo.Options) (*repo.Repository, error) {
	be, err := location.Open(ctx, loc)
	if err != nil {
		return nil, runlog.Fail(errclass.Kind(err), fmt.Errorf("repository %s: %w", loc, err))
	}
	r, err := repo.Open(ctx, be, password, o)
	if err != nil {
		be.Close()
		return nil, runlog.Fail(errclass.Kind(err), err)
	}
	return r, nil
}

// OpenLocation parses a repository location and opens it (Open).
func OpenLocation(ctx context.Context, loc string, password []byte, o repo.Options) (*repo.Repository, error) {
	l, err := location.Parse(loc)
	if err != nil {
		return nil, runlog.Fail(runlog.KindOther, err)
	}
	return Open(ctx, l, password, o)
}

// OpenLocal opens the repository at location (kept for callers that
// predate Open; any location kind is accepted).
func OpenLocal(ctx context.Context, loc string, password []byte, o repo.Options) (*repo.Repository, error) {
	return OpenLocation(ctx, loc, password, o)
}

// Opener opens the repository on a medium of a job (run.Opener): it reads
// the medium's password file and takes a shared lock. A repository that is
// not there (the disk of the medium is not connected or not mounted) is a
// failure of kind media.
type Opener struct {
	// Config makes relative password files relative to the configuration
	// file; may be nil.
	Config *jobs.Config
	// Now is repo.Options.Now for every open (nil: time.Now): the SOP
	// clock when a replay sets it.
	Now func() time.Time
	// KDFMemory is repo.Options.KDFMemory for every open.
	KDFMemory uint64
	// LockWait is how long opening a medium waits for a conflicting lock
	// to go (repo.Options.LockWait; the CLI's --retry-lock).
	LockWait time.Duration
	// Password, if set, is used when the medium names no password file
	// (the CLI passes its global password options).
	Password func() ([]byte, error)
	// Logf receives the engine's notices (stale locks removed...).
	Logf func(string, ...any)
	// Warnf receives warnings that --quiet must not hide (a password
	// file that others can read); default Logf.
	Warnf func(string, ...any)
	// AfterOpen, if set, is called with every repository opened, before
	// it is used: the CLI compares it with the run log there (an older
	// copy of the medium put back is a warning), which this package,
	// knowing no run log, leaves to it.
	AfterOpen func(ctx context.Context, r *repo.Repository)
	// Location, if set, adjusts each parsed location before it is opened
	// (the CLI sets --backend-connections and the SFTP key files).
	Location func(l *location.Location)
	// ReadOnlyUnlocked is repo.Options.ReadOnlyUnlocked for every open:
	// set by callers that only read (a restore test), so that a medium
	// mounted read-only is read without a lock.
	ReadOnlyUnlocked bool
}

func (o *Opener) warn(msg string) {
	switch {
	case o.Warnf != nil:
		o.Warnf("%s", msg)
	case o.Logf != nil:
		o.Logf("%s", msg)
	}
}

// Open implements run.Opener.
func (o *Opener) Open(ctx context.Context, m jobs.Medium) (run.Repository, error) {
	return o.OpenLock(ctx, m, repo.SharedLock)
}

// OpenLock opens the repository on m as Open does, holding lock.
func (o *Opener) OpenLock(ctx context.Context, m jobs.Medium, lock repo.LockMode) (run.Repository, error) {
	var pw []byte
	var err error
	switch {
	case m.PasswordFile != "":
		f := m.PasswordFile
		if o.Config != nil {
			f = o.Config.Abs(f)
		}
		pw, err = ReadPassword(f, o.warn)
		if err != nil && o.Config != nil {
			// Name the key and the line that named the file: the
			// configuration is what to correct.
			if ref := o.Config.MediumPasswordFile(m); ref != nil {
				err = o.Config.PasswordFileError(*ref, err)
			}
		}
	case o.Password != nil:
		pw, err = o.Password()
	default:
		err = fmt.Errorf("medium %s names no password_file", m.Name)
	}
	if err != nil {
		// The password could not be read at all (missing or unreadable
		// file): that is not a wrong password.
		return nil, runlog.Fail(runlog.KindOther, err)
	}
	l, err := location.Parse(m.Repository)
	if err != nil {
		return nil, runlog.Fail(runlog.KindOther, fmt.Errorf("medium %s: %w", m.Name, err))
	}
	// Only a local path is relative to the configuration file: an s3:,
	// sftp:// or rest: location joined to a directory named nothing.
	if l.Kind == location.Local && o.Config != nil {
		l.Path = o.Config.Abs(l.Path)
	}
	if o.Location != nil {
		o.Location(&l)
	}
	r, err := Open(ctx, l, pw, repo.Options{Logf: o.Logf, Warnf: o.Warnf, AfterUnlock: debug.FreeOSMemory, Lock: lock, LockWait: o.LockWait, KDFMemory: o.KDFMemory, ReadOnlyUnlocked: o.ReadOnlyUnlocked, Now: o.Now})
	if err != nil {
		if errors.Is(err, repo.ErrWrongPassword) && m.PasswordFile != "" && o.Config != nil {
			err = fmt.Errorf("%w (the password read from %s)", err, o.Config.PasswordFileWhere(m.PasswordFile, o.Config.MediumPasswordFile(m)))
		}
		if errors.Is(err, repo.ErrNoRepository) || errors.Is(err, fs.ErrNotExist) {
			// Said by its note: the error's text is cadang's English.
			err = runlog.Fail(runlog.KindMedia, fmt.Errorf("medium %s is not connected: %w", m.Name, err))
			return nil, runlog.Said(err, "", "medium-not-connected", m.Name, location.Redact(m.Repository))
		}
		return nil, err
	}
	if o.AfterOpen != nil {
		o.AfterOpen(ctx, r)
	}
	return r, nil
}

// Backupper backs up one source of a job with the library's backup
// operation (package snapshot/backup), as `cadang backup` does
// (run.Backupper): the paths of a path source with all its path options, or
// the standard output of a dump command. A path that does not exist is
// skipped and listed (the run is partial); the run fails when none exists.
// Each snapshot is tagged job:NAME and source:NAME, plus the run's tags.
type Backupper struct {
	// Config makes relative exclude files relative to the configuration
	// file; may be nil.
	Config         *jobs.Config
	Hostname       string // default os.Hostname()
	ProgramVersion string
	// Progress, if set, makes the progress reporter of one source.
	Progress func(src jobs.Source) (archiver.ArchiveProgress, func())
	// CommandStderr receives a copy of a dump command's standard error.
	CommandStderr io.Writer
	// Now, if set, gives the snapshot time (the SOP layer's clock).
	Now func() time.Time
}

// Backup implements run.Backupper.
func (b *Backupper) Backup(ctx context.Context, r run.Repository, src jobs.Source, o run.BackupOptions) (run.BackupResult, error) {
	var res run.BackupResult
	ar, ok := r.(archiver.Repository)
	if !ok {
		return res, fmt.Errorf("engine: %T is not a snapshot repository", r)
	}
	bo := backup.Options{
		Host: b.Hostname, ProgramVersion: b.ProgramVersion, Reason: o.Reason,
		CommandStderr: b.CommandStderr, Tags: append([]string(nil), o.Tags...),
	}
	if b.Now != nil {
		bo.Time = b.Now()
	}
	if o.Job != nil {
		bo.Tags = append(bo.Tags, TagJob+o.Job.Name)
		if o.Reason != "" {
			// The backup before a change (SOP step 2) is kept for the
			// job's protect_before_change also from a forget by hand,
			// which knows nothing of the job's rules.
			bo.ProtectFor, bo.ProtectReason = o.Job.Retention.Protect(), runlog.TagBeforeChange+": "+o.Reason
		}
	}
	bo.Tags = append(bo.Tags, TagSource+SourceName(src))
	switch {
	case len(src.Databases) > 0:
		// Paths and FS are those of the dumps (backupDatabases).
	case src.IsDump():
		bo.Command, bo.Filename = src.Command, DumpFilename(src)
	default:
		bo.Paths, bo.SkipMissingPaths = src.Paths, true
		bo.ResumeDir = backup.DefaultResumeDir()
		bo.Excludes, bo.ExcludeIfPresent = src.Exclude, src.ExcludeIfPresent
		bo.OneFileSystem, bo.ReadConcurrency = src.OneFileSystem, src.ReadConcurrency
		for _, f := range src.ExcludeFile {
			if b.Config != nil {
				f = b.Config.Abs(f)
			}
			bo.ExcludeFiles = append(bo.ExcludeFiles, f)
		}
	}
	if b.Progress != nil {
		p, done := b.Progress(src)
		bo.Progress = p
		defer done()
	}
	var err error
	if len(src.Databases) > 0 {
		res, err = b.backupDatabases(ctx, ar, src, o, bo)
	} else {
		res, err = b.runBackup(ctx, ar, src, bo)
	}
	if err != nil && mediumFull(err, r) {
		err = &run.MediumFullError{Err: err}
	}
	return res, err
}

// mediumFull tells an error of a backup into r that is a write into r's
// directory finding the disk (or the quota) full: the medium is full. A
// full disk elsewhere (a dump's spool directory, the resume records in the
// cache) is not the medium's, and keeps its own message.
func mediumFull(err error, r run.Repository) bool {
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		return false
	}
	rr, ok := r.(interface{ Backend() backend.Backend })
	if !ok {
		return false
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	root := filepath.Clean(rr.Backend().Location())
	rel, rerr := filepath.Rel(root, filepath.Clean(pe.Path))
	return filepath.IsAbs(root) && rerr == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// runBackup runs the backup of one source and gives its result.
func (b *Backupper) runBackup(ctx context.Context, ar archiver.Repository, src jobs.Source, bo backup.Options) (run.BackupResult, error) {
	var res run.BackupResult
	out, err := backup.Run(ctx, ar, bo)
	if err != nil {
		err = SaidSourceError(err)
		// The runner names the source in front of the message.
		if src.IsDump() && errclass.Kind(err) == runlog.KindOther {
			// The dump did not run to its end (it could not start, or
			// its output could not be stored): the day has no dump.
			err = runlog.Fail(runlog.KindDumpFailed, err)
		}
		return res, err // otherwise errclass gives the kind
	}
	for _, ie := range out.Skipped {
		if ie.Kind == snapshot.ItemErrorChanged {
			// Stored as read, not left out: the run log must not call it
			// skipped.
			res.Changed = append(res.Changed, fmt.Sprintf("%s: %s", ie.Path, ie.Error))
			continue
		}
		res.Skipped = append(res.Skipped, fmt.Sprintf("%s: %s", ie.Path, ie.Error))
	}
	res.Unlisted = int64(out.SkippedOmitted)
	if out.ProtectionErr != nil {
		res.Unprotected = out.ProtectionErr.Error()
	}
	sn := out.Snapshot
	res.Snapshot = sn.ID().String()
	if s := sn.Summary; s != nil {
		res.FilesRead = int64(s.TotalFilesProcessed)
		// As bytes_added: new, changed, and read again because lost.
		res.FilesAdded = int64(s.FilesNew + s.FilesChanged + s.FilesReread)
		res.BytesRead = int64(s.TotalBytesProcessed)
		res.BytesAdded = int64(s.DataAdded)
	}
	return res, nil
}

// SourceName is the name of a source: its name, or "default" when the
// configuration gives none.
func SourceName(s jobs.Source) string { return run.SourceName(s) }

// DumpFilename is the file a dump source is stored as.
func DumpFilename(s jobs.Source) string {
	if s.Filename != "" {
		return s.Filename
	}
	return SourceName(s) + ".dump"
}

// Source lets a restore test reach the snapshots of a repository
// (restoretest.Source).
type Source struct {
	// Repo lists and loads snapshots (snapshot.FileLoader) and restores
	// from them (restorer.Repository).
	Repo interface {
		snapshot.FileLoader
		restorer.Repository
	}
	// All takes every snapshot of the repository, each of the source
	// its tags or paths say (repoSource), for a job without sources (a
	// restore test without a configuration file).
	All bool
}

// Snapshots implements restoretest.Source: the snapshots tagged with the
// job, or for snapshots made outside `cadang run`, those whose paths are
// those of a source of the job.
func (s *Source) Snapshots(ctx context.Context, job *jobs.Job) ([]restoretest.Snapshot, error) {
	// What was never a snapshot (junk, or a file too large for a
	// listing) is no candidate; a damaged snapshot file stops the test.
	sns, err := snapshot.ListSnapshotsSkipping(ctx, s.Repo, snapshot.Filter{}, func(_ repo.ID, err error) error {
		if snapshot.Passed(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []restoretest.Snapshot
	for _, sn := range sns {
		if s.All {
			group, name := repoSource(sn)
			out = append(out, restoretest.Snapshot{ID: sn.ID().String(), Source: name, Group: group, Time: sn.Time, Job: jobTag(sn)})
			continue
		}
		if name, ok := sourceOf(sn, job); ok {
			out = append(out, restoretest.Snapshot{ID: sn.ID().String(), Source: name, Time: sn.Time})
		}
	}
	return out, nil
}

// jobTag is the job a snapshot's job: tag names; "" without one.
func jobTag(sn *snapshot.Snapshot) string {
	for _, t := range sn.Tags {
		if v, ok := strings.CutPrefix(t, TagJob); ok {
			return v
		}
	}
	return ""
}

// repoSource says which source a snapshot belongs to when no job is
// configured: the group its restore test samples it in, and the name the
// report shows. A snapshot of `cadang run` is of the source its source:
// tag names, within the job its job: tag names (two jobs' "database"
// sources are two sources), shown as "database (spse-prod)"; any other
// snapshot is of its host's paths, shown as the paths.
func repoSource(sn *snapshot.Snapshot) (group, name string) {
	var job, src string
	var tagged bool
	for _, t := range sn.Tags {
		if v, ok := strings.CutPrefix(t, TagJob); ok && job == "" {
			job = v
		}
		if v, ok := strings.CutPrefix(t, TagSource); ok && !tagged {
			src, tagged = v, true
		}
	}
	if tagged {
		name = src
		if job != "" {
			name += " (" + job + ")"
		}
		return "source\x00" + job + "\x00" + src, name
	}
	paths := append([]string(nil), sn.Paths...)
	sort.Strings(paths)
	return "paths\x00" + sn.Hostname + "\x00" + strings.Join(paths, "\x00"), strings.Join(paths, ", ")
}

func sourceOf(sn *snapshot.Snapshot, job *jobs.Job) (string, bool) {
	tagged := false
	for _, t := range sn.Tags {
		if t == TagJob+job.Name {
			tagged = true
		}
	}
	if tagged {
		for _, t := range sn.Tags {
			if name, ok := strings.CutPrefix(t, TagSource); ok {
				for _, src := range job.Sources {
					if SourceName(src) == name {
						return src.Name, true
					}
				}
			}
		}
	}
	for _, t := range sn.Tags {
		if strings.HasPrefix(t, TagJob) {
			return "", false // another job's snapshot
		}
	}
	for _, src := range job.Sources {
		if src.IsDump() {
			if len(sn.Paths) == 1 && sn.Paths[0] == "/"+DumpFilename(src) {
				return src.Name, true
			}
			continue
		}
		var abs []string
		for _, p := range src.Paths {
			if a, err := filepath.Abs(p); err == nil {
				abs = append(abs, a)
			}
		}
		if len(abs) > 0 && len(sn.Paths) == len(abs) && sn.HasPaths(abs) {
			return src.Name, true
		}
	}
	return "", false
}

func (s *Source) load(ctx context.Context, id string) (*snapshot.Snapshot, error) {
	rid, err := repo.ParseID(id)
	if err != nil {
		return nil, err
	}
	return snapshot.LoadSnapshot(ctx, s.Repo, rid)
}

// Files implements restoretest.Source: the regular files of the snapshot.
func (s *Source) Files(ctx context.Context, snap restoretest.Snapshot) ([]restoretest.File, error) {
	sn, err := s.load(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	var out []restoretest.File
	err = walker.Walk(ctx, s.Repo, sn.Tree, "/", func(p string, n *snapshot.Node) error {
		if n.Type == snapshot.TypeFile {
			out = append(out, restoretest.File{Path: p, Size: n.Size})
		}
		return nil
	})
	return out, err
}

// Restore implements restoretest.Source: each file is restored with the
// Restorer (as `cadang restore` does) to dir/PATH, then the restored file is
// hashed and compared with the hash of the snapshot's content, read from
// the repository separately (walker.WriteContent).
func (s *Source) Restore(ctx context.Context, snap restoretest.Snapshot, files []restoretest.File, dir string) ([]runlog.TestItem, error) {
	sn, err := s.load(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	items := make([]runlog.TestItem, 0, len(files))
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return items, err
		}
		it := runlog.TestItem{Snapshot: snap.ID, Path: f.Path, Size: f.Size}
		if err := s.restoreOne(ctx, sn, f.Path, dir); err != nil {
			if ctx.Err() != nil {
				// Interrupted: the file did not fail its check.
				return items, ctx.Err()
			}
			it.Error = err.Error()
		} else {
			it.OK = true
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *Source) restoreOne(ctx context.Context, sn *snapshot.Snapshot, p, dir string) error {
	target := filepath.Join(dir, filepath.FromSlash(path.Dir(p)))
	// Root restores onto the backup server here: no owners (hence no
	// setuid/setgid), no device nodes, no file capabilities (issue 13).
	rs := &restorer.Restorer{Repo: s.Repo, Overwrite: restorer.OverwriteAlways, NoOwner: true,
		NoDevices: true, XattrExclude: []string{"security.capability"}}
	sum, err := rs.Restore(ctx, sn, p, target)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if sum.Files != 1 {
		return fmt.Errorf("restore: %d files restored, want 1", sum.Files)
	}
	local := filepath.Join(dir, filepath.FromSlash(p))
	got, gotN, err := hashFile(local)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	n, err := walker.FindNode(ctx, s.Repo, sn.Tree, p)
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := walker.WriteContent(ctx, s.Repo, n, h); err != nil {
		return fmt.Errorf("read snapshot content: %w", err)
	}
	if gotN != n.Size {
		return fmt.Errorf("size differs: restored %d bytes, snapshot has %d", gotN, n.Size)
	}
	if !bytes.Equal(got, h.Sum(nil)) {
		return fmt.Errorf("content differs from the snapshot (SHA-256 %x, restored %x)", h.Sum(nil), got)
	}
	return nil
}

func hashFile(p string) ([]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, n, err
	}
	return h.Sum(nil), n, nil
}

// SaidSourceError gives the error of a source that failed (a dump command,
// paths none of which can be read) the note that says it in the
// documents' language; only the command's stderr or the system's errors
// stay as they were written (the record keeps facts, not cadang's English
// sentence).
func SaidSourceError(err error) error {
	var ns *archiver.NoSourceError
	if errors.As(err, &ns) {
		return runlog.Said(err, strings.Join(ns.Reasons, "; "), "no-source-paths")
	}
	var ce *archiver.CommandError
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Signal != "":
		return runlog.Said(err, ce.Stderr, "command-killed", ce.CommandLine(), ce.Signal)
	case ce.ExitCode >= 0:
		return runlog.Said(err, ce.Stderr, "command-exited", ce.CommandLine(), ce.ExitCode)
	case ce.Err != nil:
		// exec's error is the system's text, not cadang's.
		return runlog.Said(err, ce.Err.Error(), "command-not-run", ce.CommandLine())
	}
	return err
}
