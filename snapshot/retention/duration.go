package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a calendar span for Policy.Within, written as restic writes
// it: "30d", "2w", "1y2m3d4h". The units are y (years), m (MONTHS, not
// minutes), w (weeks of 7 days), d (days) and h (hours). Years, months and
// days are calendar units (time.AddDate in the planner's location), so
// "1m" back from 31 March is 3 March, not 30 days.
type Duration struct {
	Years, Months, Days, Hours int
}

// ParseDuration parses a Duration: one or more numbers, each followed by a
// unit y, m, w, d or h ("1y2m3d4h", "30d", "2w"). A unit may repeat; the
// parts are added. It rejects an empty string, negative numbers, a number
// without unit and unknown units; "m" is months, so "90m" is 90 months.
func ParseDuration(s string) (Duration, error) {
	var d Duration
	in := strings.TrimSpace(s)
	if in == "" {
		return d, fmt.Errorf("invalid duration %q: empty (use e.g. 30d, 2w, 1y2m3d4h)", s)
	}
	for in != "" {
		i := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == 0 {
			return Duration{}, fmt.Errorf("invalid duration %q: want a number before each unit (e.g. 30d, 2w, 1y2m3d4h)", s)
		}
		if i == len(in) {
			return Duration{}, fmt.Errorf("invalid duration %q: %s has no unit (y, m for months, w, d or h)", s, in)
		}
		n, err := strconv.Atoi(in[:i])
		if err != nil || n > 1_000_000 {
			return Duration{}, fmt.Errorf("invalid duration %q: %s is too large", s, in[:i])
		}
		switch in[i] {
		case 'y':
			d.Years += n
		case 'm':
			d.Months += n
		case 'w':
			d.Days += 7 * n
		case 'd':
			d.Days += n
		case 'h':
			d.Hours += n
		default:
			return Duration{}, fmt.Errorf("invalid duration %q: unknown unit %q (y, m for months, w, d or h)", s, in[i])
		}
		in = in[i+1:]
	}
	return d, nil
}

// DurationOf converts a time.Duration (such as a job's retention "within"
// from the SOP configuration) into whole days and hours; minutes and
// seconds are dropped.
func DurationOf(t time.Duration) Duration {
	h := int(t / time.Hour)
	return Duration{Days: h / 24, Hours: h % 24}
}

// IsZero reports whether d spans nothing.
func (d Duration) IsZero() bool { return d == Duration{} }

// String writes d in the form ParseDuration reads, largest unit first,
// omitting zero parts ("1y2m3d4h", "14d"); the zero Duration is "0h".
func (d Duration) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{d.Years, "y"}, {d.Months, "m"}, {d.Days, "d"}, {d.Hours, "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	if b.Len() == 0 {
		return "0h"
	}
	return b.String()
}

// Before returns t minus d: the years, months and days by the calendar of
// t's location, then the hours.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}
