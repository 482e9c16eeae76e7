package restorer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// plantJournal leaves in target what a restore of token that was killed
// leaves, as the restore names it: its journal, listing dir, and in dir a
// temporary file and a stage holding a FIFO. It returns their paths.
func plantJournal(t *testing.T, target, token, dir string) (journal string, entries []string) {
	t.Helper()
	journal = filepath.Join(target, ".cadang-restore-"+token+".run")
	body := fmt.Sprintf("%s\npid 999999 host %s\n%s\n", journalMagic, strconv.Quote("dead-host"), strconv.Quote(dir))
	if err := os.WriteFile(journal, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(target, dir, ".cadang-restore-"+token+"-0011223344556677")
	stage := filepath.Join(target, dir, ".cadang-restore-"+token+"-8899aabbccddeeff")
	if err := os.WriteFile(file, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(stage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(stage, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	return journal, []string{file, stage}
}

// A restore killed with SIGKILL leaves its temporary entries (a file
// written beside the one it replaces, a stage) in the target: a later
// restore into the same target removes those of a dead restore, which its
// journal lists, and says so; those of a restore that runs (its journal
// locked) stay.
func TestRestoreRemovesLeftoversOfKilledRestore(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "f"), []byte("the snapshot's"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	dir := filepath.Join(src[1:])
	deadJournal, dead := plantJournal(t, target, "0123456789ab", dir)
	liveJournal, live := plantJournal(t, target, "ba9876543210", dir)
	fd, err := unix.Open(liveJournal, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil { // its restore runs
		t.Fatal(err)
	}
	var told []Leftover
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
	if _, err := rs.Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(dead, deadJournal) {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s: left (%v)", p, err)
		}
	}
	for _, p := range append(live, liveJournal) {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("a running restore's %s: %v", p, err)
		}
	}
	if len(told) != 2 {
		t.Fatalf("told %+v", told)
	}
	for i, l := range told {
		if l.Err != nil || l.PID != 999999 || l.Host != "dead-host" || (l.Path != dead[0] && l.Path != dead[1]) {
			t.Errorf("told[%d] = %+v", i, l)
		}
	}
	if got := readAll(t, filepath.Join(target, src, "f")); string(got) != "the snapshot's" {
		t.Errorf("f: %q", got)
	}
}

// An entry a dead restore's journal leads to that is not the restoring
// user's is not removed, and named; the journal stays, so that the next
// restore names it again.
func TestRestoreNamesLeftoverItCannotRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (an entry of another user)")
	}
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "f"), []byte("x"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	mustRestore(t, r, sn, target)
	journal, entries := plantJournal(t, target, "0123456789ab", src[1:])
	if err := os.Lchown(entries[0], 1234, 1234); err != nil {
		t.Fatal(err)
	}
	var told []Leftover
	rs := &Restorer{Repo: r, Leftover: func(l Leftover) { told = append(told, l) }}
	if _, err := rs.Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(entries[0]); err != nil {
		t.Errorf("another user's entry removed: %v", err)
	}
	if _, err := os.Lstat(journal); err != nil {
		t.Errorf("journal removed: %v", err)
	}
	if len(told) != 2 {
		t.Fatalf("told %+v", told)
	}
	for _, l := range told {
		if (l.Path == entries[0]) != (l.Err != nil) {
			t.Errorf("told %+v", l)
		}
	}
}
