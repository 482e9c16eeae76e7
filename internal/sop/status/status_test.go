package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

var day = time.Date(2026, 4, 10, 3, 0, 0, 0, time.UTC)

func rec(job string, op runlog.Operation, end time.Time, res runlog.Result, k runlog.FailureKind) runlog.Record {
	return runlog.Record{ID: job + end.Format("0102150405") + string(op), Job: job, Op: op, Start: end.Add(-time.Hour), End: end, Result: res, Failure: k}
}

func TestExitCodes(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	healthy := []runlog.Record{
		rec("spse-prod", runlog.OpBackup, day.Add(-24*time.Hour), runlog.OK, ""),
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -6), runlog.OK, ""),
		rec("server-security", runlog.OpRestoreTest, day.AddDate(0, -2, 0), runlog.OK, ""),
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
	}
	cases := []struct {
		name string
		recs []runlog.Record
		now  time.Time
		code int
		what string
	}{
		{"healthy", healthy, day.Add(time.Hour), ExitOK, ""},
		{"last run failed", append(append([]runlog.Record{}, healthy...), rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Failed, runlog.KindMedia)), day.Add(2 * time.Hour), ExitCritical, "backup-failed"},
		{"partial", append(append([]runlog.Record{}, healthy...), rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Partial, runlog.KindSourceUnreadable)), day.Add(2 * time.Hour), ExitWarning, "backup-partial"},
		{"backup overdue", healthy, day.Add(28 * time.Hour), ExitCritical, "backup-overdue"},
		{"restore test overdue", healthy[:4], day.AddDate(0, 0, 62).Add(-25 * time.Hour), ExitCritical, "restore-test-overdue"},
		{"never", nil, day, ExitCritical, "never-backed-up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(c, tc.recs, tc.now)
			if tc.name == "restore test overdue" {
				// only look at the restore-test problem of server-security
				found := false
				for _, p := range r.Jobs[1].Problems {
					found = found || p.What == tc.what
				}
				if !found {
					t.Fatalf("%+v", r.Jobs[1])
				}
				return
			}
			if got := r.ExitCode(); got != tc.code {
				t.Fatalf("exit %d, want %d: %+v", got, tc.code, r.Jobs)
			}
			if tc.what != "" && !strings.Contains(problems(r), tc.what) {
				t.Fatalf("want %s in %s", tc.what, problems(r))
			}
		})
	}
	r := Compute(c, healthy, day.Add(time.Hour))
	if want := day.AddDate(0, -1, 0).Add(90 * 24 * time.Hour); !r.Jobs[0].RestoreTestDue.Equal(want) {
		t.Errorf("restore test due %v, want %v", r.Jobs[0].RestoreTestDue, want)
	}
	var b bytes.Buffer
	r.WriteJSON(&b)
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["exit_code"].(float64) != 0 {
		t.Fatalf("json: %v %s", err, b.String())
	}
	b.Reset()
	Compute(c, cases[1].recs, day.Add(2*time.Hour)).WriteText(&b, i18n.ID, time.UTC)
	if !strings.Contains(b.String(), "KRITIS") || !strings.Contains(b.String(), "Media backup salah") {
		t.Fatalf("text:\n%s", b.String())
	}
}

func problems(r *Report) string {
	var s []string
	for _, j := range r.Jobs {
		for _, p := range j.Problems {
			s = append(s, j.Name+":"+p.What)
		}
	}
	return strings.Join(s, " ")
}

