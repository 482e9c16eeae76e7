package restoretest

import (
	"fmt"
	"strings"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// Tally counts the checks of a restore test from its record, as the
// restore test report lists them, so that the summary "N of M checks"
// adds up from the report: each file restored and compared byte for byte
// (the sampled files and the dump files), each verify command run, each
// database dump to load into a scratch database (a check of its own:
// it loads, with all the tables it creates), and each check query. A dump
// that could not be loaded for want of a database to load it into (no
// server, no scratch database created, a plain script kept off the
// source's server) is a check not carried out, not a failed one. The
// globals of a databases source are no check of their own (their file is
// compared like any other); a scratch database left behind is no check
// either, and is counted apart.
type Tally struct {
	Files, FilesOK       int
	Commands, CommandsOK int
	Dumps, DumpsOK       int
	DumpsNotDone         int
	Queries, QueriesOK   int
	Left                 int // scratch databases created and not dropped
}

// Checks is the number of checks.
func (c Tally) Checks() int { return c.Files + c.Commands + c.Dumps + c.Queries }

// Passed is the number of checks that passed.
func (c Tally) Passed() int { return c.FilesOK + c.CommandsOK + c.DumpsOK + c.QueriesOK }

// NotDone is the number of checks that could not be carried out.
func (c Tally) NotDone() int { return c.DumpsNotDone }

// Failed is the number of checks carried out that failed.
func (c Tally) Failed() int { return c.Checks() - c.Passed() - c.NotDone() }

// Count tallies the checks of a test; errs are its record's errors (see
// ScratchNotCreated).
func Count(t *runlog.TestInfo, errs []string) Tally {
	var c Tally
	if t == nil {
		return c
	}
	for _, it := range t.Items {
		c.Files++
		if it.OK {
			c.FilesOK++
		}
	}
	for _, cr := range t.Commands {
		c.Commands++
		if cr.OK {
			c.CommandsOK++
		}
	}
	for _, dt := range t.Databases {
		if dt.Globals {
			continue
		}
		c.Dumps++
		switch {
		case DumpLoaded(dt):
			c.DumpsOK++
		case DumpNotDone(dt, errs):
			c.DumpsNotDone++
		}
		if dt.Scratch != "" && !dt.Dropped && !ScratchNotCreated(dt, errs) {
			c.Left++
		}
		for _, q := range dt.Checks {
			c.Queries++
			if q.OK {
				c.QueriesOK++
			}
		}
	}
	return c
}

// DumpLoaded reports whether a dump loaded into its scratch database with
// every table it creates (its check queries are checks of their own).
func DumpLoaded(dt runlog.DatabaseTest) bool {
	return dt.Loaded && dt.Error == "" && len(dt.MissingTables) == 0
}

// DumpNotDone reports whether a dump was not loaded for want of a database
// to load it into: no server (a row of its own, without a file), no
// scratch database created, or a plain script kept off the source's
// server.
func DumpNotDone(dt runlog.DatabaseTest, errs []string) bool {
	return !dt.Globals && !dt.Loaded && (dt.Scratch == "" || ScratchNotCreated(dt, errs))
}

// ScratchNotCreated reports whether the scratch database of dt was never
// created: a record names a scratch database only once it exists, but
// older records named it before its create, which then failed; their
// errs say so.
func ScratchNotCreated(dt runlog.DatabaseTest, errs []string) bool {
	if dt.Globals || dt.Loaded || dt.Server == "" {
		return false
	}
	if dt.Scratch == "" {
		return true
	}
	old := fmt.Sprintf("scratch database %s on %s, whose create failed", dt.Scratch, dt.Server)
	for _, x := range errs {
		if x == runlog.CreateFailure(dt) || strings.HasPrefix(x, old) {
			return true
		}
	}
	return false
}
