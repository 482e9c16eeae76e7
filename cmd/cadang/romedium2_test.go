package main

// The run log on a medium mounted read-only: what a command that cannot
// copy its record there says, and what status makes of it.

import (
	"os"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// A follow-up recorded with --repo on a read-only medium is stored on this
// server only: the command says so, naming the repository and its mount
// point, and ends with exit code 3 (done, with a warning), never a plain
// ok. The record is in the local run log, once.
func TestReadOnlyMediumFollowup(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-02T01:00:00Z")
	if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := h.cad("run", "-q", "spse-db"); code == 0 {
		t.Fatalf("the failing run exited 0:\n%s", errs)
	}
	failed := h.last()
	mountReadOnly(t, h.repoA)

	out, errs, code := h.cad("followup", "add", failed.ID, "--action", "pg_dump diuji ulang", "-r", h.repoA, "--password-file", h.pw)
	want := "cadang: the follow-up " + h.recordsOf(runlog.OpFollowup)[0].ID + " of " + failed.ID + " is stored on this server only: it was not written to the repository " + h.repoA +
		", whose file system (mounted at " + h.repoA + ") is read-only; the next command that can write there copies it"
	if code != exitPartial || !strings.Contains(errs, want) {
		t.Fatalf("followup add on a read-only medium: exit %d, want %d and\n%s\nstdout:\n%s\nstderr:\n%s", code, exitPartial, want, out, errs)
	}
	if n := len(h.recordsOf(runlog.OpFollowup)); n != 1 {
		t.Errorf("%d follow-up records in the local run log, want 1", n)
	}
}

// recordsOf returns the local run log's records of op.
func (h *sopHarness) recordsOf(op runlog.Operation) []runlog.Record {
	var out []runlog.Record
	for _, r := range h.records() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}
