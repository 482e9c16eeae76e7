package runlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// Repair is what RepairStore found and did.
type Repair struct {
	// Damaged are the record files found damaged, Removed those taken out
	// of the repository (all of them unless an error stopped the repair).
	Damaged, Removed []repo.ID
	// Copied is the number of records of the local mirror copied into the
	// repository before anything was removed: those whose only copy there
	// was a damaged file, and any other the repository lacked.
	Copied int
	// Kept is the directory that holds the removed files' bytes as they
	// were stored, one file each, named by the file's ID.
	Kept string
}

// RepairStore takes the damaged record files out of a repository, which
// `check` and `log verify` otherwise report in every run for as long as
// they are there. Nothing readable is lost, and nothing is lost at all:
//
//  1. the kept copies of the damaged files are dropped (ForgetStored), so
//     that the next step does not take them for intact;
//  2. every intact record of the local mirror that concerns the
//     repository and is not there intact is copied in (Sync), with a new
//     head; if that fails, nothing is removed;
//  3. each damaged file's bytes, as stored, are written into
//     keepDir/REPOSITORY-ID/FILE-ID and synced, and only then is the file
//     removed from the repository.
//
// What a damaged file held is unreadable, in the repository and wherever
// its bytes are kept; if the local mirror lacks it too (the repository's
// records of another host, or a lost mirror), 'log verify' goes on
// reporting that record missing, which it is. A backend that refuses
// deletion (append-only, object lock) makes the removal fail: the error
// says so and the file stays.
func (l *Log) RepairStore(ctx context.Context, store RepairableStore, keepDir string) (Repair, error) {
	var rep Repair
	damaged, err := store.DamagedFiles(ctx, repo.RecordFile)
	if err != nil {
		return rep, fmt.Errorf("run log in repository: %w", err)
	}
	rep.Damaged = damaged
	if len(damaged) == 0 {
		return rep, nil
	}
	if !validRepoID(store.ID()) {
		return rep, fmt.Errorf("run log in repository: repository ID %q cannot name a directory", store.ID())
	}
	l.ForgetStored(store.ID(), damaged...)
	if rep.Copied, err = l.Sync(ctx, store); err != nil {
		return rep, fmt.Errorf("copy the local records in before removing the damaged files: %w", err)
	}
	dir := filepath.Join(keepDir, store.ID())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return rep, fmt.Errorf("keep damaged record files: %w", err)
	}
	rep.Kept = dir
	for _, id := range damaged {
		b, err := store.LoadStored(ctx, repo.RecordFile, id)
		if err != nil {
			return rep, fmt.Errorf("damaged record file %s: %w", id, err)
		}
		if err := keepFile(filepath.Join(dir, id.String()), b); err != nil {
			return rep, fmt.Errorf("keep damaged record file %s: %w", id, err)
		}
		if err := store.RemoveFile(ctx, repo.RecordFile, id); err != nil {
			return rep, fmt.Errorf("remove damaged record file %s (its bytes are kept in %s): %w", id, dir, err)
		}
		rep.Removed = append(rep.Removed, id)
	}
	return rep, syncDir(dir)
}

// keepFile writes b to a new file at path and syncs it. A file already
// there (kept by a repair that stopped before the removal) is left as it
// is if it holds the same bytes, and is an error if not: nothing kept is
// overwritten.
func keepFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := os.ReadFile(path)
		if rerr == nil && bytes.Equal(old, b) {
			return nil
		}
		return fmt.Errorf("%s is there already, with other bytes: move it away first", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
