package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/pwfile"
	"github.com/lpse/cadang/internal/sop/engine"
	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/copier"
)

// fromRepoFlags name the source repository of copy and of
// init --copy-chunker-params.
func fromRepoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "from-repo", EnvVars: []string{"CADANG_FROM_REPOSITORY"}, Usage: "source repository `DIR`"},
		&cli.StringFlag{Name: "from-password-file", EnvVars: []string{"CADANG_FROM_PASSWORD_FILE"}, Usage: "read the source repository's password from `FILE`"},
	}
}

// fromPassword returns the source repository's password from, in order:
// --from-password-file (or CADANG_FROM_PASSWORD_FILE), CADANG_FROM_PASSWORD,
// or a terminal prompt, as env.password does for the repository.
func (e *env) fromPassword() ([]byte, error) {
	if f := e.c.String("from-password-file"); f != "" {
		p, err := pwfile.Read(f, e.warnPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--from-password-file: %w", err)
		}
		return p, nil
	}
	if p, ok := os.LookupEnv("CADANG_FROM_PASSWORD"); ok && p != "" {
		return []byte(p), nil
	}
	p, err := e.promptPassword("enter the password of the source repository: ", false)
	if isNoPassword(err) {
		return nil, &noPasswordError{"no source password given: set CADANG_FROM_PASSWORD or --from-password-file (stdin is not a terminal)"}
	}
	return p, err
}

// openFromRepo opens the repository of --from-repo with lock mode m.
func (e *env) openFromRepo(ctx context.Context, m repo.LockMode) (*repo.Repository, string, error) {
	loc := e.c.String("from-repo")
	// A mistake in the command line, as a missing --repo is (recorded):
	// no failed copy to follow up.
	if loc == "" {
		return nil, "", soprun.NotARun(errors.New("no source repository given: use --from-repo or set CADANG_FROM_REPOSITORY"))
	}
	l, err := e.parseLocation(loc)
	if err != nil {
		return nil, loc, soprun.NotARun(fmt.Errorf("--from-repo: %w", err))
	}
	loc = l.String()
	be, err := location.Open(ctx, l)
	if err != nil {
		return nil, loc, &errclass.SourceError{Err: fmt.Errorf("source repository: %w", err)}
	}
	pw, err := e.fromPassword()
	if err != nil {
		be.Close()
		return nil, loc, err
	}
	o := repo.Options{Lock: m, Logf: e.logf, Warnf: e.warnf, LockWait: e.c.Duration("retry-lock"), AfterUnlock: debug.FreeOSMemory, KDFMemory: e.kdfMemory()}
	// A copy only reads its source: on a read-only medium (the offsite
	// disk brought back after a disaster) it reads it without a lock.
	o.ReadOnlyUnlocked = m == repo.SharedLock
	done := hugeKDF(&o)
	r, err := repo.Open(ctx, be, pw, o)
	done()
	if err == nil {
		e.noteUnlocked(r)
	}
	if err != nil {
		be.Close()
		if errors.Is(err, syscall.EROFS) && m != repo.NoLock {
			return nil, loc, fmt.Errorf("source repository %s: %w (on a read-only medium, --from-no-lock opens it without a lock)", loc, err)
		}
		if strings.Contains(err.Error(), loc) { // named already
			return nil, loc, &errclass.SourceError{Err: fmt.Errorf("source repository: %w", err)}
		}
		return nil, loc, &errclass.SourceError{Err: fmt.Errorf("source repository %s: %w", loc, err)}
	}
	return r, loc, nil
}

