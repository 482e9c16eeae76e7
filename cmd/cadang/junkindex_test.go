package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIJunkIndexFile: one junk file in index/, which anyone who reaches
// an append-only server can upload, once stopped every command. Now the
// daily backup and a restore go on with a warning that --quiet does not
// hide, check names the file and the remedy, prune refuses, and after
// 'repair index' everything is as before.
func TestCLIJunkIndexFile(t *testing.T) {
	r, dir, data := cliBackedUp(t, 31)

	junk := append([]byte{1}, randBytes(32, 2000)...)
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	writeFileT(t, filepath.Join(r, "index", name), junk, 0o600)

	writeFileT(t, filepath.Join(data, "berita-acara.pdf"), randBytes(33, 100<<10), 0o644)
	res := cliCode(t, 0, "-r", r, "--quiet", "backup", data)
	if !strings.Contains(res.stderr, "warning: repository file index/"+name+" was not written by this repository") || !strings.Contains(res.stderr, "repair index") {
		t.Fatalf("backup beside a junk index file does not warn under --quiet:\n%s", res)
	}
	out := filepath.Join(dir, "out")
	cliCode(t, 0, "-r", r, "restore", "latest", "--target", out)
	compareTrees(t, scanDir(t, data), scanDir(t, filepath.Join(out, data)), false)

	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "error: repository file index/"+name+" was not written by this repository") ||
		!strings.Contains(res.stdout, "note: 1 index file(s) cannot be read") {
		t.Fatalf("check does not name the junk file and the remedy:\n%s", res)
	}
	// Junk never sealed with the key indexes nothing: prune runs past it.
	res = cliOK(t, "-r", r, "prune")
	if !strings.Contains(res.stderr, "index/"+name+" was not written by this repository") || !strings.Contains(res.stderr, "'cadang repair index' removes it") {
		t.Fatalf("prune beside a junk index file:\n%s", res)
	}
	// An index file damaged on the medium (its bytes no longer match its
	// name) may have indexed genuine packs: prune refuses.
	damaged := strings.Repeat("ef", 32)
	writeFileT(t, filepath.Join(r, "index", damaged), junk, 0o600)
	res = cliCode(t, 1, "-r", r, "prune")
	if !strings.Contains(res.stderr, "prune refuses to run") || !strings.Contains(res.stderr, "repair index") || !strings.Contains(res.stderr, damaged) {
		t.Fatalf("prune beside a damaged index file:\n%s", res)
	}

	cliOK(t, "-r", r, "repair", "index")
	for _, f := range []string{name, damaged} {
		if _, err := os.Stat(filepath.Join(r, "index", f)); !os.IsNotExist(err) {
			t.Fatalf("repair index left %s: %v", f[:8], err)
		}
	}
	res = cliOK(t, "-r", r, "check", "--read-data")
	if strings.Contains(res.stderr, "warning") {
		t.Fatalf("warnings after repair index:\n%s", res)
	}
	cliOK(t, "-r", r, "prune")
}

// TestCLIDamagedGenuineIndex: when the repository's own index file is
// damaged, check must not send the administrator to forget snapshots
// whose blobs are only unindexed: it points to repair index, after which
// everything restores. A junk obsolete-pack file gets its own note.
func TestCLIDamagedGenuineIndex(t *testing.T) {
	r, dir, data := cliBackedUp(t, 41)
	idx, err := filepath.Glob(filepath.Join(r, "index", "*"))
	if err != nil || len(idx) == 0 {
		t.Fatalf("index files: %v %v", idx, err)
	}
	for _, p := range idx {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 1
		writeFileT(t, p, b, 0o600)
	}
	junk := append([]byte{1}, randBytes(42, 500)...)
	sum := sha256.Sum256(junk)
	writeFileT(t, filepath.Join(r, "obsolete", hex.EncodeToString(sum[:])), junk, 0o600)

	res := cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "use blobs the index does not name") || !strings.Contains(res.stdout, "'cadang repair index' indexes again every such pack") ||
		strings.Contains(res.stdout, "'cadang forget'") {
		t.Fatalf("check with the genuine index damaged:\n%s", res)
	}
	if !strings.Contains(res.stdout, "note: 1 obsolete-pack file(s) cannot be read") {
		t.Fatalf("check does not explain the junk obsolete file:\n%s", res)
	}
	cliOK(t, "-r", r, "repair", "index")
	cliOK(t, "-r", r, "check", "--read-data")
	out := filepath.Join(dir, "out")
	cliOK(t, "-r", r, "restore", "latest", "--target", out)
	compareTrees(t, scanDir(t, data), scanDir(t, filepath.Join(out, data)), false)
}