// TestOffsite: a job with an offsite medium warns when its last copy there
// is older than max_age, never happened, or failed; a copy made by hand
// (no offsite tag) does not count.
func TestOffsite(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	c.Jobs[0].Offsite = &jobs.Offsite{Name: "kominfo", Repository: "sftp://cadang@10.1.2.3/srv/cadang", MaxAge: jobs.Duration(48 * time.Hour)}
	c.Jobs[0].ActiveSince = time.Time{}
	backup := func(end time.Time, medium string) runlog.Record {
		r := rec("spse-prod", runlog.OpBackup, end, runlog.OK, "")
		r.Medium = medium
		return r
	}
	copyRec := func(end time.Time, res runlog.Result, k runlog.FailureKind, tagged bool) runlog.Record {
		r := rec("spse-prod", runlog.OpCopy, end, res, k)
		if tagged {
			r.Tags = []string{runlog.TagOffsite}
		}
		return r
	}
	base := []runlog.Record{
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -6), runlog.OK, ""),
		rec("server-security", runlog.OpRestoreTest, day.AddDate(0, -2, 0), runlog.OK, ""),
		backup(day.Add(-24*time.Hour), "disk-B"),
		backup(day, "disk-A"),
	}
	with := func(extra ...runlog.Record) []runlog.Record {
		return append(append([]runlog.Record{}, base...), extra...)
	}
	now := day.Add(time.Hour)
	cases := []struct {
		name  string
		recs  []runlog.Record
		code  int
		what  string
		final time.Time // the last successful copy
	}{
		{"never", base, ExitWarning, "spse-prod:offsite-never", time.Time{}},
		{"by hand only", with(copyRec(day, runlog.OK, "", false)), ExitWarning, "spse-prod:offsite-never", time.Time{}},
		{"copied", with(copyRec(day, runlog.OK, "", true)), ExitOK, "", day},
		{"slow but copied", with(copyRec(day, runlog.Failed, runlog.KindTimeStandard, true)), ExitOK, "spse-prod:followup-open", day},
		{"old", with(copyRec(day.Add(-50*time.Hour), runlog.OK, "", true)), ExitWarning, "spse-prod:offsite-overdue", day.Add(-50 * time.Hour)},
		{"last failed", with(copyRec(day.Add(-24*time.Hour), runlog.OK, "", true), copyRec(day, runlog.Failed, runlog.KindOffsite, true)), ExitWarning, "spse-prod:offsite-failed spse-prod:followup-open", day.Add(-24 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(c, tc.recs, now)
			if got := r.ExitCode(); got != tc.code || problems(r) != tc.what {
				t.Fatalf("exit %d, problems %q; want %d, %q", got, problems(r), tc.code, tc.what)
			}
			o := r.Jobs[0].Offsite
			if o == nil || o.Name != "kominfo" || !o.LastCopyAt.Equal(tc.final) || o.MaxAgeMS != (48*time.Hour).Milliseconds() {
				t.Fatalf("offsite %+v", o)
			}
			if !tc.final.IsZero() && !o.Due.Equal(tc.final.Add(48*time.Hour)) {
				t.Errorf("due %v", o.Due)
			}
			if r.Jobs[1].Offsite != nil {
				t.Errorf("a job without an offsite medium has %+v", r.Jobs[1].Offsite)
			}
		})
	}
	// The medium due next follows the last successful backup's.
	r := Compute(c, with(copyRec(day, runlog.OK, "", true)), now)
	if r.Jobs[0].NextMedium != "disk-B" || r.Jobs[1].NextMedium == "" {
		t.Errorf("next media %q %q", r.Jobs[0].NextMedium, r.Jobs[1].NextMedium)
	}
	// A before-change backup on another disk does not move the rotation
	// (issue 15): disk-B stays due.
	bc := backup(day.Add(time.Hour), "disk-B")
	bc.Tags = []string{runlog.TagBeforeChange}
	if r := Compute(c, with(bc), now.Add(time.Hour)); r.Jobs[0].NextMedium != "disk-B" {
		t.Errorf("after a before-change backup on disk-B, %q is due, want disk-B", r.Jobs[0].NextMedium)
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Jobs []struct {
			Next    string `json:"next_medium"`
			Offsite *struct {
				Name       string    `json:"name"`
				LastCopyAt time.Time `json:"last_copy_at"`
				Due        time.Time `json:"due"`
			} `json:"offsite"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Jobs[0].Next != "disk-B" || back.Jobs[0].Offsite == nil ||
		!back.Jobs[0].Offsite.LastCopyAt.Equal(day) || !back.Jobs[0].Offsite.Due.Equal(day.Add(48*time.Hour)) || back.Jobs[1].Offsite != nil {
		t.Fatalf("json: %v %s", err, b.String())
	}
	b.Reset()
	Compute(c, with(copyRec(day.Add(-50*time.Hour), runlog.OK, "", true)), now).WriteText(&b, i18n.EN, time.UTC)
	for _, want := range []string{"Next medium", "Last offsite copy", "disk-B", "kominfo 2026-04-08 01:00", "WARNING", "offsite copy overdue"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	Compute(c, base, now).WriteText(&b, i18n.ID, time.UTC)
	if !strings.Contains(b.String(), "belum pernah disalin ke media offsite: media offsite kominfo") || !strings.Contains(b.String(), "Salinan offsite terakhir") {
		t.Errorf("text:\n%s", b.String())
	}
	// In Indonesian the lines say the facts of the English ones: the
	// failed copy's ID and kind, the medium, the last copy's time.
	failedCopy := copyRec(day, runlog.Failed, runlog.KindOffsite, true)
	for _, c2 := range []struct {
		recs []runlog.Record
		want string
	}{
		{with(copyRec(day.Add(-50*time.Hour), runlog.OK, "", true)), "salinan offsite terlambat: tidak ada salinan ke media offsite kominfo sejak 2026-04-08 01.00 UTC"},
		{with(copyRec(day.Add(-24*time.Hour), runlog.OK, "", true), failedCopy), "penyalinan offsite terakhir gagal: " + failedCopy.ID + " ke media offsite kominfo (" + runlog.KindLabel(i18n.ID, runlog.KindOffsite) + "), 2026-04-10"},
	} {
		b.Reset()
		Compute(c, c2.recs, now).WriteText(&b, i18n.ID, time.UTC)
		if !strings.Contains(b.String(), c2.want) {
			t.Errorf("text lacks %q:\n%s", c2.want, b.String())
		}
	}
}

// TestNagios (issue 15): one plugin line per check, with the state of the
// exit code, what needs attention, and performance data.
func TestNagios(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	last := rec("spse-prod", runlog.OpBackup, day, runlog.OK, "")
	last.BytesAdded, last.DurationMS = 123456, 95_500
	recs := []runlog.Record{
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -30), runlog.OK, ""),
		last,
	}
	r := Compute(c, recs, day.Add(time.Hour))
	one, err := r.Only("spse-prod")
	if err != nil || len(one.Jobs) != 1 {
		t.Fatalf("Only: %v %+v", err, one)
	}
	var b bytes.Buffer
	if err := one.WriteNagios(&b); err != nil {
		t.Fatal(err)
	}
	line := b.String()
	for _, want := range []string{"CADANG OK - 1 job(s) ok | ", "'spse-prod_backup_age'=3600s;;;0", "'spse-prod_bytes_added'=123456B;;;0",
		"'spse-prod_duration'=95.5s;;;0", "'spse-prod_problems'=0;1;;0", "'spse-prod_restore_test_age'="} {
		if !strings.Contains(line, want) {
			t.Errorf("nagios line lacks %q:\n%s", want, line)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("not one line: %q", line)
	}
	// server-security's last backup is a month old: CRITICAL, and why.
	sec, _ := r.Only("server-security")
	b.Reset()
	if err := sec.WriteNagios(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "CADANG CRITICAL - server-security: backup-overdue") {
		t.Errorf("warning line: %q", b.String())
	}
	if _, err := r.Only("nope"); err == nil || !strings.Contains(err.Error(), "spse-prod") {
		t.Errorf("Only of an unknown job: %v", err)
	}
}

// A plain `cadang backup` of a job's medium (tag manual) is recorded
// under the job but is not its backup: eleven days after the job's last
// run, status is critical however fresh the manual backup, and the
// rotation stays where the job left it. A manual backup that failed
// still waits for its follow-up. Without a configuration
// (ComputeRepository) the plain backups are all there is, and count.
func TestManualBackupIsNotTheJobs(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	jobRun := rec("spse-prod", runlog.OpBackup, day.AddDate(0, 0, -11), runlog.OK, "")
	jobRun.Medium = "disk-A"
	manualFailed := rec("spse-prod", runlog.OpBackup, day.Add(-30*time.Minute), runlog.Failed, runlog.KindWrongPassword)
	manualFailed.Tags = []string{runlog.TagManual}
	manual := rec("spse-prod", runlog.OpBackup, day, runlog.OK, "")
	manual.Medium, manual.Tags = "disk-B", []string{runlog.TagManual}
	recs := []runlog.Record{
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -1), runlog.OK, ""),
		rec("server-security", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		jobRun, manualFailed, manual,
	}
	r := Compute(c, recs, day.Add(time.Hour))
	j := r.Jobs[0]
	if j.LastBackupID != jobRun.ID || !j.LastSuccessAt.Equal(jobRun.End) || j.LastResult != runlog.OK {
		t.Errorf("last backup %s at %v (%s), last success %v; want the job's run %s", j.LastBackupID, j.LastBackupAt, j.LastResult, j.LastSuccessAt, jobRun.ID)
	}
	if got := problems(r); got != "spse-prod:backup-overdue spse-prod:followup-open" || r.ExitCode() != ExitCritical {
		t.Errorf("exit %d, problems %q; want critical, the job's backup overdue", r.ExitCode(), got)
	}
	if len(j.OpenFollowups) != 1 || j.OpenFollowups[0] != manualFailed.ID {
		t.Errorf("open follow-ups %v, want the failed manual backup %s", j.OpenFollowups, manualFailed.ID)
	}
	if j.NextMedium != "disk-B" {
		t.Errorf("next medium %q: the manual backup on disk-B moved the rotation", j.NextMedium)
	}
	var b bytes.Buffer
	if err := r.WriteNagios(&b); err != nil || !strings.HasPrefix(b.String(), "CADANG CRITICAL - spse-prod: backup-overdue") {
		t.Errorf("nagios: %v %s", err, b.String())
	}
	// Without a configuration the repository is the job.
	manual.RepositoryID = "r1"
	rr := ComputeRepository("/mnt/disk-b", "r1", []runlog.Record{manual}, nil, 0, day.Add(time.Hour))
	if rj := rr.Jobs[0]; rj.LastBackupID != manual.ID || rr.ExitCode() != ExitOK {
		t.Errorf("repository status: exit %d, last backup %q, problems %s", rr.ExitCode(), rj.LastBackupID, problems(rr))
	}
}

// SOP step 5 gives a day to follow a failed run up: a failure without a
// follow-up after that is a warning of its own (followup-overdue, naming
// the runs), even when later runs went well; within the day it is only
// listed, and a follow-up clears it.
func TestFollowupOverdue(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	failed := rec("spse-prod", runlog.OpBackup, day.Add(-48*time.Hour), runlog.Failed, runlog.KindDumpFailed)
	check := rec("spse-prod", runlog.OpCheck, day.Add(-30*time.Hour), runlog.Failed, runlog.KindIntegrity)
	fresh := rec("spse-prod", runlog.OpPrune, day.Add(-2*time.Hour), runlog.Failed, runlog.KindIntegrity) // not a restore: its minutes account for a failed one
	// A failure older than FollowupWatch (from before the installation
	// followed runs up) is listed, not warned about.
	old := rec("spse-prod", runlog.OpCheck, day.AddDate(0, 0, -40), runlog.Failed, runlog.KindIntegrity)
	base := []runlog.Record{
		rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		rec("server-security", runlog.OpBackup, day.AddDate(0, 0, -1), runlog.OK, ""),
		rec("server-security", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, ""),
		failed, check,
		rec("spse-prod", runlog.OpBackup, day.Add(-24*time.Hour), runlog.OK, ""),
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
		fresh, old,
	}
	now := day.Add(time.Hour)
	r := Compute(c, base, now)
	j := r.Jobs[0]
	if got := problems(r); r.ExitCode() != ExitWarning || j.Level != Warning || got != "spse-prod:followup-open spse-prod:followup-overdue" {
		t.Fatalf("exit %d, level %d, problems %q; want a warning, followup-overdue", r.ExitCode(), j.Level, got)
	}
	if strings.Join(j.OverdueFollowups, " ") != failed.ID+" "+check.ID || len(j.OpenFollowups) != 4 {
		t.Errorf("overdue %v, open %v", j.OverdueFollowups, j.OpenFollowups)
	}
	p := j.Problems[len(j.Problems)-1]
	if p.Level != Warning || p.Since != failed.End.Add(24*time.Hour).Format(time.RFC3339) || !strings.Contains(p.Text, failed.ID) ||
		!strings.Contains(p.Text, check.ID) || strings.Contains(p.Text, fresh.ID) {
		t.Errorf("problem %+v", p)
	}
	var b bytes.Buffer
	one, _ := r.Only("spse-prod")
	if err := one.WriteNagios(&b); err != nil || !strings.HasPrefix(b.String(), "CADANG WARNING - spse-prod: followup-overdue | ") ||
		!strings.Contains(b.String(), "'spse-prod_problems'=1;1;;0") {
		t.Errorf("nagios: %v %s", err, b.String())
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Jobs []struct {
			Overdue  []string `json:"overdue_followups"`
			Problems []struct {
				Level int    `json:"level"`
				What  string `json:"what"`
			} `json:"problems"`
		} `json:"jobs"`
		Exit int `json:"exit_code"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Exit != ExitWarning || len(back.Jobs[0].Overdue) != 2 ||
		back.Jobs[0].Problems[1].What != "followup-overdue" || back.Jobs[0].Problems[1].Level != int(Warning) {
		t.Errorf("json: %v %s", err, b.String())
	}
	b.Reset()
	r.WriteText(&b, i18n.ID, time.UTC)
	if !strings.Contains(b.String(), "spse-prod: tindak lanjut terlambat (lebih dari 1 hari): "+failed.ID+", "+check.ID+"\n") || !strings.Contains(b.String(), "PERINGATAN") {
		t.Errorf("text:\n%s", b.String())
	}
	// Within the day: listed, the job stays OK; exactly a day is still in time.
	inTime := []runlog.Record{base[0], base[1], base[2], check, base[5]}
	if r := Compute(c, inTime, check.End.Add(24*time.Hour)); r.Jobs[0].Level != OK || len(r.Jobs[0].OverdueFollowups) != 0 ||
		problems(r) != "spse-prod:followup-open" {
		t.Errorf("a day after the check: level %d, overdue %v, problems %q", r.Jobs[0].Level, r.Jobs[0].OverdueFollowups, problems(r))
	}
	// Followed up (late): nothing overdue.
	followed := append(append([]runlog.Record{}, base...),
		runlog.Record{ID: "fu1", Op: runlog.OpFollowup, Job: "spse-prod", Ref: failed.ID, Result: runlog.OK, Start: now, End: now},
		runlog.Record{ID: "fu2", Op: runlog.OpFollowup, Job: "spse-prod", Ref: check.ID, Result: runlog.OK, Start: now, End: now})
	if r := Compute(c, followed, now); r.ExitCode() != ExitOK || problems(r) != "spse-prod:followup-open" {
		t.Errorf("after the follow-ups: exit %d, problems %q", r.ExitCode(), problems(r))
	}
}

// NextRestoreTest, for the restore test's report, is what Compute says
// right after the test: a failed test does not move the due date; a
// test of a repository without a job is reckoned as ComputeRepository
// does.
func TestNextRestoreTest(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	lastOK := rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, -1, 0), runlog.OK, "")
	failed := rec("spse-prod", runlog.OpRestoreTest, day, runlog.Failed, runlog.KindIntegrity)
	later := rec("spse-prod", runlog.OpRestoreTest, day.AddDate(0, 0, 3), runlog.OK, "")
	recs := []runlog.Record{rec("spse-prod", runlog.OpBackup, day.AddDate(0, -2, 0), runlog.OK, ""), lastOK, failed, later}
	want := lastOK.End.Add(90 * 24 * time.Hour)
	if got := Compute(c, recs[:3], failed.End).Jobs[0].RestoreTestDue; !got.Equal(want) {
		t.Errorf("status after a failed test: due %v, want %v", got, want)
	}
	if got := NextRestoreTest(c, failed, recs); !got.Equal(want) {
		t.Errorf("NextRestoreTest of the failed test: %v, want %v (the later test does not count)", got, want)
	}
	if got, want := NextRestoreTest(c, later, recs), later.End.Add(90*24*time.Hour); !got.Equal(want) {
		t.Errorf("NextRestoreTest of a successful test: %v, want %v", got, want)
	}
	// No job: the repository's records.
	bare := []runlog.Record{lastOK, failed}
	for i := range bare {
		bare[i].Job, bare[i].RepositoryID = "", "r1"
	}
	if got := NextRestoreTest(nil, bare[1], bare); !got.Equal(want) {
		t.Errorf("NextRestoreTest of a repository's failed test: %v, want %v", got, want)
	}
}

