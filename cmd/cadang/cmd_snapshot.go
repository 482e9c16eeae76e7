package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/walker"
)

func snapshotCommands() []*cli.Command {
	return []*cli.Command{backupCommand(), restoreCommand(), snapshotsCommand(), lsCommand(), findCommand(),
		diffCommand(), dumpCommand(), checkCommand(), statsCommand(), tagCommand(), forgetCommand()}
}

// filterFlags select snapshots by host, tag and path.
func filterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "host", Aliases: []string{"H"}, Usage: "only snapshots of `HOST` (repeatable)"},
		&cli.StringSliceFlag{Name: "tag", Usage: "only snapshots with all of the comma-separated `TAGS` (repeatable: any of the lists)", Action: nonEmpty("tag")},
		&cli.StringSliceFlag{Name: "path", Usage: "only snapshots that include `PATH` (repeatable)"},
		&cli.StringFlag{Name: "job", Usage: "only snapshots that 'cadang run' made for the SOP job `NAME` (its tag job:NAME)", Action: func(_ *cli.Context, v string) error {
			if strings.TrimSpace(v) == "" || strings.Contains(v, ",") {
				return fmt.Errorf("--job %q: give one job name", v)
			}
			return nil
		}},
	}
}

func filterFromFlags(c *cli.Context) snapshot.Filter {
	f := snapshot.Filter{Hosts: c.StringSlice("host"), Paths: c.StringSlice("path")}
	for _, t := range c.StringSlice("tag") {
		f.Tags = append(f.Tags, strings.Split(t, ","))
	}
	// The SOP tags a job's snapshots job:NAME (and source:NAME); --job is
	// that tag, required beside each --tag list.
	if j := c.String("job"); j != "" {
		jt := "job:" + j
		if len(f.Tags) == 0 {
			f.Tags = [][]string{{jt}}
		}
		for i := range f.Tags {
			f.Tags[i] = append(f.Tags[i], jt)
		}
	}
	return f
}

// splitSnapshotArg splits "ID:SUBPATH" (restic's syntax).
func splitSnapshotArg(s string) (id, sub string) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func (e *env) findSnapshot(ctx context.Context, r snapshot.FileLoader, arg string, f snapshot.Filter) (*snapshot.Snapshot, error) {
	// An unreadable snapshot file may be the newest: "latest" is then not
	// known, and restoring, tagging or protecting an older snapshot in
	// its place would be the wrong one without a word. Its ID is. A
	// foreign file (its bytes as saved, its seal not this repository's)
	// was never a snapshot here, so it cannot be the newest: junk uploaded
	// through an append-only server must not stop 'restore latest'. Nor
	// must a file too large to be a snapshot (snapshot.Passed).
	var skipped []error
	sn, err := snapshot.FindSnapshotSkipping(ctx, r, arg, f, snapshot.PassUnreadable(func(id repo.ID, err error) {
		if snapshot.Passed(err) {
			e.warnf("snapshot file %s is passed over: %s", id.Short(), snapshot.PassedWhy(err))
			return
		}
		skipped = append(skipped, err)
	}))
	if err == nil && len(skipped) > 0 {
		err = fmt.Errorf("the latest snapshot is not known: %d snapshot file(s) cannot be read, and one may be newer than %s: give the snapshot's ID instead ('%s' lists the readable ones; 'cadang check' names every damaged file): %w",
			len(skipped), sn.ID().Short(), e.snapshotsCmd(), errors.Join(skipped...))
	}
	switch {
	case err == nil:
		return sn, nil
	case arg == "latest" && errors.Is(err, snapshot.ErrNoSnapshot) && len(f.Hosts)+len(f.Tags)+len(f.Paths) > 0:
		err = fmt.Errorf("snapshot \"latest\": %w for %s ('%s' lists the snapshots)", err, filterText(f), e.snapshotsCmd())
		// A mistyped --tag, --host or --path, as a mistyped ID: not a
		// failed run, where the repository holds snapshots at all.
		if hasSnapshots(ctx, r) {
			return nil, soprun.NotARun(err)
		}
		return nil, err
	case arg != "latest" && errors.Is(err, snapshot.ErrNoSnapshot):
		// Mistyped, or gone: a forgotten one says when it went.
		at, forgotten := forgottenPrefix(ctx, r, arg)
		if forgotten {
			err = fmt.Errorf("%w; a snapshot with that ID was forgotten on %s ('%s --forgotten' lists what the retention removed, '%s' what is there)", err, e.timeText(at), e.snapshotsCmd(), e.snapshotsCmd())
		} else {
			err = fmt.Errorf("%w ('%s' lists the snapshots)", err, e.snapshotsCmd())
		}
		// A whole ID was pasted from a record or a report, not typed:
		// its snapshot is gone, which the run log keeps (as it does
		// when the repository holds no snapshot at all).
		if !forgotten && (len(arg) == 2*len(repo.ID{}) || !hasSnapshots(ctx, r)) {
			return nil, err
		}
		return nil, soprun.NotARun(err)
	case errors.Is(err, snapshot.ErrInvalidID), errors.Is(err, snapshot.ErrAmbiguous):
		// A mistake in the argument, not a failure of the backups: a
		// recorded command (restore, copy) records no failed run for it.
		// The error names the argument already.
		return nil, soprun.NotARun(e.listAmbiguous(ctx, r, err))
	}
	return nil, fmt.Errorf("snapshot %q: %w", arg, err)
}

// readSnapshot is findSnapshot for the commands that only read a snapshot
// (restore, ls, dump, diff, stats, copy's source): an ID of 8 hex digits
// or more that names no snapshot here may name the original of one, since
// every medium gives a copied snapshot an ID of its own (check's advice
// names the original for another medium). That snapshot is used, with a
// note on stderr. The commands that change or remove a snapshot (forget,
// protect, tag) keep to findSnapshot: a mistyped forget must not remove
// another snapshot.
func (e *env) readSnapshot(ctx context.Context, r snapshot.FileLoader, arg string, f snapshot.Filter) (*snapshot.Snapshot, error) {
	sn, byOriginal, err := e.findSnapshotOrCopy(ctx, r, arg, f)
	if byOriginal {
		e.logf("note: snapshot %s here is the copy of %s", sn.ID().Short(), sn.Original.Short())
	}
	return sn, err
}

// findSnapshotOrCopy is readSnapshot without its note: byOriginal says
// that arg named the original of the snapshot returned.
func (e *env) findSnapshotOrCopy(ctx context.Context, r snapshot.FileLoader, arg string, f snapshot.Filter) (sn *snapshot.Snapshot, byOriginal bool, err error) {
	sn, err = e.findSnapshot(ctx, r, arg, f)
	if err == nil || arg == "latest" || !errors.Is(err, snapshot.ErrNoSnapshot) {
		return sn, false, err
	}
	byOrig, oerr := e.snapshotByOriginal(ctx, r, arg, f)
	if oerr != nil {
		return nil, false, oerr
	}
	if byOrig == nil {
		return nil, false, err
	}
	return byOrig, true, nil
}

