// Package dataset generates a deterministic, LPSE-like server tree for
// benchmarking backup tools: a PostgreSQL plain-SQL dump, uploaded documents
// and application files, plus "day N" mutations of it.
//
// The same Config gives the same bytes (and the same file modes and
// modification times) on every run and every machine. Everything is derived
// from the seed with a fast counter-based PRNG, per row and per file, so the
// generator can work in parallel and a mutation can rewrite only the files
// that change.
//
// Layout of a generated tree:
//
//	db/spse.sql                        the plain-SQL dump (INSERT rows), ~30% of the bytes
//	dokumen/<year>/<paket>/<id>-...    uploaded documents, ~68% of the bytes
//	app/spse/...                       application code and configuration, ~2%
//	.gendata.json                      the generator's state (seed, scale, day)
package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Config selects a dataset. Two trees generated from equal Configs are
// byte-for-byte identical.
type Config struct {
	Seed  uint64  `json:"seed"`
	Scale float64 `json:"scale"` // 1.0 is about 1 GB; 0.1 about 100 MB

	// The mutation model of the dump. Zero values take the defaults below.
	ChangeFrac float64 `json:"change_frac"` // share of each table's rows changed per day (default 0.015)
	RecentFrac float64 `json:"recent_frac"` // the newest share of rows counted as "recent" (default 0.05)
	OldShare   float64 `json:"old_share"`   // share of changed rows picked outside the recent window (default 0.003)
	AppendFrac float64 `json:"append_frac"` // rows appended per table per day, as a share (default 0.003)
}

// Default mutation model.
const (
	DefaultChangeFrac = 0.015
	DefaultRecentFrac = 0.05
	DefaultOldShare   = 0.003
	DefaultAppendFrac = 0.003
)

// withDefaults fills in zero fields.
func (c Config) withDefaults() Config {
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.ChangeFrac == 0 {
		c.ChangeFrac = DefaultChangeFrac
	}
	if c.RecentFrac == 0 {
		c.RecentFrac = DefaultRecentFrac
	}
	if c.OldShare == 0 {
		c.OldShare = DefaultOldShare
	}
	if c.AppendFrac == 0 {
		c.AppendFrac = DefaultAppendFrac
	}
	return c
}

// scaled returns base*Scale rounded, at least min.
func (c Config) scaled(base float64, min int) int {
	v := int(math.Round(base * c.Scale))
	if v < min {
		v = min
	}
	return v
}

// Paths inside a generated tree.
const (
	DumpPath  = "db/spse.sql"
	StateFile = ".gendata.json"
)

// Fixed calendar: the history starts at histStart; day 0's dump is taken at
// day0, day N's N days later.
var (
	histStart = time.Date(2019, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	day0      = time.Date(2024, 6, 3, 2, 0, 0, 0, time.UTC).Unix()
	appDeploy = time.Date(2024, 3, 14, 10, 30, 0, 0, time.UTC).Unix()
)

func dayTime(day int) int64 { return day0 + int64(day)*86400 }

// DayTime is when day `day`'s dump is taken (day 0: 2024-06-03 02:00 UTC, a
// Monday; day N N days later): the time a benchmark gives that day's
// snapshot.
func DayTime(day int) time.Time { return time.Unix(dayTime(day), 0).UTC() }

// state is what StateFile holds.
type state struct {
	Format int    `json:"format"`
	Config Config `json:"config"`
	Day    int    `json:"day"`
}

const stateFormat = 1

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("%s is not a generated dataset (no %s); run gendata first", dir, StateFile)
		}
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", StateFile, err)
	}
	if st.Format != stateFormat {
		return st, fmt.Errorf("%s: unknown format %d", StateFile, st.Format)
	}
	return st, nil
}

func writeState(dir string, st state) error {
	st.Format = stateFormat
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, StateFile)
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return err
	}
	t := time.Unix(dayTime(st.Day), 0)
	return os.Chtimes(p, t, t)
}

// ReadConfig returns the Config and current day of a generated tree.
func ReadConfig(dir string) (Config, int, error) {
	st, err := readState(dir)
	return st.Config, st.Day, err
}
