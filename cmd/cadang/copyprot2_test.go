package main

// Three ways a protection could fail to travel with a copy unseen: a
// protection that cannot be written on the destination after the
// snapshots were copied, a source protection file that cannot be read,
// and a copied protection whose snapshot was re-tagged (a new ID) since.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// breakProtections makes dir's protected/ a link to nowhere: listing it
// finds nothing, and saving a protection there fails, whoever runs the
// test (root writes into a read-only directory). It returns the repair.
func breakProtections(t *testing.T, dir string) func() {
	t.Helper()
	p := filepath.Join(dir, "protected")
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere"), p); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

var retryCopy = regexp.MustCompile(`'cadang -r (\S+) copy --from-repo (\S+) ([0-9a-f ]+)' writes the protection\(s\)`)

// Copied, but the destination's protections cannot be written: copy
// --json still prints what was copied, with each protection not written,
// and exits 3 (done but incomplete); the text output names each snapshot
// and the destination, and the copy it says to run writes them.
func TestCLICopyProtectionNotWritten(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	repair := breakProtections(t, b)

	res := cliRun(t, nil, "-r", b, "--json", "copy", "--from-repo", a.dir)
	if res.code != exitPartial {
		t.Fatalf("copy --json with protections not written: exit %d, want %d\n%s", res.code, exitPartial, res)
	}
	var rep struct {
		Copied           int `json:"copied"`
		ProtectionsAdded int `json:"protections_added"`
		ProtectionErrors []struct {
			Source, Dest, Reason, Error string
		} `json:"protection_errors"`
	}
	decodeJSON(t, res.stdout, &rep)
	cp := copyOf(t, b)
	if rep.Copied != 4 || rep.ProtectionsAdded != 0 || len(rep.ProtectionErrors) != 2 {
		t.Fatalf("copy --json: %+v\n%s", rep, res)
	}
	for _, f := range rep.ProtectionErrors {
		if (f.Source != a.hold && f.Source != a.change) || f.Dest != cp[f.Source] || !strings.Contains(f.Error, "protected") {
			t.Errorf("protection error %+v: want the hold %s or the before-change backup %s, with its copy (%v)", f, a.hold, a.change, cp)
		}
	}

	// Again, as text: the snapshots are found copied, the protections
	// still cannot be written.
	res = cliRun(t, nil, "-r", b, "copy", "--from-repo", a.dir)
	if res.code != exitPartial || !strings.Contains(res.stdout, "0 protection(s) added, 2 could not be written\n") {
		t.Fatalf("copy with protections not written: exit %d\n%s", res.code, res)
	}
	for _, s := range []string{a.hold, a.change} {
		if want := "snapshot " + s[:8] + " is copied to " + b + " as " + cp[s][:8] + ", but not protected there"; !strings.Contains(res.stderr, want) {
			t.Errorf("copy should say %q:\n%s", want, res)
		}
	}
	m := retryCopy.FindStringSubmatch(res.stderr)
	if m == nil || m[1] != b || m[2] != a.dir {
		t.Fatalf("copy should say what to run to write the protections:\n%s", res)
	}

	repair()
	res = cliOK(t, append([]string{"-r", m[1], "copy", "--from-repo", m[2]}, strings.Fields(m[3])...)...)
	if mm := protectionsAdded.FindStringSubmatch(res.stdout); mm == nil || mm[1] != "2" {
		t.Errorf("the copy the message names should add the 2 protections:\n%s", res)
	}
	ps := copiedProtections(t, b)
	if len(activeFor(ps, cp[a.hold])) != 1 || len(activeFor(ps, cp[a.change])) != 1 {
		t.Errorf("protections after the retry: %+v", ps)
	}
}

// A protection file of the source that cannot be read does not fail the
// copy, but copy warns of it by name and its run log record lists it.
func TestCLICopyUnreadableSourceProtection(t *testing.T) {
	a := newProtSource(t)
	var holdID string
	for _, p := range protectList(t, a.dir) {
		if p.Snapshot == a.hold {
			holdID = p.ID
		}
	}
	f := filepath.Join(a.dir, "protected", holdID)
	damageFile(t, f)
	b := newCopyMedium(t, a.dir)

	res := cliOK(t, "-r", b, "copy", "--from-repo", a.dir)
	if !strings.Contains(res.stderr, "warning: protection file "+holdID[:8]+" of the source "+a.dir+" cannot be read") {
		t.Errorf("copy should warn of the protection file it cannot read:\n%s", res)
	}
	if len(activeFor(copiedProtections(t, b), copyOf(t, b)[a.hold])) != 0 {
		t.Error("a protection that cannot be read was carried")
	}
	var recs []runlog.Record
	decodeJSON(t, cliOK(t, "log", "--json").stdout, &recs)
	x := recs[len(recs)-1]
	if x.Op != runlog.OpCopy || x.Result != runlog.OK || x.Copy == nil || len(x.Copy.UnreadableProtections) != 1 ||
		x.Copy.UnreadableProtections[0].File != holdID || x.Copy.UnreadableProtections[0].Error == "" {
		t.Errorf("the copy's record should list the protection file %s: %+v %+v", holdID, x, x.Copy)
	}
}

// damageFile flips a byte of a repository file.
func damageFile(t *testing.T, f string) {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, f, b, 0o400)
}