// snapshotIDError is the error of snapshot.FindSnapshotID for arg: its
// own errors for a mistyped, ambiguous or unknown ID name the ID already
// (wrapping them again named it twice); other errors get arg in front.
func (e *env) snapshotIDError(ctx context.Context, r snapshot.FileLoader, arg string, err error) error {
	switch {
	case errors.Is(err, snapshot.ErrNoSnapshot):
		return fmt.Errorf("%w ('%s' lists the snapshots)", err, e.snapshotsCmd())
	case errors.Is(err, snapshot.ErrAmbiguous):
		return e.listAmbiguous(ctx, r, err)
	case errors.Is(err, snapshot.ErrInvalidID):
		return err
	}
	return fmt.Errorf("snapshot %q: %w", arg, err)
}

// ambiguousShown is how many of the snapshots an ambiguous prefix matches
// are listed: enough to choose from; a prefix matching more is too short
// to have been meant for one.
const ambiguousShown = 10

// listAmbiguous adds to a snapshot.AmbiguousError the snapshots it
// matches, a line each (ID, time, host, paths, tags), so that the
// administrator can choose one without another command. Other errors are
// returned as they are.
func (e *env) listAmbiguous(ctx context.Context, r snapshot.FileLoader, err error) error {
	var ae *snapshot.AmbiguousError
	if !errors.As(err, &ae) {
		return err
	}
	digits := distinctDigits(ae.Matches)
	lines := make([]string, 0, ambiguousShown+1)
	for i, id := range ae.Matches {
		if i == ambiguousShown {
			lines = append(lines, fmt.Sprintf("... and %d more", len(ae.Matches)-ambiguousShown))
			break
		}
		lines = append(lines, e.ambiguousLine(ctx, r, id, digits))
	}
	return fmt.Errorf("%w:\n%s", err, strings.Join(lines, "\n"))
}

// ambiguousLine describes one snapshot an ambiguous prefix matches, its
// ID cut to digits hex digits.
func (e *env) ambiguousLine(ctx context.Context, r snapshot.FileLoader, id repo.ID, digits int) string {
	short := id.String()[:digits]
	sn, err := snapshot.LoadSnapshot(ctx, r, id)
	if err != nil {
		// Still a candidate: 'cadang check' tells what is wrong with it.
		return fmt.Sprintf("%s  (cannot be read: %s)", short, cellText(err.Error()))
	}
	line := fmt.Sprintf("%s  %s  %s  %s", short, e.timeText(sn.Time), cellText(sn.Hostname), cellText(strings.Join(sn.Paths, " ")))
	if len(sn.Tags) > 0 {
		line += "  [" + cellText(strings.Join(sn.Tags, ",")) + "]"
	}
	return line
}

// distinctDigits is how many leading hex digits tell the IDs (sorted)
// apart: at least the 8 that listings show.
func distinctDigits(ids []repo.ID) int {
	n := 8
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1].String(), ids[i].String()
		common := 0
		for common < len(a) && a[common] == b[common] {
			common++
		}
		n = max(n, min(common+1, len(a)))
	}
	return n
}

// latestOfJob checks "latest" (found: latest) for a restore of sub (""
// for the whole snapshot). When it is a job's snapshot (tagged job:NAME by
// cadang run, or chosen with --job) and that job's snapshots under f are
// of several sources, the newest is only one of them: cadang run saves one
// snapshot per source (the database dump, the upload directory), and
// restoring it alone after a server was lost would leave the others out
// without a word. Only the sources the configuration names count (when it
// names the job). With a sub, the newest of the sources' latest snapshots
// that holds it is the one; otherwise "latest" is refused, naming each
// source's latest: a mistake in the arguments, not a failed run.
func (e *env) latestOfJob(ctx context.Context, r snapshot.FileLoader, latest *snapshot.Snapshot, f snapshot.Filter, sub string) (*snapshot.Snapshot, error) {
	for _, list := range f.Tags {
		if slices.ContainsFunc(list, func(t string) bool { return strings.HasPrefix(t, soprun.TagSource) }) {
			return latest, nil // a source is named
		}
	}
	_, job := splitJob(f.Tags)
	if job == "" {
		for _, t := range latest.Tags {
			if name, ok := strings.CutPrefix(t, soprun.TagJob); ok {
				job = name
			}
		}
		if job == "" {
			return latest, nil // not a job's snapshot
		}
		// The same filter, narrowed to that job (as --job would).
		jt := soprun.TagJob + job
		tags := [][]string{{jt}}
		if len(f.Tags) > 0 {
			tags = make([][]string, len(f.Tags))
			for i, list := range f.Tags {
				tags[i] = append(slices.Clone(list), jt)
			}
		}
		f.Tags = tags
	}
	sns, err := snapshot.ListSnapshotsSkipping(ctx, r, f, snapshot.PassUnreadable(func(repo.ID, error) {}))
	if err != nil {
		return latest, nil // findSnapshot's own listing worked; this is only a check
	}
	newest := map[string]*snapshot.Snapshot{}
	var sources []string
	for _, sn := range sns {
		src := ""
		for _, t := range sn.Tags {
			if name, ok := strings.CutPrefix(t, soprun.TagSource); ok {
				src = name
			}
		}
		if old, ok := newest[src]; !ok {
			sources = append(sources, src)
			newest[src] = sn
		} else if sn.Time.After(old.Time) {
			newest[src] = sn
		}
	}
	// A source the configuration no longer has (renamed, removed) keeps
	// its old snapshots, which the job's retention does not touch: only
	// the configured sources are the job's now.
	if st, err := e.loadSOPForRecords(); err == nil {
		if j, err := st.cfg.Job(job); err == nil {
			configured := map[string]bool{}
			for _, src := range j.Sources {
				configured[soprun.SourceName(src)] = true
			}
			if n := slices.DeleteFunc(slices.Clone(sources), func(s string) bool { return !configured[s] }); len(n) > 0 {
				sources = n
			}
		}
	}
	switch len(sources) {
	case 0:
		return latest, nil
	case 1:
		return newest[sources[0]], nil // the newest of the one source configured
	}
	slices.Sort(sources)
	if sub != "" {
		// The newest snapshot of the sources that hold sub.
		var pick *snapshot.Snapshot
		for _, src := range sources {
			sn := newest[src]
			if slices.ContainsFunc(sn.Paths, func(p string) bool { return pathWithin(sub, p) }) && (pick == nil || sn.Time.After(pick.Time)) {
				pick = sn
			}
		}
		if pick != nil {
			return pick, nil
		}
	}
	var each []string
	for _, src := range sources {
		sn := newest[src]
		name := src
		if name == "" {
			name = "no source tag"
		}
		each = append(each, fmt.Sprintf("%s: %s (%s)", name, sn.ID().Short(), e.timeText(sn.Time)))
	}
	return nil, soprun.NotARun(fmt.Errorf("snapshot \"latest\" of job %s is one of %d: the job saves a snapshot per source, and the latest of each is %s; give the ID of the one you mean (to restore them all, one command each), or add --tag %sNAME",
		cellText(job), len(sources), strings.Join(each, ", "), soprun.TagSource))
}

