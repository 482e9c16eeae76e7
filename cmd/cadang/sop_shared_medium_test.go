package main

import (
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestManualForgetOnSharedMedium: a `cadang forget --prune` by hand on a
// medium that two jobs back up to is filed under no job, the medium's (its
// record names the medium), not under the first job that uses the medium
// (README walk: a forget of spse-prod's and spse-config's snapshots was
// spse-prod's in the monthly analysis and the inventory). On a medium of
// one job only, the record still names that job.
func TestManualForgetOnSharedMedium(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	h.must(0, "-r", h.repoA, "--password-file", h.pw, "-q", "forget", "--keep-daily", "7")
	if r := h.last(); r.Op != runlog.OpForget || r.Job != "spse-db" || r.Medium != "disk-A" {
		t.Errorf("forget on spse-db's own medium: op %s, job %q, medium %q; want forget, spse-db, disk-A", r.Op, r.Job, r.Medium)
	}

	// A second job on the same disk.
	h.addJob(t)
	idA := cfgValue(t, mustRead(t, h.cfg), "repository_id")
	h.must(0, "run", "spse-config")
	n := len(h.records())
	h.must(0, "-r", h.repoA, "--password-file", h.pw, "-q", "forget", "--keep-daily", "7", "--prune")
	recs := h.records()[n:]
	var ops []runlog.Operation
	for _, r := range recs {
		ops = append(ops, r.Op)
		if r.Job != "" || r.Medium != "disk-A" || r.RepositoryID != idA {
			t.Errorf("%s by hand on the shared medium: job %q, medium %q, repository %.8s; want no job, disk-A, %.8s", r.Op, r.Job, r.Medium, r.RepositoryID, idA)
		}
	}
	if len(ops) != 2 || ops[0] != runlog.OpForget || ops[1] != runlog.OpPrune {
		t.Fatalf("records of forget --prune: %v, want forget, prune", ops)
	}
}
