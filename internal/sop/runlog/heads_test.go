package runlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHeadsFileCompacted: the file of heads this host wrote, which every
// recorded command appends to and reads, stays small however many
// commands run, and still gives, for each repository and chain, the head
// with the highest Last (a later one of equals), also with heads noted by
// many writers at once.
func TestHeadsFileCompacted(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), "runlog.jsonl"), Options{})
	// A run log shared with a backup user: compaction keeps the mode,
	// and the owner where it may set it.
	if err := os.WriteFile(l.headsPath(), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.headsPath(), 0o640); err != nil {
		t.Fatal(err)
	}
	owner := os.Geteuid()
	if owner == 0 {
		owner = 4242
		if err := os.Chown(l.headsPath(), owner, 4243); err != nil {
			t.Fatal(err)
		}
	}
	want := map[[2]string]Head{}
	const writers, each = 4, 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				repoID := fmt.Sprintf("%064x", w*10+i%3)
				h := Head{Chain: "c1", Seq: uint64(i), RepositoryID: repoID, Last: uint64(i), Count: uint64(i),
					Written: time.Unix(int64(i), 0).UTC(), Hash: fmt.Sprintf("%064x", i)}
				if i == each-7 {
					h.Last = 1 // behind what it wrote before: not the one kept
				}
				l.noteHead(h)
				k := [2]string{repoID, "c1"}
				mu.Lock()
				if o, ok := want[k]; !ok || h.Last >= o.Last {
					want[k] = h
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k, w := range want {
		got := l.writtenHeads(k[0])
		if len(got) != 1 {
			t.Errorf("repository %s: %d heads known, want 1", k[0][:8], len(got))
		}
		if g := got[k]; g.Last != w.Last || g.Seq != w.Seq || !g.Written.Equal(w.Written) {
			t.Errorf("repository %s: head with last %d seq %d, want last %d seq %d", k[0][:8], g.Last, g.Seq, w.Last, w.Seq)
		}
	}
	b, err := os.ReadFile(l.headsPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); len(b) > headsCompactAt+4<<10 || n >= writers*each/2 {
		t.Errorf("heads file of %d bytes, %d lines after %d heads: not compacted", len(b), n, writers*each)
	}
	if left, _ := filepath.Glob(l.headsPath() + ".tmp-*"); len(left) > 0 {
		t.Errorf("compaction left %v", left)
	}
	fi, err := os.Stat(l.headsPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("heads file mode %v after compaction, want 0640", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != owner {
		t.Errorf("heads file owned by %d after compaction, want %d", st.Uid, owner)
	}
}

// TestLatestHeadsLaterOfEquals: of two heads of one repository and chain
// with the same Last, the later line counts, as before compaction.
func TestLatestHeadsLaterOfEquals(t *testing.T) {
	r := fmt.Sprintf("%064x", 7)
	var b []byte
	for _, h := range []Head{{Chain: "c", Seq: 5, RepositoryID: r, Last: 5}, {Chain: "c", Seq: 9, RepositoryID: r, Last: 5}, {Chain: "c", Seq: 3, RepositoryID: r, Last: 3}} {
		line, _ := json.Marshal(h)
		b = append(append(b, line...), '\n')
	}
	got, keep := latestHeads(b, r)
	if h := got[[2]string{r, "c"}]; h.Seq != 9 || len(keep) != 1 || !bytes.Contains(keep[0], []byte(`"seq":9`)) {
		t.Errorf("head with seq %d kept (%d lines), want the later of equals, seq 9", h.Seq, len(keep))
	}
}

// TestHeadsNotedIntoReplacedFile: a head noted by a writer that waited for
// the lock of a heads file that a compaction then replaced lands in the
// new file, not in the unlinked old one.
func TestHeadsNotedIntoReplacedFile(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), "runlog.jsonl"), Options{})
	path := l.headsPath()
	old := Head{Chain: "c1", Seq: 1, RepositoryID: fmt.Sprintf("%064x", 1), Last: 1}
	l.noteHead(old)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	h := Head{Chain: "c1", Seq: 2, RepositoryID: fmt.Sprintf("%064x", 2), Last: 2}
	go func() {
		defer close(done)
		l.noteHead(h) // opens the old file and waits for its lock
	}()
	// Until the writer holds the old file open (this test holds it once).
	for deadline := time.Now().Add(10 * time.Second); openCount(t, path) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writer never opened the heads file")
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	unlockFile(f)
	<-done
	for _, w := range []Head{old, h} {
		if g, ok := l.writtenHeads(w.RepositoryID)[[2]string{w.RepositoryID, w.Chain}]; !ok || g.Last != w.Last {
			t.Errorf("head of repository %s not in the heads file after its replacement", w.RepositoryID[60:])
		}
	}
}

