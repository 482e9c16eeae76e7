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
// overwritten. The bytes are written under a temporary name first and
// renamed into place once synced, so that a crash leaves either nothing at
// path or all of b (a partial file would stop the repair run again); the
// caller syncs the directory (SyncDir) to make the name durable.
func File(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil {
		if bytes.Equal(old, b) {
			return nil
		}
		return fmt.Errorf("%s is there already, with other bytes: move it away first", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err = f.Chmod(0o600); err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: it fails rather than replace a file that
		// appeared at path meanwhile.
		err = os.Link(tmp, path)
		switch {
		case errors.Is(err, fs.ErrExist):
			err = File(path, b) // the same bytes are fine; other bytes an error
		case err != nil:
			// A file system without hard links (a FAT rotation medium):
			// rename, having found no file at path above.
			err = os.Rename(tmp, path)
		}
	}
	_ = os.Remove(tmp)
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
