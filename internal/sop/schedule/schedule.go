// Package schedule makes the systemd units that run a job's SOP backup
// (`cadang run JOB`) on its schedule: a oneshot service and a timer.
//
// The timer is Persistent, so a run missed while the machine was off
// happens at the next boot; it has a randomised delay, so that jobs (and
// servers) do not all start at the same second; the service runs with a
// low CPU and I/O priority, so the backup does not slow the SPSE service
// it protects. cadang records every run itself: exit code 3 (partial) is
// a success to systemd, since the run log and the failure report already
// say what was partial.
package schedule

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
)

// Options say how the units run cadang.
type Options struct {
	// Binary is the absolute path of the cadang executable.
	Binary string
	// Config is the absolute path of the SOP configuration.
	Config string
	// At is the time of day of the run, "HH:MM" (default 02:00, the
	// SOP's night window).
	At string
	// RandomDelay spreads the start over this much time after At
	// (default 30 minutes; 0 takes the default, a negative value none).
	RandomDelay time.Duration
}

// DefaultDir is where systemd reads units installed by the administrator.
const DefaultDir = "/etc/systemd/system"

// Units are the two unit files of one job.
type Units struct {
	// Service and Timer are the unit names (cadang-backup-JOB.service and
	// .timer); ServiceText and TimerText their contents.
	Service, ServiceText string
	Timer, TimerText     string
}

// UnitBase returns the name the units of job share, without suffix.
func UnitBase(job string) string { return "cadang-backup-" + job }

// validName reports whether a job name can be used in a unit name as it
// is; systemd's escaping would make names that an administrator does not
// recognise in 'systemctl list-timers'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// OnCalendar returns the systemd calendar expression of a schedule at the
// time of day at ("HH:MM").
func OnCalendar(s jobs.Schedule, at string) (string, error) {
	t, err := time.Parse("15:04", at)
	if err != nil {
		return "", fmt.Errorf("time of day %q: want HH:MM", at)
	}
	hm := t.Format("15:04") + ":00"
	switch s {
	case "", jobs.Daily:
		return "*-*-* " + hm, nil
	case jobs.Weekly:
		return "Mon *-*-* " + hm, nil
	case jobs.Monthly:
		return "*-*-01 " + hm, nil
	}
	return "", fmt.Errorf("schedule %q: want daily, weekly or monthly", s)
}