// cadang run's offsite copy warns of a protection file of the medium that
// it cannot read (one sealed with another key: nobody can tell what it
// protects), and its copy record lists it; the copy itself is not failed.
func TestSOPOffsiteUnreadableProtection(t *testing.T) {
	h := newSOPHarness(t)
	cfg := mustRead(t, h.cfg)
	i := strings.Index(cfg, "repository_id = \"")
	idA := cfg[i+len("repository_id = \"") : i+len("repository_id = \"")+64]
	common := cfg[:strings.Index(cfg, "[[job]]")]
	off, offPW := filepath.Join(h.dir, "offsite"), filepath.Join(h.dir, "offsite.pw")
	writeFileT(t, offPW, []byte("kunci-offsite-kominfo\n"), 0o600)
	var ini struct {
		ID string `json:"id"`
	}
	out := h.must(0, "init", "--json", "-r", off, "--password-file", offPW, "--copy-chunker-params", "--from-repo", h.repoA, "--from-password-file", h.pw)
	if err := json.Unmarshal([]byte(out), &ini); err != nil || len(ini.ID) != 64 {
		t.Fatalf("init: %v %s", err, out)
	}
	writeFileT(t, h.cfg, []byte(common+fmt.Sprintf(`
[[job]]
name = "spse-db"
info_class = 7
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "upload"
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
  [job.offsite]
  name = "kominfo"
  repository = %q
  repository_id = %q
  password_file = %q
`, h.src, h.repoA, idA, h.pw, off, ini.ID, offPW)), 0o600)

	// A file in protected/ of disk-A that no key opens, named by its
	// bytes as every file there is.
	junk := make([]byte, 300)
	if _, err := rand.Read(junk); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	writeFileT(t, filepath.Join(h.repoA, "protected", name), junk, 0o400)

	h.at("2026-11-27T02:00:00+08:00")
	out, errs, code := h.cad("run", "spse-db")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	_, c := offsiteRuns(t, h)
	if c.Result != runlog.OK || c.Copy == nil || c.Copy.Copied != 1 {
		t.Fatalf("the copy should succeed: %+v %+v", c, c.Copy)
	}
	if !strings.Contains(errs, "protection file "+name[:8]+" of repository "+idA[:8]+" cannot be read") {
		t.Errorf("run should warn of the protection file it cannot read:\n%s\n%s", out, errs)
	}
	if len(c.Copy.UnreadableProtections) != 1 || c.Copy.UnreadableProtections[0].File != name || c.Copy.UnreadableProtections[0].Error == "" {
		t.Errorf("the copy record should list protection file %s: %+v", name, c.Copy.UnreadableProtections)
	}
}

