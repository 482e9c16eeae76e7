package report

import (
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// twoJobs is the README walk's configuration: spse-prod and spse-config on
// the same two rotation disks, spse-prod with protect_before_change = "90d"
// and a weekly prune, spse-config with neither (protection by default).
func twoJobs(t *testing.T) (*jobs.Config, *time.Location) {
	t.Helper()
	cfg, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Jobs = cfg.Jobs[:1]
	prod := cfg.Jobs[0]
	prod.Retention = jobs.Retention{Daily: 7, Weekly: 4, Monthly: 12, ProtectBeforeChange: jobs.Duration(90 * 24 * time.Hour)}
	prod.Prune.Every = jobs.Duration(7 * 24 * time.Hour)
	conf := prod
	conf.Name, conf.Retention, conf.Prune = "spse-config", jobs.Retention{Daily: 7, Weekly: 4, Monthly: 12, ProtectBeforeChange: jobs.Duration(30 * 24 * time.Hour)}, jobs.Prune{}
	cfg.Jobs = []jobs.Job{prod, conf}
	return cfg, cfg.Location()
}

// inventoryRow returns the Markdown row of the inventory for job.
func inventoryRow(t *testing.T, md, job string) string {
	t.Helper()
	for _, l := range strings.Split(md, "\n") {
		if strings.Contains(l, "| "+job+"<br>") {
			return l
		}
	}
	t.Fatalf("no row for %s in:\n%s", job, md)
	return ""
}

// TestInventoryDurationsInDays: the inventory says the prune interval and
// the before-change protection in days, as the configuration says them
// ("7d", "90d"), not "168 h" and "2160 jam" (README walk); a time standard
// of hours stays in hours.
func TestInventoryDurationsInDays(t *testing.T) {
	cfg, loc := twoJobs(t)
	at := time.Date(2026, 11, 30, 2, 0, 0, 0, loc)
	recs := []runlog.Record{{ID: "f1", Op: runlog.OpForget, Job: "spse-prod", Medium: "disk-A", Start: at, End: at.Add(time.Second), Result: runlog.OK,
		Forget: &runlog.ForgetInfo{Policy: runlog.Policy{Daily: 7, Within: "14d", ProtectMS: (90 * 24 * time.Hour).Milliseconds()}, Zone: loc.String()}}}
	for l, want := range map[i18n.Lang][]string{
		i18n.ID: {"Pemangkasan tiap 7 hari", "dilindungi 90 hari", "semua dalam 14 hari", "mutu baku 3 jam"},
		i18n.EN: {"Prune every 7 days", "protected for 90 days", "all within 14 days", "standard 3 h"},
	} {
		e := Env{Config: cfg, Lang: l, Now: at.Add(24 * time.Hour)}
		row := inventoryRow(t, render(t, e.Inventory(recs)).md, "spse-prod")
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("%s: the row lacks %q:\n%s", l, w, row)
			}
		}
		for _, bad := range []string{"168", "2160", "336"} {
			if strings.Contains(row, bad) {
				t.Errorf("%s: the row says %s hours:\n%s", l, bad, row)
			}
		}
	}
}

