package restorer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A restore's temporary entries (files written beside the entry they
// replace, links made there, stages of phase 2, directories made to be
// exchanged with an entry in the way) are its own to remove, and it does,
// when it ends or is interrupted. A restore killed with SIGKILL (or a
// crash, the OOM killer) cannot: its entries stay, hidden, wherever it had
// made them. So a restore keeps a journal in the target's top directory,
// .cadang-restore-TOKEN.run, holds an exclusive flock(2) on it while it
// runs, and appends to it each temporary entry right after it makes it: its
// directory and name, its device and inode, and for a directory the mode
// it was made with. The kernel drops the lock when the process dies,
// however it dies: a later restore into the same target that can take the
// lock knows that the journal's restore is dead (not running, here or on
// another client of a file system whose flock works across clients),
// removes those of its entries that are still the inodes it made, and says
// so (Restorer.Leftover). A journal whose lock is held is a running
// restore's, and left alone.
//
// Only an entry that is still the inode recorded is removed: a name
// alone proves nothing (anyone who may write a directory can rename
// something of someone else's to a temporary name seen there, and a
// journal restored from a backup names entries of another target). But
// the line of an entry is written after the entry is made, and several
// workers may wait for the journal between the two: a kill there left an
// empty temporary file no later restore found. So a temporary regular
// file that the restore creates is recorded twice: by name before it is
// created (tempFileIntent, its device, inode and mode 0), and with its
// inode once it is. A regular file at exactly such a name, of the
// restoring user and with one link, is removed (removeLeftover says why a
// name is enough there). A link made under a temporary name is the
// restored file's other name (often another user's, with several links):
// it is recorded before it is made as a file with the inode it will have,
// its first member's, so the inode rule finds it. A stage or a directory
// made to be exchanged is recorded by name before it is made too
// (tmpstage, tmpdir, with the mode it is made with), and with its inode
// after; where the journal has no line of its inode, a directory at that
// name is removed only as the restore makes one before that line: this
// user's, of that mode, and empty (removeLeftover).

// journalMagic is the first line of a journal. Version 3 added the
// intent lines of directories (tmpstage, tmpdir): a cadang that knows
// only version 2 would pass over them and then delete the journal,
// leaving what they name unfound, so it must not take such a journal
// for its own. journalMagicV2 is still read: its lines are a subset.
const (
	journalMagic   = "cadang restore journal 3"
	journalMagicV2 = "cadang restore journal 2"
)

// journalName matches a journal's name in the target, its token captured.
var journalName = regexp.MustCompile(`^\.cadang-restore-([0-9a-f]{12})\.run$`)

// journalMax bounds what is read of a journal. One that is longer is
// read that far, and its entries found there removed, but the journal is
// kept: what it says beyond was not seen.
const journalMax = 256 << 20

// The kinds of temporary entry that a journal records.
const (
	tempFile  = "file"  // a regular file: written beside the file it replaces, or a link made there
	tempStage = "stage" // a stage of phase 2: a directory holding at most one node, never a directory
	tempDir   = "dir"   // a directory made to be exchanged with an entry in the way: empty until then
	// tempFileIntent is a regular file about to be created, written
	// before the create: only its name is known ("tmpfile 0 0 0 PATH").
	tempFileIntent = "tmpfile"
	// tempStageIntent and tempDirIntent are a stage and a directory to be
	// exchanged about to be made: their name and the mode they are made
	// with ("tmpstage 0 0 700 PATH").
	tempStageIntent = "tmpstage"
	tempDirIntent   = "tmpdir"
)

// dirIntents maps the intent of a directory to the kind it is recorded as
// once made.
var dirIntents = map[string]string{tempStageIntent: tempStage, tempDirIntent: tempDir}

// tempMaxEntries is how many entries a temporary directory of a kind
// holds at most while the restore that made it runs: a stage holds the
// node being made in it (makeSpecialStaged moves it out or removes it
// before the next), a directory made to be exchanged holds nothing before
// the exchange (after it, the name holds the entry it replaced, another
// inode).
var tempMaxEntries = map[string]int{tempStage: 1, tempDir: 0}

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
	off  bool // it could not be made or written: the restore goes on without one
}

