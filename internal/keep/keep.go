// Package keep writes the bytes of damaged repository files that a repair
// takes out of the repository to the local disk, durably and without ever
// overwriting what an earlier repair kept.
package keep

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File writes b to a new file at path and syncs it. A file already
// there (kept by a repair that stopped before the removal) is left as it
// is if it holds the same bytes, and is an error if not: nothing kept is
// overwritten. A file it could not write whole is removed.
func File(path string, b []byte) error {
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
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// MkdirSynced makes dir and its missing parents, and syncs each one made
// into its parent, so that a kept file's name survives a crash.
func MkdirSynced(dir string) error {
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range made {
		if err := SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// SyncDir syncs a directory, so that the names made in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