// quote quotes an ExecStart argument for systemd when it needs it.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// Render returns the units of job j.
func Render(j *jobs.Job, o Options) (Units, error) {
	if !validName(j.Name) {
		return Units{}, fmt.Errorf("job %q: a name of letters, digits, '-', '_' and '.' is needed for its systemd units", j.Name)
	}
	if !filepath.IsAbs(o.Binary) || !filepath.IsAbs(o.Config) {
		return Units{}, fmt.Errorf("the cadang binary (%q) and the configuration (%q) must be absolute paths", o.Binary, o.Config)
	}
	if o.At == "" {
		o.At = "02:00"
	}
	cal, err := OnCalendar(j.Schedule, o.At)
	if err != nil {
		return Units{}, fmt.Errorf("job %s: %w", j.Name, err)
	}
	delay := o.RandomDelay
	if delay == 0 {
		delay = 30 * time.Minute
	}
	if delay < 0 {
		delay = 0
	}
	// A run may take several times its standard before something is
	// wrong; systemd stops it after four (the run log then records it
	// as interrupted).
	limit := 4 * j.TimeStandard.D()
	if limit <= 0 {
		limit = 4 * jobs.DefaultTimeStandard
	}
	base := UnitBase(j.Name)
	u := Units{Service: base + ".service", Timer: base + ".timer"}
	desc := j.Description
	if desc == "" {
		desc = j.Name
	}
	u.ServiceText = fmt.Sprintf(`# Written by 'cadang job schedule install'; see 'cadang help job'.
[Unit]
Description=cadang SOP backup of job %[1]s (%[2]s)
Wants=network-online.target
After=network-online.target local-fs.target

[Service]
Type=oneshot
ExecStart=%[3]s --config %[4]s run %[1]s
# The backup must not slow the service it protects.
Nice=10
IOSchedulingClass=idle
CPUSchedulingPolicy=batch
# 3: partial (some files unreadable, or the offsite copy failed); cadang
# records it and reports it itself.
SuccessExitStatus=3
TimeoutStartSec=%[5]ds
# /var/cache/cadang ($CACHE_DIRECTORY): where a backup killed mid-run
# leaves the resume record its next run uses.
CacheDirectory=cadang
`, j.Name, strings.ReplaceAll(desc, "%", "%%"), quote(o.Binary), quote(o.Config), int64(limit.Seconds()))
	u.TimerText = fmt.Sprintf(`# Written by 'cadang job schedule install'; see 'cadang help job'.
[Unit]
Description=cadang SOP backup of job %[1]s, %[2]s at %[3]s

[Timer]
OnCalendar=%[4]s
# A run missed while the machine was off happens at the next boot.
Persistent=true
RandomizedDelaySec=%[5]ds
Unit=%[6]s

[Install]
WantedBy=timers.target
`, j.Name, or(string(j.Schedule), "daily"), o.At, cal, int64(delay.Seconds()), u.Service)
	return u, nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Write writes the units into dir, each file whole or not at all
// (a temporary name, then a rename), mode 0644 as systemd expects.
func Write(dir string, u Units) ([]string, error) {
	var paths []string
	for _, f := range []struct{ name, text string }{{u.Service, u.ServiceText}, {u.Timer, u.TimerText}} {
		p := filepath.Join(dir, f.name)
		tmp := p + ".cadang-tmp"
		if err := os.WriteFile(tmp, []byte(f.text), 0o644); err != nil {
			return paths, fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			os.Remove(tmp)
			return paths, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// SystemdRunning reports whether this machine runs systemd (whether
// systemctl can act now).
func SystemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// ErrNoSystemd is returned by Enable and Status where systemd is not
// running.
var ErrNoSystemd = errors.New("systemd is not running on this machine")

// Enable reloads systemd and enables and starts the timers.
func Enable(timers ...string) error {
	if !SystemdRunning() {
		return ErrNoSystemd
	}
	if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
		return fmt.Errorf("systemctl daemon-reload: %v: %s", err, strings.TrimSpace(string(out)))
	}
	args := append([]string{"enable", "--now"}, timers...)
	if out, err := exec.Command("systemctl", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Status returns what systemd says of the timers of the jobs: their last
// and next run.
func Status(jobNames ...string) (string, error) {
	if !SystemdRunning() {
		return "", ErrNoSystemd
	}
	args := []string{"list-timers", "--all", "--no-pager"}
	for _, j := range jobNames {
		args = append(args, UnitBase(j)+".timer")
	}
	if len(jobNames) == 0 {
		args = append(args, "cadang-backup-*")
	}
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// NextRun returns when the timer of a schedule at the time of day would
// elapse next after now, without systemd: the time without its random
// delay (for a machine where systemd is not running yet, or a test).
func NextRun(s jobs.Schedule, at string, now time.Time) (time.Time, error) {
	t, err := time.Parse("15:04", at)
	if err != nil {
		return time.Time{}, fmt.Errorf("time of day %q: want HH:MM", at)
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
	for i := 0; i < 400; i++ {
		c := day.AddDate(0, 0, i)
		if !c.After(now) {
			continue
		}
		switch s {
		case jobs.Weekly:
			if c.Weekday() != time.Monday {
				continue
			}
		case jobs.Monthly:
			if c.Day() != 1 {
				continue
			}
		}
		return c, nil
	}
	return time.Time{}, fmt.Errorf("schedule %q: no next run found", s)
}
