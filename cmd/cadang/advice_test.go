package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/repotest"
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
	// A directory of one's own below the repository's root, outside its
	// layout, takes a repository.
	cliOK(t, "-r", filepath.Join(r, "other", "r2"), "init")
	// keys/, data/ and a config file that is not cadang's (empty, or
	// restic's) are no cadang repository.
	for i, config := range []string{"", "restic"} {
		app := filepath.Join(t.TempDir(), "app")
		for _, d := range []string{"keys", "data"} {
			if err := os.MkdirAll(filepath.Join(app, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		writeFileT(t, filepath.Join(app, "config"), []byte(config), 0o600)
		if res := cliCode(t, 10, "-r", filepath.Join(app, "data"), "snapshots"); strings.Contains(res.stderr, "there is a cadang repository") {
			t.Errorf("config %d: -r app/data names another program's layout as a cadang repository:\n%s", i, res)
		}
		cliOK(t, "-r", filepath.Join(app, "backups", "repo"), "init")
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

// TestCLILostBlobInDisasterAdvice walks the README in a disaster: the
// server is gone, a pack on one rotation medium rots, and a blob of one
// file is lost. No next backup heals it, and the newest snapshot still
// restores every other file: check's advice gets the file back from the
// other medium first, and puts forget last, saying what it loses. Each
// step it names is followed here and works.
func TestCLILostBlobInDisasterAdvice(t *testing.T) {
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	a := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	lostFile := filepath.Join(data, "kontrak.pdf")
	writeFileT(t, lostFile, randBytes(61, 300<<10), 0o644)
	writeFileT(t, filepath.Join(data, "dokumen.pdf"), randBytes(62, 1<<10), 0o644) // one blob, smaller than any of kontrak.pdf's
	want := scanDir(t, data)
	id := str(t, cliBackup(t, a, data), "snapshot_id")
	b := filepath.Join(t.TempDir(), "b")
	cliOK(t, "-r", b, "init", "--copy-chunker-params", "--from-repo", a)
	cliRunCopy(t, "-r", b, "copy", "--from-repo", a)

	rp := openForTest(t, a, cliTestPassword)
	var victim repo.BlobLocation
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.DataBlob && l.Length > victim.Length { // one of kontrak.pdf
			victim = l
		}
		return nil
	})
	repotest.DamageBlob(t, rp, a, repo.DataBlob, victim.ID)
	rp.Close()
	pack := victim.Pack.String()

	res := cliCode(t, 1, "-r", a, "check", "--read-data")
	if !strings.Contains(res.stdout, "the snapshots and files that use them are named below") ||
		!strings.Contains(res.stdout, "damaged: snapshot "+id[:8]+": "+lostFile+": data blob ") {
		t.Errorf("check --read-data does not name what the damage cost:\n%s", res)
	}
	cliCode(t, 3, "-r", a, "repair", "packs", "--keep-dir", filepath.Join(dir, "kept"), pack)
	res = cliCode(t, 1, "-r", a, "check")
	out := res.stdout
	if !strings.Contains(out, lostFile) {
		t.Fatalf("check does not name the lost file:\n%s", res)
	}
	if strings.Contains(out, "the next backup of the same files stores lost file contents again") {
		t.Errorf("check promises a next backup that a disaster does not have:\n%s", res)
	}
	// In this order: the snapshot restores the rest, the other medium
	// gives the file back, and forget is the last resort, saying its cost.
	steps := []string{"still restores every other file", "'cadang -r OTHER restore ID:PATH --target DIR'",
		"'cadang copy --from-repo OTHER OID'", "loses every file it still restores"}
	at := 0
	for _, s := range steps {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("check's advice lacks %q after what it said before:\n%s", s, res)
		}
		at += i
	}

	// The advice, followed: the snapshot restores the other file and
	// names the lost one ...
	target := filepath.Join(dir, "restore-a")
	res = cliCode(t, 3, "-r", a, "restore", id[:8], "--target", target)
	if !strings.Contains(res.stdout+res.stderr, "NOT RESTORED: "+lostFile) {
		t.Errorf("restore does not name the lost file:\n%s", res)
	}
	// ... the other medium names its snapshot of the file and restores it ...
	res = cliOK(t, "-r", b, "find", lostFile)
	other := strings.Fields(res.stdout)
	if len(other) == 0 {
		t.Fatalf("find on the other medium:\n%s", res)
	}
	fromB := filepath.Join(dir, "restore-b")
	cliOK(t, "-r", b, "restore", other[0]+":"+lostFile, "--target", fromB)
	if got := scanDir(t, fromB); got["kontrak.pdf"].Hash != want["kontrak.pdf"].Hash {
		t.Errorf("the lost file from the other medium: %+v", got)
	}
	// ... and forget then copy back makes this medium's snapshot whole.
	cliOK(t, "-r", a, "forget", id[:8])
	cliOK(t, "-r", a, "copy", "--from-repo", b, id[:8])
	cliOK(t, "-r", a, "check", "--read-data")
	cliOK(t, "-r", a, "restore", "latest", "--target", filepath.Join(dir, "restore-whole"))
	compareTrees(t, want, scanDir(t, filepath.Join(dir, "restore-whole", data)), false)
}

// TestCLILostBlobInCopyAdvice: the medium that lost a blob holds a copy
// (its own ID, the original's ID in its Original). check advised 'cadang
// forget ID', then 'cadang copy --from-repo OTHER ID' with the ID known
// here, which the other medium does not know: after the forget nothing
// maps it to the original any more, and the copy found no snapshot. check
// now names the original's ID for OTHER, and the advice, followed to the
// letter, makes the snapshot whole. The reading commands resolve an
// original's ID to its copy here; forget does not.
func TestCLILostBlobInCopyAdvice(t *testing.T) {
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	a := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	lostFile := filepath.Join(data, "kontrak.pdf")
	writeFileT(t, lostFile, randBytes(71, 300<<10), 0o644)
	writeFileT(t, filepath.Join(data, "dokumen.pdf"), randBytes(72, 1<<10), 0o644)
	want := scanDir(t, data)
	id := str(t, cliBackup(t, a, data), "snapshot_id")
	b := filepath.Join(t.TempDir(), "b")
	cliOK(t, "-r", b, "init", "--copy-chunker-params", "--from-repo", a)
	cliRunCopy(t, "-r", b, "copy", "--from-repo", a)

	// B's copy has an ID of its own; A's ID names it on B for reading ...
	res := cliOK(t, "-r", b, "restore", id[:8], "--target", filepath.Join(dir, "restore-by-original"))
	bid := regexp.MustCompile(`snapshot ([0-9a-f]{8}) here is the copy of ` + id[:8]).FindStringSubmatch(res.stderr)
	if bid == nil || bid[1] == id[:8] {
		t.Fatalf("restore on B by the original's ID does not say which copy it restores:\n%s", res)
	}
	compareTrees(t, want, scanDir(t, filepath.Join(dir, "restore-by-original", data)), false)
	for _, args := range [][]string{{"ls", id[:8]}, {"dump", id[:8], "/" + strings.TrimPrefix(lostFile, "/")}} {
		cliOK(t, append([]string{"-r", b}, args...)...)
	}
	// ... but not for forget, protect or tag, which change what they name.
	for _, args := range [][]string{{"forget", id[:8]}, {"protect", id[:8]}, {"tag", "--add", "x", id[:8]}} {
		if res := cliRun(t, nil, append([]string{"-r", b}, args...)...); res.code == 0 {
			t.Errorf("%s on B resolved the original's ID to the copy:\n%s", args[0], res)
		}
	}

	rp := openForTest(t, b, cliTestPassword)
	var victim repo.BlobLocation
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.DataBlob && l.Length > victim.Length {
			victim = l
		}
		return nil
	})
	repotest.DamageBlob(t, rp, b, repo.DataBlob, victim.ID)
	rp.Close()
	cliCode(t, 3, "-r", b, "repair", "packs", "--keep-dir", filepath.Join(dir, "kept"), victim.Pack.String())
	res = cliCode(t, 1, "-r", b, "check")
	m := regexp.MustCompile(`snapshot ([0-9a-f]{8}) here is a copy of [0-9a-f]{8}: give OTHER the ID ([0-9a-f]{8})`).FindStringSubmatch(res.stdout)
	if m == nil || m[1] != bid[1] || m[2] != id[:8] {
		t.Fatalf("check does not name A's ID %s for the copy %s:\n%s", id[:8], bid[1], res)
	}
	// --json names it too: the copy here, and the ID to give OTHER.
	sum := checkJSON(t, cliCode(t, 1, "-r", b, "--json", "check"))
	if o := sum.OtherMediumIDs; len(o) != 1 || !strings.HasPrefix(o[0].Snapshot, bid[1]) || o[0].ID != id || !o[0].IsCopy {
		t.Errorf("check --json: other_medium_ids %+v, want snapshot %s, id %s, a copy", o, bid[1], id)
	}
	// The advice, to the letter: forget ID, copy --from-repo OTHER OID.
	cliOK(t, "-r", b, "forget", m[1])
	cliRunCopy(t, "-r", b, "copy", "--from-repo", a, m[2])
	cliOK(t, "-r", b, "check", "--read-data")
	cliOK(t, "-r", b, "restore", m[2], "--target", filepath.Join(dir, "restore-whole"))
	compareTrees(t, want, scanDir(t, filepath.Join(dir, "restore-whole", data)), false)
}

