package status

import (
	"sort"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// RestoreTestDue is the SOP's rule for when a job's next restore test is
// due (step 4: at least once every three months): interval after
// lastTest, the end of the last restore test that succeeded. A failed
// test is not a test done, so it moves nothing: the test it was to be is
// still due when it was. Without a successful test, the count starts at
// the job's first successful backup, else at activeSince, else at now.
// Both `cadang status` (Compute) and the restore test's report
// (NextRestoreTest) use it.
func RestoreTestDue(interval time.Duration, lastTest, firstBackup, activeSince, now time.Time) time.Time {
	if interval <= 0 {
		interval = jobs.DefaultRestoreTestInterval
	}
	base := lastTest
	if base.IsZero() {
		base = firstBackup
	}
	if base.IsZero() {
		base = activeSince
	}
	if base.IsZero() {
		base = now
	}
	return base.Add(interval)
}

// NextRestoreTest returns when the restore test after test is due, as
// status says it right after test: RestoreTestDue from the records that
// ended by test's end (test included). A test of a repository outside the
// configuration (no job, or one no longer configured) is reckoned as
// ComputeRepository reckons it, from the records about its repository.
func NextRestoreTest(c *jobs.Config, test runlog.Record, recs []runlog.Record) time.Time {
	var upTo []runlog.Record
	seen := false
	for _, x := range recs {
		if x.ID == test.ID {
			seen = true
		}
		if !x.End.After(test.End) {
			upTo = append(upTo, x)
		}
	}
	if !seen {
		upTo = append(upTo, test)
	}
	sort.SliceStable(upTo, func(i, j int) bool { return upTo[i].End.Before(upTo[j].End) })
	var interval time.Duration
	if c != nil {
		interval = c.RestoreTest.Interval.D()
		if j, err := c.Job(test.Job); test.Job != "" && err == nil {
			one := *c
			one.Jobs = []jobs.Job{*j}
			return Compute(&one, upTo, test.End).Jobs[0].RestoreTestDue
		}
	}
	return ComputeRepository(test.Repository, test.RepositoryID, upTo, nil, interval, test.End).Jobs[0].RestoreTestDue
}
