package schedule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
)

func TestOnCalendar(t *testing.T) {
	for s, want := range map[jobs.Schedule]string{"": "*-*-* 02:30:00", jobs.Daily: "*-*-* 02:30:00",
		jobs.Weekly: "Mon *-*-* 02:30:00", jobs.Monthly: "*-*-01 02:30:00"} {
		if got, err := OnCalendar(s, "02:30"); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", s, got, err, want)
		}
	}
	if _, err := OnCalendar("hourly", "02:00"); err == nil {
		t.Error("an unknown schedule was accepted")
	}
	if _, err := OnCalendar(jobs.Daily, "25:00"); err == nil {
		t.Error("an impossible time was accepted")
	}
}

// TestUnitsVerify renders the units of a weekly job and has systemd
// check them (systemd-analyze verify, when installed): a service and a
// Persistent timer with a random delay, low priority, exit 3 a success.
func TestUnitsVerify(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "my config.toml") // a space, to test the quoting
	j := &jobs.Job{Name: "spse-prod", Description: "Database SPSE 100%", Schedule: jobs.Weekly, TimeStandard: jobs.Duration(3 * time.Hour)}
	u, err := Render(j, Options{Binary: exe, Config: cfg, At: "01:15"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=oneshot", `--config "` + cfg + `" run spse-prod`, "Nice=10", "IOSchedulingClass=idle", "CacheDirectory=cadang",
		"SuccessExitStatus=3", "TimeoutStartSec=43200"} {
		if !strings.Contains(u.ServiceText, want) {
			t.Errorf("service lacks %q:\n%s", want, u.ServiceText)
		}
	}
	for _, want := range []string{"OnCalendar=Mon *-*-* 01:15:00", "Persistent=true", "RandomizedDelaySec=1800", "Unit=cadang-backup-spse-prod.service", "WantedBy=timers.target"} {
		if !strings.Contains(u.TimerText, want) {
			t.Errorf("timer lacks %q:\n%s", want, u.TimerText)
		}
	}
	paths, err := Write(dir, u)
	if err != nil || len(paths) != 2 {
		t.Fatal(paths, err)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the units are not checked by systemd")
	}
	out, err := exec.Command(sa, "verify", paths[1], paths[0]).CombinedOutput()
	if err != nil || strings.Contains(string(out), "cadang-backup") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestRenderRefuses(t *testing.T) {
	if _, err := Render(&jobs.Job{Name: "a b"}, Options{Binary: "/usr/bin/cadang", Config: "/etc/c.toml"}); err == nil {
		t.Error("a job name with a space was accepted")
	}
	if _, err := Render(&jobs.Job{Name: "ab"}, Options{Binary: "cadang", Config: "/etc/c.toml"}); err == nil {
		t.Error("a relative binary was accepted")
	}
}

func TestNextRun(t *testing.T) {
	now := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC) // a Saturday
	for s, want := range map[jobs.Schedule]time.Time{
		jobs.Daily:   time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC),
		jobs.Weekly:  time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC),
		jobs.Monthly: time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC),
	} {
		if got, err := NextRun(s, "02:00", now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", s, got, err, want)
		}
	}
}