// TestCLILostTreeAdvice: the pack that holds a snapshot's trees is lost.
// check said, as for a lost file's contents, that the snapshot still
// restores every other file and that the next backup heals it; but restore
// gives nothing without the root tree, and a backup does not store a tree
// again. check now says so, and names another medium as the way back, which
// is followed here and works.
func TestCLILostTreeAdvice(t *testing.T) {
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	r := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFileT(t, filepath.Join(data, "sub", "kontrak.pdf"), randBytes(63, 300<<10), 0o644)
	want := scanDir(t, data)
	id := str(t, cliBackup(t, r, data), "snapshot_id")
	b := filepath.Join(t.TempDir(), "b")
	cliOK(t, "-r", b, "init", "--copy-chunker-params", "--from-repo", r)
	cliRunCopy(t, "-r", b, "copy", "--from-repo", r)

	rp := openForTest(t, r, cliTestPassword)
	var pack repo.ID
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.TreeBlob {
			pack = l.Pack
		}
		return nil
	})
	if err := rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Pack == pack && l.Type != repo.TreeBlob {
			return fmt.Errorf("the tree pack holds a %s blob too", l.Type)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rp.Close()
	p := pack.String()
	if err := os.Rename(filepath.Join(r, "data", p[:2], p), filepath.Join(dir, p)); err != nil {
		t.Fatal(err)
	}
	// Before and at 'repair index': the blobs lost are all trees, which
	// no backup stores again (they said a backup stores their contents).
	trees := 0
	rp = openForTest(t, r, cliTestPassword)
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Pack == pack {
			trees++
		}
		return nil
	})
	rp.Close()
	// check --json counts them as the text does.
	if l := checkJSON(t, cliCode(t, 1, "-r", r, "--json", "check")).LostInMissingPacks; l == nil || l.Data != 0 || l.Tree != trees {
		t.Errorf("check --json: lost_in_missing_packs %+v, want %d tree blobs and no data blob", l, trees)
	}
	for i, res := range []cliResult{cliCode(t, 1, "-r", r, "check"), cliCode(t, 3, "-r", r, "repair", "index")} {
		out := res.stdout + res.stderr
		if strings.Contains(out, "stores their contents again") || strings.Contains(out, "data blob") ||
			!strings.Contains(out, fmt.Sprintf("(%d tree blobs: directory listings)", trees)) ||
			!strings.Contains(out, "a backup stores a lost tree again only where its directory and everything under it are unchanged since the snapshot; otherwise copy the snapshots back from another medium") {
			t.Errorf("%d: a lost pack of %d trees is not told from lost file contents:\n%s", i, trees, res)
		}
	}
	res := cliCode(t, 1, "-r", r, "check")
	out := res.stdout
	if o := checkJSON(t, cliCode(t, 1, "-r", r, "--json", "check")).OtherMediumIDs; len(o) != 1 || o[0].Snapshot != id || o[0].ID != id || o[0].IsCopy {
		t.Errorf("check --json: other_medium_ids %+v, want snapshot %s, no copy, to give as itself", o, id)
	}
	for _, bad := range []string{"still restores every other file", "heals these snapshots"} {
		if strings.Contains(out, bad) {
			t.Errorf("check says %q of a snapshot whose root tree is lost:\n%s", bad, res)
		}
	}
	for _, s := range []string{"the snapshot restores nothing at all", "a backup heals a lost tree only where that directory and everything under it are still exactly as they were in the snapshot",
		"'cadang copy --from-repo OTHER OID'", "loses every file it still restores"} {
		if !strings.Contains(out, s) {
			t.Errorf("check's advice lacks %q:\n%s", s, res)
		}
	}
	// What it says is so: restore gives nothing ...
	cliCode(t, 1, "-r", r, "restore", "latest", "--target", filepath.Join(dir, "restore-lost"))
	// ... and the other medium gives the snapshot back.
	cliOK(t, "-r", r, "forget", id[:8])
	cliOK(t, "-r", r, "copy", "--from-repo", b, id[:8])
	cliOK(t, "-r", r, "check", "--read-data")
	cliOK(t, "-r", r, "restore", "latest", "--target", filepath.Join(dir, "restore-whole"))
	compareTrees(t, want, scanDir(t, filepath.Join(dir, "restore-whole", data)), false)
}

// checkSummary is what the tests read of `check --json`.
type checkSummary struct {
	OK                 bool `json:"ok"`
	LostInMissingPacks *struct {
		Data int `json:"data"`
		Tree int `json:"tree"`
	} `json:"lost_in_missing_packs"`
	OtherMediumIDs []struct {
		Snapshot string `json:"snapshot"`
		ID       string `json:"id"`
		IsCopy   bool   `json:"is_copy"`
		Error    string `json:"error"`
	} `json:"other_medium_ids"`
}

// checkJSON decodes the summary of `check --json`, its last line.
func checkJSON(t *testing.T, res cliResult) checkSummary {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	var s checkSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("check --json: %v\n%s", err, res)
	}
	return s
}
