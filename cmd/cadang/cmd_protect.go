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

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
)

// protectCommand protects snapshots from forget (package snapshot's
// Protect), lifts protections and lists them. Protections are files of
// their own (repo.ProtectFile): the snapshot files are never rewritten.
// It is not recorded in the run log: the log has no operation for it.
// Protection files that cannot be read stop every forget; --list names
// them and --remove-unreadable removes them.
func protectCommand() *cli.Command {
	return &cli.Command{
		Name:      "protect",
		Usage:     "protect snapshots from forget, lift protections (--remove) or list them (--list)",
		ArgsUsage: "SNAPSHOT...",
		Description: `Protects the named snapshots (ID prefixes or "latest"): forget refuses to remove a protected
snapshot by name, and no retention policy forgets it (forget and 'cadang run' keep it with the reason
"protected: REASON").

  --for DURATION   the protection ends DURATION from now: 90d, 2w, 1y6m (y years, m MONTHS, w weeks,
                   d days, h hours)
  --until DATE     the protection ends at the start of DATE (2006-01-02, in the SOP configuration's
                   [organization] timezone, else the local time zone; --utc does not change it)

Without either, the protection has no end. Protecting a snapshot again adds a protection; the one that
lasts longest counts. An expired protection no longer counts; --remove deletes it with the others, and
forget with a policy deletes it once its snapshot (and every tag change of it) is gone, naming it.

  cadang protect --remove SNAPSHOT...   lifts every protection of the snapshots (also one made
                                        before a tag change gave the snapshot its ID)
  cadang protect --list                 lists the protections (--json: one line)
  cadang protect --remove-unreadable    removes the protection files that cannot be read

While a protection file cannot be read (damaged on the medium, or sealed with the key but holding no
protection), forget refuses to run: nobody can tell which snapshots it protects. Junk that someone without
the password put in protected/ was never a protection, and forget passes over it with a warning. --list
names all such files; --remove-unreadable removes them, after which protect again any snapshot that must
stay.

A protection covers the snapshot it names and the snapshot that 'cadang tag' makes from it. It holds
on every medium the snapshot is copied to: 'cadang copy' writes it there too (--list shows it as
"copied from"), so lift it on the source first; lifted on a copy alone, the next copy writes it again.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "for", Usage: "protect for `DURATION` from now (90d, 2w, 1y6m; m is months)"},
			&cli.StringFlag{Name: "until", Usage: "protect until the start of `DATE` (2006-01-02, in [organization] timezone, else local time)"},
			&cli.StringFlag{Name: "reason", Usage: "why the snapshots are protected (shown by forget and --list)"},
			&cli.BoolFlag{Name: "remove", Usage: "lift every protection of the snapshots"},
			&cli.BoolFlag{Name: "list", Usage: "list the protections"},
			&cli.BoolFlag{Name: "remove-unreadable", Usage: "remove the protection files that cannot be read, which stop every forget"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			names := c.Args().Slice()
			setting := c.IsSet("for") || c.IsSet("until") || c.IsSet("reason")
			switch {
			case c.Bool("remove-unreadable"):
				if len(names) > 0 || setting || c.Bool("list") || c.Bool("remove") {
					return errors.New("protect --remove-unreadable takes no snapshots and no other flag")
				}
				// Marked a writer before the repository is opened: a
				// read-only medium then fails it, instead of letting it
				// open without a lock and write (the hostile review of
				// 2026-12-08).
				if err := e.needLock("protect --remove-unreadable"); err != nil {
					return err
				}
				return e.withRepo(c.Context, false, func(r *repo.Repository) error {
					return removeUnreadableProtections(c.Context, e, r)
				})
			case c.Bool("list") && c.Bool("remove"):
				return errors.New("protect: --list and --remove exclude each other")
			case c.Bool("list"):
				if len(names) > 0 || setting {
					return errors.New("protect --list takes no snapshots and no --for, --until or --reason")
				}
				return e.withRepo(c.Context, false, func(r *repo.Repository) error {
					return listProtections(c.Context, e, r)
				})
			case len(names) == 0:
				return errors.New("protect: name the snapshots (or give --list)")
			case c.Bool("remove"):
				if setting {
					return errors.New("protect --remove takes no --for, --until or --reason")
				}
				if err := e.needLock("protect --remove"); err != nil {
					return err
				}
				return e.withRepo(c.Context, false, func(r *repo.Repository) error {
					return unprotectNamed(c.Context, e, r, names)
				})
			}
			// A date is a calendar day: read in the zone the retention's
			// days are counted in, whatever --utc prints.
			loc, _ := e.calendarZone()
			until, err := protectUntil(c, e.now(), loc)
			if err != nil {
				return err
			}
			if err := e.needLock("protect"); err != nil {
				return err
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				return protectNamed(c.Context, e, r, names, until, c.String("reason"))
			})
		},
	}
}

// protectUntil returns the end of a new protection from --for or --until,
// or zero (no end). It must lie after now; --until is a date in loc.
func protectUntil(c *cli.Context, now time.Time, loc *time.Location) (time.Time, error) {
	var until time.Time
	switch {
	case c.IsSet("for") && c.IsSet("until"):
		return until, errors.New("protect: give --for or --until, not both")
	case c.IsSet("for"):
		d, err := retention.ParseDuration(c.String("for"))
		if err != nil {
			return until, fmt.Errorf("--for: %w", err)
		}
		until = now.AddDate(d.Years, d.Months, d.Days).Add(time.Duration(d.Hours) * time.Hour)
	case c.IsSet("until"):
		t, err := time.ParseInLocation(time.DateOnly, c.String("until"), loc)
		if err != nil {
			return until, fmt.Errorf("--until %q: give a date as 2006-01-02", c.String("until"))
		}
		if !t.After(now) {
			return until, fmt.Errorf("--until %s: the date has passed", c.String("until"))
		}
		until = t
	}
	if !until.IsZero() && !until.After(now) {
		return time.Time{}, fmt.Errorf("--for %s: give a span longer than zero", c.String("for"))
	}
	return until, nil
}

// protectionJS is a protection as `protect --json` prints it. until is
// absent for a protection without end.
type protectionJS struct {
	ID       string     `json:"id"`
	Snapshot string     `json:"snapshot"`
	ShortID  string     `json:"short_id"`
	Until    *time.Time `json:"until,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Host     string     `json:"host,omitempty"`
	Username string     `json:"username,omitempty"`
	Time     time.Time  `json:"time"`
	Active   bool       `json:"active"`
	// Exists is false when the snapshot is gone (only --list says).
	Exists *bool `json:"snapshot_exists,omitempty"`
	// CopiedFrom is where copy took the protection from, if it did.
	CopiedFrom *snapshot.CopiedFrom `json:"copied_from,omitempty"`
}

func protectionJSON(p snapshot.Protection, now time.Time, loc *time.Location) protectionJS {
	pj := protectionJS{ID: p.ID.String(), Snapshot: p.Snapshot.String(), ShortID: p.Snapshot.Short(), Reason: p.Reason,
		Host: p.Host, Username: p.Username, Time: p.Time.In(loc), Active: p.Active(now), CopiedFrom: p.CopiedFrom}
	if !p.Until.IsZero() {
		u := p.Until.In(loc)
		pj.Until = &u
	}
	return pj
}

// protectNamed resolves every name before it protects any, so that a
// mistyped one protects nothing.
func protectNamed(ctx context.Context, e *env, r *repo.Repository, names []string, until time.Time, reason string) error {
	if err := e.needLock("protect"); err != nil {
		return err
	}
	var sns []*snapshot.Snapshot
	for _, a := range names {
		sn, err := e.findSnapshot(ctx, r, a, snapshot.Filter{})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(sns, func(x *snapshot.Snapshot) bool { return x.ID() == sn.ID() }) {
			sns = append(sns, sn)
		}
	}
	out := []protectionJS{}
	now := e.now()
	for _, sn := range sns {
		id := sn.ID()
		p, err := snapshot.ProtectSnapshotAt(ctx, r, sn, until, reason, now)
		if err != nil {
			return err
		}
		if e.json {
			out = append(out, protectionJSON(p, now, e.displayZone()))
		} else {
			fmt.Fprintf(e.stdout, "protected snapshot %s %s\n", id.Short(), e.protectionText(p))
		}
	}
	if e.json {
		return e.printJSON(out)
	}
	return nil
}

// unprotectNamed lifts the protections of the named snapshots. A name that
// no snapshot has may still name a protection whose snapshot is gone.
func unprotectNamed(ctx context.Context, e *env, r *repo.Repository, names []string) error {
	if err := e.needLock("protect --remove"); err != nil {
		return err
	}
	ps, bad, err := snapshot.LoadProtections(ctx, r)
	if err != nil {
		return err
	}
	warnUnreadableProtections(e, bad)
	var ids []repo.ID
	// sns holds the snapshots that exist, by ID: their protections are
	// those that cover them, also through a tag change (which gives a
	// snapshot a new ID and leaves its protections naming the old one).
	sns := map[repo.ID]*snapshot.Snapshot{}
	for _, a := range names {
		var id repo.ID
		if a == "latest" {
			sn, err := e.findSnapshot(ctx, r, a, snapshot.Filter{})
			if err != nil {
				return err
			}
			id, sns[sn.ID()] = sn.ID(), sn
		} else {
			id, err = snapshot.FindSnapshotID(ctx, r, a)
			if errors.Is(err, snapshot.ErrNoSnapshot) {
				id, err = protectedID(ps, a, err)
			}
			if err != nil {
				return e.snapshotIDError(ctx, r, a, err)
			}
			// One that cannot be read lifts what names its ID.
			if sn, lerr := snapshot.LoadSnapshot(ctx, r, id); lerr == nil {
				sns[id] = sn
			}
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	type removedJS struct {
		Snapshot string `json:"snapshot"`
		Removed  int    `json:"removed"`
	}
	out := []removedJS{}
	for _, id := range ids {
		covers := func(p snapshot.Protection) bool { return p.Snapshot == id }
		unprotect := func() (int, error) { return snapshot.Unprotect(ctx, r, id) }
		if sn := sns[id]; sn != nil {
			covers = func(p snapshot.Protection) bool { return p.Covers(sn) }
			unprotect = func() (int, error) { return snapshot.UnprotectSnapshot(ctx, r, sn) }
		}
		n, err := unprotect()
		if err != nil {
			return err
		}
		out = append(out, removedJS{Snapshot: id.String(), Removed: n})
		if e.json {
			continue
		}
		if n == 0 {
			fmt.Fprintf(e.stdout, "snapshot %s was not protected\n", id.Short())
		} else {
			fmt.Fprintf(e.stdout, "lifted the protection of snapshot %s (%s removed)\n", id.Short(), plural(n, "protection file"))
		}
		for _, f := range copiedFroms(ps, covers) {
			fmt.Fprintf(e.stdout, "note: a protection of snapshot %s was copied from %s: lift it there first, or the next copy puts it back\n",
				id.Short(), copiedFromText(f))
		}
	}
	if e.json {
		return e.printJSON(out)
	}
	return nil
}

// copiedFroms returns where the protections in ps that copy wrote, of
// those that covers picks (a snapshot's), came from, each source once.
func copiedFroms(ps []snapshot.Protection, covers func(snapshot.Protection) bool) []*snapshot.CopiedFrom {
	var out []*snapshot.CopiedFrom
	for _, p := range ps {
		if !covers(p) || p.CopiedFrom == nil {
			continue
		}
		if !slices.ContainsFunc(out, func(f *snapshot.CopiedFrom) bool {
			return f.Repository == p.CopiedFrom.Repository && f.Snapshot == p.CopiedFrom.Snapshot
		}) {
			out = append(out, p.CopiedFrom)
		}
	}
	return out
}

// protectedID resolves a prefix against the snapshots that protections
// name (for a snapshot that is gone); notFound is the error when none does.
func protectedID(ps []snapshot.Protection, prefix string, notFound error) (repo.ID, error) {
	prefix = strings.ToLower(prefix)
	var found []repo.ID
	for _, p := range ps {
		if strings.HasPrefix(p.Snapshot.String(), prefix) && !slices.Contains(found, p.Snapshot) {
			found = append(found, p.Snapshot)
		}
	}
	switch len(found) {
	case 0:
		return repo.ID{}, notFound
	case 1:
		return found[0], nil
	}
	return repo.ID{}, fmt.Errorf("%w: %s matches %d protected snapshots", snapshot.ErrAmbiguous, prefix, len(found))
}

// warnUnreadableProtections warns of each protection file that cannot be
// read, and says what it stops and what removes it.
func warnUnreadableProtections(e *env, bad []snapshot.UnreadableProtection) {
	stops := false
	for _, f := range bad {
		if errors.Is(f.Err, repo.ErrForeignFile) {
			e.warnForeignProtection(f)
			continue
		}
		stops = true
		e.warnf("protection file %s cannot be read: %v", f.ID.Short(), f.Err)
	}
	if stops {
		e.warnf("forget refuses to run while a protection file cannot be read; 'cadang protect --remove-unreadable' removes such files (then protect again any snapshot that must stay)")
	}
}

// warnForeignProtection warns of a foreign protection file, which forget
// passes over.
func (e *env) warnForeignProtection(f snapshot.UnreadableProtection) {
	e.warnf("protection file %s is passed over: it was not written with this repository's key (junk that someone who can write to the storage added); 'cadang protect --remove-unreadable' removes it", f.ID.Short())
}

// removeUnreadableProtections removes the protection files that cannot be
// read, naming each.
func removeUnreadableProtections(ctx context.Context, e *env, r *repo.Repository) error {
	if err := e.needLock("protect"); err != nil {
		return err
	}
	removed, err := snapshot.RemoveUnreadableProtections(ctx, r)
	out := []string{}
	for _, f := range removed {
		out = append(out, f.ID.String())
		if !e.json {
			fmt.Fprintf(e.stdout, "removed protection file %s, which cannot be read: %v\n", f.ID.Short(), f.Err)
		}
	}
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(map[string]any{"removed": out})
	}
	if len(removed) == 0 {
		fmt.Fprintln(e.stdout, "every protection file can be read; nothing was removed")
	} else {
		fmt.Fprintln(e.stdout, "what the removed files protected cannot be known: 'cadang protect --list' shows the protections left; protect again any snapshot that must stay")
	}
	return nil
}

func listProtections(ctx context.Context, e *env, r *repo.Repository) error {
	ps, bad, err := snapshot.LoadProtections(ctx, r)
	if err != nil {
		return err
	}
	warnUnreadableProtections(e, bad)
	exists := map[repo.ID]bool{}
	if err := r.ListFiles(ctx, repo.SnapshotFile, func(id repo.ID) error {
		exists[id] = true
		return nil
	}); err != nil {
		return err
	}
	now := e.now()
	if e.json {
		out := make([]protectionJS, len(ps))
		for i, p := range ps {
			out[i] = protectionJSON(p, now, e.displayZone())
			ok := exists[p.Snapshot]
			out[i].Exists = &ok
		}
		return e.printJSON(out)
	}
	if len(ps) == 0 {
		if len(bad) == 0 {
			fmt.Fprintln(e.stdout, "no protected snapshots")
		} else {
			fmt.Fprintf(e.stdout, "no readable protections; %s cannot be read\n", plural(len(bad), "protection file"))
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "Snapshot\tUntil\tReason\tStatus\tBy\tCreated")
	active := 0
	for _, p := range ps {
		until := "forever"
		if !p.Until.IsZero() {
			until = zonedText(p.Until, e.orgZone())
		}
		status := "active"
		if !p.Active(now) {
			status = "expired"
		} else {
			active++
		}
		if !exists[p.Snapshot] {
			status += ", snapshot gone"
		}
		if f := p.CopiedFrom; f != nil {
			status += ", copied from " + copiedFromText(f)
		}
		by := p.Username
		if p.Host != "" {
			by += "@" + p.Host
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Snapshot.Short(), until, cellText(p.Reason), status, cellText(by), e.timeText(p.Time))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s, %d active", plural(len(ps), "protection"), active)
	if len(bad) > 0 {
		fmt.Fprintf(e.stdout, "; %s cannot be read", plural(len(bad), "protection file"))
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// copiedFromText names where a copied protection came from: the source
// repository (its ID's first 8 digits) and the source's snapshot.
func copiedFromText(f *snapshot.CopiedFrom) string {
	s := "snapshot " + f.Snapshot.Short()
	if f.Repository != "" {
		s = fmt.Sprintf("repository %.8s %s", f.Repository, s)
	}
	return s
}