// noteTemp records in the journal the temporary entry rel (its directory
// and name relative to the target) of kind, just made, st its lstat. A
// journal that cannot be made or written is said once (Restorer.Warn),
// and the restore goes on without: as before there was one, an entry left
// by a SIGKILL is then not found again.
func (rr *restoreRun) noteTemp(kind, rel string, st *unix.Stat_t) {
	rr.noteLine(fmt.Sprintf("%s %d %d %o %q\n", kind, uint64(st.Dev), st.Ino, st.Mode&0o7777, rel))
}

// noteTempIntent records in the journal that the temporary regular file
// rel is about to be created: called before the create, so that a kill
// at any moment after it leaves no file the journal does not name.
func (rr *restoreRun) noteTempIntent(rel string) {
	rr.noteLine(fmt.Sprintf("%s 0 0 0 %q\n", tempFileIntent, rel))
}

// noteDirIntent records in the journal that the temporary directory rel
// of kind (tempStageIntent, tempDirIntent) is about to be made, with the
// mode mkdir gives it (0700 less the umask): called before the mkdir, so
// that a kill between it and the line of its inode leaves no directory
// the journal does not name.
func (rr *restoreRun) noteDirIntent(kind, rel string) {
	rr.noteLine(fmt.Sprintf("%s 0 0 %o %q\n", kind, 0o700&^rr.umask, rel))
}

// noteLine appends line to the journal, made first if need be.
func (rr *restoreRun) noteLine(line string) {
	j := &rr.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.off {
		return
	}
	var err error
	if j.fd < 0 {
		err = rr.makeJournal()
	}
	if err == nil {
		if _, werr := unix.Write(j.fd, []byte(line)); werr != nil {
			err = &os.PathError{Op: "write", Path: rr.root.abs(j.name), Err: werr}
		}
	}
	if err != nil {
		j.off = true
		rr.warn(fmt.Errorf("the journal of the restore's temporary files: %w; the restore goes on without it, and a temporary file it leaves if it is killed (SIGKILL) is not removed by a later restore", err))
	}
}

// noteTempAt records the temporary entry rel of kind, the entry name of
// dfd, unless it cannot be lstat'ed (then it is not recorded).
func (rr *restoreRun) noteTempAt(kind, rel string, dfd int, name string) {
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if _, dir := tempMaxEntries[kind]; dir {
		// A directory's line also carries its birth time, where the file
		// system keeps one: a stage dropped long before a kill frees its
		// inode, which a directory made later in the same parent may get
		// again; the inode alone would then match that directory.
		var sx unix.Statx_t
		if unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_INO, &sx) == nil &&
			sx.Mask&unix.STATX_BTIME != 0 && sx.Ino == st.Ino {
			rr.noteLine(fmt.Sprintf("%s %d %d %o %q %d %d\n", kind, uint64(st.Dev), st.Ino, st.Mode&0o7777, rel, sx.Btime.Sec, sx.Btime.Nsec))
			return
		}
	}
	rr.noteTemp(kind, rel, &st)
}

// birthMatches says whether the directory open as fd is the one rec
// recorded, by its birth time where rec has one and the file system
// gives one; true where either lacks it (the inode alone decides then).
func birthMatches(fd int, rec journalRec) bool {
	if !rec.hasBirth {
		return true
	}
	var sx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BTIME, &sx) != nil || sx.Mask&unix.STATX_BTIME == 0 {
		return true
	}
	return sx.Btime.Sec == rec.birthSec && int64(sx.Btime.Nsec) == rec.birthNsec
}

// noteTempFd records the temporary file rel, open as fd.
func (rr *restoreRun) noteTempFd(rel string, fd int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		rr.noteTemp(tempFile, rel, &st)
	}
}

