package jobs

import (
	"strings"
	"testing"
	"time"
)

func sharedConfig(mode string) *Config {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	media := []Medium{{Name: "disk-A", Repository: "/mnt/a"}, {Name: "disk-B", Repository: "/mnt/b"}}
	rot := Rotation{Mode: mode, Start: start, Days: 1}
	return &Config{Jobs: []Job{
		{Name: "spse-prod", Media: media, Rotation: rot},
		{Name: "spse-config", Media: media, Rotation: rot},
		{Name: "alone", Media: []Medium{{Name: "disk-C", Repository: "/mnt/c"}, {Name: "disk-D", Repository: "/mnt/d"}}},
	}}
}

// TestSharedRotations: two jobs rotating in sequence over the same two
// disks are named once (the README walk's jobs wanted different disks the
// day after one of them failed); the same calendar for both is fine.
func TestSharedRotations(t *testing.T) {
	c := sharedConfig("sequence")
	got := c.SharedRotations()
	if len(got) != 1 || strings.Join(got[0].Jobs, ",") != "spse-prod,spse-config" || got[0].Repository != "/mnt/a" ||
		!strings.Contains(got[0].String(), `mode = "calendar"`) {
		t.Fatalf("sequence: got %+v", got)
	}
	// After spse-prod failed on disk-A on day 3, spse-config moved on.
	last := map[string]string{"spse-prod": "disk-B", "spse-config": "disk-A"}
	now := time.Date(2026, 11, 4, 2, 0, 0, 0, time.UTC)
	apart := c.DueApart(got[0], func(j string) string { return last[j] }, now)
	if len(apart) != 2 || apart[0] != "spse-prod: disk-A (/mnt/a)" || apart[1] != "spse-config: disk-B (/mnt/b)" {
		t.Fatalf("due apart: %q", apart)
	}
	last["spse-prod"] = "disk-A"
	if apart := c.DueApart(got[0], func(j string) string { return last[j] }, now); apart != nil {
		t.Fatalf("due on the same disk, yet apart: %q", apart)
	}
	if got := sharedConfig("calendar").SharedRotations(); len(got) != 0 {
		t.Fatalf("one calendar: got %+v", got)
	}
	c = sharedConfig("calendar")
	c.Jobs[1].Rotation.Start = c.Jobs[1].Rotation.Start.AddDate(0, 0, 1)
	if got := c.SharedRotations(); len(got) != 1 {
		t.Fatalf("calendars a day apart: got %+v", got)
	}
}
