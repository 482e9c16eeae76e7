package runlog

import (
	"errors"
	"io/fs"
	"sort"
	"time"
)

// pendingGrace is how long a note of a copy still to come may stand before
// Health reports it: a command notes its record before the line and takes
// the note out once the copy is done, seconds later.
const pendingGrace = time.Hour

// Health is what the local run log says of itself without a repository,
// for status (which opens none): the findings of the local copy that
// Verify makes (an error among them keeps every head out of the
// repositories: Sync refuses to seal a log with problems), and a
// not-copied warning for each repository whose copy of a record failed
// before now less pendingGrace (the medium full, the repository
// unreachable) and has not been made since. Repositories that were not
// open when a record was made (a follow-up away from the medium) are not
// reported: the next command that opens them copies it. Nor are copies
// that failed because the repository's storage was read-only (a check
// of a medium mounted read-only): a reader there cannot copy its own
// record, and the next command that can write there copies it; a later
// copy that fails for another reason is reported.
//
// Signatures that held before are taken as holding (logCache), as the
// everyday commands take them; 'log verify' checks every one.
func (l *Log) Health(now time.Time) ([]Finding, error) {
	local, err := l.readLocal()
	if err != nil {
		return nil, err
	}
	trusted, err := l.trusted()
	keyUnread := errors.Is(err, fs.ErrPermission)
	switch {
	case keyUnread:
		// A monitoring user may read the run log but not the host's
		// private key (mode 0600) beside it: the signatures are still
		// checked against the keys the records name, only whether that
		// key is the host's is not known here.
		trusted = keyring{}
		for _, p := range l.opt.Trust {
			trusted.add(p)
		}
	case err != nil:
		return nil, err
	}
	l.cache.remember(local)
	defer l.cache.flush()
	_, found := checkCopy("local", local, true, trusted, l.opt.Zone)
	out := found[:0]
	for _, f := range found {
		if !keyUnread || f.Problem != UnknownKey {
			out = append(out, f)
		}
	}
	return append(out, l.uncopied(local, now)...), nil
}

// uncopied is one not-copied warning per repository with notes of failed
// copies older than pendingGrace.
func (l *Log) uncopied(local []entry, now time.Time) []Finding {
	recs := map[string]*entry{}
	for i := range local {
		if e := &local[i]; e.err == nil {
			recs[e.computed] = e
		}
	}
	type repoNotes struct {
		n     int
		first pendingNote
		rec   *entry
	}
	by := map[string]*repoNotes{}
	for k, p := range l.readPending() {
		e := recs[k[0]]
		if e == nil || p.Error == noteNotOpen || p.ReadOnly || now.Sub(p.At) < pendingGrace {
			continue
		}
		r := by[p.RepositoryID]
		if r == nil {
			r = &repoNotes{first: p, rec: e}
			by[p.RepositoryID] = r
		}
		r.n++
		if p.Seq < r.first.Seq {
			r.first, r.rec = p, e
		}
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var fs []Finding
	for _, id := range ids {
		r := by[id]
		fs = append(fs, Finding{Copy: "repository", Problem: NotCopied, Chain: r.rec.rec.Chain, Seq: r.first.Seq, RecordID: r.rec.rec.ID, Warning: true}.says(
			"log.f.not_copied_since", said("log.f.n_records", r.n), short(id), stamp(r.first.At, l.opt.Zone), r.first.Error))
	}
	return fs
}