// pathWithin reports whether the slash path p is dir or below it.
func pathWithin(p, dir string) bool {
	p, dir = path.Clean("/"+p), path.Clean("/"+dir)
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// snapshotsCmd is the command that lists the snapshots findSnapshot looks
// in, for its hints: copy looks in the source (snapshotsIn).
func (e *env) snapshotsCmd() string {
	if e.snapshotsIn != "" {
		return "cadang -r " + e.snapshotsIn + " snapshots"
	}
	// The repository typed (or set in the environment): the command is
	// then one to paste, also on a machine with several media.
	if loc := e.c.String("repo"); loc != "" && !strings.ContainsAny(loc, " '\"$`\\") {
		return "cadang -r " + location.Redact(loc) + " snapshots"
	}
	return "cadang snapshots"
}

// hasSnapshots tells whether the repository lists any snapshot file (true
// when it cannot tell).
func hasSnapshots(ctx context.Context, r snapshot.FileLoader) bool {
	errFound := errors.New("found")
	return r.ListFiles(ctx, repo.SnapshotFile, func(repo.ID) error { return errFound }) != nil
}

// filterText writes f as the flags that gave it.
func filterText(f snapshot.Filter) string {
	var parts []string
	for _, h := range f.Hosts {
		parts = append(parts, "--host "+h)
	}
	tags, job := splitJob(f.Tags)
	for _, t := range tags {
		parts = append(parts, "--tag "+strings.Join(t, ","))
	}
	if job != "" {
		parts = append(parts, "--job "+job)
	}
	for _, p := range f.Paths {
		parts = append(parts, "--path "+p)
	}
	return cellText(strings.Join(parts, " "))
}

// splitJob undoes filterFromFlags's --job: when every tag list ends in the
// same job:NAME tag, it returns the lists without it (none for a list
// that held only it) and NAME.
func splitJob(tags [][]string) ([][]string, string) {
	if len(tags) == 0 || len(tags[0]) == 0 {
		return tags, ""
	}
	last := tags[0][len(tags[0])-1]
	if !strings.HasPrefix(last, "job:") {
		return tags, ""
	}
	var rest [][]string
	for _, t := range tags {
		if len(t) == 0 || t[len(t)-1] != last {
			return tags, ""
		}
		if len(t) > 1 {
			rest = append(rest, t[:len(t)-1])
		}
	}
	return rest, strings.TrimPrefix(last, "job:")
}

// notInSnapshot says which snapshot a path was looked for in, when err is
// that it is not there ("latest" may not be the snapshot one thinks): a
// mistake in the argument, which a recorded restore does not record as a
// failed run. Other errors are returned as they are.
func (e *env) notInSnapshot(sn *snapshot.Snapshot, err error) error {
	if !errors.Is(err, snapshot.ErrNotFound) {
		return err
	}
	return soprun.NotARun(fmt.Errorf("%w %s (%s, paths %s; 'cadang ls %s' lists what it holds)", err, sn.ID().Short(), e.timeText(sn.Time), cellText(strings.Join(sn.Paths, " ")), sn.ID().Short()))
}

// forgottenPrefix tells whether the repository's retention forgot a
// snapshot whose ID begins with prefix, and when (the latest such).
func forgottenPrefix(ctx context.Context, r snapshot.FileLoader, prefix string) (time.Time, bool) {
	set, err := snapshot.ForgottenOriginals(ctx, r, nil)
	if err != nil {
		return time.Time{}, false
	}
	var at time.Time
	found := false
	for _, x := range set.Entries() {
		if strings.HasPrefix(x.ID.String(), strings.ToLower(prefix)) && (!found || x.Time.After(at)) {
			at, found = x.Time, true
		}
	}
	return at, found
}

// listSnapshots lists the snapshots that match f, passing over (with a
// warning) a snapshot file that cannot be read (snapshot.IsUnreadable):
// one damaged file, or one a client of an append-only server added, must
// not hide every other snapshot. Prune lists strictly
// (snapshot.ListSnapshots): it must not delete what an unreadable
// snapshot may need.
func (e *env) listSnapshots(ctx context.Context, r snapshot.FileLoader, f snapshot.Filter) ([]*snapshot.Snapshot, error) {
	return snapshot.ListSnapshotsSkipping(ctx, r, f, e.passUnreadable())
}

// passUnreadable is the bad function of snapshot.ListSnapshotsSkipping
// for the listings of the everyday commands: it warns of an unreadable
// file and goes on; any other error (the repository could not be reached)
// stops the listing.
func (e *env) passUnreadable() func(repo.ID, error) error {
	return snapshot.PassUnreadable(func(id repo.ID, err error) {
		e.warnf("snapshot %s cannot be read and is left out: %v ('cadang check' names every damaged file)", id.Short(), err)
	})
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a snapshot (or part of it) into a directory",
		ArgsUsage: "SNAPSHOT[:SUBPATH]",
		Description: `Restores files into --target. SNAPSHOT is an ID (prefix) or "latest" (filtered by --host, --tag, --path).
A file backed up from /srv/spse/x is restored to TARGET/srv/spse/x; with :SUBPATH only that part is restored
and a directory's contents go directly into TARGET.

Owners are restored when run as root (not with --no-owner); modes, times, xattrs, symlinks, hardlinks and
sparse files always. Without owners, setuid and setgid bits are dropped (as tar does), and the files that
lost one are named (20, then a count). Root in a user namespace (a rootless container) restores the owners
the namespace maps; each entry whose owner it does not map is an error (exit 3) naming that owner, and loses
setuid and setgid; --no-owner there restores no owner, without those errors. --no-devices leaves out device nodes (listed); --xattr-include/--xattr-exclude PATTERN
choose extended attributes by name (e.g. --xattr-exclude security.capability). Nothing is written outside --target: a symlink found in the
target is never followed (with --overwrite always or if-changed one in the way of a directory is replaced).
If some files cannot be restored (a damaged blob, a directory in the way of a file), the others are
restored, each failed one is listed once with its cause (NOT RESTORED: PATH: why; with --json, in the summary), and the exit code is 3 (1 when nothing was restored); the last line counts the errors by cause. After 50
files in a row on one file system failed because it is full or read-only, the restore stops writing
to that file system and lists the files it did not try (NOT TRIED).`,
		Flags: append(filterFlags(),
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "restore into `DIR`", Required: true},
			&cli.StringSliceFlag{Name: "include", Aliases: []string{"i"}, Usage: "restore only paths matching `PATTERN` (repeatable)"},
			&cli.StringSliceFlag{Name: "exclude", Aliases: []string{"e"}, Usage: "do not restore paths matching `PATTERN` (repeatable)"},
			&cli.StringFlag{Name: "overwrite", Value: "always", Usage: "existing files: always, if-changed (keeps a file of the snapshot's size, modification time and restored owner without reading it; --verify reads it) or never"},
			&cli.BoolFlag{Name: "verify", Usage: "read every restored file back and check its content (with --overwrite if-changed, every kept file too)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be restored; write nothing"},
			&cli.BoolFlag{Name: "no-owner", Usage: "do not restore owners (nor setuid/setgid bits)"},
			&cli.BoolFlag{Name: "no-devices", Usage: "do not restore device nodes (they are listed)"},
			&cli.StringSliceFlag{Name: "xattr-include", Usage: "restore only extended attributes matching `PATTERN` (repeatable; default all)"},
			&cli.StringSliceFlag{Name: "xattr-exclude", Usage: "do not restore extended attributes matching `PATTERN` (repeatable)"},
			&cli.Uint64Flag{Name: "max-nodes", Value: restorer.DefaultMaxNodes, Usage: "refuse a snapshot that expands to more than `N` entries"},
			&cli.StringFlag{Name: "requested-by", Usage: "SOP: `NAME` of who asked for this restore (records the restore request, and protects the snapshot for the job's protect_before_change, 90 days by default)"},
			&cli.StringFlag{Name: "reason", Usage: "SOP: why the restore was requested"},
			&cli.StringFlag{Name: "request-id", Usage: "SOP: the request form's `ID`"},
			&cli.StringFlag{Name: "requester-position", Usage: "SOP: the requester's position (jabatan), in `TEXT`, for the request form and the minutes"},
			&cli.StringFlag{Name: "requester-unit", Usage: "SOP: the requester's unit (unit kerja), in `TEXT`, for the request form and the minutes"},
			&cli.StringFlag{Name: "requested-on", Usage: "SOP: the `YYYY-MM-DD` of the request (default: the day of the restore); the request form is dated and signed with it"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore: give exactly one SNAPSHOT[:SUBPATH]")
			}
			mode, err := restorer.ParseOverwriteMode(c.String("overwrite"))
			if err != nil {
				return fmt.Errorf("--overwrite: %w", err)
			}
			if err := checkTarget(c.String("target")); err != nil {
				return err
			}
			o := restoreOptions{
				Snapshot: c.Args().First(), Filter: filterFromFlags(c), Target: c.String("target"),
				Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude"), Overwrite: mode,
				Verify: c.Bool("verify"), DryRun: c.Bool("dry-run"),
				NoOwner: c.Bool("no-owner"), NoDevices: c.Bool("no-devices"), MaxNodes: c.Uint64("max-nodes"),
				XattrInclude: c.StringSlice("xattr-include"), XattrExclude: c.StringSlice("xattr-exclude"),
				RequestedBy: c.String("requested-by"), Reason: c.String("reason"), RequestID: c.String("request-id"),
				RequesterPosition: c.String("requester-position"), RequesterUnit: c.String("requester-unit"),
			}
			if s := c.String("requested-on"); s != "" {
				if o.RequestedOn, err = time.ParseInLocation(time.DateOnly, s, e.orgZone()); err != nil {
					return fmt.Errorf("--requested-on %q: want YYYY-MM-DD", s)
				}
			}
			if o.DryRun { // not a restore: nothing to record
				_, err = runRestore(c.Context, e, o)
				return err
			}
			return e.recorded(c.Context, runlog.OpRestore, func(ctx context.Context, rec *runlog.Record) error {
				res, err := runRestore(ctx, e, o)
				recordRestore(rec, o, res, err)
				return err
			})
		},
	}
}

