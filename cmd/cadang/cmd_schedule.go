package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/schedule"
)

func scheduleCommand() *cli.Command {
	return &cli.Command{
		Name:  "schedule",
		Usage: "run the jobs on their schedule with systemd timers",
		Subcommands: []*cli.Command{{
			Name:      "install",
			Usage:     "write (and enable) a systemd service and timer for each job, or for the jobs named",
			ArgsUsage: "[JOB...]",
			Description: `Writes cadang-backup-JOB.service and cadang-backup-JOB.timer into --dir (default /etc/systemd/system;
it must exist: a missing one is refused, not created, as systemd reads only its own directories):
the service runs 'cadang --config CONFIG run JOB' with low CPU and I/O priority; the timer runs it on the
job's schedule (daily, weekly on Monday, monthly on the 1st) at --at, with a random delay, and Persistent=true
so that a run missed while the server was off happens at the next boot. Where systemd runs, the timers are
then enabled and started (not with --no-enable); 'cadang job schedule status' shows the next runs.
A missed run still shows in 'cadang status' and in the monthly report.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Value: schedule.DefaultDir, Usage: "write the units into `DIR`"},
				&cli.StringFlag{Name: "at", Value: "02:00", Usage: "time of day `HH:MM` of the runs (local time of the server)"},
				&cli.DurationFlag{Name: "random-delay", Value: 30 * time.Minute, Usage: "start up to `DURATION` after --at (0s: none)"},
				&cli.BoolFlag{Name: "no-enable", Usage: "only write the units; do not run systemctl"},
			},
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				st, err := e.loadSOP(true)
				if err != nil {
					return err
				}
				sel, err := selectJobs(st.cfg, c.Args().Slice())
				if err != nil {
					return err
				}
				bin, err := os.Executable()
				if err != nil {
					return fmt.Errorf("schedule: the path of this cadang: %w", err)
				}
				if r, err := filepath.EvalSymlinks(bin); err == nil {
					bin = r
				}
				cfg, err := filepath.Abs(st.cfg.Path)
				if err != nil || st.cfg.Path == "" {
					return fmt.Errorf("schedule: the configuration's path is not known (%v); give --config FILE", err)
				}
				if err := checkUnitDir(c.String("dir")); err != nil {
					return err
				}
				delay := c.Duration("random-delay")
				if delay == 0 {
					delay = -1 // none
				}
				var timers []string
				for _, j := range sel {
					u, err := schedule.Render(j, schedule.Options{Binary: bin, Config: cfg, At: c.String("at"), RandomDelay: delay})
					if err != nil {
						return fmt.Errorf("--at/--random-delay: %w", err)
					}
					paths, err := schedule.Write(c.String("dir"), u)
					if err != nil {
						return err
					}
					for _, p := range paths {
						fmt.Fprintln(e.stdout, st.termLang.T("term.wrote", p))
					}
					timers = append(timers, u.Timer)
				}
				if c.Bool("no-enable") || c.String("dir") != schedule.DefaultDir {
					fmt.Fprintln(e.stdout, st.termLang.T("term.sched_start", strings.Join(timers, " ")))
					return nil
				}
				if err := schedule.Enable(timers...); err != nil {
					if errors.Is(err, schedule.ErrNoSystemd) {
						fmt.Fprintln(e.stdout, st.termLang.T("term.sched_nosystemd", strings.Join(timers, " ")))
						return nil
					}
					return err
				}
				fmt.Fprintln(e.stdout, st.termLang.T("term.sched_enabled", strings.Join(timers, " ")))
				return nil
			},
		}, {
			Name:      "status",
			Usage:     "when each job's timer last ran and runs next",
			ArgsUsage: "[JOB...]",
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				st, err := e.loadSOP(true)
				if err != nil {
					return err
				}
				sel, err := selectJobs(st.cfg, c.Args().Slice())
				if err != nil {
					return err
				}
				var names []string
				for _, j := range sel {
					names = append(names, j.Name)
				}
				out, err := schedule.Status(names...)
				if errors.Is(err, schedule.ErrNoSystemd) {
					// Say what the timers would do, from the schedule alone.
					fmt.Fprintln(e.stdout, "systemd is not running here; by the configured schedules, at 02:00 without the random delay:")
					for _, j := range sel {
						next, err := schedule.NextRun(j.Schedule, "02:00", st.clock.Now())
						if err != nil {
							return err
						}
						fmt.Fprintf(e.stdout, "%s\t%s\tnext %s\n", j.Name, or(string(j.Schedule), "daily"), e.timeText(next))
					}
					return nil
				}
				if err != nil {
					return err
				}
				fmt.Fprint(e.stdout, out)
				return nil
			},
		}},
	}
}

// selectJobs returns the jobs named, or all of them.
func selectJobs(cfg *jobs.Config, names []string) ([]*jobs.Job, error) {
	var out []*jobs.Job
	if len(names) == 0 {
		for i := range cfg.Jobs {
			out = append(out, &cfg.Jobs[i])
		}
		return out, nil
	}
	for _, n := range names {
		j, err := cfg.Job(n)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// checkUnitDir refuses a --dir that is not an existing directory, before
// any unit is written. It does not create one: systemd reads units only
// from its own directories, which exist wherever it runs, so a missing
// one is most likely a mistyped path, and units written into a new
// directory there would never run while install said it wrote them.
func checkUnitDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--dir %s does not exist: systemd reads units from %s (or, for a user's units, ~/.config/systemd/user); check the path, or create the directory first if the units are meant to go there", dir, schedule.DefaultDir)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("--dir %s is not a directory: give the directory the units are to be written into", dir)
	}
	return nil
}
