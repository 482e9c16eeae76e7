package restorer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

// damagedRepo is what the partial-damage test needs from a repository:
// the normal interface plus a way to damage one blob.
type damager func(t *testing.T, id repo.ID)

func testRestoreDamaged(t *testing.T, r backupRepo, damage damager) {
	ctx := context.Background()
	src := t.TempDir()
	good := map[string][]byte{
		"a/small":   []byte("small file"),
		"a/big":     snapshottest.RandBytes(21, 1<<20+3),
		"b/other":   snapshottest.RandBytes(22, 300<<10),
		"c/shared":  bytes.Repeat([]byte("s"), 1000),
		"empty":     nil,
		"deep/x/yy": []byte("yy"),
	}
	victim := snapshottest.RandBytes(23, 700<<10)
	for name, data := range good {
		snapshottest.WriteFile(t, filepath.Join(src, name), data)
	}
	snapshottest.WriteFile(t, filepath.Join(src, "b", "victim"), victim)
	sn := mustSnapshot(t, &archiver.Archiver{Repo: r, Hostname: "h"}, src)
	vn, err := walker.FindNode(ctx, r, sn.Tree, filepath.Join(src, "b", "victim"))
	if err != nil || len(vn.Content) < 2 {
		t.Fatalf("victim: %v %+v", err, vn)
	}
	damage(t, vn.Content[1].ID)

	target := t.TempDir()
	var reported []string
	rs := &Restorer{Repo: r, Verify: true, Progress: &restoreErrs{paths: &reported}}
	sum, err := rs.Restore(ctx, sn, "/", target)
	var re *RestoreError
	if !errors.As(err, &re) || !errors.Is(err, ErrRestoreIncomplete) {
		t.Fatalf("want RestoreError, got %v", err)
	}
	vp := filepath.Join(src, "b", "victim")
	if !slices.Equal(re.FailedFiles, []string{vp}) || !slices.Equal(sum.FailedFiles, []string{vp}) || sum.Damaged != 1 {
		t.Errorf("failed files: %v, %d damaged", re.FailedFiles, sum.Damaged)
	}
	// The summary counts what was restored: the good files, not the
	// damaged one (the minutes said "3 files" with 2 in the target).
	var goodBytes uint64
	for _, data := range good {
		goodBytes += uint64(len(data))
	}
	if sum.Files != uint64(len(good)) || sum.Bytes != goodBytes || sum.Verified != uint64(len(good)) {
		t.Errorf("summary: %d files, %d bytes, %d verified; want %d, %d, %d", sum.Files, sum.Bytes, sum.Verified, len(good), goodBytes, len(good))
	}
	if !strings.Contains(err.Error(), vp) || len(reported) != 1 {
		t.Errorf("error %v; reported %v", err, reported)
	}
	if _, err := os.Lstat(filepath.Join(target, vp)); !os.IsNotExist(err) {
		t.Errorf("damaged file left in the target: %v", err)
	}
	for name, data := range good {
		got, err := os.ReadFile(filepath.Join(target, src, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: not restored identically (%v)", name, err)
		}
	}
}

type restoreErrs struct {
	NopRestoreProgress
	paths *[]string
}

func (r *restoreErrs) Error(p string, err error) { *r.paths = append(*r.paths, p) }

func TestRestorePartlyDamaged(t *testing.T) {
	r := newTestRepo(t)
	testRestoreDamaged(t, r, func(t *testing.T, id repo.ID) { r.Damage(id) })
}

func TestRestoreOptions(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	files := []string{"srv/spse/x.sql", "srv/spse/docs/a.pdf", "srv/spse/docs/b.pdf", "srv/tmp/junk", "etc/conf"}
	for i, f := range files {
		snapshottest.WriteFile(t, filepath.Join(src, f), snapshottest.RandBytes(uint64(i), 1000+i))
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	list := func(root string) []string {
		var out []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				out = append(out, rel)
			}
			return nil
		})
		return out
	}

	// Include and exclude.
	target := t.TempDir()
	rs := &Restorer{Repo: r, Include: []string{"/" + strings.TrimPrefix(src, "/") + "/srv/spse"}, Exclude: []string{"b.pdf"}}
	if _, err := rs.Restore(ctx, sn, "", target); err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(src, "/")
	if got, want := list(target), []string{rel + "/srv/spse/docs/a.pdf", rel + "/srv/spse/x.sql"}; !slices.Equal(got, want) {
		t.Errorf("include/exclude: got %v, want %v", got, want)
	}

	// A subpath: its contents go into the target.
	target = t.TempDir()
	rs = &Restorer{Repo: r}
	if _, err := rs.Restore(ctx, sn, filepath.Join(src, "srv", "spse"), target); err != nil {
		t.Fatal(err)
	}
	if got := list(target); !slices.Equal(got, []string{"docs/a.pdf", "docs/b.pdf", "x.sql"}) {
		t.Errorf("subpath: %v", got)
	}
	// A single file.
	target2 := t.TempDir()
	if _, err := rs.Restore(ctx, sn, filepath.Join(src, "etc", "conf"), target2); err != nil {
		t.Fatal(err)
	}
	if got := list(target2); !slices.Equal(got, []string{"conf"}) {
		t.Errorf("file: %v", got)
	}

	// Overwrite modes.
	xp := filepath.Join(target, "x.sql")
	snapshottest.WriteFile(t, xp, []byte("local change"))
	rs = &Restorer{Repo: r, Overwrite: OverwriteNever}
	sum, err := rs.Restore(ctx, sn, filepath.Join(src, "srv", "spse"), target)
	if err != nil || string(readAll(t, xp)) != "local change" || sum.Skipped != 3 || sum.Replaced != 0 {
		t.Errorf("never: %v %+v", err, sum)
	}
	// The summary says how many existing files a restore replaced, and a
	// dry run how many it would.
	dry := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, DryRun: true}
	sum, err = dry.Restore(ctx, sn, filepath.Join(src, "srv", "spse"), target)
	if err != nil || string(readAll(t, xp)) != "local change" || sum.Replaced != 1 || sum.Skipped != 2 {
		t.Errorf("if-changed, dry run: %v %+v", err, sum)
	}
	rs.Overwrite = OverwriteIfChanged
	sum, err = rs.Restore(ctx, sn, filepath.Join(src, "srv", "spse"), target)
	if err != nil || !bytes.Equal(readAll(t, xp), readAll(t, filepath.Join(src, "srv/spse/x.sql"))) || sum.Skipped != 2 || sum.Files != 1 || sum.Replaced != 1 {
		t.Errorf("if-changed: %v %+v", err, sum)
	}
	rs.Overwrite = OverwriteAlways
	sum, err = rs.Restore(ctx, sn, filepath.Join(src, "srv", "spse"), target)
	if err != nil || sum.Files != 3 || sum.Skipped != 0 || sum.Replaced != 3 {
		t.Errorf("always: %v %+v", err, sum)
	}

	// Dry run writes nothing.
	target3 := t.TempDir()
	rs = &Restorer{Repo: r, DryRun: true}
	sum, err = rs.Restore(ctx, sn, "/", target3)
	if err != nil || sum.Files != 5 || len(list(target3)) != 0 {
		t.Errorf("dry run: %v %+v %v", err, sum, list(target3))
	}
	if _, err := ParseOverwriteMode("sometimes"); err == nil {
		t.Error("bad mode accepted")
	}
}

func TestRestoreVerifyDetectsCorruption(t *testing.T) {
	// Verify compares what is on disk with the snapshot: simulate a disk
	// that loses writes with a hasher that disagrees.
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "f"), []byte("content"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	rs := &Restorer{Repo: badHasher{r}, Verify: true}
	_, err := rs.Restore(context.Background(), sn, "/", t.TempDir())
	if !errors.Is(err, ErrRestoreIncomplete) || !strings.Contains(err.Error(), "verify") {
		t.Errorf("got %v", err)
	}
}

type badHasher struct{ Repository }

func (badHasher) BlobID(data []byte) repo.ID { return repo.ID{1} }

func TestRestoreMtimeOfDirs(t *testing.T) {
	src := t.TempDir()
	d := filepath.Join(src, "d")
	snapshottest.WriteFile(t, filepath.Join(d, "f"), []byte("x"))
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	os.Chtimes(d, old, old)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	fi, err := os.Stat(filepath.Join(target, d))
	if err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("dir mtime %v, want %v (%v)", fi.ModTime(), old, err)
	}
}