type restoreOptions struct {
	Snapshot  string
	Filter    snapshot.Filter
	Target    string
	Include   []string
	Exclude   []string
	Overwrite restorer.OverwriteMode
	Verify    bool
	DryRun    bool
	NoOwner   bool
	NoDevices bool
	MaxNodes  uint64
	// XattrInclude and XattrExclude are restorer.Restorer's patterns.
	XattrInclude []string
	XattrExclude []string
	RequestedBy  string
	Reason       string
	RequestID    string
	// RequesterPosition, RequesterUnit and RequestedOn (the day of the
	// request, zero when not given) go into the record for the request
	// form and the minutes.
	RequesterPosition string
	RequesterUnit     string
	RequestedOn       time.Time
}

// restoreResult is what `restore --json` prints last.
type restoreResult struct {
	MessageType   string `json:"message_type"` // "summary"
	SnapshotID    string `json:"snapshot_id"`
	Target        string `json:"target"`
	FilesRestored uint64 `json:"files_restored"`
	DirsRestored  uint64 `json:"dirs_restored"`
	// OthersRestored are the symlinks, FIFOs and device nodes made.
	OthersRestored uint64 `json:"others_restored,omitempty"`
	FilesSkipped   uint64 `json:"files_skipped"`
	// KeptMetadataSet are the skipped files (--overwrite if-changed) given
	// the snapshot's mode or extended attributes.
	KeptMetadataSet uint64 `json:"files_kept_metadata_set,omitempty"`
	FilesReplaced   uint64 `json:"files_replaced"`
	Hardlinks       uint64 `json:"hardlinks"`
	// HardlinkCopies are hardlinks written as files of their own (counted
	// in FilesRestored too); HardlinkCopyNotes names 20 of them at most, and why.
	HardlinkCopies    uint64               `json:"hardlink_copies,omitempty"`
	HardlinkCopyNotes []snapshot.ItemError `json:"hardlink_copy_notes,omitempty"`
	FilesVerified     uint64               `json:"files_verified"`
	BytesRestored     uint64               `json:"bytes_restored"`
	BytesWritten      uint64               `json:"bytes_written"`
	FailedFiles       []string             `json:"failed_files,omitempty"`
	// SkippedDevices are the device nodes left out by --no-devices, as
	// paths in the snapshot (they are not in the target), like the paths
	// of FailedFiles and Errors; SetIDDroppedPaths alone are target
	// paths, the files to chmod there.
	SkippedDevices []string             `json:"skipped_devices,omitempty"`
	Errors         []snapshot.ItemError `json:"errors,omitempty"`
	TotalDuration  float64              `json:"total_duration"`
	DryRun         bool                 `json:"dry_run,omitempty"`
	// Interrupted: the restore was stopped while it wrote;
	// FilesRestored and BytesRestored are then the files complete in
	// the target (the other counts are not filled in).
	Interrupted bool `json:"interrupted,omitempty"`
	// KeptVerifiedCount are the kept files (--overwrite if-changed
	// --verify) read back and found to be the snapshot's.
	KeptVerifiedCount uint64 `json:"files_kept_verified,omitempty"`
	// SetIDDropped are the files restored without a setuid or setgid bit
	// of the snapshot's, their owner not restored; SetIDDroppedPaths names
	// 20 of them at most, as paths in the target.
	SetIDDropped      uint64   `json:"setid_dropped,omitempty"`
	SetIDDroppedPaths []string `json:"setid_dropped_paths,omitempty"`

	// FilesNotTried: the restore stopped writing to a file system of the
	// target once it refused many files in a row (full, read-only); the
	// files whose directory is on it were then not tried, and
	// NotTriedFiles names them (paths in the snapshot). They could not
	// be restored, as FailedFiles could not.
	FilesNotTried uint64   `json:"files_not_tried,omitempty"`
	NotTriedFiles []string `json:"not_tried_files,omitempty"`
	// FilesNotRestored are the files that could not be restored, those
	// of FailedFiles and the files not tried: the count the closing line
	// gives (filesNotRestored).
	FilesNotRestored int `json:"files_not_restored"`
	// for the run-log record
	snapshotTime  time.Time
	snapshotPaths []string
	keptSame      uint64 // kept symlinks and FIFOs found the snapshot's (RestoreSummary.KeptSame)
	setIDWhy      string // why SetIDDropped: the owner was not restored
	damaged       uint64 // failures the repository's data caused (RestoreSummary.Damaged)
	otherErrors   uint64 // errors about symlinks, FIFOs and devices alone (RestoreSummary.OtherErrors)
	causes        []restorer.Cause
	stoppedBy     syscall.Errno // why the restore stopped writing (RestoreSummary.StoppedBy)
	entries       uint64        // the entries other than directories it was to make (RestoreSummary.Entries)
	failedDirs    uint64        // directories that could not be made, each with its error (RestoreSummary.FailedDirs)
}

