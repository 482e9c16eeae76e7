// Package pattern implements the path patterns of cadang's --exclude,
// --include and find: the syntax documented at archiver.Matcher. The
// archiver (excludes), the restorer (includes and excludes) and the walker
// (Find) share it; archiver.Matcher is its public face.
package pattern

import (
	"fmt"
	"path/filepath"
	"strings"
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
	pats []pattern
}

type pattern struct {
	parts   []string
	dirOnly bool
	negate  bool
}

// New compiles patterns. Empty patterns are ignored.
func New(patterns []string) (*Matcher, error) {
	m := &Matcher{}
	for _, p := range patterns {
		p = strings.TrimRight(p, "\r")
		if p == "" {
			continue
		}
		var pt pattern
		if strings.HasPrefix(p, "!") {
			pt.negate = true
			p = p[1:]
		}
		if strings.HasSuffix(p, "/") && len(p) > 1 {
			pt.dirOnly = true
			p = strings.TrimRight(p, "/")
		}
		anchored := strings.HasPrefix(p, "/")
		p = strings.Trim(p, "/")
		if p == "" {
			return nil, fmt.Errorf("invalid pattern %q", p)
		}
		parts := strings.Split(p, "/")
		for _, c := range parts {
			if _, err := filepath.Match(c, ""); err != nil {
				return nil, fmt.Errorf("invalid pattern %q: %w", p, err)
			}
		}
		if !anchored && parts[0] != "**" {
			parts = append([]string{"**"}, parts...)
		}
		pt.parts = parts
		m.pats = append(m.pats, pt)
	}
	return m, nil
}

// Empty reports whether the matcher has no patterns.
func (m *Matcher) Empty() bool { return m == nil || len(m.pats) == 0 }

// Match reports whether the absolute path p (of a directory if isDir)
// matches.
func (m *Matcher) Match(p string, isDir bool) bool {
	if m.Empty() {
		return false
	}
	comps := strings.Split(strings.Trim(p, "/"), "/")
	matched := false
	for _, pt := range m.pats {
		if pt.negate != matched {
			continue // cannot change the outcome
		}
		if pt.dirOnly && !isDir {
			continue
		}
		if matchParts(pt.parts, comps) {
			matched = !pt.negate
		}
	}
	return matched
}

func matchParts(pat, comps []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(comps); i++ {
				if matchParts(rest, comps[i:]) {
					return true
				}
			}
			return false
		}
		if len(comps) == 0 {
			return false
		}
		if ok, _ := filepath.Match(pat[0], comps[0]); !ok {
			return false
		}
		pat, comps = pat[1:], comps[1:]
	}
	return len(comps) == 0
}
