package main

// The SOP's offsite medium end to end: `cadang run` copies each successful
// backup's snapshots to [job.offsite], a real local repository created with
// init --copy-chunker-params, and records the copy; a broken offsite is a
// failure of its own kind while the backup stands; status and the reports
// say so.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// offsiteRuns returns the records of the run that just ended: its backup
// and its offsite copy.
func offsiteRuns(t *testing.T, h *sopHarness) (backup, cp runlog.Record) {
	t.Helper()
	recs := h.records()
	for i := len(recs) - 1; i >= 0; i-- {
		switch r := recs[i]; {
		case r.Op == runlog.OpCopy && cp.ID == "" && backup.ID == "":
			cp = r
		case r.Op == runlog.OpBackup && backup.ID == "":
			backup = r
		}
	}
	if backup.ID == "" || cp.ID == "" || cp.Ref != backup.ID {
		t.Fatalf("no backup with its copy: %+v / %+v", backup, cp)
	}
	return backup, cp
}

func offsiteSnapshots(t *testing.T, h *sopHarness, loc, pw string) []snapJSON {
	t.Helper()
	var sns []snapJSON
	if err := json.Unmarshal([]byte(h.must(0, "-r", loc, "--password-file", pw, "--json", "snapshots")), &sns); err != nil {
		t.Fatal(err)
	}
	return sns
}

type offsiteStatus struct {
	Exit int `json:"exit_code"`
	Jobs []struct {
		Next     string `json:"next_medium"`
		Problems []struct {
			What string `json:"what"`
		} `json:"problems"`
		Offsite *struct {
			Name       string `json:"name"`
			LastCopyID string `json:"last_copy_id"`
			LastResult string `json:"last_result"`
		} `json:"offsite"`
	} `json:"jobs"`
}

func (s offsiteStatus) problems() string {
	var p []string
	for _, x := range s.Jobs[0].Problems {
		if x.What != "followup-open" {
			p = append(p, x.What)
		}
	}
	sort.Strings(p)
	return strings.Join(p, ",")
}