func copyCommand() *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy snapshots from another repository into this one",
		ArgsUsage: "[SNAPSHOT...]",
		Description: `Copies snapshots from --from-repo into the repository of --repo: all of them, or those named
(ID prefixes or "latest"), filtered by --host, --tag and --path. The data is re-encrypted under this
repository's keys; only blobs this repository lacks are uploaded, and a snapshot copied before (by its
original ID) is skipped, and so is one that this repository's retention forgot (a forget by policy
here records what it removed, with its tags, so that the next copy does not bring back what the policy
dropped; a snapshot whose tags changed since is copied). --include-forgotten copies those too, as does
naming snapshots (IDs or latest). An ID (8 hex digits or more) that no snapshot of the source has names
the source's copy of that snapshot (its original), since each medium gives a copy an ID of its own: the
ID this repository and its records know brings its snapshot back from another medium. Files are copied
chunk by chunk, never re-chunked. For later backups into this
repository to deduplicate against copied data, create it with init --copy-chunker-params --from-repo SRC.

Protections travel with the snapshots: each snapshot copied, or found copied already, is protected here
with every protection of the source snapshot that still holds (same end and reason), unless this
repository has one as long with that reason already; the summary says how many were added. So a forget
here keeps what a forget on the source keeps (legal holds, before-change backups). An expired protection
is not copied. A protection file of the source that cannot be read is not carried: a warning names it, and
the run log record lists it. A protection that cannot be written here makes the copy partial (exit 3):
each is named, with the copy to run again once this repository can be written (--json:
protection_errors).

The source password comes from --from-password-file (CADANG_FROM_PASSWORD_FILE), CADANG_FROM_PASSWORD,
or a prompt. The source is opened with a shared lock, the destination with a copy lock (a second copy
into it is refused, or waits with --retry-lock). The copy is recorded in the run log, and its record
copied into both repositories.

A source on a read-only file system (an offsite disk mounted read-only to seed a new medium from it)
cannot take a lock: it is then read without one, with a note, and nothing is written into it, not even
the record; a prune running elsewhere on a writable mount of the same storage could remove data under
the copy. --from-no-lock does the same for any source. Use it only for a source that nothing writes to
or prunes meanwhile.`,
		Flags: append(append(fromRepoFlags(), filterFlags()...),
			&cli.BoolFlag{Name: "from-no-lock", Usage: "open the source without a lock and write nothing into it (a read-only medium that nothing writes to or prunes meanwhile)"},
			&cli.BoolFlag{Name: "include-forgotten", Usage: "copy also the snapshots that this repository forgot (by default a snapshot forgotten here is not brought back)"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			return e.recorded(c.Context, runlog.OpCopy, func(ctx context.Context, rec *runlog.Record) error {
				return runCopy(ctx, e, c.Args().Slice(), filterFromFlags(c), c.Bool("include-forgotten"), rec)
			})
		},
	}
}

// copyReport is what `copy --json` prints.
type copyReport struct {
	MessageType string `json:"message_type"` // "copy"
	From        string `json:"from"`
	copier.Result
	Seconds float64 `json:"seconds"`
}

