package status

import (
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestComputeRepository: without a configuration file, status reports on
// one repository (issue 15): its last backup and result from the records
// about it or, when none is newer, its newest snapshot; its last restore
// test and when the next is due; what is overdue, with the usual exit
// codes. Records of other repositories do not count.
func TestComputeRepository(t *testing.T) {
	const id, other = "aaaa1111", "bbbb2222"
	day := func(d int) time.Time { return time.Date(2026, 3, d, 2, 0, 0, 0, time.UTC) }
	rec := func(op runlog.Operation, repo string, d int, res runlog.Result) runlog.Record {
		return runlog.Record{Op: op, ID: string(op) + string(rune('a'+d)), RepositoryID: repo, Start: day(d), End: day(d).Add(time.Minute), Result: res}
	}
	recs := []runlog.Record{
		rec(runlog.OpBackup, id, 1, runlog.OK),
		rec(runlog.OpRestoreTest, id, 2, runlog.OK),
		rec(runlog.OpBackup, id, 10, runlog.OK),
		rec(runlog.OpBackup, other, 11, runlog.Failed),
	}
	rep := ComputeRepository("/srv/backup", id, recs, []SnapshotInfo{{"s1", day(1)}, {"s10", day(10)}}, 0, day(10).Add(3*time.Hour))
	j := rep.Jobs[0]
	if rep.ExitCode() != ExitOK || j.Name != "/srv/backup" || !j.LastBackupAt.Equal(day(10).Add(time.Minute)) || j.LastResult != runlog.OK ||
		!j.LastRestoreTest.Equal(day(2).Add(time.Minute)) || !j.RestoreTestDue.Equal(day(2).Add(time.Minute).Add(90*24*time.Hour)) {
		t.Fatalf("%+v", j)
	}
	// Two days without a backup: critical.
	rep = ComputeRepository("/srv/backup", id, recs, nil, 0, day(12).Add(4*time.Hour))
	if rep.ExitCode() != ExitCritical || rep.Jobs[0].Problems[0].What != "backup-overdue" {
		t.Fatalf("%+v", rep.Jobs[0])
	}
	// A failed last backup: critical, with its kind.
	failed := append(recs, runlog.Record{Op: runlog.OpBackup, ID: "x", RepositoryID: id, End: day(11), Result: runlog.Failed, Failure: runlog.KindOutOfSpace})
	rep = ComputeRepository("/srv/backup", id, failed, nil, 0, day(11).Add(time.Hour))
	if rep.ExitCode() != ExitCritical || rep.Jobs[0].LastFailure != runlog.KindOutOfSpace {
		t.Fatalf("%+v", rep.Jobs[0])
	}
	// No records at all, only snapshots made before the run log was kept:
	// the newest snapshot is the last backup; the restore test falls due
	// 90 days after the first backup the records know (here: that one).
	rep = ComputeRepository("/srv/backup", id, nil, []SnapshotInfo{{"0123456789ab", day(20)}}, 0, day(20).Add(time.Hour))
	if j := rep.Jobs[0]; rep.ExitCode() != ExitOK || j.LastBackupID != "snapshot-01234567" || !j.RestoreTestDue.Equal(day(20).Add(90*24*time.Hour)) {
		t.Fatalf("%+v", j)
	}
	// A restore test overdue: warning.
	rep = ComputeRepository("/srv/backup", id, recs, []SnapshotInfo{{"s", day(1).AddDate(0, 4, 0)}}, 0, day(1).AddDate(0, 4, 0).Add(time.Hour))
	if rep.ExitCode() != ExitWarning || rep.Jobs[0].Problems[0].What != "restore-test-overdue" {
		t.Fatalf("%+v", rep.Jobs[0])
	}
	// An empty repository that was never backed up: critical.
	if rep := ComputeRepository("/srv/backup", id, nil, nil, 0, day(1)); rep.ExitCode() != ExitCritical {
		t.Fatalf("%+v", rep.Jobs[0])
	}
}

// TestFailedRestoreAsksNoFollowup: SOP step 5 asks a follow-up of every
// failed backup; a failed restore (a full disk, a read-only target) is
// accounted for by its own minutes (step 8), so status on a new host does
// not list it as a failed run without follow-up. A failed backup still is,
// and so is a restore that failed on damaged backup data (integrity).
func TestFailedRestoreAsksNoFollowup(t *testing.T) {
	const id = "aaaa1111"
	at := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	recs := []runlog.Record{
		{Op: runlog.OpBackup, ID: "backup", RepositoryID: id, Start: at, End: at.Add(time.Minute), Result: runlog.OK},
		{Op: runlog.OpRestore, ID: "full-disk", RepositoryID: id, Start: at.Add(time.Hour), End: at.Add(2 * time.Hour), Result: runlog.Failed, Failure: runlog.KindOutOfSpace},
		{Op: runlog.OpRestore, ID: "read-only", RepositoryID: id, Start: at.Add(3 * time.Hour), End: at.Add(3 * time.Hour), Result: runlog.Failed, Failure: runlog.KindOther},
		{Op: runlog.OpBackup, ID: "failed-backup", RepositoryID: id, Start: at.Add(4 * time.Hour), End: at.Add(4 * time.Hour), Result: runlog.Partial, Failure: runlog.KindSourceUnreadable},
		// A restore that found the backup data damaged is a failed backup.
		{Op: runlog.OpRestore, ID: "damaged", RepositoryID: id, Start: at.Add(5 * time.Hour), End: at.Add(5 * time.Hour), Result: runlog.Failed, Failure: runlog.KindIntegrity},
	}
	rep := ComputeRepository("/mnt/usb", id, recs, nil, 0, at.Add(30*time.Hour))
	j := rep.Jobs[0]
	if len(j.OpenFollowups) != 2 || j.OpenFollowups[0] != "failed-backup" || j.OpenFollowups[1] != "damaged" || len(j.OverdueFollowups) != 2 {
		t.Errorf("open follow-ups %v, overdue %v; want the failed backup and the restore that found damaged data", j.OpenFollowups, j.OverdueFollowups)
	}
}
