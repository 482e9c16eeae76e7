package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// TestCLIForgetPrune: forget --prune marks what the forgotten snapshots
// alone used, the next prune deletes it, the repository shrinks, checks
// clean, and the kept snapshot restores as it was backed up. A dry run
// changes no byte.
func TestCLIForgetPrune(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	var wantLast map[string]fileState
	for day := range 4 {
		writeFileT(t, filepath.Join(src, "tetap.sql"), []byte(strings.Repeat("INSERT INTO paket VALUES (1);\n", 20000)), 0o644)
		os.Remove(filepath.Join(src, "harian.bin"))
		writeFileT(t, filepath.Join(src, "harian.bin"), pruneTestBytes(uint64(day+1), 2<<20), 0o644)
		cliBackup(t, repoDir, src)
		wantLast = scanDir(t, src)
	}
	before := pruneTestSize(t, repoDir)

	// A dry run of both: the prune's plan is of every snapshot, since
	// none was removed, and it says so.
	res := cliOK(t, "-r", repoDir, "forget", "--keep-last", "1", "--prune", "--dry-run")
	if !strings.Contains(res.stdout, "would remove 3 snapshots") || !strings.Contains(res.stdout, "prune (dry run) of the repository as it is: the snapshots above are not removed") ||
		!strings.Contains(res.stdout, "used by 4 snapshot(s)") || !strings.Contains(res.stdout, "(dry run: nothing was changed)") {
		t.Errorf("forget --prune --dry-run:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "forget", "--keep-last", "1", "--prune")
	if !strings.Contains(res.stdout, "removed 3 snapshots") || !strings.Contains(res.stdout, "marked:") {
		t.Fatalf("forget --prune:\n%s", res)
	}
	hashes := pruneTestHashes(t, repoDir)
	dry := cliOK(t, "-r", repoDir, "--json", "prune", "--dry-run")
	var rep map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(dry.stdout)), &rep); err != nil || rep["dry_run"] != true {
		t.Fatalf("prune --dry-run --json: %v\n%s", err, dry)
	}
	if del := rep["deleted"].(map[string]any); del["packs"].(float64) == 0 {
		t.Errorf("dry run plans no deletion: %s", dry.stdout)
	}
	// In words: its time is the plan's, and it says it changed nothing.
	dry = cliOK(t, "-r", repoDir, "prune", "--dry-run")
	if !strings.Contains(dry.stdout, "would delete:") || !regexp.MustCompile(`\nplanned in [0-9.]+ s, peak memory [0-9]+ MiB \(dry run: nothing was changed\)\n$`).MatchString(dry.stdout) ||
		strings.Contains(dry.stdout, "took ") {
		t.Errorf("prune --dry-run:\n%s", dry.stdout)
	}
	if got := pruneTestHashes(t, repoDir); len(got) != len(hashes) {
		t.Errorf("prune --dry-run changed the file count: %d -> %d", len(hashes), len(got))
	} else {
		for p, h := range hashes {
			if got[p] != h {
				t.Errorf("prune --dry-run changed %s", p)
			}
		}
	}

	res = cliOK(t, "-r", repoDir, "prune")
	if !strings.Contains(res.stdout, "deleted:") {
		t.Fatalf("prune:\n%s", res)
	}
	after := pruneTestSize(t, repoDir)
	if after > before/2 {
		t.Errorf("repository %d bytes after forget and prune, %d before", after, before)
	}
	cliOK(t, "-r", repoDir, "check", "--read-data")
	target := t.TempDir()
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target, "--verify")
	compareTrees(t, wantLast, scanDir(t, filepath.Join(target, src)), false)
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Errorf("%d lock files left", n)
	}
}

func pruneTestBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func pruneTestSize(t *testing.T, root string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func pruneTestHashes(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = sha256.Sum256(b)
		}
		return nil
	})
	return out
}

// TestCLINoLockRefusedForWriters: a writer without a lock would be
// invisible to prune, so --no-lock is refused for commands that write.
func TestCLINoLockRefusedForWriters(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("isi"), 0o644)
	for _, args := range [][]string{
		{"backup", src},
		{"forget", "--keep-last", "1"},
		{"tag", "--add", "x", "latest"},
	} {
		res := cliCode(t, exitFatal, append([]string{"-r", repoDir, "--no-lock"}, args...)...)
		if !strings.Contains(res.stderr, "--no-lock is for read-only commands") {
			t.Errorf("%v: %s", args, res)
		}
	}
	cliBackup(t, repoDir, src)
	cliOK(t, "-r", repoDir, "--no-lock", "snapshots")
}

// TestCLIPruneDryRunLocksWritable: a dry run reads a read-only medium
// without a lock (romedium_test.go), but on a writable one it still takes
// its shared lock, so that an exclusive lock stops it.
func TestCLIPruneDryRunLocksWritable(t *testing.T) {
	repoDir := cliNewRepo(t)
	cliBackup(t, repoDir, t.TempDir())
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := cliRun(t, nil, "-r", repoDir, "prune", "--dry-run")
	if res.code == 0 || !strings.Contains(res.stderr, "locked") || strings.Contains(res.stderr, "read without a lock") {
		t.Errorf("prune --dry-run beside an exclusive lock should be refused:\n%s", res)
	}
}
