package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/sop/jobs"
	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
)

// forgetCommand removes snapshot files, named or by a retention policy
// (package snapshot/retention). Their data stays in the repository until a
// prune removes the blobs no snapshot references.
func forgetCommand() *cli.Command {
	return &cli.Command{
		Name:      "forget",
		Usage:     "remove snapshots, named or by a retention policy (their data is freed by a later prune)",
		ArgsUsage: "[SNAPSHOT...]",
		Description: `Removes the named snapshot files, or those that a policy does not keep (restic's rules):

  --keep-last N      the N newest snapshots
  --keep-hourly N    the newest snapshot of each of the N newest hours that have one (also daily,
                     weekly (ISO weeks), monthly and yearly); -1 keeps one for every such period
  --keep-within D    every snapshot within D of the group's newest snapshot: 30d, 2w, 1y2m3d4h
                     (y years, m MONTHS, w weeks, d days, h hours)
  --keep-tag TAGS    every snapshot with all of the comma-separated TAGS (repeatable: any of the lists)

The snapshots selected by --host, --tag and --path are divided into groups by --group-by (default
host,paths; "" for one group), and each group is planned on its own. A snapshot is kept if any rule
keeps it; while a counted rule has counts left, the oldest snapshot of the group is kept too. The
hours, days, weeks, months and years are those of the SOP configuration's [organization] timezone,
or of the local time zone without one; the output says which.

--dry-run prints the plan and removes nothing. With neither snapshots nor a policy, forget refuses.
The data blobs stay in the repository until a prune.`,
		Flags: append(append(filterFlags(),
			&cli.IntFlag{Name: "keep-last", Aliases: []string{"l"}, Usage: "keep the `N` newest snapshots"},
			&cli.IntFlag{Name: "keep-hourly", Usage: "keep the newest snapshot of each of the `N` newest hours (-1: all)"},
			&cli.IntFlag{Name: "keep-daily", Aliases: []string{"d"}, Usage: "keep the newest snapshot of each of the `N` newest days (-1: all)"},
			&cli.IntFlag{Name: "keep-weekly", Aliases: []string{"w"}, Usage: "keep the newest snapshot of each of the `N` newest ISO weeks (-1: all)"},
			&cli.IntFlag{Name: "keep-monthly", Aliases: []string{"m"}, Usage: "keep the newest snapshot of each of the `N` newest months (-1: all)"},
			&cli.IntFlag{Name: "keep-yearly", Aliases: []string{"y"}, Usage: "keep the newest snapshot of each of the `N` newest years (-1: all)"},
			&cli.StringFlag{Name: "keep-within", Usage: "keep every snapshot within `DURATION` of the newest (30d, 2w, 1y2m3d4h; m is months)"},
			&cli.StringSliceFlag{Name: "keep-tag", Usage: "keep every snapshot with all of the comma-separated `TAGS` (repeatable: any of the lists)"},
			&cli.StringFlag{Name: "group-by", Aliases: []string{"g"}, Value: retention.DefaultGroupBy.String(), Usage: "plan each group of snapshots with the same `FIELDS` (host, paths, tags; \"\" for one group) on its own"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be removed; remove nothing"},
			&cli.BoolFlag{Name: "prune", Usage: "prune afterwards (see 'cadang help prune'; its --max-unused, --max-repack-size and --repack-small apply)"},
		), pruneFlags()...),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			p, err := policyFromFlags(c)
			if err != nil {
				return err
			}
			g, err := retention.ParseGroupBy(c.String("group-by"))
			if err != nil {
				return fmt.Errorf("--group-by: %w", err)
			}
			named := c.Args().Slice()
			po, err := pruneOptionsFromFlags(c)
			if err != nil {
				return err
			}
			po.DryRun = c.Bool("dry-run")
			switch {
			case len(named) > 0 && !p.IsZero():
				return errors.New("forget: give snapshots or a policy (--keep-...), not both")
			case len(named) == 0 && p.IsZero():
				return errors.New("forget: give snapshots or a policy (--keep-...); refusing to forget everything")
			case len(named) > 0:
				err = e.recordedUnlessDry(c.Context, runlog.OpForget, c.Bool("dry-run"), func(ctx context.Context, rec *runlog.Record) error {
					return forgetNamed(ctx, e, named, c.Bool("dry-run"), rec)
				})
			default:
				loc, zone := e.calendarZone()
				o := forgetPlan{Policy: p, GroupBy: g, Filter: filterFromFlags(c), Location: loc, Zone: zone, DryRun: c.Bool("dry-run")}
				err = e.recordedUnlessDry(c.Context, runlog.OpForget, c.Bool("dry-run"), func(ctx context.Context, rec *runlog.Record) error {
					return forgetByPolicy(ctx, e, o, rec)
				})
			}
			if err != nil || !c.Bool("prune") {
				return err
			}
			if po.DryRun && !e.json && !e.quiet {
				// The dry run removed no snapshot, so the prune plans
				// for all of them: it frees less than the real forget
				// and prune would.
				fmt.Fprintln(e.stdout, "prune (dry run) of the repository as it is: the snapshots above are not removed, so it would free less than this forget and prune will")
			}
			return runPrune(c.Context, e, po)
		},
	}
}

