package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/prune"
)

func pruneFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "max-unused", Value: "5%", Usage: "repack partly used packs while more than `LIMIT` (a PERCENT of the data, a SIZE with a unit such as 500M, or unlimited) is unused"},
		&cli.StringFlag{Name: "max-repack-size", Usage: "repack at most `SIZE` (with a unit, e.g. 2G) of packs in this run"},
		&cli.BoolFlag{Name: "repack-small", Usage: "also repack packs smaller than half the pack size"},
	}
}

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "delete the data that no snapshot needs, while backups go on",
		Description: `Prune runs beside backups: it takes a prune lock, which backups' shared locks coexist with,
and works in two phases (doc/design.md, "Prune beside backups"):

  1. Packs that no snapshot needs, and partly used packs after their used data was copied into
     new packs, are marked obsolete. Restores still read them; new backups store their own copy
     rather than depend on them.
  2. A later prune deletes the obsolete packs once every backup that started before they were
     marked has finished, after checking the snapshots again: a pack that a late snapshot still
     needs is kept.

So space comes back on the second prune after a forget (cadang run prunes on its schedule). An
interrupted prune is harmless; the next one finishes its work. --dry-run plans and changes nothing;
it takes a shared lock, or none on a medium mounted read-only.`,
		Flags: append(pruneFlags(),
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be done; change nothing"},
		),
		Action: func(c *cli.Context) error {
			o, err := pruneOptionsFromFlags(c)
			if err != nil {
				return err
			}
			o.DryRun = c.Bool("dry-run")
			return runPrune(c.Context, newEnv(c), o)
		},
	}
}

func pruneOptionsFromFlags(c *cli.Context) (prune.Options, error) {
	var o prune.Options
	if err := o.SetMaxUnused(c.String("max-unused")); err != nil {
		return o, fmt.Errorf("--max-unused %w", err)
	}
	if err := o.SetMaxRepackSize(c.String("max-repack-size")); err != nil {
		return o, fmt.Errorf("--max-repack-size %w", err)
	}
	o.RepackSmall = c.Bool("repack-small")
	return o, nil
}

// pruneReport is what `prune --json` prints.
type pruneReport struct {
	MessageType string `json:"message_type"` // "prune"
	*prune.Result
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mib"`
}

// runPrune prunes the repository named by the global flags. A dry run
// takes a shared lock (it must leave the repository byte-identical, and a
// lock file is removed again), or none on a read-only medium; a real
// prune a prune lock.
func runPrune(ctx context.Context, e *env, o prune.Options) error {
	return e.recordedUnlessDry(ctx, runlog.OpPrune, o.DryRun, func(ctx context.Context, rec *runlog.Record) error {
		return prunePrinted(ctx, e, o, rec)
	})
}

func prunePrinted(ctx context.Context, e *env, o prune.Options, rec *runlog.Record) error {
	mode := repo.PruneLock
	if o.DryRun {
		mode = repo.SharedLock
	}
	o.Logf = e.logf
	o.Warnf = e.warnf
	o.TimeText = e.timeText
	start := time.Now()
	// A dry run writes nothing (prune.Options.DryRun): on a medium mounted
	// read-only it reads without the shared lock it cannot write there.
	r, err := e.openRepo(ctx, repo.Options{Lock: mode, ReadOnlyUnlocked: o.DryRun})
	if err != nil {
		return err
	}
	e.noteUnlocked(r)
	if e.rec != nil {
		e.rec.keep(r) // closed after the record is copied into it
	} else {
		defer e.closeRepo(r)
	}
	res, err := prune.Run(ctx, r, o)
	rec.Prune = soprun.PruneFacts(res)
	rep := pruneReport{MessageType: "prune", Result: res, Seconds: time.Since(start).Seconds(), PeakRSSMB: peakRSSMiB()}
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(rep)
	}
	printPrune(e, rep)
	return nil
}

