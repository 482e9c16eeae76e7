package runlog

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
)

// stampRE matches a time in a finding, and what follows it.
var stampRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?( [A-Z]+)?`)

// zonesOf returns the zone named after each time in s ("" for a time that
// names none), failing t if s holds no time.
func zonesOf(t *testing.T, s string) []string {
	t.Helper()
	var zones []string
	for _, m := range stampRE.FindAllStringSubmatch(s, -1) {
		zones = append(zones, strings.TrimSpace(m[2]))
	}
	if len(zones) == 0 {
		t.Fatalf("no time in %q", s)
	}
	return zones
}

// TestFindingTimesNameTheirZone: the times in Verify's findings and in
// Sync's errors are in Options.Zone (UTC by default) and name it. They
// were the writer's wall clock without a zone, which on a server kept on
// UTC reads as the organisation's hour, hours off the minutes' times.
func TestFindingTimesNameTheirZone(t *testing.T) {
	ctx := context.Background()
	wita := time.FixedZone("WITA", 8*3600)
	for _, tc := range []struct {
		zone *time.Location
		want string // zone name, and one time as it must read
		at   string
	}{
		{nil, "UTC", "2026-01-11 18:10 UTC"},
		{wita, "WITA", "2026-01-12 02:10 WITA"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			clk := clock.NewFake(t0.In(time.UTC)) // records logged in UTC, shown in the zone asked for
			var seed [32]byte
			l := Open(filepath.Join(t.TempDir(), "runlog.jsonl"), Options{Clock: clk, Rand: seededRand{rand.NewChaCha8(seed)},
				Host: "lpse-srv", Operator: "budi", Zone: tc.zone})
			s := runlogtest.NewID(repoA)
			fill(t, l, clk, s, 2)
			old := s.Clone()
			fill(t, l, clk, s, 1)
			// A repository put back from before the third record: the
			// finding names the head this host wrote, and when.
			rep := verifyErr(t, l, old, VerifyOptions{}, "repository", RolledBack)
			var details []string
			for _, f := range rep.Findings {
				if f.Problem == RolledBack {
					details = append(details, f.Detail)
				}
			}
			if _, err := l.Sync(ctx, old); err == nil {
				t.Fatal("sync into the old copy wrote a head")
			} else {
				details = append(details, err.Error())
			}
			// A record logged before the one before it (a clock set back).
			clk.Advance(-48 * time.Hour)
			if _, err := l.Append(ctx, Record{Op: OpCheck, Result: OK, Start: clk.Now(), End: clk.Now()}, nil); err != nil {
				t.Fatal(err)
			}
			rep, err := l.Verify(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Problem == ClockBack {
					details = append(details, f.Detail)
				}
			}
			all := strings.Join(details, "\n")
			for _, d := range details {
				for _, z := range zonesOf(t, d) {
					if z != tc.want {
						t.Errorf("a time in %q is in %q, want %s", d, z, tc.want)
					}
				}
			}
			if !strings.Contains(all, tc.at) {
				t.Errorf("no %q in:\n%s", tc.at, all)
			}
		})
	}
}

// TestIDDateInIDZone: a record's ID carries the date and time of
// Options.IDZone, not of the clock nor of Zone (the display zone, UTC with
// --utc). A server kept on UTC gave a run at 04:25 WITA on 8 December an
// ID of 7 December, which the minutes then cite for good.
func TestIDDateInIDZone(t *testing.T) {
	wita := time.FixedZone("WITA", 8*3600)
	at := time.Date(2026, 12, 7, 20, 25, 0, 0, time.UTC) // 04:25 WITA, 8 December
	for _, tc := range []struct {
		name         string
		zone, idZone *time.Location
		want         string
	}{
		{"organization zone", nil, wita, "20261208-042500-"},
		{"display in UTC", time.UTC, wita, "20261208-042500-"},
		{"default: the clock's zone", nil, nil, "20261207-202500-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Open(filepath.Join(t.TempDir(), "runlog.jsonl"), Options{Clock: clock.NewFake(at), Host: "lpse-srv", Operator: "budi",
				Zone: tc.zone, IDZone: tc.idZone})
			rec, err := l.Append(context.Background(), Record{Op: OpCheck, Result: OK, Start: at, End: at}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(rec.ID, tc.want) {
				t.Errorf("ID %q, want it to begin %q", rec.ID, tc.want)
			}
			if !rec.Logged.Equal(at) {
				t.Errorf("logged %v, want %v: the zone of the ID is not the record's time", rec.Logged, at)
			}
		})
	}
}
