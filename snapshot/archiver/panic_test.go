package archiver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/panicerr"
)

// panicFS panics when asked for one file's content or one directory's
// names, as a bug reached by odd input would.
type panicFS struct {
	LocalFS
	open, dir string
}

func (p *panicFS) Open(name string) (File, error) {
	if name == p.open {
		panic("crafted file " + name)
	}
	return p.LocalFS.Open(name)
}

func (p *panicFS) ReadDirNames(name string) ([]string, error) {
	if name == p.dir {
		panic("crafted directory " + name)
	}
	return p.LocalFS.ReadDirNames(name)
}

// A panic in any of the backup's goroutines (file readers, directory
// walkers) fails the backup with an error; it does not kill the process.
func TestPanicInWorkerIsAnError(t *testing.T) {
	src := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		if err := os.MkdirAll(filepath.Join(src, d, "deeper"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, d, "f"), []byte("content of "+d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, fs := range []*panicFS{
		{open: filepath.Join(src, "b", "f")},
		{dir: filepath.Join(src, "c", "deeper")},
	} {
		a := &Archiver{Repo: newTestRepo(t), FS: fs, Hostname: "h"}
		_, err := a.Snapshot(context.Background(), []string{src})
		var pe *panicerr.Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "crafted") {
			t.Fatalf("backup with a panicking %+v: err = %v, want a recovered panic", fs, err)
		}
	}
}