func printPrune(e *env, rep pruneReport) {
	if e.quiet {
		return
	}
	w, r := e.stdout, rep.Result
	verb := func(done, planned string) string {
		if r.DryRun {
			return planned
		}
		return done
	}
	b := units.FormatBytes
	fmt.Fprintf(w, "before:      %d packs, %d blobs, %s: %s used by %d snapshot(s), %s unused\n",
		r.Before.Packs, r.Before.Blobs, b(r.Before.Bytes), b(r.UsedBytes), r.Snapshots, b(r.UnusedBytes))
	fmt.Fprintf(w, "%s %d packs (%s) of earlier prunes", verb("deleted:    ", "would delete:"), r.Deleted.Packs, b(r.Deleted.Bytes))
	if r.Resurrected > 0 {
		fmt.Fprintf(w, "; kept %d a late snapshot still needs", r.Resurrected)
	}
	if r.Waiting > 0 {
		fmt.Fprintf(w, "; %d set(s) wait for backups that started before they were marked", r.Waiting)
	}
	fmt.Fprintln(w)
	host, _ := os.Hostname()
	// The locks were written on the repository's clock, which follows
	// CADANG_NOW (repoClock) as e.now does.
	for _, l := range r.WaitingFor {
		fmt.Fprintf(w, "  %s\n", waitingLockText(l.LockInfo, e.now(), host, processGone))
	}
	fmt.Fprintf(w, "%s %d unused packs (%s), %d not in the index or wholly duplicated (%s)\n", verb("marked:     ", "would mark: "),
		r.MarkedUnused.Packs, b(r.MarkedUnused.Bytes), r.Orphans.Packs, b(r.Orphans.Bytes))
	fmt.Fprintf(w, "%s %d packs (%s), copying %s still used\n", verb("repacked:   ", "would repack:"),
		r.MarkedRepacked.Packs, b(r.MarkedRepacked.Bytes), b(r.RepackedBytes))
	fmt.Fprintf(w, "%s %d packs, %d blobs, %s\n", verb("after:      ", "after:       "), r.After.Packs, r.After.Blobs, b(r.After.Bytes))
	if n := len(r.ForeignSnapshots); n > 0 {
		fmt.Fprintf(w, "passed over: %d snapshot file(s) not written with this repository's key (junk; named above)\n", n)
	}
	marked := r.MarkedUnused.Packs + r.MarkedRepacked.Packs + r.Orphans.Packs
	if marked > 0 && !r.DryRun {
		fmt.Fprintf(w, "the %d pack(s) marked now are deleted by the next prune once running backups have finished\n", marked)
	}
	if r.DryRun {
		// Planning reads every index and tree, as the prune would: its
		// time and memory are the plan's, not the prune's, which also
		// repacks and deletes.
		fmt.Fprintf(w, "planned in %.1f s, peak memory %.0f MiB (dry run: nothing was changed)\n", rep.Seconds, rep.PeakRSSMB)
		return
	}
	fmt.Fprintf(w, "took %.1f s, peak memory %.0f MiB\n", rep.Seconds, rep.PeakRSSMB)
}

// waitingLockText describes a lock that holds prune's obsolete sets back.
// A dead process's lock holds the space back until it is LockStaleAfter
// old: it says whose lock it is, and what ends it. gone tells whether a
// PID on this host is not running.
func waitingLockText(l repo.LockInfo, now time.Time, host string, gone func(pid int) bool) string {
	s := fmt.Sprintf("waiting for %s, last refreshed %s ago", l, now.Sub(l.Time).Round(time.Second))
	switch {
	case l.Host == host && l.PID > 0 && gone(l.PID):
		s += fmt.Sprintf(": PID %d is not running on this host (unless it runs in another PID namespace, a container, under the same host name); 'cadang unlock' removes the lock, and the next prune then deletes the packs it holds back", l.PID)
	case now.Sub(l.Time) > repo.LockStaleAfter:
		s += fmt.Sprintf(": not refreshed for more than %s, so its holder has most likely stopped; prune passes over a lock not refreshed for %s", repo.LockStaleAfter, repo.LockStaleAfter+prune.SkewTolerance)
	}
	return s
}

// processGone tells whether no process with the PID runs here.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// peakRSSMiB is the process's peak resident memory so far.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
