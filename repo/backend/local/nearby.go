package local

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/internal/handle"
)

// NearbyRepositoryError is Open's error for a directory that is no
// repository but lies inside one's layout (-r naming its data/ or keys/) or holds
// one (-r naming the medium's root): the repository meant is almost
// certainly At, and a hint to init one here would put a second repository
// inside or beside it. It wraps backend.ErrNoRepository.
type NearbyRepositoryError struct {
	Path string   // as given to Open
	At   []string // the repositories found, the nearest first
}

func (e *NearbyRepositoryError) Error() string {
	if len(e.At) > 1 {
		// Several below it (a directory of media): none is nearer, so
		// naming one would be a guess.
		return fmt.Sprintf("open repository %s: no config file, but there are cadang repositories at %s: give -r the one you mean",
			e.Path, strings.Join(e.At, ", "))
	}
	return fmt.Sprintf("open repository %s: no config file, but there is a cadang repository at %s: did you mean -r %s?",
		e.Path, e.At[0], e.At[0])
}

func (e *NearbyRepositoryError) Unwrap() error { return backend.ErrNoRepository }

// levelsUp is how far above a directory a repository is looked for: the
// deepest directory of the layout is data/xx/, two levels below the root.
const levelsUp = 3

// configMagic opens every cadang config file (repo's configMagic,
// doc/design.md §5): a config file without it is some other program's.
const configMagic = "CADANGCF"

// isRepositoryDir reports whether dir holds a cadang repository: a config
// file that opens with cadang's magic, beside the keys/ and data/
// directories (a file named config, or restic's layout, is anything's).
// Nothing is followed through a symbolic link, and only the config's first
// bytes are read, so that the search on an error's path cannot hang on a
// link to a dead network mount, or read a large file.
func isRepositoryDir(dir string) bool {
	for _, sub := range []backend.FileType{backend.KeyFile, backend.PackFile} {
		if fi, err := os.Lstat(filepath.Join(dir, string(sub))); err != nil || !fi.IsDir() {
			return false
		}
	}
	cf := filepath.Join(dir, string(backend.ConfigFile))
	if fi, err := os.Lstat(cf); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(cf)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(configMagic))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == configMagic
}

// isLayoutName reports whether name is a directory of a repository's
// layout (data/, keys/, snapshots/ ...), where another repository must not
// be made; other directories below a repository's root are no part of it.
func isLayoutName(name string) bool {
	return slices.ContainsFunc(handle.Types, func(t backend.FileType) bool {
		return t != backend.ConfigFile && string(t) == name
	})
}

// repositoryAbove returns the repository whose layout directories (data/,
// keys/ ...) path lies in, or "".
func repositoryAbove(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for range levelsUp {
		up := filepath.Dir(abs)
		if up == abs {
			return ""
		}
		if isLayoutName(filepath.Base(abs)) && isRepositoryDir(up) {
			return up
		}
		abs = up
	}
	return ""
}

// repositoriesBelow returns the repositories among names, the entries of
// the directory path, as path/NAME.
func repositoriesBelow(path string, names []string) []string {
	var found []string
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			continue
		}
		d := filepath.Join(path, n)
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue // a file, or a link (perhaps to a dead mount)
		}
		if isRepositoryDir(d) {
			found = append(found, d)
		}
	}
	return found
}

// nearbyRepository returns Open's error for path, which has no config, when
// a repository lies above it or in a directory below it; else nil.
func nearbyRepository(path string, names []string) error {
	if at := repositoryAbove(path); at != "" {
		return &NearbyRepositoryError{Path: path, At: []string{at}}
	}
	if at := repositoriesBelow(path, names); len(at) > 0 {
		return &NearbyRepositoryError{Path: path, At: at}
	}
	return nil
}
