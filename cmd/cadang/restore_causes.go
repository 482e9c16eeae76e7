package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/snapshot/restorer"
)

// causesShown is how many causes a restore's closing line names: what an
// administrator must fix first, not every error again.
const causesShown = 3

// checkTarget refuses a --target that exists and is no directory before
// anything is opened: a mistake in the command line, which names nothing
// to do (like a mistyped snapshot ID), so no failed run is recorded.
func checkTarget(target string) error {
	// The nearest part of the path that exists: --target file/sub is
	// the same mistake as --target file.
	p := filepath.Clean(target)
	st, err := os.Stat(p)
	for (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && filepath.Dir(p) != p {
		p = filepath.Dir(p)
		st, err = os.Stat(p)
	}
	if err != nil || st.IsDir() {
		return nil // made where missing; unreadable: the restore says why
	}
	if p != filepath.Clean(target) {
		return fmt.Errorf("--target %s: %s is a file, not a directory; %s", target, p, errclass.TargetHint(syscall.ENOTDIR))
	}
	return fmt.Errorf("--target %s: is a file, not a directory; %s", target, errclass.TargetHint(syscall.ENOTDIR))
}

// targetError names --target in the error of a target the restore could
// not make or open; errclass gives its hint.
func targetError(err error) error {
	var te *restorer.TargetError
	if !errors.As(err, &te) {
		return err
	}
	err = fmt.Errorf("--target %s: %w", te.Target, err)
	if errno := syscall.Errno(0); errors.As(err, &errno) && notWritable(errno) {
		// Not the source's permissions (KindOf's guess for EACCES).
		return runlog.Fail(runlog.KindTargetNotWritable, err)
	}
	return err
}

// notWritable reports whether errno says that the restore may not write
// to the target: read-only, or not permitted.
func notWritable(errno syscall.Errno) bool {
	return errno == syscall.EROFS || errno == syscall.EACCES || errno == syscall.EPERM
}

// causeText says one cause of a restore's errors, with what to do about
// it where the target as a whole is at fault.
func causeText(c restorer.Cause) string {
	switch {
	case c.Damaged:
		return "data the repository could not give ('cadang check --read-data' shows the damage)"
	case c.InTheWay:
		// --overwrite always replaces a file or symlink in the way of
		// a directory; no mode removes a directory in the way of a file.
		return "entry/entries in the way, left as they are (move them aside, or restore into another directory; --overwrite always replaces a file or symlink in the way of a directory, never a directory)"
	case c.Errno == 0:
		return "other error(s)"
	}
	if h := errclass.TargetHint(c.Errno); h != "" {
		return fmt.Sprintf("%s (%s)", c.Errno.Error(), h)
	}
	return c.Errno.Error()
}

// causesText counts a restore's errors by cause, the most frequent
// first: "288 no space left on device (...), 2 permission denied".
func causesText(causes []restorer.Cause) string {
	var parts []string
	var rest uint64
	for i, c := range causes {
		if i >= causesShown {
			rest += c.Count
			continue
		}
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, causeText(c)))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%d of other causes", rest))
	}
	return strings.Join(parts, ", ")
}

// restoreFailureKind is the SOP failure kind of an incomplete restore: a
// damaged backup is an integrity failure; a full target is out of space
// when that is the most frequent cause; any other fault of the target
// (a read-only target, permissions) is target-not-writable when that is
// the most frequent cause; the rest (an entry in the way) is other, and
// the monthly analysis must not count any of it as damage.
func restoreFailureKind(res *restoreResult) runlog.FailureKind {
	switch {
	case res.damaged > 0:
		return runlog.KindIntegrity
	case res.stoppedBy == syscall.ENOSPC || res.stoppedBy == syscall.EDQUOT:
		return runlog.KindOutOfSpace
	case res.stoppedBy == syscall.EROFS:
		return runlog.KindTargetNotWritable
	case len(res.causes) > 0 && (res.causes[0].Errno == syscall.ENOSPC || res.causes[0].Errno == syscall.EDQUOT):
		return runlog.KindOutOfSpace
	case len(res.causes) > 0 && notWritable(res.causes[0].Errno):
		return runlog.KindTargetNotWritable
	}
	return runlog.KindOther
}

