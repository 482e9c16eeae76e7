package runlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lpse/cadang/internal/keep"
	"github.com/lpse/cadang/repo"
)

// RepairableStore is a RecordStore whose damaged files can be found, read
// as stored and removed. *repo.Repository implements it.
type RepairableStore interface {
	RecordStore
	DamagedFiles(ctx context.Context, t repo.FileType) ([]repo.ID, error)
	LoadStored(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error)
	RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error
}

// RepairOptions configure RepairStore.
type RepairOptions struct {
	// KeepDir receives the removed files' bytes, in KeepDir/REPOSITORY-ID.
	KeepDir string
	// Force removes damaged files that neither a copy kept on this host
	// nor the local mirror can put back (see RepairStore).
	Force bool
}

// Repair is what RepairStore found and did.
type Repair struct {
	// Damaged are the record files found damaged, Removed those taken out
	// of the repository (all of them unless an error stopped the repair).
	Damaged, Removed []repo.ID
	// Resaved is the number of damaged files saved again, under new
	// names, from the copies this host kept of them when they were intact.
	Resaved int
	// Copied is the number of records of the local mirror copied into the
	// repository before anything was removed: those whose only copy there
	// was a damaged file, and any other the repository lacked.
	Copied int
	// Kept is the directory that holds the removed files' bytes as they
	// were stored, one file each, named by the file's ID.
	Kept string
}

// ErrUnrecoverable is wrapped by RepairStore's error when damaged files
// would be removed that nothing on this host can put back, and
// RepairOptions.Force was not given.
var ErrUnrecoverable = errors.New("what the damaged files held cannot be put back from this host")

