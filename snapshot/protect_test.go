package snapshot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// The real repository must offer what the protection functions need.
var _ snapshot.FileRemover = (*repo.Repository)(nil)

func TestProtectListUnprotect(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		r    snapshot.FileRemover
	}{
		{"snapshottest", snapshottest.New(snapshottest.SmallParams)},
		{"repo", repotest.New(t, mem.New(), "pw", repo.InitOptions{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r.(interface {
				snapshot.FileRemover
				snapshot.FileSaver
			})
			a := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}}
			b := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/b"}}
			aid, err := snapshot.SaveSnapshot(ctx, r, &a)
			if err != nil {
				t.Fatal(err)
			}
			bid, err := snapshot.SaveSnapshot(ctx, r, &b)
			if err != nil {
				t.Fatal(err)
			}
			until := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
			p1, err := snapshot.Protect(ctx, r, aid, until, "audit BPK")
			if err != nil {
				t.Fatal(err)
			}
			if p1.ID.IsNull() || p1.Snapshot != aid || !p1.Until.Equal(until) || p1.Reason != "audit BPK" || p1.Time.IsZero() {
				t.Errorf("Protect returned %+v", p1)
			}
			p2, err := snapshot.Protect(ctx, r, aid, time.Time{}, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := snapshot.Protect(ctx, r, repo.ID{}, time.Time{}, "x"); err == nil {
				t.Error("Protect of the null ID succeeded")
			}

			ps, err := snapshot.Protections(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 || ps[0].ID != p1.ID || ps[1].ID != p2.ID {
				t.Fatalf("Protections = %+v, want p1, p2", ps)
			}
			got := ps[0]
			if got.Snapshot != aid || !got.Until.Equal(until) || got.Reason != "audit BPK" || got.Host != p1.Host ||
				got.Username != p1.Username || !got.Time.Equal(p1.Time) {
				t.Errorf("loaded %+v, saved %+v", got, p1)
			}
			if !ps[1].Until.IsZero() {
				t.Errorf("forever protection loaded with until %v", ps[1].Until)
			}

			// The file: JSON with until absent for "forever".
			b2, err := r.LoadFile(ctx, repo.ProtectFile, p2.ID)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b2, &m); err != nil {
				t.Fatal(err)
			}
			if _, ok := m["until"]; ok || m["snapshot"] != aid.String() || m["time"] == nil {
				t.Errorf("forever protection file: %s", b2)
			}

			// The forever one lasts longest; b is not protected.
			now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			if ok, p := snapshot.IsProtected(ps, aid, now); !ok || p.ID != p2.ID {
				t.Errorf("IsProtected(a) = %v, %+v; want p2", ok, p)
			}
			if ok, _ := snapshot.IsProtected(ps, bid, now); ok {
				t.Error("b is protected")
			}

			n, err := snapshot.Unprotect(ctx, r, aid)
			if err != nil || n != 2 {
				t.Fatalf("Unprotect = %d, %v; want 2", n, err)
			}
			if n, err := snapshot.Unprotect(ctx, r, aid); err != nil || n != 0 {
				t.Errorf("second Unprotect = %d, %v; want 0, nil", n, err)
			}
			if ps, err := snapshot.Protections(ctx, r); err != nil || len(ps) != 0 {
				t.Errorf("after Unprotect: %+v, %v", ps, err)
			}
			// The snapshots are untouched.
			if _, err := snapshot.LoadSnapshot(ctx, r, aid); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestProtectionExpiry(t *testing.T) {
	id := func(b byte) repo.ID { return repo.ID{b} }
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	ps := []snapshot.Protection{
		{ID: id(10), Snapshot: id(1), Until: day(10), Reason: "short"},
		{ID: id(11), Snapshot: id(1), Until: day(20), Reason: "long"},
		{ID: id(12), Snapshot: id(2), Until: day(5), Reason: "expired"},
		{ID: id(13), Snapshot: id(3), Reason: "forever"},
	}
	for _, c := range []struct {
		snap   byte
		now    time.Time
		want   bool
		reason string
	}{
		{1, day(1), true, "long"},
		{1, day(15), true, "long"},
		{1, day(20), false, ""}, // ends at Until
		{2, day(4), true, "expired"},
		{2, day(5), false, ""},
		{3, day(28).AddDate(50, 0, 0), true, "forever"},
		{4, day(1), false, ""},
	} {
		ok, p := snapshot.IsProtected(ps, id(c.snap), c.now)
		if ok != c.want || p.Reason != c.reason {
			t.Errorf("IsProtected(%d, %s) = %v %q, want %v %q", c.snap, c.now.Format(time.DateOnly), ok, p.Reason, c.want, c.reason)
		}
	}
	if got := ps[0].Describe(time.UTC); got != "until 2026-03-10 (short)" {
		t.Errorf("Describe = %q", got)
	}
	if got := (snapshot.Protection{}).Describe(time.UTC); got != "forever" {
		t.Errorf("Describe = %q", got)
	}
}

// A protection also covers the snapshot a tag change makes from the one it
// names, and retention keeps protected snapshots with its reason.
func TestProtectionRetention(t *testing.T) {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var sns []*snapshot.Snapshot
	for i := range 4 {
		sn := &snapshot.Snapshot{Time: base.AddDate(0, 0, i), Paths: []string{"/srv"}, Hostname: "srv1"}
		if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
			t.Fatal(err)
		}
		sns = append(sns, sn)
	}
	if _, err := snapshot.Protect(ctx, r, sns[0].ID(), time.Time{}, "audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Protect(ctx, r, sns[1].ID(), base, "expired"); err != nil {
		t.Fatal(err)
	}
	retagged, err := snapshot.ChangeTags(ctx, r, sns[0], nil, []string{"kontrak"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sns[0] = retagged
	ps, err := snapshot.Protections(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	now := base.AddDate(0, 1, 0)
	if ok, _ := snapshot.ProtectionOf(ps, retagged, now); !ok {
		t.Error("the retagged snapshot lost its protection")
	}
	groups := retention.Plan(sns, retention.Policy{Last: 1}, retention.Options{Now: now, Protected: snapshot.ProtectedBy(ps, now)})
	var kept []string
	for _, g := range groups {
		for _, d := range g.Snapshots {
			if d.Keep {
				kept = append(kept, d.Snapshot.ID().Short()+"="+strings.Join(d.Reasons, ","))
			}
		}
	}
	want := []string{sns[3].ID().Short() + "=last snapshot", retagged.ID().Short() + "=protected: audit"}
	if strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want %v", kept, want)
	}
}
