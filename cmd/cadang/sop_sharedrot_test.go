package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two jobs rotating in sequence over the same two disks part after one of
// them fails (a README walk: the day after spse-prod's dump failed, it was
// due on disk-A and spse-config on disk-B, and with one disk connected a
// day one of them had to fail). `job check` says so before it happens,
// `job list` when it has; one calendar for both keeps them together.
func TestSOPSharedRotationParts(t *testing.T) {
	h := newSOPHarness(t)
	// Fresh media: the harness's disks hold its own job's repositories.
	diskA, diskB := filepath.Join(h.dir, "shared-a"), filepath.Join(h.dir, "shared-b")
	idA, idB := h.initRepo(diskA), h.initRepo(diskB)
	conf := func(rotation string) {
		var b strings.Builder
		fmt.Fprintf(&b, "[log]\npath = %q\n[organization]\nname = \"LPSE Uji\"\ntimezone = \"Asia/Makassar\"\n", h.log)
		for i, job := range []string{"spse-prod", "spse-config"} {
			cmd := "echo dump"
			if i == 0 {
				cmd = fmt.Sprintf("test -e %s && exit 3; echo dump", h.fail)
			}
			fmt.Fprintf(&b, "[[job]]\nname = %q\ninfo_class = 7\nclassification = \"rahasia\"\n%s"+
				"  [[job.source]]\n  name = \"database\"\n  command = [\"sh\", \"-c\", %q]\n  filename = \"db.sql\"\n"+
				"  [[job.medium]]\n  name = \"disk-A\"\n  repository = %q\n  repository_id = %q\n  password_file = %q\n"+
				"  [[job.medium]]\n  name = \"disk-B\"\n  repository = %q\n  repository_id = %q\n  password_file = %q\n",
				job, rotation, cmd, diskA, idA, h.pw, diskB, idB, h.pw)
		}
		writeFileT(t, h.cfg, []byte(b.String()), 0o600)
	}
	conf("")
	if _, errs, code := h.cad("job", "check"); code != 0 || !strings.Contains(errs, "jobs spse-prod, spse-config back up onto the same medium disk-A") ||
		!strings.Contains(errs, `mode = "calendar"`) {
		t.Fatalf("job check of two jobs in sequence over one pair of disks: exit %d\n%s", code, errs)
	}
	h.at("2026-11-02T02:00:00+08:00")
	h.must(0, "run", "spse-prod")
	h.must(0, "run", "spse-config")
	if _, errs, _ := h.cad("job", "list"); strings.Contains(errs, "due on different") {
		t.Fatalf("job list warns while both jobs are due on disk-B:\n%s", errs)
	}
	writeFileT(t, h.fail, nil, 0o600)
	h.at("2026-11-03T02:00:00+08:00")
	h.must(1, "run", "spse-prod")
	h.must(0, "run", "spse-config")
	if err := os.Remove(h.fail); err != nil {
		t.Fatal(err)
	}
	out, errs, code := h.cad("job", "list")
	if code != 0 || !strings.Contains(errs, "spse-prod: disk-B ("+diskB+"); spse-config: disk-A ("+diskA+")") {
		t.Fatalf("job list after the rotations parted: exit %d\n%s\n%s", code, out, errs)
	}

	conf("[job.rotation]\nmode = \"calendar\"\nstart = 2026-11-01T00:00:00+08:00\n")
	if _, errs, code := h.cad("job", "check"); code != 0 || strings.Contains(errs, "rotations may part") {
		t.Fatalf("job check of one calendar for both: exit %d\n%s", code, errs)
	}
	if _, errs, _ := h.cad("job", "list"); strings.Contains(errs, "due on different") {
		t.Fatalf("job list warns with one calendar for both:\n%s", errs)
	}
}
