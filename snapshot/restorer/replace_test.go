package restorer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// noTemp fails if a temporary file of a restore is left under dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// A restore over an existing tree (--overwrite always, the default, and
// if-changed) replaced each file by removing it first, all of them before
// any was written: a file whose blob turned out damaged was then lost from
// the target although the target's copy was good, and an interrupt left
// the tree without the files not yet written. A file that replaces an
// entry is now written under a temporary name beside it and renamed over
// it once complete: the entry stays as it was until then.
func TestRestoreReplaceKeepsOldOnFailure(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	victim := snapshottest.RandBytes(31, 700<<10)
	snapshottest.WriteFile(t, filepath.Join(src, "b", "victim"), victim)
	snapshottest.WriteFile(t, filepath.Join(src, "a", "ok"), []byte("new content"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	vn, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(src, "b", "victim"))
	if err != nil || len(vn.Content) < 2 {
		t.Fatalf("victim: %v %+v", err, vn)
	}
	r.Damage(vn.Content[1].ID)

	for _, mode := range []OverwriteMode{OverwriteAlways, OverwriteIfChanged} {
		target := t.TempDir()
		oldV, oldOK := filepath.Join(target, src, "b", "victim"), filepath.Join(target, src, "a", "ok")
		snapshottest.WriteFile(t, oldV, []byte("the target's own victim"))
		snapshottest.WriteFile(t, oldOK, []byte("the target's own ok"))
		sum, err := (&Restorer{Repo: r, Overwrite: mode, Verify: true}).Restore(ctx, sn, "/", target)
		var re *RestoreError
		if !errors.As(err, &re) || len(sum.FailedFiles) != 1 || sum.Replaced != 1 {
			t.Fatalf("mode %d: %v %+v", mode, err, sum)
		}
		if got, err := os.ReadFile(oldV); err != nil || string(got) != "the target's own victim" {
			t.Errorf("mode %d: the damaged file's old copy is %q (%v); want it kept", mode, got, err)
		}
		if got, err := os.ReadFile(oldOK); err != nil || string(got) != "new content" {
			t.Errorf("mode %d: a/ok is %q (%v)", mode, got, err)
		}
		noTemp(t, target)
	}
}

// Interrupted, a restore over an existing tree leaves every file either as
// it was or as the snapshot has it, and no temporary file.
func TestRestoreReplaceInterrupted(t *testing.T) {
	src := t.TempDir()
	const n = 40
	want := map[string][]byte{}
	for i := range n {
		p := filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("x", i/26))
		want[p] = snapshottest.RandBytes(uint64(100+i), 64<<10)
		snapshottest.WriteFile(t, filepath.Join(src, p), want[p])
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	for p := range want {
		snapshottest.WriteFile(t, filepath.Join(target, src, p), []byte("old "+p))
	}
	ctx, cancel := context.WithCancel(context.Background())
	created := 0
	hook := func(op, rel string) {
		if op == "create" {
			if created++; created == n/2 {
				cancel()
			}
		}
	}
	_, err := (&Restorer{Repo: r, testHook: hook, Workers: 1}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interrupted restore, got %v", err)
	}
	var old, restored int
	for p, data := range want {
		got, err := os.ReadFile(filepath.Join(target, src, p))
		switch {
		case err != nil:
			t.Errorf("%s: %v (the name was left empty)", p, err)
		case string(got) == "old "+p:
			old++
		case bytes.Equal(got, data):
			restored++
		default:
			t.Errorf("%s: neither the old nor the snapshot's content (%d bytes)", p, len(got))
		}
	}
	if old == 0 || restored == 0 {
		t.Errorf("%d old, %d restored: the interrupt did not fall in the middle", old, restored)
	}
	noTemp(t, target)
}

// if-changed keeps a FIFO that is there as a FIFO: it has no content to
// differ, and re-creating it on every run counted it as replaced.
func TestRestoreIfChangedKeepsFIFO(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	sum, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 0 || sum.Skipped != 1 || sum.Others != 0 {
		t.Errorf("%v %+v", err, sum)
	}
}
