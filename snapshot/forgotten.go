package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// A forgotten file (repo.ForgottenFile, doc/design-snapshot.md "Forgotten
// snapshots") records that snapshots were forgotten in this repository,
// so that a copy into it does not bring them back. Without it, a medium
// or offsite repository that keeps fewer snapshots than the one it is
// copied from got every snapshot its own retention removed again with the
// next copy (their data uploaded again, and forgotten and pruned again by
// the next retention), day after day.
type Forgotten struct {
	Time      time.Time           `json:"time"`
	Host      string              `json:"host,omitempty"`
	Snapshots []ForgottenSnapshot `json:"snapshots"`
}

// ForgottenSnapshot is one snapshot a forget removed.
type ForgottenSnapshot struct {
	ID repo.ID `json:"id"`
	// Original is the ID a copy compares: the snapshot's original (a copy
	// or a tag change) or, when it has none, its own ID. For a snapshot
	// whose file could not be read, its own ID.
	Original repo.ID `json:"original"`
}

// OriginalID is the ID that stands for sn across copies and tag changes:
// its Original, or its own ID when it has none.
func OriginalID(sn *Snapshot) repo.ID {
	if sn.Original != nil {
		return *sn.Original
	}
	return sn.ID()
}

// maxForgottenFiles is how many forgotten files RecordForgotten lets
// accumulate before it merges the readable ones into one: every copy
// reads them all.
const maxForgottenFiles = 32

// RecordForgotten saves a forgotten file for the snapshots about to be
// removed. Call it before removing their files: a crash in between leaves
// a record of a snapshot still there, which a copy then passes over in
// vain (it is there already); the other order could let a copy bring a
// removed snapshot back. When more than maxForgottenFiles forgotten files
// exist, it saves one that holds them all, then removes those it merged
// (a file that cannot be read is left for check to report).
func RecordForgotten(ctx context.Context, r FileRewriter, sns []ForgottenSnapshot) error {
	if len(sns) == 0 {
		return nil
	}
	host, _ := os.Hostname()
	f := Forgotten{Time: time.Now(), Host: host, Snapshots: slices.Clone(sns)}
	var merged []repo.ID
	if l, ok := r.(FileLoader); ok {
		var ids []repo.ID
		if err := l.ListFiles(ctx, repo.ForgottenFile, func(id repo.ID) error {
			ids = append(ids, id)
			return nil
		}); err != nil {
			return fmt.Errorf("list forgotten files: %w", err)
		}
		if len(ids) >= maxForgottenFiles {
			for _, id := range ids {
				old, err := LoadForgotten(ctx, l, id)
				if err != nil {
					continue // reported by check; merged files stay readable
				}
				f.Snapshots = append(f.Snapshots, old.Snapshots...)
				merged = append(merged, id)
			}
			slices.SortFunc(f.Snapshots, func(a, b ForgottenSnapshot) int { return a.ID.Compare(b.ID) })
			f.Snapshots = slices.CompactFunc(f.Snapshots, func(a, b ForgottenSnapshot) bool { return a == b })
		}
	}
	b, err := json.Marshal(&f)
	if err != nil {
		return err
	}
	if _, err := r.SaveFile(ctx, repo.ForgottenFile, b); err != nil {
		return fmt.Errorf("save forgotten file: %w", err)
	}
	for _, id := range merged {
		if err := r.RemoveFile(ctx, repo.ForgottenFile, id); err != nil && !backend.IsNotExist(err) {
			return fmt.Errorf("remove forgotten file %s, merged into a new one: %w", id.Short(), err)
		}
	}
	return nil
}

// ErrInvalidForgotten is wrapped by the error of a forgotten file that
// opens but holds no record of forgotten snapshots.
var ErrInvalidForgotten = errors.New("not a valid forgotten file")

// LoadForgotten loads one forgotten file.
func LoadForgotten(ctx context.Context, r FileLoader, id repo.ID) (*Forgotten, error) {
	b, err := r.LoadFile(ctx, repo.ForgottenFile, id)
	if err != nil {
		return nil, err
	}
	return DecodeForgotten(b)
}

// DecodeForgotten decodes the plaintext of a forgotten file.
func DecodeForgotten(b []byte) (*Forgotten, error) {
	var f Forgotten
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidForgotten, err)
	}
	if f.Snapshots == nil {
		return nil, fmt.Errorf("%w: no snapshots", ErrInvalidForgotten)
	}
	return &f, nil
}

// ForgottenOriginals returns, by original ID (OriginalID), when each
// snapshot recorded in the repository's forgotten files was forgotten (the
// latest time when several files name it). A file that cannot be read is
// passed over, and bad is told of it when not nil: what it recorded may
// be copied again, which costs an upload and loses nothing. Any other
// error (the repository cannot be reached) is returned.
func ForgottenOriginals(ctx context.Context, r FileLoader, bad func(id repo.ID, err error)) (map[repo.ID]time.Time, error) {
	var ids []repo.ID
	if err := r.ListFiles(ctx, repo.ForgottenFile, func(id repo.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list forgotten files: %w", err)
	}
	out := map[repo.ID]time.Time{}
	for _, id := range ids {
		f, err := LoadForgotten(ctx, r, id)
		switch {
		case backend.IsNotExist(err):
			continue // merged by a forget since the listing
		case err != nil && (repo.IsDamaged(err) || errors.Is(err, ErrInvalidForgotten)):
			if bad != nil {
				bad(id, err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("forgotten file %s: %w", id.Short(), err)
		}
		for _, s := range f.Snapshots {
			if t, ok := out[s.Original]; !ok || f.Time.After(t) {
				out[s.Original] = f.Time
			}
		}
	}
	return out, nil
}

// RemoveUnreadableForgotten removes the forgotten files that cannot be read
// (damaged, foreign, or sealed but holding no record), so that copies stop
// warning of them, and returns those it removed (also on error). Each is
// read once more just before it goes: one that reads now (a fault of the
// first read) stays. What a removed file recorded may be copied again.
func RemoveUnreadableForgotten(ctx context.Context, r FileRemover) ([]repo.ID, error) {
	var bad []repo.ID
	if _, err := ForgottenOriginals(ctx, r, func(id repo.ID, _ error) { bad = append(bad, id) }); err != nil {
		return nil, err
	}
	var removed []repo.ID
	for _, id := range bad {
		_, err := LoadForgotten(ctx, r, id)
		switch {
		case err == nil, backend.IsNotExist(err):
			continue
		case !repo.IsDamaged(err) && !errors.Is(err, ErrInvalidForgotten):
			return removed, err
		}
		if rerr := r.RemoveFile(ctx, repo.ForgottenFile, id); backend.IsNotExist(rerr) {
			continue
		} else if rerr != nil {
			return removed, fmt.Errorf("remove forgotten file %s: %w", id.Short(), rerr)
		}
		removed = append(removed, id)
	}
	return removed, nil
}
