package status

import (
	"sort"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// SnapshotInfo is a snapshot as the status of a repository needs it.
type SnapshotInfo struct {
	ID   string
	Time time.Time
}

// ComputeRepository is Compute for an administrator without a
// configuration file: the status of one repository, reported as one job
// named name. Its runs are the records about the repository (by ID), of
// any job or none, and its newest snapshot counts as a successful backup
// when no record is newer (a backup made before the run log was kept, or
// recorded on another machine). With no schedule configured it is held to
// the defaults: a backup a day within the SOP's time standard, and a
// restore test every interval (0: the SOP's 90 days).
func ComputeRepository(name, repoID string, recs []runlog.Record, snaps []SnapshotInfo, interval time.Duration, now time.Time) *Report {
	if interval <= 0 {
		interval = jobs.DefaultRestoreTestInterval
	}
	cfg := &jobs.Config{RestoreTest: jobs.RestoreTestConfig{Interval: jobs.Duration(interval)},
		Jobs: []jobs.Job{{Name: name, Schedule: jobs.Daily, TimeStandard: jobs.Duration(jobs.DefaultTimeStandard)}}}
	var mine []runlog.Record
	var lastBackup time.Time
	for _, r := range recs {
		if !r.Concerns(repoID) {
			continue
		}
		r.Job = name
		mine = append(mine, r)
		if r.Op == runlog.OpBackup && r.End.After(lastBackup) {
			lastBackup = r.End
		}
	}
	var newest *SnapshotInfo
	for i := range snaps {
		if newest == nil || snaps[i].Time.After(newest.Time) {
			newest = &snaps[i]
		}
	}
	if newest != nil && newest.Time.After(lastBackup) {
		mine = append(mine, runlog.Record{Op: runlog.OpBackup, Job: name, ID: "snapshot-" + short(newest.ID), RepositoryID: repoID,
			Start: newest.Time, End: newest.Time, Result: runlog.OK})
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].End.Before(mine[j].End) })
	// The plain commands' backups (runlog.TagManual) count: the
	// repository is the job.
	return compute(cfg, mine, now, true)
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
