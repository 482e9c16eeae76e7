package runlog

import (
	"fmt"
	"strings"
)

// The failures of a restore test, as Record.Errors says them: in English
// (Errors holds a run's first errors as text, for the failure report and
// the notifications). The restore-test minutes show the same facts in their
// tables, in the document's language, and list only the errors those
// tables do not say (TestInfo.Said). Each sentence is made here, once, so
// that what restoretest writes and what the minutes recognise stay alike.

// ItemFailure is the error of a file of the sample that was not restored
// intact.
func ItemFailure(it TestItem) string {
	return fmt.Sprintf("%s in %s: %s", it.Path, it.Snapshot, it.Error)
}

// SnapshotRestoreFailure is the error of a snapshot whose restore failed
// as a whole; each of its files is an item with that error.
func SnapshotRestoreFailure(snapshot, err string) string {
	return fmt.Sprintf("restore of snapshot %s failed: %s", snapshot, err)
}

// CommandFailure is the error of a verify command that failed.
func CommandFailure(c CommandRun) string {
	return fmt.Sprintf("verify command %s failed (exit %d)", strings.Join(c.Command, " "), c.ExitCode)
}

// NoServerFailure is the error of a source whose dumps had no PostgreSQL
// server to load into (dt is the row that says so).
func NoServerFailure(dt DatabaseTest) string {
	return fmt.Sprintf("source %s: no PostgreSQL server to load into: %s", dt.Source, dt.Error)
}

// NotLoadedFailure is the error of a dump that was not loaded into dt.Server
// (a plain script, which only a throwaway server takes).
func NotLoadedFailure(dt DatabaseTest) string {
	return fmt.Sprintf("%s in %s: not loaded into %s: %s", dt.File, dt.Snapshot, dt.Server, dt.Error)
}

// CreateFailure is the error of a scratch database that could not be
// created.
func CreateFailure(dt DatabaseTest) string {
	return fmt.Sprintf("%s in %s: scratch database %s on %s: %s", dt.File, dt.Snapshot, dt.Scratch, dt.Server, dt.Error)
}

// LoadFailure is the error of a dump that does not load.
func LoadFailure(dt DatabaseTest) string {
	return fmt.Sprintf("%s in %s does not load into a database: %s", dt.File, dt.Snapshot, dt.Error)
}

// TablesFailure is the error of a loaded database whose tables could not
// be listed.
func TablesFailure(dt DatabaseTest) string {
	return fmt.Sprintf("%s: the tables of the restored database could not be listed: %s", dt.File, dt.Error)
}

// MissingTablesFailure is the error of a loaded database that lacks some
// of the dump's tables.
func MissingTablesFailure(dt DatabaseTest) string {
	return fmt.Sprintf("%s: %d of the dump's %d tables are missing after the load: %s", dt.File,
		len(dt.MissingTables), dt.Tables, strings.Join(dt.MissingTables, ", "))
}

// CheckFailure is the error of a check query whose answer was not the one
// wanted.
func CheckFailure(dt DatabaseTest, c CheckRun) string {
	suffix := ""
	if c.Error != "" {
		suffix = " (" + c.Error + ")"
	}
	return fmt.Sprintf("check %q on %s of %s: got %q, want %q%s", c.Query, dt.Database, dt.Snapshot, c.Got, c.Want, suffix)
}

// NoRecordedValue is the error of a check that compares with the source
// when the run log has no value of the query from the time of the backup;
// the minutes say it in their own language.
const NoRecordedValue = "no value of this query was recorded when the snapshot was made (the check was added later, or the backup record is not in the run log)"

// shortText is how long an error may be for a table cell to hold it whole:
// the minutes bound the lines of their database and check cells, and an
// external program's error (pg_restore's last lines) would be cut there.
const shortText = 40

// fits reports whether a table cell shows the error e whole.
func fits(e string) bool {
	return len([]rune(e)) <= shortText && !strings.ContainsAny(e, "\r\n")
}

// Said returns the errors of a restore test that its tables say: the
// files, the verify commands, and the databases and checks that failed
// with an error short enough for its cell. What they do not say whole (a
// long error of pg_restore, a scratch database left behind, the errors of
// records older than these sentences) stays for the list of errors.
func (t *TestInfo) Said() map[string]bool {
	said := map[string]bool{}
	if t == nil {
		return said
	}
	for _, it := range t.Items {
		if !it.OK {
			said[ItemFailure(it)] = true
			said[SnapshotRestoreFailure(it.Snapshot, it.Error)] = true
		}
	}
	for _, c := range t.Commands {
		if !c.OK {
			said[CommandFailure(c)] = true
		}
	}
	for _, dt := range t.Databases {
		if dt.Error != "" && fits(dt.Error) {
			for _, s := range []string{NoServerFailure(dt), NotLoadedFailure(dt), CreateFailure(dt), LoadFailure(dt), TablesFailure(dt)} {
				said[s] = true
			}
		}
		if len(dt.MissingTables) > 0 && fits(strings.Join(dt.MissingTables, ", ")) {
			said[MissingTablesFailure(dt)] = true
		}
		for _, c := range dt.Checks {
			if !c.OK && (c.Error == "" || c.Error == NoRecordedValue || fits(c.Error)) {
				said[CheckFailure(dt, c)] = true
			}
		}
	}
	return said
}
