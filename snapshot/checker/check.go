package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/snapshot"
)

// CheckReport is the result of Check.
type CheckReport struct {
	Snapshots int
	Packs     *repo.CheckResult
	// Problems lists every finding of damage of both parts, the trees'
	// (with Snapshot, Path and Blob set) first, then the repository's
	// (Packs.Problems, but for those of a newer format).
	Problems []repo.Problem
	// Unsupported lists the trees, packs and files of a format newer than
	// this cadang reads (Kind repo.ProblemUnsupported, errors.Is
	// repo.ErrUnsupportedVersion). They are not damage (doc/design.md
	// §13), but they, and what a tree references, were not checked: a
	// newer cadang can check them.
	Unsupported []repo.Problem
	// DamagedBlobUsers names the snapshots and paths that use a blob that
	// the pack check found damaged and that no other copy holds (Kind
	// repo.ProblemBlobDamaged, with File the pack and Snapshot, Path and
	// Blob set), so that the check that finds the damage names what it
	// costs: every use, ten a snapshot (usersOf). They are not in
	// Problems: the damage is, as the pack's.
	DamagedBlobUsers []repo.Problem
	// DamagedBlobUsersMore is, by snapshot, how many more paths use such
	// blobs than DamagedBlobUsers names (it names ten a snapshot).
	DamagedBlobUsersMore map[repo.ID]int
}

// OK reports whether nothing was found: no damage, and no tree left
// unchecked for being of a newer format.
func (c *CheckReport) OK() bool { return len(c.Problems) == 0 && len(c.Unsupported) == 0 }

// IndexLoader is implemented by repositories that can read index files
// written since they were opened (*repo.Repository): Check reloads the
// index after listing the snapshots.
type IndexLoader interface {
	LoadIndex(ctx context.Context) error
}

// NewIndexLoader is implemented by repositories that can read only the
// index files written since their index was read (*repo.Repository).
type NewIndexLoader interface {
	LoadNewIndex(ctx context.Context) error
}

// snapshotDamage reports whether err, from loading a snapshot file, is a
// fault of that file (damaged, undecodable, or of a newer format) rather
// than of the storage.
func snapshotDamage(err error) bool {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	return repo.IsDamaged(err) || errors.Is(err, repo.ErrUnsupportedVersion) || errors.Is(err, snapshot.ErrInvalidSnapshot) ||
		errors.As(err, &se) || errors.As(err, &ue)
}

