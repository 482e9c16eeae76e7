package main

// A restore on request (restore --requested-by/--request-id) protects the
// snapshot it restored, as a before-change backup is protected: signed
// restore minutes cite it (SOP step 8), so the README's plain month-end
// forget must keep it too, and say why.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// uploadSnapshots are the IDs of the job's upload snapshots, oldest first.
func uploadSnapshots(h *sopHarness) []string {
	h.t.Helper()
	var sns []struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(h.must(0, "snapshots", "--json", "-r", h.repoA, "--password-file", h.pw, "--tag", "source:upload")), &sns); err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, s := range sns {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestRestoreOnRequestProtects(t *testing.T) {
	h := newSOPHarness(t)
	// The job's protect_before_change is how long its retention keeps a
	// restored snapshot ("protected: restore"); the protection lasts as long.
	cfg, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.cfg, append(cfg, "  [job.retention]\n  protect_before_change = \"30d\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	// Days before the real clock: forget judges protections by it.
	h.at(time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour).Format(time.RFC3339))
	for range 3 {
		h.must(0, "run", "-q", "spse-db")
		h.now = h.now.Add(24 * time.Hour)
	}
	ups := uploadSnapshots(h)
	if len(ups) != 3 {
		t.Fatalf("upload snapshots: %v", ups)
	}

	// The first on request, the second without.
	h.must(0, "restore", "-r", h.repoA, "--password-file", h.pw, ups[0][:8], "--target", filepath.Join(h.dir, "req"),
		"--requested-by", "Andi Wijaya", "--reason", "dokumen kontrak 12 November", "--request-id", "REQ-2026-12")
	req := h.last()
	if req.Op != runlog.OpRestore || req.Result != runlog.OK || req.Restore == nil || req.Restore.Snapshot != ups[0] {
		t.Fatalf("restore on request recorded as %+v", req)
	}
	h.must(0, "restore", "-r", h.repoA, "--password-file", h.pw, ups[1][:8], "--target", filepath.Join(h.dir, "plain"))

	// The protection: the request and the run whose minutes cite it,
	// for the job's 30 days from the restore.
	var ps []protectionOut
	if err := json.Unmarshal([]byte(h.must(0, "protect", "--list", "--json", "-r", h.repoA, "--password-file", h.pw)), &ps); err != nil {
		t.Fatal(err)
	}
	reason := "restore: request REQ-2026-12 by Andi Wijaya, minutes of run " + req.ID
	if len(ps) != 1 || ps[0].Snapshot != ups[0] || ps[0].Reason != reason || ps[0].Until == nil ||
		!ps[0].Until.Equal(req.Start.Add(30*24*time.Hour)) || !ps[0].Active {
		t.Fatalf("protections after a restore on request and an ordinary one: %+v\nwant one of %s until %s (%s)", ps, ups[0], req.Start.Add(30*24*time.Hour), reason)
	}

	// The README's month-end forget keeps it and says why; the snapshot
	// of the ordinary restore goes.
	out := h.must(0, "forget", "--json", "-r", h.repoA, "--password-file", h.pw, "--keep-last", "1")
	var groups []forgetGroupOut
	if err := json.Unmarshal([]byte(out), &groups); err != nil {
		t.Fatalf("forget --json: %v\n%s", err, out)
	}
	kept, removed := map[string][]string{}, map[string]bool{}
	for _, g := range groups {
		for _, s := range g.Keep {
			kept[s.ID] = s.Reasons
		}
		for _, s := range g.Remove {
			removed[s.ID] = true
		}
	}
	if got := kept[ups[0]]; len(got) != 1 || got[0] != "protected: "+reason {
		t.Errorf("the snapshot restored on request: kept for %q, want %q\n%s", got, "protected: "+reason, out)
	}
	if !removed[ups[1]] {
		t.Errorf("the snapshot of an ordinary restore was not removed: %s", out)
	}
	if ids := uploadSnapshots(h); len(ids) != 2 || ids[0] != ups[0] || ids[1] != ups[2] {
		t.Errorf("upload snapshots after forget: %v, want %v", ids, []string{ups[0], ups[2]})
	}
}

// On a read-only medium the protection cannot be written: one line says
// so, and the restore stands.
func TestRestoreOnRequestReadOnly(t *testing.T) {
	h := readOnlyHarness(t)
	target := filepath.Join(h.dir, "restored")
	_, errs, code := h.cad("restore", "-r", h.repoA, "--password-file", h.pw, "latest", "--path", h.src, "--target", target,
		"--requested-by", "Andi Wijaya", "--reason", "server rusak")
	if code != 0 {
		t.Fatalf("restore on request from a read-only medium: exit %d\n%s", code, errs)
	}
	var lines []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "protect") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "is not protected for the restore request: the medium "+h.repoA+" is read-only") {
		t.Errorf("want one line saying the snapshot is not protected, got %q\nstderr:\n%s", lines, errs)
	}
	if r := h.last(); r.Op != runlog.OpRestore || r.Result != runlog.OK {
		t.Errorf("restore recorded as %s %s", r.Op, r.Result)
	}
	if got := mustRead(t, filepath.Join(target, h.src, "dokumen", "spek.txt")); got != "spesifikasi teknis\n" {
		t.Errorf("restored spek.txt: %q", got)
	}
}
