package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRestoreTestSnapshotWithoutFiles: a job's path source that backed
// up an empty directory has snapshots with no file. The configured
// restore test drew such a snapshot and passed over it without a word;
// the report now names it, and the record marks it (no_files), while
// every snapshot drawn that has files is restored.
func TestCLIRestoreTestSnapshotWithoutFiles(t *testing.T) {
	h := newSOPHarness(t)
	empty := filepath.Join(h.dir, "kosong")
	if err := os.MkdirAll(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := mustRead(t, h.cfg)
	const medium = "  [[job.medium]]\n  name = \"disk-A\""
	if !strings.Contains(cfg, medium) {
		t.Fatalf("the harness's configuration changed:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, medium, "  [[job.source]]\n  name = \"kosong\"\n  paths = [\""+empty+"\"]\n"+medium, 1)
	writeFileT(t, h.cfg, []byte(cfg), 0o600)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")

	// Every snapshot is drawn: the upload's and the empty source's.
	out := h.must(0, "restore-test", "--job", "spse-db", "--sample", "5", "--snapshots", "5")
	rec := h.last()
	var noFiles []string
	for _, s := range rec.Test.Snapshots {
		if s.NoFiles {
			noFiles = append(noFiles, s.Source)
		}
	}
	if len(noFiles) != 1 || noFiles[0] != "kosong" {
		t.Fatalf("record's snapshots %+v: want the snapshot of kosong marked no_files", rec.Test.Snapshots)
	}
	files := map[string]bool{}
	for _, it := range rec.Test.Items {
		files[it.Snapshot] = true
	}
	for _, s := range rec.Test.Snapshots {
		if !s.NoFiles && !files[s.ID] {
			t.Errorf("snapshot %s (%s) drawn but no file of it tested", s.ID, s.Source)
		}
	}
	text := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(text, "Snapshots drawn that hold no file to test, so nothing of them was restored: ") || !strings.Contains(text, "(kosong)") {
		t.Errorf("restore-test's report does not name the snapshot without files:\n%s", out)
	}
	id := strings.Join(strings.Fields(h.must(0, "report", "restore-test", rec.ID)), " ")
	if !strings.Contains(id, "Snapshot terpilih yang tidak berisi berkas untuk diuji") {
		t.Errorf("report restore-test (Indonesian) does not name the snapshot without files:\n%s", id)
	}
}