// openCount is how many of this process's descriptors name path.
func openCount(t *testing.T, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

// TestHeadsCompactedByGroupMember: a user who shares the run log through
// its group (the nightly backup user, where root owns the heads file)
// compacts it: the file stays in its group with its mode, where the chown
// to its owner is refused. Run as root, the writer runs as another user in
// a child process; primary group first, then a supplementary one.
func TestHeadsCompactedByGroupMember(t *testing.T) {
	if dir := os.Getenv("CADANG_HEADS_CHILD"); dir != "" {
		l := Open(filepath.Join(dir, "runlog.jsonl"), Options{})
		l.noteHead(Head{Chain: "c1", Seq: 999, RepositoryID: fmt.Sprintf("%064x", 1), Last: 999})
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the writer as another user")
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Skip(err)
	}
	const uid, group = 4242, 4243
	for _, primary := range []bool{true, false} {
		t.Run(fmt.Sprintf("primary-group-%v", primary), func(t *testing.T) {
			dir, err := os.MkdirTemp("", "heads-group-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := os.Chown(dir, 0, group); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "runlog.test")
			if err := os.WriteFile(bin, self, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(bin, 0, group); err != nil {
				t.Fatal(err)
			}
			l := Open(filepath.Join(dir, "runlog.jsonl"), Options{})
			var b []byte // just below the size where the child's head makes it compact
			for i := 1; ; i++ {
				line, _ := json.Marshal(Head{Chain: "c1", Seq: uint64(i), RepositoryID: fmt.Sprintf("%064x", 1), Last: uint64(i)})
				if len(b)+len(line)+1 > headsCompactAt-50 {
					break
				}
				b = append(append(b, line...), '\n')
			}
			if err := os.WriteFile(l.headsPath(), b, 0o660); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(l.headsPath(), 0, group); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(l.headsPath(), 0o660); err != nil { // past the umask
				t.Fatal(err)
			}
			cred := &syscall.Credential{Uid: uid, Gid: group}
			if !primary {
				cred = &syscall.Credential{Uid: uid, Gid: group + 1, Groups: []uint32{group}}
			}
			cmd := exec.Command(bin, "-test.run=^TestHeadsCompactedByGroupMember$")
			cmd.Env = append(os.Environ(), "CADANG_HEADS_CHILD="+dir)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			if out, err := cmd.CombinedOutput(); err != nil {
				var exit *exec.ExitError
				if !errors.As(err, &exit) {
					// Not started: a temporary directory others may not
					// enter, or a user namespace without that user.
					t.Skipf("cannot run the writer as uid %d here: %v", uid, err)
				}
				t.Fatalf("writer as uid %d: %v\n%s", uid, err, out)
			}
			fi, err := os.Stat(l.headsPath())
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Size() > 4<<10 || fi.Mode().Perm() != 0o660 || st.Gid != group {
				t.Errorf("heads file of %d bytes, mode %v, group %d after the group member's head; want compacted, 0660, group %d",
					fi.Size(), fi.Mode().Perm(), st.Gid, group)
			}
			if h := l.writtenHeads(fmt.Sprintf("%064x", 1))[[2]string{fmt.Sprintf("%064x", 1), "c1"}]; h.Last != 999 {
				t.Errorf("head with last %d known after compaction, want 999", h.Last)
			}
		})
	}
}
