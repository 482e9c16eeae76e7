package pwfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		mode os.FileMode
		warn string // "" = no warning
	}{
		{0o600, ""},
		{0o400, ""},
		{0o640, "can be read by its group (mode 0640)"},
		{0o604, "can be read by others (mode 0604)"},
		{0o644, "can be read by its group and others (mode 0644)"},
		{0o620, ""}, // writable by the group is not readable by it
	}
	for _, c := range cases {
		p := filepath.Join(dir, "pw-"+c.mode.String())
		if err := os.WriteFile(p, []byte("s3cret\r\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// chmod after the write: the umask must not decide the test.
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		var warnings []string
		got, err := Read(p, func(m string) { warnings = append(warnings, m) })
		if err != nil || string(got) != "s3cret" {
			t.Errorf("%v: Read = %q, %v", c.mode, got, err)
		}
		switch {
		case c.warn == "" && len(warnings) != 0:
			t.Errorf("%v: unexpected warning %q", c.mode, warnings)
		case c.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.warn) || !strings.Contains(warnings[0], p)):
			t.Errorf("%v: warnings %q, want one naming %s and %q", c.mode, warnings, p, c.warn)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := Read(empty, nil); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestModeWarningIgnoresPipes(t *testing.T) {
	if w := ModeWarning("/dev/fd/63", os.ModeNamedPipe|0o666); w != "" {
		t.Errorf("a pipe got a warning: %s", w)
	}
}