// A copied protection lifts by the ID its snapshot has now: after a tag
// change (a new ID) forget names that ID to lift it, protect --remove
// finds the protection by it, and copied_from stays. So does one made on
// the medium itself.
func TestCLIRetaggedCopyProtectionLifts(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	copyAdding(t, b, a.dir, 2)
	old := copyOf(t, b)[a.hold]
	cliOK(t, "-r", b, "tag", "--add", "sengketa", old[:8])
	now := copyOf(t, b)[a.hold]
	if now == old || now == "" {
		t.Fatalf("the tag change should give the copy a new ID: %s, %s", old, now)
	}
	hold := activeFor(copiedProtections(t, b), old)
	if len(hold) != 1 || hold[0].CopiedFrom == nil || hold[0].CopiedFrom.Snapshot != a.hold {
		t.Fatalf("the copied hold after the tag change: %+v", hold)
	}

	res := cliRun(t, nil, "-r", b, "forget", now[:8])
	if want := "then 'cadang protect --remove " + now[:8] + "' lifts it here"; res.code == 0 || !strings.Contains(res.stderr, want) {
		t.Errorf("forget of the re-tagged copy should say %q:\n%s", want, res)
	}
	res = cliOK(t, "-r", b, "protect", "--remove", now[:8])
	if !strings.Contains(res.stdout, "lifted the protection of snapshot "+now[:8]+" (1 protection file removed)\n") ||
		!strings.Contains(res.stdout, "note: a protection of snapshot "+now[:8]+" was copied from repository") {
		t.Errorf("protect --remove by the new ID:\n%s", res)
	}
	if got := activeFor(copiedProtections(t, b), old); len(got) != 0 {
		t.Errorf("the hold is still there: %+v", got)
	}
	cliOK(t, "-r", b, "forget", now[:8])

	// One made on the medium, then re-tagged.
	plain := copyOf(t, b)[a.plain]
	cliOK(t, "-r", b, "protect", "--for", "1y", "--reason", "audit", plain[:8])
	cliOK(t, "-r", b, "tag", "--add", "audit", plain[:8])
	plainNow := copyOf(t, b)[a.plain]
	if res := cliRun(t, nil, "-r", b, "forget", plainNow[:8]); res.code == 0 || !strings.Contains(res.stderr, "'cadang protect --remove "+plainNow[:8]+"' lifts it") {
		t.Errorf("forget of a re-tagged protected snapshot:\n%s", res)
	}
	if res := cliOK(t, "-r", b, "protect", "--remove", plainNow[:8]); !strings.Contains(res.stdout, "(1 protection file removed)") {
		t.Errorf("protect --remove of a re-tagged protected snapshot:\n%s", res)
	}
	cliOK(t, "-r", b, "forget", plainNow[:8])
}

// Both at once: a snapshot of the source cannot be read and the
// protections cannot be written. copy --json reports both and exits 3,
// and the error names each.
func TestCLICopyIncompleteAndProtectionNotWritten(t *testing.T) {
	a := newProtSource(t)
	damageFile(t, filepath.Join(a.dir, "snapshots", a.plain))
	b := newCopyMedium(t, a.dir)
	breakProtections(t, b)

	res := cliRun(t, nil, "-r", b, "--json", "copy", "--from-repo", a.dir)
	var rep struct {
		Copied           int `json:"copied"`
		Failed           int `json:"failed"`
		ProtectionErrors []struct {
			Source string `json:"source"`
		} `json:"protection_errors"`
	}
	decodeJSON(t, res.stdout, &rep)
	if res.code != exitPartial || rep.Copied != 3 || rep.Failed != 1 || len(rep.ProtectionErrors) != 2 {
		t.Fatalf("copy --json: exit %d, %+v\n%s", res.code, rep, res)
	}
	for _, want := range []string{"1 snapshot(s) could not be copied", "the other snapshots were copied", "2 protection(s) could not be copied",
		"snapshot " + a.hold[:8] + " is copied to " + b} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("copy should say %q:\n%s", want, res)
		}
	}
}
