package run_test

import (
	"context"
	"slices"
	"testing"

	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestBackupRecordsDatabasesAndChecks: what a databases source dumped, and
// the compare = "source" check values taken in the dump's snapshot, go
// into the backup's record (locally and in the repository), where a later
// restore test finds them (issue 15).
func TestBackupRecordsDatabasesAndChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.bay.Connect(e.a)
	checks := []runlog.CheckValue{{Database: "epns_prod", Query: "SELECT count(*) FROM tender", Value: "4211"}}
	e.bk.Results = map[string]run.BackupResult{"database": {Snapshot: "aa", Databases: []string{"epns_prod", "helpdesk"}, Checks: checks}}
	out, err := e.r.Backup(ctx, "spse-prod", run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []runlog.Record{out.Record, records(t, e.bay.Repo(e.a))[0]} {
		s := rec.Sources[0]
		if !slices.Equal(s.Databases, []string{"epns_prod", "helpdesk"}) || len(s.Checks) != 1 || s.Checks[0] != checks[0] {
			t.Errorf("source record %+v", s)
		}
	}
}
