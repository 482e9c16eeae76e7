package errclass

import "testing"

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/mnt/backup\0401`: "/mnt/backup 1", "/mnt/b": "/mnt/b", `/a\`: `/a\`, `/a\04`: `/a\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
	if !within("/mnt/b/c", "/mnt/b") || within("/mnt/bc", "/mnt/b") || !within("/x", "/") {
		t.Error("within is wrong")
	}
}
