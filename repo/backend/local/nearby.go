package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lpse/cadang/repo/backend"
)

// NearbyRepositoryError is Open's error for a directory that is no
// repository but lies inside one (-r naming its data/ or keys/) or holds
// one (-r naming the medium's root): the repository meant is almost
// certainly At, and a hint to init one here would put a second repository
// inside or beside it. It wraps backend.ErrNoRepository.
type NearbyRepositoryError struct {
	Path string   // as given to Open
	At   []string // the repositories found, the nearest first
}

func (e *NearbyRepositoryError) Error() string {
	return fmt.Sprintf("open repository %s: no config file, but there is a cadang repository at %s: did you mean -r %s?",
		e.Path, strings.Join(e.At, " and at "), e.At[0])
}

func (e *NearbyRepositoryError) Unwrap() error { return backend.ErrNoRepository }

// levelsUp is how far above a directory a repository is looked for: the
// deepest directory of the layout is data/xx/, two levels below the root.
const levelsUp = 3

// isRepositoryDir reports whether dir holds a repository: a config file
// beside the keys/ and data/ directories (a config alone may be anything's).
func isRepositoryDir(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, string(backend.ConfigFile))); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	for _, sub := range []backend.FileType{backend.KeyFile, backend.PackFile} {
		if fi, err := os.Stat(filepath.Join(dir, string(sub))); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// repositoryAbove returns the repository that path lies inside, or "".
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
		if abs = up; isRepositoryDir(abs) {
			return abs
		}
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
		if d := filepath.Join(path, n); isRepositoryDir(d) {
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