// TestCLIRepairIndexDamagedHeader: repair index over a pack whose header
// cannot be read rebuilt the index and said "rebuilt", exit 0, with the
// pack named only in a warning: the run log called the repair ok. It now
// exits 3, names the command that takes the pack out, and records the
// repair as partial.
func TestCLIRepairIndexDamagedHeader(t *testing.T) {
	r, _, _ := cliBackedUp(t, 51)
	victim := largestPack(t, r)
	if err := os.Truncate(victim, fileSizeT(t, victim)-10); err != nil {
		t.Fatal(err)
	}
	id := filepath.Base(victim)
	res := cliCode(t, 3, "-r", r, "repair", "index")
	if !strings.Contains(res.stdout, "rebuilt the index") || !strings.Contains(res.stderr, "'cadang repair packs "+id+"'") {
		t.Fatalf("repair index over a pack with a damaged header:\n%s", res)
	}
	// Again, as a script would: the pack is still damaged.
	res = cliCode(t, 3, "--json", "-r", r, "repair", "index")
	var out struct {
		Damaged []string `json:"damaged_headers"`
		Kept    []string `json:"kept_damaged"`
		Removed []string `json:"removed_obsolete"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || len(out.Damaged) != 1 || out.Damaged[0] != id ||
		len(out.Kept) != 1 || out.Kept[0] != id || out.Removed == nil || len(out.Removed) != 0 {
		t.Fatalf("repair index --json: %v\n%s", err, res)
	}
	recs := repairRecords(t, r)
	if len(recs) != 2 {
		t.Fatalf("the repairs' records: %+v", recs)
	}
	for _, rec := range recs {
		if rec.Result != "partial" || rec.Failure != "integrity" || rec.Note.Code != "repair-index" ||
			len(rec.Errors) != 1 || !strings.Contains(rec.Errors[0], id) || rec.RepositoryID == "" {
			t.Fatalf("a repair's record: %+v", rec)
		}
	}
}

// cliBackedUp makes a repository with one backup of a directory holding
// one file of random bytes from seed, and returns the repository, a
// temporary directory and the backed-up directory in it.
func cliBackedUp(t *testing.T, seed uint64) (r, dir, data string) {
	t.Helper()
	r = cliNewRepo(t)
	dir = t.TempDir()
	data = filepath.Join(dir, "data")
	writeFileT(t, filepath.Join(data, "kontrak.pdf"), randBytes(seed, 300<<10), 0o644)
	cliBackup(t, r, data)
	return r, dir, data
}

// repairRecord is what the tests read of a repair's run-log record.
type repairRecord struct {
	Repository   string   `json:"repository"`
	RepositoryID string   `json:"repository_id"`
	Result       string   `json:"result"`
	Failure      string   `json:"failure"`
	Errors       []string `json:"errors"`
	Note         struct {
		Code string `json:"code"`
	} `json:"note"`
}

// repairRecords returns the run log's repair records of the repository at
// repoDir (the tests of this package share one run log).
func repairRecords(t *testing.T, repoDir string) []repairRecord {
	t.Helper()
	var all, out []repairRecord
	if err := json.Unmarshal([]byte(cliOK(t, "--json", "log", "--op", "repair").stdout), &all); err != nil {
		t.Fatal(err)
	}
	for _, rec := range all {
		if rec.Repository == repoDir {
			out = append(out, rec)
		}
	}
	return out
}

// largestPack returns the path of the largest pack file in the repository
// at repoDir.
func largestPack(t *testing.T, repoDir string) string {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(repoDir, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("packs: %v %v", packs, err)
	}
	victim := packs[0]
	for _, p := range packs {
		if fileSizeT(t, p) > fileSizeT(t, victim) {
			victim = p
		}
	}
	return victim
}

func fileSizeT(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCLICheckAfterRepairIndexOfTruncatedPack: after repair index over a
// pack cut so short that none of its blobs opens, the pack is neither
// indexed nor salvageable by repair index. check once told the
// administrator to run repair index "before anything else", which changes
// nothing, in a loop; it now says repair index names such packs for
// repair packs, and after that the repository checks clean.
func TestCLICheckAfterRepairIndexOfTruncatedPack(t *testing.T) {
	r, _, data := cliBackedUp(t, 71)
	victim := largestPack(t, r)
	if err := os.Truncate(victim, 100); err != nil {
		t.Fatal(err)
	}
	id := filepath.Base(victim)
	cliCode(t, 3, "-r", r, "repair", "index")
	res := cliCode(t, 1, "-r", r, "check")
	if strings.Contains(res.stdout, "before anything else") || !strings.Contains(res.stdout, "names the others, for 'cadang repair packs'") {
		t.Fatalf("check after repair index over a truncated pack:\n%s", res)
	}
	cliCode(t, 3, "-r", r, "repair", "packs", id)
	// What the pack held is lost; the next backup of the same files
	// stores it again and heals the snapshot.
	cliBackup(t, r, data)
	cliOK(t, "-r", r, "check", "--read-data")
}