// makeJournal makes the journal, locked, in the target's top directory.
// A later restore that cleans up takes the lock before it reads or removes
// a journal, so the one made here is checked, once locked, to still be at
// its name. Another restore may hold the lock for a moment, between the
// create and the lock, to look at it (cleanJournal): it finds no head, so
// lets go at once, and the lock is tried again.
func (rr *restoreRun) makeJournal() error {
	name := ".cadang-restore-" + rr.token + ".run"
	var root unix.Stat_t
	if err := unix.Fstat(rr.root.fd, &root); err != nil {
		return &os.PathError{Op: "stat", Path: rr.root.path, Err: err}
	}
	for try := 0; ; try++ {
		fd, err := unix.Openat(rr.root.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return &os.PathError{Op: "create", Path: rr.root.abs(name), Err: err}
		}
		rr.hook("journal", name)
		for wait := 0; ; wait++ {
			err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if err != unix.EWOULDBLOCK || wait == 500 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			unix.Close(fd)
			unix.Unlinkat(rr.root.fd, name, 0)
			return &os.PathError{Op: "lock", Path: rr.root.abs(name), Err: err}
		}
		var fst, nst unix.Stat_t
		if unix.Fstat(fd, &fst) == nil && unix.Fstatat(rr.root.fd, name, &nst, unix.AT_SYMLINK_NOFOLLOW) == nil && fst.Ino == nst.Ino && fst.Dev == nst.Dev {
			host, _ := os.Hostname()
			head := fmt.Sprintf("%s\npid %d host %q\ntarget %d %d\n", journalMagic, os.Getpid(), host, uint64(root.Dev), root.Ino)
			if _, err := unix.Write(fd, []byte(head)); err != nil {
				unix.Close(fd)
				unix.Unlinkat(rr.root.fd, name, 0)
				return &os.PathError{Op: "write", Path: rr.root.abs(name), Err: err}
			}
			rr.journal.fd, rr.journal.name = fd, name
			return nil
		}
		unix.Close(fd)
		if try == 3 {
			return fmt.Errorf("%s is removed as it is made", rr.root.abs(name))
		}
	}
}

// dropJournal removes this restore's journal, once its temporary entries
// are gone: it has removed them itself. It is called before the target's
// own metadata is set (its times: the unlink changes them).
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
// removes the temporary entries they record, telling Restorer.Leftover of
// each. A journal is removed once it was read to its end and all its
// entries found are removed; one that leads to an entry that could not be
// removed stays, so that the next restore names it again.
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

// journalRec is an entry a journal records.
type journalRec struct {
	kind     string
	dev, ino uint64
	mode     uint32
	rel      string
	// birthSec and birthNsec are a directory's birth time, where its line
	// gives one (hasBirth).
	birthSec, birthNsec int64
	hasBirth            bool
}

// parsedJournal is what a journal says.
type parsedJournal struct {
	pid      int
	host     string
	rootDev  uint64
	rootIno  uint64
	recs     []journalRec
	complete bool // read to its end
}

// cleanJournal removes the leftovers of the journal name (token its
// restore's), if that restore is dead, was this user's and wrote in this
// very target.
func (rr *restoreRun) cleanJournal(name, token string) {
	// Only this user's own journals, regular files of one link: what
	// another user's restore left is theirs to clean, and a file of
	// theirs must not steer this restore. Looked at before it is opened
	// (a FIFO or a device is not opened), and the open checked to be the
	// file looked at.
	var lst, st unix.Stat_t
	if unix.Fstatat(rr.root.fd, name, &lst, unix.AT_SYMLINK_NOFOLLOW) != nil || lst.Mode&unix.S_IFMT != unix.S_IFREG || int(lst.Uid) != rr.euid || lst.Nlink != 1 {
		return
	}
	fd, err := unix.Openat(rr.root.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), rr.root.abs(name))
	defer f.Close()
	if unix.Fstat(fd, &st) != nil || st.Dev != lst.Dev || st.Ino != lst.Ino || st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != rr.euid || st.Nlink != 1 {
		return
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // its restore runs
	}
	j, ok := readJournal(f, st.Size)
	if !ok {
		return // not a journal of this version, or one whose restore was killed before it wrote its head
	}
	var root unix.Stat_t
	if unix.Fstat(rr.root.fd, &root) != nil || j.rootDev != uint64(root.Dev) || j.rootIno != root.Ino {
		// Made in another directory: a journal restored from a backup,
		// or a copy. Its entries are not this target's.
		return
	}
	prefix := ".cadang-restore-" + token + "-"
	clean := j.complete
	// A directory whose inode was recorded is judged by it alone: its
	// name's intent must not loosen that rule.
	made := map[string]bool{}
	for _, rec := range j.recs {
		if _, dir := tempMaxEntries[rec.kind]; dir {
			made[rec.rel] = true
		}
	}
	for _, rec := range j.recs {
		if _, n := splitRel(rec.rel); !strings.HasPrefix(n, prefix) {
			continue // not a name this restore makes
		}
		if _, intent := dirIntents[rec.kind]; intent && made[rec.rel] {
			continue
		}
		removed, err := rr.removeLeftover(rec)
		if err != nil {
			clean = false
		}
		if removed || err != nil {
			rr.leftover(Leftover{Path: rr.root.abs(rec.rel), PID: j.pid, Host: j.host, Err: err})
		}
	}
	if clean {
		// Still locked: no restore can have taken this name since.
		unix.Unlinkat(rr.root.fd, name, 0)
	}
}

