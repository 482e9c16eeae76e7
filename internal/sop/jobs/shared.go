package jobs

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// SharedRotation is a set of jobs that back up onto one same medium (the
// same repository, one physical disk) with rotations that may part: at
// least one rotates in sequence, or their calendars differ.
type SharedRotation struct {
	Jobs       []string
	Repository string
	// Medium is the medium's name in the first job.
	Medium string
}

// String says what parts the rotations and what to set, for `job check`.
func (s SharedRotation) String() string {
	return fmt.Sprintf("jobs %s back up onto the same medium %s (%s) but their rotations may part: "+
		"in sequence, a failed run keeps its job on the same medium while the others move on, and the jobs then "+
		"want different disks on the same day; where one disk is connected a day, give every one of them "+
		"[job.rotation] mode = \"calendar\" with the same start and days",
		strings.Join(s.Jobs, ", "), s.Medium, s.Repository)
}

// SharedRotations returns the groups of jobs whose rotations over a shared
// medium may part (see SharedRotation). Jobs with one medium do not rotate
// and are left out.
func (c *Config) SharedRotations() []SharedRotation {
	type group struct {
		medium string
		jobs   []*Job
	}
	byRepo := map[string]*group{}
	var repos []string
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if len(j.Media) < 2 {
			continue
		}
		for _, m := range j.Media {
			g := byRepo[m.Repository]
			if g == nil {
				g = &group{medium: m.Name}
				byRepo[m.Repository] = g
				repos = append(repos, m.Repository)
			}
			if !slices.Contains(g.jobs, j) {
				g.jobs = append(g.jobs, j)
			}
		}
	}
	var out []SharedRotation
	seen := map[string]bool{}
	for _, r := range repos {
		g := byRepo[r]
		if len(g.jobs) < 2 || sameCalendar(g.jobs) {
			continue
		}
		var names []string
		for _, j := range g.jobs {
			names = append(names, j.Name)
		}
		key := strings.Join(names, "\x00")
		if seen[key] {
			continue // the same jobs share their other media too: said once
		}
		seen[key] = true
		out = append(out, SharedRotation{Jobs: names, Repository: r, Medium: g.medium})
	}
	return out
}

// sameCalendar reports whether every job rotates by the same calendar, so
// that they are due on the same medium every day whatever fails.
func sameCalendar(js []*Job) bool {
	for _, j := range js {
		if j.Rotation.Mode != "calendar" || !j.Rotation.Start.Equal(js[0].Rotation.Start) ||
			max(j.Rotation.Days, 1) != max(js[0].Rotation.Days, 1) || !sameMediaOrder(j, js[0]) {
			return false
		}
	}
	return true
}

func sameMediaOrder(a, b *Job) bool {
	if len(a.Media) != len(b.Media) {
		return false
	}
	for i := range a.Media {
		if a.Media[i].Repository != b.Media[i].Repository {
			return false
		}
	}
	return true
}

// DueApart returns, for a group of SharedRotations, the medium each of its
// jobs is due on at now when they are not all due on the same repository,
// as "job: medium" strings; nil when they agree. lastOK gives a job's last
// rotation medium (see run.LastRotationMedium).
func (c *Config) DueApart(s SharedRotation, lastOK func(job string) string, now time.Time) []string {
	var due []string
	repos := map[string]bool{}
	for _, n := range s.Jobs {
		j, err := c.Job(n)
		if err != nil {
			continue
		}
		m := j.Media[j.DueMedium(lastOK(n), now)]
		repos[m.Repository] = true
		due = append(due, n+": "+m.Name+" ("+m.Repository+")")
	}
	if len(repos) < 2 {
		return nil
	}
	return due
}
