package retention_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// snap describes a test snapshot: a label (unique), its time (RFC 3339,
// or "2006-01-02 15:04" in UTC), host, paths and tags.
type snap struct {
	label string
	time  string
	host  string
	paths []string
	tags  []string
}

func parseTime(t testing.TB, s string) time.Time {
	t.Helper()
	if tm, err := time.Parse(time.RFC3339, s); err == nil {
		return tm
	}
	tm, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatalf("bad test time %q", s)
	}
	return tm
}

// save stores the snapshots in r (so that they have IDs) and returns them
// with a map from ID to label.
func save(t testing.TB, r *snapshottest.Repo, in []snap) ([]*snapshot.Snapshot, map[repo.ID]string) {
	t.Helper()
	labels := map[repo.ID]string{}
	var out []*snapshot.Snapshot
	for _, s := range in {
		host := s.host
		if host == "" {
			host = "srv1"
		}
		paths := s.paths
		if paths == nil {
			paths = []string{"/srv/spse"}
		}
		sn := &snapshot.Snapshot{Time: parseTime(t, s.time), Hostname: host, Paths: paths, Tags: s.tags,
			Reason: s.label} // the label makes every snapshot file (and ID) distinct
		id, err := snapshot.SaveSnapshot(context.Background(), r, sn)
		if err != nil {
			t.Fatal(err)
		}
		labels[id] = s.label
		out = append(out, sn)
	}
	return out, labels
}

// render writes a plan as "GROUP: label keep(reason; reason) label remove ..."
// one group per line.
func render(groups []retention.Group, labels map[repo.ID]string) string {
	var lines []string
	for _, g := range groups {
		var f []string
		for _, d := range g.Snapshots {
			if d.Keep {
				f = append(f, labels[d.Snapshot.ID()]+" keep("+strings.Join(d.Reasons, "; ")+")")
			} else {
				if len(d.Reasons) > 0 {
					f = append(f, labels[d.Snapshot.ID()]+" BAD-REASONS")
				}
				f = append(f, labels[d.Snapshot.ID()]+" remove")
			}
		}
		lines = append(lines, g.Key.String()+": "+strings.Join(f, " "))
	}
	return strings.Join(lines, "\n")
}