func runRestore(ctx context.Context, e *env, o restoreOptions) (*restoreResult, error) {
	var res *restoreResult
	err := e.withRepo(ctx, false, func(r *repo.Repository) error {
		id, sub := splitSnapshotArg(o.Snapshot)
		sn, err := e.readSnapshot(ctx, r, id, o.Filter)
		if err == nil && id == "latest" {
			sn, err = e.latestOfJob(ctx, r, sn, o.Filter, sub)
		}
		if err != nil {
			return err
		}
		counter := ui.NewCounter(e.progressWriter(), ui.ChooseMode(e.progressWriter(), e.json, e.quiet), "restore")
		rs := &restorer.Restorer{Repo: r, Include: o.Include, Exclude: o.Exclude, Overwrite: o.Overwrite,
			Verify: o.Verify, DryRun: o.DryRun, NoOwner: o.NoOwner, NoDevices: o.NoDevices, MaxNodes: o.MaxNodes,
			XattrInclude: o.XattrInclude, XattrExclude: o.XattrExclude, Progress: ui.Restore{Counter: counter},
			Leftover: e.reportLeftover, Warn: func(err error) { e.warnf("%s", cellText(err.Error())) }}
		sum, rerr := rs.Restore(ctx, sn, sub, o.Target)
		counter.Done()
		if errors.Is(rerr, context.Canceled) && !errors.Is(rerr, restorer.ErrNothingWritten) && !o.DryRun && !fdClosed(2) {
			// At 3 a.m. "interrupted" alone does not say what is in the
			// target, nor how to finish (also when only the reader of
			// stdout went away: stderr may be a terminal). Judged by the
			// restore's own end, not the context's state later: an
			// interrupt while the summary is printed is no partial tree.
			printRestoreInterrupted(e, o)
		}
		if sum == nil {
			return e.notInSnapshot(sn, targetError(rerr))
		}
		res = &restoreResult{MessageType: "summary", SnapshotID: sn.ID().String(), Target: o.Target,
			FilesRestored: sum.Files, DirsRestored: sum.Dirs, OthersRestored: sum.Others, FilesSkipped: sum.Skipped, KeptMetadataSet: sum.KeptMetadata, FilesReplaced: sum.Replaced, Hardlinks: sum.Links, FilesVerified: sum.Verified,
			HardlinkCopies: sum.LinkCopies, HardlinkCopyNotes: sum.LinkCopyNotes,
			BytesRestored: sum.Bytes, BytesWritten: sum.Written, FailedFiles: sum.FailedFiles, SkippedDevices: sum.SkippedDevices, Errors: sum.Errors,
			TotalDuration: sum.End.Sub(sum.Start).Seconds(), DryRun: o.DryRun,
			snapshotTime: sn.Time, snapshotPaths: sn.Paths, KeptVerifiedCount: sum.KeptVerified, keptSame: sum.KeptSame,
			Interrupted: sum.Interrupted, SetIDDropped: sum.SetIDDropped, SetIDDroppedPaths: sum.SetIDDroppedPaths, damaged: sum.Damaged, otherErrors: sum.OtherErrors,
			FilesNotTried: sum.NotTried, NotTriedFiles: sum.NotTriedFiles, causes: sum.Causes, stoppedBy: sum.StoppedBy, entries: sum.Entries,
			failedDirs: sum.FailedDirs}
		res.FilesNotRestored = filesNotRestored(res)
		if sum.SetIDDropped > 0 {
			// Why, for the warning: the fix differs (sudo, or no --no-owner).
			switch {
			case os.Geteuid() != 0:
				res.setIDWhy = "not run as root"
			case o.NoOwner:
				res.setIDWhy = "--no-owner"
			default:
				res.setIDWhy = "its owner could not be set"
			}
		}
		if sum.Interrupted {
			// printRestoreInterrupted said it on the terminal; --json
			// gets the summary of what is complete, and the record
			// says it in its note (recordRestore).
			if e.json {
				printRestoreSummary(e, sn, res)
			} else {
				// What failed before the interrupt: the progress prints
				// no error as it comes (each is listed once, at the end),
				// so this is the only place the terminal shows them.
				for _, line := range restoreErrorLines(res) {
					fmt.Fprintln(e.stderr, cellText(line))
				}
			}
			return runlog.Noted(rerr)
		}
		printRestoreSummary(e, sn, res)
		if errors.Is(rerr, restorer.ErrRestoreIncomplete) {
			listed := "listed above"
			if e.json {
				listed = "listed in the JSON summary"
			}
			return incompleteError(res, o, listed)
		}
		return rerr
	})
	return res, err
}

// reportLeftover says on stderr (even with --quiet: the target held files
// no one asked for) what a restore killed earlier had left in the target,
// and whether this restore removed it.
func (e *env) reportLeftover(l restorer.Leftover) {
	who := fmt.Sprintf("a restore that was killed (process %d on %s)", l.PID, cellText(l.Host))
	if l.Err != nil {
		e.warnf("%s: left by %s, and not removed: %s", cellText(l.Path), who, cellText(l.Err.Error()))
		return
	}
	e.warnf("%s: removed, left by %s", cellText(l.Path), who)
}

// printRestoreInterrupted says what an interrupted restore left in the
// target and how to finish it.
func printRestoreInterrupted(e *env, o restoreOptions) {
	finish := "the same restore with --overwrite if-changed finishes it, passing over the files already restored (a file of the same size and time is taken as restored)"
	if o.Overwrite == restorer.OverwriteNever {
		finish = "the same restore with --overwrite never finishes it, keeping every file already there"
	}
	fmt.Fprintf(e.stderr, "restore interrupted: %s holds the files restored so far (a file left unfinished was removed, and a file it was to replace is as it was); %s; until then its directories keep mode 0700\n", cellText(o.Target), finish)
}

