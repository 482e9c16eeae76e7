package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// A copy into a repository that forgot some of the copied snapshots (its
// retention keeps fewer) brought them back every time. It now passes them
// over and says so; naming one, or --include-forgotten, copies it again. A
// forget by name records nothing: forgetting a damaged copy and copying it
// in again is a repair.
func TestCLICopyPassesOverForgottenSnapshots(t *testing.T) {
	src, dst := cliNewRepo(t), cliNewRepo(t)
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	data := filepath.Join(t.TempDir(), "data")
	var ids []string
	for i := range 3 {
		writeFileT(t, filepath.Join(data, "f"), randBytes(uint64(70+i), 100<<10), 0o644)
		ids = append(ids, str(t, cliBackup(t, src, data), "snapshot_id"))
	}
	cliRunCopy(t, "-r", dst, "copy", "--from-repo", src)
	copies := cliSnapshots(t, dst)
	if len(copies) != 3 {
		t.Fatalf("%d copies", len(copies))
	}
	cliOK(t, "-r", dst, "forget", "--keep-last", "1", "--prune")
	// The record, shown by cat.
	recs, err := os.ReadDir(filepath.Join(dst, "forgotten"))
	if err != nil || len(recs) != 1 {
		t.Fatalf("forgotten/: %v, %v", recs, err)
	}
	if res := cliOK(t, "-r", dst, "cat", "forgotten", recs[0].Name()[:8]); !strings.Contains(res.stdout, `"original":"`+ids[0]+`"`) {
		t.Errorf("cat forgotten:\n%s", res)
	}

	// And listed: the copies removed, with their originals and times.
	res := cliOK(t, "-r", dst, "snapshots", "--forgotten")
	for i := range 2 {
		if !strings.Contains(res.stdout, copies[i].ID[:8]+"  ") || !strings.Contains(res.stdout, ids[i][:8]) {
			t.Errorf("snapshots --forgotten does not list copy %d:\n%s", i, res)
		}
	}
	if strings.Contains(res.stdout, copies[2].ID[:8]) || !strings.Contains(res.stdout, "2 forgotten snapshots") {
		t.Errorf("snapshots --forgotten:\n%s", res)
	}
	// time is the snapshot's, as in snapshots --json; forgotten the
	// removal's.
	var listed []struct {
		ID, Original    string
		Time, Forgotten time.Time
	}
	if err := json.Unmarshal([]byte(cliOK(t, "--json", "-r", dst, "snapshots", "--forgotten").stdout), &listed); err != nil ||
		len(listed) != 2 || listed[0].Original != ids[0] || listed[1].Original != ids[1] || !listed[0].Time.Equal(copies[0].Time) ||
		listed[0].Forgotten.Before(copies[2].Time) {
		t.Errorf("snapshots --forgotten --json: %+v, %v", listed, err)
	}
	for _, f := range []string{"--host=x", "--path=/x", "--latest"} {
		if res := cliCode(t, 1, "-r", dst, "snapshots", "--forgotten", f); !strings.Contains(res.stderr, "--forgotten with "+strings.Split(f, "=")[0]) {
			t.Errorf("--forgotten %s: %s", f, res)
		}
	}

	res = cliRunCopy(t, "-r", dst, "copy", "--from-repo", src)
	if !strings.Contains(res.stdout, "0 snapshot(s) copied, 1 skipped, 2 not again (forgotten in this repository)") ||
		!strings.Contains(res.stdout, "skipped "+ids[0][:8]+" (forgotten in this repository on ") {
		t.Errorf("copy after the forget:\n%s", res)
	}
	if n := len(cliSnapshots(t, dst)); n != 1 {
		t.Fatalf("%d snapshots after the copy, want 1", n)
	}

	// Named, it is copied; forgotten by ID, it is passed over again.
	res = cliRunCopy(t, "-r", dst, "copy", "--from-repo", src, ids[0][:8])
	if !strings.Contains(res.stdout, "1 snapshot(s) copied") {
		t.Errorf("copy of a named forgotten snapshot:\n%s", res)
	}
	var back string
	for _, s := range cliSnapshots(t, dst) {
		if s.ID != copies[2].ID {
			back = s.ID
		}
	}
	cliOK(t, "-r", dst, "forget", back[:8])
	res = cliRunCopy(t, "-r", dst, "copy", "--from-repo", src)
	if !strings.Contains(res.stdout, "0 snapshot(s) copied, 1 skipped, 2 not again") {
		t.Errorf("copy after a forget by ID:\n%s", res)
	}
	res = cliRunCopy(t, "-r", dst, "copy", "--from-repo", src, "--include-forgotten")
	if !strings.Contains(res.stdout, "2 snapshot(s) copied, 1 skipped;") {
		t.Errorf("copy --include-forgotten:\n%s", res)
	}
	// The newest, which no policy removed, forgotten by name: copied again
	// by the next copy.
	cliOK(t, "-r", dst, "forget", copies[2].ID[:8])
	res = cliRunCopy(t, "-r", dst, "copy", "--from-repo", src)
	if !strings.Contains(res.stdout, "copied "+ids[2][:8]+" as ") || !strings.Contains(res.stdout, "1 snapshot(s) copied, 2 skipped;") {
		t.Errorf("copy after a forget by name:\n%s", res)
	}
	cliOK(t, "-r", dst, "check", "--read-data")
}

