package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// A forgotten file (repo.ForgottenFile, doc/design-snapshot.md "Forgotten
// snapshots") records snapshots that a retention policy removed from this
// repository, so that a copy into it does not bring them back. Without it,
// a medium or offsite repository that keeps fewer snapshots than the one
// it is copied from got every snapshot its own retention removed again
// with the next copy (their data uploaded again, and forgotten and pruned
// again by the next retention), day after day.
type Forgotten struct {
	Time      time.Time           `json:"time"`
	Host      string              `json:"host,omitempty"`
	Snapshots []ForgottenSnapshot `json:"snapshots"`
}

// ForgottenSnapshot is one snapshot a retention policy removed.
type ForgottenSnapshot struct {
	ID repo.ID `json:"id"`
	// Original is the ID a copy compares: the snapshot's original (a copy
	// or a tag change) or, when it has none, its own ID.
	Original repo.ID `json:"original"`
	// Tags are its tags when it was removed: a source snapshot of the same
	// original with other tags (a tag change since, which the policy may
	// keep) is copied.
	Tags []string `json:"tags,omitempty"`
	// Time is when it was removed; zero in files written before entries
	// had one (the file's time counts then).
	Time time.Time `json:"time,omitzero"`
	// Taken is the snapshot's own time, for a listing of what retention
	// removed; zero in records written before it was kept.
	Taken time.Time `json:"snapshot_time,omitzero"`
}