var jakarta = mustLoad("Asia/Jakarta")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// now is after every test snapshot unless a test says otherwise.
var now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestPlan(t *testing.T) {
	// Four days, two snapshots a day, in UTC.
	days := []snap{
		{label: "d1a", time: "2026-11-01 02:00"}, {label: "d1b", time: "2026-11-01 14:00"},
		{label: "d2a", time: "2026-11-02 02:00"}, {label: "d2b", time: "2026-11-02 14:00"},
		{label: "d3a", time: "2026-11-03 02:00"}, {label: "d3b", time: "2026-11-03 14:00"},
		{label: "d4a", time: "2026-11-04 02:00"}, {label: "d4b", time: "2026-11-04 14:00"},
	}
	all := func(reason string, labels ...string) string {
		var f []string
		for _, l := range labels {
			f = append(f, l+" keep("+reason+")")
		}
		return strings.Join(f, " ")
	}
	for _, tc := range []struct {
		name  string
		snaps []snap
		p     retention.Policy
		o     retention.Options
		want  string
	}{
		{name: "empty policy keeps all", snaps: days[:3], p: retention.Policy{},
			want: "host srv1, paths /srv/spse: " + all("empty policy", "d2a", "d1b", "d1a")},
		{name: "last", snaps: days, p: retention.Policy{Last: 3},
			want: "host srv1, paths /srv/spse: " + all("last snapshot", "d4b", "d4a", "d3b") + " d3a remove d2b remove d2a remove d1b remove d1a remove"},
		{name: "last more than there are", snaps: days[:2], p: retention.Policy{Last: 5},
			want: "host srv1, paths /srv/spse: " + all("last snapshot", "d1b", "d1a")},
		{name: "hourly", p: retention.Policy{Hourly: 2}, snaps: []snap{
			{label: "10:05", time: "2026-11-01 10:05"}, {label: "10:40", time: "2026-11-01 10:40"},
			{label: "11:10", time: "2026-11-01 11:10"}, {label: "12:00", time: "2026-11-01 12:00"},
			{label: "12:30", time: "2026-11-01 12:30"}},
			want: "host srv1, paths /srv/spse: 12:30 keep(hourly snapshot) 12:00 remove 11:10 keep(hourly snapshot) 10:40 remove 10:05 remove"},
		{name: "daily", snaps: days, p: retention.Policy{Daily: 3},
			want: "host srv1, paths /srv/spse: d4b keep(daily snapshot) d4a remove d3b keep(daily snapshot) d3a remove d2b keep(daily snapshot) d2a remove d1b remove d1a remove"},
		{name: "daily keeps the oldest while counts are left", snaps: days[:4], p: retention.Policy{Daily: 5},
			want: "host srv1, paths /srv/spse: d2b keep(daily snapshot) d2a remove d1b keep(daily snapshot) d1a keep(oldest daily snapshot)"},
		{name: "daily unlimited", snaps: days, p: retention.Policy{Daily: -1},
			want: "host srv1, paths /srv/spse: d4b keep(daily snapshot) d4a remove d3b keep(daily snapshot) d3a remove d2b keep(daily snapshot) d2a remove d1b keep(daily snapshot) d1a keep(oldest daily snapshot)"},
		{name: "weekly: ISO weeks start on Monday", p: retention.Policy{Weekly: 3}, snaps: []snap{
			{label: "sun1", time: "2026-11-01 10:00"}, // 2026-W44
			{label: "mon2", time: "2026-11-02 10:00"}, // W45
			{label: "thu5", time: "2026-11-05 10:00"}, // W45
			{label: "sun8", time: "2026-11-08 10:00"}, // W45
			{label: "mon9", time: "2026-11-09 10:00"}, // W46
		},
			want: "host srv1, paths /srv/spse: mon9 keep(weekly snapshot) sun8 keep(weekly snapshot) thu5 remove mon2 remove sun1 keep(weekly snapshot)"},
		{name: "weekly across the ISO year", p: retention.Policy{Weekly: 2}, snaps: []snap{
			{label: "2026-12-27", time: "2026-12-27 10:00"}, // 2026-W52
			{label: "2026-12-28", time: "2026-12-28 10:00"}, // 2026-W53
			{label: "2027-01-03", time: "2027-01-03 10:00"}, // 2026-W53
			{label: "2027-01-04", time: "2027-01-04 10:00"}, // 2027-W01
		},
			want: "host srv1, paths /srv/spse: 2027-01-04 keep(weekly snapshot) 2027-01-03 keep(weekly snapshot) 2026-12-28 remove 2026-12-27 remove"},
		{name: "monthly", p: retention.Policy{Monthly: 2}, snaps: []snap{
			{label: "sep", time: "2026-09-15 10:00"}, {label: "oct1", time: "2026-10-01 10:00"},
			{label: "oct31", time: "2026-10-31 10:00"}, {label: "nov", time: "2026-11-02 10:00"}},
			want: "host srv1, paths /srv/spse: nov keep(monthly snapshot) oct31 keep(monthly snapshot) oct1 remove sep remove"},
		{name: "yearly", p: retention.Policy{Yearly: 2}, snaps: []snap{
			{label: "2024", time: "2024-06-01 10:00"}, {label: "2025a", time: "2025-01-01 10:00"},
			{label: "2025b", time: "2025-12-31 10:00"}, {label: "2026", time: "2026-01-01 10:00"}},
			want: "host srv1, paths /srv/spse: 2026 keep(yearly snapshot) 2025b keep(yearly snapshot) 2025a remove 2024 remove"},
		{name: "yearly unlimited", p: retention.Policy{Yearly: -1}, snaps: []snap{
			{label: "2023", time: "2023-06-01 10:00"}, {label: "2024", time: "2024-06-01 10:00"},
			{label: "2025a", time: "2025-01-01 10:00"}, {label: "2025b", time: "2025-12-31 10:00"}},
			want: "host srv1, paths /srv/spse: 2025b keep(yearly snapshot) 2025a remove 2024 keep(yearly snapshot) 2023 keep(yearly snapshot)"},
		{name: "within counts from the newest snapshot, not from now", snaps: days, p: retention.Policy{Within: retention.Duration{Days: 1, Hours: 12}},
			want: "host srv1, paths /srv/spse: " + all("within 1d12h", "d4b", "d4a", "d3b") + " d3a remove d2b remove d2a remove d1b remove d1a remove"},
		{name: "within ignores a snapshot in the future as the newest", p: retention.Policy{Within: retention.Duration{Days: 1}},
			o: retention.Options{Now: parseTime(t, "2026-11-04 00:00")}, snaps: days,
			// The newest up to now is d3b (3 Nov 14:00); d4a and d4b are after the cutoff too.
			want: "host srv1, paths /srv/spse: " + all("within 1d", "d4b", "d4a", "d3b", "d3a") + " d2b remove d2a remove d1b remove d1a remove"},
		{name: "within a calendar month", p: retention.Policy{Within: retention.Duration{Months: 1}}, snaps: []snap{
			{label: "feb28", time: "2026-02-28 12:00"}, {label: "mar3", time: "2026-03-03 12:00"},
			{label: "mar31", time: "2026-03-31 10:00"}},
			// 31 March minus a month is 3 March (AddDate normalises 31 February).
			want: "host srv1, paths /srv/spse: mar31 keep(within 1m) mar3 keep(within 1m) feb28 remove"},
		{name: "keep-tag: any list, all tags of a list", p: retention.Policy{Last: 1, Tags: [][]string{{"monthly"}, {"a", "b"}}}, snaps: []snap{
			{label: "m", time: "2026-11-01 10:00", tags: []string{"monthly"}},
			{label: "a", time: "2026-11-02 10:00", tags: []string{"a"}},
			{label: "ab", time: "2026-11-03 10:00", tags: []string{"b", "a", "x"}},
			{label: "new", time: "2026-11-04 10:00"}},
			want: "host srv1, paths /srv/spse: new keep(last snapshot) ab keep(tag a,b) a remove m keep(tag monthly)"},
		{name: "a tagged snapshot still takes its place in the counts", p: retention.Policy{Last: 2, Tags: [][]string{{"keep"}}}, snaps: []snap{
			{label: "old", time: "2026-11-01 10:00"}, {label: "mid", time: "2026-11-02 10:00"},
			{label: "new", time: "2026-11-03 10:00", tags: []string{"keep"}}},
			want: "host srv1, paths /srv/spse: new keep(tag keep; last snapshot) mid keep(last snapshot) old remove"},
		{name: "protected", p: retention.Policy{Last: 1},
			o: retention.Options{Protected: func(sn *snapshot.Snapshot) (bool, string) {
				switch sn.Reason {
				case "d1a":
					return true, "before-change until 2026-12-01"
				case "d2a":
					return true, ""
				}
				return false, "not me"
			}}, snaps: days[:4],
			want: "host srv1, paths /srv/spse: d2b keep(last snapshot) d2a keep(protected) d1b remove d1a keep(protected: before-change until 2026-12-01)"},
		{name: "protected with an empty policy", p: retention.Policy{},
			o:     retention.Options{Protected: func(*snapshot.Snapshot) (bool, string) { return true, "x" }},
			snaps: days[:1], want: "host srv1, paths /srv/spse: d1a keep(protected: x; empty policy)"},
		{name: "all the rules at once", snaps: days,
			p:    retention.Policy{Last: 1, Daily: 2, Weekly: 1, Monthly: 1, Yearly: 1, Within: retention.Duration{Hours: 11}, Tags: [][]string{{"none"}}},
			want: "host srv1, paths /srv/spse: d4b keep(within 11h; last snapshot; daily snapshot; weekly snapshot; monthly snapshot; yearly snapshot) d4a remove d3b keep(daily snapshot) d3a remove d2b remove d2a remove d1b remove d1a remove"},
		{name: "time zone: 23:30 and 00:30 WIB are two days", p: retention.Policy{Daily: 2},
			o: retention.Options{Location: jakarta}, snaps: []snap{
				{label: "nov1", time: "2026-11-01 10:00"},  // 17:00 WIB 1 Nov
				{label: "23:30", time: "2026-11-02 16:30"}, // 23:30 WIB 2 Nov
				{label: "00:30", time: "2026-11-02 17:30"}, // 00:30 WIB 3 Nov
			},
			want: "host srv1, paths /srv/spse: 00:30 keep(daily snapshot) 23:30 keep(daily snapshot) nov1 remove"},
		{name: "time zone: the same in UTC are one day", p: retention.Policy{Daily: 2},
			o: retention.Options{Location: time.UTC}, snaps: []snap{
				{label: "nov1", time: "2026-11-01 10:00"},
				{label: "23:30", time: "2026-11-02 16:30"},
				{label: "00:30", time: "2026-11-02 17:30"},
			},
			want: "host srv1, paths /srv/spse: 00:30 keep(daily snapshot) 23:30 remove nov1 keep(daily snapshot)"},
		{name: "time zone: the zone the time was recorded in does not matter", p: retention.Policy{Daily: 1, Hourly: 1},
			o: retention.Options{Location: jakarta}, snaps: []snap{
				{label: "makassar", time: "2026-11-03T01:10:00+08:00"}, // 00:10 WIB 3 Nov
				{label: "utc", time: "2026-11-02T17:20:00Z"},           // 00:20 WIB 3 Nov
			},
			want: "host srv1, paths /srv/spse: utc keep(hourly snapshot; daily snapshot) makassar remove"},
		{name: "time zone: months and years in the zone", p: retention.Policy{Monthly: 2, Yearly: 2},
			o: retention.Options{Location: jakarta}, snaps: []snap{
				{label: "dec", time: "2026-12-31 10:00"}, // 17:00 WIB 31 Dec 2026
				{label: "jan", time: "2026-12-31 18:00"}, // 01:00 WIB 1 Jan 2027
			},
			want: "host srv1, paths /srv/spse: jan keep(monthly snapshot; yearly snapshot) dec keep(monthly snapshot; yearly snapshot)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := snapshottest.New(snapshottest.SmallParams)
			sns, labels := save(t, r, tc.snaps)
			o := tc.o
			if o.Location == nil {
				o.Location = time.UTC
			}
			if o.Now.IsZero() {
				o.Now = now
			}
			o.GroupBy = retention.DefaultGroupBy
			got := render(retention.Plan(sns, tc.p, o), labels)
			if got != tc.want {
				t.Errorf("plan:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPlanGroups(t *testing.T) {
	snaps := []snap{
		{label: "b-srv", time: "2026-11-01 10:00", host: "b", paths: []string{"/srv"}},
		{label: "a-srv-old", time: "2026-11-01 10:00", host: "a", paths: []string{"/srv/", "/etc"}, tags: []string{"x"}},
		{label: "a-srv-new", time: "2026-11-02 10:00", host: "a", paths: []string{"/etc", "/srv"}},
		{label: "a-db", time: "2026-11-03 10:00", host: "a", paths: []string{"/db"}, tags: []string{"x"}},
		{label: "b-srv-new", time: "2026-11-04 10:00", host: "b", paths: []string{"/srv"}, tags: []string{"x"}},
	}
	for _, tc := range []struct {
		groupBy string
		want    string
	}{
		{"host,paths", "host a, paths /db: a-db keep(last snapshot)\n" +
			"host a, paths /etc /srv: a-srv-new keep(last snapshot) a-srv-old remove\n" +
			"host b, paths /srv: b-srv-new keep(last snapshot) b-srv remove"},
		{"host", "host a: a-db keep(last snapshot) a-srv-new remove a-srv-old remove\n" +
			"host b: b-srv-new keep(last snapshot) b-srv remove"},
		{"paths", "paths /db: a-db keep(last snapshot)\n" +
			"paths /etc /srv: a-srv-new keep(last snapshot) a-srv-old remove\n" +
			"paths /srv: b-srv-new keep(last snapshot) b-srv remove"},
		{"tags", "all snapshots: a-srv-new keep(last snapshot) b-srv remove\n" +
			"tags x: b-srv-new keep(last snapshot) a-db remove a-srv-old remove"},
		{"host,tags", "host a: a-srv-new keep(last snapshot)\n" +
			"host a, tags x: a-db keep(last snapshot) a-srv-old remove\n" +
			"host b: b-srv keep(last snapshot)\n" +
			"host b, tags x: b-srv-new keep(last snapshot)"},
		{"", "all snapshots: b-srv-new keep(last snapshot) a-db remove a-srv-new remove " +
			// b-srv and a-srv-old have the same time: by ID, descending.
			"TIE"},
	} {
		t.Run(tc.groupBy, func(t *testing.T) {
			r := snapshottest.New(snapshottest.SmallParams)
			sns, labels := save(t, r, snaps)
			g, err := retention.ParseGroupBy(tc.groupBy)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if strings.HasSuffix(want, "TIE") {
				a, b := idOf(labels, "b-srv"), idOf(labels, "a-srv-old")
				first, second := "b-srv", "a-srv-old"
				if a.String() < b.String() {
					first, second = second, first
				}
				want = strings.TrimSuffix(want, "TIE") + first + " remove " + second + " remove"
			}
			got := render(retention.Plan(sns, retention.Policy{Last: 1}, retention.Options{GroupBy: g, Location: time.UTC, Now: now}), labels)
			if got != want {
				t.Errorf("plan:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func idOf(labels map[repo.ID]string, label string) repo.ID {
	for id, l := range labels {
		if l == label {
			return id
		}
	}
	panic(label)
}

func TestPlanEqualTimesByID(t *testing.T) {
	r := snapshottest.New(snapshottest.SmallParams)
	var in []snap
	for i := range 5 {
		in = append(in, snap{label: fmt.Sprint("s", i), time: "2026-11-01 10:00"})
	}
	sns, labels := save(t, r, in)
	var ids []string
	for id := range labels {
		ids = append(ids, id.String())
	}
	slices.Sort(ids)
	newest := ids[len(ids)-1]
	for range 3 { // the input order does not matter
		slices.Reverse(sns)
		gs := retention.Plan(sns, retention.Policy{Last: 1}, retention.Options{Location: time.UTC, Now: now})
		if len(gs) != 1 || len(gs[0].Snapshots) != 5 {
			t.Fatalf("plan: %+v", gs)
		}
		for i, d := range gs[0].Snapshots {
			if want := ids[len(ids)-1-i]; d.Snapshot.ID().String() != want {
				t.Errorf("position %d: %s, want %s", i, d.Snapshot.ID().Short(), want[:8])
			}
			if d.Keep != (d.Snapshot.ID().String() == newest) {
				t.Errorf("%s: keep %v", d.Snapshot.ID().Short(), d.Keep)
			}
		}
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams)
	sns, labels := save(t, r, []snap{
		{label: "a1", time: "2026-11-01 10:00", host: "a"}, {label: "a2", time: "2026-11-02 10:00", host: "a"},
		{label: "a3", time: "2026-11-03 10:00", host: "a"}, {label: "b1", time: "2026-11-01 10:00", host: "b"},
		{label: "b2", time: "2026-11-02 10:00", host: "b"},
	})
	gs := retention.Plan(sns, retention.Policy{Last: 1}, retention.Options{GroupBy: retention.GroupBy{Host: true}, Location: time.UTC, Now: now})
	removed, err := retention.Forget(ctx, r, gs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range removed {
		got = append(got, labels[id])
	}
	if want := []string{"a2", "a1", "b1"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	left, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, sn := range left {
		got = append(got, labels[sn.ID()])
	}
	if want := []string{"b2", "a3"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	// A plan whose snapshots are already gone fails at the first and says which.
	removed, err = retention.Forget(ctx, r, gs)
	if err == nil || len(removed) != 0 || !strings.Contains(err.Error(), idOf(labels, "a2").Short()) {
		t.Errorf("forget again: %v, %v", removed, err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want retention.Duration
		str  string
	}{
		{"30d", retention.Duration{Days: 30}, "30d"},
		{"2w", retention.Duration{Days: 14}, "14d"},
		{"1y2m3d4h", retention.Duration{Years: 1, Months: 2, Days: 3, Hours: 4}, "1y2m3d4h"},
		{"6m", retention.Duration{Months: 6}, "6m"},
		{"36h", retention.Duration{Hours: 36}, "36h"},
		{"1w2d", retention.Duration{Days: 9}, "9d"},
		{"0d", retention.Duration{}, "0h"},
		{" 1y ", retention.Duration{Years: 1}, "1y"},
	} {
		got, err := retention.ParseDuration(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseDuration(%q) = %+v (%q), %v; want %+v (%q)", tc.in, got, got.String(), err, tc.want, tc.str)
		}
	}
	for _, in := range []string{"", "d", "30", "1x", "-1d", "1.5d", "1d 2h", "99999999999d"} {
		if d, err := retention.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", in, d)
		}
	}
	if d := retention.DurationOf(50 * time.Hour); d != (retention.Duration{Days: 2, Hours: 2}) {
		t.Errorf("DurationOf(50h) = %+v", d)
	}
	at := time.Date(2026, 3, 31, 10, 0, 0, 0, jakarta)
	if got, want := (retention.Duration{Months: 1, Hours: 2}).Before(at), time.Date(2026, 3, 3, 8, 0, 0, 0, jakarta); !got.Equal(want) {
		t.Errorf("Before = %v, want %v", got, want)
	}
}

func TestParseGroupBy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want retention.GroupBy
	}{
		{"", retention.GroupBy{}},
		{"host,paths", retention.DefaultGroupBy},
		{"host,paths,tags", retention.GroupBy{Host: true, Paths: true, Tags: true}},
		{"tags, host", retention.GroupBy{Host: true, Tags: true}},
		{"hosts,path,tag", retention.GroupBy{Host: true, Paths: true, Tags: true}},
	} {
		got, err := retention.ParseGroupBy(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseGroupBy(%q) = %+v, %v", tc.in, got, err)
		}
		if again, _ := retention.ParseGroupBy(got.String()); again != got {
			t.Errorf("%q: String %q does not parse back", tc.in, got.String())
		}
	}
	if _, err := retention.ParseGroupBy("host,user"); err == nil {
		t.Error("group-by user accepted")
	}
}

func TestPolicyString(t *testing.T) {
	for _, tc := range []struct {
		p    retention.Policy
		want string
	}{
		{retention.Policy{}, "keep everything (empty policy)"},
		{retention.Policy{Daily: 7, Weekly: 4, Monthly: -1}, "keep 7 daily, 4 weekly, all monthly snapshots"},
		{retention.Policy{Last: 1, Tags: [][]string{{"a", "b"}, {"c"}}, Within: retention.Duration{Days: 30}},
			"keep 1 latest snapshot and all with tags a,b or c and all within 30d of the newest"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
		if tc.p.IsZero() != (tc.want == "keep everything (empty policy)") {
			t.Errorf("%+v: IsZero %v", tc.p, tc.p.IsZero())
		}
	}
}
