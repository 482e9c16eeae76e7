// Package monitor writes what monitoring systems read about the SOP jobs:
// a Prometheus textfile-collector file (node_exporter's
// --collector.textfile.directory), rewritten after every recorded run.
//
// The figures come from the run log (through package status), so the file
// says the same as 'cadang status' and the documents: the last successful
// backup, its duration and the bytes it added, failures by kind, the age of
// the last restore test and of the last offsite copy, and each job's state.
package monitor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
)

// Textfile renders the metrics of every job of c at now. health is what
// the run log says of itself (runlog.Log.Health), which each job's state
// counts as 'cadang status' does.
func Textfile(c *jobs.Config, recs []runlog.Record, health []runlog.Finding, now time.Time) []byte {
	rep := status.Compute(c, recs, now)
	rep.AddRunLog(health, recs)
	var b bytes.Buffer
	metric := func(name, help, typ string, rows func(add func(labels string, v float64))) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		rows(func(labels string, v float64) {
			if labels == "" {
				fmt.Fprintf(&b, "%s %s\n", name, formatValue(v))
				return
			}
			fmt.Fprintf(&b, "%s{%s} %s\n", name, labels, formatValue(v))
		})
	}
	jobLabel := func(j string) string { return `job="` + escape(j) + `"` }
	metric("cadang_last_success_timestamp_seconds", "Unix time of the end of the job's last successful (ok or partial) backup.", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			if !j.LastSuccessAt.IsZero() {
				add(jobLabel(j.Name), float64(j.LastSuccessAt.Unix()))
			}
		}
	})
	metric("cadang_last_backup_duration_seconds", "Duration of the job's last backup.", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			if j.LastBackup != nil {
				add(jobLabel(j.Name), j.LastBackup.Duration().Seconds())
			}
		}
	})
	metric("cadang_last_backup_added_bytes", "Bytes the job's last backup added to its medium.", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			if j.LastBackup != nil {
				add(jobLabel(j.Name), float64(j.LastBackup.BytesAdded))
			}
		}
	})
	metric("cadang_last_backup_ok", "1 when the job's last backup ended ok, 0 otherwise (failed or partial).", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			if j.LastBackup != nil {
				add(jobLabel(j.Name), boolValue(j.LastBackup.Result == runlog.OK))
			}
		}
	})
	failures := map[[2]string]int{}
	for i := range recs {
		r := &recs[i]
		if r.Job != "" && r.Result != runlog.OK && r.Result != "" && r.Op != runlog.OpFollowup {
			kind := string(r.Failure)
			if kind == "" {
				kind = string(r.Result)
			}
			failures[[2]string{r.Job, kind}]++
		}
	}
	keys := make([][2]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a][0] != keys[b][0] {
			return keys[a][0] < keys[b][0]
		}
		return keys[a][1] < keys[b][1]
	})
	metric("cadang_failures_total", "Runs of the job that did not end ok, by failure kind, in the run log.", "counter", func(add func(string, float64)) {
		for _, k := range keys {
			add(jobLabel(k[0])+`,kind="`+escape(k[1])+`"`, float64(failures[k]))
		}
	})
	metric("cadang_restore_test_age_seconds", "Seconds since the job's last successful restore test (SOP step 4).", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			// No age for a test after now: the clock stepped back
			// (the state says clock-behind).
			if !j.LastRestoreTest.IsZero() && !j.LastRestoreTest.After(now) {
				add(jobLabel(j.Name), now.Sub(j.LastRestoreTest).Seconds())
			}
		}
	})
	metric("cadang_offsite_last_copy_timestamp_seconds", "Unix time of the job's last successful copy to its offsite medium.", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			if j.Offsite != nil && !j.Offsite.LastCopyAt.IsZero() {
				add(jobLabel(j.Name), float64(j.Offsite.LastCopyAt.Unix()))
			}
		}
	})
	metric("cadang_job_state", "The job's state as 'cadang status' gives it: 0 ok, 1 warning, 2 critical.", "gauge", func(add func(string, float64)) {
		for _, j := range rep.Jobs {
			add(jobLabel(j.Name), float64(j.Level))
		}
	})
	metric("cadang_textfile_written_timestamp_seconds", "Unix time this file was written.", "gauge", func(add func(string, float64)) {
		add("", float64(now.Unix()))
	})
	return b.Bytes()
}

// WriteTextfile writes the metrics to path whole (a temporary file in the
// same directory, then a rename), so node_exporter never reads half a
// file, with mode 0644 for the exporter's user.
func WriteTextfile(path string, c *jobs.Config, recs []runlog.Record, health []runlog.Finding, now time.Time) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".cadang-*.prom.tmp")
	if err != nil {
		return fmt.Errorf("monitoring textfile %s: %w", path, err)
	}
	_, err = f.Write(Textfile(c, recs, health, now))
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("monitoring textfile %s: %w", path, err)
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func formatValue(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.3f", v)
}

// escape escapes a label value as the text format requires.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
