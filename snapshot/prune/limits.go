package prune

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lpse/cadang/internal/units"
)

// SetMaxUnused sets MaxUnused or MaxUnusedBytes from a limit written as
// restic's --max-unused takes it: a percentage of the used data ("5%",
// "0%": repack every pack with unused bytes), a size with a unit ("100M",
// "2GiB"), or "unlimited" (repack no pack for its unused bytes). A bare
// number other than 0 is refused: it is almost always a percentage whose
// % was left out, and read as bytes it would repack nearly every partly
// used pack. An empty s leaves the default (5%).
func (o *Options) SetMaxUnused(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil
	case strings.EqualFold(s, "unlimited"):
		o.MaxUnused, o.MaxUnusedBytes = 0, math.MaxInt64
		return nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f >= 0 && f <= 100) { // NaN fails both
			return fmt.Errorf("%q: a percentage is 0%% to 100%%", s)
		}
		o.MaxUnused, o.MaxUnusedBytes = f/100, 0
		if f == 0 {
			o.MaxUnusedBytes = 1 // repack everything that has unused bytes
		}
		return nil
	}
	n, err := sizeWithUnit(s, "10%", "500M")
	if err != nil {
		return err
	}
	o.MaxUnused, o.MaxUnusedBytes = 0, max(n, 1)
	return nil
}

// SetMaxRepackSize sets MaxRepackBytes from a size with a unit ("500M",
// "2G"); "0" or "" means no bound. A bare number other than 0 is refused,
// as in SetMaxUnused: read as bytes it would repack nothing.
func (o *Options) SetMaxRepackSize(s string) error {
	if strings.TrimSpace(s) == "" {
		o.MaxRepackBytes = 0
		return nil
	}
	n, err := sizeWithUnit(s, "", "2G")
	if err != nil {
		return err
	}
	o.MaxRepackBytes = n
	return nil
}

// sizeWithUnit parses a size that must carry a unit unless it is 0; the
// error suggests percent (when not empty) or size as what to write.
func sizeWithUnit(s, percent, size string) (int64, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f == 0 {
			return 0, nil
		}
		if percent != "" {
			return 0, fmt.Errorf("%q has no unit: write a percentage (%s) or a size with a unit (%s); a bare number would be bytes", s, percent, size)
		}
		return 0, fmt.Errorf("%q has no unit: write a size with a unit (%s); a bare number would be bytes", s, size)
	}
	n, err := units.ParseSize(s)
	if err != nil {
		if percent != "" {
			return 0, fmt.Errorf("%q: write a percentage (%s), a size with a unit (%s) or unlimited", s, percent, size)
		}
		return 0, fmt.Errorf("%q: write a size with a unit (%s)", s, size)
	}
	return n, nil
}
