package restorer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A restore interrupted before its hardlinks (they are made last) is
// finished by the same restore with --overwrite if-changed or never: the
// files already there are kept, and the links to them must still be made.
// Before, a link whose file was kept was passed over in silence.
func TestRestoreRelinksToKeptFile(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a"), []byte("hardlinked"))
	snapshottest.WriteFile(t, filepath.Join(src, "c"), []byte("plain"))
	if err := os.Link(filepath.Join(src, "a"), filepath.Join(src, "b")); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	rel := strings.TrimPrefix(src, "/")
	for _, mode := range []OverwriteMode{OverwriteIfChanged, OverwriteNever} {
		target := t.TempDir()
		if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
			t.Fatal(err)
		}
		a, b := filepath.Join(target, rel, "a"), filepath.Join(target, rel, "b")
		if err := os.Remove(b); err != nil { // as if interrupted before the links
			t.Fatal(err)
		}
		dry, err := (&Restorer{Repo: r, Overwrite: mode, DryRun: true}).Restore(ctx, sn, "/", target)
		if err != nil || dry.Links != 1 || dry.Skipped != 2 || dry.Files != 0 {
			t.Errorf("mode %d, dry run: %v %+v", mode, err, dry)
		}
		sum, err := (&Restorer{Repo: r, Overwrite: mode}).Restore(ctx, sn, "/", target)
		if err != nil || sum.Links != 1 || sum.Skipped != 2 || sum.Files != 0 || len(sum.Errors) != 0 {
			t.Fatalf("mode %d: %v %+v", mode, err, sum)
		}
		fa, errA := os.Stat(a)
		fb, errB := os.Stat(b)
		if errA != nil || errB != nil || fa.Sys().(*syscall.Stat_t).Ino != fb.Sys().(*syscall.Stat_t).Ino {
			t.Fatalf("mode %d: b is not a link of a: %v %v", mode, errA, errB)
		}
		// Done: a further run keeps all three, and counts the link as kept.
		sum, err = (&Restorer{Repo: r, Overwrite: mode}).Restore(ctx, sn, "/", target)
		if err != nil || sum.Links != 0 || sum.Skipped != 3 {
			t.Errorf("mode %d, again: %v %+v", mode, err, sum)
		}
	}

	// Under never, what stands at the first name is kept whatever it is:
	// a link is never made to something that is not the snapshot's file
	// (a symlink, other content). The later member is written as a file
	// of its own from its own extents, and the summary says why.
	outside := filepath.Join(t.TempDir(), "outside")
	snapshottest.WriteFile(t, outside, []byte("not in the snapshot"))
	for name, plant := range map[string]func(a string) error{
		"symlink":       func(a string) error { return os.Symlink(outside, a) },
		"other content": func(a string) error { return os.WriteFile(a, []byte("edited by hand"), 0o644) },
	} {
		target := t.TempDir()
		if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
			t.Fatal(err)
		}
		a, b := filepath.Join(target, rel, "a"), filepath.Join(target, rel, "b")
		if err := os.Remove(a); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := plant(a); err != nil {
			t.Fatal(err)
		}
		dry, err := (&Restorer{Repo: r, Overwrite: OverwriteNever, DryRun: true}).Restore(ctx, sn, "/", target)
		if err != nil || dry.Links != 0 || dry.LinkCopies != 1 || dry.Files != 1 || len(dry.Errors) != 0 {
			t.Errorf("%s at the first name, never, dry run: %v %+v", name, err, dry)
		}
		sum, err := (&Restorer{Repo: r, Overwrite: OverwriteNever}).Restore(ctx, sn, "/", target)
		if err != nil || sum.Links != 0 || sum.LinkCopies != 1 || sum.Files != 1 || len(sum.Errors) != 0 ||
			len(sum.LinkCopyNotes) != 1 || !strings.Contains(sum.LinkCopyNotes[0].Error, "is not the snapshot's file") {
			t.Errorf("%s at the first name, never: %v %+v", name, err, sum)
		}
		fb, err := os.Lstat(b)
		if got, rerr := os.ReadFile(b); err != nil || rerr != nil || !fb.Mode().IsRegular() || string(got) != "hardlinked" {
			t.Errorf("%s at the first name: b is %v (%v), %q (%v); want the snapshot's content in a file of its own", name, fb, err, got, rerr)
		}
		if got, err := os.ReadFile(outside); err != nil || string(got) != "not in the snapshot" {
			t.Errorf("%s at the first name: the file outside now holds %q (%v)", name, got, err)
		}
	}
}

// A restore interrupted while it plans has written nothing: its error
// says so, so that the CLI does not tell of a partial tree to finish.
func TestRestoreInterruptedBeforeWriting(t *testing.T) {
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a"), []byte("a"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	target := filepath.Join(t.TempDir(), "t")
	_, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNothingWritten) {
		t.Fatalf("interrupted before writing: %v", err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the target was made: %v", err)
	}
}
