package runlog

import (
	"strings"
	"testing"
)

// A failed backup of several sources says which were saved and which
// not; one of a single source, and a failure with every source saved,
// add nothing.
func TestMessageTextSourcesSaved(t *testing.T) {
	r := Record{Op: OpBackup, Result: Failed, Note: NewNote("source-failed", "database"), Message: "boom",
		Sources: []Source{{Name: "database", Result: Failed}, {Name: "upload", Result: OK, Snapshot: strings.Repeat("8c", 32)}, {Name: "config", Result: Failed}}}
	if got, want := MessageText("en", &r), `Source database failed: "boom"; sources saved: upload (snapshot 8c8c8c8c); not saved: database, config`; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	if got, want := MessageText("id", &r), `Sumber database gagal: "boom"; sumber yang tersimpan: upload (snapshot 8c8c8c8c); yang tidak tersimpan: database, config`; got != want {
		t.Errorf("id: %q, want %q", got, want)
	}
	r.Sources[1] = Source{Name: "upload", Result: Failed}
	if got, want := MessageText("en", &r), `Source database failed: "boom"; no source was saved (database, upload, config)`; got != want {
		t.Errorf("none saved: %q, want %q", got, want)
	}
	r.Sources = r.Sources[:1]
	if got := MessageText("en", &r); got != `Source database failed: "boom"` {
		t.Errorf("one source: %q", got)
	}
}
