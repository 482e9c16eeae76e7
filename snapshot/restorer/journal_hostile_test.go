package restorer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// The hostile review of 2026-12-08 (after the directories' intent lines):
// a local user, uid 1234, tries to make a root restore's cleanup remove
// what the restore did not make, or to keep a leftover it says it removes.
// Each test fails with "FINDING" where the attack works.

// asUser runs argv as uid/gid 1234 (an unprivileged local user).
func asUser(t *testing.T, argv ...string) {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed: cannot act as another local user")
	}
	cmd := exec.Command("setpriv", append([]string{"--reuid=1234", "--regid=1234", "--clear-groups", "--"}, argv...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as user 1234: %v: %v: %s", argv, err, out)
	}
}

func lmode(t *testing.T, p string) string {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("uid %d mode %o ino %d", st.Uid, st.Mode&0o7777, st.Ino)
}

// H1: a stage made in a setgid directory is 02700, the intent line says
// 700: the leftover stays, nothing is said, and the journal naming it is
// removed.
func TestHostileSetgidStageIntent(t *testing.T) {
	for _, op := range []string{"staged", "swapdir"} {
		t.Run(op, func(t *testing.T) {
			src := t.TempDir()
			snapshottest.WriteFile(t, filepath.Join(src, "a", "f"), []byte("the snapshot's"))
			if err := unix.Mkfifo(filepath.Join(src, "a", "p"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := newTestRepo(t)
			sn := mustSnapshot(t, archiver.NewArchiver(r), src)
			target := t.TempDir()
			if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, src, target); err != nil {
				t.Fatal(err)
			}
			rel := "a/p"
			if op == "swapdir" {
				// a symlink in the way of a directory, in a setgid directory
				os.RemoveAll(filepath.Join(target, "a"))
				os.Mkdir(filepath.Join(target, "a"), 0o775)
				os.MkdirAll(filepath.Join(src, "a", "d"), 0o755)
				sn = mustSnapshot(t, archiver.NewArchiver(r), src)
				os.Symlink("/nonexistent", filepath.Join(target, "a", "d"))
				rel = "a/d"
			}
			change(t, filepath.Join(target, "a", "f"))
			unix.Chmod(filepath.Join(target, "a"), 0o2775) // a setgid (group-shared) directory
			t.Logf("a: %s", lmode(t, filepath.Join(target, "a")))
			var tmp, seen string
			k := killRestore(t, r, sn, src, target, op, rel, func(k *killed) {
				tmp = madeAt(t, k, target, rel)
				seen = lmode(t, tmp)
			})
			unix.Chmod(filepath.Join(target, "a"), 0o2775)
			t.Logf("journal:\n%s", k.body)
			t.Logf("made by the restore: %s %s", tmp, seen)
			if err := os.Mkdir(tmp, 0o700); err != nil { // as made: the kernel adds S_ISGID
				t.Fatal(err)
			}
			t.Logf("put back: %s", lmode(t, tmp))
			var told []Leftover
			rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
			if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
				t.Fatal(err)
			}
			_, jerr := os.Lstat(k.journal)
			if _, err := os.Lstat(tmp); err == nil {
				t.Errorf("FINDING: leftover %s (%s) not removed; told %+v; journal still there: %v", tmp, lmode(t, tmp), told, jerr == nil)
			}
		})
	}
}

