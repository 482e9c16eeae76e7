package copier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// ProtectionResult is a protection that a copy wrote on the destination
// after an active one of the source.
type ProtectionResult struct {
	// Source is the source snapshot and Dest its copy, now protected.
	Source repo.ID `json:"source"`
	Dest   repo.ID `json:"dest"`
	// ID is the new protection file's ID.
	ID repo.ID `json:"id"`
	// Until is when it ends; zero (absent) for never.
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// ProtectionFailure is a protection of the source that the copy could not
// write on the destination (Result.ProtectionErrors): the snapshot is
// there, but a forget there does not keep it.
type ProtectionFailure struct {
	// Source is the source snapshot and Dest its copy, left unprotected.
	Source repo.ID   `json:"source"`
	Dest   repo.ID   `json:"dest"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	Error  string    `json:"error"`
}

// UnreadableSourceProtection is a protection file of the source that the
// copy could not read (Result.UnreadableProtections): what it protects
// cannot be known, so it was not carried.
type UnreadableSourceProtection struct {
	ID    repo.ID `json:"id"`
	Error string  `json:"error"`
}

// ErrProtectionsNotCopied is matched (errors.Is) by the error of a Copy
// that copied its snapshots but could not write some of the source's
// protections on the destination.
var ErrProtectionsNotCopied = errors.New("some protections could not be copied")

// ProtectionsError is the error of a Copy that could not write some
// protections on the destination (a full or read-only medium). The
// snapshots are copied: the copy reports them (Result) and goes on with
// the other protections, so that one failed write does not hide what
// was done.
type ProtectionsError struct {
	// Failed are the protections not written, each with its Error.
	Failed []ProtectionFailure
	// Errs are their errors, in the same order.
	Errs []error
}

func (e *ProtectionsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d protection(s) could not be copied:", len(e.Failed))
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrProtectionsNotCopied.
func (e *ProtectionsError) Is(target error) bool { return target == ErrProtectionsNotCopied }

// Unwrap returns each protection's error.
func (e *ProtectionsError) Unwrap() []error { return e.Errs }

// identified is a repository that knows its ID (*repo.Repository), for the
// note of where a copied protection came from.
type identified interface{ ID() string }

// copyProtections writes on dst, for each pair of a source snapshot and
// its copy (copied now or before), the source's active protections of it:
// a protection must hold on every medium the snapshot is on, or a forget
// there removes a legal hold or a before-change backup. For each reason
// the longest source protection counts; it is not written when the
// destination already has an active protection of the copy with that
// reason that lasts as long, so that copying again adds nothing and never
// adds a shorter one.
//
// A protection that cannot be written is reported in res.ProtectionErrors
// and in the *ProtectionsError returned, and the others are still
// written: the snapshots are copied, and the copy must say so.
func copyProtections(ctx context.Context, dst Destination, src Source, pairs [][2]*snapshot.Snapshot, o Options, res *Result) error {
	if len(pairs) == 0 {
		return nil
	}
	sps, bad, err := snapshot.LoadReadableProtections(ctx, src)
	if err != nil {
		return fmt.Errorf("source protections: %w", err)
	}
	for _, b := range bad {
		res.UnreadableProtections = append(res.UnreadableProtections, UnreadableSourceProtection{ID: b.ID, Error: b.Err.Error()})
		if o.UnreadableProtection != nil {
			o.UnreadableProtection(b.ID, b.Err)
		}
	}
	now := time.Now()
	if !slices.ContainsFunc(sps, func(p snapshot.Protection) bool { return p.Active(now) }) {
		return nil // nothing to carry: no listing of the destination's
	}
	// Unreadable files of the destination are forget's to report: at
	// worst a protection is written that one of them already holds.
	dps, _, err := snapshot.LoadProtections(ctx, dst)
	if err != nil {
		return fmt.Errorf("destination protections: %w", err)
	}
	var pe ProtectionsError
	srcID := ""
	if r, ok := src.(identified); ok {
		srcID = r.ID()
	}
	for _, pr := range pairs {
		sn, d := pr[0], pr[1]
		if !sameBackup(sn, d) {
			// Paired by the original's ID alone. A source whose snapshot
			// merely claims the original of an unrelated snapshot here (a
			// forged Original, which the source's key can write) must not
			// pin that one with its protections.
			continue
		}
		for _, p := range longestByReason(sps, sn, now) {
			if slices.ContainsFunc(dps, func(q snapshot.Protection) bool {
				return q.Active(now) && q.Reason == p.Reason && q.Covers(d) && q.LastsAsLong(p)
			}) {
				continue
			}
			np := snapshot.Protection{Snapshot: d.ID(), Until: p.Until, Reason: p.Reason, Host: p.Host, Username: p.Username, Time: p.Time,
				CopiedFrom: &snapshot.CopiedFrom{Repository: srcID, Snapshot: sn.ID(), Protection: p.ID}}
			// Like snapshot.ProtectSnapshot: a tag change of the copy
			// keeps its Original, and so stays protected.
			if d.Original != nil {
				np.Original = *d.Original
			}
			np, err := snapshot.SaveProtection(ctx, dst, np)
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("copy the protection of snapshot %s to %s: %w", sn.ID().Short(), d.ID().Short(), err)
			}
			if err != nil {
				f := ProtectionFailure{Source: sn.ID(), Dest: d.ID(), Until: p.Until, Reason: p.Reason, Error: err.Error()}
				res.ProtectionErrors = append(res.ProtectionErrors, f)
				pe.Failed = append(pe.Failed, f)
				pe.Errs = append(pe.Errs, fmt.Errorf("protection of snapshot %s, copied as %s: %w", sn.ID().Short(), d.ID().Short(), err))
				continue
			}
			dps = append(dps, np)
			r := ProtectionResult{Source: sn.ID(), Dest: d.ID(), ID: np.ID, Until: np.Until, Reason: np.Reason}
			res.Protections = append(res.Protections, r)
			res.ProtectionsAdded++
			if o.ProtectionProgress != nil {
				o.ProtectionProgress(r)
			}
		}
	}
	if len(pe.Failed) > 0 {
		return &pe
	}
	return nil
}

// sameBackup says whether d can be a copy of sn: a copy keeps the
// backup's time (to the nanosecond), host and paths, whatever medium it is
// on; its tree is rewritten under the destination's key, so tree IDs do
// not compare.
func sameBackup(sn, d *snapshot.Snapshot) bool {
	return sn.Time.Equal(d.Time) && sn.Hostname == d.Hostname && slices.Equal(sn.Paths, d.Paths)
}

// longestByReason returns, for each reason, the active protection among ps
// covering sn that lasts longest, in the order the reasons first appear.
func longestByReason(ps []snapshot.Protection, sn *snapshot.Snapshot, now time.Time) []snapshot.Protection {
	var out []snapshot.Protection
	for _, p := range ps {
		if !p.Active(now) || !p.Covers(sn) {
			continue
		}
		i := slices.IndexFunc(out, func(q snapshot.Protection) bool { return q.Reason == p.Reason })
		switch {
		case i < 0:
			out = append(out, p)
		case !out[i].LastsAsLong(p):
			out[i] = p
		}
	}
	return out
}