// readJournal parses a journal of size bytes.
func readJournal(r io.Reader, size int64) (j parsedJournal, ok bool) {
	sc := bufio.NewScanner(io.LimitReader(r, journalMax))
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != journalMagic && sc.Text() != journalMagicV2 || !sc.Scan() {
		return j, false
	}
	if _, err := fmt.Sscanf(sc.Text(), "pid %d host %q", &j.pid, &j.host); err != nil {
		return j, false
	}
	if !sc.Scan() {
		return j, false
	}
	if _, err := fmt.Sscanf(sc.Text(), "target %d %d", &j.rootDev, &j.rootIno); err != nil {
		return j, false
	}
	for sc.Scan() {
		// A line cut short by the kill is not an entry.
		var rec journalRec
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d %o %q", &rec.kind, &rec.dev, &rec.ino, &rec.mode, &rec.rel); err != nil {
			continue
		}
		_, known := tempMaxEntries[rec.kind]
		_, dirIntent := dirIntents[rec.kind]
		if known {
			var r2 journalRec
			if n, _ := fmt.Sscanf(sc.Text(), "%s %d %d %o %q %d %d", &r2.kind, &r2.dev, &r2.ino, &r2.mode, &r2.rel, &rec.birthSec, &rec.birthNsec); n == 7 {
				rec.hasBirth = true
			}
		}
		if (known || dirIntent || rec.kind == tempFile || rec.kind == tempFileIntent) && validRel(rec.rel) && rec.rel != "" {
			j.recs = append(j.recs, rec)
		}
	}
	j.complete = sc.Err() == nil && size <= journalMax
	return j, true
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