// H2: a local user who may write a (non-sticky) directory of the target
// moves a root-owned 0700 directory holding one node (a symlink, a socket)
// to the name of a stage that a killed restore named but had not yet
// recorded by inode: the next restore as root removes root's node.
func TestHostileRenameRootDirToStageName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root")
	}
	for _, node := range []string{"symlink", "fifo", "socket"} {
		t.Run(node, func(t *testing.T) {
			src := t.TempDir()
			snapshottest.WriteFile(t, filepath.Join(src, "a", "f"), []byte("the snapshot's"))
			if err := unix.Mkfifo(filepath.Join(src, "a", "p"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(filepath.Join(src, "a"), 0o777) // a directory a local user may write (a shared one, a user's home restored by root)
			os.Chmod(filepath.Dir(src), 0o755)
			r := newTestRepo(t)
			sn := mustSnapshot(t, archiver.NewArchiver(r), src)
			target := t.TempDir()
			os.Chmod(target, 0o755)
			os.Chmod(filepath.Dir(target), 0o755)
			if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, src, target); err != nil {
				t.Fatal(err)
			}
			change(t, filepath.Join(target, "a", "f"))
			// root's data: a private directory holding one node
			priv := filepath.Join(target, "a", "root-private")
			if err := os.Mkdir(priv, 0o700); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(priv, "node")
			switch node {
			case "symlink":
				os.Symlink("/etc/important", victim)
			case "fifo":
				unix.Mkfifo(victim, 0o600)
			case "socket":
				fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
				if err := unix.Bind(fd, &unix.SockaddrUnix{Name: victim}); err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
			}
			var tmp string
			k := killRestore(t, r, sn, src, target, "staged", "a/p", func(k *killed) {
				tmp = madeAt(t, k, target, "a/p")
			})
			_ = k
			// The restore was killed here: its stage stands at tmp,
			// visible to anyone who may list a. The local user moves it
			// aside and root's directory to its name (same parent: no
			// write permission on the directory moved is needed).
			os.Mkdir(tmp, 0o700) // the stage as the kill left it
			asUser(t, "mv", "-T", tmp, filepath.Join(target, "a", "moved-aside"))
			asUser(t, "mv", "-T", priv, tmp)
			// Could the user remove root's node directly? No:
			if err := exec.Command("setpriv", "--reuid=1234", "--regid=1234", "--clear-groups", "--", "rm", "-f", filepath.Join(tmp, "node")).Run(); err == nil {
				t.Fatal("the user could remove it anyway")
			}
			var told []Leftover
			rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
			if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(tmp, "node")); os.IsNotExist(err) {
				t.Errorf("FINDING: root's %s (in root's 0700 directory, moved by uid 1234 to %s) was removed by root's restore; told %+v", node, filepath.Base(tmp), told)
			}
		})
	}
}

// H3: no kill needed: a journal crafted by a local user, in a snapshot
// restored without owners (--no-owner, or a restore by a user who is not
// root: every restored file is the restoring user's), steers a later
// restore into the same target.
func TestHostileCraftedJournalFromSnapshot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root")
	}
	target := t.TempDir()
	os.Chmod(target, 0o755)
	os.Chmod(filepath.Dir(target), 0o755)
	// The attacker knows the target's device and inode (stat).
	var root unix.Stat_t
	if err := unix.Lstat(target, &root); err != nil {
		t.Fatal(err)
	}
	tok := "a77ac4e2a77a"
	evil := ".cadang-restore-" + tok + "-0000000000000000"
	body := fmt.Sprintf("%s\npid 1 host %q\ntarget %d %d\n", journalMagic, "x", root.Dev, root.Ino)
	body += fmt.Sprintf("tmpstage 0 0 700 %q\n", "shared/"+evil)
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, ".cadang-restore-"+tok+".run"), []byte(body))
	snapshottest.WriteFile(t, filepath.Join(src, "shared", "f"), []byte("x"))
	os.Chmod(filepath.Join(src, "shared"), 0o777)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	if _, err := (&Restorer{Repo: r, NoOwner: true}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	t.Logf("restored journal: %s", lmode(t, filepath.Join(target, ".cadang-restore-"+tok+".run")))
	priv := filepath.Join(target, "shared", "root-private")
	os.Mkdir(priv, 0o700)
	os.Symlink("/etc/important", filepath.Join(priv, "node"))
	asUser(t, "mv", "-T", priv, filepath.Join(target, "shared", evil))
	var told []Leftover
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
	if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(target, "shared", evil, "node")); os.IsNotExist(err) {
		t.Errorf("FINDING: root's symlink removed by a later restore, steered by a crafted journal restored from a snapshot; told %+v", told)
	}
	ents, _ := os.ReadDir(target)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Logf("target now: %s", strings.Join(names, " "))
}