func runCopy(ctx context.Context, e *env, args []string, f snapshot.Filter, includeForgotten bool, rec *runlog.Record) error {
	if e.c.Bool("no-lock") {
		return errors.New("--no-lock is for read-only commands; copy writes to --repo and always takes its lock there (for a source on a read-only medium: --from-no-lock)")
	}
	start := time.Now()
	srcLock := repo.SharedLock
	noLock := e.c.Bool("from-no-lock")
	if noLock {
		srcLock = repo.NoLock
	}
	src, from, err := e.openFromRepo(ctx, srcLock)
	if err != nil {
		return err
	}
	// A source read without a lock because it is read-only gets no
	// record either: it could not be written.
	noLock = noLock || src.Unlocked()
	e.snapshotsIn = location.Redact(from) // the snapshots named are the source's
	srcKept := false
	defer func() {
		if !srcKept {
			e.closeRepo(src)
		}
	}()
	// A copy lock: a second copy into this repository at the same time
	// is refused (exit 11), rather than saving the same snapshots again.
	dst, err := e.openRepo(ctx, repo.Options{Lock: repo.CopyLock})
	if err != nil {
		return err
	}
	if e.rec != nil {
		// The record goes into the destination, and then into the source,
		// whose copy it also tells of (doc/design.md, run log), unless
		// the source is to be left untouched.
		e.rec.keep(dst)
		if !noLock {
			e.rec.keep(src)
			srcKept = true
		}
	} else {
		defer e.closeRepo(dst)
	}
	if src.ID() == dst.ID() {
		return errors.New("--from-repo is the same repository as --repo")
	}
	var sns []*snapshot.Snapshot
	unlisted := map[repo.ID]error{}
	if len(args) == 0 {
		// A source snapshot file that cannot be read is reported with the
		// snapshots that could not be copied (copier.Options.Unlisted),
		// but for a foreign one (repo.ErrForeignFile), which was never a
		// snapshot, or one too large to be one (snapshot.Passed): junk in
		// the source must not make every copy partial.
		sns, err = snapshot.ListSnapshotsSkipping(ctx, src, f, snapshot.PassUnreadable(func(id repo.ID, err error) {
			if snapshot.Passed(err) {
				e.warnf("snapshot file %s of the source is passed over: %s", id.Short(), snapshot.PassedWhy(err))
				return
			}
			unlisted[id] = err
		}))
		if err != nil {
			return err
		}
	} else {
		seen := map[repo.ID]bool{}
		for _, a := range args {
			// Every medium gives a copied snapshot an ID of its own: the
			// ID a record or the damaged medium names may be the source's
			// copy's original (readSnapshot).
			sn, byOriginal, err := e.findSnapshotOrCopy(ctx, src, a, f)
			if byOriginal {
				e.logf("snapshot %s is held in the source as %s (its copy there); copying that", a, sn.ID().Short())
			}
			if err != nil {
				return err
			}
			if !seen[sn.ID()] {
				seen[sn.ID()] = true
				sns = append(sns, sn)
			}
		}
	}
	o := copier.Options{Unlisted: unlisted, Unreadable: func(id repo.ID, err error) {
		e.warnf("snapshot %s of the destination cannot be read and is left out: %v ('cadang check' names every damaged file)", id.Short(), err)
	}, UnreadableForgotten: func(id repo.ID, err error) {
		e.warnf("forgotten file %s of the destination cannot be read, so the snapshots it recorded may be copied again: %v ('cadang repair forgotten' removes it)", id.Short(), err)
	},
		// A snapshot named is copied even if this repository forgot it.
		IncludeForgotten: includeForgotten || len(args) > 0,
		UnreadableProtection: func(id repo.ID, err error) {
			e.warnf("%s", engine.UnreadableProtectionText(id, "the source "+location.Redact(from), "this repository", err))
		}}
	if !e.json && !e.quiet {
		o.Progress = func(r copier.SnapshotResult) {
			switch {
			case r.Error != "":
				fmt.Fprintf(e.stderr, "could not copy %s: %s\n", r.Source.Short(), r.Error)
			case r.Skipped:
				fmt.Fprintf(e.stdout, "skipped %s (already copied as %s)\n", r.Source.Short(), r.Dest.Short())
			case !r.Forgotten.IsZero():
				fmt.Fprintf(e.stdout, "skipped %s (forgotten in this repository on %s; --include-forgotten copies it)\n",
					r.Source.Short(), r.Forgotten.In(e.displayZone()).Format("2006-01-02 15:04 MST"))
			default:
				fmt.Fprintf(e.stdout, "copied %s as %s\n", r.Source.Short(), r.Dest.Short())
			}
		}
		o.ProtectionProgress = func(r copier.ProtectionResult) {
			p := snapshot.Protection{Until: r.Until, Reason: r.Reason}
			fmt.Fprintf(e.stdout, "protected %s (the copy of %s) %s, as in the source\n", r.Dest.Short(), r.Source.Short(), p.Describe(e.orgZone()))
		}
	}
	res, err := copier.Copy(ctx, dst, src, sns, o)
	if res.AdoptedPacks > 0 {
		e.logf("adopted %d pack(s) that an interrupted run had stored but not indexed", res.AdoptedPacks)
	}
	rec.Copy = &runlog.CopyInfo{From: from, FromID: src.ID(), Copied: res.Copied, Skipped: res.Skipped, Forgotten: res.NotAgain,
		DataBlobs: res.DataBlobs, TreeBlobs: res.TreeBlobs, Bytes: res.Bytes}
	rec.BytesAdded = res.Bytes // what the job's offsite copy records too (cadang log's Added)
	rec.Copy.UnreadableProtections = soprun.UnreadableProtections(res)
	// A copy that left out unreadable snapshots, or could not write some
	// protections, did the rest: it reports them like the others, and
	// ends with the error (exit code 3).
	if err != nil && !errors.Is(err, copier.ErrIncomplete) && !errors.Is(err, copier.ErrProtectionsNotCopied) {
		return err
	}
	var ie *copier.IncompleteError
	switch {
	case err == nil:
	case errors.As(err, &ie) && res.Copied+res.Skipped == 0:
		// Nothing was copied: a failure, of the failures' kind.
		err = fmt.Errorf("no snapshot could be copied: %w", errors.Join(ie.Errs...))
	default:
		// Partial, like a restore with failed files: the run log records
		// it so, of the failures' kind (a damaged source: integrity).
		err = &partialError{Kind: errclass.Of(err).Kind, Msg: copyPartialText(e, err, from, res.ProtectionErrors)}
	}
	if e.json {
		if res.Snapshots == nil {
			res.Snapshots = []copier.SnapshotResult{}
		}
		if jerr := e.printJSON(copyReport{MessageType: "copy", From: from, Result: res, Seconds: time.Since(start).Seconds()}); jerr != nil {
			return jerr
		}
		return err
	}
	if !e.quiet {
		failed := ""
		if res.Failed > 0 {
			failed = fmt.Sprintf(", %d could not be read from the source", res.Failed)
		}
		forgotten := ""
		if res.NotAgain > 0 {
			forgotten = fmt.Sprintf(", %d not again (forgotten in this repository)", res.NotAgain)
		}
		notWritten := ""
		if n := len(res.ProtectionErrors); n > 0 {
			notWritten = fmt.Sprintf(", %d could not be written", n)
		}
		fmt.Fprintf(e.stdout, "%d snapshot(s) copied, %d skipped%s%s; uploaded %d data and %d tree blobs (%s); %d protection(s) added%s\n",
			res.Copied, res.Skipped, forgotten, failed, res.DataBlobs, res.TreeBlobs, units.FormatBytes(res.Bytes), res.ProtectionsAdded, notWritten)
	}
	return err
}

