package main

// `cadang find` names when each snapshot was taken, not only the file's
// own modification time: "the document as it was on 12 November" is a
// snapshot's date.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFindSnapshotTime(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cadang.toml")
	writeFileT(t, cfg, []byte("[organization]\ntimezone = \"Asia/Makassar\"\n[log]\npath = \""+filepath.Join(dir, "runlog.jsonl")+"\"\n"), 0o600)
	t.Setenv("CADANG_CONFIG", cfg)
	t.Setenv(envLog, "")
	src := filepath.Join(dir, "src")
	writeFileT(t, filepath.Join(src, "kontrak.pdf"), []byte("kontrak\n"), 0o644)
	// An old file: its mtime is not the snapshot's time.
	old := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "kontrak.pdf"), old, old); err != nil {
		t.Fatal(err)
	}
	id := str(t, cliBackup(t, repoDir, src), "snapshot_id")
	var sns []struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(cliOK(t, "-r", repoDir, "--json", "snapshots").stdout), &sns); err != nil || len(sns) != 1 {
		t.Fatalf("snapshots --json: %v %v", err, sns)
	}
	snTime := sns[0].Time
	wita := time.FixedZone("WITA", 8*3600)

	res := cliOK(t, "-r", repoDir, "find", "kontrak.pdf")
	want := id[:8] + " " + snTime.In(wita).Format("2006-01-02 15:04:05") + " WITA -rw-r--r-- "
	if !strings.HasPrefix(res.stdout, want) || !strings.Contains(res.stdout, " 2025-01-02 11:04:05 WITA "+filepath.Join(src, "kontrak.pdf")) {
		t.Errorf("find:\n%s\nwant the snapshot's time in the organisation's zone after its ID (%q), and the file's own mtime", res.stdout, want)
	}
	if got := strings.Fields(res.stdout); len(got) == 0 || got[0] != id[:8] {
		t.Errorf("find's first column is no longer the snapshot ID: %q", res.stdout)
	}

	fj := jsonLines(t, cliOK(t, "-r", repoDir, "--json", "find", "kontrak.pdf").stdout)
	if len(fj) != 1 {
		t.Fatalf("find --json: %v", fj)
	}
	got, err := time.Parse(time.RFC3339Nano, str(t, fj[0], "snapshot_time"))
	if err != nil || !got.Equal(snTime) || str(t, fj[0], "snapshot") != id || str(t, fj[0], "path") != filepath.Join(src, "kontrak.pdf") {
		t.Errorf("find --json: %v (snapshot_time %v, want %v)", fj[0], got, snTime)
	}
	if m, err := time.Parse(time.RFC3339Nano, str(t, fj[0], "mtime")); err != nil || !m.Equal(old) {
		t.Errorf("find --json mtime: %v, want %v", fj[0]["mtime"], old)
	}
}