// nothingRestored reports whether an incomplete restore left no entry of
// the snapshot but directories in the target: no file written, linked or
// kept, no symlink or node made. That is a failed restore (exit 1), not a
// partial one (exit 3, "some files could not be restored"). Directories
// made count only where the snapshot has nothing but directories to
// restore: entries refused because something is in the way are errors,
// not failed files, and the directories above them are no restore. A
// dry run judges as before, by what failed.
func nothingRestored(res *restoreResult) bool {
	if res.FilesRestored+res.Hardlinks+res.OthersRestored+res.FilesSkipped != 0 {
		return false
	}
	if res.DryRun {
		return len(res.FailedFiles) > 0 || res.FilesNotTried > 0 || res.DirsRestored == 0
	}
	return res.entries > 0 || res.DirsRestored == 0
}

// filesNotRestored counts the files a restore could not restore: those
// that failed and those it did not try once their file system stopped
// taking files.
func filesNotRestored(res *restoreResult) int {
	return len(res.FailedFiles) + int(res.FilesNotTried)
}

// errorsByCause introduces the causes of a restore's errors, counted in
// errors: one per entry of Errors. Where they are not all errors of the
// files not restored (a directory that could not be made, a symlink, a
// metadata error), it says how many are which, so that "306 read-only
// file system" after "303 file(s) could not be restored" adds up.
func errorsByCause(res *restoreResult) string {
	failed := map[string]bool{}
	for _, f := range res.FailedFiles {
		failed[f] = true
	}
	var files int
	for _, ie := range res.Errors {
		if failed[ie.Path] {
			files++
		}
	}
	all := len(res.Errors)
	if files == all {
		return "errors by cause: "
	}
	parts := []string{fmt.Sprintf("%d of files not restored", files)}
	if res.failedDirs > 0 {
		parts = append(parts, fmt.Sprintf("%d of directories not restored", res.failedDirs))
	}
	if rest := all - files - int(res.failedDirs); rest > 0 {
		parts = append(parts, fmt.Sprintf("%d of other entries or metadata", rest))
	}
	if files == 0 {
		parts = parts[1:]
	}
	return fmt.Sprintf("%d errors (%s) by cause: ", all, strings.Join(parts, ", "))
}

// incompleteError is the error of a restore that ended with
// restorer.ErrRestoreIncomplete: what failed, why (the causes, most
// frequent first, with what to do), and what was done. A restore that
// restored nothing failed; one that restored some is partial. listed
// says where the entries are listed: on stderr above, or in the JSON
// summary (--json).
func incompleteError(res *restoreResult, o restoreOptions, listed string) error {
	// A damaged tree fails its directory, not a file: count what
	// failed, and do not claim a rest that is not there.
	n, what := filesNotRestored(res), "file(s)"
	if n == 0 {
		n, what = len(res.Errors), "item(s)"
	}
	could, rest := "could not be restored", "the rest was restored"
	switch {
	case o.DryRun && res.FilesRestored == 0:
		could, rest = "would not be restored", "no file would be restored"
	case o.DryRun:
		could, rest = "would not be restored", "the rest would be (a dry run wrote nothing)"
	case res.FilesRestored == 0 && res.FilesSkipped > 0:
		rest = fmt.Sprintf("no file was written (%d existing kept)", res.FilesSkipped)
	case res.FilesRestored == 0:
		rest = "no file was restored"
	}
	msg := fmt.Sprintf("%d %s %s (%s)", n, what, could, listed)
	if len(res.causes) > 0 {
		msg += "; " + errorsByCause(res) + causesText(res.causes)
	}
	if res.stoppedBy != 0 {
		msg += fmt.Sprintf("; the restore stopped writing to a file system after %d files in a row on it failed with %q: %d of the files above were not tried (NOT TRIED), the files on other file systems were", restorer.StopAfterFailures, res.stoppedBy.Error(), res.FilesNotTried)
	}
	msg += "; " + rest
	kind := restoreFailureKind(res)
	if nothingRestored(res) {
		return runlog.Fail(kind, errors.New(msg))
	}
	return &partialError{Kind: kind, Msg: msg}
}

// recordRestoreCauses puts the causes of a restore's errors first in its
// record's errors, where the twenty paths after them would not say why
// (a full or read-only target has no failure kind of its own but
// out-of-space).
func recordRestoreCauses(rec *runlog.Record, res *restoreResult) {
	if len(res.causes) > 0 {
		addRecordError(rec, errorsByCause(res)+causesText(res.causes))
	}
	if res.stoppedBy != 0 {
		addRecordError(rec, fmt.Sprintf("stopped writing to a file system after %d files in a row on it failed with %q: %d file(s) on it not tried", restorer.StopAfterFailures, res.stoppedBy.Error(), res.FilesNotTried))
	}
}