func policyFromFlags(c *cli.Context) (retention.Policy, error) {
	p := retention.Policy{Last: c.Int("keep-last"), Hourly: c.Int("keep-hourly"), Daily: c.Int("keep-daily"),
		Weekly: c.Int("keep-weekly"), Monthly: c.Int("keep-monthly"), Yearly: c.Int("keep-yearly")}
	if p.Last < 0 {
		return p, errors.New("--keep-last: give a number of snapshots, 1 or more")
	}
	if s := c.String("keep-within"); s != "" {
		d, err := retention.ParseDuration(s)
		if err != nil {
			return p, fmt.Errorf("--keep-within: %w", err)
		}
		p.Within = d
	}
	for _, t := range c.StringSlice("keep-tag") {
		tl := slices.DeleteFunc(strings.Split(t, ","), func(s string) bool { return s == "" })
		if len(tl) == 0 {
			return p, fmt.Errorf("--keep-tag %q: give at least one tag", t)
		}
		p.Tags = append(p.Tags, tl)
	}
	return p, nil
}

// calendarZone returns the time zone of the calendar rules and says which
// it is: the SOP configuration's [organization] timezone, or the local
// zone. The configuration is read as the plain commands read it (a missing
// one is no error, an invalid one a warning), but the run log is not
// opened: forget is not recorded in it.
func (e *env) calendarZone() (*time.Location, string) {
	cfg, err := e.plainConfig()
	if err != nil && !errors.Is(err, jobs.ErrNoConfig) {
		e.warnf("ignoring the SOP configuration: %v", err)
	}
	if cfg != nil && cfg.Organization.Timezone != "" {
		// Load refuses a zone it cannot find, so this is the one named.
		loc := cfg.Location()
		return loc, fmt.Sprintf("calendar in %s ([organization] timezone of %s)", loc, cfg.Path)
	}
	name, off := time.Now().Zone()
	return time.Local, fmt.Sprintf("calendar in the local time zone (%s, UTC%s; no [organization] timezone configured)",
		name, formatOffset(off))
}

