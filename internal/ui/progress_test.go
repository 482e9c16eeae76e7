package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// On a terminal the restore's progress printed each failed file as it
// failed, and the restore listed it again when it ended: a restore's
// progress counts the error and prints no line (the list at the end names
// each file once, with its cause); a backup's still prints its line.
func TestRestoreErrorNotPrintedOnBar(t *testing.T) {
	var buf bytes.Buffer
	c := NewCounter(&buf, Bar, "restore")
	Restore{Counter: c}.Error("/srv/a", errors.New("no space left on device"))
	if strings.Contains(buf.String(), "/srv/a") {
		t.Errorf("the restore's progress printed the error: %q", buf.String())
	}
	if n := c.snapshot().ErrorCount; n != 1 {
		t.Errorf("error count %d, want 1", n)
	}
	c.Error("/srv/b", errors.New("permission denied"))
	if !strings.Contains(buf.String(), "error: /srv/b: permission denied\n") {
		t.Errorf("a backup's error line is gone: %q", buf.String())
	}
	c.Done()
}
