package restorer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// A restore killed between making a hard link under a temporary name, a
// stage or a directory to be exchanged and writing its line to the
// journal left the entry, and no later restore found it. Each is now
// recorded before it is made (a link with the inode it will have, a
// directory by name): the next restore removes it and says so. What
// stands at such a name and is not as the restore makes it (a user's
// directory with content, a symlink, a file of another inode) stays.
func TestRestoreLeftoverMadeButNotJournaled(t *testing.T) {
	for _, kind := range []struct {
		name string
		// setup makes the tree and the target; op and rel are where the
		// restore is "killed": right after the entry is made.
		setup   func(t *testing.T) (r *snapshottest.Repo, src, target string)
		op, rel string
	}{
		{"link", linkTree, "linked", "a/g"},
		{"stage", func(t *testing.T) (*snapshottest.Repo, string, string) {
			r, _, src, target := leftoverTree(t)
			return r, src, target
		}, "staged", "a/p"},
		{"swap directory", func(t *testing.T) (*snapshottest.Repo, string, string) {
			r, _, src, target := leftoverTree(t)
			a := filepath.Join(target, "a")
			if err := os.RemoveAll(a); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(t.TempDir(), a); err != nil { // in the way of the directory a
				t.Fatal(err)
			}
			return r, src, target
		}, "swapdir", "a"},
	} {
		for _, tc := range []struct {
			name    string
			removed bool
			// put puts at p what stands there when the next restore
			// runs; made is a name of the linked file (kind link)
			put func(t *testing.T, p, made string) (kept []string)
		}{
			{"as made", true, func(t *testing.T, p, made string) []string {
				if made != "" {
					if err := os.Rename(made, p); err != nil {
						t.Fatal(err)
					}
				} else if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
			{"a user's directory with content", false, func(t *testing.T, p, _ string) []string {
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(p, "data")
				if err := os.WriteFile(f, []byte("not the restore's"), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{f}
			}},
			{"a symlink", false, func(t *testing.T, p, _ string) []string {
				d := t.TempDir()
				f := filepath.Join(d, "data")
				if err := os.WriteFile(f, []byte("not the restore's"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(d, p); err != nil {
					t.Fatal(err)
				}
				return []string{f}
			}},
			{"a directory others may read", false, func(t *testing.T, p, _ string) []string {
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
			{"another user's empty directory", false, func(t *testing.T, p, _ string) []string {
				if os.Geteuid() != 0 {
					t.Skip("needs root")
				}
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(p, 1234, 1234); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
			{"a file of its own", false, func(t *testing.T, p, _ string) []string {
				if err := os.WriteFile(p, []byte("not the restore's"), 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
		} {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				r, src, target := kind.setup(t)
				sn := mustSnapshot(t, archiver.NewArchiver(r), src)
				kept := filepath.Join(target, "kept-name")
				var tmp string
				k := killRestore(t, r, sn, src, target, kind.op, kind.rel, func(k *killed) {
					tmp = madeAt(t, k, target, kind.rel)
					if kind.op == "linked" {
						// Another name of the link, to put back.
						if err := os.Link(tmp, kept); err != nil {
							t.Error(err)
						}
					}
				})
				if !strings.Contains(string(k.body), filepath.Base(tmp)) {
					t.Fatalf("the journal does not name %s when it is made:\n%s", tmp, k.body)
				}
				if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
					t.Fatalf("%s: the restore left it (%v)", tmp, err)
				}
				made := ""
				if kind.op == "linked" {
					made = kept
				}
				files := tc.put(t, tmp, made)
				var before unix.Stat_t
				if err := unix.Lstat(tmp, &before); err != nil {
					t.Fatal(err)
				}
				var told []Leftover
				rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
				if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
					t.Fatal(err)
				}
				var after unix.Stat_t
				err := unix.Lstat(tmp, &after)
				if tc.removed {
					if err != unix.ENOENT {
						t.Errorf("%s: left (%v)", tmp, err)
					}
					if len(told) != 1 || told[0].Path != tmp || told[0].Err != nil || told[0].PID == 0 {
						t.Errorf("told %+v", told)
					}
					if _, err := os.Lstat(k.journal); !os.IsNotExist(err) {
						t.Errorf("journal left (%v)", err)
					}
				} else {
					if err != nil || after.Ino != before.Ino {
						t.Errorf("%s removed or replaced: %v", tmp, err)
					}
					if len(told) != 0 {
						t.Errorf("told %+v", told)
					}
				}
				for _, f := range files {
					if got := readAll(t, f); string(got) != "not the restore's" {
						t.Errorf("%s: %q", f, got)
					}
				}
				if got := readAll(t, filepath.Join(target, "a", "f")); string(got) != "the snapshot's" {
					t.Errorf("a/f: %q", got)
				}
			})
		}
	}
}

// linkTree is a source with a/f and a/g, one file's two names, restored
// into a target with a/f changed since, so that a restore that overwrites
// links a/g under a temporary name and renames it over the old a/g.
func linkTree(t *testing.T) (r *snapshottest.Repo, src, target string) {
	t.Helper()
	src = t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a", "f"), []byte("the snapshot's"))
	if err := os.Link(filepath.Join(src, "a", "f"), filepath.Join(src, "a", "g")); err != nil {
		t.Fatal(err)
	}
	r = newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target = t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	return r, src, target
}

// madeAt is the temporary entry the restore had just made in the
// directory of rel (for a directory to be exchanged, beside rel) when k
// was taken.
func madeAt(t *testing.T, k *killed, target, rel string) string {
	t.Helper()
	dir := filepath.Join(target, filepath.Dir(rel))
	var found []string
	for _, p := range k.temps {
		if filepath.Dir(p) == dir {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("temporary entries in %s: %v", dir, k.temps)
	}
	return found[0]
}

// A directory whose inode the journal records is judged by its inode
// alone: the line written by name before it was made must not have
// another directory at that name removed (one put there since, say).
func TestRestoreLeftoverDirIntentDefersToInode(t *testing.T) {
	r, sn, src, target := leftoverTree(t)
	var stage string
	k := killRestore(t, r, sn, src, target, "specialmeta", "a/p", func(k *killed) {
		stage = madeAt(t, k, target, "a/p")
	})
	if !strings.Contains(string(k.body), tempStageIntent+" ") || !strings.Contains(string(k.body), tempStage+" ") {
		t.Fatalf("the journal lacks the stage's lines:\n%s", k.body)
	}
	// Another inode, empty, as the restore makes one. The file system may
	// give the freed inode again: one that has it is kept aside.
	var recorded uint64
	for _, l := range strings.Split(string(k.body), "\n") {
		var rec journalRec
		if _, err := fmt.Sscanf(l, "%s %d %d %o %q", &rec.kind, &rec.dev, &rec.ino, &rec.mode, &rec.rel); err == nil && rec.kind == tempStage {
			recorded = rec.ino
		}
	}
	for i := 0; ; i++ {
		if err := os.Mkdir(stage, 0o700); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(stage, &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != recorded {
			break
		}
		if err := os.Rename(stage, filepath.Join(target, fmt.Sprintf("held%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	change(t, filepath.Join(target, "a", "f"))
	var told []Leftover
	rs := &Restorer{Repo: r, Overwrite: OverwriteIfChanged, Leftover: func(l Leftover) { told = append(told, l) }}
	if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stage); err != nil {
		t.Errorf("%s removed: %v", stage, err)
	}
	if len(told) != 0 {
		t.Errorf("told %+v", told)
	}
}