func TestSOPOffsite(t *testing.T) {
	h := newSOPHarness(t)
	cfg := mustRead(t, h.cfg)
	i := strings.Index(cfg, "repository_id = \"")
	idA := cfg[i+len("repository_id = \"") : i+len("repository_id = \"")+64]
	common := cfg[:strings.Index(cfg, "[[job]]")]

	// The offsite repository shares disk-A's chunker parameters, under a
	// password of its own.
	off, offPW := filepath.Join(h.dir, "offsite"), filepath.Join(h.dir, "offsite.pw")
	writeFileT(t, offPW, []byte("kunci-offsite-kominfo\n"), 0o600)
	var ini struct {
		ID string `json:"id"`
	}
	out := h.must(0, "init", "--json", "-r", off, "--password-file", offPW, "--copy-chunker-params", "--from-repo", h.repoA, "--from-password-file", h.pw)
	if err := json.Unmarshal([]byte(out), &ini); err != nil || len(ini.ID) != 64 {
		t.Fatalf("init: %v %s", err, out)
	}
	dump := filepath.Join(h.dir, "dump.out")
	writeFileT(t, dump, append([]byte("PGDMP\n"), randBytes(7, 300<<10)...), 0o600)
	writeConfig := func(offLoc string) {
		writeFileT(t, h.cfg, []byte(common+fmt.Sprintf(`
[[job]]
name = "spse-db"
info_class = 7
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "database"
  command = ["cat", %q]
  filename = "epns_prod.dump"
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
  max_age = "1h"
`, dump, h.src, h.repoA, idA, h.pw, offLoc, ini.ID, offPW)), 0o600)
	}
	writeConfig(off)

	// Day 1: the backup and its copy.
	h.at("2026-11-27T02:00:00+08:00")
	out = h.must(0, "run", "spse-db")
	b1, c1 := offsiteRuns(t, h)
	if b1.Result != runlog.OK || c1.Result != runlog.OK || !c1.HasTag(runlog.TagOffsite) || c1.Medium != "kominfo" || c1.RepositoryID != ini.ID ||
		c1.Copy == nil || c1.Copy.FromID != idA || c1.Copy.Copied != 2 || c1.Copy.Skipped != 0 || c1.Copy.DataBlobs == 0 || len(c1.Snapshots) != 2 {
		t.Fatalf("day 1: backup %+v\ncopy %+v %+v", b1, c1, c1.Copy)
	}
	if !strings.Contains(out, "copy "+c1.ID) || !strings.Contains(out, "copied to offsite medium kominfo") || !strings.Contains(out, "new blobs uploaded; 0 protections added\n") {
		t.Errorf("run output lacks the copy:\n%s", out)
	}
	sns := offsiteSnapshots(t, h, off, offPW)
	if len(sns) != 2 {
		t.Fatalf("offsite holds %d snapshots", len(sns))
	}
	// What is offsite restores byte for byte.
	target := filepath.Join(h.dir, "from-offsite")
	h.must(0, "restore", "-r", off, "--password-file", offPW, "latest", "--path", h.src, "--target", target, "-q")
	want, got := scanDir(t, h.src), scanDir(t, filepath.Join(target, h.src))
	if len(got) != len(want) {
		t.Fatalf("restored %d entries, want %d", len(got), len(want))
	}
	for p, w := range want {
		if g := got[p]; g.Type != w.Type || g.Hash != w.Hash || g.Size != w.Size || g.Perm != w.Perm {
			t.Errorf("%s: restored %+v, want %+v", p, g, w)
		}
	}
	h.must(0, "restore", "-r", off, "--password-file", offPW, "latest", "--path", "/epns_prod.dump", "--target", target, "-q")
	if d := mustRead(t, filepath.Join(target, "epns_prod.dump")); d != mustRead(t, dump) {
		t.Error("the dump restored from the offsite differs")
	}
	var st offsiteStatus
	h.at("2026-11-27T02:30:00+08:00")
	json.Unmarshal([]byte(h.must(0, "--json", "status")), &st)
	if st.Exit != 0 || st.Jobs[0].Offsite == nil || st.Jobs[0].Offsite.LastCopyID != c1.ID || st.Jobs[0].Next != "disk-A" {
		t.Fatalf("status after a copy: %+v", st)
	}

	// Day 2: one new file; only its blobs (and the trees) go offsite.
	newFile := randBytes(99, 256<<10)
	writeFileT(t, filepath.Join(h.src, "baru.bin"), newFile, 0o600)
	// A snapshot of day 1, offsite already, is protected on disk-A since:
	// the copy protects it there too, and the run's offsite line says so,
	// as copy's summary does.
	h.must(0, "protect", "-r", h.repoA, "--password-file", h.pw, "--for", "1y", "--reason", "sengketa tender", b1.Snapshots[0])
	h.at("2026-11-28T02:00:00+08:00")
	out = h.must(0, "run", "spse-db")
	b2, c2 := offsiteRuns(t, h)
	if !strings.Contains(out, "new blobs uploaded; 1 protection added\n") {
		t.Errorf("day 2: the run's offsite line should count the protection added:\n%s", out)
	}
	if c2.Result != runlog.OK || c2.Copy.Copied != 2 || c2.Copy.Skipped != 2 {
		t.Fatalf("day 2 copy: %+v %+v", c2, c2.Copy)
	}
	// What the backup added to disk-A is what the copy uploads: the
	// offsite deduplicates against day 1 as the medium does.
	if n := int64(len(newFile)); c2.Copy.Bytes < n || c2.Copy.Bytes > n+64<<10 || c2.Copy.Bytes > b2.BytesAdded+16<<10 {
		t.Errorf("day 2 uploaded %d bytes for a new file of %d (day 1: %d; the backup added %d)", c2.Copy.Bytes, n, c1.Copy.Bytes, b2.BytesAdded)
	}
	if len(offsiteSnapshots(t, h, off, offPW)) != 4 {
		t.Error("offsite does not hold 4 snapshots")
	}
	// max_age is 1h: two hours later status warns.
	h.at("2026-11-28T04:00:00+08:00")
	out, _, code := h.cad("--json", "status")
	json.Unmarshal([]byte(out), &st)
	if code != 1 || st.problems() != "offsite-overdue" {
		t.Fatalf("status 2h after the copy: exit %d %+v", code, st)
	}

	// Day 3: a wrong offsite password. The backup stands; the copy is
	// a failure of its own kind; exit 3.
	writeFileT(t, offPW, []byte("salah\n"), 0o600)
	h.at("2026-11-29T02:00:00+08:00")
	out, errs, code := h.cad("run", "spse-db")
	if code != 3 {
		t.Fatalf("run with a wrong offsite password: exit %d\n%s\n%s", code, out, errs)
	}
	b3, c3 := offsiteRuns(t, h)
	if b3.Result != runlog.OK || c3.Result != runlog.Failed || c3.Failure != runlog.KindOffsite || !strings.Contains(c3.Message, "password") ||
		!strings.Contains(c3.Message, "the password read from "+offPW+", "+h.cfg+":") || !strings.Contains(c3.Message, "key job[0].offsite.password_file") {
		t.Fatalf("day 3: backup %+v\ncopy %+v", b3, c3)
	}
	h.at("2026-11-29T02:10:00+08:00")
	out, _, code = h.cad("--lang", "en", "status")
	if code != 1 || !strings.Contains(out, "last offsite copy failed") {
		t.Fatalf("status after a failed copy: exit %d\n%s", code, out)
	}
	failID := c3.ID
	writeFileT(t, offPW, []byte("kunci-offsite-kominfo\n"), 0o600)

	// Day 4: the offsite is unreachable (not mounted).
	writeConfig(filepath.Join(h.dir, "not-mounted"))
	h.at("2026-11-30T02:00:00+08:00")
	h.must(3, "run", "spse-db")
	b4, c4 := offsiteRuns(t, h)
	if b4.Result != runlog.OK || c4.Failure != runlog.KindOffsite || c4.Note == nil || c4.Note.Code != "offsite-open-failed" {
		t.Fatalf("day 4: backup %+v\ncopy %+v", b4, c4)
	}

	// Day 5: back; the copy catches up with days 3, 4 and 5.
	writeConfig(off)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	if _, c := offsiteRuns(t, h); c.Result != runlog.OK || c.Copy.Copied != 6 || c.Copy.Skipped != 4 {
		t.Fatalf("day 5 copy: %+v %+v", c, c.Copy)
	}
	// The copies caught up, but the failures of days 3 and 4 were not
	// followed up within the day the SOP gives (step 5): a warning.
	h.at("2026-12-01T02:10:00+08:00")
	out, _, code = h.cad("--json", "status")
	json.Unmarshal([]byte(out), &st)
	if code != 1 || st.problems() != "followup-overdue" || st.Jobs[0].Offsite.LastResult != "ok" {
		t.Fatalf("status after the catch-up: exit %d %+v", code, st)
	}
	if out, _, code := h.cad("status", "--format", "nagios"); code != 1 || !strings.HasPrefix(out, "CADANG WARNING - spse-db: followup-overdue | ") {
		t.Fatalf("nagios with follow-ups overdue: exit %d %s", code, out)
	}
	for _, id := range []string{failID, c4.ID} {
		h.must(0, "followup", "add", id, "--action", "media offsite dipasang ulang")
	}
	json.Unmarshal([]byte(h.must(0, "--json", "status")), &st)
	if st.problems() != "" {
		t.Fatalf("status after the follow-ups: %+v", st)
	}

	// The failure report and the monthly analysis name the copy failure.
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"id", []string{"Penyalinan ke media offsite gagal", "Backup pada media rotasi tetap berhasil", "kominfo"}},
		{"en", []string{"Offsite copy failed", "The backup on the rotation medium still succeeded", "kominfo"}},
	} {
		rep := h.must(0, "report", "failure", failID, "--lang", c.lang)
		for _, w := range c.want {
			if !strings.Contains(rep, w) {
				t.Errorf("failure report (%s) lacks %q:\n%s", c.lang, w, rep)
			}
		}
	}
	for _, c := range []struct{ lang, kind string }{{"id", "Penyalinan ke media offsite gagal"}, {"en", "Offsite copy failed"}} {
		md := h.must(0, "report", "monthly", "--month", "2026-11", "--lang", c.lang)
		if !strings.Contains(md, "| "+c.kind+" | 2 |") || !strings.Contains(md, failID) {
			t.Errorf("monthly report (%s) does not count 2 offsite failures or list %s:\n%s", c.lang, failID, md)
		}
	}
}