func printRestoreSummary(e *env, sn *snapshot.Snapshot, res *restoreResult) {
	if e.json {
		_ = e.printJSONLine(res)
		return
	}
	// One line each, whatever a file's name holds (cellText), and each
	// file not restored once: in its NOT RESTORED line, with its cause.
	for _, line := range restoreErrorLines(res) {
		fmt.Fprintln(e.stderr, cellText(line))
	}
	for _, f := range res.NotTriedFiles {
		fmt.Fprintf(e.stderr, "NOT TRIED: %s\n", cellText(f))
	}
	for _, f := range res.SkippedDevices {
		fmt.Fprintf(e.stderr, "device not restored (--no-devices): %s\n", cellText(f))
	}
	// Not errors (the content is the snapshot's), but the tree differs
	// from the source: said even with --quiet.
	would := ""
	if res.DryRun {
		would = "would be "
	}
	for _, n := range res.HardlinkCopyNotes {
		e.warnf("%s: %swritten as a file of its own, not as a hardlink: %s", cellText(n.Path), would, cellText(n.Error))
	}
	if more := res.HardlinkCopies - uint64(len(res.HardlinkCopyNotes)); more > 0 {
		e.warnf("%s more %swritten as files of their own, not as hardlinks", plural(int(more), "hardlink"), would)
	}
	// A program that needs its setuid bit (sudo, ping) fails only when it
	// is run, long after the restore said it went well.
	for _, p := range res.SetIDDroppedPaths {
		e.warnf("%s: %srestored without its setuid/setgid bit: its owner was not restored (%s)", cellText(p), would, res.setIDWhy)
	}
	if more := res.SetIDDropped - uint64(len(res.SetIDDroppedPaths)); more > 0 {
		e.warnf("%s more %srestored without their setuid/setgid bits (%s)", plural(int(more), "file"), would, res.setIDWhy)
	}
	if res.SetIDDropped > 0 && res.setIDWhy != "its owner could not be set" {
		e.warnf("to keep setuid/setgid bits, restore as root without --no-owner")
	}
	if e.quiet {
		return
	}
	verb := "restored"
	if res.DryRun {
		verb = "would restore"
	}
	links := ""
	if res.Hardlinks > 0 {
		links = ", " + plural(int(res.Hardlinks), "hardlink")
	}
	if res.HardlinkCopies > 0 {
		as := "a copy"
		if res.HardlinkCopies > 1 {
			as = "copies"
		}
		links += fmt.Sprintf(", %s written as %s", plural(int(res.HardlinkCopies), "hardlink"), as)
	}
	if n := res.OthersRestored; n > 0 {
		what := "symlink, FIFO or device node"
		if n > 1 {
			what = "symlinks, FIFOs or device nodes"
		}
		links += fmt.Sprintf(", %d %s", n, what)
	}
	fmt.Fprintf(e.stdout, "%s snapshot %s (%s) to %s: %s, %s%s, %s",
		verb, sn.ID().Short(), e.timeText(sn.Time), res.Target, plural(int(res.FilesRestored), "file"), plural(int(res.DirsRestored), "dir"), links,
		units.FormatBytes(int64(res.BytesRestored)))
	if !res.DryRun {
		// A dry run's time says nothing of the restore's, which reads
		// and writes the data: it is not given, lest it be taken for it.
		fmt.Fprintf(e.stdout, " in %.1fs", res.TotalDuration)
	}
	if res.FilesSkipped > 0 {
		fmt.Fprintf(e.stdout, ", %s kept", existingEntries(res.FilesSkipped))
		var notes []string
		if res.KeptVerifiedCount > 0 {
			notes = append(notes, fmt.Sprintf("%d read back and found the snapshot's", res.KeptVerifiedCount))
		}
		if res.KeptMetadataSet > 0 {
			notes = append(notes, fmt.Sprintf("%d given the snapshot's mode or extended attributes", res.KeptMetadataSet))
		}
		if len(notes) > 0 {
			fmt.Fprintf(e.stdout, " (%s)", strings.Join(notes, "; "))
		}
	}
	if res.FilesReplaced > 0 {
		what := "replaced"
		if res.DryRun {
			what = "would be replaced"
		}
		fmt.Fprintf(e.stdout, ", %s %s", existingEntries(res.FilesReplaced), what)
	}
	if res.FilesVerified > 0 {
		fmt.Fprintf(e.stdout, ", %d verified", res.FilesVerified)
	}
	if n := len(res.SkippedDevices); n > 0 {
		fmt.Fprintf(e.stdout, ", %d device nodes left out", n)
	}
	if res.DryRun {
		fmt.Fprint(e.stdout, " (dry run: nothing was written)")
	}
	fmt.Fprintln(e.stdout)
}

