package backup_test

import (
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/snapshot/backup"
)

// A scheduled run is a systemd service, often root with no home: the
// resume record must still have a place, or a killed nightly backup
// would be read again in full.
func TestDefaultResumeDir(t *testing.T) {
	t.Setenv("CACHE_DIRECTORY", "/var/cache/cadang:/other")
	if got := backup.DefaultResumeDir(); got != "/var/cache/cadang/resume" {
		t.Errorf("with CACHE_DIRECTORY: %q", got)
	}
	t.Setenv("CACHE_DIRECTORY", "")
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	if got := backup.DefaultResumeDir(); got != filepath.Join(xdg, "cadang", "resume") {
		t.Errorf("with XDG_CACHE_HOME: %q", got)
	}
}