// A storage that cannot hold the record (an older REST server; here
// forgotten/ is a file, which even root cannot write into) does not fail
// the forget: the snapshots are removed, and a warning says a copy may
// bring them back.
func TestCLIForgetWarnsWhenItCannotRecord(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	for i := range 2 {
		writeFileT(t, filepath.Join(data, "f"), randBytes(uint64(170+i), 10<<10), 0o644)
		cliBackup(t, r, data)
	}
	dir := filepath.Join(r, "forgotten")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, dir, []byte("not a directory"), 0o600)
	log := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", log)
	res := cliOK(t, "-r", r, "forget", "--keep-last", "1")
	if !strings.Contains(res.stderr, "removed, but not recorded as forgotten") || len(cliSnapshots(t, r)) != 1 {
		t.Errorf("forget where no record can be saved:\n%s", res)
	}
	// And its run-log record says so, in the note's sentence too.
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(cliOK(t, "--json", "log", "--op", "forget").stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("log: %v %+v", err, recs)
	}
	if f := recs[0].Forget; recs[0].Result != runlog.OK || f == nil || !f.NotRecorded ||
		!strings.Contains(runlog.MessageText(i18n.EN, &recs[0]), "could not be recorded on this medium as forgotten snapshots") {
		t.Errorf("forget record: %+v", recs[0])
	}
}

// snapshots --forgotten filters by tags (--tag, --job), and its Original
// column is blank for a snapshot that was not a copy.
func TestCLIForgottenListingFilters(t *testing.T) {
	repoDir := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	var ids []string
	for i, tags := range []string{"a", "job:spse-prod", "a"} {
		writeFileT(t, filepath.Join(data, "f"), randBytes(uint64(90+i), 1<<10), 0o644)
		ids = append(ids, str(t, cliBackup(t, repoDir, "--tag", tags, data), "snapshot_id"))
	}
	cliOK(t, "-r", repoDir, "forget", "--keep-last", "1")
	res := cliOK(t, "-r", repoDir, "snapshots", "--forgotten", "--tag", "a")
	if !strings.Contains(res.stdout, ids[0][:8]) || strings.Contains(res.stdout, ids[1][:8]) || !strings.Contains(res.stdout, "1 forgotten snapshot ") {
		t.Errorf("--forgotten --tag a:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "snapshots", "--forgotten", "--job", "spse-prod")
	if !strings.Contains(res.stdout, ids[1][:8]) || strings.Contains(res.stdout, ids[0][:8]) {
		t.Errorf("--forgotten --job spse-prod:\n%s", res)
	}
	// The row of a snapshot that was no copy ends with its forget time:
	// no original beside its own ID.
	for _, line := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(line, ids[1][:8]) && strings.Count(line, ids[1][:8]) != 1 {
			t.Errorf("row names the ID twice: %q", line)
		}
	}
}
