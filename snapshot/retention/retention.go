// Package retention decides which snapshots a retention policy keeps, and
// forgets the others: a policy in, a plan out, then apply.
//
// The rules are restic's (`restic forget --keep-*`), so that policies and
// scripts carry over:
//
//   - the snapshots are divided into groups (by host and paths unless
//     GroupBy says otherwise), and each group is planned on its own, its
//     snapshots newest first;
//   - Last keeps the n newest snapshots; Hourly, Daily, Weekly, Monthly and
//     Yearly keep the newest snapshot of each of the n newest hours, days,
//     ISO weeks, months and years that have a snapshot; a negative count
//     keeps one for every such period;
//   - when a counted rule has counts left after the oldest snapshot of the
//     group, the oldest snapshot is kept too (it carries the rule's reason,
//     as "oldest daily snapshot" when a newer one stands for its day), so
//     that a young series keeps its whole history;
//   - Within keeps every snapshot newer than the group's newest snapshot
//     minus the duration (the newest that is not after Options.Now, so
//     that backups that stop do not age everything out);
//   - Tags keeps every snapshot that has all tags of one of the lists;
//   - a snapshot is kept if any rule keeps it. Snapshots kept by a tag or by
//     protection still take their place in the counted rules, as in
//     restic.
//
// Unlike restic, the hours, days, weeks, months and years are those of
// Options.Location (the SOP's time zone), not of the zone each snapshot's
// time was recorded in, so that two backups at 23:30 and 00:30 WIB are on
// two days wherever they were made. Options.Protected marks snapshots that
// no policy may forget (reason "protected: ...").
//
// Plan only decides; Forget removes the snapshot files of the snapshots a
// plan does not keep. Their data stays in the repository until a prune.
package retention

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Policy says which snapshots to keep. The zero Policy keeps everything
// (Plan refuses to forget by an empty policy).
type Policy struct {
	// Last keeps the n newest snapshots.
	Last int
	// Hourly, Daily, Weekly, Monthly and Yearly keep the newest snapshot of
	// each of the n newest hours, days, ISO weeks, months and years that
	// have one. A negative count means all of them.
	Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every snapshot within this span of the newest snapshot
	// of its group.
	Within Duration
	// Tags keeps the snapshots that have all tags of at least one of the
	// lists (restic's --keep-tag a,b --keep-tag c: (a AND b) OR c).
	Tags [][]string
}

// IsZero reports whether the policy has no rule.
func (p Policy) IsZero() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 &&
		p.Within.IsZero() && len(p.Tags) == 0
}

// String describes the policy, e.g. "keep 7 daily, 4 weekly snapshots and
// all within 30d of the newest".
func (p Policy) String() string {
	var counted []string
	one := false
	for _, c := range []struct {
		n    int
		name string
	}{{p.Last, "latest"}, {p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		switch {
		case c.n > 0:
			counted = append(counted, fmt.Sprintf("%d %s", c.n, c.name))
			one = c.n == 1
		case c.n < 0:
			counted = append(counted, "all "+c.name)
		}
	}
	var parts []string
	switch {
	case len(counted) == 1 && one:
		parts = append(parts, counted[0]+" snapshot")
	case len(counted) > 0:
		parts = append(parts, strings.Join(counted, ", ")+" snapshots")
	}
	if len(p.Tags) > 0 {
		tl := make([]string, len(p.Tags))
		for i, t := range p.Tags {
			tl[i] = strings.Join(t, ",")
		}
		parts = append(parts, "all with tags "+strings.Join(tl, " or "))
	}
	if !p.Within.IsZero() {
		parts = append(parts, "all within "+p.Within.String()+" of the newest")
	}
	if len(parts) == 0 {
		return "keep everything (empty policy)"
	}
	return "keep " + strings.Join(parts, " and ")
}

// GroupBy says which fields divide the snapshots into groups that are
// planned separately. The zero GroupBy puts all snapshots in one group.
type GroupBy struct {
	Host, Paths, Tags bool
}

// DefaultGroupBy is restic's default: host and paths.
var DefaultGroupBy = GroupBy{Host: true, Paths: true}

// ParseGroupBy parses a comma-separated list of host, paths and tags
// (singular forms too, as restic accepts them); "" means no grouping.
func ParseGroupBy(s string) (GroupBy, error) {
	var g GroupBy
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "host", "hosts":
			g.Host = true
		case "path", "paths":
			g.Paths = true
		case "tag", "tags":
			g.Tags = true
		default:
			return GroupBy{}, fmt.Errorf("invalid group-by %q: use a comma-separated list of host, paths and tags, or \"\"", s)
		}
	}
	return g, nil
}

// String writes g as ParseGroupBy reads it ("host,paths").
func (g GroupBy) String() string {
	var f []string
	if g.Host {
		f = append(f, "host")
	}
	if g.Paths {
		f = append(f, "paths")
	}
	if g.Tags {
		f = append(f, "tags")
	}
	return strings.Join(f, ",")
}

