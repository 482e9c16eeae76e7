package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/backup"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "back up files and directories, or the output of a command",
		ArgsUsage: "PATH... | --stdin-from-command --stdin-filename NAME -- COMMAND [ARGS...]",
		Description: `Backs up the given paths into a new snapshot. The newest snapshot of the same host and paths
(or --parent) is the parent: a file whose size, mtime, ctime and inode are unchanged is not read again.

Files that cannot be read are listed; the snapshot is still written and the exit code is 3.

With --stdin-from-command, the command's standard output is stored as the file /NAME. If the
command exits non-zero or is killed, no snapshot is written; the error shows its exit code and the
last lines of its standard error. --stdin reads cadang's own standard input the same way.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "exclude", Aliases: []string{"e"}, Usage: "exclude paths matching `PATTERN` (repeatable)"},
			&cli.StringSliceFlag{Name: "exclude-file", Usage: "read exclude patterns from `FILE` (repeatable)"},
			&cli.StringSliceFlag{Name: "exclude-if-present", Usage: "exclude a directory containing a file named `NAME` (repeatable)"},
			&cli.BoolFlag{Name: "one-file-system", Aliases: []string{"x"}, Usage: "do not cross filesystem boundaries"},
			&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to the snapshot (repeatable)", Action: nonEmpty("tag")},
			&cli.StringFlag{Name: "host", Usage: "record `HOST` instead of this machine's hostname"},
			&cli.StringFlag{Name: "parent", Usage: "compare with snapshot `ID` instead of the newest matching one"},
			&cli.BoolFlag{Name: "force", Usage: "read every file, ignoring the parent snapshot"},
			&cli.StringFlag{Name: "reason", Usage: "why this backup is made, e.g. \"before upgrading PostgreSQL\" (SOP: backup before a system change); adds the tag before-change and protects the snapshot from forget for the job's protect_before_change (90 days)"},
			&cli.BoolFlag{Name: "stdin", Usage: "back up standard input as the file given by --stdin-filename"},
			&cli.BoolFlag{Name: "stdin-from-command", Usage: "run the command after -- and back up its standard output"},
			&cli.StringFlag{Name: "stdin-filename", Value: "stdin", Usage: "file `NAME` for --stdin and --stdin-from-command"},
			&cli.BoolFlag{Name: "init", Usage: "create the repository first if it does not exist"},
			&cli.IntFlag{Name: "read-concurrency", Usage: "read `N` files at once (default: half the cores, 2 to 8)", Action: intRange("read-concurrency", 1, 256)},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			o := backupOptionsFromFlags(c)
			if err := o.validate(); err != nil {
				return err
			}
			if _, err := e.repoLocation(); err != nil {
				return err
			}
			return e.recorded(c.Context, runlog.OpBackup, func(ctx context.Context, rec *runlog.Record) error {
				sn, err := runBackup(ctx, e, o)
				return recordBackup(rec, o, sn, err)
			})
		},
	}
}

// backupOptions are the CLI's backup settings; the SOP run command fills
// them too.
type backupOptions struct {
	Paths            []string
	Excludes         []string
	ExcludeFiles     []string
	ExcludeIfPresent []string
	OneFileSystem    bool
	Tags             []string
	Host             string
	Parent           string
	Force            bool
	Reason           string
	Stdin            bool
	Command          []string
	StdinFilename    string
	Init             bool
	ReadConcurrency  int
}

func backupOptionsFromFlags(c *cli.Context) backupOptions {
	o := backupOptions{
		Excludes: c.StringSlice("exclude"), ExcludeFiles: c.StringSlice("exclude-file"),
		ExcludeIfPresent: c.StringSlice("exclude-if-present"), OneFileSystem: c.Bool("one-file-system"),
		Tags: c.StringSlice("tag"), Host: c.String("host"), Parent: c.String("parent"), Force: c.Bool("force"),
		Reason: c.String("reason"), Stdin: c.Bool("stdin"), StdinFilename: c.String("stdin-filename"),
		Init: c.Bool("init"), ReadConcurrency: c.Int("read-concurrency"),
	}
	if c.Bool("stdin-from-command") {
		o.Command = c.Args().Slice()
	} else {
		o.Paths = c.Args().Slice()
	}
	return o
}

// backupResult is the summary printed by `backup --json`.
type backupResult struct {
	MessageType     string               `json:"message_type"` // "summary"
	SnapshotID      string               `json:"snapshot_id"`
	FilesNew        uint64               `json:"files_new"`
	FilesChanged    uint64               `json:"files_changed"`
	FilesUnmodified uint64               `json:"files_unmodified"`
	FilesReread     uint64               `json:"files_reread"` // unchanged, read again: their data was missing from the repository
	DirsNew         uint64               `json:"dirs_new"`
	DirsChanged     uint64               `json:"dirs_changed"`
	DirsUnmodified  uint64               `json:"dirs_unmodified"`
	DataBlobs       uint64               `json:"data_blobs"`
	TreeBlobs       uint64               `json:"tree_blobs"`
	DataAdded       uint64               `json:"data_added"`
	DataAddedPacked uint64               `json:"data_added_packed"`
	TotalFiles      uint64               `json:"total_files_processed"`
	TotalBytes      uint64               `json:"total_bytes_processed"`
	BytesRead       uint64               `json:"bytes_read"`
	TotalDuration   float64              `json:"total_duration"`
	Errors          []snapshot.ItemError `json:"errors,omitempty"`
	ErrorsOmitted   uint64               `json:"errors_omitted,omitempty"` // unreadable items beyond those listed in errors
	RepositoryID    string               `json:"repository_id"`
}

func (o backupOptions) validate() error {
	switch {
	case o.Stdin && len(o.Command) > 0:
		return errors.New("--stdin and --stdin-from-command exclude each other")
	case o.Stdin && len(o.Paths) > 0:
		return errors.New("--stdin takes no paths")
	case o.Command == nil && !o.Stdin && len(o.Paths) == 0:
		return errors.New("backup: give at least one path, or --stdin, or --stdin-from-command -- COMMAND")
	case o.Command != nil && len(o.Command) == 0:
		return errors.New("--stdin-from-command: give the command after --")
	}
	return nil
}

// library returns the options of the library's backup operation.
func (o backupOptions) library(e *env) backup.Options {
	bo := backup.Options{
		Paths: o.Paths, Command: o.Command, Filename: o.StdinFilename,
		Excludes: o.Excludes, ExcludeFiles: o.ExcludeFiles, ExcludeIfPresent: o.ExcludeIfPresent,
		OneFileSystem: o.OneFileSystem, ReadConcurrency: o.ReadConcurrency,
		Tags: append([]string(nil), o.Tags...), Host: o.Host, Reason: o.Reason,
		ProgramVersion: "cadang " + version, Parent: o.Parent, Force: o.Force,
		ResumeDir: backup.DefaultResumeDir(),
	}
	if o.Stdin {
		bo.Stdin = e.stdin
	}
	// One missing path among several is a partial backup of the others
	// (exit 3, the path listed), as restic does; when none exists it is
	// a typo, refused before the repository is opened.
	for _, p := range o.Paths {
		if _, err := os.Lstat(p); err == nil {
			bo.SkipMissingPaths = true
			break
		}
	}
	if o.Reason != "" {
		bo.Tags = append(bo.Tags, "before-change")
		// Kept from every forget for as long as cadang run keeps its own
		// before-change backups (SOP step 2).
		bo.ProtectFor, bo.ProtectReason = e.beforeChangeProtect(), "before-change: "+o.Reason
	}
	return bo
}

// beforeChangeProtect is how long a before-change backup is protected:
// the protect_before_change of the job whose medium is at --repo, the
// longest of them where several jobs share the medium (each job's forget
// must keep it), or jobs.DefaultProtect.
func (e *env) beforeChangeProtect() time.Duration {
	st, err := e.loadSOPForRecords()
	if err != nil {
		return jobs.DefaultProtect
	}
	loc, _ := e.repoLocation()
	js := jobsAt(st.cfg, loc)
	if len(js) == 0 {
		return jobs.DefaultProtect
	}
	var d time.Duration
	for _, j := range js {
		d = max(d, j.Retention.Protect())
	}
	return d
}

// flagError rewrites an option error of the library to name the flag the
// user typed.
func flagError(err error) error {
	var oe *backup.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	flag := map[string]string{
		"Excludes": "--exclude", "ExcludeFiles": "--exclude-file", "Parent": "--parent",
		"Command": "--stdin-from-command",
	}[oe.Option]
	if flag == "" {
		return err
	}
	return fmt.Errorf("%s: %w", flag, oe.Err)
}

// runBackup performs one backup and prints its result. It returns the
// snapshot (nil if none was written).
func runBackup(ctx context.Context, e *env, o backupOptions) (*snapshot.Snapshot, error) {
	if err := e.needLock("backup"); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	plan, err := backup.Prepare(o.library(e))
	if err != nil {
		return nil, flagError(err)
	}
	var res *backup.Result
	var stats repo.SaveStats
	var repoID string
	start := time.Now()
	var streamed *streamErrors
	err = e.withRepoCreate(ctx, false, o.Init, func(r *repo.Repository) error {
		repoID = r.ID()
		mode := ui.ChooseMode(e.progressWriter(), e.json, e.quiet)
		counter := ui.NewCounter(e.progressWriter(), mode, "backup")
		plan.Progress = ui.Backup{Counter: counter}
		if mode == ui.Silent && !e.json {
			// No bar shows the items that cannot be read as they happen
			// (cron, a pipe, --quiet), and the snapshot lists them only
			// up to a size: print each now, so that every one reaches
			// the administrator.
			streamed = &streamErrors{Backup: ui.Backup{Counter: counter}, w: e.stderr}
			plan.Progress = streamed
		}
		var err error
		res, err = plan.Run(ctx, r)
		counter.Done()
		stats = r.Stats()
		return err
	})
	if err != nil {
		return nil, flagError(err)
	}
	sn := res.Snapshot
	printBackupSummary(e, sn, stats, repoID, time.Since(start), streamed != nil)
	switch {
	case res.ProtectionErr != nil:
		e.warnf("%v; protect it with 'cadang protect %s --for %s --reason ...'", res.ProtectionErr, sn.ID().Short(), fmt.Sprintf("%dd", int(e.beforeChangeProtect().Hours()/24)))
	case res.Protection != nil:
		e.logf("snapshot %s is protected from forget until %s (%s)", sn.ID().Short(), e.timeText(res.Protection.Until), res.Protection.Reason)
	}
	if res.Partial() {
		return sn, &partialError{Msg: fmt.Sprintf("snapshot %s saved, but %d item(s) could not be read (listed above)", sn.ID().Short(), uint64(len(res.Skipped))+res.SkippedOmitted)}
	}
	return sn, nil
}

// progressWriter is where progress goes: stdout for JSON events (scripts
// read one stream), stderr for the bar.
func (e *env) progressWriter() io.Writer {
	if e.json {
		return e.rawStdout // JSON escapes what it holds
	}
	return e.rawStderr // the bar's own control characters, and a terminal test
}

// streamErrors prints each item that could not be read as it happens.
type streamErrors struct {
	ui.Backup
	mu sync.Mutex
	w  io.Writer
}

func (s *streamErrors) Error(path string, err error) {
	s.Backup.Error(path, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(s.w, itemErrorLine(path, err.Error(), errors.Is(err, archiver.ErrFileChanged)))
}

// itemErrorLine is the line for an item that could not be read, or changed
// while it was read: one line, whatever the file's name holds (a newline
// in an uploaded file's name must not forge a line of the report).
func itemErrorLine(path, msg string, changed bool) string {
	if changed {
		return ui.Printable("changed during the backup "+path+": "+msg, false)
	}
	return ui.Printable("could not read "+path+": "+msg, false)
}

// printBackupSummary prints what the backup did; streamed says that the
// items that could not be read were printed as they happened.
func printBackupSummary(e *env, sn *snapshot.Snapshot, stats repo.SaveStats, repoID string, d time.Duration, streamed bool) {
	s := sn.Summary
	if s == nil {
		s = &snapshot.Summary{}
	}
	res := backupResult{
		MessageType: "summary", SnapshotID: sn.ID().String(),
		FilesNew: s.FilesNew, FilesChanged: s.FilesChanged, FilesUnmodified: s.FilesUnmodified, FilesReread: s.FilesReread,
		DirsNew: s.DirsNew, DirsChanged: s.DirsChanged, DirsUnmodified: s.DirsUnmodified,
		DataBlobs: s.DataBlobs, TreeBlobs: s.TreeBlobs, DataAdded: uint64(stats.RawBytes), DataAddedPacked: uint64(stats.StoredBytes),
		TotalFiles: s.TotalFilesProcessed, TotalBytes: s.TotalBytesProcessed, BytesRead: s.BytesRead,
		TotalDuration: d.Seconds(), Errors: s.Errors, ErrorsOmitted: s.ErrorsOmitted, RepositoryID: repoID,
	}
	if e.json {
		_ = e.printJSONLine(res)
		return
	}
	// Unreadable files are warnings: shown even with --quiet.
	for _, ie := range s.Errors {
		if streamed {
			break
		}
		fmt.Fprintln(e.stderr, itemErrorLine(ie.Path, ie.Error, ie.Kind == snapshot.ItemErrorChanged))
	}
	if s.ErrorsOmitted > 0 && !streamed {
		fmt.Fprintf(e.stderr, "and %d more item(s) that could not be read, left out of the snapshot's list to keep it small (each was shown as it happened, above)\n", s.ErrorsOmitted)
	}
	if e.quiet {
		return
	}
	w := e.stdout
	fmt.Fprintf(w, "Files:       %d new, %d changed, %d unmodified\n", s.FilesNew, s.FilesChanged, s.FilesUnmodified)
	if s.FilesReread > 0 {
		// Not changed files: their data was lost from the repository
		// (repair packs), and this backup stored it again.
		its := "their"
		if s.FilesReread == 1 {
			its = "its"
		}
		fmt.Fprintf(w, "             %s read again because %s data was missing from the repository (not changed)\n", plural(int(s.FilesReread), "file"), its)
	}
	fmt.Fprintf(w, "Dirs:        %d new, %d changed, %d unmodified\n", s.DirsNew, s.DirsChanged, s.DirsUnmodified)
	fmt.Fprintf(w, "Read:        %s of %s in %s\n", units.FormatBytes(int64(s.BytesRead)), units.FormatBytes(int64(s.TotalBytesProcessed)), plural(int(s.TotalFilesProcessed), "file"))
	fmt.Fprintf(w, "Added:       %s (%s stored after compression)\n", units.FormatBytes(stats.RawBytes), units.FormatBytes(stats.StoredBytes))
	fmt.Fprintf(w, "snapshot %s saved in %s\n", sn.ID().Short(), d.Round(10*time.Millisecond))
}

func (e *env) printJSONLine(v any) error {
	return jsonLine(e.stdout, v)
}