// H5 probe: after a restore that completes, no temporary name stays
// (rename(2) of one name of an inode over another name of it does nothing
// and leaves the temporary name).
func TestHostileLinkSameInodeLeftover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   OverwriteMode
		verify bool
		prep   func(t *testing.T, target string)
	}{
		{"always", OverwriteAlways, false, func(t *testing.T, target string) {}},
		{"ifchanged-verify", OverwriteIfChanged, true, func(t *testing.T, target string) {}},
		{"ifchanged-g-copy", OverwriteIfChanged, false, func(t *testing.T, target string) {
			g := filepath.Join(target, "a", "g")
			b, _ := os.ReadFile(g)
			var st unix.Stat_t
			unix.Stat(g, &st)
			os.Remove(g)
			os.WriteFile(g, b, 0o644)
			unix.UtimesNano(g, []unix.Timespec{st.Mtim, st.Mtim})
		}},
		{"ifchanged-chmod", OverwriteIfChanged, false, func(t *testing.T, target string) {
			os.Chmod(filepath.Join(target, "a", "g"), 0o600)
		}},
		{"ifchanged-chown", OverwriteIfChanged, false, func(t *testing.T, target string) {
			os.Chown(filepath.Join(target, "a", "g"), 1234, 1234)
		}},
		{"ifchanged-verify-corrupt", OverwriteIfChanged, true, func(t *testing.T, target string) {
			f := filepath.Join(target, "a", "f")
			var st unix.Stat_t
			unix.Stat(f, &st)
			os.WriteFile(f, []byte("THE SNAPSHOT'S"), 0o644)
			unix.UtimesNano(f, []unix.Timespec{st.Mtim, st.Mtim})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, src, target := linkTree(t)
			sn := mustSnapshot(t, archiver.NewArchiver(r), src)
			tc.prep(t, target)
			if _, err := (&Restorer{Repo: r, Overwrite: tc.mode, Verify: tc.verify}).Restore(context.Background(), sn, src, target); err != nil {
				t.Log(err)
			}
			filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
					t.Errorf("FINDING: left after a complete restore: %s %s", p, lmode(t, p))
				}
				return nil
			})
		})
	}
}

// H6: whoever may write the directory makes the name being replaced a
// hard link of the file the restore links to, just before the rename:
// rename(2) of a name over another name of the same inode does nothing,
// the temporary name stays, and the restore drops its journal.
func TestHostileLinkRenameNoop(t *testing.T) {
	r, src, target := linkTree(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	change(t, filepath.Join(target, "a", "f"))
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, testHook: func(op, rel string) {
		if op == "rename" && rel == "a/g" {
			g := filepath.Join(target, "a", "g")
			os.Remove(g)
			if err := os.Link(filepath.Join(target, "a", "f"), g); err != nil {
				t.Error(err)
			}
		}
	}}
	if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
		t.Log(err)
	}
	filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
			t.Errorf("FINDING: left after the restore: %s %s", p, lmode(t, p))
		}
		return nil
	})
}

// H7: where the journal fails (ENOSPC, EDQUOT, EFBIG) right after a
// stage's intent line, the stage's name stays in the journal with no
// inode line for the rest of the restore, though the stage stood visible
// and was dropped long since: a kill at any later moment (OOM, crash) lets
// a user who saw the name move a directory of root's to it (H2), not only
// one in the microseconds between the mkdir and the line.
func TestHostileJournalOffAfterIntent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root")
	}
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a", "f"), []byte("the snapshot's"))
	unix.Mkfifo(filepath.Join(src, "a", "p"), 0o644)
	os.Chmod(filepath.Join(src, "a"), 0o777)
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	os.Chmod(target, 0o755)
	os.Chmod(filepath.Dir(target), 0o755)
	change(t, filepath.Join(target, "a", "f"))
	var old unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_FSIZE, &old)
	defer unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	var journal, stage string
	var body []byte
	var warned []error
	rs := &Restorer{Repo: r, Overwrite: OverwriteAlways, Warn: func(err error) { warned = append(warned, err) }, testHook: func(op, rel string) {
		switch {
		case op == "staged" && rel == "a/p":
			ents, _ := os.ReadDir(target)
			for _, e := range ents {
				if journalName.MatchString(e.Name()) {
					journal = filepath.Join(target, e.Name())
				}
			}
			st, _ := os.Stat(journal)
			lim := unix.Rlimit{Cur: uint64(st.Size()), Max: old.Max}
			unix.Setrlimit(unix.RLIMIT_FSIZE, &lim) // the file system is full from here
			ents, _ = os.ReadDir(filepath.Join(target, "a"))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".cadang-restore-") {
					stage = filepath.Join(target, "a", e.Name()) // seen by anyone who lists a
				}
			}
		case op == "rename" && rel == "a/f": // killed here, long after the stage was dropped
			unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
			body, _ = os.ReadFile(journal)
		}
	}}
	if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
		t.Log(err)
	}
	t.Logf("warned: %v", warned)
	t.Logf("journal at the kill:\n%s", body)
	if body == nil || stage == "" {
		t.Fatal("no journal/stage")
	}
	os.WriteFile(journal, body, 0o600)
	priv := filepath.Join(target, "a", "root-private")
	os.Mkdir(priv, 0o700)
	os.Symlink("/etc/important", filepath.Join(priv, "node"))
	asUser(t, "mv", "-T", priv, stage)
	var told []Leftover
	if _, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(stage, "node")); os.IsNotExist(err) {
		t.Errorf("FINDING: root's symlink removed; told %+v", told)
	}
}

