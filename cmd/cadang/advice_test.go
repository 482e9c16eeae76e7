package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// TestCLIRepoOneLevelOff: -r naming a repository's data/ (or keys/), or
// the medium directory that holds the repository, names the repository
// meant, and does not suggest making a new one there (inside or beside it).
func TestCLIRepoOneLevelOff(t *testing.T) {
	r := cliNewRepo(t)
	medium := filepath.Dir(r)
	for _, dir := range []string{filepath.Join(r, "data"), filepath.Join(r, "keys"), filepath.Join(r, "data", "00"), medium} {
		res := cliCode(t, 10, "-r", dir, "snapshots")
		if !strings.Contains(res.stderr, "there is a cadang repository at "+r+": did you mean -r "+r+"?") {
			t.Errorf("-r %s does not name the repository at %s:\n%s", dir, r, res)
		}
		if strings.Contains(res.stderr, "directory below it") || strings.Contains(res.stderr, "'cadang init' (in") {
			t.Errorf("-r %s suggests a new repository:\n%s", dir, res)
		}
	}
	// Nor does init make one inside it.
	inside := filepath.Join(r, "data", "cadang")
	res := cliCode(t, 1, "-r", inside, "init")
	if !strings.Contains(res.stderr, "inside the cadang repository at "+r) {
		t.Errorf("init inside a repository:\n%s", res)
	}
}

// TestCLIAmbiguousPrefixListsSnapshots: a snapshot ID prefix that matches
// several snapshots lists them (ID, time, host, paths, tags), with enough
// digits to tell them apart, so that the administrator can choose.
func TestCLIAmbiguousPrefixListsSnapshots(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "kontrak.pdf"), randBytes(31, 1<<10), 0o644)
	first := str(t, cliBackup(t, r, data), "snapshot_id")

	// A snapshot file's ID is the hash of its sealed bytes, which differ
	// with every save: saved again under other host names, some two of
	// them share their first 4 digits after a few hundred saves.
	rp := openForTest(t, r, cliTestPassword)
	id, err := repo.ParseID(first)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := snapshot.LoadSnapshot(context.Background(), rp, id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{} // prefix -> host
	var prefix string
	var hosts [2]string
	for i := 0; prefix == ""; i++ {
		if i == 5000 {
			t.Fatal("no two snapshot IDs share 4 digits")
		}
		c := *sn
		c.Hostname = fmt.Sprintf("host-%d", i)
		c.Tags = []string{"tag-" + c.Hostname}
		id, err := snapshot.SaveSnapshot(context.Background(), rp, &c)
		if err != nil {
			t.Fatal(err)
		}
		p := id.String()[:4]
		if h, ok := seen[p]; ok {
			prefix, hosts = p, [2]string{h, c.Hostname}
		}
		seen[p] = c.Hostname
	}
	rp.Close()
	for _, args := range [][]string{
		{"restore", prefix, "--target", t.TempDir()},
		{"forget", prefix},
	} {
		res := cliCode(t, 1, append([]string{"-r", r}, args...)...)
		if !strings.Contains(res.stderr, "it matches 2 snapshots") {
			t.Fatalf("%s:\n%s", args[0], res)
		}
		for _, h := range hosts {
			if !regexp.MustCompile(`(?m)^  ` + prefix + `[0-9a-f]{4,}  \S+ \S+ \S+  ` + h + `  ` + regexp.QuoteMeta(data) + `  \[tag-` + h + `\]$`).MatchString(res.stderr) {
				t.Errorf("%s does not list the snapshot of %s:\n%s", args[0], h, res)
			}
		}
	}
}

// TestLogVerifyReplacementHostSaysWhereTheOldKeyIs: on the host that
// replaced a lost server (a fresh run log and key, the repository of the
// old one), the records signed by the old host's key are by an unknown key,
// and 'cadang log key' cannot be run "there". The hint says where the key
// is kept after a disaster: the footer of the documents that host printed
// (which this test confirms holds it), and --trust-key takes it.
func TestLogVerifyReplacementHostSaysWhereTheOldKeyIs(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20)
	var old struct {
		Fingerprint string `json:"fingerprint"`
	}
	oneLine(t, "log key", h.must(0, "--json", "log", "key"), &old)
	doc := filepath.Join(h.dir, "inventaris.md")
	h.must(0, "report", "inventory", "-o", doc)
	if !strings.Contains(mustRead(t, doc), old.Fingerprint) {
		t.Fatalf("the old host's documents do not show its key %s:\n%s", old.Fingerprint, mustRead(t, doc))
	}
	// The server is lost: its run log and key with it.
	for _, f := range []string{h.log, filepath.Join(h.dir, "runlog.key")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code := h.cad("log", "verify", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, "repository: unknown-key") {
		t.Fatalf("records of the lost host: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"footer", "Run log signing key", "[log] trust_keys", "--trust-key " + old.Fingerprint} {
		if !strings.Contains(out, want) {
			t.Errorf("the hint does not say %q:\n%s", want, out)
		}
	}
	// (The fresh mirror still lacks the old host's records: not this
	// test's matter.)
	if out, errs, _ := h.cad("--trust-key", old.Fingerprint, "log", "verify", "--job", "spse-db"); strings.Contains(out, "unknown-key") {
		t.Errorf("--trust-key does not take the key from the footer:\n%s%s", out, errs)
	}
}