// removeLeftover removes the temporary entry rec if it is still the one
// the dead restore made: the inode recorded, of the kind recorded, and a
// directory still as made (this user's, the mode recorded, holding no
// more than the restore puts in one and never a directory). removed says
// whether it did; err, whether an entry that is the restore's could not
// be. An entry that is gone or another inode is not the restore's, and
// neither.
func (rr *restoreRun) removeLeftover(rec journalRec) (removed bool, err error) {
	dir, name := splitRel(rec.rel)
	var dfd int
	if dir == "" {
		dfd, err = unix.Openat(rr.root.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		dfd, err = rr.root.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		return false, nil // gone, or no longer a directory: nothing of the restore's is reached there
	}
	defer unix.Close(dfd)
	if rec.kind == tempFileIntent {
		// Recorded by name before it was created: the kill may have come
		// before its inode was. A regular file at exactly that name, of
		// this user, with one link, is removed. Safe by name for a
		// regular file: whoever can rename an entry to that name in that
		// directory (write permission on it) could unlink it anyway,
		// except in a sticky directory, where renaming over a name, as
		// unlinking it, needs owning the entry or the directory; and the
		// file is this user's, whose restore made the name. Unlinking a
		// regular file only drops a name: nothing beneath it is reached.
		// Never a directory (removing one means emptying it).
		var st unix.Stat_t
		if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != rr.euid || st.Nlink != 1 {
			return false, nil
		}
		return rr.unlinkLeftover(dfd, name, rec.rel)
	}
	if rec.kind == tempFile {
		// Checked by name, then unlinked by name: someone could swap the
		// name in between. But whoever may do that may unlink what they
		// put there themselves; in a sticky directory, where unlinking
		// needs ownership, so does renaming to the name. So no one can
		// have this restore remove what they could not.
		var st unix.Stat_t
		if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || uint64(st.Dev) != rec.dev || st.Ino != rec.ino || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return false, nil
		}
		return rr.unlinkLeftover(dfd, name, rec.rel)
	}
	// A directory is opened, not followed if a symlink, and checked on
	// the descriptor; its contents are read and removed through it, so a
	// directory moved to the name in between is not emptied.
	// A directory named only by its intent (the kill came before its
	// inode was recorded) is removed as the restore makes one or not at
	// all: this user's, the mode recorded, and empty, so that at worst an
	// empty directory goes, which whoever could rename it to the name
	// could remove.
	kind, byName := dirIntents[rec.kind]
	if !byName {
		kind = rec.kind
	}
	sfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, nil
	}
	s := os.NewFile(uintptr(sfd), rr.root.abs(rec.rel))
	defer s.Close()
	var st unix.Stat_t
	if unix.Fstat(sfd, &st) != nil {
		return false, nil
	}
	mode := st.Mode & 0o7777
	if byName {
		// mkdir in a setgid directory sets the bit on what it makes,
		// which the intent's mode (written before the mkdir) lacks.
		mode &^= unix.S_ISGID
	}
	if !byName && (uint64(st.Dev) != rec.dev || st.Ino != rec.ino || !birthMatches(sfd, rec)) || st.Mode&unix.S_IFMT != unix.S_IFDIR ||
		int(st.Uid) != rr.euid || mode != rec.mode || rec.mode&0o077 != 0 {
		return false, nil // another directory (its inode reused), or one made something else since
	}
	inside, err := s.Readdirnames(-1)
	if err != nil {
		return false, &os.PathError{Op: "read", Path: rr.root.abs(rec.rel), Err: err}
	}
	if byName && len(inside) > 0 {
		// Named only, so the kill came before its inode line, and the
		// restore puts nothing in a stage or swap directory before that
		// line: one that holds something is not shown to be the
		// restore's. Renaming a directory needs only the parent's write
		// permission, not the directory's, so another user can move a
		// private directory of this user's to the name (the hostile
		// review of 2026-12-08 did, and the node in it was removed).
		return false, nil
	}
	if err := rr.checkTempDir(sfd, rec.rel, kind, inside); err != nil {
		if byName {
			// Named only: a directory that is not as the restore
			// makes one is not shown to be the restore's at all.
			return false, nil
		}
		return false, err
	}
	for _, n := range inside {
		if err := unix.Unlinkat(sfd, n, 0); err != nil && err != unix.ENOENT {
			return false, &os.PathError{Op: "remove", Path: rr.root.abs(path.Join(rec.rel, n)), Err: err}
		}
	}
	// By name: only an empty directory can be removed so, whatever stands
	// at the name by now.
	if err := unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR); err != nil {
		return false, &os.PathError{Op: "remove", Path: rr.root.abs(rec.rel), Err: err}
	}
	return true, nil
}

// checkTempDir checks, before anything in it is removed, that the entries
// inside (the names in sfd, the temporary directory rel of kind) are what
// the restore puts in one: no more than its kind holds, never a
// directory, and in a stage only the node it makes there (a symlink, FIFO
// or device node), never a regular file.
func (rr *restoreRun) checkTempDir(sfd int, rel, kind string, inside []string) error {
	if len(inside) > tempMaxEntries[kind] {
		return fmt.Errorf("holds %d entries, more than the restore puts in one: not removed", len(inside))
	}
	for _, n := range inside {
		var ist unix.Stat_t
		if err := unix.Fstatat(sfd, n, &ist, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "lstat", Path: rr.root.abs(path.Join(rel, n)), Err: err}
		}
		switch ist.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return errors.New("holds a directory, which a restore never makes in one: not removed")
		case unix.S_IFREG:
			return errors.New("holds a regular file, which a restore never makes in one: not removed")
		}
	}
	return nil
}

// warn tells Restorer.Warn of err.
func (rr *restoreRun) warn(err error) {
	if rr.rs.Warn != nil {
		rr.rs.Warn(err)
	}
}

// leftover tells Restorer.Leftover of l.
func (rr *restoreRun) leftover(l Leftover) {
	if rr.rs.Leftover != nil {
		rr.rs.Leftover(l)
	}
}

// unlinkLeftover removes the file name of dfd (rel in the target) that a
// dead restore left, and says whether it was there to remove.
func (rr *restoreRun) unlinkLeftover(dfd int, name, rel string) (bool, error) {
	if err := unix.Unlinkat(dfd, name, 0); err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, &os.PathError{Op: "remove", Path: rr.root.abs(rel), Err: err}
	}
	return true, nil
}
