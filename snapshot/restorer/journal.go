package restorer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// A restore's temporary entries (files written beside the entry they
// replace, stages of phase 2, directories made to be exchanged with an
// entry in the way) are its own to remove, and it does, when it ends or is
// interrupted. A restore killed with SIGKILL (or a crash, the OOM killer)
// cannot: its entries stay, hidden, wherever it had made them. So before it
// makes the first one, a restore makes a journal in the target,
// .cadang-restore-TOKEN.run, holds an exclusive flock(2) on it while it
// runs, and appends to it each directory it makes one in. The kernel drops
// the lock when the process dies, however it dies: a later restore into the
// same target that can take the lock knows that the journal's restore is
// dead (not running, here or on another NFS client that shares the lock),
// removes the entries of its token from the directories listed, and says
// so (Restorer.Leftover). A journal whose lock is held is a running
// restore's, and left alone.

// journalMagic is the first line of a journal.
const journalMagic = "cadang restore journal"

// journalName matches a journal's name in the target, its token captured.
var journalName = regexp.MustCompile(`^\.cadang-restore-([0-9a-f]{12})\.run$`)

// Leftover is an entry that a restore killed before it could clean up
// left in the target, which a later restore found.
type Leftover struct {
	Path string // in the target
	// PID and Host are the dead restore's, as its journal says.
	PID  int
	Host string
	// Err is nil when the entry was removed; otherwise it says why it
	// was not, and the entry is still there.
	Err error
}

// journal is this restore's journal; it is made when first needed.
type journal struct {
	mu   sync.Mutex
	fd   int // -1 until made
	name string
	dirs map[string]bool
	err  error // why it could not be made: every later note fails with it
}

// noteTempDir records, before a temporary entry is made in the directory
// dir (rel, "" the target), that this restore makes them there: made
// without the note, an entry a SIGKILL leaves could not be found again.
func (rr *restoreRun) noteTempDir(dir string) error {
	j := &rr.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.dirs[dir] {
		return nil
	}
	if j.err != nil {
		return j.err
	}
	if j.fd < 0 {
		if j.err = rr.makeJournal(); j.err != nil {
			return j.err
		}
	}
	line := strconv.Quote(dir) + "\n"
	if _, err := unix.Write(j.fd, []byte(line)); err != nil {
		return &os.PathError{Op: "write", Path: rr.root.abs(j.name), Err: err}
	}
	if j.dirs == nil {
		j.dirs = map[string]bool{}
	}
	j.dirs[dir] = true
	return nil
}

// makeJournal makes the journal, locked, in the target. A later restore
// that cleans up takes the lock before it removes a journal, so the one
// made here is checked, once locked, to still be at its name.
func (rr *restoreRun) makeJournal() error {
	name := ".cadang-restore-" + rr.token + ".run"
	for try := 0; ; try++ {
		fd, err := unix.Openat(rr.root.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("the restore's journal of its temporary files: %w", &os.PathError{Op: "create", Path: rr.root.abs(name), Err: err})
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(fd)
			return fmt.Errorf("the restore's journal of its temporary files: %w", &os.PathError{Op: "lock", Path: rr.root.abs(name), Err: err})
		}
		var fst, nst unix.Stat_t
		if unix.Fstat(fd, &fst) == nil && unix.Fstatat(rr.root.fd, name, &nst, unix.AT_SYMLINK_NOFOLLOW) == nil && fst.Ino == nst.Ino && fst.Dev == nst.Dev {
			host, _ := os.Hostname()
			head := fmt.Sprintf("%s\npid %d host %s\n", journalMagic, os.Getpid(), strconv.Quote(host))
			if _, err := unix.Write(fd, []byte(head)); err != nil {
				unix.Close(fd)
				return fmt.Errorf("the restore's journal of its temporary files: %w", &os.PathError{Op: "write", Path: rr.root.abs(name), Err: err})
			}
			rr.journal.fd, rr.journal.name = fd, name
			return nil
		}
		unix.Close(fd)
		if try == 3 {
			return fmt.Errorf("the restore's journal of its temporary files %s is removed as it is made", rr.root.abs(name))
		}
	}
}

// dropJournal removes this restore's journal, once its temporary entries
// are gone: it has removed them itself.
func (rr *restoreRun) dropJournal() {
	j := &rr.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fd < 0 {
		return
	}
	unix.Unlinkat(rr.root.fd, j.name, 0)
	unix.Close(j.fd)
	j.fd = -1
}