func formatOffset(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

type forgetPlan struct {
	Policy   retention.Policy
	GroupBy  retention.GroupBy
	Filter   snapshot.Filter
	Location *time.Location
	Zone     string // "calendar in ..."
	DryRun   bool
}

// forgetGroupJSON is one group of `forget --json` (restic's shape: the
// group's host, paths and tags, null when not grouped by them, and the
// snapshots kept and removed, newest first).
type forgetGroupJSON struct {
	Host   *string            `json:"host"`
	Paths  []string           `json:"paths"`
	Tags   []string           `json:"tags"`
	Keep   []forgetSnapshotJS `json:"keep"`
	Remove []forgetSnapshotJS `json:"remove"`
}

// forgetSnapshotJS is a snapshot as `snapshots --json` prints it, its time
// in the zone of the calendar rules, with the reasons it is kept.
type forgetSnapshotJS struct {
	snapshotJSON
	Reasons []string `json:"reasons"`
}

func forgetSnapshotJSON(sn *snapshot.Snapshot, loc *time.Location, reasons []string) forgetSnapshotJS {
	cp := *sn
	cp.Time = sn.Time.In(loc)
	if reasons == nil {
		reasons = []string{}
	}
	return forgetSnapshotJS{snapshotJSON: snapshotJSON{Snapshot: &cp, ID: sn.ID().String(), ShortID: sn.ID().Short()}, Reasons: reasons}
}

// recordedUnlessDry runs fn as a run-log record of op, unless it is a dry
// run: a dry run must leave the repository byte-identical, and changed
// nothing worth a record.
func (e *env) recordedUnlessDry(ctx context.Context, op runlog.Operation, dry bool, fn func(ctx context.Context, rec *runlog.Record) error) error {
	if dry {
		return fn(ctx, &runlog.Record{})
	}
	return e.recorded(ctx, op, fn)
}

// forgetFacts fills a forget record from the groups and what was removed.
func forgetFacts(rec *runlog.Record, p retention.Policy, zone string, groups []retention.Group, removed []repo.ID) {
	info := &runlog.ForgetInfo{Zone: zone, Policy: runlog.Policy{Last: p.Last, Hourly: p.Hourly, Daily: p.Daily,
		Weekly: p.Weekly, Monthly: p.Monthly, Yearly: p.Yearly}}
	if !p.Within.IsZero() {
		info.Policy.Within = p.Within.String()
	}
	gone := map[repo.ID]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	for _, g := range groups {
		for _, d := range g.Snapshots {
			it := runlog.ForgetItem{Snapshot: d.Snapshot.ID().String(), Time: d.Snapshot.Time, Reasons: d.Reasons}
			switch {
			case d.Keep:
				info.Kept = append(info.Kept, it)
			case gone[d.Snapshot.ID()]:
				it.Reasons = []string{runlog.ReasonNotKept}
				info.Removed = append(info.Removed, it)
				rec.Snapshots = append(rec.Snapshots, it.Snapshot)
			default:
				it.Reasons = []string{runlog.ReasonNotKept}
				info.Failed = append(info.Failed, it)
			}
		}
	}
	rec.Forget = info
}

func forgetByPolicy(ctx context.Context, e *env, o forgetPlan, rec *runlog.Record) error {
	if err := e.needLock("forget"); err != nil && !o.DryRun {
		return err
	}
	e.writes = !o.DryRun // a dry run only reads: it may read a read-only medium
	return e.withRepo(ctx, false, func(r *repo.Repository) error {
		sns, err := e.listSnapshots(ctx, r, o.Filter)
		if err != nil {
			return err
		}
		ps, err := snapshot.ProtectionsPassing(ctx, r, e.warnForeignProtection)
		if err != nil {
			return err
		}
		now := time.Now()
		groups := retention.Plan(sns, o.Policy, retention.Options{GroupBy: o.GroupBy, Location: o.Location, Now: now,
			Protected: snapshot.ProtectedBy(ps, now)})
		toRemove := 0
		for _, g := range groups {
			toRemove += len(g.Removed())
		}
		if e.json {
			e.logf("%s; %s", o.Zone, o.Policy)
		} else {
			printForgetPlan(e, groups, o)
		}
		var removed []repo.ID
		var staleMsg string
		if !o.DryRun {
			removed, err = retention.Forget(ctx, r, groups)
			forgetFacts(rec, o.Policy, o.Location.String(), groups, removed)
			if errors.Is(err, snapshot.ErrNotRecorded) && len(removed) == toRemove {
				// Every removal done: the record is what a copy reads.
				e.warnf("%v", err)
				if rec.Forget != nil {
					rec.Forget.NotRecorded = true
				}
				err = nil
			}
			if err != nil {
				if !e.json {
					fmt.Fprintf(e.stdout, "removed %d of %d snapshots before the error\n", len(removed), toRemove)
				}
				return err
			}
			// The plan's now: a protection that expired after the plan
			// was made kept its snapshot, which is still there.
			stale, serr := snapshot.RemoveStaleProtections(ctx, r, now)
			if serr != nil {
				e.warnf("expired protections of snapshots that are gone were not all removed (the next forget tries again): %v", serr)
			}
			if staleMsg = staleProtectionsLine(stale, e.timeText); staleMsg != "" && e.json {
				// forget --json keeps restic's shape, an array of groups.
				e.logf("%s", staleMsg)
			}
		}
		if e.json {
			out := make([]forgetGroupJSON, len(groups))
			for i, g := range groups {
				gj := forgetGroupJSON{Paths: g.Key.Paths, Tags: g.Key.Tags, Keep: []forgetSnapshotJS{}, Remove: []forgetSnapshotJS{}}
				if o.GroupBy.Host {
					h := g.Key.Hostname
					gj.Host = &h
				}
				if o.GroupBy.Paths && gj.Paths == nil {
					gj.Paths = []string{}
				}
				if o.GroupBy.Tags && gj.Tags == nil {
					gj.Tags = []string{}
				}
				for _, d := range g.Snapshots {
					if d.Keep {
						gj.Keep = append(gj.Keep, forgetSnapshotJSON(d.Snapshot, o.Location, d.Reasons))
					} else {
						gj.Remove = append(gj.Remove, forgetSnapshotJSON(d.Snapshot, o.Location, nil))
					}
				}
				out[i] = gj
			}
			return e.printJSON(out)
		}
		switch {
		case o.DryRun:
			fmt.Fprintf(e.stdout, "would remove %s (dry run: nothing was changed)\n", plural(toRemove, "snapshot"))
		case len(removed) > 0:
			fmt.Fprintf(e.stdout, "removed %s (their data stays in the repository until a prune)\n", plural(len(removed), "snapshot"))
		default:
			fmt.Fprintln(e.stdout, "removed no snapshots")
		}
		if staleMsg != "" {
			fmt.Fprintln(e.stdout, staleMsg)
		}
		return nil
	})
}

// isAre is the verb that agrees with a count of n.
func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// staleProtectionsLine says which expired protections of snapshots that
// are gone a retention run removed (snapshot.RemoveStaleProtections), or
// "" for none.
func staleProtectionsLine(removed []snapshot.Protection, timeText func(time.Time) string) string {
	if len(removed) == 0 {
		return ""
	}
	names := make([]string, 0, min(len(removed), 21))
	for i, p := range removed {
		if i == 20 {
			names = append(names, fmt.Sprintf("and %d more", len(removed)-i))
			break
		}
		names = append(names, fmt.Sprintf("%s (of snapshot %s, expired %s)", p.ID.Short(), p.Snapshot.Short(), timeText(p.Until)))
	}
	return fmt.Sprintf("removed %s of snapshots that are gone: %s", plural(len(removed), "expired protection"), strings.Join(names, ", "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func printForgetPlan(e *env, groups []retention.Group, o forgetPlan) {
	fmt.Fprintf(e.stdout, "%s; %s\n", o.Zone, o.Policy)
	if len(groups) == 0 {
		fmt.Fprintln(e.stdout, "no snapshots match")
		return
	}
	for _, g := range groups {
		verb := "remove"
		if o.DryRun {
			verb = "would remove"
		}
		fmt.Fprintf(e.stdout, "\n%s: keep %d, %s %d\n", cellText(g.Key.String()), len(g.Kept()), verb, len(g.Removed()))
		tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths\tAction\tReasons")
		for _, d := range g.Snapshots {
			sn := d.Snapshot
			action := "remove"
			if d.Keep {
				action = "keep"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sn.ID().Short(), zonedText(sn.Time, o.Location),
				cellText(sn.Hostname), cellText(strings.Join(sn.Tags, ",")), cellText(strings.Join(sn.Paths, " ")), action, cellText(strings.Join(d.Reasons, ", ")))
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(e.stdout)
}

// forgetNamed removes the named snapshots. All names are resolved, and
// checked against the protections (cadang protect), before the first is
// removed, so a mistyped or protected one removes nothing.
func forgetNamed(ctx context.Context, e *env, names []string, dryRun bool, rec *runlog.Record) error {
	if err := e.needLock("forget"); err != nil && !dryRun {
		return err
	}
	e.writes = !dryRun // as forgetByPolicy's
	return e.withRepo(ctx, false, func(r *repo.Repository) error {
		var ids []repo.ID
		for _, a := range names {
			id, err := snapshot.FindSnapshotID(ctx, r, a)
			if err != nil {
				err = e.snapshotIDError(ctx, r, a, err)
				if errors.Is(err, snapshot.ErrNoSnapshot) || errors.Is(err, snapshot.ErrInvalidID) || errors.Is(err, snapshot.ErrAmbiguous) {
					// A mistake in the arguments (nothing was
					// forgotten), not a failed run to follow up, as
					// for restore.
					return soprun.NotARun(err)
				}
				return err
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if err := refuseProtected(ctx, e, r, ids); err != nil {
			return err
		}
		gj := forgetGroupJSON{Keep: []forgetSnapshotJS{}, Remove: []forgetSnapshotJS{}}
		// Not recorded as forgotten (snapshot.RecordForgotten): a snapshot
		// forgotten by name is a deliberate one-off, often one that is
		// damaged here and is to be copied in again from another medium.
		for _, id := range ids {
			if e.json {
				sn, err := snapshot.LoadSnapshot(ctx, r, id)
				switch {
				case err == nil:
					gj.Remove = append(gj.Remove, forgetSnapshotJSON(sn, e.displayZone(), nil))
				case snapshotUnreadable(err):
					// Only its ID is known.
					gj.Remove = append(gj.Remove, forgetSnapshotJS{snapshotJSON: snapshotJSON{ID: id.String(), ShortID: id.Short()}, Reasons: []string{}})
				default:
					return err
				}
			}
			if dryRun {
				if !e.json {
					fmt.Fprintf(e.stdout, "would remove snapshot %s\n", id.Short())
				}
				continue
			}
			if err := r.RemoveFile(ctx, repo.SnapshotFile, id); err != nil {
				return err
			}
			rec.Snapshots = append(rec.Snapshots, id.String())
			if rec.Forget == nil {
				rec.Forget = &runlog.ForgetInfo{}
			}
			rec.Forget.Removed = append(rec.Forget.Removed, runlog.ForgetItem{Snapshot: id.String(), Reasons: []string{"named"}})
			if !e.json {
				fmt.Fprintf(e.stdout, "removed snapshot %s\n", id.Short())
			}
		}
		if e.json {
			return e.printJSON([]forgetGroupJSON{gj})
		}
		return nil
	})
}

// refuseProtected fails, naming each, if a protection that holds now
// covers one of the snapshots. A snapshot file that cannot be read can
// still be forgotten (it restores nothing, and prune cannot run while it
// stays). If it is junk (foreign, or opening to no snapshot) only a
// protection that names it counts; if it is a genuine snapshot damaged on
// the medium, so does every protection that may cover it through a tag
// change, since its original is inside the file (MayCoverUnreadable): a
// good copy of the file put back would restore it.
func refuseProtected(ctx context.Context, e *env, r *repo.Repository, ids []repo.ID) error {
	ps, err := snapshot.ProtectionsPassing(ctx, r, e.warnForeignProtection)
	if err != nil || len(ps) == 0 {
		return err
	}
	now := time.Now()
	var readable map[repo.ID]bool
	var errs []error
	for _, id := range ids {
		var ok bool
		var p snapshot.Protection
		sn, err := snapshot.LoadSnapshot(ctx, r, id)
		switch {
		case err == nil:
			ok, p = snapshot.ProtectionOf(ps, sn, now)
		case errors.Is(err, repo.ErrForeignFile) || errors.Is(err, snapshot.ErrInvalidSnapshot):
			e.warnf("snapshot %s cannot be read (%v): it was not written as a snapshot of this repository, so only protections that name it were checked", id.Short(), err)
			ok, p = snapshot.IsProtected(ps, id, now)
		case repo.IsDamaged(err):
			if readable == nil {
				var lerr error
				if readable, lerr = readableSnapshots(ctx, r); lerr != nil {
					return lerr
				}
			}
			if may := snapshot.MayCoverUnreadable(ps, id, func(id repo.ID) bool { return readable[id] }, now); len(may) > 0 {
				// Whole IDs: protect --remove resolves a prefix against the
				// snapshot files first, and junk can be ground to share one.
				var lift []string
				for _, p := range may {
					if !slices.Contains(lift, p.Snapshot.String()) {
						lift = append(lift, p.Snapshot.String())
					}
				}
				errs = append(errs, fmt.Errorf("snapshot %s may be protected: its file changed since it was saved, so it was most likely a genuine snapshot (%v), "+
					"and %d protection(s) may cover it through a tag change, which cannot be told while it cannot be read; 'cadang protect --remove %s' lifts them (protect again what must stay)",
					id.Short(), err, len(may), strings.Join(lift, " ")))
			}
			continue
		default:
			return err
		}
		if ok {
			errs = append(errs, fmt.Errorf("snapshot %s is protected %s; %s", id.Short(), p.Describe(e.orgZone()), liftHint(p, id)))
		}
	}
	// Nothing was forgotten, as asked: no failed run to follow up (a
	// before-change backup is protected by its run, README).
	return soprun.NotARun(errors.Join(errs...))
}

// liftHint says how to lift protection p of snapshot id. It names id, not
// the snapshot p names: after a tag change (a new ID) p names the old one,
// which protect --remove no longer finds. One that copy wrote must be
// lifted on the repository it was copied from first: lifted here alone,
// the next copy writes it again (README).
func liftHint(p snapshot.Protection, id repo.ID) string {
	if f := p.CopiedFrom; f != nil {
		return fmt.Sprintf("it was copied from %s: lift it there first ('cadang protect --remove %s' on that repository), or the next copy puts it back; then 'cadang protect --remove %s' lifts it here",
			copiedFromText(f), f.Snapshot.Short(), id.Short())
	}
	return fmt.Sprintf("'cadang protect --remove %s' lifts it", id.Short())
}

// readableSnapshots returns the IDs of the snapshots that can be read.
func readableSnapshots(ctx context.Context, r *repo.Repository) (map[repo.ID]bool, error) {
	sns, err := snapshot.ListSnapshotsWhole(ctx, r, snapshot.Filter{}, func(_ repo.ID, err error) error {
		if snapshotUnreadable(err) || errors.Is(err, repo.ErrUnsupportedVersion) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[repo.ID]bool, len(sns))
	for _, sn := range sns {
		out[sn.ID()] = true
	}
	return out, nil
}

// snapshotUnreadable reports whether err says that a snapshot file is
// damaged or holds no snapshot, as opposed to a fault of the backend or a
// newer format.
func snapshotUnreadable(err error) bool {
	return repo.IsDamaged(err) || errors.Is(err, snapshot.ErrInvalidSnapshot)
}