func snapshotsCommand() *cli.Command {
	return &cli.Command{
		Name:  "snapshots",
		Usage: "list snapshots",
		Flags: append(filterFlags(), &cli.BoolFlag{Name: "latest", Usage: "only the newest snapshot per host and paths"},
			&cli.BoolFlag{Name: "forgotten", Usage: "list instead the snapshots this repository's retention removed, which copies do not bring back (--tag and --job filter them)"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.Bool("forgotten") {
				for _, f := range []string{"host", "path", "latest"} {
					if c.IsSet(f) {
						return fmt.Errorf("--forgotten with --%s: a forgotten snapshot's record keeps its ID, original, time and tags, not its host or paths, so neither --host, --path nor --latest applies; filter with --tag or --job", f)
					}
				}
				return e.withRepo(c.Context, false, func(r *repo.Repository) error {
					return e.listForgotten(c.Context, r, filterFromFlags(c))
				})
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				sns, err := e.listSnapshots(c.Context, r, filterFromFlags(c))
				if err != nil {
					return err
				}
				sort.Slice(sns, func(i, j int) bool { return sns[i].Time.Before(sns[j].Time) })
				if c.Bool("latest") {
					sns = latestPerGroup(sns)
				}
				if e.json {
					out := make([]snapshotJSON, len(sns))
					for i, sn := range sns {
						out[i] = snapshotJSON{Snapshot: sn, ID: sn.ID().String(), ShortID: sn.ID().Short()}
					}
					return e.printJSON(out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths\tSize\tReason")
				for _, sn := range sns {
					size := ""
					if sn.Summary != nil {
						size = units.FormatBytes(int64(sn.Summary.TotalBytesProcessed))
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sn.ID().Short(), e.timeText(sn.Time),
						cellText(sn.Hostname), cellText(strings.Join(sn.Tags, ",")), cellText(strings.Join(sn.Paths, " ")), size, cellText(sn.Reason))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s\n", plural(len(sns), "snapshot"))
				return nil
			})
		},
	}
}

// listForgotten prints the records of snapshots that the repository's
// retention removed (snapshot.RecordForgotten), oldest snapshot first.
func (e *env) listForgotten(ctx context.Context, r snapshot.FileLoader, f snapshot.Filter) error {
	set, err := snapshot.ForgottenOriginals(ctx, r, func(id repo.ID, err error) {
		e.warnf("forgotten file %s cannot be read and is left out: %v ('cadang repair forgotten' removes it)", id.Short(), err)
	})
	if err != nil {
		return err
	}
	var es []snapshot.ForgottenSnapshot
	for _, x := range set.Entries() {
		if f.Match(&snapshot.Snapshot{Tags: x.Tags}) {
			es = append(es, x)
		}
	}
	if e.json {
		out := make([]forgottenJSON, len(es))
		for i, x := range es {
			out[i] = forgottenJSON{ID: x.ID.String(), ShortID: x.ID.Short(), Original: x.Original.String(), Tags: x.Tags, Time: x.Taken, Forgotten: x.Time}
		}
		return e.printJSON(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTime\tTags\tForgotten\tOriginal")
	for _, x := range es {
		taken, orig := "", ""
		if !x.Taken.IsZero() {
			taken = e.timeText(x.Taken)
		}
		if x.Original != x.ID {
			orig = x.Original.Short()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.ID.Short(), taken, cellText(strings.Join(x.Tags, ",")), e.timeText(x.Time), orig)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s (a copy into this repository passes over their originals: name one, or use 'cadang copy --include-forgotten', to copy it again)\n", plural(len(es), "forgotten snapshot"))
	return nil
}

// forgottenJSON is a forgotten snapshot as snapshots --forgotten --json
// prints it: time is the snapshot's time, as in snapshots --json (absent
// in records written before it was kept), forgotten when it was removed.
type forgottenJSON struct {
	ID        string    `json:"id"`
	ShortID   string    `json:"short_id"`
	Original  string    `json:"original"`
	Tags      []string  `json:"tags,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	Forgotten time.Time `json:"forgotten"`
}

type snapshotJSON struct {
	*snapshot.Snapshot
	ID      string `json:"id"`
	ShortID string `json:"short_id"`
}

func latestPerGroup(sns []*snapshot.Snapshot) []*snapshot.Snapshot {
	last := map[string]int{}
	for i, sn := range sns {
		last[sn.Hostname+"\x00"+strings.Join(sn.Paths, "\x00")] = i
	}
	var out []*snapshot.Snapshot
	for i, sn := range sns {
		if last[sn.Hostname+"\x00"+strings.Join(sn.Paths, "\x00")] == i {
			out = append(out, sn)
		}
	}
	return out
}

type nodeJSON struct {
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Mode  string    `json:"mode"`
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
	User  string    `json:"user,omitempty"`
	Group string    `json:"group,omitempty"`
	UID   uint32    `json:"uid"`
	GID   uint32    `json:"gid"`
	Link  string    `json:"link_target,omitempty"`
}

func toNodeJSON(p string, n *snapshot.Node) nodeJSON {
	return nodeJSON{Path: p, Type: n.Type.String(), Mode: fmt.Sprintf("%04o", n.Mode), Size: n.Size,
		MTime: n.ModTime, User: n.User, Group: n.Group, UID: n.UID, GID: n.GID, Link: n.LinkTarget}
}

// lsMode renders a node's type and mode as ls -l does, setuid, setgid and
// sticky included: -rwsr-xr-x, drwxrwsr-x, drwxrwxrwt (S and T where the
// execute bit under them is not set).
func lsMode(n *snapshot.Node) string {
	t := map[snapshot.NodeType]byte{snapshot.TypeDir: 'd', snapshot.TypeSymlink: 'l', snapshot.TypeCharDev: 'c',
		snapshot.TypeBlockDev: 'b', snapshot.TypeFIFO: 'p', snapshot.TypeSocket: 's'}[n.Type]
	if t == 0 {
		t = '-'
	}
	b := []byte{t, 'r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'}
	for i := 0; i < 9; i++ {
		if n.Mode&(1<<(8-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special := func(bit uint32, pos int, c byte) {
		if n.Mode&bit == 0 {
			return
		}
		if b[pos] == '-' {
			c -= 'a' - 'A'
		}
		b[pos] = c
	}
	special(0o4000, 3, 's')
	special(0o2000, 6, 's')
	special(0o1000, 9, 't')
	return string(b)
}

func lsLine(e *env, p string, n *snapshot.Node) string {
	owner := n.User
	if owner == "" {
		owner = fmt.Sprint(n.UID)
	}
	group := n.Group
	if group == "" {
		group = fmt.Sprint(n.GID)
	}
	s := fmt.Sprintf("%s %8s %8s %12d %s %s", lsMode(n), quoteName(owner), quoteName(group), n.Size,
		e.timeText(n.ModTime), quoteName(p))
	if n.Type == snapshot.TypeSymlink {
		s += " -> " + quoteName(n.LinkTarget)
	}
	return s
}

// cellText escapes s for one line or one table cell: a value from a
// repository or a file name may hold a newline (which would forge a line),
// a form feed or tab (which tabwriter takes for a row or cell break), or
// escape sequences (ui.Printable).
func cellText(s string) string { return ui.Printable(s, false) }

// quoteName shows names with control characters (newlines in file names)
// unambiguously: such a name, one that would read as holding an escape,
// one that holds " -> " (which ls writes between a link and its target),
// and one that begins with a quote (so that it cannot pass for a quoted
// one) are written as a Go string literal.
func quoteName(s string) string {
	if strings.HasPrefix(s, `"`) || strings.Contains(s, " -> ") || strings.ContainsRune(s, utf8.RuneError) || ui.Printable(s, false) != s {
		return strconv.Quote(s)
	}
	return s
}

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list files in a snapshot",
		ArgsUsage: "SNAPSHOT [PATH]",
		Flags:     append(filterFlags(), &cli.BoolFlag{Name: "recursive", Aliases: []string{"R"}, Value: true, Usage: "list subdirectories too"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() < 1 || c.NArg() > 2 {
				return errors.New("ls: give SNAPSHOT and optionally a PATH")
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				p, f := c.Args().Get(1), filterFromFlags(c)
				sn, err := e.readSnapshot(c.Context, r, c.Args().Get(0), f)
				if err == nil && c.Args().Get(0) == "latest" {
					// Of a job's medium, latest is one source's: the
					// path chooses, or each source's latest is named.
					sn, err = e.latestOfJob(c.Context, r, sn, f, p)
				}
				if err != nil {
					return err
				}
				if p == "" {
					p = "/"
				}
				return e.notInSnapshot(sn, walker.Ls(c.Context, r, sn, p, c.Bool("recursive"), func(p string, n *snapshot.Node) error {
					if e.json {
						return e.printJSONLine(toNodeJSON(p, n))
					}
					_, err := fmt.Fprintln(e.stdout, lsLine(e, p, n))
					return err
				}))
			})
		},
	}
}

func findCommand() *cli.Command {
	return &cli.Command{
		Name:      "find",
		Usage:     "find files matching a pattern in all (or the selected) snapshots",
		ArgsUsage: "PATTERN...",
		Description: `Prints a line per file found, oldest snapshot first: the snapshot's ID and time (when the backup was
taken, in the organisation's time zone as every listing, or UTC with --utc), then the file as ls -l shows it
(its own modification time among them). With --json, one object per file: ls's fields plus "snapshot" and
"snapshot_time".`,
		Flags: filterFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("find: give at least one PATTERN (e.g. '*.pdf' or '/srv/spse/**/kontrak*')")
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				sns, err := e.listSnapshots(c.Context, r, filterFromFlags(c))
				if err != nil {
					return err
				}
				sort.Slice(sns, func(i, j int) bool { return sns[i].Time.Before(sns[j].Time) })
				return walker.Find(c.Context, r, sns, c.Args().Slice(), func(sn *snapshot.Snapshot, p string, n *snapshot.Node) error {
					if e.json {
						return e.printJSONLine(struct {
							Snapshot     string    `json:"snapshot"`
							SnapshotTime time.Time `json:"snapshot_time"`
							nodeJSON
						}{sn.ID().String(), sn.Time, toNodeJSON(p, n)})
					}
					// The snapshot's time, not only the file's: "the
					// document as it was on 12 November" is a snapshot's
					// date, which the file's mtime need not be.
					_, err := fmt.Fprintf(e.stdout, "%s %s %s\n", sn.ID().Short(), e.timeText(sn.Time), lsLine(e, p, n))
					return err
				})
			})
		},
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:        "diff",
		Usage:       "show what changed between two snapshots",
		ArgsUsage:   "SNAPSHOT1 SNAPSHOT2",
		Description: `Lists added (+), removed (-) and modified (M: content, U: metadata only) paths.`,
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 2 {
				return errors.New("diff: give two snapshots")
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				a, err := e.readSnapshot(c.Context, r, c.Args().Get(0), snapshot.Filter{})
				if err != nil {
					return err
				}
				b, err := e.readSnapshot(c.Context, r, c.Args().Get(1), snapshot.Filter{})
				if err != nil {
					return err
				}
				st, err := walker.Diff(c.Context, r, a, b, func(ch walker.Change) error {
					mark := map[walker.ChangeKind]string{walker.Added: "+", walker.Removed: "-"}[ch.Kind]
					if mark == "" {
						mark = "U"
						if ch.Content {
							mark = "M"
						}
					}
					if e.json {
						return e.printJSONLine(map[string]any{"message_type": "change", "path": ch.Path, "modifier": mark, "content": ch.Content, "metadata": ch.Metadata})
					}
					_, err := fmt.Fprintf(e.stdout, "%s  %s\n", mark, quoteName(ch.Path))
					return err
				})
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSONLine(map[string]any{"message_type": "statistics", "added": st.Added, "removed": st.Removed, "modified": st.Modified,
						"added_bytes": st.AddedBytes, "removed_bytes": st.RemovedBytes})
				}
				fmt.Fprintf(e.stdout, "\n%d added (%s), %d removed (%s), %d modified\n", st.Added, units.FormatBytes(int64(st.AddedBytes)),
					st.Removed, units.FormatBytes(int64(st.RemovedBytes)), st.Modified)
				return nil
			})
		},
	}
}

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:        "dump",
		Usage:       "write one file of a snapshot to stdout (a directory as a tar archive)",
		ArgsUsage:   "SNAPSHOT PATH",
		Description: `Example: cadang dump latest /spse.dump | pg_restore -d spse_restored`,
		Flags:       append(filterFlags(), &cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "write to `FILE` instead of stdout"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 2 {
				return errors.New("dump: give SNAPSHOT and PATH")
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				f := filterFromFlags(c)
				sn, err := e.readSnapshot(c.Context, r, c.Args().Get(0), f)
				if err == nil && c.Args().Get(0) == "latest" {
					sn, err = e.latestOfJob(c.Context, r, sn, f, c.Args().Get(1))
				}
				if err != nil {
					return err
				}
				w := e.rawStdout // a file's bytes, or a tar archive
				if t := c.String("target"); t != "" {
					// Not a file left empty (and fed to pg_restore at
					// 3 a.m.) for a path that is not there.
					if _, err := walker.FindNode(c.Context, r, sn.Tree, c.Args().Get(1)); err != nil {
						return e.notInSnapshot(sn, err)
					}
					dt, err := createDumpTarget(t, e)
					if err != nil {
						return err
					}
					if err := walker.Dump(c.Context, r, sn, c.Args().Get(1), dt.f); err != nil {
						dt.abort()
						return e.notInSnapshot(sn, err)
					}
					return dt.commit()
				}
				return e.notInSnapshot(sn, walker.Dump(c.Context, r, sn, c.Args().Get(1), w))
			})
		},
	}
}

