package archiver

import (
	"bufio"
	"os"
	"strings"

	"github.com/lpse/cadang/snapshot/internal/pattern"
)

// Matcher matches absolute paths against gitignore-like patterns:
//
//   - A pattern is split at '/' into components; each component is matched
//     with filepath.Match (so '*', '?', '[a-z]' and '\' escapes work within
//     one component), and a "**" component matches any number of components.
//   - A pattern that starts with '/' is anchored at the root: "/srv/*.log"
//     matches /srv/a.log but not /srv/x/a.log.
//   - Any other pattern matches at any depth, as if it started with "**/":
//     "*.tmp" matches /a.tmp and /x/y/b.tmp; "cache/*" matches /home/u/cache/f.
//   - A trailing '/' makes the pattern match directories only.
//   - A leading '!' negates: a path matched by a later negated pattern is not
//     matched. The last pattern that matches decides.
//
// A pattern that matches a directory matches everything below it (the caller
// does not descend into it).
type Matcher struct {
	m *pattern.Matcher
}

// NewMatcher compiles patterns. Empty patterns are ignored.
func NewMatcher(patterns []string) (*Matcher, error) {
	m, err := pattern.New(patterns)
	if err != nil {
		return nil, err
	}
	return &Matcher{m}, nil
}

// Empty reports whether the matcher has no patterns.
func (m *Matcher) Empty() bool { return m == nil || m.m.Empty() }

// Match reports whether the absolute path p (of a directory if isDir)
// matches.
func (m *Matcher) Match(p string, isDir bool) bool { return m != nil && m.m.Match(p, isDir) }

// ReadPatternFile reads patterns from a file, one a line; blank lines and
// lines starting with '#' are skipped (as for --exclude-file).
func ReadPatternFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}
