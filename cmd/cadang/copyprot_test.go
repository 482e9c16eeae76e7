package main

// Tests that protections travel with `cadang copy`: a legal hold or a
// before-change backup protected on one medium must survive a plain
// forget on every medium it is copied to (the SOP rotates media).

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
)

// copiedProtection is a protection as protect --list --json prints it,
// with where copy took it from.
type copiedProtection struct {
	protectionOut
	CopiedFrom *struct {
		Repository string `json:"repository"`
		Snapshot   string `json:"snapshot"`
		Protection string `json:"protection"`
	} `json:"copied_from"`
}

func copiedProtections(t *testing.T, repoDir string) []copiedProtection {
	t.Helper()
	var out []copiedProtection
	decodeJSON(t, cliOK(t, "-r", repoDir, "--json", "protect", "--list").stdout, &out)
	return out
}

// protectRepoID returns the ID of the repository at dir, and closes it.
func protectRepoID(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.ID()
}

// protSource is medium A of the walk: snapshots hold (a legal hold for a
// year), change (a before-change backup), expired (its protection ended
// an hour ago) and plain, oldest first.
type protSource struct {
	dir, data                    string
	hold, change, expired, plain string
	holdUntil                    time.Time
}

func newProtSource(t *testing.T) protSource {
	t.Helper()
	s := protSource{dir: cliNewRepo(t), data: t.TempDir()}
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	t.Setenv("CADANG_CONFIG", "")
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	t.Setenv("CADANG_FROM_REPOSITORY", "")
	writeFileT(t, filepath.Join(s.data, "kontrak.txt"), []byte("kontrak pengadaan\n"), 0o644)
	s.hold = str(t, cliBackup(t, s.dir, s.data), "snapshot_id")
	s.change = str(t, cliBackup(t, s.dir, s.data, "--reason", "upgrade PostgreSQL 16"), "snapshot_id")
	s.expired = str(t, cliBackup(t, s.dir, s.data), "snapshot_id")
	s.plain = str(t, cliBackup(t, s.dir, s.data), "snapshot_id")
	cliOK(t, "-r", s.dir, "protect", "--for", "1y", "--reason", "sengketa tender 2026", s.hold[:8])

	// An expired protection cannot be made by the CLI: write one.
	ctx := context.Background()
	be, err := local.Open(ctx, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id, err := snapshot.FindSnapshotID(ctx, r, s.expired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.SaveProtection(ctx, r, snapshot.Protection{Snapshot: id, Until: time.Now().Add(-time.Hour), Reason: "audit 2025"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range protectList(t, s.dir) {
		if p.Snapshot == s.hold {
			s.holdUntil = *p.Until
		}
	}
	return s
}

// newCopyMedium inits a medium that copies from src with its chunker.
func newCopyMedium(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "medium")
	cliOK(t, "-r", dir, "init", "--copy-chunker-params", "--from-repo", src)
	return dir
}

// copyOf maps each source snapshot to its copy in dir.
func copyOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	var sns []struct {
		ID       string `json:"id"`
		Original string `json:"original"`
	}
	decodeJSON(t, cliOK(t, "-r", dir, "--json", "snapshots").stdout, &sns)
	out := map[string]string{}
	for _, sn := range sns {
		out[sn.Original] = sn.ID
	}
	return out
}

var protectionsAdded = regexp.MustCompile(`; (\d+) protection\(s\) added\n`)

// copyAdding runs copy from src into dst and checks the summary's count
// of protections added.
func copyAdding(t *testing.T, dst, src string, want int) cliResult {
	t.Helper()
	res := cliOK(t, "-r", dst, "copy", "--from-repo", src)
	m := protectionsAdded.FindStringSubmatch(res.stdout)
	if m == nil || m[1] != strconv.Itoa(want) {
		t.Errorf("copy summary should say %d protection(s) added:\n%s", want, res)
	}
	return res
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
}

// activeFor returns the active protections in ps of snapshot id.
func activeFor(ps []copiedProtection, id string) []copiedProtection {
	var out []copiedProtection
	for _, p := range ps {
		if p.Snapshot == id && p.Active {
			out = append(out, p)
		}
	}
	return out
}

// The walk's scenario: a legal hold and a before-change backup on medium
// A are protected on medium B after the copy, with the same end and
// reason, and a plain forget on B keeps them; an expired one is not
// copied.
func TestCLICopyCarriesProtections(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	res := copyAdding(t, b, a.dir, 2)
	cp := copyOf(t, b)
	if !strings.Contains(res.stdout, "protected "+cp[a.hold][:8]+" (the copy of "+a.hold[:8]+") until ") {
		t.Errorf("copy should say what it protected:\n%s", res)
	}

	ps := copiedProtections(t, b)
	if len(ps) != 2 {
		t.Fatalf("B's protections: want 2 (the hold and the before-change backup), got %+v", ps)
	}
	aID := protectRepoID(t, a.dir)
	hold := activeFor(ps, cp[a.hold])
	if len(hold) != 1 || hold[0].Reason != "sengketa tender 2026" || hold[0].Until == nil || !hold[0].Until.Equal(a.holdUntil) {
		t.Errorf("the hold on B: %+v, want until %v", hold, a.holdUntil)
	} else if f := hold[0].CopiedFrom; f == nil || f.Snapshot != a.hold || f.Repository != aID {
		t.Errorf("the hold on B should say it came from snapshot %s of %s: %+v", a.hold, aID, f)
	}
	change := activeFor(ps, cp[a.change])
	var srcChange *time.Time
	for _, p := range protectList(t, a.dir) {
		if p.Snapshot == a.change {
			srcChange = p.Until
		}
	}
	if len(change) != 1 || change[0].Reason != "before-change: upgrade PostgreSQL 16" || change[0].Until == nil || srcChange == nil || !change[0].Until.Equal(*srcChange) {
		t.Errorf("the before-change backup on B: %+v, want until %v", change, srcChange)
	}
	if got := activeFor(ps, cp[a.expired]); len(got) != 0 {
		t.Errorf("an expired protection was copied: %+v", got)
	}
	list := cliOK(t, "-r", b, "protect", "--list").stdout
	if !strings.Contains(list, "sengketa tender 2026") || !strings.Contains(list, "copied from repository "+aID[:8]+" snapshot "+a.hold[:8]) {
		t.Errorf("protect --list on B:\n%s", list)
	}

	cliOK(t, "-r", b, "forget", "--keep-last", "1")
	left := map[string]bool{}
	for _, sn := range cliSnapshots(t, b) {
		left[sn.ID] = true
	}
	if !left[cp[a.hold]] || !left[cp[a.change]] || !left[cp[a.plain]] || left[cp[a.expired]] || len(left) != 3 {
		t.Errorf("forget --keep-last 1 on B left %v; want the hold %s, the before-change backup %s and the latest %s",
			left, cp[a.hold][:8], cp[a.change][:8], cp[a.plain][:8])
	}
}

// A snapshot copied before its source was protected gains the protection
// at the next copy; copying again adds nothing; a protection on the
// destination that lasts longer is not joined by a shorter one.
func TestCLICopyProtectionLater(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	copyAdding(t, b, a.dir, 2)
	cp := copyOf(t, b)

	cliOK(t, "-r", a.dir, "protect", "--for", "30d", "--reason", "audit BPK", a.plain[:8])
	res := copyAdding(t, b, a.dir, 1)
	if !strings.Contains(res.stdout, "skipped "+a.plain[:8]) {
		t.Errorf("the snapshot should have been copied before:\n%s", res)
	}
	ps := copiedProtections(t, b)
	if got := activeFor(ps, cp[a.plain]); len(got) != 1 || got[0].Reason != "audit BPK" {
		t.Errorf("protection of the earlier copy: %+v", got)
	}
	copyAdding(t, b, a.dir, 0)
	if n := len(copiedProtections(t, b)); n != 3 {
		t.Errorf("a third copy changed B's protections: %d, want 3", n)
	}

	// B keeps the hold for 2 years; A's longer hold (1 year 6 months) adds
	// nothing there, since B's lasts longer.
	cliOK(t, "-r", b, "protect", "--for", "2y", "--reason", "sengketa tender 2026", cp[a.hold][:8])
	cliOK(t, "-r", a.dir, "protect", "--for", "1y6m", "--reason", "sengketa tender 2026", a.hold[:8])
	copyAdding(t, b, a.dir, 0)
	hold := activeFor(copiedProtections(t, b), cp[a.hold])
	if len(hold) != 2 {
		t.Errorf("B's holds: %+v, want its own 2 (1 and 2 years)", hold)
	}
}

// A→B→C: protections copied to B travel on to C.
func TestCLICopyProtectionTransitive(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	copyAdding(t, b, a.dir, 2)
	c := newCopyMedium(t, b)
	copyAdding(t, c, b, 2)
	cp := copyOf(t, c) // C's copies have A's snapshots as original
	ps := copiedProtections(t, c)
	bID := protectRepoID(t, b)
	hold := activeFor(ps, cp[a.hold])
	if len(hold) != 1 || hold[0].Reason != "sengketa tender 2026" || !hold[0].Until.Equal(a.holdUntil) || hold[0].CopiedFrom == nil || hold[0].CopiedFrom.Repository != bID {
		t.Errorf("the hold on C: %+v", hold)
	}
	if got := activeFor(ps, cp[a.change]); len(got) != 1 {
		t.Errorf("the before-change backup on C: %+v", got)
	}
	copyAdding(t, c, b, 0)
	cliOK(t, "-r", c, "forget", "--keep-last", "1")
	left := map[string]bool{}
	for _, sn := range cliSnapshots(t, c) {
		left[sn.ID] = true
	}
	if !left[cp[a.hold]] || !left[cp[a.change]] || len(left) != 3 {
		t.Errorf("forget --keep-last 1 on C left %v", left)
	}
}

// A protection that copy wrote comes back at the next copy when it is
// lifted only on the copy (README): forget's refusal and protect
// --remove on the copy name the source repository and snapshot and say
// to lift it there first, and the next copy does put it back.
func TestCLICopiedProtectionHintsNameSource(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	copyAdding(t, b, a.dir, 2)
	cp := copyOf(t, b)
	aID := protectRepoID(t, a.dir)
	from := "it was copied from repository " + aID[:8] + " snapshot " + a.hold[:8] + ": lift it there first"

	res := cliRun(t, nil, "-r", b, "forget", cp[a.hold][:8])
	if want := from + " ('cadang protect --remove " + a.hold[:8] + "' on that repository), or the next copy puts it back; then 'cadang protect --remove " + cp[a.hold][:8] + "' lifts it here"; res.code == 0 || !strings.Contains(res.stderr, want) {
		t.Errorf("forget of a copied protection on the copy should say %q:\n%s", want, res)
	}
	res = cliOK(t, "-r", b, "protect", "--remove", cp[a.hold][:8])
	if want := "note: a protection of snapshot " + cp[a.hold][:8] + " was copied from repository " + aID[:8] + " snapshot " + a.hold[:8] + ": lift it there first, or the next copy puts it back\n"; !strings.Contains(res.stdout, want) {
		t.Errorf("protect --remove of a copied protection should say %q:\n%s", want, res)
	}
	copyAdding(t, b, a.dir, 1)
	if got := activeFor(copiedProtections(t, b), cp[a.hold]); len(got) != 1 {
		t.Errorf("the next copy should put the hold back: %+v", got)
	}
	// One made on the copy itself keeps the plain hint.
	cliOK(t, "-r", b, "protect", "--for", "1y", "--reason", "audit", cp[a.plain][:8])
	if res := cliRun(t, nil, "-r", b, "forget", cp[a.plain][:8]); !strings.Contains(res.stderr, "'cadang protect --remove "+cp[a.plain][:8]+"' lifts it") || strings.Contains(res.stderr, "copied from") {
		t.Errorf("forget of a protection made on the copy:\n%s", res)
	}
}