// restoreRecordItems is one line per entry a restore could not restore
// or restored with errors, for its record: each failed file once, with
// its error ("not restored: PATH: why"), each other entry once, with its
// errors, and each file not tried. A failed file is both in FailedFiles
// and in Errors: listed from both, it took two of the record's twenty
// lines, and the count of those left out counted it twice. The entries
// whose own error says why come first; those left out because their
// directory failed ("its directory could not be restored") after them:
// a hundred of those filled the record's twenty lines, and the directory
// in the way or the mkdir refused, the one line that says what to fix,
// was never recorded (README walk).
func restoreRecordItems(res *restoreResult) []string {
	msgs := map[string][]string{}
	for _, ie := range res.Errors {
		msgs[ie.Path] = append(msgs[ie.Path], ie.Error)
	}
	var items, derived []string
	add := func(path, s string) {
		for _, m := range msgs[path] {
			if m != restorer.ParentFailedMessage {
				items = append(items, s)
				return
			}
		}
		derived = append(derived, s)
	}
	done := map[string]bool{}
	for _, f := range res.FailedFiles {
		if done[f] {
			continue
		}
		done[f] = true
		s := "not restored: " + f
		if m := msgs[f]; len(m) > 0 {
			s += ": " + strings.Join(m, "; ")
			add(f, s)
		} else {
			items = append(items, s)
		}
	}
	for _, ie := range res.Errors {
		if !done[ie.Path] {
			done[ie.Path] = true
			add(ie.Path, ie.Path+": "+strings.Join(msgs[ie.Path], "; "))
		}
	}
	items = append(items, derived...)
	for _, f := range res.NotTriedFiles {
		items = append(items, "not tried: "+f)
	}
	return items
}

// restoreErrorLines are the lines a restore prints on stderr for its
// errors: "error: PATH: why" for each entry that is not a file not
// restored (a directory, a symlink, metadata not set), then
// "NOT RESTORED: PATH: why" once for each file not restored. A failed
// file is both in FailedFiles and in Errors; printed from both, each one
// was read twice, its cause on one line and its verdict on another.
func restoreErrorLines(res *restoreResult) []string {
	failed := map[string]bool{}
	for _, f := range res.FailedFiles {
		failed[f] = true
	}
	msgs := map[string][]string{}
	var lines []string
	for _, ie := range res.Errors {
		if failed[ie.Path] {
			msgs[ie.Path] = append(msgs[ie.Path], ie.Error)
			continue
		}
		lines = append(lines, "error: "+ie.Path+": "+ie.Error)
	}
	done := map[string]bool{}
	for _, f := range res.FailedFiles {
		if done[f] {
			continue
		}
		done[f] = true
		s := "NOT RESTORED: " + f
		if m := msgs[f]; len(m) > 0 {
			// "NOT RESTORED: PATH: its directory could not be
			// restored", not "...: not restored: its directory ...".
			for i := range m {
				m[i] = strings.TrimPrefix(m[i], "not restored: ")
			}
			s += ": " + strings.Join(m, "; ")
		}
		lines = append(lines, s)
	}
	return lines
}

// recordRestoreOmitted says, as the record's last error, how many of the
// restore's items (restoreRecordItems, and the lines of its causes) its
// list left out, so that nobody reads the twenty as all of them. listed
// is how many errors the record held before the restore's.
func recordRestoreOmitted(rec *runlog.Record, res *restoreResult, listed, items int) {
	all := items
	if len(res.causes) > 0 {
		all++
	}
	if res.stoppedBy != 0 {
		all++
	}
	if omitted := all - (len(rec.Errors) - listed); omitted > 0 {
		rec.Errors = append(rec.Errors, fmt.Sprintf("... and %d more error(s) not recorded (the restore's output lists them)", omitted))
	}
}

// existingEntries says how many entries of the target a restore kept or
// replaced. They are names of non-directory entries (each name of a
// hardlink, symlinks, FIFOs and device nodes too): said so, since "files"
// read as regular files gave a count that a person checking the target
// with find -type f could not match.
func existingEntries(n uint64) string {
	if n == 1 {
		return "1 existing non-directory entry"
	}
	return fmt.Sprintf("%d existing non-directory entries", n)
}
