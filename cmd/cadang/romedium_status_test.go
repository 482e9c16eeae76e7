package main

// status after commands that could not copy their records into a
// read-only medium.

import (
	"strings"
	"testing"
)

// A check of a read-only medium cannot copy its own record there, and
// status does not warn runlog-not-copied for it, hours later; once the
// medium is writable, a run copies it and status stays quiet.
func TestReadOnlyMediumCheckStatus(t *testing.T) {
	h := readOnlyHarness(t)
	h.at("2026-12-02T01:10:00Z")
	if _, errs, code := h.cad("check", "-r", h.repoA, "--password-file", h.pw); code != 0 {
		t.Fatalf("check of a read-only medium: exit %d\nstderr:\n%s", code, errs)
	}
	h.at("2026-12-02T05:00:00Z")
	out, errs, _ := h.cad("status")
	if strings.Contains(out+errs, "runlog-not-copied") || strings.Contains(out+errs, "not copied") {
		t.Fatalf("status warns of the record of a check of a read-only medium:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
}
