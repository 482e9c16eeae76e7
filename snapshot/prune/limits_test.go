package prune_test

import (
	"math"
	"strings"
	"testing"

	"github.com/lpse/cadang/snapshot/prune"
)

func TestSetMaxUnused(t *testing.T) {
	for _, tc := range []struct {
		in    string
		share float64
		bytes int64
		err   string
	}{
		{in: "", share: 0, bytes: 0},
		{in: "5%", share: 0.05},
		{in: " 10% ", share: 0.10},
		{in: "0%", share: 0, bytes: 1},
		{in: "0", share: 0, bytes: 1},
		{in: "100M", bytes: 100 << 20},
		{in: "1.5GiB", bytes: 3 << 29},
		{in: "unlimited", bytes: math.MaxInt64},
		{in: "10", err: `"10" has no unit: write a percentage (10%) or a size with a unit (500M)`},
		{in: "1073741824", err: "has no unit"},
		{in: "150%", err: "0% to 100%"},
		{in: "NaN%", err: "0% to 100%"},
		{in: "lots", err: "or unlimited"},
	} {
		var o prune.Options
		err := o.SetMaxUnused(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case o.MaxUnused != tc.share || o.MaxUnusedBytes != tc.bytes:
			t.Errorf("%q: MaxUnused %v, MaxUnusedBytes %d; want %v, %d", tc.in, o.MaxUnused, o.MaxUnusedBytes, tc.share, tc.bytes)
		}
	}
}

func TestSetMaxRepackSize(t *testing.T) {
	for _, tc := range []struct {
		in    string
		bytes int64
		err   string
	}{
		{in: "", bytes: 0},
		{in: "0", bytes: 0},
		{in: "2G", bytes: 2 << 30},
		{in: "500", err: `"500" has no unit: write a size with a unit (2G)`},
		{in: "10%", err: "write a size with a unit"},
	} {
		var o prune.Options
		err := o.SetMaxRepackSize(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case o.MaxRepackBytes != tc.bytes:
			t.Errorf("%q: MaxRepackBytes %d, want %d", tc.in, o.MaxRepackBytes, tc.bytes)
		}
	}
}
