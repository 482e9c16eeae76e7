package keep

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileNeverOverwrites: a repair run again after one that kept a
// file and stopped finds the same bytes and goes on; other bytes under
// that name are an error, and what was kept stays.
func TestFileNeverOverwrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := File(p, []byte("damaged bytes")); err != nil {
		t.Fatal(err)
	}
	if err := File(p, []byte("damaged bytes")); err != nil {
		t.Fatalf("the same bytes again: %v", err)
	}
	if err := File(p, []byte("other bytes")); err == nil {
		t.Fatal("other bytes under a kept name: no error")
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "damaged bytes" {
		t.Fatalf("kept file now %q (%v)", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept file mode %v (%v), want 0600", fi.Mode(), err)
	}
}
