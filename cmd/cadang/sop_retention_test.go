package main

// The SOP's retention end to end: `cadang run` applies [job.retention]
// after each successful backup and prunes on [job.prune] every, against a
// real repository, over fifteen days of the SOP clock (CADANG_NOW).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

func TestSOPRetentionAndPrune(t *testing.T) {
	h := newSOPHarness(t)
	// The harness's configuration names disk-A's ID; reuse it with a job
	// that keeps 3 daily snapshots per source and prunes weekly.
	cfg := mustRead(t, h.cfg)
	i := strings.Index(cfg, "repository_id = \"")
	idA := cfg[i+len("repository_id = \"") : i+len("repository_id = \"")+64]
	common := cfg[:strings.Index(cfg, "[[job]]")]
	dump := filepath.Join(h.dir, "dump.out")
	daily := filepath.Join(h.src, "harian.bin")
	if err := os.WriteFile(h.cfg, []byte(common+fmt.Sprintf(`
[[job]]
name = "spse-db"
info_class = 7
classification = "rahasia"
active_since = 2026-11-01
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
  [job.retention]
  daily = 3
  protect_before_change = "30d"
  [job.prune]
  every = "7d"
`, dump, h.src, h.repoA, idA, h.pw)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A snapshot made by hand is never the job's to forget.
	h.at("2026-11-01T01:00:00+08:00")
	h.must(0, "backup", "-r", h.repoA, "--password-file", h.pw, "-q", h.extra)

	content := map[string][2][]byte{} // snapshot time (day) -> dump, daily file
	var beforeChange runlog.Record
	for day := 1; day <= 15; day++ {
		d := []byte(fmt.Sprintf("PGDMP day %d\n", day))
		d = append(d, randBytes(uint64(1000+day), 200<<10)...)
		f := randBytes(uint64(day), 300<<10)
		writeFileT(t, dump, d, 0o600)
		writeFileT(t, daily, f, 0o600)
		h.at(fmt.Sprintf("2026-11-%02dT02:00:00+08:00", day))
		h.must(0, "run", "spse-db")
		content[fmt.Sprint(day)] = [2][]byte{d, f}
		if day == 3 {
			// SOP step 2: the backup before a change, protected for 30 days.
			h.must(0, "run", "spse-db", "--before-change", "upgrade PostgreSQL")
			for _, r := range h.records() {
				if r.Op == runlog.OpBackup && r.HasTag(runlog.TagBeforeChange) {
					beforeChange = r
				}
			}
		}
	}

	recs := h.records()
	var forgets, prunes []runlog.Record
	removed := map[string]bool{}
	for _, r := range recs {
		switch r.Op {
		case runlog.OpForget:
			forgets = append(forgets, r)
			if r.Result != runlog.OK || r.Forget == nil || r.Forget.Policy.Daily != 3 || r.Forget.Zone != "Asia/Makassar" {
				t.Fatalf("forget record: %+v", r)
			}
			for _, it := range r.Forget.Removed {
				removed[it.Snapshot] = true
			}
		case runlog.OpPrune:
			prunes = append(prunes, r)
		}
	}
	if len(forgets) != 16 {
		t.Fatalf("%d forget records, want one per successful run (16)", len(forgets))
	}
	// Pruned on the first run, a week later and a week after that.
	if len(prunes) != 3 || prunes[0].Start.In(time.FixedZone("WITA", 8*3600)).Day() != 1 ||
		prunes[1].Start.In(time.FixedZone("WITA", 8*3600)).Day() != 8 || prunes[2].Start.In(time.FixedZone("WITA", 8*3600)).Day() != 15 {
		t.Fatalf("prune records: %+v", prunes)
	}
	for _, p := range prunes {
		if p.Result != runlog.OK || p.Prune == nil || p.Medium != "disk-A" || p.RepositoryID != idA {
			t.Fatalf("prune record: %+v", p)
		}
	}
	if prunes[1].Prune.MarkedPacks == 0 || prunes[2].Prune.DeletedPacks == 0 || prunes[2].Prune.DeletedBytes == 0 {
		t.Fatalf("the prunes freed nothing: %+v %+v", *prunes[1].Prune, *prunes[2].Prune)
	}

	// What stays: days 13-15 of each source, the before-change backup and
	// the manual snapshot.
	var sns []snapJSON
	if err := json.Unmarshal([]byte(h.must(0, "-r", h.repoA, "--password-file", h.pw, "--json", "snapshots")), &sns); err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, sn := range sns {
		if removed[sn.ID] {
			t.Errorf("snapshot %s is recorded as removed but is there", sn.ShortID)
		}
		switch {
		case !slices.Contains(sn.Tags, "job:spse-db"):
			days = append(days, "manual")
		case slices.Contains(sn.Tags, runlog.TagBeforeChange):
			if !slices.Contains(beforeChange.Snapshots, sn.ID) {
				t.Errorf("before-change snapshot %s is not the before-change run's", sn.ShortID)
			}
			days = append(days, "before-change")
		default:
			days = append(days, fmt.Sprint(sn.Time.In(time.FixedZone("WITA", 8*3600)).Day()))
		}
	}
	slices.Sort(days)
	if want := []string{"13", "13", "14", "14", "15", "15", "before-change", "before-change", "manual"}; !slices.Equal(days, want) {
		t.Fatalf("snapshots left: %v, want %v", days, want)
	}

	// The before-change snapshots are protected in the repository too, so
	// that a forget by hand keeps them for protect_before_change.
	var ps []struct {
		Snapshot string    `json:"snapshot"`
		Until    time.Time `json:"until"`
		Reason   string    `json:"reason"`
	}
	if err := json.Unmarshal([]byte(h.must(0, "-r", h.repoA, "--password-file", h.pw, "--json", "protect", "--list")), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("protections %+v, want the two before-change snapshots", ps)
	}
	for _, p := range ps {
		if !slices.Contains(beforeChange.Snapshots, p.Snapshot) || p.Reason != "before-change: upgrade PostgreSQL" ||
			!p.Until.Equal(beforeChange.Start.Add(30*24*time.Hour)) && p.Until.Sub(beforeChange.Start.Add(30*24*time.Hour)).Abs() > time.Minute {
			t.Errorf("protection %+v (the run started %s)", p, beforeChange.Start)
		}
	}

	h.must(0, "check", "-r", h.repoA, "--password-file", h.pw, "--read-data", "-q")
	// The kept snapshots restore, byte for byte.
	for _, sn := range sns {
		if !slices.Contains(sn.Tags, "job:spse-db") || slices.Contains(sn.Tags, runlog.TagBeforeChange) {
			continue
		}
		want := content[fmt.Sprint(sn.Time.In(time.FixedZone("WITA", 8*3600)).Day())]
		target := filepath.Join(h.dir, "restore-"+sn.ShortID)
		h.must(0, "-r", h.repoA, "--password-file", h.pw, "-q", "restore", sn.ID, "--target", target)
		var got []byte
		var w []byte
		if slices.Contains(sn.Tags, "source:database") {
			got, w = mustReadBytes(t, filepath.Join(target, "epns_prod.dump")), want[0]
		} else {
			got, w = mustReadBytes(t, filepath.Join(target, daily)), want[1]
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("snapshot %s restores %d bytes that differ from the %d backed up", sn.ShortID, len(got), len(w))
		}
	}

	// The documents say what was applied and removed, in both languages.
	inv := h.must(0, "report", "inventory")
	if !strings.Contains(inv, "Diterapkan terakhir") || !strings.Contains(inv, "Pemangkasan tiap 7 hari") {
		t.Fatalf("inventory:\n%s", inv)
	}
	mon := h.must(0, "--lang", "en", "report", "monthly", "--month", "2026-11")
	if !strings.Contains(mon, "7. Retention, prune and repair") || !strings.Contains(mon, "Retention applied: 16; snapshots removed: 24; prunes: 3;") {
		t.Fatalf("monthly report:\n%s", mon)
	}
}

func mustReadBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