// copyPartialText says what a partial copy left undone: the snapshots not
// copied, and each protection not written, with the copy to run again to
// write it (a copy carries the protections of the snapshots it finds
// copied already).
func copyPartialText(e *env, err error, from string, failed []copier.ProtectionFailure) string {
	var ie *copier.IncompleteError
	var pe *copier.ProtectionsError
	var parts []string
	if errors.As(err, &ie) {
		parts = append(parts, ie.Error()+"\nthe other snapshots were copied")
	}
	if !errors.As(err, &pe) || len(failed) == 0 {
		return strings.Join(parts, "\n")
	}
	msg := strings.Join(append(parts, pe.Error()), "\n")
	dst, lerr := e.repoLocation()
	if lerr != nil {
		dst = "REPO"
	}
	dst = location.Redact(dst)
	var srcs []string
	for _, f := range failed {
		msg += fmt.Sprintf("\nsnapshot %s is copied to %s as %s, but not protected there %s as in the source",
			f.Source.Short(), dst, f.Dest.Short(), (snapshot.Protection{Until: f.Until, Reason: f.Reason}).Describe(e.orgZone()))
		if s := f.Source.Short(); !slices.Contains(srcs, s) {
			srcs = append(srcs, s)
		}
	}
	return msg + fmt.Sprintf("\nonce it can be written, 'cadang -r %s copy --from-repo %s %s' writes the protection(s)",
		dst, location.Redact(from), strings.Join(srcs, " "))
}

// snapshotByOriginal returns the snapshot of r under f whose original
// (a copy's or a tag change's, snapshot.Snapshot.Original) is the one
// prefix names, or nil when none is: the newest of them, which holds the
// original's latest tags. A prefix shorter than 8 hex digits names
// nothing here, so that a short typo does not pick a snapshot.
func (e *env) snapshotByOriginal(ctx context.Context, r snapshot.FileLoader, prefix string, f snapshot.Filter) (*snapshot.Snapshot, error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) < 8 || len(prefix) > 2*len(repo.ID{}) || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, nil
	}
	sns, err := snapshot.ListSnapshotsSkipping(ctx, r, f, snapshot.PassUnreadable(func(repo.ID, error) {}))
	if err != nil {
		return nil, err
	}
	var found *snapshot.Snapshot
	var originals []string
	for _, sn := range sns {
		if sn.Original == nil || !strings.HasPrefix(sn.Original.String(), prefix) {
			continue
		}
		if o := sn.Original.String(); !slices.Contains(originals, o) {
			originals = append(originals, o)
		}
		if found == nil || sn.Time.After(found.Time) {
			found = sn
		}
	}
	if len(originals) > 1 {
		return nil, soprun.NotARun(fmt.Errorf("%q is the beginning of the originals of several snapshots (%s): give more of it", prefix, strings.Join(originals, ", ")))
	}
	return found, nil
}