// Check verifies a whole repository: that every snapshot's trees load and
// decode and every blob they reference is indexed (CheckTrees), and the
// repository's packs and index (PackChecker.Check). The two parts run at
// the same time: the tree walk is bound by decrypting thousands of small
// blobs, the pack check by reading and hashing every pack. A tree of a
// newer format does not stop the check; it is listed in Unsupported.
func Check(ctx context.Context, r Repository, o repo.CheckOptions) (*CheckReport, error) {
	// A snapshot file that does not load is a finding, and the check goes
	// on to the packs behind it; only a failure to read at all stops it.
	var treeProblems, unsupported []repo.Problem
	// Listings do not read a file too large for them; check does, whole:
	// it is a snapshot (of a cadang before the limit), or a finding.
	sns, err := snapshot.ListSnapshotsWhole(ctx, r, snapshot.Filter{}, func(id repo.ID, err error) error {
		if !snapshotDamage(err) {
			return err
		}
		kind := repo.ProblemSnapshotDamaged
		if errors.Is(err, repo.ErrUnsupportedVersion) {
			kind = repo.ProblemUnsupported
		}
		p := repo.NewProblem(kind, fmt.Errorf("snapshot file %s: %w", id, err))
		p.File = backend.Handle{Type: repo.SnapshotFile, Name: id.String()}
		if kind == repo.ProblemUnsupported {
			unsupported = append(unsupported, p)
		} else {
			treeProblems = append(treeProblems, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The index was loaded when the repository was opened; a backup that
	// finished since then wrote its index files before its snapshot, so a
	// snapshot just listed may name blobs only a newer index file knows.
	// Reading the index files again after the listing makes the two agree
	// (issue 14: check called a healthy repository damaged beside backups).
	// Only the files written since the index was read are read, where the
	// repository can tell them (NewIndexLoader): reading all again doubled
	// the index's cost of a check.
	if nl, ok := r.(NewIndexLoader); ok {
		if err := nl.LoadNewIndex(ctx); err != nil {
			return nil, fmt.Errorf("check: load the new index files: %w", err)
		}
	} else if il, ok := r.(IndexLoader); ok {
		if err := il.LoadIndex(ctx); err != nil {
			return nil, fmt.Errorf("check: reload the index: %w", err)
		}
	}
	rep := &CheckReport{Snapshots: len(sns) + len(treeProblems) + len(unsupported), Unsupported: unsupported}
	var mu sync.Mutex
	// Every tree the walk loads is decrypted and hashed to its ID; the pack
	// check need not open it again (CheckOptions.Verified).
	trees := &verifiedTrees{TreeRepository: r, at: map[repo.ID]repo.BlobLocation{}}
	if o.ReadData || o.SubsetTotal > 0 || o.SubsetFraction > 0 {
		if caller := o.Verified; caller != nil {
			o.Verified = func(loc repo.BlobLocation) bool { return trees.verified(loc) || caller(loc) }
		} else {
			o.Verified = trees.verified
		}
	}
	// A protection that opens but decodes to none stops every forget
	// just as one that does not open: the pack check decodes them.
	if caller := o.DecodeFile; caller != nil {
		o.DecodeFile = func(t repo.FileType, plain []byte) error {
			if err := decodeFile(t, plain); err != nil {
				return err
			}
			return caller(t, plain)
		}
	} else {
		o.DecodeFile = decodeFile
	}
	g, gctx := errgroup.WithContext(ctx)
	// The goroutines turn a panic into an error, so that it fails the
	// check instead of killing the process with its lock.
	g.Go(func() error {
		_, err := CheckTrees(gctx, trees, sns, func(p Problem) error {
			mu.Lock()
			defer mu.Unlock()
			if p.Kind == repo.ProblemUnsupported {
				rep.Unsupported = append(rep.Unsupported, p)
			} else {
				treeProblems = append(treeProblems, p)
			}
			return nil
		})
		return err
	})
	g.Go(func() error {
		return panicerr.Call(func() string { return "check packs" }, func() error {
			res, err := r.Check(gctx, o)
			rep.Packs = res
			return err
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep.Problems = treeProblems
	for _, p := range rep.Packs.Problems {
		// An object of a newer format is not damage (doc/design.md §13).
		if p.Kind == repo.ProblemUnsupported {
			rep.Unsupported = append(rep.Unsupported, p)
		} else {
			rep.Problems = append(rep.Problems, p)
		}
	}
	if lost := lostBlobs(r, rep.Problems); len(lost) > 0 {
		// A second walk, only where data is lost: the first ran beside
		// the pack check, before the damage was known.
		if rep.DamagedBlobUsers, rep.DamagedBlobUsersMore, err = usersOf(ctx, r, sns, lost); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// decodeFile decodes what the snapshot layer stores in small files.
func decodeFile(t repo.FileType, plain []byte) error {
	switch t {
	case repo.ProtectFile:
		_, err := snapshot.DecodeProtection(plain)
		return err
	case repo.ForgottenFile:
		_, err := snapshot.DecodeForgotten(plain)
		return err
	}
	return nil
}

// verifiedTrees notes where each tree it loaded without error lay: loading
// a blob verifies it (decrypted, decompressed, hashed to its ID).
type verifiedTrees struct {
	TreeRepository
	mu sync.Mutex
	at map[repo.ID]repo.BlobLocation
}

// locatedLoader is implemented by *repo.Repository: a load that says
// which copy of the blob it read. A blob with several copies is read from
// the first that verifies, which need not be the one LookupBlob names.
type locatedLoader interface {
	LoadBlobLocated(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, repo.BlobLocation, error)
}

func (v *verifiedTrees) LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error) {
	if ll, ok := v.TreeRepository.(locatedLoader); ok {
		b, loc, err := ll.LoadBlobLocated(ctx, t, id, buf)
		if err == nil && t == repo.TreeBlob {
			v.mu.Lock()
			v.at[id] = loc
			v.mu.Unlock()
		}
		return b, err
	}
	loc, ok := v.LookupBlob(t, id)
	b, err := v.TreeRepository.LoadBlob(ctx, t, id, buf)
	// Where the load went is known only if the index said the same before
	// and after it: a load that finds its pack deleted by a prune reloads
	// the index and reads the blob's other copy.
	if after, same := v.LookupBlob(t, id); err == nil && ok && same && after == loc && t == repo.TreeBlob {
		v.mu.Lock()
		v.at[id] = loc
		v.mu.Unlock()
	}
	return b, err
}

// verified reports whether the walk loaded the tree blob from loc.
func (v *verifiedTrees) verified(loc repo.BlobLocation) bool {
	if loc.Type != repo.TreeBlob {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	at, ok := v.at[loc.ID]
	return ok && at == loc
}
