package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// offsiteConfig loads the fixture's configuration with its first job, and
// returns its zone and the night of the runs below.
func offsiteConfig(t *testing.T) (*jobs.Config, *time.Location, time.Time) {
	t.Helper()
	cfg, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Jobs = cfg.Jobs[:1]
	loc := cfg.Location()
	return cfg, loc, time.Date(2026, 3, 2, 1, 0, 0, 0, loc)
}

// TestOffsiteFailure: a failed copy to the offsite medium has its own
// words in the failure report (kind, cause, what was copied) and its own
// row in the monthly analysis, apart from the backup, which stands.
func TestOffsiteFailure(t *testing.T) {
	cfg, loc, at := offsiteConfig(t)
	backup := runlog.Record{ID: "run-0302-backup", Op: runlog.OpBackup, Job: "spse-prod", Medium: "disk-A", Start: at, End: at.Add(30 * time.Minute),
		Result: runlog.OK, StandardMet: true, Note: runlog.NewNote("snapshots-saved", 2)}
	cp := runlog.Record{ID: "run-0302-copy", Op: runlog.OpCopy, Job: "spse-prod", Medium: "kominfo", Repository: "sftp://cadang@10.1.2.3/srv/cadang",
		Start: at.Add(40 * time.Minute), End: at.Add(41 * time.Minute), Ref: backup.ID, Tags: []string{runlog.TagOffsite},
		Copy:   &runlog.CopyInfo{From: "/mnt/backup/cadang", FromID: strings.Repeat("a", 64)},
		Result: runlog.Failed, Failure: runlog.KindOffsite, Note: runlog.NewNote("offsite-open-failed", "kominfo", "sftp://cadang@10.1.2.3/srv/cadang"),
		Message: "dial tcp 10.1.2.3:22: connect: connection refused"}
	recs := []runlog.Record{backup, cp}
	now := time.Date(2026, 4, 2, 9, 0, 0, 0, loc)
	for _, c := range []struct {
		l      i18n.Lang
		report []string
		month  string
	}{
		{i18n.ID, []string{"Penyalinan ke media offsite gagal", "Media offsite kominfo (sftp://cadang@10.1.2.3/srv/cadang) tidak dapat dibuka",
			"connection refused", "Backup pada media rotasi tetap berhasil", "/mnt/backup/cadang aaaaaaaa", "0 disalin, 0 sudah ada"}, "| Penyalinan ke media offsite gagal | 1 |"},
		{i18n.EN, []string{"Offsite copy failed", "Cannot open offsite medium kominfo", "The backup on the rotation medium still succeeded",
			"0 copied, 0 already there"}, "| Offsite copy failed | 1 |"},
	} {
		e := Env{Config: cfg, Lang: c.l, Now: now}
		render(t, e.Failure(cp, recs)).contains(t, c.report...)
		d, err := e.Monthly(recs, time.Date(2026, 3, 1, 0, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		r := render(t, d)
		if !strings.Contains(r.md, c.month) || !strings.Contains(r.md, cp.ID) {
			t.Errorf("monthly (%s) lacks %q or the copy %s:\n%s", c.l, c.month, cp.ID, r.md)
		}
		m := Analyze(cfg, recs, time.Date(2026, 3, 1, 0, 0, 0, 0, loc), now)
		if m.ByKind[runlog.KindOffsite] != 1 || m.Jobs[0].Failed != 0 {
			t.Errorf("analysis: kinds %v, failed backups %d", m.ByKind, m.Jobs[0].Failed)
		}
	}
}

// TestOffsiteFailureForgotten: a copy that passed over snapshots the
// offsite medium's retention had forgotten says so in its failure report,
// in both languages, beside what it copied.
func TestOffsiteFailureForgotten(t *testing.T) {
	cfg, loc, at := offsiteConfig(t)
	cp := runlog.Record{ID: "run-0302-copy", Op: runlog.OpCopy, Job: "spse-prod", Medium: "kominfo", Repository: "sftp://cadang@10.1.2.3/srv/cadang",
		Start: at.Add(40 * time.Minute), End: at.Add(41 * time.Minute), Tags: []string{runlog.TagOffsite},
		Copy:   &runlog.CopyInfo{From: "/mnt/backup/cadang", FromID: strings.Repeat("a", 64), Copied: 1, Skipped: 3, Forgotten: 2, Bytes: 5 << 20},
		Result: runlog.Failed, Failure: runlog.KindOffsite, Note: runlog.NewNote("offsite-open-failed", "kominfo", "sftp://cadang@10.1.2.3/srv/cadang")}
	for l, want := range map[i18n.Lang]string{
		i18n.ID: "1 disalin, 3 sudah ada, 2 sudah dilupakan di tujuan dan tidak disalin lagi",
		i18n.EN: "1 copied, 3 already there, 2 forgotten in the destination and not copied again",
	} {
		e := Env{Config: cfg, Lang: l, Now: time.Date(2026, 4, 2, 9, 0, 0, 0, loc)}
		render(t, e.Failure(cp, []runlog.Record{cp})).contains(t, want)
		// Without forgotten ones, the shorter sentence.
		c := *cp.Copy
		c.Forgotten = 0
		plain := cp
		plain.Copy = &c
		r := render(t, e.Failure(plain, []runlog.Record{plain}))
		if strings.Contains(r.md, "dilupakan di tujuan") || strings.Contains(r.md, "forgotten in the destination") {
			t.Errorf("a copy that forgot nothing (%s):\n%s", l, r.md)
		}
	}
}

// TestInventoryOffsite: the list of backups names a job's offsite medium
// beside its rotation media.
func TestInventoryOffsite(t *testing.T) {
	cfg, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Jobs[0].Offsite = &jobs.Offsite{Name: "kominfo", Repository: "s3:https://s3.kominfo.example/cadang/spse", RepositoryID: strings.Repeat("e", 64)}
	for l, want := range map[i18n.Lang]string{
		i18n.ID: "Salinan offsite: kominfo (s3:https://s3.kominfo.example/cadang/spse, ID eeeeeeee), setelah setiap backup",
		i18n.EN: "Offsite copy: kominfo (s3:https://s3.kominfo.example/cadang/spse, ID eeeeeeee), after each backup",
	} {
		e := Env{Config: cfg, Lang: l, Now: time.Date(2026, 4, 2, 9, 0, 0, 0, cfg.Location())}
		// The PDF wraps the table cell; the other formats keep the line.
		r := render(t, e.Inventory(nil))
		r.contains(t, "kominfo", "eeeeeeee")
		if !strings.Contains(r.md, want) || !strings.Contains(r.html, want) {
			t.Errorf("inventory (%s) lacks %q:\n%s", l, want, r.md)
		}
	}
}

// TestMonthlyForgetUnrecorded: a retention whose removals the medium could
// not record (a copy into it may bring them back) says so in the monthly
// report's maintenance table, in both languages.
func TestMonthlyForgetUnrecorded(t *testing.T) {
	cfg, loc, at := offsiteConfig(t)
	fr := runlog.Record{ID: "run-0302-forget", Op: runlog.OpForget, Job: "spse-prod", Medium: "kominfo", Start: at.Add(45 * time.Minute), End: at.Add(46 * time.Minute),
		Result: runlog.OK, Note: runlog.NewNote("forget-done", 2, 5), Forget: &runlog.ForgetInfo{Policy: runlog.Policy{Daily: 5}, Zone: loc.String(), NotRecorded: true,
			Removed: []runlog.ForgetItem{{Snapshot: strings.Repeat("c", 64), Source: "database", Time: at.Add(-10 * 24 * time.Hour), Reasons: []string{runlog.ReasonNotKept}},
				{Snapshot: strings.Repeat("d", 64), Source: "upload", Time: at.Add(-11 * 24 * time.Hour), Reasons: []string{runlog.ReasonNotKept}}}}}
	for l, want := range map[i18n.Lang]string{
		i18n.ID: "penghapusan tidak dapat dicatat di media ini sebagai snapshot yang dilupakan",
		i18n.EN: "the removals could not be recorded on this medium as forgotten snapshots",
	} {
		t.Run(string(l), func(t *testing.T) {
			e := Env{Config: cfg, Lang: l, Now: time.Date(2026, 4, 2, 9, 0, 0, 0, loc)}
			d, err := e.Monthly([]runlog.Record{fr}, time.Date(2026, 3, 1, 0, 0, 0, 0, loc))
			if err != nil {
				t.Fatal(err)
			}
			if r := render(t, d); !strings.Contains(r.md, want) {
				t.Errorf("monthly (%s) lacks %q:\n%s", l, want, r.md)
			}
		})
	}
}

// TestMonthlyFromFirstRecord: without active_since, a job is expected to
// run from the day of its first record, not from the first of the month
// (nor in the months before it existed); a manual `cadang backup` is not
// counted among the job's runs, though its failure is among the month's
// failures (README walk: "Missed 7: 1-7 December" for a job added on the
// 8th, and 8 runs of which 2 were manual).
func TestMonthlyFromFirstRecord(t *testing.T) {
	cfg, loc, _ := offsiteConfig(t)
	cfg.Jobs[0].ActiveSince = time.Time{}
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, loc) }
	var recs []runlog.Record
	for d := 8; d <= 10; d++ {
		recs = append(recs, runlog.Record{ID: fmt.Sprintf("run-%02d", d), Op: runlog.OpBackup, Job: "spse-prod", Start: day(d, 2), End: day(d, 2).Add(time.Minute),
			Result: runlog.OK, StandardMet: true, Sources: []runlog.Source{{Name: "db"}}})
	}
	recs = append(recs, runlog.Record{ID: "manual", Op: runlog.OpBackup, Job: "spse-prod", Start: day(9, 14), End: day(9, 15),
		Result: runlog.Failed, Failure: runlog.KindMedia, Tags: []string{runlog.TagManual}})
	now := day(12, 9)
	jm := Analyze(cfg, recs, day(1, 0), now).Jobs[0]
	// Expected: the 8th to the 11th (the 12th is not over).
	if jm.Expected != 4 || jm.Done != 3 || len(jm.Missed) != 1 || !jm.Missed[0].Equal(day(11, 0)) {
		t.Errorf("expected %d, done %d, missed %v; want 4, 3, [11 March]", jm.Expected, jm.Done, jm.Missed)
	}
	if jm.Runs != 3 || jm.Failed != 0 || jm.StandardMet != 3 {
		t.Errorf("runs %d, failed %d, within standard %d; want 3, 0, 3 (the manual backup is not the job's)", jm.Runs, jm.Failed, jm.StandardMet)
	}
	if m := Analyze(cfg, recs, day(1, 0), now); len(m.Failures) != 1 || m.Failures[0].ID != "manual" {
		t.Errorf("the manual backup's failure is not among the month's: %v", m.Failures)
	}
	if feb := Analyze(cfg, recs, time.Date(2026, 2, 1, 0, 0, 0, 0, loc), now).Jobs[0]; feb.Expected != 0 {
		t.Errorf("February, before the job's first record: %d expected", feb.Expected)
	}
	// A restore test (or a check of a new medium) does not start the
	// job's schedule: only its backups do.
	early := append(recs[:len(recs):len(recs)], runlog.Record{ID: "test", Op: runlog.OpRestoreTest, Job: "spse-prod",
		Start: day(2, 2), End: day(2, 3), Result: runlog.OK})
	if jm := Analyze(cfg, early, day(1, 0), now).Jobs[0]; jm.Expected != 4 {
		t.Errorf("a restore test on 2 March started the schedule: %d expected, want 4", jm.Expected)
	}
	// A job that never ran is expected in the month that now is in, not
	// in the months before it.
	if jm := Analyze(cfg, nil, day(1, 0), now).Jobs[0]; jm.Expected != 11 {
		t.Errorf("never ran, this month: %d expected, want 11", jm.Expected)
	}
	if jm := Analyze(cfg, nil, time.Date(2026, 2, 1, 0, 0, 0, 0, loc), now).Jobs[0]; jm.Expected != 0 {
		t.Errorf("never ran, the month before: %d expected, want 0", jm.Expected)
	}
	cfg.Jobs[0].ActiveSince = time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	if jm := Analyze(cfg, recs, day(1, 0), now).Jobs[0]; jm.Expected != 7 {
		t.Errorf("with active_since 5 March: %d expected, want 7", jm.Expected)
	}
}

// TestMonthlyWeekAcrossMonths: a weekly job's week that starts in one
// month and ends in the next belongs to the first, and is done by a
// backup made in the second (it was reported missed in the first and
// passed over in the second).
func TestMonthlyWeekAcrossMonths(t *testing.T) {
	cfg, loc, _ := offsiteConfig(t)
	cfg.Jobs[0].Schedule = jobs.Weekly
	cfg.Jobs[0].ActiveSince = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	thu := time.Date(2026, 4, 2, 2, 0, 0, 0, loc) // in the week of Monday 30 March
	recs := []runlog.Record{{ID: "w", Op: runlog.OpBackup, Job: "spse-prod", Start: thu, End: thu.Add(time.Minute), Result: runlog.OK,
		StandardMet: true, Sources: []runlog.Source{{Name: "db"}}}}
	m := Analyze(cfg, recs, time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 20, 9, 0, 0, 0, loc))
	jm := m.Jobs[0]
	for _, p := range jm.Missed {
		if p.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, loc)) {
			t.Errorf("the week of 30 March is missed, though its backup was made on 2 April: %v", jm.Missed)
		}
	}
	if jm.Done != 1 {
		t.Errorf("March: %d weeks done, want 1 (the week of 30 March)", jm.Done)
	}
}
