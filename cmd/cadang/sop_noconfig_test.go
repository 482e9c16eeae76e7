package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestRestoreTestAndStatusWithoutConfig: an administrator with one
// repository and no job file gets the SOP's restore test and status for
// that repository (issue 15; both refused with "no configuration file").
// The test is recorded in the run log the command uses, which it names.
func TestRestoreTestAndStatusWithoutConfig(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	// Without -r there is nothing to test: say how to name one.
	if _, errs := bare(1, "restore-test"); !strings.Contains(errs, "no configuration file") || !strings.Contains(errs, "-r REPOSITORY") {
		t.Errorf("restore-test without configuration or -r: %s", errs)
	}
	if _, errs := bare(3, "status"); !strings.Contains(errs, "-r REPOSITORY") {
		t.Errorf("status without configuration or -r: %s", errs)
	}

	bare(0, append(repoArgs, "backup", "-q", h.src)...)
	bare(0, append(repoArgs, "backup", "-q", h.extra)...)
	out, errs := bare(0, append(repoArgs, "restore-test", "--sample", "3")...)
	if !strings.Contains(errs, "recorded in the run log "+log) || !strings.Contains(out, "restore") {
		t.Errorf("restore-test of a repository:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	var recs []runlog.Record
	js, _ := bare(0, "log", "--json")
	if err := json.Unmarshal([]byte(js), &recs); err != nil {
		t.Fatal(err)
	}
	rt := recs[len(recs)-1]
	if rt.Op != runlog.OpRestoreTest || rt.Result != runlog.OK || rt.RepositoryID == "" || rt.Test == nil || len(rt.Test.Items) != 3 {
		t.Fatalf("restore test record %+v", rt)
	}

	out, _ = bare(0, append(repoArgs, "status")...)
	if !strings.Contains(out, h.repoA) {
		t.Errorf("status of a repository:\n%s", out)
	}
	out, _ = bare(0, append(repoArgs, "status", "--format", "nagios")...)
	if !strings.HasPrefix(out, "CADANG OK") {
		t.Errorf("nagios: %s", out)
	}
	// Two days later nothing was backed up: critical; the restore test
	// is not yet due.
	t.Setenv(envNow, time.Now().Add(50*time.Hour).Format(time.RFC3339))
	out, _ = bare(2, append(repoArgs, "status", "--json")...)
	var rep struct {
		Jobs []struct {
			LastRestoreTest time.Time `json:"last_restore_test"`
			RestoreTestDue  time.Time `json:"restore_test_due"`
			Problems        []struct {
				What string `json:"what"`
			} `json:"problems"`
		} `json:"jobs"`
		Exit int `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Jobs) != 1 || rep.Exit != 2 || rep.Jobs[0].Problems[0].What != "backup-overdue" ||
		rep.Jobs[0].LastRestoreTest.IsZero() || rep.Jobs[0].RestoreTestDue.Sub(rep.Jobs[0].LastRestoreTest) != 90*24*time.Hour {
		t.Errorf("status two days on: %v\n%s", err, out)
	}
}

// bareCLI returns a runner of cadang with no configuration file and the
// run log at log, failing t unless a command exits with want.
func bareCLI(t *testing.T, log string) func(want int, args ...string) (stdout, stderr string) {
	return func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"cadang", "--log-file", log}, args...), strings.NewReader(""), &out, &errb)
		if code != want {
			t.Fatalf("cadang %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
}
