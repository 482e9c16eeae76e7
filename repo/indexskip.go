package repo

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lpse/cadang/repo/backend"
)

// An index file that cannot be read does not stop the commands that only
// read or add (doc/design.md §7, "An index file that cannot be read"). The
// index is a map of what the packs hold, and every pack carries its own
// header: without one index file, the worst a reader meets is a blob it
// cannot find, and a writer stores again what it cannot find. Anyone who
// can reach the server (an append-only one included, where no password is
// needed to upload a file whose name is its hash) could otherwise stop
// every backup and every restore with one junk file in index/. The same
// holds for the obsolete-pack sets that loading the index reads: without
// one, its packs are merely not marked, and prune, which would delete
// them, refuses. A command that removes data must not go on, since it
// cannot know what the missing files' packs hold: RequireWholeIndex stops
// it.

// skippableIndexError reports whether an index or obsolete-pack file that
// failed to load with err is passed over rather than stopping the load: it
// is damaged (its name is not its hash, its seal does not open or has an
// unknown seal byte, its plaintext does not decode) or, for an index file,
// of a newer index version. Any other error (the backend failing,
// a cancelled context) stops the load: it says nothing about the file.
func skippableIndexError(err error) bool {
	return IsDamaged(err) || errors.Is(err, ErrUnsupportedVersion)
}

// SkippedFiles returns the errors of the index files and obsolete-pack
// sets that loading the index passed over, in the order of their names:
// each is a *DamagedError or an *UnsupportedError naming its file.
// Commands that only read or add go on without them; RequireWholeIndex
// stops those that remove data. 'cadang repair index' rebuilds the index
// from the packs' own headers and removes them.
func (r *Repository) SkippedFiles() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]ID, 0, len(r.indexSkipped))
	for id := range r.indexSkipped {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, ID.Compare)
	out := make([]error, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.indexSkipped[id])
	}
	return out
}

// ErrIncompleteIndex is wrapped by the error of RequireWholeIndex.
var ErrIncompleteIndex = errors.New("the index was loaded without some of its files")

// IncompleteIndexError is returned by RequireWholeIndex: a command that
// removes data met index or obsolete-pack files it could not read.
type IncompleteIndexError struct {
	Op      string  // what refused, e.g. "prune"
	Skipped []error // as SkippedFiles returns them
}

func (e *IncompleteIndexError) Error() string {
	var b strings.Builder
	obsoleteOnly := true
	for _, err := range e.Skipped {
		obsoleteOnly = obsoleteOnly && fileOf(err).Type == ObsoleteFile
	}
	if obsoleteOnly {
		fmt.Fprintf(&b, "%s refuses to run: it cannot know which packs %d unreadable obsolete-pack file(s) mark (", e.Op, len(e.Skipped))
	} else {
		fmt.Fprintf(&b, "%s refuses to run: it cannot know what the packs of %d unreadable index or obsolete-pack file(s) hold (", e.Op, len(e.Skipped))
	}
	newer := false
	for i, err := range e.Skipped {
		newer = newer || errors.Is(err, ErrUnsupportedVersion)
		switch {
		case i == 3:
			fmt.Fprintf(&b, "; and %d more", len(e.Skipped)-i)
		case i < 3:
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%v", err)
		}
	}
	if obsoleteOnly {
		b.WriteString("): 'cadang repair index' removes them; their packs become ordinary packs again, and the next prune decides on them anew")
	} else {
		b.WriteString("): 'cadang repair index' rebuilds the index from the packs' own headers without them (no stored blob is lost)")
	}
	if newer {
		b.WriteString(", unless a newer cadang wrote them: then run this with that one")
	}
	return b.String()
}

func (e *IncompleteIndexError) Unwrap() error { return ErrIncompleteIndex }

// RequireWholeIndex returns an *IncompleteIndexError naming op when
// loading the index passed over files it could not read (SkippedFiles),
// and nil otherwise. Every command that removes packs or index entries
// calls it before it decides anything: a pack that only a skipped file
// indexes looks unused, and its blobs missing. A foreign file
// (ErrForeignFile: its bytes as saved, its seal not this repository's)
// does not count: no holder of the key wrote it, so it indexes no pack and
// marks none obsolete, and one upload must not stop every prune.
func (r *Repository) RequireWholeIndex(op string) error {
	var stop []error
	for _, err := range r.SkippedFiles() {
		if !errors.Is(err, ErrForeignFile) {
			stop = append(stop, err)
		}
	}
	if len(stop) > 0 {
		return &IncompleteIndexError{Op: op, Skipped: stop}
	}
	return nil
}

// noteIndexRead records the index files the index holds (names) and those
// it passed over (skipped): replacing what was noted when the index was
// read afresh, adding to it when only new files were read (LoadNewIndex).
// A skipped file counts as read, so that LoadNewIndex does not try it on
// every call. Each file skipped that the last read had not skipped is a
// warning (Options.Warnf).
func (r *Repository) noteIndexRead(names []ID, skipped map[ID]error, replace bool) {
	r.mu.Lock()
	old := maps.Clone(r.indexSkipped) // the loop below adds to it when !replace
	if replace || r.indexRead == nil {
		r.indexRead = make(map[ID]struct{}, len(names)+len(skipped))
	}
	if replace || r.indexSkipped == nil {
		r.indexSkipped = make(map[ID]error, len(skipped))
	}
	for _, id := range names {
		r.indexRead[id] = struct{}{}
	}
	var fresh []ID
	for id, err := range skipped {
		r.indexRead[id] = struct{}{}
		r.indexSkipped[id] = err
		if _, ok := old[id]; !ok {
			fresh = append(fresh, id)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(fresh, ID.Compare)
	// One junk file is worth a line each; ten thousand of them are not.
	const shown = 5
	for i, id := range fresh {
		if i == shown {
			r.warnf("%d more index or obsolete-pack file(s) could not be read and were passed over ('cadang check' lists them)", len(fresh)-shown)
			break
		}
		err := skipped[id]
		if errors.Is(err, ErrForeignFile) {
			// Nobody's file: it indexes nothing, and stops nothing.
			r.warnf("%v; passed over (junk that someone who can write to the storage added): 'cadang repair index' removes it", err)
			continue
		}
		remedy := "'cadang repair index' rebuilds the index from the packs without it"
		if fileOf(err).Type == ObsoleteFile {
			remedy = "'cadang repair index' removes it (its packs become ordinary packs again)"
		}
		if errors.Is(err, ErrUnsupportedVersion) {
			// Its plaintext opened with the key: a newer cadang wrote
			// it, or someone who holds the password.
			remedy = "the newer cadang that wrote it is used or, if none did, " + remedy
		}
		r.warnf("%v; passed over: this command goes on without it, but prune and 'repair packs' refuse until %s", err, remedy)
	}
}

// warnf sends a warning to Options.Warnf, or to Logf marked as one.
func (r *Repository) warnf(format string, args ...any) {
	switch {
	case r.opts.Warnf != nil:
		r.opts.Warnf(format, args...)
	case r.opts.Logf != nil:
		r.opts.Logf("warning: "+format, args...)
	}
}

// fileOf returns the file a *DamagedError or *UnsupportedError names.
func fileOf(err error) backend.Handle {
	var d *DamagedError
	var u *UnsupportedError
	switch {
	case errors.As(err, &d):
		return d.File
	case errors.As(err, &u):
		return u.File
	}
	return backend.Handle{}
}
