package snapshot_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A copied protection keeps its note of where it came from through the
// file, and a file without the note (older cadang) reads without one.
func TestProtectionCopiedFrom(t *testing.T) {
	ctx := context.Background()
	r := snapshottest.New(snapshottest.SmallParams)
	sn := repo.ID(sha256.Sum256([]byte("dest snapshot")))
	from := &snapshot.CopiedFrom{Repository: "261d0da0ab", Snapshot: repo.ID(sha256.Sum256([]byte("src snapshot"))), Protection: repo.ID(sha256.Sum256([]byte("src protection")))}
	until := time.Date(2027, 12, 8, 1, 0, 0, 0, time.UTC)
	if _, err := snapshot.SaveProtection(ctx, r, snapshot.Protection{Snapshot: sn, Until: until, Reason: "sengketa tender 2026", CopiedFrom: from}); err != nil {
		t.Fatal(err)
	}
	ps, bad, err := snapshot.LoadProtections(ctx, r)
	if err != nil || len(bad) != 0 || len(ps) != 1 {
		t.Fatalf("LoadProtections: %v %v %+v", err, bad, ps)
	}
	if got := ps[0].CopiedFrom; got == nil || *got != *from || !ps[0].Until.Equal(until) {
		t.Errorf("loaded %+v, copied from %+v; want %+v", ps[0], got, from)
	}

	old := []byte(`{"snapshot":"` + sn.String() + `","reason":"audit","time":"2026-01-01T00:00:00Z"}`)
	p, err := snapshot.DecodeProtection(old)
	if err != nil || p.CopiedFrom != nil || p.Snapshot != sn {
		t.Errorf("an old protection: %+v, %v", p, err)
	}
}

func TestProtectionLastsAsLong(t *testing.T) {
	t1 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.AddDate(1, 0, 0)
	forever, p1, p2 := snapshot.Protection{}, snapshot.Protection{Until: t1}, snapshot.Protection{Until: t2}
	for _, tc := range []struct {
		p, q snapshot.Protection
		want bool
	}{
		{forever, forever, true}, {forever, p2, true}, {p2, forever, false},
		{p2, p1, true}, {p1, p2, false}, {p1, p1, true},
	} {
		if got := tc.p.LastsAsLong(tc.q); got != tc.want {
			t.Errorf("%v LastsAsLong %v = %v, want %v", tc.p.Until, tc.q.Until, got, tc.want)
		}
	}
}
