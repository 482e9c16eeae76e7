package main

import (
	"strings"
	"testing"
)

// A run's ID carries the day and time of the run in the [organization]
// timezone, whatever zone the clock reads in and with --utc too: the ID is
// kept for good and cited in the minutes. A run at 04:25 WITA on
// 8 December on a server kept on UTC was given an ID of 7 December.
func TestSOPRunIDInOrganizationZone(t *testing.T) {
	h := newSOPHarness(t) // [organization] timezone = "Asia/Makassar" (WITA)
	h.at("2026-12-07T20:25:00Z")
	h.must(0, "--utc", "run", "spse-db")
	if id := h.last().ID; !strings.HasPrefix(id, "20261208-042") {
		t.Errorf("cadang run at 04:25 WITA on 8 December: ID %s, want 20261208-042...", id)
	}
	h.at("2026-12-07T20:40:00Z")
	h.must(0, "-r", h.repoA, "--password-file", h.pw, "backup", h.extra)
	if id := h.last().ID; !strings.HasPrefix(id, "20261208-044") {
		t.Errorf("cadang backup at 04:40 WITA on 8 December: ID %s, want 20261208-044...", id)
	}
}
