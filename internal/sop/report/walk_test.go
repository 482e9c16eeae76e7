package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestMonthlyFailedRestoresApart: a restore that failed on its target (a
// full disk, a directory in the way) is no failed backup (README, SOP step
// 5), so the kinds of failure of section 2 and the trend do not count it;
// it has a sentence of its own. A restore that found damaged backup data
// is one, and is counted (README walk: December's section 2 listed "Out
// of space 2" and "Other 1", all restores).
func TestMonthlyFailedRestoresApart(t *testing.T) {
	cfg, loc, _ := offsiteConfig(t)
	at := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, loc) }
	var recs []runlog.Record
	for d := 1; d <= 3; d++ {
		recs = append(recs, runlog.Record{ID: fmt.Sprintf("run-%02d", d), Op: runlog.OpBackup, Job: "spse-prod", Start: at(d, 1), End: at(d, 1).Add(time.Minute),
			Result: runlog.OK, StandardMet: true, Sources: []runlog.Source{{Name: "database"}}})
	}
	restore := func(id string, d int, res runlog.Result, k runlog.FailureKind) runlog.Record {
		return runlog.Record{ID: id, Op: runlog.OpRestore, Job: "spse-prod", Start: at(d, 10), End: at(d, 11), Result: res, Failure: k,
			Tags: []string{runlog.TagManual}, Restore: &runlog.RestoreInfo{Target: "/tmp/x"}}
	}
	recs = append(recs,
		runlog.Record{ID: "backup-failed", Op: runlog.OpBackup, Job: "spse-prod", Start: at(4, 1), End: at(4, 2), Result: runlog.Failed,
			Failure: runlog.KindMedia, Sources: []runlog.Source{{Name: "database"}}},
		restore("restore-full-1", 5, runlog.Failed, runlog.KindOutOfSpace),
		restore("restore-full-2", 6, runlog.Partial, runlog.KindOutOfSpace),
		restore("restore-in-the-way", 7, runlog.Partial, runlog.KindOther),
		restore("restore-damaged", 8, runlog.Partial, runlog.KindIntegrity))
	now := at(9, 12)
	m := Analyze(cfg, recs, at(1, 0), now)
	if len(m.Failures) != 2 || m.ByKind[runlog.KindMedia] != 1 || m.ByKind[runlog.KindIntegrity] != 1 ||
		m.ByKind[runlog.KindOutOfSpace] != 0 || m.ByKind[runlog.KindOther] != 0 {
		t.Errorf("failures %d by kind %v; want the failed backup and the damaged restore only", len(m.Failures), m.ByKind)
	}
	if len(m.Restores) != 3 {
		t.Errorf("failed restores apart: %d, want 3", len(m.Restores))
	}
	for _, c := range []struct {
		lang            i18n.Lang
		want, notWanted []string
	}{
		{i18n.EN, []string{"| Wrong or missing medium | 1 |", "| Integrity error | 1 |", "| Total | 6 |",
			"Restores that failed without damaged backup data (no failed backup, not counted above): 3 (Out of space 2, Other 1).",
			"| March 2026 | 4 | 2 | 4 |"},
			[]string{"| Out of space |", "| Other |"}},
		{i18n.ID, []string{"| Media backup salah atau tidak terpasang | 1 |", "| Kerusakan integritas data | 1 |",
			"Restore yang gagal tanpa kerusakan data backup (bukan kegagalan backup, tidak dihitung di atas): 3 (Ruang penyimpanan penuh 2, Lainnya 1).",
			"| Maret 2026 | 4 | 2 | 4 |"},
			[]string{"| Ruang penyimpanan penuh |", "| Lainnya |"}},
	} {
		e := Env{Config: cfg, Lang: c.lang, Now: now}
		d, err := e.Monthly(recs, at(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		md := render(t, d).md
		for _, w := range c.want {
			if !strings.Contains(md, w) {
				t.Errorf("%s: want %q:\n%s", c.lang, w, md)
			}
		}
		for _, w := range c.notWanted {
			if strings.Contains(md, w) {
				t.Errorf("%s: a failed restore counted as a kind of backup failure %q:\n%s", c.lang, w, md)
			}
		}
	}
}

// TestMonthlyNoJobsCountsTheLog: on a host without [[job]] the trend
// counts the backups the log holds (a job no longer configured, or `cadang
// run` from before), not 0, and section 6 does not repeat section 1's
// "analysed below" near the end of the document.
func TestMonthlyNoJobsCountsTheLog(t *testing.T) {
	cfg, loc, _ := offsiteConfig(t)
	cfg.Jobs = nil
	at := func(d int) time.Time { return time.Date(2026, 3, d, 1, 0, 0, 0, loc) }
	var recs []runlog.Record
	for d := 1; d <= 4; d++ {
		recs = append(recs, runlog.Record{ID: fmt.Sprintf("run-%02d", d), Op: runlog.OpBackup, Job: "spse-prod", Start: at(d), End: at(d).Add(time.Minute),
			Result: runlog.OK, StandardMet: true, Sources: []runlog.Source{{Name: "database"}}})
	}
	recs[3].Result, recs[3].Failure = runlog.Failed, runlog.KindMedia
	for _, c := range []struct {
		lang      i18n.Lang
		row, std  string
		notInStd  string
		sixthHead string
	}{
		{i18n.EN, "| March 2026 | 4 | 1 | 0 |", "so there is no time standard per job to measure this month's backups against.", "analysed below", "## 6."},
		{i18n.ID, "| Maret 2026 | 4 | 1 | 0 |", "sehingga tidak ada standar waktu per job untuk mengukur backup bulan ini.", "di bawah", "## 6."},
	} {
		e := Env{Config: cfg, Lang: c.lang, Now: at(20)}
		d, err := e.Monthly(recs, at(1))
		if err != nil {
			t.Fatal(err)
		}
		md := render(t, d).md
		if !strings.Contains(md, c.row) {
			t.Errorf("%s: trend row %q missing:\n%s", c.lang, c.row, md)
		}
		i := strings.Index(md, c.sixthHead)
		if i < 0 {
			t.Fatalf("%s: no section 6:\n%s", c.lang, md)
		}
		sixth := md[i:]
		if j := strings.Index(sixth[3:], "\n## "); j >= 0 {
			sixth = sixth[:j+3]
		}
		if !strings.Contains(sixth, c.std) || strings.Contains(sixth, c.notInStd) {
			t.Errorf("%s: section 6 want %q, not %q:\n%s", c.lang, c.std, c.notInStd, sixth)
		}
	}
}

// TestRestoreMinutesInTheWay: the minutes of a restore that a directory in
// the way kept from completing say so beside the result, not "Partial
// (Other)", from the record's count (RestoreInfo.InTheWay) or, in an
// older record, the causes line cadang restore recorded.
func TestRestoreMinutesInTheWay(t *testing.T) {
	h := makeHistory(t)
	base := h.rest
	base.Result, base.Failure = runlog.Partial, runlog.KindOther
	withCount := base
	info := *base.Restore
	info.InTheWay = 1
	withCount.Restore = &info
	older := base
	older.Errors = []string{"errors by cause: 1 entry/entries in the way, left as they are (move them aside, or restore into another directory)"}
	other := base // no cause recorded: the kind stays
	for _, c := range []struct {
		name string
		r    runlog.Record
		lang i18n.Lang
		want string
	}{
		{"other", other, i18n.EN, "**Result:** Partial (Other)"},
		{"count", withCount, i18n.EN, "**Result:** Partial (another entry in the way)"},
		{"older", older, i18n.EN, "**Result:** Partial (another entry in the way)"},
		{"count", withCount, i18n.ID, "**Hasil:** Sebagian (entri lain menghalangi)"},
	} {
		d, err := h.env(c.lang).RestoreMinutes(c.r, h.recs, MinutesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if md := render(t, d).md; !strings.Contains(md, c.want) {
			t.Errorf("%s %s: want %q:\n%s", c.name, c.lang, c.want, md)
		}
	}
}

// TestRestoreTestFromRecordAlone: the restore test report says its sample
// from the record (which snapshots were dumps), so the same record reads
// the same with the job configured and on a host without [[job]] (README
// walk: "Sample size: 1 file" beside "Verified: 5 of 5 files" there).
func TestRestoreTestFromRecordAlone(t *testing.T) {
	h := makeHistory(t)
	loc := h.cfg.Location()
	start := time.Date(2026, 3, 9, 9, 0, 0, 0, loc)
	snap := func(c byte) string { return strings.Repeat(string(c), 64) }
	r := runlog.Record{ID: "20260309-090000-0001", Op: runlog.OpRestoreTest, Job: "spse-prod", Result: runlog.OK, Start: start, End: start.Add(10 * time.Minute),
		Test: &runlog.TestInfo{Seed: 7, Sample: 1, RestoreMS: 1000,
			Snapshots: []runlog.SnapshotRef{{ID: snap('a'), Source: "upload", Time: start.Add(-time.Hour)},
				{ID: snap('b'), Source: "database", Time: start.Add(-time.Hour), Dump: true},
				{ID: snap('c'), Source: "database", Time: start.Add(-25 * time.Hour), Dump: true},
				{ID: snap('d'), Source: "database", Time: start.Add(-49 * time.Hour), Dump: true}},
			Items: []runlog.TestItem{{Snapshot: snap('a'), Path: "/upload/a.pdf", Size: 10, OK: true},
				{Snapshot: snap('b'), Path: "/epns_prod.dump", Size: 10, OK: true}, {Snapshot: snap('b'), Path: "/globals.sql", Size: 10, OK: true},
				{Snapshot: snap('c'), Path: "/epns_prod.dump", Size: 10, OK: true}, {Snapshot: snap('d'), Path: "/epns_prod.dump", Size: 10, OK: true}}}}
	recs := append(append([]runlog.Record(nil), h.recs...), r)
	noJobs := *h.cfg
	noJobs.Jobs = nil
	for _, c := range []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.EN, []string{"**Sample size:** 1 files from the file sources, plus every dump file of 3 snapshot(s) of the dump sources", "**Verified:** 5 of 5 files identical byte for byte (1 sampled files and 4 dump files)"}},
		{i18n.ID, []string{"**Ukuran sampel:** 1 berkas dari sumber berkas; ditambah seluruh berkas dump dari 3 snapshot sumber dump"}},
	} {
		with := h.env(c.lang)
		without := with
		without.Config = &noJobs
		a := render(t, with.RestoreTest(r, recs)).md
		b := render(t, without.RestoreTest(r, recs)).md
		if a != b {
			t.Errorf("%s: the same record renders differently without the job configured:\nwith:\n%s\nwithout:\n%s", c.lang, a, b)
		}
		for _, w := range c.want {
			if !strings.Contains(b, w) {
				t.Errorf("%s: want %q:\n%s", c.lang, w, b)
			}
		}
	}
}