// H1 control: in the same setgid directory, a stage whose inode line was
// written is removed (the mode recorded is the one lstat gave).
func TestHostileSetgidStageInodeControl(t *testing.T) {
	r, sn, src, target := leftoverTree(t)
	unix.Chmod(filepath.Join(target, "a"), 0o2775)
	var stage string
	k := killRestore(t, r, sn, src, target, "specialmeta", "a/p", func(k *killed) { stage = madeAt(t, k, target, "a/p") })
	t.Logf("journal:\n%s", k.body)
	// Putting the very inode back is not possible: the rule is checked by
	// writing the stage's line anew for a new stage, as the restore would.
	unix.Chmod(filepath.Join(target, "a"), 0o2775)
	os.Mkdir(stage, 0o700)
	var st unix.Stat_t
	unix.Lstat(stage, &st)
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, stage, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &sx); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(k.body), "\n") {
		var rec journalRec
		if _, err := fmt.Sscanf(l, "%s %d %d %o %q", &rec.kind, &rec.dev, &rec.ino, &rec.mode, &rec.rel); err == nil && rec.kind == tempStage {
			l = fmt.Sprintf("%s %d %d %o %q %d %d", rec.kind, st.Dev, st.Ino, st.Mode&0o7777, rec.rel, sx.Btime.Sec, sx.Btime.Nsec)
		}
		lines = append(lines, l)
	}
	os.WriteFile(k.journal, []byte(strings.Join(lines, "\n")), 0o600)
	var told []Leftover
	if _, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stage); err == nil {
		t.Errorf("not removed: %s", lmode(t, stage))
	}
	t.Logf("told %+v", told)
}

// H8: the inode rule for a stage whose line was written: the stage is
// dropped (its inode freed) long before the kill; a private directory of
// root's made since may get the freed inode; a local user who saw the
// stage's name moves it there.
func TestHostileStageInodeReuse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root")
	}
	r, sn, src, target := leftoverTree(t)
	os.Chmod(target, 0o755)
	os.Chmod(filepath.Dir(target), 0o755)
	var stage string
	k := killRestore(t, r, sn, src, target, "specialmeta", "a/p", func(k *killed) { stage = madeAt(t, k, target, "a/p") })
	var ino uint64
	for _, l := range strings.Split(string(k.body), "\n") {
		var rec journalRec
		if _, err := fmt.Sscanf(l, "%s %d %d %o %q", &rec.kind, &rec.dev, &rec.ino, &rec.mode, &rec.rel); err == nil && rec.kind == tempStage {
			ino = rec.ino
		}
	}
	unix.Chmod(filepath.Join(target, "a"), 0o777)
	// root makes private directories in a (a daemon, say): one gets the freed inode
	var priv string
	for i := 0; i < 50 && priv == ""; i++ {
		p := filepath.Join(target, "a", fmt.Sprintf("private%d", i))
		os.Mkdir(p, 0o700)
		var st unix.Stat_t
		unix.Lstat(p, &st)
		if st.Ino == ino {
			priv = p
		}
	}
	if priv == "" {
		t.Skip("the inode was not given again")
	}
	os.Symlink("/etc/important", filepath.Join(priv, "node"))
	asUser(t, "mv", "-T", priv, stage)
	var told []Leftover
	if _, err := (&Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(stage, "node")); os.IsNotExist(err) {
		t.Errorf("FINDING (inode rule, pre-existing): root's symlink removed; told %+v", told)
	}
}
