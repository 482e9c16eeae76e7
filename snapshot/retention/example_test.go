package retention_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// Keep the last snapshot and one a day for two days, with the days of
// Asia/Jakarta (WIB); the snapshot tagged before-change is protected. Plan
// decides, Forget removes the snapshot files of the rest.
func Example() {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams) // or a *repo.Repository
	wib, _ := time.LoadLocation("Asia/Jakarta")
	for _, s := range []struct {
		at   string
		tags []string
	}{
		{"2026-11-01T02:00:00+07:00", nil},
		{"2026-11-01T21:00:00+07:00", []string{"before-change"}},
		{"2026-11-02T02:00:00+07:00", nil},
		{"2026-11-02T23:30:00+07:00", nil},
		{"2026-11-03T00:30:00+07:00", nil},
	} {
		at, _ := time.Parse(time.RFC3339, s.at)
		sn := &snapshot.Snapshot{Time: at, Hostname: "spse", Paths: []string{"/srv/spse"}, Tags: s.tags}
		if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
			panic(err)
		}
	}
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{Hosts: []string{"spse"}})
	if err != nil {
		panic(err)
	}
	p := retention.Policy{Last: 1, Daily: 2}
	groups := retention.Plan(sns, p, retention.Options{
		GroupBy:  retention.DefaultGroupBy,
		Location: wib,
		Protected: func(sn *snapshot.Snapshot) (bool, string) {
			return sn.HasTags([]string{"before-change"}), "before-change"
		},
	})
	fmt.Println(p)
	for _, g := range groups {
		fmt.Println(g.Key)
		for _, d := range g.Snapshots {
			action := "remove"
			if d.Keep {
				action = "keep  "
			}
			line := d.Snapshot.Time.In(wib).Format("2006-01-02 15:04") + " " + action + " " + strings.Join(d.Reasons, ", ")
			fmt.Println(strings.TrimSpace(line))
		}
	}
	removed, err := retention.Forget(ctx, r, groups)
	fmt.Println("removed:", len(removed), err)
	// Output:
	// keep 1 latest, 2 daily snapshots
	// host spse, paths /srv/spse
	// 2026-11-03 00:30 keep   last snapshot, daily snapshot
	// 2026-11-02 23:30 keep   daily snapshot
	// 2026-11-02 02:00 remove
	// 2026-11-01 21:00 keep   protected: before-change
	// 2026-11-01 02:00 remove
	// removed: 2 <nil>
}
