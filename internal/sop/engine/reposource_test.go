package engine

import (
	"testing"

	"github.com/lpse/cadang/snapshot"
)

// Without a configuration file, a snapshot is of the source its tags name,
// within its job (two jobs' "database" sources are two sources), or of
// its host's paths.
func TestRepoSource(t *testing.T) {
	type want struct{ group, name string }
	snap := func(host string, paths []string, tags ...string) *snapshot.Snapshot {
		return &snapshot.Snapshot{Hostname: host, Paths: paths, Tags: tags}
	}
	cases := []struct {
		sn   *snapshot.Snapshot
		want want
	}{
		{snap("lpse", []string{"/epns_prod.dump"}, "job:spse-prod", "source:database"), want{"source\x00spse-prod\x00database", "database (spse-prod)"}},
		{snap("lpse", []string{"/latihan.dump"}, "source:database", "job:spse-latihan"), want{"source\x00spse-latihan\x00database", "database (spse-latihan)"}},
		{snap("lpse", []string{"/x.dump"}, "source:database"), want{"source\x00\x00database", "database"}},
		{snap("lpse", []string{"/srv/b", "/srv/a"}, "before-change"), want{"paths\x00lpse\x00/srv/a\x00/srv/b", "/srv/a, /srv/b"}},
		{snap("lpse2", []string{"/srv/a", "/srv/b"}), want{"paths\x00lpse2\x00/srv/a\x00/srv/b", "/srv/a, /srv/b"}},
	}
	for _, c := range cases {
		if g, n := repoSource(c.sn); g != c.want.group || n != c.want.name {
			t.Errorf("%+v: %q %q, want %q %q", c.sn, g, n, c.want.group, c.want.name)
		}
	}
}