// TestProblemTimesNameTheirZone: a problem's text gives its time in the
// organization's zone, named, as the table beside it (a README walk saw
// a bare UTC time under a WITA heading), and counts agree with their noun.
func TestProblemTimesNameTheirZone(t *testing.T) {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	recs := []runlog.Record{
		rec("spse-prod", runlog.OpBackup, day, runlog.OK, ""),
		rec("spse-prod", runlog.OpBackup, day.Add(time.Hour), runlog.Failed, runlog.KindMedia),
	}
	r := Compute(c, recs, day.Add(40*time.Hour))
	want := "no successful backup since " + day.In(c.Location()).Format("2006-01-02 15:04 MST")
	var texts []string
	for _, p := range r.Jobs[0].Problems {
		texts = append(texts, p.Text)
	}
	all := strings.Join(texts, "\n")
	if c.Location() == time.UTC || !strings.Contains(all, want) || !strings.Contains(all, "1 failed run without follow-up") {
		t.Fatalf("want %q and one failed run, in:\n%s", want, all)
	}
}

// TestAddRunLog: what the run log says of itself reaches every job as a
// warning: its errors (no head reaches the repositories), a copy that
// failed, and a clock that stepped back within FollowupWatch of now (by
// either record around the step: the clock may have been wrong either
// way); an older step is left to 'log verify'.
func TestAddRunLog(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	recs := func(before, at time.Time) []runlog.Record {
		return []runlog.Record{{Chain: "c", Seq: 1, ID: "r1", Logged: before}, {Chain: "c", Seq: 2, ID: "r2", Logged: at}}
	}
	back := runlog.Finding{Copy: "local", Problem: runlog.ClockBack, Chain: "c", Seq: 2, RecordID: "r2", Warning: true, Detail: "logged at ..."}
	for _, tc := range []struct {
		name       string
		fs         []runlog.Finding
		before, at time.Time
		want       []string // the problems' What
	}{
		{"nothing", nil, now.Add(-time.Hour), now, nil},
		{"a minute back, today", []runlog.Finding{back}, now.Add(-time.Hour), now.Add(-61 * time.Minute), []string{"runlog-clock-back"}},
		{"days back, from today", []runlog.Finding{back}, now.Add(-time.Hour), now.Add(-60 * 24 * time.Hour), []string{"runlog-clock-back"}},
		// The clock now stands behind the record that the clock ahead
		// logged: clock-behind too, until it passes it.
		{"from a clock ahead, corrected today", []runlog.Finding{back}, now.Add(400 * 24 * time.Hour), now.Add(-time.Hour), []string{"clock-behind", "runlog-clock-back"}},
		{"two months ago", []runlog.Finding{back}, now.Add(-60 * 24 * time.Hour), now.Add(-61 * 24 * time.Hour), nil},
		{"problems", []runlog.Finding{{Copy: "local", Problem: runlog.Reordered, Seq: 2, RecordID: "r2", Detail: "comes after"}}, now.Add(-time.Hour), now,
			[]string{"runlog-problems"}},
		{"not copied", []runlog.Finding{{Copy: "repository", Problem: runlog.NotCopied, Warning: true, Detail: "1 record not in repository"}}, now.Add(-time.Hour), now,
			[]string{"runlog-not-copied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{At: now, Jobs: []Job{{Name: "a", Problems: []Problem{}}, {Name: "b", Problems: []Problem{}}}}
			r.AddRunLog(tc.fs, recs(tc.before, tc.at))
			for _, j := range r.Jobs {
				var got []string
				for _, p := range j.Problems {
					got = append(got, p.What)
					if p.Level != Warning {
						t.Errorf("%s: %s at level %d, want a warning", j.Name, p.What, p.Level)
					}
				}
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("%s: problems %v, want %v", j.Name, got, tc.want)
				}
			}
			wantCode := ExitOK
			if len(tc.want) > 0 {
				wantCode = ExitWarning
			}
			var b strings.Builder
			if err := r.WriteNagios(&b); err != nil {
				t.Fatal(err)
			}
			if r.ExitCode() != wantCode || (wantCode == ExitWarning) != strings.HasPrefix(b.String(), "CADANG WARNING - ") {
				t.Errorf("exit %d, want %d; nagios %q", r.ExitCode(), wantCode, b.String())
			}
		})
	}
}
