package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// uploadJunkFile puts junk into the repository directory sub, named by its
// SHA-256, as anyone who reaches an append-only server can, and returns the
// name.
func uploadJunkFile(t *testing.T, repoDir, sub string, seed uint64) string {
	t.Helper()
	junk := append([]byte{1}, randBytes(seed, 700)...)
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	writeFileT(t, filepath.Join(repoDir, sub, name), junk, 0o600)
	return name
}

// TestCLIJunkProtectionFile: one junk file in protected/ stopped every
// forget, 'protect --list' and 'protect --remove', and no command could
// remove it. Junk that no holder of the key sealed was never a protection:
// forget passes over it with a warning. A file that is sealed with the key
// but holds no protection (or one damaged on the medium) could have
// protected anything: forget refuses, naming the remedy. --list and
// --remove read past both; check names both; --remove-unreadable takes
// them out and nothing else.
func TestCLIJunkProtectionFile(t *testing.T) {
	r, _, data := cliBackedUp(t, 51)
	kept := str(t, cliBackup(t, r, data), "snapshot_id")
	cliOK(t, "-r", r, "protect", "--reason", "audit", kept[:8])
	name := uploadJunkFile(t, r, "protected", 52)

	res := cliOK(t, "-r", r, "--quiet", "forget", "--keep-last", "1", "--dry-run")
	if !strings.Contains(res.stderr, "warning: protection file "+name[:8]+" is passed over: it was not written with this repository's key") {
		t.Fatalf("forget beside a junk protection file:\n%s", res)
	}
	// Sealed with the key, holding no protection: a faulty or hostile
	// holder of the password wrote it, and it could protect anything.
	sealed, err := openTestRepo(t, r).SaveFile(context.Background(), repo.ProtectFile, []byte("no protection"))
	if err != nil {
		t.Fatal(err)
	}
	res = cliCode(t, 1, "-r", r, "forget", "--keep-last", "1")
	if !strings.Contains(res.stderr, "forget refuses to run: nobody can tell which snapshots 1 protection file(s) that cannot be read protect (repository file protected/"+sealed.String()+" is damaged") ||
		!strings.Contains(res.stderr, "'cadang protect --remove-unreadable' removes them") || strings.Contains(res.stderr, "hint:") {
		t.Fatalf("forget beside a protection file that holds no protection:\n%s", res)
	}
	res = cliOK(t, "-r", r, "protect", "--list")
	if !strings.Contains(res.stderr, "warning: protection file "+sealed.String()[:8]+" cannot be read") ||
		!strings.Contains(res.stderr, "warning: protection file "+name[:8]+" is passed over") ||
		!strings.Contains(res.stdout, kept[:8]) || !strings.Contains(res.stdout, "1 protection, 1 active; 2 protection files cannot be read") {
		t.Fatalf("protect --list beside junk protection files:\n%s", res)
	}
	if got := protectList(t, r); len(got) != 1 || got[0].Snapshot != kept {
		t.Fatalf("protect --list --json: %+v", got)
	}
	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "error: repository file protected/"+name+" was not written by this repository") ||
		strings.Count(res.stdout, "protected/"+sealed.String()) != 1 ||
		!strings.Contains(res.stdout, "note: forget refuses to run while a protection file cannot be read, unless it is junk that was never sealed with this repository's key; 'cadang protect --remove-unreadable'") {
		t.Fatalf("check beside junk protection files:\n%s", res)
	}

	cliCode(t, 1, "-r", r, "protect", "--remove-unreadable", kept[:8])
	res = cliOK(t, "-r", r, "--json", "protect", "--remove-unreadable")
	var out struct{ Removed []string }
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || len(out.Removed) != 2 ||
		!slices.Contains(out.Removed, name) || !slices.Contains(out.Removed, sealed.String()) {
		t.Fatalf("protect --remove-unreadable --json: %+v, %v\n%s", out, err, res)
	}
	if _, err := os.Stat(filepath.Join(r, "protected", name)); !os.IsNotExist(err) {
		t.Fatalf("the junk file is still there: %v", err)
	}
	res = cliOK(t, "-r", r, "protect", "--remove-unreadable")
	if !strings.Contains(res.stdout, "nothing was removed") {
		t.Errorf("a second --remove-unreadable:\n%s", res)
	}
	// The genuine protection stayed and still counts.
	res = cliOK(t, "-r", r, "forget", "--keep-last", "1", "--prune")
	if !strings.Contains(res.stdout, "protected: audit") {
		t.Errorf("forget after the removal does not keep the protected snapshot:\n%s", res)
	}
	if got := protectList(t, r); len(got) != 1 || got[0].Snapshot != kept {
		t.Fatalf("protections after: %+v", got)
	}
	cliOK(t, "-r", r, "check")
}

