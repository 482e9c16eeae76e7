package report

import (
	"fmt"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// relatedWindow is how far apart in time two restores of one request may
// start and still be taken as parts of it: the restores of a job's sources
// (upload directory, database dump) follow each other within minutes.
const relatedWindow = time.Hour

// LatestRestore is what `report restore latest` documents, and what its
// caller should tell the administrator about the restores around it.
type LatestRestore struct {
	// Record is the restore the minutes are of: the latest that opened the
	// repository (whatever its result), or, when none did, the latest
	// attempt of all.
	Record runlog.Record
	// NotOpened are the attempts after Record that failed before they
	// opened the repository (unreachable, wrong password, no repository
	// there): they restored nothing, so they are not the restore the
	// minutes are wanted for, but each is still a failure on record.
	NotOpened []runlog.Record
	// Related are the other restores of Record's request (or job) made
	// within relatedWindow of it, of other snapshots: a request that
	// covers both sources of a job takes a restore each, and each has its
	// own minutes.
	Related []runlog.Record
}

// FindLatestRestore picks the restore that `report restore latest`
// documents from recs (in log order). A mistyped repository path at 3 a.m.
// or a wrong password is recorded as a failed restore (the SOP wants every
// failure on record), but it restored nothing: the minutes are of the last
// restore that reached the repository, and the attempts after it are named
// in NotOpened so that they surprise no one.
func FindLatestRestore(recs []runlog.Record) (LatestRestore, error) {
	var out LatestRestore
	last := -1
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Op != runlog.OpRestore {
			continue
		}
		if last < 0 {
			last = i
		}
		if OpenedRepository(r) {
			out.Record = r
			out.Related = relatedRestores(recs[:i], r)
			return out, nil
		}
		out.NotOpened = append([]runlog.Record{r}, out.NotOpened...)
	}
	if last < 0 {
		return out, fmt.Errorf("run log has no restore record: %w", runlog.ErrNoRecord)
	}
	// No attempt reached the repository: the latest is all there is to
	// document, and no attempt came after it.
	return LatestRestore{Record: recs[last]}, nil
}

// OpenedRepository reports whether restore r got as far as opening its
// repository: the record names the repository's ID (set once it is open),
// or the snapshot's time (records from before the ID was kept).
func OpenedRepository(r runlog.Record) bool {
	return r.RepositoryID != "" || (r.Restore != nil && !r.Restore.SnapshotAt.IsZero())
}

// relatedRestores are the restores in before (log order, all earlier than
// r) that belong to r's request and were made within relatedWindow of the
// one after them, newest first, each of a snapshot not yet named.
func relatedRestores(before []runlog.Record, r runlog.Record) []runlog.Record {
	var out []runlog.Record
	seen := map[string]bool{snapshotOf(r): true}
	next := r.Start
	for i := len(before) - 1; i >= 0; i-- {
		x := before[i]
		if x.Op != runlog.OpRestore || !OpenedRepository(x) {
			continue
		}
		if next.Sub(x.Start) > relatedWindow {
			break
		}
		if !sameRequest(x, r) || seen[snapshotOf(x)] {
			continue
		}
		seen[snapshotOf(x)] = true
		out = append(out, x)
		next = x.Start
	}
	return out
}

func snapshotOf(r runlog.Record) string {
	if r.Restore == nil {
		return ""
	}
	return r.Restore.Snapshot
}

// sameRequest reports whether restores a and b answer one request: the
// same request ID where both have one, else the same requester and reason
// where either names them, else the same job in the same repository.
func sameRequest(a, b runlog.Record) bool {
	ai, bi := restoreInfo(a), restoreInfo(b)
	switch {
	case ai.RequestID != "" && bi.RequestID != "":
		return ai.RequestID == bi.RequestID
	case ai.RequestedBy != "" || bi.RequestedBy != "":
		return ai.RequestedBy == bi.RequestedBy && ai.Reason == bi.Reason
	}
	return a.RepositoryID == b.RepositoryID && RestoreJob(a) == RestoreJob(b)
}

func restoreInfo(r runlog.Record) runlog.RestoreInfo {
	if r.Restore == nil {
		return runlog.RestoreInfo{}
	}
	return *r.Restore
}

// RestoreJob is the job restore r is of: the record's (the configuration
// names the medium's job), else the job tag of the snapshot it restored
// (a restore on a host without the configuration).
func RestoreJob(r runlog.Record) string {
	if r.Job != "" || r.Restore == nil {
		return r.Job
	}
	return r.Restore.SnapshotJob
}