// dumpTarget is where dump --target writes: the file itself when it is
// not a regular file (a device, a pipe), else a temporary file beside it
// that commit renames over it, so that a dump that fails (a damaged blob,
// an interrupt) leaves the file that was there, not an empty or partial
// one that could be fed to pg_restore.
type dumpTarget struct {
	f        *os.File
	tmp, dst string // tmp is "" when writing to dst itself
}

func (d *dumpTarget) commit() error {
	if err := d.f.Close(); err != nil {
		d.abort()
		return fmt.Errorf("--target: %w", err)
	}
	if d.tmp == "" {
		return nil
	}
	if err := os.Rename(d.tmp, d.dst); err != nil {
		os.Remove(d.tmp)
		return fmt.Errorf("--target: %w", err)
	}
	return nil
}

func (d *dumpTarget) abort() {
	d.f.Close()
	if d.tmp != "" {
		os.Remove(d.tmp)
	}
}

// createDumpTarget opens dump's --target for writing. The content is a
// backup's, which may be anything from a database dump to a key file, so a
// new file is 0600 (the umask may only narrow it). An existing regular file
// is replaced when the dump is complete and keeps the mode its owner gave
// it, with a warning when its group or others can read it; anything else
// (a device, a pipe: root must not chmod /dev/null) is written as it is.
func createDumpTarget(name string, e *env) (*dumpTarget, error) {
	fi, err := os.Stat(name)
	if err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		return &dumpTarget{f: f, dst: name}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".cadang-*")
	if err != nil {
		return nil, fmt.Errorf("--target: %w", err)
	}
	if fi != nil { // a regular file was there
		if fi.Mode().Perm()&0o044 != 0 {
			e.warnf("--target %s already existed and keeps its mode %04o, which lets its group or others read what was dumped", name, fi.Mode().Perm())
		}
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, fmt.Errorf("--target: %w", err)
		}
	}
	return &dumpTarget{f: f, tmp: f.Name(), dst: name}, nil
}

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show sizes: what a restore would write, and what is stored after deduplication and compression",
		ArgsUsage: "[SNAPSHOT...]",
		Flags:     filterFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				var sns []*snapshot.Snapshot
				if c.NArg() == 0 {
					var err error
					if sns, err = e.listSnapshots(c.Context, r, filterFromFlags(c)); err != nil {
						return err
					}
				}
				for _, a := range c.Args().Slice() {
					sn, err := e.readSnapshot(c.Context, r, a, filterFromFlags(c))
					if err != nil {
						return err
					}
					sns = append(sns, sn)
				}
				st, err := walker.ComputeStats(c.Context, r, sns)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(st)
				}
				w := e.stdout
				fmt.Fprintf(w, "Snapshots:             %d\n", st.Snapshots)
				fmt.Fprintf(w, "Files, dirs, others:   %d, %d, %d\n", st.Files, st.Dirs, st.Others)
				fmt.Fprintf(w, "Restore size:          %s\n", units.FormatBytes(int64(st.TotalSize)))
				fmt.Fprintf(w, "Deduplicated data:     %s in %d blobs\n", units.FormatBytes(int64(st.RawDataSize)), st.DataBlobs)
				fmt.Fprintf(w, "Stored (compressed):   %s\n", units.FormatBytes(int64(st.StoredSize)))
				if st.StoredSize > 0 {
					fmt.Fprintf(w, "Space saving:          %.1fx\n", float64(st.TotalSize)/float64(st.StoredSize))
				}
				return nil
			})
		},
	}
}

func tagCommand() *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "change the tags of snapshots",
		ArgsUsage: "SNAPSHOT...",
		Description: `Each snapshot whose tags change is saved again under a new ID and the old file removed. A server
that refuses deletions (cadang serve --append-only) is refused up front, before anything is saved: tag
on the backup host, against the repository's directory.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "set", Usage: "replace all tags with `TAG` (repeatable)"},
			&cli.StringSliceFlag{Name: "add", Usage: "add `TAG` (repeatable)"},
			&cli.StringSliceFlag{Name: "remove", Usage: "remove `TAG` (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("tag: give at least one SNAPSHOT")
			}
			if !c.IsSet("set") && !c.IsSet("add") && !c.IsSet("remove") {
				return errors.New("tag: give --set, --add or --remove")
			}
			if err := e.needLock("tag"); err != nil {
				return err
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				for _, a := range c.Args().Slice() {
					sn, err := e.findSnapshot(c.Context, r, a, snapshot.Filter{})
					if err != nil {
						return err
					}
					nsn, err := snapshot.ChangeTags(c.Context, r, sn, c.StringSlice("set"), c.StringSlice("add"), c.StringSlice("remove"))
					if err != nil {
						return err
					}
					if e.json {
						if err := e.printJSONLine(map[string]any{"message_type": "changed", "old_snapshot_id": sn.ID(), "new_snapshot_id": nsn.ID()}); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(e.stdout, "snapshot %s is now %s, tags: %s\n", sn.ID().Short(), nsn.ID().Short(), strings.Join(nsn.Tags, ","))
				}
				return nil
			})
		},
	}
}
