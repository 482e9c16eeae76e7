package main

import (
	"fmt"
	"os"
	"strings"
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
	cfg := mustRead(t, h.cfg)
	i := strings.Index(cfg, "repository_id = \"")
	idA := cfg[i+len("repository_id = \"") : i+len("repository_id = \"")+64]
	cfg += fmt.Sprintf(`
[[job]]
name = "spse-config"
info_class = 6
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "config"
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
`, h.extra, h.repoA, idA, h.pw)
	if err := os.WriteFile(h.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
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