// cleanLeftovers finds the journals of dead restores in the target and
// removes the temporary entries they list, telling Restorer.Leftover of
// each. A journal is removed once all its entries are; one that names an
// entry that could not be removed stays, so that the next restore names it
// again.
func (rr *restoreRun) cleanLeftovers() {
	fd, err := unix.Openat(rr.root.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return // the restore itself will say what is wrong with the target
	}
	d := os.NewFile(uintptr(fd), rr.root.path)
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		if m := journalName.FindStringSubmatch(name); m != nil && m[1] != rr.token {
			rr.cleanJournal(name, m[1])
		}
	}
}

// cleanJournal removes the leftovers of the journal name (token its
// restore's), if that restore is dead and was this user's.
func (rr *restoreRun) cleanJournal(name, token string) {
	fd, err := unix.Openat(rr.root.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), rr.root.abs(name))
	defer f.Close()
	var st unix.Stat_t
	// Only this user's own journals: what another user's restore left is
	// theirs to clean, and a file of theirs must not steer this restore.
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != rr.euid || st.Nlink != 1 {
		return
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // its restore runs
	}
	pid, host, dirs, ok := readJournal(io.LimitReader(f, 256<<20))
	if !ok {
		return
	}
	prefix := ".cadang-restore-" + token + "-"
	left := false
	for _, dir := range dirs {
		if !rr.cleanDir(dir, prefix, pid, host) {
			left = true
		}
	}
	if !left {
		// Still locked: no restore can have taken this name since.
		unix.Unlinkat(rr.root.fd, name, 0)
	}
}

// readJournal parses a journal: its restore's PID and host, and the
// directories it made temporary entries in.
func readJournal(r io.Reader) (pid int, host string, dirs []string, ok bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != journalMagic || !sc.Scan() {
		return 0, "", nil, false
	}
	if _, err := fmt.Sscanf(sc.Text(), "pid %d host %q", &pid, &host); err != nil {
		return 0, "", nil, false
	}
	for sc.Scan() {
		// A line cut short by the kill is not a directory.
		if dir, err := strconv.Unquote(sc.Text()); err == nil && validRel(dir) {
			dirs = append(dirs, dir)
		}
	}
	return pid, host, dirs, true
}

// validRel says whether dir is a relative path of single names (or "", the
// target), as the restore makes them.
func validRel(dir string) bool {
	if dir == "" {
		return true
	}
	for _, n := range strings.Split(dir, "/") {
		if n == "" || n == "." || n == ".." || strings.IndexByte(n, 0) >= 0 {
			return false
		}
	}
	return true
}

// cleanDir removes the entries named prefix... from the directory dir,
// found beneath the target without following a symlink, and says whether
// none is left there.
func (rr *restoreRun) cleanDir(dir, prefix string, pid int, host string) bool {
	var dfd int
	var err error
	if dir == "" {
		dfd, err = unix.Openat(rr.root.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		dfd, err = rr.root.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		return true // gone, or no longer a directory: nothing of the restore's is reached there
	}
	d := os.NewFile(uintptr(dfd), rr.root.abs(dir))
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		rr.leftover(Leftover{Path: rr.root.abs(dir), PID: pid, Host: host, Err: fmt.Errorf("cannot be listed: %w", err)})
		return false
	}
	clean := true
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		p := rr.root.abs(path.Join(dir, name))
		err := rr.removeLeftover(dfd, name)
		if err != nil {
			clean = false
		}
		rr.leftover(Leftover{Path: p, PID: pid, Host: host, Err: err})
	}
	return clean
}

// removeLeftover removes the entry name of dfd: a file, or a directory
// (a stage, or a directory made to take an entry's place) with at most
// the node made in it, never a directory deeper. Only this user's entries:
// the restore made them.
func (rr *restoreRun) removeLeftover(dfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if int(st.Uid) != rr.euid {
		return fmt.Errorf("owned by user %d, not by the user who restores: not removed", st.Uid)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dfd, name, 0)
	}
	sfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	s := os.NewFile(uintptr(sfd), name)
	defer s.Close()
	inside, err := s.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range inside {
		var ist unix.Stat_t
		if err := unix.Fstatat(sfd, n, &ist, unix.AT_SYMLINK_NOFOLLOW); err == nil && ist.Mode&unix.S_IFMT == unix.S_IFDIR {
			return errors.New("a directory that holds a directory: not one of a restore's, not removed")
		}
		if err := unix.Unlinkat(sfd, n, 0); err != nil && err != unix.ENOENT {
			return err
		}
	}
	return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
}

// leftover tells Restorer.Leftover of l.
func (rr *restoreRun) leftover(l Leftover) {
	if rr.rs.Leftover != nil {
		rr.rs.Leftover(l)
	}
}
