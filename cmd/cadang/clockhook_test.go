package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClockHookProtectAndPrune: under CADANG_NOW (the tests' clock hook,
// and how an administrator replays), `protect --for` counts from the
// hook's time and `protect --list` says the protection was created then,
// and prune says when the packs it deletes were marked on the hook's
// clock, not the system's (README walk: "Created 2026-12-08" for a
// protection made on 20 November).
func TestClockHookProtectAndPrune(t *testing.T) {
	h := newSOPHarness(t)
	P := []string{"-r", h.repoA, "--password-file", h.pw}
	h.at("2026-11-20T10:00:00+08:00")
	h.must(0, append(P, "-q", "backup", h.extra)...)
	if err := os.WriteFile(filepath.Join(h.extra, "baru.txt"), []byte(strings.Repeat("baru\n", 4000)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.must(0, append(P, "-q", "backup", h.extra)...)
	var sns []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(h.must(0, append(P, "--json", "snapshots")...)), &sns); err != nil || len(sns) != 2 {
		t.Fatalf("snapshots: %v %v", sns, err)
	}
	made := h.now
	h.must(0, append(P, "protect", sns[1].ID[:8], "--for", "30d", "--reason", "uji")...)
	var ps []struct {
		Until   time.Time `json:"until"`
		Created time.Time `json:"time"`
	}
	out := h.must(0, append(P, "--json", "protect", "--list")...)
	if err := json.Unmarshal([]byte(out), &ps); err != nil || len(ps) != 1 {
		t.Fatalf("protect --list: %v\n%s", err, out)
	}
	if d := ps[0].Created.Sub(made); d < 0 || d > time.Minute {
		t.Errorf("protection created %s, want the hook's %s", ps[0].Created, made)
	}
	if d := ps[0].Until.Sub(made.AddDate(0, 0, 30)); d < 0 || d > time.Minute {
		t.Errorf("protection until %s, want 30 days after the hook's %s", ps[0].Until, made)
	}

	// Forget the first snapshot; the first prune marks its packs, the
	// second, two days later on the hook's clock, deletes them.
	h.must(0, append(P, "-q", "forget", sns[0].ID[:8])...)
	marked := h.now
	h.must(0, append(P, "prune", "--max-unused", "0")...)
	h.at("2026-11-22T10:00:00+08:00")
	outp, errs, code := h.cad(append(P, "prune", "--max-unused", "0")...)
	errs = outp + errs
	if code != 0 {
		t.Fatalf("second prune: exit %d\n%s", code, errs)
	}
	want := "marked " + marked.In(time.FixedZone("WITA", 8*3600)).Format("2006-01-02 15:04")
	if !strings.Contains(errs, want) {
		t.Errorf("second prune does not say %q:\n%s", want, errs)
	}
}