// TestInventoryProtectionOnEveryJob: each job's row says its own
// before-change protection, whatever its last forget's record kept: the
// README walk's spse-prod (protect_before_change = "90d") had none in its
// row, its last forget being a `cadang forget` by hand, whose policy keeps
// no protection, while spse-config's row had its default.
func TestInventoryProtectionOnEveryJob(t *testing.T) {
	cfg, loc := twoJobs(t)
	at := time.Date(2026, 11, 30, 2, 0, 0, 0, loc)
	recs := []runlog.Record{
		{ID: "run", Op: runlog.OpForget, Job: "spse-prod", Medium: "disk-A", Start: at, End: at, Result: runlog.OK,
			Forget: &runlog.ForgetInfo{Policy: runlog.Policy{Daily: 7, ProtectMS: (90 * 24 * time.Hour).Milliseconds()}}},
		{ID: "byhand", Op: runlog.OpForget, Job: "spse-prod", Medium: "disk-A", Start: at.Add(8 * time.Hour), End: at.Add(8 * time.Hour), Result: runlog.OK,
			Tags: []string{runlog.TagManual}, Forget: &runlog.ForgetInfo{Policy: runlog.Policy{Daily: 7}}},
	}
	for l, want := range map[i18n.Lang][2]string{
		i18n.ID: {"Backup sebelum perubahan dilindungi 90 hari", "Backup sebelum perubahan dilindungi 30 hari"},
		i18n.EN: {"Before-change backups protected for 90 days", "Before-change backups protected for 30 days"},
	} {
		e := Env{Config: cfg, Lang: l, Now: at.Add(24 * time.Hour)}
		md := render(t, e.Inventory(recs)).md
		if row := inventoryRow(t, md, "spse-prod"); !strings.Contains(row, want[0]) {
			t.Errorf("%s: spse-prod's row lacks %q:\n%s", l, want[0], row)
		}
		if row := inventoryRow(t, md, "spse-config"); !strings.Contains(row, want[1]) {
			t.Errorf("%s: spse-config's row (never applied) lacks %q:\n%s", l, want[1], row)
		}
	}
}

// TestManualForgetIsTheMediums: a forget and prune by hand on a medium
// that both jobs share, filed under no job, is the medium's: the monthly
// analysis's section 7 names no job for it, and it is the last retention
// and prune applied on the row of each job that uses the medium, not of
// the first job only (README walk).
func TestManualForgetIsTheMediums(t *testing.T) {
	cfg, loc := twoJobs(t)
	at := time.Date(2026, 11, 30, 10, 5, 0, 0, loc)
	idA := strings.Repeat("a", 64)
	recs := []runlog.Record{
		{ID: "f-hand", Op: runlog.OpForget, Medium: "disk-A", RepositoryID: idA, Start: at, End: at, Result: runlog.OK, Tags: []string{runlog.TagManual},
			Forget: &runlog.ForgetInfo{Policy: runlog.Policy{Daily: 7, Weekly: 4}, Zone: loc.String()}},
		{ID: "p-hand", Op: runlog.OpPrune, Medium: "disk-A", RepositoryID: idA, Start: at.Add(time.Minute), End: at.Add(time.Minute), Result: runlog.OK,
			Tags: []string{runlog.TagManual}, Prune: &runlog.PruneInfo{}},
	}
	for l, want := range map[i18n.Lang][2]string{
		i18n.ID: {"Diterapkan terakhir 2026-11-30 10.05 pada disk-A: 7 harian, 4 mingguan", "Pemangkasan terakhir 2026-11-30 10.06"},
		i18n.EN: {"Last applied 2026-11-30 10:05 on disk-A: 7 daily, 4 weekly", "Last prune 2026-11-30 10:06"},
	} {
		e := Env{Config: cfg, Lang: l, Now: at.Add(24 * time.Hour)}
		md := render(t, e.Inventory(recs)).md
		for _, job := range []string{"spse-prod", "spse-config"} {
			if row := inventoryRow(t, md, job); !strings.Contains(row, want[0]) {
				t.Errorf("%s: %s's row lacks %q:\n%s", l, job, want[0], row)
			}
		}
		if row := inventoryRow(t, md, "spse-config"); !strings.Contains(row, want[1]) {
			t.Errorf("%s: spse-config's row lacks %q:\n%s", l, want[1], row)
		}
		d, err := e.Monthly(recs, time.Date(2026, 11, 1, 0, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		mon := render(t, d).md
		for _, id := range []string{"f-hand", "p-hand"} {
			if !strings.Contains(mon, "| "+id+" | - | disk-A |") {
				t.Errorf("%s: section 7 does not file %s under no job:\n%s", l, id, mon)
			}
		}
	}
}
