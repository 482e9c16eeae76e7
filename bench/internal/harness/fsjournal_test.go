package harness

import (
	"strings"
	"testing"
)

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`: "/mnt/a b",
		`/plain`:      "/plain",
		`/x\134y`:     `/x\y`,
		`/bad\09`:     `/bad\09`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		p, mp string
		ok    bool
	}{{"/var/tmp", "/", true}, {"/var/tmp", "/var", true}, {"/variable", "/var", false}, {"/var", "/var", true}} {
		if within(c.p, c.mp) != c.ok {
			t.Errorf("within(%q, %q) != %v", c.p, c.mp, c.ok)
		}
	}
}

func TestMountOf(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
30 22 0:26 / /tmp rw shared:5 - tmpfs tmpfs rw
31 22 7:0 / /mnt/bench\040disk rw,relatime shared:6 - ext4 /dev/loop0 rw
32 22 0:27 / /var/tmp rw - tmpfs tmpfs rw
33 22 254:0 / /var/tmp rw - ext4 /dev/vdb rw
junk line
`
	for p, want := range map[string]string{
		"/":                  "ext4 /dev/vda",
		"/srv/x":             "ext4 /dev/vda",
		"/tmp/a":             "tmpfs tmpfs",
		"/tmpfile":           "ext4 /dev/vda",
		"/mnt/bench disk/pb": "ext4 /dev/loop0",
		"/var/tmp/pb":        "ext4 /dev/vdb", // mounted over: the later mount
	} {
		fstype, source := mountOf(strings.NewReader(info), p)
		if got := fstype + " " + source; got != want {
			t.Errorf("mountOf(%q) = %q, want %q", p, got, want)
		}
	}
}