// RepairStore takes the damaged record files out of a repository, which
// `check` and `log verify` otherwise report in every run for as long as
// they are there. What can be put back is put back first, and nothing is
// lost, not even the damaged bytes:
//
//  1. each damaged file of which this host kept a copy when it was intact
//     (the copies beside the mirror, see storedFile) is saved again from
//     that copy, under a new name, unless an intact file holds the same: a
//     record or a head, whoever wrote it;
//  2. every intact record of the local mirror that concerns the repository
//     and is still not there intact is copied in (Sync), with a new head
//     where one is due; if that fails, nothing is removed;
//  3. each file is loaded again and must still be damaged; its bytes, as
//     stored, are written into KeepDir/REPOSITORY-ID/FILE-ID, synced with
//     their directory, and only then is the file removed.
//
// A damaged file that has no kept copy may hold what nothing here can put
// back when the local mirror holds no record of the repository (a lost
// mirror, a run as another user whose log is elsewhere) or the repository
// holds another chain (another host's or user's: the file may be its
// newest head). Without Force, RepairStore then removes nothing and says
// so (ErrUnrecoverable, see mayRemoveLost). A damaged newest head of this
// host's chain with no kept copy makes Sync fail, and the repair stops. A
// store that says up front that it refuses removals (a *repo.Repository
// over an append-only server: RefuseAppendOnly) is refused before anything
// is written; another backend that refuses deletion (object lock) makes
// the removal fail: the error says so and the file stays.
func (l *Log) RepairStore(ctx context.Context, store RepairableStore, o RepairOptions) (Repair, error) {
	var rep Repair
	damaged, err := store.DamagedFiles(ctx, repo.RecordFile)
	if err != nil {
		return rep, fmt.Errorf("run log in repository: %w", err)
	}
	rep.Damaged = damaged
	if len(damaged) == 0 {
		return rep, nil
	}
	if ao, ok := store.(interface{ RefuseAppendOnly(op string) error }); ok {
		if err := ao.RefuseAppendOnly("repair records"); err != nil {
			return rep, err
		}
	}
	repoID := store.ID()
	if !validRepoID(repoID) {
		return rep, fmt.Errorf("run log in repository: repository ID %q cannot name a directory", repoID)
	}
	var lost []repo.ID
	kept := map[repo.ID][]byte{}
	for _, id := range damaged {
		if b, ok := l.cache.storedFile(repoID, id); ok && decode("", b).err == nil {
			kept[id] = b
		} else {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 && !o.Force {
		if err := l.mayRemoveLost(ctx, store, lost); err != nil {
			return rep, err
		}
	}

	// 1. Saved again from the kept copies, unless an intact file holds the
	// same already (a repair stopped half-way, run again).
	there := map[string]bool{}
	bad := map[repo.ID]bool{}
	for _, id := range damaged {
		bad[id] = true
	}
	if err := store.ListFiles(ctx, repo.RecordFile, func(id repo.ID) error {
		if b, ok := l.cache.storedFile(repoID, id); ok && !bad[id] {
			there[string(b)] = true
		}
		return nil
	}); err != nil {
		return rep, fmt.Errorf("run log in repository: %w", err)
	}
	for _, id := range damaged {
		b, ok := kept[id]
		if !ok || there[string(b)] {
			continue
		}
		there[string(b)] = true
		nid, err := store.SaveFile(ctx, repo.RecordFile, b)
		if err != nil {
			return rep, fmt.Errorf("save damaged record file %s again from the copy kept on this host: %w", id, err)
		}
		l.cache.keepStored(repoID, map[repo.ID][]byte{nid: b})
		rep.Resaved++
	}
	// 2. The local records the repository lacks.
	l.ForgetStored(repoID, damaged...)
	if rep.Copied, err = l.Sync(ctx, store); err != nil {
		err = fmt.Errorf("copy the local records in before removing the damaged files (nothing was removed): %w", err)
		if len(lost) > 0 {
			err = fmt.Errorf("%w. If it says the repository is older than the run log: a damaged file with no copy on this host may be its newest head; 'cadang log verify' says which records the repository lacks, and once you know the repository is not an older copy, 'log verify --accept-rollback' accepts it and the repair can be run again", err)
		}
		return rep, err
	}
	// 3. Kept outside, then removed.
	dir := filepath.Join(o.KeepDir, repoID)
	if err := keep.MkdirSynced(dir); err != nil {
		return rep, fmt.Errorf("keep damaged record files: %w", err)
	}
	rep.Kept = dir
	for _, id := range damaged {
		if _, err := store.LoadFile(ctx, repo.RecordFile, id); !repo.IsDamaged(err) {
			if err == nil {
				continue // intact now: not ours to remove
			}
			return rep, fmt.Errorf("damaged record file %s: %w", id, err)
		}
		b, err := store.LoadStored(ctx, repo.RecordFile, id)
		if err != nil {
			return rep, fmt.Errorf("damaged record file %s: %w", id, err)
		}
		if err := keep.File(filepath.Join(dir, id.String()), b); err != nil {
			return rep, fmt.Errorf("keep damaged record file %s: %w", id, err)
		}
		if err := keep.SyncDir(dir); err != nil {
			return rep, fmt.Errorf("keep damaged record file %s: %w", id, err)
		}
		if err := store.RemoveFile(ctx, repo.RecordFile, id); err != nil {
			return rep, fmt.Errorf("remove damaged record file %s (its bytes are kept in %s): %w", id, dir, err)
		}
		rep.Removed = append(rep.Removed, id)
	}
	return rep, nil
}

// mayRemoveLost says, as an error wrapping ErrUnrecoverable, why the
// damaged files lost (no copy kept on this host) may hold what nothing
// here can put back: the local mirror holds no record of the repository
// (the run log of another user, or a lost one), or the repository holds
// entries of a chain this mirror did not write (another host, or another
// user's log, writes into it). A lost file may then be that writer's
// newest head, and without it the repository reads to that writer as an
// older copy of itself.
func (l *Log) mayRemoveLost(ctx context.Context, store RecordStore, lost []repo.ID) error {
	local, err := l.readLocal()
	if err != nil {
		return err
	}
	repoID := store.ID()
	mine := false
	known := map[string]bool{} // the chains of the local mirror (one, unless it moved between machines)
	for i := range local {
		if e := &local[i]; e.err == nil && !e.isHead {
			known[e.rec.Chain] = true
			mine = mine || e.rec.Concerns(repoID)
		}
	}
	if !mine {
		return fmt.Errorf("%d damaged run-log file(s), such as records/%s, have no copy on this host, and the local run log %s holds no record of repository %s: %w; nothing was removed. Run the repair as the user, and on the host, whose run log recorded the backups; --force removes the files all the same, keeping their bytes",
			len(lost), lost[0], l.path, short(repoID), ErrUnrecoverable)
	}
	remote, err := l.readStore(ctx, store)
	if err != nil {
		return fmt.Errorf("run log in repository: %w", err)
	}
	others := map[string]string{} // chain: signer's fingerprint
	for i := range remote {
		e := &remote[i]
		if e.err != nil {
			continue
		}
		c, signer := e.rec.Chain, e.rec.Signer
		if e.isHead {
			c, signer = e.head.Chain, e.head.Signer
		}
		if !known[c] {
			others[c] = Fingerprint(signer)
		}
	}
	if len(others) == 0 {
		return nil
	}
	var names []string
	for c, fp := range others {
		if fp == "" {
			fp = "none: unsigned"
		}
		names = append(names, fmt.Sprintf("chain %s, key %s", c, fp))
	}
	sort.Strings(names)
	return fmt.Errorf("%d damaged run-log file(s), such as records/%s, have no copy on this host, and repository %s also holds the run log of another host or user (%s): a damaged file may be its newest head, which only its own kept copies can put back: %w; nothing was removed. Run 'cadang repair records' there first; --force removes the files all the same, keeping their bytes, after which that run log may find the repository older than itself (log verify --accept-rollback accepts it)",
		len(lost), lost[0], short(repoID), strings.Join(names, ", "), ErrUnrecoverable)
}