// ForgottenOf returns the record of sn, removed at t.
func ForgottenOf(sn *Snapshot, t time.Time) ForgottenSnapshot {
	tags := slices.Clone(sn.Tags)
	slices.Sort(tags)
	return ForgottenSnapshot{ID: sn.ID(), Original: OriginalID(sn), Tags: tags, Time: t, Taken: sn.Time}
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

// MaxForgottenSize bounds the JSON of a forgotten file (16 MiB, some 80,000
// entries). A merge drops the oldest entries beyond it, and readers pass
// over a file whose stored size is larger without reading it: anyone who
// can upload a file could otherwise make every copy read hundreds of
// megabytes.
const MaxForgottenSize = 16 << 20

// ErrNotRecorded is wrapped by the error of a forget that removed
// snapshots but could not record them (retention.Forget): they are gone,
// and a later copy may bring them back.
var ErrNotRecorded = errors.New("removed, but not recorded as forgotten")

// RecordForgotten saves a forgotten file for snapshots just removed. Call it
// after removing them, with those actually removed: a record of a snapshot
// that is still there (a removal that failed) would keep a copy from
// bringing it back when it is lost later; a crash before the record only
// lets the next copy bring them back, as before records existed. When
// maxForgottenFiles or more forgotten files exist, it saves one that holds
// them all, then removes those it merged (a file that cannot be read is
// left for check to report).
func RecordForgotten(ctx context.Context, r FileRewriter, sns []ForgottenSnapshot) error {
	if len(sns) == 0 {
		return nil
	}
	host, _ := os.Hostname()
	f := Forgotten{Time: time.Now(), Host: host, Snapshots: slices.Clone(sns)}
	for i := range f.Snapshots {
		if f.Snapshots[i].Time.IsZero() {
			f.Snapshots[i].Time = f.Time
		}
	}
	var merged []repo.ID
	if l, ok := r.(FileLoader); ok {
		ids, sizes, err := listFiles(ctx, l, repo.ForgottenFile)
		if err != nil {
			return fmt.Errorf("list forgotten files: %w", err)
		}
		if len(ids) >= maxForgottenFiles {
			for i, id := range ids {
				if sizes != nil && sizes[i] > repo.MaxForgottenFileSize {
					continue // not read; reported by check
				}
				old, err := LoadForgotten(ctx, l, id)
				if err != nil {
					continue // reported by check; merged files stay readable
				}
				for _, s := range old.Snapshots {
					if s.Time.IsZero() {
						s.Time = old.Time
					}
					f.Snapshots = append(f.Snapshots, s)
				}
				merged = append(merged, id)
			}
		}
	}
	// Also a forget of more than a file holds: those dropped may come
	// back with a copy, which loses nothing.
	f.Snapshots = fitForgotten(f.Snapshots)
	b, err := json.Marshal(&f)
	if err != nil {
		return err
	}
	if _, err := r.SaveFile(ctx, repo.ForgottenFile, b); err != nil {
		return fmt.Errorf("save forgotten file: %w", err)
	}
	// The record is saved: a merged file that stays (its removal failed)
	// only repeats entries, and the next merge takes it in again.
	for _, id := range merged {
		_ = r.RemoveFile(ctx, repo.ForgottenFile, id)
	}
	return nil
}

// fitForgotten sorts entries newest first, drops repeats, and drops the
// oldest beyond what a forgotten file may hold.
func fitForgotten(es []ForgottenSnapshot) []ForgottenSnapshot {
	slices.SortStableFunc(es, func(a, b ForgottenSnapshot) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return a.ID.Compare(b.ID)
	})
	seen := map[repo.ID]bool{}
	out := es[:0]
	size := 200 // the file's other fields
	for _, e := range es {
		if seen[e.ID] {
			continue
		}
		b, _ := json.Marshal(e)
		if size += len(b) + 1; size > MaxForgottenSize {
			break
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out
}

// ErrInvalidForgotten is wrapped by the error of a forgotten file that
// opens but holds no record of forgotten snapshots.
var ErrInvalidForgotten = errors.New("not a valid forgotten file")

// ErrForgottenTooLarge is wrapped by the error for a forgotten file larger
// than MaxForgottenSize allows, which is not read.
var ErrForgottenTooLarge = errors.New("larger than any forgotten file")

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

// ForgottenSet is what a repository's forgotten files record, by original
// ID.
type ForgottenSet map[repo.ID][]ForgottenSnapshot

// Forgot returns when the repository forgot a snapshot that stands for
// sn's original with sn's tags, if it did.
func (s ForgottenSet) Forgot(sn *Snapshot) (time.Time, bool) {
	tags := slices.Clone(sn.Tags)
	slices.Sort(tags)
	var at time.Time
	found := false
	for _, e := range s[OriginalID(sn)] {
		if slices.Equal(e.Tags, tags) && (!found || e.Time.After(at)) {
			at, found = e.Time, true
		}
	}
	return at, found
}

// ForgottenOriginals reads every forgotten file of the repository. A file
// that cannot be read, or is larger than any forgotten file, is passed over,
// and bad is told of it when not nil: what it recorded may be copied again,
// which costs an upload and loses nothing. A storage that does not know
// forgotten/ (a REST server of an older cadang) holds none. Any other error
// (the repository cannot be reached) is returned.
func ForgottenOriginals(ctx context.Context, r FileLoader, bad func(id repo.ID, err error)) (ForgottenSet, error) {
	ids, sizes, err := listFiles(ctx, r, repo.ForgottenFile)
	switch {
	case errors.Is(err, backend.ErrUnknownType):
		return ForgottenSet{}, nil
	case err != nil:
		return nil, fmt.Errorf("list forgotten files: %w", err)
	}
	out := ForgottenSet{}
	for i, id := range ids {
		if sizes != nil && sizes[i] > repo.MaxForgottenFileSize {
			if bad != nil {
				bad(id, fmt.Errorf("forgotten file %s is %d bytes: %w (at most %d), and was not read", id, sizes[i], ErrForgottenTooLarge, repo.MaxForgottenFileSize))
			}
			continue
		}
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
			if s.Time.IsZero() {
				s.Time = f.Time
			}
			out[s.Original] = append(out[s.Original], s)
		}
	}
	return out, nil
}

// Entries returns the records of the set, one per snapshot ID, oldest snapshot first (by its
// time, or when it was removed in records without it; then by ID): what
// the repository's retention removed, for a listing.
func (s ForgottenSet) Entries() []ForgottenSnapshot {
	// One per ID, the latest removal: a merge whose old files could not
	// all be removed, or a crash between its save and its removals,
	// leaves records that repeat entries.
	byID := map[repo.ID]ForgottenSnapshot{}
	for _, es := range s {
		for _, e := range es {
			if o, ok := byID[e.ID]; !ok || e.Time.After(o.Time) || e.Time.Equal(o.Time) && o.Taken.IsZero() {
				byID[e.ID] = e
			}
		}
	}
	out := slices.Collect(maps.Values(byID))
	slices.SortFunc(out, func(a, b ForgottenSnapshot) int {
		if c := a.when().Compare(b.when()); c != 0 {
			return c
		}
		return a.ID.Compare(b.ID)
	})
	return out
}

// when is the snapshot's time where the record has it, else its removal's.
func (s ForgottenSnapshot) when() time.Time {
	if s.Taken.IsZero() {
		return s.Time
	}
	return s.Taken
}

// RemoveUnreadableForgotten removes the forgotten files that cannot be read
// (damaged, foreign, sealed but holding no record, or too large to be one),
// so that copies stop warning of them, and returns those it removed (also
// on error). Each is read once more just before it goes, but for one too
// large by its listed size, which is removed unread: one that reads now (a
// fault of the first read) stays. What a removed file recorded may be
// copied again.
func RemoveUnreadableForgotten(ctx context.Context, r FileRemover) ([]repo.ID, error) {
	bad := map[repo.ID]error{}
	if _, err := ForgottenOriginals(ctx, r, func(id repo.ID, err error) { bad[id] = err }); err != nil {
		return nil, err
	}
	var removed []repo.ID
	for _, id := range slices.SortedFunc(maps.Keys(bad), repo.ID.Compare) {
		if !errors.Is(bad[id], ErrForgottenTooLarge) {
			_, err := LoadForgotten(ctx, r, id)
			switch {
			case err == nil, backend.IsNotExist(err):
				continue
			case !repo.IsDamaged(err) && !errors.Is(err, ErrInvalidForgotten):
				return removed, err
			}
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
