package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// StaleProtections returns the protections among ps that nothing needs any
// more: expired at now, and covering none of the snapshots sns (every
// readable snapshot in the repository). unreadable lists the snapshot files
// that could not be read: what covers one cannot be fully known (its
// original is inside it), so a protection that may cover one
// (MayCoverUnreadable's rule, expiry aside) is not stale.
//
// An expired protection of a snapshot that still exists is not stale
// either: it holds nothing, but protect --list shows that the snapshot was
// protected, and why, for as long as the snapshot is there; the retention
// run after the snapshot is forgotten removes it.
func StaleProtections(ps []Protection, sns []*Snapshot, unreadable []repo.ID, now time.Time) []Protection {
	readable := make(map[repo.ID]bool, len(sns))
	for _, sn := range sns {
		readable[sn.ID()] = true
	}
	var out []Protection
next:
	for _, p := range ps {
		if p.Active(now) {
			continue
		}
		for _, sn := range sns {
			if p.Covers(sn) {
				continue next
			}
		}
		// Its snapshot among the unreadable ones, or one a tag change made
		// from its snapshot (or original) there: not known, so kept.
		if len(unreadable) > 0 && (!p.Original.IsNull() || !readable[p.Snapshot]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// RemoveStaleProtections removes the protection files that nothing needs
// any more (StaleProtections at now, over every snapshot in the repository
// as listed now), and returns those it removed, also on error. A retention
// run calls it after it forgot snapshots: a protection that has expired
// was no reason to keep them, and once they are gone it is junk that
// protect --list would show for ever. Protection files that cannot be read
// are left alone (protect --remove-unreadable is for them), and so are
// protections that still hold. Removing an expired protection changes no
// decision of any forget, so a protection made or a snapshot saved
// meanwhile cannot make it unsafe: the first is not in the list read here,
// and an expired protection does not keep the second.
func RemoveStaleProtections(ctx context.Context, r FileRemover, now time.Time) ([]Protection, error) {
	ps, _, err := LoadProtections(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("remove expired protections: %w", err)
	}
	anyExpired := false
	for _, p := range ps {
		anyExpired = anyExpired || !p.Active(now)
	}
	if !anyExpired {
		return nil, nil // no listing of snapshots for nothing
	}
	var unreadable []repo.ID
	sns, err := ListSnapshotsSkipping(ctx, r, Filter{}, PassUnreadable(func(id repo.ID, err error) {
		if !errors.Is(err, repo.ErrForeignFile) { // never a snapshot
			unreadable = append(unreadable, id)
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("remove expired protections: %w", err)
	}
	var removed []Protection
	for _, p := range StaleProtections(ps, sns, unreadable, now) {
		if err := r.RemoveFile(ctx, repo.ProtectFile, p.ID); backend.IsNotExist(err) {
			continue // lifted by someone else meanwhile
		} else if err != nil {
			return removed, fmt.Errorf("remove expired protection %s of snapshot %s: %w", p.ID.Short(), p.Snapshot.Short(), err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}
