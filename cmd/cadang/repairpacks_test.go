package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/repotest"
)

// TestCLIRepairPacks walks the night a medium rots: check --read-data
// names the damaged pack, repair packs takes it out (keeping its bytes,
// storing again what it can, naming what is lost, exit 3), the next backup
// of the same files stores the lost content again, and check and restore
// are whole once more.
func TestCLIRepairPacks(t *testing.T) {
	r := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFileT(t, filepath.Join(data, "kontrak.pdf"), randBytes(21, 300<<10), 0o644)
	writeFileT(t, filepath.Join(data, "dokumen.pdf"), randBytes(22, 200<<10), 0o644)
	want := scanDir(t, data)
	first := str(t, cliBackup(t, r, data), "snapshot_id")

	rp := openForTest(t, r, cliTestPassword)
	var victim repo.BlobLocation
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.DataBlob && victim.Pack == (repo.ID{}) {
			victim = l
		}
		return nil
	})
	repotest.DamageBlob(t, rp, r, repo.DataBlob, victim.ID)
	rp.Close()
	pack := victim.Pack.String()

	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	if !strings.Contains(res.stdout, pack) {
		t.Fatalf("check does not name the damaged pack %s:\n%s", pack[:8], res)
	}
	if !strings.Contains(res.stdout, "note: 'cadang repair packs "+pack+"'") {
		t.Errorf("check does not say how to repair the pack:\n%s", res)
	}
	keepDir := filepath.Join(dir, "kept")
	res = cliCode(t, 3, "-r", r, "repair", "packs", "--keep-dir", keepDir, pack[:10])
	if !strings.Contains(res.stdout, "removed pack "+pack) || !strings.Contains(res.stdout, "lost: data blob "+victim.ID.String()) ||
		!strings.Contains(res.stderr, "could not be saved from any copy") {
		t.Fatalf("repair packs:\n%s", res)
	}
	// The run log says what was lost, and of what kind the failure is.
	recs := repairRecords(t, r)
	if len(recs) != 1 {
		t.Fatalf("repair records of %s: %+v", r, recs)
	}
	if r := recs[0]; r.Result != "partial" || r.Failure != "integrity" || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], victim.ID.String()) {
		t.Errorf("repair record: %+v", r)
	}
	kept, err := filepath.Glob(filepath.Join(keepDir, "*", pack))
	if err != nil || len(kept) != 1 {
		t.Fatalf("the pack's bytes were not kept under %s: %v %v", keepDir, kept, err)
	}
	if _, err := os.Stat(filepath.Join(r, "data", pack[:2], pack)); !os.IsNotExist(err) {
		t.Fatalf("the damaged pack is still in the repository: %v", err)
	}
	// The snapshot now names a blob no pack holds: check says so.
	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, victim.ID.Short()) || !strings.Contains(res.stdout, "the next backup of them stores their contents again") {
		t.Errorf("check after the repair does not name the lost blob, or say what heals it:\n%s", res)
	}
	// A backup of the same files stores it again, and heals the old
	// snapshot with it. The file whose data was lost is read again but
	// did not change: the summary says so apart from the changed files.
	logFile := filepath.Join(dir, "runlog.jsonl")
	t.Setenv("CADANG_LOG", logFile)
	res = cliOK(t, "-r", r, "backup", data)
	// The run log counts it among the files whose content the run stored,
	// as its bytes are in bytes_added.
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), `"files_added":1,`) {
		t.Errorf("backup after repair packs: the record does not count the file read again as added (%v):\n%s", err, b)
	}
	if !strings.Contains(res.stdout, "Files:       0 new, 0 changed, 1 unmodified\n") ||
		!strings.Contains(res.stdout, "1 file read again because its data was missing from the repository (not changed)") {
		t.Errorf("backup after repair packs: summary does not say why a file was read again:\n%s", res)
	}
	cliOK(t, "-r", r, "check", "--read-data")
	for _, snap := range []string{first[:8], "latest"} {
		target := filepath.Join(dir, "restore-"+snap)
		cliOK(t, "-r", r, "restore", snap, "--target", target)
		compareTrees(t, want, scanDir(t, filepath.Join(target, data)), false)
	}

	// Errors that name what is wrong.
	res = cliCode(t, 1, "-r", r, "repair", "packs", "abc")
	if !strings.Contains(res.stderr, "at least its first 8 hex digits") {
		t.Errorf("short pack ID:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "repair", "packs", "ffffffffff")
	if !strings.Contains(res.stderr, `no pack file starts with "ffffffffff"`) {
		t.Errorf("unknown pack:\n%s", res)
	}
}