// TestCLIJunkKeyFile: one junk file in keys/ made 'key list' fail, so the
// administrator could not see its ID to remove it. Now it is listed and
// named, check points to the remedy, and key remove takes it out.
func TestCLIJunkKeyFile(t *testing.T) {
	r, _, _ := cliBackedUp(t, 61)
	name := uploadJunkFile(t, r, "keys", 62)

	res := cliOK(t, "-r", r, "key", "list")
	if !strings.Contains(res.stdout, "!  "+name[:8]) || !strings.Contains(res.stderr, "warning: key file "+name[:8]+" cannot be read") ||
		!strings.Contains(res.stdout, "'cadang key remove ID' removes it") {
		t.Fatalf("key list beside a junk key file:\n%s", res)
	}
	res = cliOK(t, "-r", r, "--json", "key", "list")
	var keys []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
		Problem string `json:"problem"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &keys); err != nil || len(keys) != 2 {
		t.Fatalf("key list --json: %v\n%s", err, res)
	}
	for _, k := range keys {
		if (k.ID == name) != (k.Problem != "") || (k.ID == name && k.Current) {
			t.Errorf("key list --json entry %+v", k)
		}
	}
	// An unreadable key's entry holds no made-up time or cost.
	var raw []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range raw {
		_, created := k["created"]
		if (k["id"] == name) == created {
			t.Errorf("key list --json entry %v", k)
		}
	}
	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "note: a key file that cannot be read opens nothing; 'cadang key list' names it and 'cadang key remove ID' removes it") {
		t.Fatalf("check beside a junk key file:\n%s", res)
	}
	cliOK(t, "-r", r, "key", "remove", name[:8])
	res = cliOK(t, "-r", r, "key", "list")
	if strings.Contains(res.stdout, name[:8]) || res.stderr != "" && strings.Contains(res.stderr, "warning") {
		t.Fatalf("key list after the removal:\n%s", res)
	}
	cliOK(t, "-r", r, "check")
}

// TestCLIJunkLockFile: a junk file in locks/ stopped every command for 30
// minutes, and one uploaded every 29 stopped every backup. It is nobody's
// lock: the next command removes it with a warning that --quiet does not
// hide. A lock file damaged on the medium still counts as a lock, and the
// hint says how a restore runs past it.
func TestCLIJunkLockFile(t *testing.T) {
	r, dir, data := cliBackedUp(t, 81)
	name := uploadJunkFile(t, r, "locks", 82)
	res := cliOK(t, "-r", r, "--quiet", "backup", data)
	if !strings.Contains(res.stderr, "warning: removed lock file "+name[:8]+": it was not written with this repository's key") {
		t.Fatalf("backup beside a junk lock file:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(r, "locks", name)); !os.IsNotExist(err) {
		t.Fatalf("the junk lock file is still there: %v", err)
	}

	// Damaged: its bytes no longer match its name.
	damaged := strings.Repeat("ab", 32)
	writeFileT(t, filepath.Join(r, "locks", damaged), randBytes(83, 200), 0o600)
	res = cliCode(t, 11, "-r", r, "backup", data)
	if !strings.Contains(res.stderr, "repository is locked by lock file "+damaged) || !strings.Contains(res.stderr, "'cadang --no-lock'") {
		t.Fatalf("backup beside a damaged lock file:\n%s", res)
	}
	out := filepath.Join(dir, "out")
	cliOK(t, "-r", r, "--no-lock", "restore", "latest", "--target", out)
	compareTrees(t, scanDir(t, data), scanDir(t, filepath.Join(out, data)), false)
	cliOK(t, "-r", r, "unlock", "--remove-all")
	cliOK(t, "-r", r, "backup", data)
}

// TestCLIForgetDamagedTaggedSnapshot: a genuine snapshot file damaged on
// the medium (its bytes no longer match its name) that a tag change made
// from a protected snapshot is covered by that protection, which forget
// cannot see while the file cannot be read. forget refuses and names the
// protection to lift; junk (a foreign file) is forgotten beside it.
func TestCLIForgetDamagedTaggedSnapshot(t *testing.T) {
	r, _, data := cliBackedUp(t, 91)
	first := str(t, cliBackup(t, r, data), "snapshot_id")
	cliOK(t, "-r", r, "protect", "--reason", "audit", first[:8])
	tj := jsonLines(t, cliOK(t, "-r", r, "--json", "tag", first[:8], "--add", "bukti").stdout)
	tagged := str(t, tj[0], "new_snapshot_id")
	p := filepath.Join(r, "snapshots", tagged)
	flipByte(t, p, 60)

	res := cliCode(t, 1, "-r", r, "forget", tagged[:8])
	if !strings.Contains(res.stderr, "snapshot "+tagged[:8]+" may be protected") || !strings.Contains(res.stderr, "'cadang protect --remove "+first+"' lifts them") ||
		!strings.Contains(res.stderr, "does not match its name") {
		t.Fatalf("forget of a damaged tagged snapshot of a protected one:\n%s", res)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the damaged file went: %v", err)
	}
	junk := uploadJunkFile(t, r, "snapshots", 92)
	res = cliOK(t, "-r", r, "forget", junk[:8])
	if !strings.Contains(res.stderr, "only protections that name it were checked") {
		t.Errorf("forget of junk beside the protection:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "--no-lock", "protect", "--remove", first[:8])
	if !strings.Contains(res.stderr, "--no-lock is for read-only commands") {
		t.Errorf("protect --remove without a lock:\n%s", res)
	}
	cliOK(t, "-r", r, "protect", "--remove", first)
	cliOK(t, "-r", r, "forget", tagged[:8])
	cliOK(t, "-r", r, "prune")
}

// TestCLIJunkNewerKeyFile: a key file is JSON checked only against its
// hash, so anyone who can upload a file can add one that claims a newer
// version. It could not be removed, and check failed on every run. Now
// key list and check name it, and key remove takes it out.
func TestCLIJunkNewerKeyFile(t *testing.T) {
	r, _, _ := cliBackedUp(t, 101)
	keys, err := filepath.Glob(filepath.Join(r, "keys", "*"))
	if err != nil || len(keys) != 1 {
		t.Fatalf("key files: %v %v", keys, err)
	}
	var kf map[string]any
	b, err := os.ReadFile(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	kf["version"] = 2
	b, err = json.Marshal(kf)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	name := hex.EncodeToString(sum[:])
	writeFileT(t, filepath.Join(r, "keys", name), b, 0o600)

	res := cliOK(t, "-r", r, "key", "list")
	if !strings.Contains(res.stdout, "!  "+name[:8]) || !strings.Contains(res.stdout, "is of a newer format") ||
		!strings.Contains(res.stdout, "if none added it (anyone who can upload a file can), 'cadang key remove ID' removes it") {
		t.Fatalf("key list beside a newer-format key file:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "note: a key file of a newer format opens only with a newer cadang") {
		t.Fatalf("check beside a newer-format key file:\n%s", res)
	}
	cliOK(t, "-r", r, "key", "remove", name[:8])
	cliOK(t, "-r", r, "check")
}