// Options says how Plan applies a policy.
type Options struct {
	// GroupBy divides the snapshots into groups (the zero value: one group).
	GroupBy GroupBy
	// Location is the time zone of the hours, days, weeks, months and
	// years; nil means time.Local.
	Location *time.Location
	// Now is the current time (zero: time.Now()). Within counts back from
	// the newest snapshot that is not after Now.
	Now time.Time
	// Protected, if not nil, reports whether a snapshot must be kept
	// whatever the policy says, and why. A protected snapshot is kept with
	// the reason "protected: WHY" ("protected" if why is empty).
	Protected func(*snapshot.Snapshot) (bool, string)
}

// GroupKey is what the snapshots of a group share: only the fields that
// GroupBy names are set. Paths and Tags are sorted.
type GroupKey struct {
	Hostname string   `json:"hostname,omitempty"`
	Paths    []string `json:"paths,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// String describes the key, e.g. "host srv1, paths /srv/spse /etc"; "all
// snapshots" when nothing is grouped.
func (k GroupKey) String() string {
	var f []string
	if k.Hostname != "" {
		f = append(f, "host "+k.Hostname)
	}
	if len(k.Paths) > 0 {
		f = append(f, "paths "+strings.Join(k.Paths, " "))
	}
	if len(k.Tags) > 0 {
		f = append(f, "tags "+strings.Join(k.Tags, ","))
	}
	if len(f) == 0 {
		return "all snapshots"
	}
	return strings.Join(f, ", ")
}

func (k GroupKey) id() string {
	return k.Hostname + "\x00" + strings.Join(k.Paths, "\x01") + "\x00" + strings.Join(k.Tags, "\x01")
}

// Decision is what the plan does with one snapshot.
type Decision struct {
	Snapshot *snapshot.Snapshot
	// Keep is true for a snapshot that stays.
	Keep bool
	// Reasons name the rules that keep the snapshot, in the order
	// protection, tags, within, last, hourly, daily, weekly, monthly,
	// yearly: e.g. "protected: before-change", "tag monthly", "within 30d",
	// "last snapshot", "daily snapshot". Empty when Keep is false.
	Reasons []string
}

// Group is the plan for one group of snapshots.
type Group struct {
	Key GroupKey
	// Snapshots are the group's snapshots, newest first (equal times in
	// descending ID order, the reverse of snapshot.ListSnapshots).
	Snapshots []Decision
}

// Kept returns the snapshots the plan keeps, newest first.
func (g Group) Kept() []*snapshot.Snapshot { return g.pick(true) }

// Removed returns the snapshots the plan forgets, newest first.
func (g Group) Removed() []*snapshot.Snapshot { return g.pick(false) }

func (g Group) pick(keep bool) []*snapshot.Snapshot {
	var out []*snapshot.Snapshot
	for _, d := range g.Snapshots {
		if d.Keep == keep {
			out = append(out, d.Snapshot)
		}
	}
	return out
}

// Plan applies p to sns and returns one Group per group, ordered by key
// (host, then paths, then tags). It does not change the repository. An
// empty policy keeps every snapshot.
func Plan(sns []*snapshot.Snapshot, p Policy, o Options) []Group {
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	byKey := map[string]*Group{}
	var groups []*Group
	for _, sn := range sns {
		k := keyOf(sn, o.GroupBy)
		g := byKey[k.id()]
		if g == nil {
			g = &Group{Key: k}
			byKey[k.id()] = g
			groups = append(groups, g)
		}
		g.Snapshots = append(g.Snapshots, Decision{Snapshot: sn})
	}
	slices.SortFunc(groups, func(a, b *Group) int {
		if c := strings.Compare(a.Key.Hostname, b.Key.Hostname); c != 0 {
			return c
		}
		if c := slices.Compare(a.Key.Paths, b.Key.Paths); c != 0 {
			return c
		}
		return slices.Compare(a.Key.Tags, b.Key.Tags)
	})
	out := make([]Group, len(groups))
	for i, g := range groups {
		planGroup(g, p, o.Protected, loc, now)
		out[i] = *g
	}
	return out
}

func keyOf(sn *snapshot.Snapshot, g GroupBy) GroupKey {
	var k GroupKey
	if g.Host {
		k.Hostname = sn.Hostname
	}
	if g.Paths {
		k.Paths = sortedSet(sn.Paths, path.Clean)
	}
	if g.Tags {
		k.Tags = sortedSet(sn.Tags, func(s string) string { return s })
	}
	return k
}

func sortedSet(in []string, clean func(string) string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, clean(s))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bucket is one counted rule.
type bucket struct {
	count  int
	period func(t time.Time, nr int) int
	reason string
	last   int
	used   bool
}

func planGroup(g *Group, p Policy, protected func(*snapshot.Snapshot) (bool, string), loc *time.Location, now time.Time) {
	ds := g.Snapshots
	slices.SortFunc(ds, func(a, b Decision) int {
		if c := b.Snapshot.Time.Compare(a.Snapshot.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Snapshot.ID().String(), a.Snapshot.ID().String())
	})
	buckets := []*bucket{
		{count: p.Last, reason: "last snapshot", period: func(_ time.Time, nr int) int { return nr }},
		{count: p.Hourly, reason: "hourly snapshot", period: func(t time.Time, _ int) int {
			return t.Year()*1000000 + int(t.Month())*10000 + t.Day()*100 + t.Hour()
		}},
		{count: p.Daily, reason: "daily snapshot", period: func(t time.Time, _ int) int {
			return t.Year()*10000 + int(t.Month())*100 + t.Day()
		}},
		{count: p.Weekly, reason: "weekly snapshot", period: func(t time.Time, _ int) int {
			y, w := t.ISOWeek()
			return y*100 + w
		}},
		{count: p.Monthly, reason: "monthly snapshot", period: func(t time.Time, _ int) int {
			return t.Year()*100 + int(t.Month())
		}},
		{count: p.Yearly, reason: "yearly snapshot", period: func(t time.Time, _ int) int { return t.Year() }},
	}
	var cutoff time.Time
	if !p.Within.IsZero() {
		var newest time.Time
		for _, d := range ds {
			if t := d.Snapshot.Time; !t.After(now) && t.After(newest) {
				newest = t
			}
		}
		cutoff = p.Within.Before(newest.In(loc))
	}
	empty := p.IsZero()
	for nr := range ds {
		d := &ds[nr]
		sn := d.Snapshot
		if protected != nil {
			if ok, why := protected(sn); ok {
				r := "protected"
				if why != "" {
					r += ": " + why
				}
				d.Reasons = append(d.Reasons, r)
			}
		}
		if empty {
			d.Keep = true
			d.Reasons = append(d.Reasons, "empty policy")
			continue
		}
		for _, tl := range p.Tags {
			if len(tl) > 0 && sn.HasTags(tl) {
				d.Reasons = append(d.Reasons, "tag "+strings.Join(tl, ","))
			}
		}
		if !p.Within.IsZero() && sn.Time.After(cutoff) {
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		t := sn.Time.In(loc)
		for _, b := range buckets {
			if b.count == 0 {
				continue
			}
			v := b.period(t, nr)
			if b.used && v == b.last && nr != len(ds)-1 {
				continue
			}
			reason := b.reason
			if b.used && v == b.last {
				// The oldest of a young series, kept in a period that a
				// newer one already stands for: named so, or the two
				// read alike.
				reason = "oldest " + reason
			}
			b.last, b.used = v, true
			if b.count > 0 {
				b.count--
			}
			d.Reasons = append(d.Reasons, reason)
		}
		d.Keep = len(d.Reasons) > 0
	}
}

// Remover removes snapshot files, and saves the record of what it removed
// (snapshot.RecordForgotten); *repo.Repository and snapshottest.Repo
// implement it.
type Remover interface {
	snapshot.FileRewriter
}

// Forget removes the snapshot file of every snapshot that groups do not
// keep, group by group, newest first, and returns the IDs it removed. It
// stops at the first error and returns what it removed before. Then it
// records those it removed in a forgotten file (snapshot.RecordForgotten),
// so that a copy into the repository does not bring back what the policy
// dropped; a record that cannot be saved (an older REST server has no
// forgotten/) makes the error wrap snapshot.ErrNotRecorded. Every removal
// was done only when that is the sole error (removed holds all the groups
// remove). The data of the removed snapshots stays in the repository
// until a prune.
func Forget(ctx context.Context, r Remover, groups []Group) ([]repo.ID, error) {
	var removed []repo.ID
	var gone []snapshot.ForgottenSnapshot
	var err error
remove:
	for _, g := range groups {
		for _, sn := range g.Removed() {
			if err = ctx.Err(); err != nil {
				break remove
			}
			if rerr := r.RemoveFile(ctx, repo.SnapshotFile, sn.ID()); rerr != nil {
				err = fmt.Errorf("forget snapshot %s: %w", sn.ID().Short(), rerr)
				break remove
			}
			removed = append(removed, sn.ID())
			gone = append(gone, snapshot.ForgottenOf(sn, time.Now()))
		}
	}
	if rerr := snapshot.RecordForgotten(context.WithoutCancel(ctx), r, gone); rerr != nil {
		rerr = fmt.Errorf("%d snapshot(s) %w (a copy into this repository may bring them back): %v", len(gone), snapshot.ErrNotRecorded, rerr)
		if err == nil {
			return removed, rerr
		}
		err = errors.Join(err, rerr)
	}
	return removed, err
}
