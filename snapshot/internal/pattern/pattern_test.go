package pattern

import "testing"

func TestMatcher(t *testing.T) {
	cases := []struct {
		pats  []string
		path  string
		isDir bool
		want  bool
	}{
		{[]string{"*.tmp"}, "/a/b/c.tmp", false, true},
		{[]string{"*.tmp"}, "/a/b/c.tmpx", false, false},
		{[]string{"/a/*.tmp"}, "/a/c.tmp", false, true},
		{[]string{"/a/*.tmp"}, "/a/b/c.tmp", false, false},
		{[]string{"/a/**/c.tmp"}, "/a/b/x/c.tmp", false, true},
		{[]string{"/a/**/c.tmp"}, "/a/c.tmp", false, true},
		{[]string{"cache/"}, "/home/u/cache", true, true},
		{[]string{"cache/"}, "/home/u/cache", false, false},
		{[]string{"b/c"}, "/a/b/c", false, true},
		{[]string{"*.log", "!keep.log"}, "/x/keep.log", false, false},
		{[]string{"*.log", "!keep.log"}, "/x/other.log", false, true},
		{[]string{"new\nline"}, "/new\nline", false, true},
		{nil, "/x", false, false},
	}
	for _, c := range cases {
		m, err := New(c.pats)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(c.path, c.isDir); got != c.want {
			t.Errorf("%q match %q (dir %v) = %v, want %v", c.pats, c.path, c.isDir, got, c.want)
		}
	}
	if _, err := New([]string{"[x"}); err == nil {
		t.Error("bad pattern accepted")
	}
}
