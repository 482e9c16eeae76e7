package restorer

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/readahead"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/internal/pattern"
	"github.com/lpse/cadang/snapshot/walker"
)

// OverwriteMode says what to do with files that already exist in the target.
type OverwriteMode uint8

// Overwrite modes.
const (
	OverwriteAlways OverwriteMode = iota // replace existing files
	// OverwriteIfChanged replaces a file unless its size, mtime and (where
	// owners are restored) owner match; a kept file gets the snapshot's
	// mode and user xattrs, or is written anew where setting them in
	// place could grant privilege (keptMetadata).
	OverwriteIfChanged
	OverwriteNever // keep existing files
)

// ParseOverwriteMode parses "always", "if-changed" or "never".
func ParseOverwriteMode(s string) (OverwriteMode, error) {
	switch s {
	case "always", "":
		return OverwriteAlways, nil
	case "if-changed":
		return OverwriteIfChanged, nil
	case "never":
		return OverwriteNever, nil
	}
	return 0, fmt.Errorf("invalid overwrite mode %q (want always, if-changed or never)", s)
}

func (m OverwriteMode) String() string {
	return [...]string{"always", "if-changed", "never"}[m]
}

// Restorer writes (part of) a snapshot into a directory.
//
// Everything it writes stays beneath the target directory: it never
// follows a symlink that it did not create itself in this restore, whether
// the symlink was in the target before or was put there while it runs (see
// doc/design.md, "Restore"). A snapshot is data from the host that made it;
// the planner bounds the work a crafted one can cause (MaxNodes, trees that
// contain themselves), and checks each file's extents before writing.
type Restorer struct {
	Repo Repository
	// Include, if set, restores only paths matching one of these patterns
	// (and everything below a matching directory). Patterns are matched
	// against the paths in the snapshot (/srv/spse/x); the syntax is that
	// of archiver.Matcher.
	Include []string
	// Exclude skips matching paths (and everything below them).
	Exclude   []string
	Overwrite OverwriteMode
	// Verify re-reads every written file and checks its content.
	Verify bool
	// DryRun plans and reports but writes nothing.
	DryRun bool
	// NoOwner skips restoring file owners. Owners are restored only when
	// running as root anyway. Without owners, setuid and setgid bits are
	// not restored either (a directory keeps setgid).
	NoOwner bool
	// NoDevices skips character and block device nodes; they are counted
	// and listed in the summary (RestoreSummary.SkippedDevices).
	NoDevices bool
	// XattrInclude, if set, restores only the extended attributes whose
	// name matches one of these patterns (path.Match syntax, e.g.
	// "user.*"); XattrExclude skips those matching one of its patterns
	// (e.g. "security.capability"). By default all are restored.
	XattrInclude []string
	XattrExclude []string
	// MaxNodes bounds the entries the planner expands, counting a
	// subtree each time it occurs (default DefaultMaxNodes). A snapshot
	// above it is refused before anything is written: a chain of trees
	// that each name the next twice doubles with every level. Like the
	// walks of ls and dump (snapshot.WalkLimits), the planner also refuses
	// a subtree that expands to more than snapshot.DefaultWalkRepeatFloor
	// entries and more than snapshot.DefaultWalkRepeat times the entries
	// of all distinct trees seen, and directories nested deeper than
	// snapshot.DefaultMaxWalkDepth.
	MaxNodes uint64
	// Workers is the number of packs loaded and written at once (default
	// GOMAXPROCS, at least 2).
	Workers int
	// MaxOpenFiles bounds the files held open at once (default
	// DefaultMaxOpenFiles, at most half of RLIMIT_NOFILE, at least
	// Workers+1): a file closed to make room is reopened for its next blob.
	MaxOpenFiles int
	Progress     RestoreProgress
	// Leftover, if set, is told of each temporary entry that a restore
	// into the same target left when it was killed (SIGKILL, a crash),
	// which this one removed or could not remove (Leftover.Err). A
	// restore that runs still is never taken for a dead one.
	Leftover func(Leftover)
	// Warn, if set, is told of what the restore goes on without: the
	// journal of its temporary entries, when it cannot be made in the
	// target's top directory (then a temporary entry that a SIGKILL
	// leaves is not found by a later restore).
	Warn func(error)

	noOpenat2 bool                 // tests: use the fallback resolver
	testHook  func(op, rel string) // tests: called before each operation on rel
	testFDs   func(peak int)       // tests: the most files open at once, after the files are written
	// tests: an error that link(2) returns in place of linking name to
	// the file at to (both relative to the target); nil links.
	testLinkErr func(name, to string) error
	// tests: reach a kept file as if the restoring user could not read
	// it (keptMetadata's O_PATH way)
	testKeptNoRead bool
	// tests: renameat2 refuses its flags (RENAME_NOREPLACE,
	// RENAME_EXCHANGE) with EINVAL, as on NFS
	testNoRename2 bool
}

// DefaultMaxNodes is the default Restorer.MaxNodes: far above the entries
// of an LPSE's file store, far below what would exhaust a server's memory
// (the plan holds a few hundred bytes per entry).
const DefaultMaxNodes = 20_000_000

// maxExtentSize bounds a data extent: the largest blob a repository may
// hold. A larger claim is a damaged or crafted snapshot.
const maxExtentSize = snapshot.MaxExtentSize

// RestoreSummary is what a restore did.
type RestoreSummary struct {
	Start, End time.Time
	Files      uint64 // regular files restored (or to be restored in a dry run); not those in FailedFiles
	Dirs       uint64
	Links      uint64 // hardlinks made
	Others     uint64 // symlinks, FIFOs, devices
	// Entries counts the entries other than directories that the
	// restore was to make: files, hardlinks, symlinks, FIFOs and devices
	// (not sockets, nor devices left out by NoDevices). Where none of
	// them was restored or kept, but Entries is not 0, the restore
	// restored nothing, whatever directories it made.
	Entries uint64
	Skipped uint64 // existing files kept because of the overwrite mode
	// KeptMetadata counts the files kept by OverwriteIfChanged (also
	// counted in Skipped) whose mode or user extended attributes were set
	// to the snapshot's (would be, in a dry run).
	KeptMetadata uint64
	// KeptVerified counts the files kept by OverwriteIfChanged (also in
	// Skipped) that Verify read back and found to be the snapshot's; a
	// kept file that is not is written anew. KeptSame counts the symlinks
	// and FIFOs it kept, found the snapshot's (a symlink's target, a
	// FIFO's type). What Skipped holds beyond the two was neither written
	// nor verified.
	KeptVerified, KeptSame uint64
	Replaced               uint64 // existing entries (files, links, ...) removed to write the snapshot's in their place, directories' included
	Bytes                  uint64 // content bytes of the restored files
	Written                uint64 // content bytes actually written (holes are not written)
	Verified               uint64 // files verified
	// LinkCopies counts the hardlinks written as files of their own (also
	// counted in Files and Bytes): the target refused the link (a file
	// system without hardlinks, a mount point between the names, the
	// link limit), the file the link would share was not restored, or it
	// was kept by the overwrite mode and is not the snapshot's. Their
	// content is the snapshot's; only the shared inode is lost. A group's
	// later members are linked to its first copy where they can be.
	LinkCopies uint64
	// LinkCopyNotes names 20 of them at most, and why.
	LinkCopyNotes []snapshot.ItemError
	// SkippedDevices are the device nodes left out because of NoDevices,
	// as paths in the snapshot (as the errors name entries): they are not
	// in the target.
	SkippedDevices []string
	// SetIDDropped counts the files and nodes restored, and the files
	// that OverwriteIfChanged kept and gave the snapshot's mode, without a
	// setuid or setgid bit that the snapshot gives them: their owner was
	// not restored (not root, NoOwner, or a chown that failed), and the
	// bit would have handed the restoring user's privileges to whoever
	// runs them. An inode is counted once. SetIDDroppedPaths names the
	// first 20, as paths in the target.
	SetIDDropped      uint64
	SetIDDroppedPaths []string
	// FailedFiles are the files (each name of a hardlink too) that could
	// not be restored: their content could not be written (for example
	// because a blob is damaged), and they are removed from the target,
	// or another entry stands at their name (ErrInTheWay) and is left
	// as it is.
	FailedFiles []string
	// Damaged counts what failed because the repository could not give
	// its data: files of FailedFiles whose blob was damaged, missing or of
	// the wrong size, and directories whose tree could not be read. The
	// rest of the failures are the target's (permissions, space, an entry
	// in the way): the difference between a damaged backup and a restore
	// to try again elsewhere.
	Damaged uint64
	// FailedDirs counts the directories that could not be made (or
	// were kept out by an entry in the way), each with its error in
	// Errors; what they hold failed with them ("its directory could
	// not be restored"), and a directory below one is not counted.
	FailedDirs uint64
	// OtherErrors counts the errors (in Errors) about a symlink, FIFO or
	// device node itself: not made, or made without its metadata. Where
	// they are all the errors, every regular file planned was restored,
	// and no directory failed.
	OtherErrors uint64
	// Errors lists every problem, including metadata that could not be set.
	Errors []snapshot.ItemError
	// Causes counts the entries of Errors by cause, the most frequent
	// first: what an administrator must fix is one or two causes (a full
	// or read-only target), not hundreds of lines. An entry left out
	// because its directory failed counts under its directory's cause.
	Causes []Cause
	// StoppedBy is the error of a file system of the target (ENOSPC,
	// EDQUOT, EROFS) that made the restore stop writing files there after
	// StopAfterFailures files in a row on it failed with it (the first
	// such file system's, where several stopped; 0 when none did). The
	// count is kept per file system (st_dev of each file's directory): a
	// full file system mounted below the target stops only the files
	// whose directory is on it, and the rest are still written.
	// NotTried counts the file names it then did not try, and
	// NotTriedFiles names them (paths in the snapshot, sorted); they are
	// neither in FailedFiles nor in Errors.
	StoppedBy     syscall.Errno
	NotTried      uint64
	NotTriedFiles []string
	// Interrupted: the restore was cancelled while it wrote; Files and
	// Bytes are then the files complete in the target (the rest of the
	// summary is not filled in).
	Interrupted bool
}

// Cause is one cause of a restore's errors and how many it caused.
type Cause struct {
	// Errno is the system error, 0 for an error without one (an entry
	// in the way, data the repository could not give).
	Errno syscall.Errno
	// Damaged: the repository could not give the data (Errno is 0).
	Damaged bool
	// InTheWay: another entry stands at the name (a directory where the
	// snapshot has a file, a file or symlink where it has a directory)
	// and the restore left it as it is (Errno is 0).
	InTheWay bool
	Count    uint64
}

// ErrInTheWay is matched (errors.Is) by the error of an entry that was
// not restored because another entry stands at its name and the restore
// kept it: moved aside, or with --overwrite always where a directory is
// not in the way, a second restore puts the snapshot's entry there.
var ErrInTheWay = errors.New("an entry is in the way")

// ParentFailedMessage is the error of an entry left out because its
// directory could not be restored: derived from that directory's error,
// which says why.
const ParentFailedMessage = "not restored: its directory could not be restored"

// inTheWayError is the error of an entry that another entry kept out.
type inTheWayError struct{ msg string }

func (e *inTheWayError) Error() string        { return e.msg }
func (e *inTheWayError) Is(target error) bool { return target == ErrInTheWay }

// wayErr is an error that matches ErrInTheWay.
func wayErr(format string, a ...any) error { return &inTheWayError{fmt.Sprintf(format, a...)} }

// targetFull reports whether errno says that the target's file system
// takes no more files: full, over quota, or read-only. No later file can
// fare better while it lasts, so a restore stops after a run of them.
func targetFull(errno syscall.Errno) bool {
	return errno == syscall.ENOSPC || errno == syscall.EDQUOT || errno == syscall.EROFS
}

// StopAfterFailures is how many files in a row must fail with targetFull
// for a restore to stop writing. Not one: a file that did not fit frees
// its space again when it is removed, and a smaller one may still fit;
// not all of them: on a full disk each one costs a create, a write and an
// unlink on the very file system that holds whatever else the server
// writes, and buries the cause under a line per file.
const StopAfterFailures = 50

// TargetError is an error of the target directory itself (it cannot be
// made, opened or used): nothing was restored.
type TargetError struct {
	Target string
	Err    error
}

func (e *TargetError) Error() string { return e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// ErrRestoreIncomplete is wrapped by a *RestoreError.
var ErrRestoreIncomplete = errors.New("restore incomplete")

// Errors of a snapshot the planner refuses; nothing is written then. Both
// wrap snapshot.ErrWalkLimit, as the walks of ls, find and dump do.
var (
	ErrTooManyNodes = fmt.Errorf("more entries than the restore allows: %w", snapshot.ErrWalkLimit)
	ErrTreeCycle    = fmt.Errorf("tree contains itself: %w", snapshot.ErrWalkLimit)
)

// RestoreError is returned when some items could not be restored; the rest
// was restored.
type RestoreError struct {
	FailedFiles []string
	Errors      []snapshot.ItemError
}

func (e *RestoreError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "restore incomplete: %d file(s) failed, %d error(s)", len(e.FailedFiles), len(e.Errors))
	for i, ie := range e.Errors {
		if i == 10 {
			b.WriteString("\n  ...")
			break
		}
		fmt.Fprintf(&b, "\n  %s: %s", ie.Path, ie.Error)
	}
	return b.String()
}

// Unwrap returns ErrRestoreIncomplete.
func (e *RestoreError) Unwrap() error { return ErrRestoreIncomplete }

// rItem is an entry of the plan. A restore holds one per file: its paths
// in the snapshot and in the target (for messages) are derived from rel
// when needed rather than kept, and its tree is shared with the other
// entries of its directory.
type rItem struct {
	rel  string // slash-separated path below the target: what is opened
	base *planBase
	tree *repo.ID // the tree that holds the entry, for a panic's message
	node *snapshot.Node
}

// planBase is what turns an entry's rel into its paths.
type planBase struct {
	sroot  string // the path in the snapshot that rel is relative to
	target string // the target directory
}

// spath is the item's path in the snapshot.
func (it rItem) spath() string { return path.Join(it.base.sroot, it.rel) }

// dst is the item's path in the target, for messages.
func (it rItem) dst() string { return filepath.Join(it.base.target, filepath.FromSlash(it.rel)) }

func (it rItem) treeID() repo.ID {
	if it.tree == nil {
		return repo.ID{}
	}
	return *it.tree
}

type rFile struct {
	rItem
	linkTo *rFile   // a hardlink to an earlier file
	fm     fileMeta // the node, once the plan is compacted (node is nil then)

	remaining atomic.Int64
	failed    atomic.Bool
	// counted: the file is in RestoreSummary.Files and Bytes, which a
	// failure takes it out of again (the summary counts what was
	// restored, not what was tried).
	counted atomic.Bool
	mu      sync.Mutex
	fd      int // open descriptor, or -1
	pins    int // goroutines using fd now; the fd cache closes only unpinned files
	created bool
	// replace: an entry stood at the file's name and is replaced when the
	// file is complete. Until then the file is written under a temporary
	// name beside it (writeRel), so that an interrupt or a failure keeps
	// what stood there instead of leaving the name empty.
	replace bool
	errMsg  string
}

type devIno struct{ dev, ino uint64 }

type rTarget struct {
	file *rFile
	off  int64
	size int64 // the extent's size, which the blob must have
}

// treeEntry is a tree of the snapshot as the planner saw it.
type treeEntry struct {
	t     *snapshot.Tree
	err   error
	state uint8  // 0 new, 1 being measured (on the current path), 2 measured
	nodes uint64 // entries below, shared subtrees counted each time
	// released: planned, and t dropped so that the plan does not hold
	// every tree at once; a subtree met again is loaded again.
	released bool
}

type restoreRun struct {
	rs       *Restorer
	r        Repository
	sn       *snapshot.Snapshot
	progress RestoreProgress
	owner    bool
	hasher   BlobHasher
	token    string   // random, in the temporary names of files that replace entries (writeRel)
	secret   [16]byte // random, the key of the MACs in those names: it appears in none
	stage    *stage   // phase 2's private directory (makeSpecialStaged)
	stages   int      // stages made, counted into their names
	journal  journal  // the temporary entries made, for a later restore if this one is killed (noteTemp)
	// keptChecked holds, per first member of a hardlink group kept by the
	// overwrite mode, whether its later members may be linked to it.
	keptChecked map[*rFile]copyReason
	// contentSeen: per inode whose content keptContent compared with the
	// snapshot, which content and what it found, so that the names of a
	// kept hardlink group are read once, not once per name and again to
	// link to it. Used from the one goroutine that decides phases 3 and 4.
	contentSeen map[devIno]contentCheck
	// keptSeen: in a dry run, what keptMetadata found each multiply
	// linked inode to need, so that its group's names count it once.
	keptSeen map[devIno]keptJudgement
	// groups: the later members of each hardlink group, by first member
	// (groupLinks), made when first asked for.
	groups map[*rFile][]*rFile
	// plannedFiles and plannedBytes are the totals told to Planned.
	plannedFiles, plannedBytes uint64

	root *root // nil in a dry run into a missing target
	// fresh is set when the target did not exist or was empty: nothing can
	// be in the way, so no item needs an existence check first.
	fresh bool
	umask uint32
	euid  int
	egid  int
	incl  *pattern.Matcher
	excl  *pattern.Matcher

	trees    map[repo.ID]*treeEntry // while planning
	distinct uint64                 // entries of the distinct trees loaded
	maxNodes uint64
	// curTree and curPath are the tree being planned, or the tree and
	// path of the item being restored by the calling goroutine, for a
	// panic's message.
	curTree    repo.ID
	curPath    string
	base       *planBase         // of every rItem
	failedDirs map[string]error  // the directories not restored, and why
	firstLink  map[devIno]*rFile // the first planned file of each inode with several links
	// setIDSeen: the kept inodes noteSetID counted (under sumMu), so
	// that a hardlink group kept by if-changed counts once, as a group
	// written anew does.
	setIDSeen map[devIno]bool
	// mknodOK: this process may make device nodes (mayMknod).
	mknodOK bool
	// userNS: owners are restored by root in a user namespace, which
	// can give only the IDs the namespace maps (chownError).
	userNS bool

	dirs   []rItem
	others []rItem
	files  []*rFile
	links  []*rFile

	fds *fdCache // the files open now, at most Restorer.MaxOpenFiles

	sumMu  sync.Mutex
	sum    RestoreSummary
	causes map[Cause]uint64 // Cause without Count: the errors of each (under sumMu)
	// full counts, per file system, the files that failed in a row with
	// a targetFull error; stopped holds the first errno with which a file
	// system reached StopAfterFailures (the files not yet begun whose
	// directory is on it are then not tried), anyFull is set at the
	// first such failure.
	full    fullDevs
	anyFull atomic.Bool
	stopped atomic.Uint32
	written atomic.Uint64
	// targetNode is the directory whose contents go into the target (a
	// subpath restore); targetMade says the restore made the target.
	targetNode *snapshot.Node
	targetMade bool
	// finished and finishedBytes: the files complete in the target, and
	// their bytes (an interrupted restore's summary).
	finished, finishedBytes atomic.Uint64

	hashMu sync.Mutex
	hashes map[repo.ID][32]byte // for Verify without a BlobHasher
}

// Restore restores the snapshot's subpath ("" or "/" for all of it) into
// target. For the whole snapshot, a file backed up from /srv/spse/x is
// restored to target/srv/spse/x. For a subpath that is a directory, its
// contents go into target; for a file, it is restored as target/NAME.
//
// Items that cannot be restored are reported to Progress and listed; the
// error is then a *RestoreError. Files that use a damaged or missing blob
// fail alone: the rest is restored. A snapshot the planner refuses
// (ErrTooManyNodes, ErrTreeCycle) and a panic (a bug, or a repository
// implementation's) are errors naming the snapshot and tree. A restore
// cancelled while it wrote returns ctx's error with a summary that says
// what is complete in the target (RestoreSummary.Interrupted).
func (rs *Restorer) Restore(ctx context.Context, sn *snapshot.Snapshot, subpath, target string) (sum *RestoreSummary, err error) {
	rr := &restoreRun{rs: rs, r: rs.Repo, sn: sn, progress: rs.Progress, hashes: map[repo.ID][32]byte{},
		trees: map[repo.ID]*treeEntry{}, failedDirs: map[string]error{}, firstLink: map[devIno]*rFile{}, maxNodes: rs.MaxNodes}
	rr.journal.fd = -1
	if rr.progress == nil {
		rr.progress = NopRestoreProgress{}
	}
	var tok [6]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	rr.token = hex.EncodeToString(tok[:])
	if _, err := rand.Read(rr.secret[:]); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if rr.maxNodes == 0 {
		rr.maxNodes = DefaultMaxNodes
	}
	defer func() {
		if p := recover(); p != nil {
			sum, err = nil, fmt.Errorf("snapshot %s: restore failed at %s (tree %s): panic: %v", sn.ID().Short(), rr.curPath, rr.curTree.Short(), p)
		}
	}()
	rr.owner = !rs.NoOwner && os.Geteuid() == 0
	rr.hasher, _ = rs.Repo.(BlobHasher)
	if rr.incl, err = pattern.New(rs.Include); err != nil {
		return nil, err
	}
	if rr.excl, err = pattern.New(rs.Exclude); err != nil {
		return nil, err
	}
	if err := checkXattrPatterns(rs.XattrInclude, "xattr include"); err != nil {
		return nil, err
	}
	if err := checkXattrPatterns(rs.XattrExclude, "xattr exclude"); err != nil {
		return nil, err
	}
	rr.sum.Start = time.Now()
	target, err = filepath.Abs(target)
	if err != nil {
		return nil, err
	}

	// Find the subtree to restore.
	subpath = path.Clean("/" + subpath)
	if subpath == "/" {
		if err := rr.plan(ctx, sn.Tree, "/", target, rr.incl.Empty()); err != nil {
			return nil, beforeWrite(err)
		}
	} else {
		n, err := walker.FindNode(ctx, rs.Repo, sn.Tree, subpath)
		if err != nil {
			return nil, beforeWrite(err)
		}
		if n.Type == snapshot.TypeDir {
			if err := rr.plan(ctx, n.Subtree, subpath, target, rr.incl.Empty() || rr.incl.Match(subpath, true)); err != nil {
				return nil, beforeWrite(err)
			}
			rr.targetNode = n
		} else if rr.checkName(n, subpath) {
			rr.base = &planBase{sroot: path.Dir(subpath), target: target}
			rr.planNode(n, nil, subpath, n.Name, rr.incl.Empty() || rr.incl.Match(subpath, false))
		}
	}
	rr.trees = nil // the plan holds the nodes it needs

	var total uint64
	for _, f := range rr.files {
		total += uint64(f.fm.size)
	}
	// Every name of a regular file is an item the progress completes,
	// hardlinks included ("files_done" above "total_files" otherwise).
	rr.plannedFiles, rr.plannedBytes = uint64(len(rr.files)+len(rr.links)), total
	rr.progress.Planned(rr.plannedFiles, rr.plannedBytes)

	rr.fresh = isEmptyOrMissing(target)
	rr.euid, rr.egid = os.Geteuid(), os.Getegid()
	rr.mknodOK = mayMknod(rr.euid)
	rr.userNS = rr.owner && !initialUserNS()
	// umask is process-wide; it is read (set and put back) before any
	// worker starts, and tells which created modes need no chmod.
	rr.umask = uint32(unix.Umask(0o022))
	unix.Umask(int(rr.umask))
	if err := rr.openTarget(target); err != nil {
		return nil, &TargetError{Target: target, Err: err}
	}
	defer rr.root.close()
	if !rs.DryRun && !rr.fresh {
		rr.cleanLeftovers()
	}
	// Before the root closes: the journal is removed through it. Every
	// way out of execute removes the temporary entries first.
	defer rr.dropJournal()
	if err := rr.execute(ctx); err != nil {
		if ctx.Err() != nil && !rs.DryRun {
			// Interrupted while it wrote: what stands in the target now
			// (the run log and the restore minutes must not say 0).
			return &RestoreSummary{Start: rr.sum.Start, End: time.Now(), Interrupted: true,
				Files: rr.finished.Load(), Bytes: rr.finishedBytes.Load(), Written: rr.written.Load()}, err
		}
		return nil, err
	}
	rr.dropJournal() // before the target's times are set: its unlink changes them
	if rr.targetNode != nil && rr.targetMade {
		// The target made for a directory's contents is that directory:
		// its mode, owner and times, not the 0700 it was made with.
		rr.targetMetadata(subpath)
	}
	rr.sum.End = time.Now()
	rr.sum.Written = rr.written.Load()
	slices.Sort(rr.sum.FailedFiles)
	slices.SortFunc(rr.sum.Errors, func(a, b snapshot.ItemError) int { return strings.Compare(a.Path, b.Path) })
	rr.sum.Causes = rr.sortedCauses()
	rr.sum.StoppedBy = syscall.Errno(rr.stopped.Load())
	slices.Sort(rr.sum.NotTriedFiles)
	if len(rr.sum.Errors) > 0 || len(rr.sum.FailedFiles) > 0 || rr.sum.NotTried > 0 {
		return &rr.sum, &RestoreError{FailedFiles: rr.sum.FailedFiles, Errors: rr.sum.Errors}
	}
	return &rr.sum, nil
}

// openTarget makes the target where it is missing (not in a dry run) and
// opens it as rr.root; a dry run into a missing target opens none.
func (rr *restoreRun) openTarget(target string) error {
	rs := rr.rs
	if st, err := os.Stat(target); err == nil && !st.IsDir() {
		// Said so, rather than as MkdirAll's "not a directory".
		return &os.PathError{Op: "restore into", Path: target, Err: syscall.ENOTDIR}
	}
	var err error
	if !rs.DryRun {
		if _, err := os.Lstat(target); os.IsNotExist(err) {
			if rr.root, err = makeRoot(target, rr.euid, rs.noOpenat2); err != nil {
				return err
			}
			rr.targetMade = rr.root != nil
		}
		if rr.root == nil {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
		}
	}
	if rr.root == nil && (!rs.DryRun || !rr.fresh) {
		if rr.root, err = openRoot(target, rs.noOpenat2); err != nil {
			return err
		}
	}
	return nil
}

// ErrNothingWritten is wrapped by the error of a restore interrupted
// before it wrote anything to the target (while it planned): there is no
// partial tree to finish.
var ErrNothingWritten = errors.New("nothing was written to the target")

// beforeWrite marks an interruption of the planning with ErrNothingWritten.
func beforeWrite(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", err, ErrNothingWritten)
	}
	return err
}

// plan measures the tree (refusing one too large or containing itself),
// then walks it and records what to restore.
func (rr *restoreRun) plan(ctx context.Context, tree repo.ID, spath, dst string, included bool) error {
	rr.base = &planBase{sroot: spath, target: dst}
	// Without its first tree nothing of the snapshot (or subpath) can be
	// restored: that is a failed restore, not a partial one of 0 files.
	if e := rr.loadTree(ctx, tree); e.err != nil {
		return fmt.Errorf("snapshot %s: tree %s at %s: %w (nothing was restored)", rr.sn.ID().Short(), tree.Short(), spath, e.err)
	}
	if _, err := rr.measure(ctx, tree, spath, 1); err != nil {
		return err
	}
	_, err := rr.planTree(ctx, tree, spath, "", included)
	return err
}

// loadTree loads a tree once per restore; the planner's passes share it.
func (rr *restoreRun) loadTree(ctx context.Context, id repo.ID) *treeEntry {
	e := rr.trees[id]
	if e == nil {
		e = &treeEntry{}
		e.t, e.err = snapshot.LoadTree(ctx, rr.r, id)
		rr.trees[id] = e
		if e.err == nil {
			rr.distinct += uint64(len(e.t.Nodes))
		}
	} else if e.released {
		e.t, e.err = snapshot.LoadTree(ctx, rr.r, id)
		e.released = e.err != nil
	}
	return e
}

// measure counts the entries below tree as the plan would expand them,
// each distinct tree loaded and counted once, so that a snapshot whose
// shared subtrees multiply is refused after reading only its distinct
// trees, before any memory goes to the plan. Excludes are not applied: the
// count is an upper bound. A tree met again on its own path is a cycle.
func (rr *restoreRun) measure(ctx context.Context, tree repo.ID, spath string, depth int) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if depth > snapshot.DefaultMaxWalkDepth {
		return 0, fmt.Errorf("snapshot %s: tree %s at %s: directories nested deeper than %d: %w",
			rr.sn.ID().Short(), tree.Short(), spath, snapshot.DefaultMaxWalkDepth, ErrTooManyNodes)
	}
	e := rr.loadTree(ctx, tree)
	switch e.state {
	case 1:
		return 0, fmt.Errorf("snapshot %s: tree %s at %s: %w", rr.sn.ID().Short(), tree.Short(), spath, ErrTreeCycle)
	case 2:
		return e.nodes, nil
	}
	if e.err != nil {
		e.state = 2 // reported by planTree at each place it is used
		return 0, nil
	}
	e.state = 1
	n := uint64(len(e.t.Nodes))
	for _, nd := range e.t.Nodes {
		if n > rr.maxNodes {
			break
		}
		if nd.Type == snapshot.TypeDir {
			c, err := rr.measure(ctx, nd.Subtree, path.Join(spath, nd.Name), depth+1)
			if err != nil {
				return 0, err
			}
			n += c
		}
	}
	if n > rr.maxNodes {
		return 0, fmt.Errorf("snapshot %s: tree %s at %s expands to more than %d entries: %w",
			rr.sn.ID().Short(), tree.Short(), spath, rr.maxNodes, ErrTooManyNodes)
	}
	// Genuine snapshots share some identical directories; a subtree that
	// repeats its distinct entries a thousand times over is built to
	// exhaust whoever expands it.
	if n > snapshot.DefaultWalkRepeatFloor && n > snapshot.DefaultWalkRepeat*rr.distinct {
		return 0, fmt.Errorf("snapshot %s: tree %s at %s expands to %d entries, more than %d times the %d entries of its distinct trees: %w",
			rr.sn.ID().Short(), tree.Short(), spath, n, snapshot.DefaultWalkRepeat, rr.distinct, ErrTooManyNodes)
	}
	e.state, e.nodes = 2, n
	return n, nil
}

// checkName refuses a node whose name is not a single path component.
// The tree decoder checks names too; the restorer does not depend on it.
func (rr *restoreRun) checkName(n *snapshot.Node, spath string) bool {
	s := n.Name
	if s == "" || s == "." || s == ".." || strings.IndexByte(s, '/') >= 0 || strings.IndexByte(s, 0) >= 0 {
		rr.addError(spath, fmt.Errorf("invalid name %q in the snapshot: not restored", s))
		return false
	}
	return true
}

func (rr *restoreRun) planTree(ctx context.Context, tree repo.ID, spath, rel string, included bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rr.curTree, rr.curPath = tree, spath
	e := rr.loadTree(ctx, tree)
	if e.err != nil {
		rr.addError(spath, e.err)
		rr.count(func(s *RestoreSummary) { s.Damaged++ })
		return false, nil
	}
	tid := &tree // shared by the entries of this directory
	sel := false
	for _, n := range e.t.Nodes {
		sp := path.Join(spath, n.Name)
		if !rr.checkName(n, sp) {
			continue
		}
		r := n.Name
		if rel != "" {
			r = rel + "/" + n.Name
		}
		isDir := n.Type == snapshot.TypeDir
		if rr.excl.Match(sp, isDir) {
			continue
		}
		inc := included || rr.incl.Match(sp, isDir)
		if isDir {
			idx := len(rr.dirs)
			rr.dirs = append(rr.dirs, rItem{rel: r, base: rr.base, tree: tid, node: n})
			sub, err := rr.planTree(ctx, n.Subtree, sp, r, inc)
			if err != nil {
				return false, err
			}
			if !sub && !inc {
				rr.dirs[idx].node = nil // not selected: do not create
			} else {
				sel = true
			}
			continue
		}
		if inc {
			rr.planNode(n, tid, sp, r, true)
			sel = true
		}
	}
	// The entries planned from this tree keep what they need of it.
	e.t, e.released = nil, true
	return sel, nil
}

func (rr *restoreRun) planNode(n *snapshot.Node, tree *repo.ID, sp, rel string, inc bool) {
	if !inc {
		return
	}
	it := rItem{rel: rel, base: rr.base, tree: tree, node: n}
	if n.Type == snapshot.TypeFile {
		if err := checkExtents(n); err != nil {
			rr.addError(sp, err)
			rr.addFailedFile(sp)
			return
		}
		// The file keeps a compact copy of its node, not the node: the
		// tree holding it is let go once planned.
		it.node = nil
		f := &rFile{rItem: it, fd: -1, fm: newFileMeta(n)}
		if !rr.linkHardlink(f, n) {
			rr.files = append(rr.files, f)
		}
		return
	}
	rr.others = append(rr.others, it)
}

// checkExtents checks that a file's extents can be written as they are:
// sizes not negative, data extents no larger than a blob can be, and
// adding up to the file's size.
func checkExtents(n *snapshot.Node) error {
	if n.Size < 0 {
		return fmt.Errorf("invalid file in the snapshot: size %d", n.Size)
	}
	var sum int64
	for i, e := range n.Content {
		if e.Size < 0 || !e.IsHole() && e.Size > maxExtentSize {
			return fmt.Errorf("invalid file in the snapshot: extent %d claims %d bytes", i, e.Size)
		}
		if sum > math.MaxInt64-e.Size {
			return fmt.Errorf("invalid file in the snapshot: extents overflow")
		}
		sum += e.Size
	}
	if sum != n.Size {
		return fmt.Errorf("invalid file in the snapshot: extents add up to %d bytes, size is %d", sum, n.Size)
	}
	return nil
}

// linkHardlink makes f, planned from n, a link to the first planned file
// that shares its device and inode (when its link count is above one), and
// reports whether it did; the first such file is remembered.
func (rr *restoreRun) linkHardlink(f *rFile, n *snapshot.Node) bool {
	if n.Links <= 1 || n.Inode == 0 {
		return false
	}
	k := devIno{n.Device, n.Inode}
	if p, ok := rr.firstLink[k]; ok {
		f.linkTo = p
		rr.links = append(rr.links, f)
		return true
	}
	rr.firstLink[k] = f
	return false
}

func (rr *restoreRun) addError(p string, err error) { rr.addErrorOf(p, err, false) }

// addErrorOf reports the error of the entry p, counted under its cause
// (damaged: the repository could not give its data).
func (rr *restoreRun) addErrorOf(p string, err error, damaged bool) {
	rr.progress.Error(p, err)
	c := Cause{Damaged: damaged}
	if !damaged {
		errors.As(err, &c.Errno)
		c.InTheWay = c.Errno == 0 && errors.Is(err, ErrInTheWay)
	}
	rr.sumMu.Lock()
	rr.sum.Errors = append(rr.sum.Errors, snapshot.ItemError{Path: p, Error: err.Error()})
	if rr.causes == nil {
		rr.causes = map[Cause]uint64{}
	}
	rr.causes[c]++
	rr.sumMu.Unlock()
}

// sortedCauses is rr.causes as RestoreSummary.Causes: the most frequent
// first, then by errno, for output that does not change from run to run.
func (rr *restoreRun) sortedCauses() []Cause {
	var cs []Cause
	for c, n := range rr.causes {
		c.Count = n
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b Cause) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if a.Damaged != b.Damaged {
			return cmp.Compare(boolInt(b.Damaged), boolInt(a.Damaged))
		}
		if a.InTheWay != b.InTheWay {
			return cmp.Compare(boolInt(b.InTheWay), boolInt(a.InTheWay))
		}
		return cmp.Compare(a.Errno, b.Errno)
	})
	return cs
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parentError is the error of an entry left out because its directory
// could not be restored; it unwraps to the directory's error, so that the
// entry counts under that cause.
type parentError struct{ dir error }

func (e *parentError) Error() string { return ParentFailedMessage }
func (e *parentError) Unwrap() error { return e.dir }

// parentErr is the error of the entry rel, whose directory failed.
func (rr *restoreRun) parentErr(rel string) error {
	dir, _ := splitRel(rel)
	return &parentError{rr.failedDirs[dir]}
}

func (rr *restoreRun) count(f func(s *RestoreSummary)) {
	rr.sumMu.Lock()
	f(&rr.sum)
	rr.sumMu.Unlock()
}

// at records the item the calling goroutine (not a worker) works on.
func (rr *restoreRun) at(it rItem) { rr.curTree, rr.curPath = it.treeID(), it.spath() }

func (rr *restoreRun) hook(op, rel string) {
	if rr.rs.testHook != nil {
		rr.rs.testHook(op, rel)
	}
}

// parentFailed reports whether the directory that holds rel could not be
// restored; everything below it is left out, reported once for files.
func (rr *restoreRun) parentFailed(rel string) bool {
	dir, _ := splitRel(rel)
	_, failed := rr.failedDirs[dir]
	return dir != "" && failed
}

// prepareEntry decides whether to write an item; it returns write false to
// skip it. An entry that stands at its name and is to be replaced is not
// removed but reported (replace), for the caller to make the new one
// beside it and put it in its place with rename(2) once it is complete:
// until then the entry stays as it was. The entry is looked at by name in
// its parent directory, never through a symlink. A regular file that
// OverwriteIfChanged keeps has its lstat put in kept, where kept is not nil.
func (rr *restoreRun) prepareEntry(it rItem, node func() *snapshot.Node, kept *unix.Stat_t) (write, replace bool, err error) {
	if rr.fresh || rr.root == nil {
		return true, false, nil
	}
	write = true
	err = rr.root.at(it.rel, func(dfd int, name string) error {
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				return nil
			}
			return &os.PathError{Op: "lstat", Path: it.dst(), Err: err}
		}
		typ := st.Mode & unix.S_IFMT
		switch rr.rs.Overwrite {
		case OverwriteNever:
			if typ == unix.S_IFDIR {
				// Kept, but the item is not there, in any mode: said
				// (the summary would count it as a file kept).
				return wayErr("a directory is in the way (kept: overwrite mode never)")
			}
			write = false
			return nil
		case OverwriteIfChanged:
			n := node()
			// A file of another owner than the restore gives is
			// written anew: its size and time are its owner's to
			// set, so they say nothing of its content, which is not
			// handed the snapshot's owner (or, owners not restored,
			// kept as restored); nor is its mode changed in place.
			// keptMetadata decides the rest.
			if n.Type == snapshot.TypeFile && typ == unix.S_IFREG && st.Size == n.Size &&
				time.Unix(st.Mtim.Unix()).Equal(n.ModTime) && rr.ownedAsRestored(&st, n) {
				write = false
				if kept != nil {
					*kept = st
				}
				return nil
			}
			if n.Type == snapshot.TypeSymlink && typ == unix.S_IFLNK {
				buf := make([]byte, len(n.LinkTarget)+1)
				if k, err := unix.Readlinkat(dfd, name, buf); err == nil && string(buf[:k]) == n.LinkTarget {
					write = false
					rr.sum.KeptSame++
					return nil
				}
			}
			// A device node is unchanged with the same device number,
			// and only with the snapshot's mode and owner: one that
			// others may open differs where it matters most.
			if (n.Type == snapshot.TypeCharDev && typ == unix.S_IFCHR || n.Type == snapshot.TypeBlockDev && typ == unix.S_IFBLK) &&
				st.Rdev == n.Rdev && st.Mode&0o7777 == restoredMode(n, rr.owner) && (!rr.owner || st.Uid == n.UID && st.Gid == n.GID) {
				write = false
				rr.sum.KeptSame++
				return nil
			}
			// A FIFO has no content: one is unchanged as a FIFO.
			if n.Type == snapshot.TypeFIFO && typ == unix.S_IFIFO {
				write = false
				rr.sum.KeptSame++
				return nil
			}
		}
		if typ == unix.S_IFDIR {
			return wayErr("a directory is in the way (a restore does not remove a directory to put a file there: move it aside, or restore into another directory)")
		}
		// Said in the summary: a restore onto a live tree replaces
		// files without asking (OverwriteAlways is the default).
		if rr.rs.DryRun {
			rr.sum.Replaced++
			return nil
		}
		replace = true // counted when replaced
		return nil
	})
	if err != nil && rr.rs.DryRun && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)) {
		// Its directory does not exist yet, or a file stands where the
		// run would make it (makeDirRun counted that one).
		return true, false, nil
	}
	return write && err == nil, replace && err == nil, err
}

// ownedAsRestored says whether st has the owner that the restore gives the
// file n: the snapshot's where owners are restored, else the restoring
// user (root's with NoOwner).
func (rr *restoreRun) ownedAsRestored(st *unix.Stat_t, n *snapshot.Node) bool {
	if rr.owner {
		return st.Uid == n.UID && st.Gid == n.GID
	}
	return int(st.Uid) == rr.euid
}

// fixKept gives a file that if-changed kept (st is its look) the
// snapshot's mode and attributes (keptMetadata), and says whether it is to
// be written anew after all, replacing the entry, because they cannot
// safely be set in place.
func (rr *restoreRun) fixKept(f *rFile, st *unix.Stat_t) (write, replace bool) {
	act, err := rr.keptMetadata(f, st, rr.rs.DryRun)
	switch {
	case err != nil:
		rr.addError(f.spath(), err)
	case act == keptRewrite:
		if rr.rs.DryRun {
			rr.sum.Replaced++ // a run counts it when it is renamed into place
		}
		return true, true
	case act == keptFixed:
		rr.sum.KeptMetadata++
	}
	if err == nil && setIDDropped(f.n(), rr.owner) {
		rr.noteSetID(f.dst(), devIno{uint64(st.Dev), st.Ino})
	}
	return false, false
}

// targetMetadata gives the target, which this restore made for the
// contents of the snapshot's directory spath, that directory's metadata,
// through a descriptor of the target it opened at the start.
func (rr *restoreRun) targetMetadata(spath string) {
	fd, err := unix.Openat(rr.root.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		rr.addError(spath, &os.PathError{Op: "open", Path: rr.root.path, Err: err})
		return
	}
	defer unix.Close(fd)
	if _, err := rr.fdMetadata(fd, rr.root.path, rr.targetNode, false); err != nil {
		rr.addError(spath, err)
	}
}

// verifyKept is, with Verify, keptVerified of a file that if-changed kept:
// a kept file found to be the snapshot's is counted (KeptVerified), one
// that is not is to be written anew (write, replace). A dry run reads
// nothing.
func (rr *restoreRun) verifyKept(f *rFile, st *unix.Stat_t) (write, replace bool) {
	if !rr.rs.Verify || rr.rs.DryRun {
		return false, false
	}
	if rr.keptVerified(f, st) {
		rr.sum.KeptVerified++
		return false, false
	}
	return true, true
}

// mkdir creates the directory name in dirfd, or keeps the directory that
// is there. Anything else in the way (a symlink above all) is replaced by
// the directory (made under a temporary name and exchanged with it), or
// with OverwriteNever fails the directory: it is never followed.
// made says whether this call created the directory.
func (rr *restoreRun) mkdir(dfd int, rel, dst string) (made bool, err error) {
	dir, name := splitRel(rel)
	err = unix.Mkdirat(dfd, name, 0o700)
	if err == nil || err != unix.EEXIST {
		if err != nil {
			return false, &os.PathError{Op: "mkdir", Path: dst, Err: err}
		}
		return true, nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, &os.PathError{Op: "lstat", Path: dst, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false, nil
	}
	what := "a file"
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		what = "a symbolic link"
	}
	if rr.rs.Overwrite == OverwriteNever {
		return false, wayErr("%s is in the way of the directory (kept: overwrite mode never)", what)
	}
	// The directory is made under a temporary name and exchanged with
	// what stands there, which is removed only then: a directory that
	// cannot be made (no inodes or quota left) leaves the entry as it was.
	tmp := fmt.Sprintf(".cadang-restore-%s-%x", rr.token, rr.mac("dir", dst))
	// Named before it is made: a kill between the mkdir and the line of
	// its inode left it where no later restore looked.
	rr.noteDirIntent(tempDirIntent, path.Join(dir, tmp))
	if err := unix.Mkdirat(dfd, tmp, 0o700); err != nil {
		return false, &os.PathError{Op: "mkdir", Path: dst, Err: err}
	}
	rr.hook("swapdir", rel)
	var mst unix.Stat_t
	if err := unix.Fstatat(dfd, tmp, &mst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, &os.PathError{Op: "lstat", Path: dst, Err: err}
	}
	rr.noteTemp(tempDir, path.Join(dir, tmp), &mst)
	err = unix.EINVAL
	if !rr.rs.testNoRename2 {
		err = unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_EXCHANGE)
	}
	switch err {
	case nil:
		// Whoever can write the directory could have put a directory of
		// their own at the temporary name before the exchange.
		var now unix.Stat_t
		if err := unix.Fstatat(dfd, name, &now, unix.AT_SYMLINK_NOFOLLOW); err != nil || now.Dev != mst.Dev || now.Ino != mst.Ino {
			return false, fmt.Errorf("the directory made in place of %s was replaced by someone else's before it took its name", what)
		}
		unix.Unlinkat(dfd, tmp, 0) // the entry, now under tmp
	case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
		// No exchange here (NFS, FUSE without rename2): the entry goes
		// first, and the directory made takes its name.
		if err = unix.Unlinkat(dfd, name, 0); err == nil || err == unix.ENOENT {
			err = unix.Renameat(dfd, tmp, dfd, name)
		}
	}
	if err != nil {
		unix.Unlinkat(dfd, tmp, unix.AT_REMOVEDIR)
		return false, &os.PathError{Op: "replace " + what + " in the way", Path: dst, Err: err}
	}
	// Said in the summary with the files replaced (several workers make
	// the directories of one depth).
	rr.count(func(s *RestoreSummary) { s.Replaced++ })
	return true, nil
}

// parentDirs keeps open the last few directories that phase 1 created
// directories in, so that siblings share one open of their parent. It
// opened the parent for each directory again: two of a restore's three
// opens of a directory (20,000 of them in the benchmark's restore, on the
// one goroutine that creates them).
//
// A kept descriptor follows its directory wherever it is moved, where an
// open per directory looks the path up beneath the target each time and
// fails on a symlink left in its place. So only directories that no one
// else can move are kept: those this restore created (private, 0700)
// inside directories it created, up to a target that no other user may
// write in. Any other parent, a directory that was there before above
// all, is looked up again for every directory, as before.
type parentDirs struct {
	root     *root
	rootSafe int // 0: not known yet; 1: no other user may write in the target; -1: one may
	ours     map[string]bool
	fds      map[string]int
	order    []string // least recently used first
	keep     int      // descriptors kept at most; 0 is parentDirsMax
}

// parentDirsMax bounds the descriptors kept: more than the depth of a
// tree walked parents first needs.
const parentDirsMax = 16

// safeChild reports whether rel, a directory this restore has just
// created, counts as one of its own: its parent is (the target, when no
// one else may write in it, or a directory of its own).
func (p *parentDirs) safeChild(rel string) bool {
	dir, _ := splitRel(rel)
	if dir == "" {
		return p.rootSafe == 1
	}
	return p.ours[dir]
}

// targetSafe reports whether no user but this one (or root) may write in
// the target, so move a directory out of it: it is ours and not group or
// world writable.
func (p *parentDirs) targetSafe() bool {
	if p.rootSafe == 0 {
		p.rootSafe = -1
		var st unix.Stat_t
		if unix.Fstat(p.root.fd, &st) == nil && int(st.Uid) == os.Geteuid() && st.Mode&0o022 == 0 {
			p.rootSafe = 1
		}
	}
	return p.rootSafe == 1
}

// at calls fn with a descriptor of rel's parent directory and rel's name,
// as root.at does.
func (p *parentDirs) at(rel string, fn func(dirfd int, name string) error) error {
	dir, name := splitRel(rel)
	if dir == "" {
		return fn(p.root.fd, name)
	}
	if !p.ours[dir] {
		return p.root.at(rel, fn)
	}
	fd, ok := p.fds[dir]
	if ok {
		i := slices.Index(p.order, dir)
		p.order = append(slices.Delete(p.order, i, i+1), dir)
	} else {
		var err error
		if fd, err = p.root.openDir(dir); err != nil {
			return err
		}
		keep := p.keep
		if keep == 0 {
			keep = parentDirsMax
		}
		if len(p.order) >= keep {
			p.root.closeDir(p.fds[p.order[0]])
			delete(p.fds, p.order[0])
			p.order = slices.Delete(p.order, 0, 1)
		}
		if p.fds == nil {
			p.fds = map[string]int{}
		}
		p.fds[dir] = fd
		p.order = append(p.order, dir)
	}
	return fn(fd, name)
}

// worker returns a parentDirs for one of n goroutines of phase 1: its own
// descriptors (a share of parentDirsMax, at least two: a run of one depth
// in tree order meets its parents one after the other), and the restore's
// directories as known when the current depth began, which it only reads.
func (p *parentDirs) worker(n int) *parentDirs {
	return &parentDirs{root: p.root, rootSafe: p.rootSafe, ours: p.ours, keep: max(parentDirsMax/n, 2)}
}

// closeFDs closes the descriptors kept.
func (p *parentDirs) closeFDs() {
	for _, fd := range p.fds {
		p.root.closeDir(fd)
	}
	p.fds, p.order = nil, nil
}

// makeDirsMinPart is the fewest directories a goroutine of phase 1 takes:
// a depth with fewer than two such runs is made on the calling goroutine,
// in order.
const makeDirsMinPart = 64

// dirsMade is what one goroutine of phase 1 did, for the caller to merge
// once the depth is done.
type dirsMade struct {
	ours   []string   // created, and the restore's own (parentDirs.safeChild)
	failed []dirError // not restored, nor anything below them: rel, and why
	errs   []dirError
	made   uint64
}

type dirError struct {
	path string
	err  error
}

// makeDirs is phase 1: it creates the directories, private, parents before
// children. The directories of one depth depend on nothing but those above
// them, so each depth is shared among up to workers goroutines, in runs of
// the restore's order (siblings stay together and share one open parent),
// and the next depth starts when it is done. A directory costs a mkdir,
// from microseconds on tmpfs to a round trip on a network file system, and
// the benchmark's tree of tender documents has 20,000 of them; made on one
// goroutine, they kept one core busy in the kernel and the other idle.
func (rr *restoreRun) makeDirs(workers int, dry bool) error {
	parents := &parentDirs{root: rr.root} // its workers keep the descriptors
	if !dry {
		parents.targetSafe()
	}
	for _, level := range dirLevels(rr.dirs) {
		parts := splitRuns(level, workers, makeDirsMinPart)
		res := make([]dirsMade, len(parts))
		err := rr.inRuns(parts, func(i int, at func(rItem)) {
			rr.makeDirRun(parents.worker(len(parts)), parts[i], at, dry, &res[i])
		})
		if err != nil {
			return err
		}
		for i := range res {
			if len(res[i].ours) > 0 && parents.ours == nil {
				parents.ours = map[string]bool{}
			}
			for _, rel := range res[i].ours {
				parents.ours[rel] = true
			}
			for _, f := range res[i].failed {
				rr.failedDirs[f.path] = f.err
			}
			for _, e := range res[i].errs {
				rr.addError(e.path, e.err)
			}
			rr.sum.FailedDirs += uint64(len(res[i].errs))
			rr.sum.Dirs += res[i].made
		}
	}
	return nil
}

// makeDirRun creates the directories ds, all of one depth, with p,
// telling at where it is (for a panic's message).
func (rr *restoreRun) makeDirRun(p *parentDirs, ds []rItem, at func(rItem), dry bool, out *dirsMade) {
	defer p.closeFDs()
	for _, d := range ds {
		at(d)
		if rr.parentFailed(d.rel) {
			dir, _ := splitRel(d.rel)
			out.failed = append(out.failed, dirError{d.rel, rr.failedDirs[dir]}) // reported at the failed parent
			continue
		}
		if !dry {
			rr.hook("mkdir", d.rel)
			err := p.at(d.rel, func(dfd int, name string) error {
				made, err := rr.mkdir(dfd, d.rel, d.dst())
				if made && p.safeChild(d.rel) {
					out.ours = append(out.ours, d.rel)
				}
				return err
			})
			if err != nil {
				out.errs = append(out.errs, dirError{d.spath(), err})
				out.failed = append(out.failed, dirError{d.rel, err})
				continue
			}
		} else if what := rr.inTheWay(d); what != "" {
			// What mkdir would do: refuse under never, else replace.
			if rr.rs.Overwrite == OverwriteNever {
				err := wayErr("%s is in the way of the directory (kept: overwrite mode never)", what)
				out.errs = append(out.errs, dirError{d.spath(), err})
				out.failed = append(out.failed, dirError{d.rel, err})
				continue
			}
			rr.count(func(s *RestoreSummary) { s.Replaced++ })
		}
		out.made++
	}
}

// inTheWay says what stands at a directory's name in the target when it
// is not a directory ("a file", "a symbolic link"), for a dry run; "" when
// nothing or a directory does.
func (rr *restoreRun) inTheWay(d rItem) string {
	st, err := rr.lstat(d)
	if err != nil {
		return ""
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return ""
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "a file"
}

// inRuns calls fn for each of the runs, on the calling goroutine when
// there is one and each on a goroutine of its own otherwise, and waits for
// them. fn tells at which item it works on: on the calling goroutine that
// is rr.at, for Restore's recover; a panic in another goroutine is
// returned as the same error, naming the snapshot, the item and its tree.
func (rr *restoreRun) inRuns(runs [][]rItem, fn func(i int, at func(rItem))) error {
	if len(runs) == 1 {
		fn(0, rr.at)
		return nil
	}
	var g errgroup.Group
	for i, run := range runs {
		g.Go(func() (err error) {
			cur := run[0]
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("snapshot %s: restore failed at %s (tree %s): panic: %v", rr.sn.ID().Short(), cur.spath(), cur.treeID().Short(), p)
				}
			}()
			fn(i, func(d rItem) { cur = d })
			return nil
		})
	}
	return g.Wait()
}

// dirsMetadata is phase 5: it sets the metadata of the directories,
// deepest first, after their contents (creating an entry changes a
// directory's times, and a mode without write or search permission would
// stop what comes below). A depth is shared among up to workers
// goroutines as in makeDirs: nothing in one directory's metadata depends
// on another of the same depth.
func (rr *restoreRun) dirsMetadata(workers int) error {
	levels := dirLevels(rr.dirs)
	for l := len(levels) - 1; l >= 0; l-- {
		parts := splitRuns(levels[l], workers, makeDirsMinPart)
		errs := make([][]dirError, len(parts))
		err := rr.inRuns(parts, func(i int, at func(rItem)) {
			run := parts[i]
			for j := len(run) - 1; j >= 0; j-- {
				d := run[j]
				if _, failed := rr.failedDirs[d.rel]; failed {
					continue
				}
				at(d)
				rr.hook("dirmeta", d.rel)
				if err := rr.dirMetadata(d); err != nil {
					errs[i] = append(errs[i], dirError{d.spath(), err})
				}
				rr.progress.CompleteItem(d.spath(), d.node, false)
			}
		})
		if err != nil {
			return err
		}
		for i := len(errs) - 1; i >= 0; i-- {
			for _, e := range errs[i] {
				rr.addError(e.path, e.err)
			}
		}
	}
	return nil
}

// dirLevels groups the directories to create (those with a node) by depth,
// each group in the order of dirs.
func dirLevels(dirs []rItem) [][]rItem {
	var levels [][]rItem
	for _, d := range dirs {
		if d.node == nil {
			continue
		}
		depth := strings.Count(d.rel, "/")
		for len(levels) <= depth {
			levels = append(levels, nil)
		}
		levels[depth] = append(levels[depth], d)
	}
	return slices.DeleteFunc(levels, func(l []rItem) bool { return len(l) == 0 })
}

// splitRuns cuts items into at most n runs of about equal length, none
// shorter than minRun; fewer than two such runs is one run.
func splitRuns[T any](items []T, n, minRun int) [][]T {
	n = min(n, len(items)/minRun)
	if n < 2 {
		return [][]T{items}
	}
	runs := make([][]T, 0, n)
	for i := range n {
		runs = append(runs, items[i*len(items)/n:(i+1)*len(items)/n])
	}
	return runs
}

func isDevice(n *snapshot.Node) bool {
	return n.Type == snapshot.TypeCharDev || n.Type == snapshot.TypeBlockDev
}

func (rr *restoreRun) execute(ctx context.Context) error {
	dry := rr.rs.DryRun
	workers := rr.rs.Workers
	if workers <= 0 {
		workers = max(runtime.GOMAXPROCS(0), 2)
	}
	rr.fds = newFDCache(maxOpenFiles(rr.rs.MaxOpenFiles, workers))
	// 1. Directories, created private; their metadata is set last.
	if err := rr.makeDirs(workers, dry); err != nil {
		return err
	}
	rr.sum.Entries = rr.plannedFiles
	for _, o := range rr.others {
		if o.node.Type != snapshot.TypeSocket && (!rr.rs.NoDevices || !isDevice(o.node)) {
			rr.sum.Entries++
		}
	}
	// 2. Symlinks, FIFOs, devices.
	for _, o := range rr.others {
		rr.at(o)
		if o.node.Type == snapshot.TypeSocket {
			continue // a socket cannot be restored; it is recreated by its server
		}
		if rr.rs.NoDevices && isDevice(o.node) {
			rr.sum.SkippedDevices = append(rr.sum.SkippedDevices, o.spath())
			rr.progress.CompleteItem(o.spath(), o.node, true)
			continue
		}
		if rr.parentFailed(o.rel) {
			rr.addError(o.spath(), rr.parentErr(o.rel))
			continue
		}
		// An entry to be replaced stays until the new one, made in a
		// private directory beside it, is renamed over it: a node that
		// cannot be made (a device as non-root) does not cost the entry.
		replacedBefore := rr.sum.Replaced // a dry run counts there what a run would replace
		ok, replace, err := rr.prepareEntry(o, func() *snapshot.Node { return o.node }, nil)
		if err != nil {
			rr.addError(o.spath(), err)
			rr.sum.OtherErrors++
			continue
		}
		if !ok {
			rr.sum.Skipped++
			rr.progress.CompleteItem(o.spath(), o.node, true)
			continue
		}
		if !dry {
			if err := ctx.Err(); err != nil {
				rr.dropStage()
				return err
			}
			rr.hook("special", o.rel)
			created, err := rr.makeSpecialStaged(o, replace)
			if err != nil {
				rr.addError(o.spath(), err)
				rr.sum.OtherErrors++
			}
			if !created {
				continue
			}
			if replace {
				rr.sum.Replaced++
			}
		} else {
			if isDevice(o.node) && !rr.mknodOK {
				// What a run would meet (mknod EPERM), said before it:
				// a dry run is how a restore is tried at 3 a.m. The
				// run leaves an entry in the way as it is.
				rr.sum.Replaced = replacedBefore
				rr.addError(o.spath(), fmt.Errorf("a run would not make this device node: %s", deviceNeedsRoot))
				rr.sum.OtherErrors++
				continue
			}
			if setIDDropped(o.node, rr.owner) {
				rr.noteSetID(o.dst(), devIno{})
			}
		}
		rr.sum.Others++
		rr.progress.CompleteItem(o.spath(), o.node, false)
	}
	rr.dropStage()
	// 3. Files: decide which to write, then write them in batches.
	var toWrite []*rFile
	for _, f := range rr.files {
		if err := ctx.Err(); err != nil {
			return err // deciding reads kept files back with Verify
		}
		rr.at(f.rItem)
		if rr.parentFailed(f.rel) {
			rr.fail(f, rr.parentErr(f.rel))
			continue
		}
		var kept unix.Stat_t
		ok, replace, err := rr.prepareEntry(f.rItem, f.n, &kept)
		if err != nil {
			// Not restored (a directory in the way, say): a failed
			// file like any other, in the counts as in the list.
			rr.addError(f.spath(), err)
			f.failed.Store(true)
			rr.addFailedFile(f.spath())
			continue
		}
		if !ok && kept.Ino != 0 {
			// if-changed took the content as unchanged, not its mode
			// and attributes; a file links may be made to is the
			// snapshot's only with them (keptIsSnapshots).
			// Content first: a file that is written anew is not
			// given metadata in place (nor counted as kept).
			ok, replace = rr.verifyKept(f, &kept)
			if !ok {
				ok, replace = rr.fixKept(f, &kept)
			}
		}
		f.replace = replace
		if !ok {
			rr.sum.Skipped++
			f.failed.Store(true) // not restored now; links to it are skipped too
			f.errMsg = "skipped"
			rr.progress.CompleteItem(f.spath(), f.n(), true)
			continue
		}
		rr.sum.Files++
		f.counted.Store(true)
		rr.sum.Bytes += uint64(f.fm.size)
		toWrite = append(toWrite, f)
	}
	if dry {
		for _, f := range toWrite {
			if setIDDropped(f.n(), rr.owner) {
				rr.noteSetID(f.dst(), devIno{})
			}
			rr.progress.CompleteItem(f.spath(), f.n(), false)
		}
		// What the links would do to entries already there, as a run
		// would count it (phase 4 below). A link that the target will
		// refuse cannot be foreseen.
		copied := map[*rFile]bool{}
		for _, l := range rr.links {
			if rr.parentFailed(l.rel) {
				rr.addError(l.spath(), rr.parentErr(l.rel))
				rr.addFailedFile(l.spath())
				continue
			}
			why, ok := rr.planLink(l)
			switch {
			case !ok:
			case why.kind == toLink || copied[l.linkTo]:
				rr.sum.Links++
				rr.progress.CompleteItem(l.spath(), l.n(), false)
			default:
				copied[l.linkTo] = true
				rr.sum.Files++
				rr.sum.Bytes += uint64(l.fm.size)
				if setIDDropped(l.n(), rr.owner) {
					rr.noteSetID(l.dst(), devIno{})
				}
				rr.noteCopy(l, why)
				rr.progress.CompleteItem(l.spath(), l.n(), false)
			}
		}
		return nil
	}
	if err := rr.writeFiles(ctx, workers, toWrite); err != nil {
		return err
	}
	if rr.rs.testFDs != nil {
		rr.rs.testFDs(rr.fds.peak)
	}
	// 4. Hardlinks. A member that cannot share its first member's inode
	// is written as a file of its own from its own extents, which every
	// member records (doc/design-snapshot.md, "Hardlinks"); the group's
	// later members are then linked to that copy, so that a link limit
	// or a mount point costs one copy per group, not one per member.
	copyOf := map[*rFile]*rFile{} // a group's first member: the member copied in its place
	why := map[*rFile]copyReason{}
	var copies, rest []*rFile
	for _, l := range rr.links {
		if err := ctx.Err(); err != nil {
			return err
		}
		rr.at(l.rItem)
		if rr.parentFailed(l.rel) {
			rr.addError(l.spath(), rr.parentErr(l.rel))
			rr.addFailedFile(l.spath())
			continue
		}
		reason, ok := rr.planLink(l)
		if !ok {
			continue
		}
		if reason.kind == toLink {
			var done bool
			if reason, done = rr.tryLink(l, l.linkTo); done {
				continue
			}
		}
		why[l] = reason
		if copyOf[l.linkTo] == nil {
			copyOf[l.linkTo] = l
			copies = append(copies, l)
		} else {
			rest = append(rest, l)
		}
	}
	if err := rr.writeCopies(ctx, workers, copies, why); err != nil {
		return err
	}
	var own []*rFile
	for _, l := range rest {
		rr.at(l.rItem)
		// Never to a copy that failed: what stands at its name now is
		// not this restore's.
		if c := copyOf[l.linkTo]; !c.failed.Load() {
			if _, done := rr.tryLink(l, c); done {
				continue
			}
		}
		own = append(own, l)
	}
	if err := rr.writeCopies(ctx, workers, own, why); err != nil {
		return err
	}
	// 5. Directory metadata, deepest first, after their contents.
	return rr.dirsMetadata(workers)
}

// Batches of files are planned and written one after the other, so that
// the blob plan (a record per data blob and per place it goes) is held for
// one batch, not for every file of a snapshot of a million files. A pack
// with blobs of two batches is read once for each, for only those blobs.
// (Variables for tests.)
var (
	batchFiles   = 32 << 10
	batchExtents = 256 << 10
)

// batchEnd returns the end of the batch of files that starts at start.
func batchEnd(files []*rFile, start int) int {
	extents := 0
	end := start
	for end < len(files) && end-start < batchFiles && extents < batchExtents {
		extents += len(files[end].fm.content)
		end++
	}
	return end
}

// blobPlan is where one data blob goes in a batch: its first target
// inline (most blobs of a restore have one), any more in more.
type blobPlan struct {
	loc   repo.BlobLocation
	first rTarget
	more  []rTarget
}

func (bp *blobPlan) targets() []rTarget {
	if len(bp.more) == 0 {
		return []rTarget{bp.first}
	}
	return append([]rTarget{bp.first}, bp.more...)
}

// writeBatch plans the blobs of files by pack and writes them with workers
// goroutines, each loading one pack at a time.
func (rr *restoreRun) writeBatch(ctx context.Context, workers int, files []*rFile) error {
	blobs := map[repo.ID]*blobPlan{}
	var packOrder []repo.ID
	packs := map[repo.ID][]*blobPlan{}
	for _, f := range files {
		var off int64
		for _, e := range f.fm.content {
			if !e.IsHole() {
				t := rTarget{f, off, e.Size}
				if bp := blobs[e.ID]; bp != nil {
					bp.more = append(bp.more, t)
				} else {
					bp = &blobPlan{first: t}
					blobs[e.ID] = bp
					if loc, ok := rr.r.LookupBlob(repo.DataBlob, e.ID); ok {
						bp.loc = loc
						if _, seen := packs[loc.Pack]; !seen {
							packOrder = append(packOrder, loc.Pack)
						}
						packs[loc.Pack] = append(packs[loc.Pack], bp)
					}
				}
				f.remaining.Add(1)
			}
			off += e.Size
		}
	}
	// Blobs the index does not know fail their files now.
	for id, bp := range blobs {
		if bp.loc.Pack.IsNull() {
			for _, t := range bp.targets() {
				rr.failData(t.file, fmt.Errorf("data blob %s is not in the repository index", id.Short()))
			}
		}
	}
	// Files without any blob to load (empty or all holes) are done now.
	for _, f := range files {
		if f.remaining.Load() == 0 {
			rr.at(f.rItem)
			rr.finishFile(f)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	packCh := make(chan repo.ID)
	// The packs workers take next are asked for ahead (PackPrefetcher):
	// on a cold backup medium their bytes are then read while the workers
	// decrypt and write the ones before.
	pf, prefetching := rr.r.(PackPrefetcher)
	// A pack's span is asked for by the window up to three times (its
	// size to ask, to ask, its size once taken): computed once, it is one
	// pass over the pack's blob plans.
	type packSpan struct {
		start, length int64
		known         bool
	}
	var spans []packSpan
	if prefetching {
		spans = make([]packSpan, len(packOrder))
	}
	span := func(i int) (start, length int64) {
		if sp := spans[i]; sp.known {
			return sp.start, sp.length
		}
		lo, hi := ^uint64(0), uint64(0)
		for _, bp := range packs[packOrder[i]] {
			lo = min(lo, uint64(bp.loc.Offset))
			hi = max(hi, uint64(bp.loc.Offset)+uint64(bp.loc.Length))
		}
		sp := packSpan{known: true}
		if hi > lo {
			sp.start, sp.length = int64(lo), min(int64(hi-lo), readahead.MaxBytes)
		}
		spans[i] = sp
		return sp.start, sp.length
	}
	ahead := &readahead.Window{N: len(packOrder), MaxItems: 2 * workers, MaxBytes: readahead.MaxBytes,
		Size: func(i int) int64 { _, n := span(i); return n },
		Ask: func(i int) {
			if start, n := span(i); n > 0 {
				pf.PrefetchPack(gctx, packOrder[i], start, n)
			}
		}}
	g.Go(func() error {
		defer close(packCh)
		if prefetching {
			ahead.Start()
		}
		for i, p := range packOrder {
			select {
			case packCh <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
			// Asked for after the hand-out, so that asking never delays
			// a worker.
			if prefetching {
				ahead.Took(i)
			}
		}
		return nil
	})
	for i := 0; i < workers; i++ {
		g.Go(func() (err error) {
			// A panic here (a bug, or in the repository's code) becomes
			// this restore's error, naming what was being restored: the
			// caller records it and releases its lock.
			var w workerState
			defer func() {
				if p := recover(); p != nil {
					err = w.panicError(rr.sn, p)
				}
			}()
			for p := range packCh {
				w = workerState{pack: p}
				plans := packs[p]
				locs := make([]repo.BlobLocation, len(plans))
				for i, bp := range plans {
					locs[i] = bp.loc
				}
				if err := rr.restorePack(gctx, &w, p, locs, func(id repo.ID) []rTarget { return blobs[id].targets() }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Cancelled while the last packs were written, no worker need have
	// failed (the repository reports a cancelled load blob by blob).
	return ctx.Err()
}

// keptIsSnapshots says why the file f, kept as the target has it (the
// overwrite mode skipped it), is not the snapshot's; nil when it is. New
// names are linked to it only when it is. A size and time that match are
// not enough here, as they are to keep a file (if-changed): a link gives
// the kept inode, whoever wrote it, a new name, possibly in a directory
// that no one else may enter. So the file must also have the snapshot's
// permission bits, its owner where the restore sets owners, and its
// content (each extent's hash, read through one descriptor, which is also
// the file that was looked at). A link made after the check could still
// meet a file swapped in between by whoever can write that directory.
func (rr *restoreRun) keptIsSnapshots(f *rFile) error {
	st, err := rr.lstat(f.rItem)
	if err != nil {
		return fmt.Errorf("%s: %w", f.dst(), err)
	}
	n := f.n()
	notIt := func(what string) error {
		return fmt.Errorf("%s was kept as the target has it, and is not the snapshot's file (%s)", f.dst(), what)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return notIt("not a regular file")
	case st.Size != n.Size || !time.Unix(st.Mtim.Unix()).Equal(n.ModTime):
		return notIt("its size or modification time differs")
	case st.Mode&0o7777 != restoredMode(n, rr.owner):
		return notIt(fmt.Sprintf("mode %04o, not %04o", st.Mode&0o7777, restoredMode(n, rr.owner)))
	case rr.owner && (st.Uid != n.UID || st.Gid != n.GID):
		return notIt(fmt.Sprintf("owner %d:%d, not %d:%d", st.Uid, st.Gid, n.UID, n.GID))
	}
	fd, err := rr.root.open(f.rel, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", f.dst(), err)
	}
	defer unix.Close(fd)
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		return notIt("it changed while it was looked at")
	}
	if err := rr.keptContent(fd, &fst, f); err != nil {
		return notIt(err.Error())
	}
	return nil
}

// sameContent checks that the open file fd holds f's content: each data
// extent's hash (verify), and zeros where the snapshot has holes (only
// their allocated parts are read, SEEK_DATA and SEEK_HOLE: zeros written
// into a hole are the same content).
func (rr *restoreRun) sameContent(fd int, f *rFile) error {
	rr.hook("keptread", f.rel)
	if err := rr.verify(fd, f); err != nil {
		return fmt.Errorf("its content differs: %v", err)
	}
	var off int64
	for _, e := range f.fm.content {
		if e.IsHole() && e.Size > 0 {
			if err := zeroRange(fd, off, off+e.Size); err != nil {
				return err
			}
		}
		off += e.Size
	}
	return nil
}

// contentCheck is what keptContent found an inode to hold: the content
// it was compared with, and the outcome (nil: the snapshot's).
type contentCheck struct {
	content []snapshot.Extent
	err     error
}

// keptContent is sameContent of a kept file open as fd (fst its fstat),
// read once per inode and content: the later names of a kept hardlink
// group are the same inode, and reading it for each of them (with Verify,
// and again to link to it) read a large group's data many times over. A
// writer of the file could change it after the first read as after any
// other, so a second read would prove nothing more.
func (rr *restoreRun) keptContent(fd int, fst *unix.Stat_t, f *rFile) error {
	id := devIno{uint64(fst.Dev), fst.Ino}
	if c, ok := rr.contentSeen[id]; ok && slices.Equal(c.content, f.fm.content) {
		return c.err
	}
	err := rr.sameContent(fd, f)
	if rr.contentSeen == nil {
		rr.contentSeen = map[devIno]contentCheck{}
	}
	rr.contentSeen[id] = contentCheck{f.fm.content, err}
	return err
}

// keptVerified reads a file that if-changed kept (st is its look) back and
// compares it with the snapshot, as Verify does for the files it writes:
// its size and time say nothing about a content that someone changed and
// put the time back on (ransomware does). It says whether the file is the
// snapshot's; one that is not, or cannot be read as the inode looked at, is
// written anew.
func (rr *restoreRun) keptVerified(f *rFile, st *unix.Stat_t) bool {
	rr.hook("keptverify", f.rel)
	fd, err := rr.root.open(f.rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		return false
	}
	return rr.keptContent(fd, &fst, f) == nil
}

// zeroRange checks that the bytes of fd in [start, end) are all zero,
// reading only the parts the file system says hold data.
func zeroRange(fd int, start, end int64) error {
	var buf []byte
	for pos := start; pos < end; {
		d, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err != nil || d >= end {
			return nil // ENXIO: no data after pos
		}
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil || h > end {
			h = end
		}
		if buf == nil {
			buf = make([]byte, 64<<10)
		}
		for p := d; p < h; {
			n, err := unix.Pread(fd, buf[:min(int64(len(buf)), h-p)], p)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return fmt.Errorf("its content where the snapshot has a hole cannot be read: %v", err)
			}
			for _, b := range buf[:n] {
				if b != 0 {
					return fmt.Errorf("it has data where the snapshot has a hole")
				}
			}
			p += int64(n)
		}
		pos = h
	}
	return nil
}

// lstat stats what stands at its name in the target, not following a
// symlink there or above it (beneath the target only).
func (rr *restoreRun) lstat(it rItem) (unix.Stat_t, error) {
	var st unix.Stat_t
	if rr.root == nil { // a dry run into a missing target
		return st, unix.ENOENT
	}
	err := rr.root.at(it.rel, func(dfd int, name string) error { return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	return st, err
}

// link makes l a hardlink of the file to (its first member, or the copy
// written in that one's place); neither name is followed if it is a
// symlink. Only link(2)'s own failure is an *os.LinkError.
func (rr *restoreRun) link(l, to *rFile) error {
	err := rr.root.at(to.rel, func(odfd int, oname string) error {
		return rr.root.at(rr.writeRel(l), func(ndfd int, nname string) error {
			err := error(nil)
			if rr.rs.testLinkErr != nil {
				err = rr.rs.testLinkErr(l.rel, to.rel)
			}
			if err == nil && l.replace {
				// Recorded before it is made, with the inode it will
				// have (the file it links to): a kill between the link
				// and the line after it left a name no later restore
				// found. A file swapped in at oname in between makes
				// this line name another inode, which the cleanup then
				// finds at no temporary name: nothing is removed.
				rr.noteTempAt(tempFile, rr.writeRel(l), odfd, oname)
			}
			if err == nil {
				err = unix.Linkat(odfd, oname, ndfd, nname, 0)
			}
			if err != nil {
				return &os.LinkError{Op: "link", Old: to.dst(), New: l.dst(), Err: err}
			}
			if l.replace {
				rr.hook("linked", l.rel)
				rr.noteTempAt(tempFile, rr.writeRel(l), ndfd, nname)
			}
			return nil
		})
	})
	if err != nil || !l.replace {
		return err
	}
	// Made under the temporary name: now over the entry it replaces.
	rr.hook("rename", l.rel)
	if err := rr.putInPlace(l); err != nil {
		rr.remove(l)
		return err
	}
	rr.count(func(s *RestoreSummary) { s.Replaced++ })
	return nil
}

// tryLink links the hardlink l to the file to. done is true when l is
// linked, or failed (reported); otherwise the reason says why l is to be
// written as a copy, which gets past what refused the link (an entry to
// be replaced stays at the name until the copy is complete).
func (rr *restoreRun) tryLink(l, to *rFile) (reason copyReason, done bool) {
	rr.hook("link", l.rel)
	err := rr.link(l, to)
	if err == nil {
		rr.sum.Links++
		rr.progress.CompleteItem(l.spath(), l.n(), false)
		return reason, true
	}
	errno, refused := linkRefused(err)
	if !refused {
		rr.addError(l.spath(), err)
		return reason, true
	}
	return copyReason{kind: linkFailed, errno: errno}, false
}

// copyReason says whether phase 4 links a hardlink member or writes it as
// a copy, and why: kept small, since on a target without hardlinks every
// member is copied; noteCopy makes the text for the few it names.
type copyReason struct {
	kind  uint8      // toLink, firstFailed, keptOther, linkFailed
	errno unix.Errno // linkFailed: link(2)'s error; keptOther: lstat's, when it failed
}

const (
	toLink      = iota // link to the first member
	firstFailed        // the first member was not restored
	keptOther          // the first member was kept and is not the snapshot's file
	linkFailed         // link(2) failed (linkRefused)
)

// text says the reason for the member l, with target paths.
func (cr copyReason) text(l *rFile) string {
	to := l.linkTo.dst()
	switch {
	case cr.kind == firstFailed:
		return fmt.Sprintf("%s, the file it shares an inode with, was not restored", to)
	case cr.kind == keptOther && cr.errno != 0:
		return fmt.Sprintf("%s, the file it shares an inode with, was kept as the target has it, and cannot be looked at: %v", to, cr.errno)
	case cr.kind == keptOther:
		return fmt.Sprintf("%s, the file it shares an inode with, was kept as the target has it, and is not the snapshot's file (size, time, mode, owner or content)", to)
	default:
		return (&os.LinkError{Op: "link", Old: to, New: l.dst(), Err: cr.errno}).Error()
	}
}

// planLink decides what phase 4 does with the hardlink l. ok is false when
// l is done with: the overwrite mode kept what stands at its name, or that
// could not be removed (counted, or reported). Otherwise the reason says
// whether l is linked to its first member or written as a copy: that
// member was not restored (every member records the whole content, so
// this one still can be), or it was kept as the target had it and is not
// the snapshot's file (a restore interrupted before its links is finished
// this way; a link is never made to whatever else stands at the first
// member's name).
func (rr *restoreRun) planLink(l *rFile) (reason copyReason, ok bool) {
	// The member's own name first: a member the overwrite mode keeps
	// needs no look at its first member. An entry to be replaced stays
	// until the link or copy is renamed over it.
	var kept unix.Stat_t
	write, replace, err := rr.prepareEntry(l.rItem, l.n, &kept)
	if err != nil {
		rr.addError(l.spath(), err)
		rr.count(func(s *RestoreSummary) { s.FailedFiles = append(s.FailedFiles, l.spath()) })
		return reason, false
	}
	switch {
	case !write && kept.Ino != 0 && !l.linkTo.failed.Load():
		// Kept by if-changed, but its first member is written anew in
		// this run (its content, owner or metadata differed): the name
		// is linked to the new file, as the snapshot has them, not
		// left on the old inode.
		write, replace = true, true
		if rr.rs.DryRun {
			rr.sum.Replaced++ // a run counts it when it is renamed into place
		}
	case !write && kept.Ino != 0:
		// A member kept by if-changed that is a file of its own (a
		// copy of an earlier restore, say) gets its metadata too.
		write, replace = rr.verifyKept(l, &kept)
		if !write {
			write, replace = rr.fixKept(l, &kept)
		}
	}
	if !write {
		rr.sum.Skipped++
		rr.progress.CompleteItem(l.spath(), l.n(), true)
		return reason, false
	}
	l.replace = replace
	switch to := l.linkTo; {
	case to.failed.Load() && to.errMsg != "skipped":
		reason.kind = firstFailed
	case to.failed.Load():
		// Checked once per group: the check reads the whole file.
		r, seen := rr.keptChecked[to]
		if !seen {
			if err := rr.keptIsSnapshots(to); err != nil {
				r.kind = keptOther
				errors.As(err, &r.errno)
			}
			if rr.keptChecked == nil {
				rr.keptChecked = map[*rFile]copyReason{}
			}
			rr.keptChecked[to] = r
		}
		reason = r
	}
	return reason, true
}

// linkRefused reports whether link(2) itself failed (not the lookup of
// either name), with its errno, for a reason that a copy may get past:
// above all a target that cannot give two names one inode, such as a file
// system without hardlinks (EPERM on FAT, ENOSYS from FUSE file systems
// without a link operation such as exfat-fuse and sshfs, EOPNOTSUPP), a
// mount point between the names (EXDEV), or the link limit (EMLINK).
// Anything else but something that appeared at the member's name since
// prepare (EEXIST) is tried as a copy too: a copy that cannot be made
// either (EACCES, EROFS, ENOSPC) fails with its own error, and an entry it
// was to replace stays as it was.
func linkRefused(err error) (unix.Errno, bool) {
	var le *os.LinkError
	var errno unix.Errno
	if !errors.As(err, &le) || !errors.As(le.Err, &errno) || errno == unix.EEXIST {
		return 0, false
	}
	return errno, true
}

// maxLinkCopyNotes bounds RestoreSummary.LinkCopyNotes.
const maxLinkCopyNotes = 20

// noteCopy counts the hardlink l as written (or, in a dry run, to be
// written) as a copy, and names it while there is room.
func (rr *restoreRun) noteCopy(l *rFile, why copyReason) {
	rr.sum.LinkCopies++
	if len(rr.sum.LinkCopyNotes) < maxLinkCopyNotes {
		rr.sum.LinkCopyNotes = append(rr.sum.LinkCopyNotes, snapshot.ItemError{Path: l.spath(), Error: why.text(l)})
	}
}

// writeCopies writes hardlinks as files of their own, counted with the
// files (as phase 3 counts the files it writes) and added to the planned
// totals, and notes each one that was written whole.
func (rr *restoreRun) writeCopies(ctx context.Context, workers int, files []*rFile, why map[*rFile]copyReason) error {
	if len(files) == 0 {
		return nil
	}
	for _, f := range files {
		rr.sum.Files++
		f.counted.Store(true)
		rr.sum.Bytes += uint64(f.fm.size)
		rr.plannedBytes += uint64(f.fm.size) // its name is in plannedFiles already
	}
	rr.progress.Planned(rr.plannedFiles, rr.plannedBytes)
	err := rr.writeFiles(ctx, workers, files)
	for _, f := range files {
		if f.created && !f.failed.Load() && f.remaining.Load() == 0 {
			rr.noteCopy(f, why[f])
		}
	}
	return err
}

// writeFiles writes files in batches. On an error that stops the restore
// (an interrupt, a fatal one), an unfinished file holds only part of its
// content: it is removed rather than left looking restored.
func (rr *restoreRun) writeFiles(ctx context.Context, workers int, files []*rFile) error {
	for start := 0; start < len(files); {
		end := batchEnd(files, start)
		if err := rr.writeBatch(ctx, workers, files[start:end]); err != nil {
			for _, f := range files {
				rr.closeFile(f)
				if f.remaining.Load() > 0 && f.created {
					rr.remove(f)
				}
			}
			return err
		}
		start = end
	}
	return nil
}

// dirMetadata sets a directory's metadata through a descriptor of the
// directory itself, opened without following a symlink.
func (rr *restoreRun) dirMetadata(d rItem) error {
	fd, err := rr.root.open(d.rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = rr.fdMetadata(fd, d.dst(), d.node, false)
	return err
}

// remove removes a file this restore created, by name in its directory:
// under its temporary name when it was to replace an entry, which is so
// kept.
func (rr *restoreRun) remove(f *rFile) {
	_ = rr.root.at(rr.writeRel(f), func(dfd int, name string) error { return unix.Unlinkat(dfd, name, 0) })
}

// writeRel is where f is written: its name, or, when it replaces an entry
// there, a temporary name beside it. That name is hidden, holds this
// restore's random token (so that no one can have put anything there
// ahead) and a hash of the file's name (so that two files of a directory
// do not meet), and fits any name length.
func (rr *restoreRun) writeRel(f *rFile) string {
	if !f.replace {
		return f.rel
	}
	return rr.tempRel(f.rel)
}

// tempRel is the temporary name beside rel that an entry replacing what
// stands at rel is made under.
func (rr *restoreRun) tempRel(rel string) string {
	dir, _ := splitRel(rel)
	// A MAC of the whole path under a secret that no name shows: no one
	// who sees one such name can make another ahead of the restore.
	name := fmt.Sprintf(".cadang-restore-%s-%x", rr.token, rr.mac("file", rel))
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// putInPlace renames the complete file f from its temporary name over the
// entry it replaces (rename(2) replaces it in one step, and follows no
// symlink at either name).
func (rr *restoreRun) putInPlace(f *rFile) error {
	_, tmp := splitRel(rr.writeRel(f))
	return rr.root.at(f.rel, func(dfd int, name string) error {
		if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
			if err == unix.EISDIR {
				return wayErr("a directory is in the way (it appeared while the file was restored)")
			}
			// Not an *os.LinkError: that type says link(2) itself failed
			// (linkRefused).
			return &os.PathError{Op: "rename into place", Path: f.dst(), Err: err}
		}
		// rename(2) of two names of one inode does nothing and says it
		// succeeded: someone who can write the directory linked the
		// temporary name's file at the name meanwhile. The temporary
		// name, still there, would be left behind as a hidden link.
		var ts, ns unix.Stat_t
		if unix.Fstatat(dfd, tmp, &ts, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			unix.Fstatat(dfd, name, &ns, unix.AT_SYMLINK_NOFOLLOW) == nil && ts.Dev == ns.Dev && ts.Ino == ns.Ino {
			if err := unix.Unlinkat(dfd, tmp, 0); err != nil && err != unix.ENOENT {
				return &os.PathError{Op: "remove", Path: rr.root.abs(rr.writeRel(f)), Err: err}
			}
		}
		return nil
	})
}

// workerState is what a restore worker is doing, for a panic's message.
type workerState struct {
	pack, blob repo.ID
	file       *rFile
}

func (w *workerState) panicError(sn *snapshot.Snapshot, p any) error {
	msg := fmt.Sprintf("snapshot %s: restore failed in pack %s", sn.ID().Short(), w.pack.Short())
	if !w.blob.IsNull() {
		msg += fmt.Sprintf(", blob %s", w.blob.Short())
	}
	if w.file != nil {
		msg += fmt.Sprintf(", file %s of tree %s", w.file.spath(), w.file.treeID().Short())
	}
	return fmt.Errorf("%s: panic: %v", msg, p)
}

// restorePack loads the needed blobs of one pack and writes them into
// their files. w tracks the blob and file being written, for a panic.
func (rr *restoreRun) restorePack(ctx context.Context, w *workerState, pack repo.ID, locs []repo.BlobLocation, targets func(repo.ID) []rTarget) error {
	if rr.packStopped(locs, targets) {
		// The file systems of all its files take no more files:
		// reading the pack would only be thrown away.
		for _, l := range locs {
			for _, t := range targets(l.ID) {
				rr.abandon(t.file)
				if t.file.remaining.Add(-1) == 0 {
					rr.finishFile(t.file)
				}
			}
		}
		return nil
	}
	done := make(map[repo.ID]bool, len(locs))
	err := rr.r.LoadBlobsFromPack(ctx, pack, locs, func(loc repo.BlobLocation, data []byte, err error) error {
		if done[loc.ID] {
			return nil
		}
		if err != nil && ctx.Err() != nil {
			// Interrupted, not failed: the repository hands each blob it
			// did not load to fn with the cancellation. Failing the files
			// would finish the restore as if it had run to its end, with
			// its links and directory metadata, reported as files that
			// could not be restored (an integrity failure in the run log);
			// unfinished, they are removed like every file a cancelled
			// restore did not complete.
			return ctx.Err()
		}
		done[loc.ID] = true
		w.blob, w.file = loc.ID, nil
		ts := targets(loc.ID)
		if err == nil && rr.hasher == nil && rr.rs.Verify {
			h := sha256.Sum256(data)
			rr.hashMu.Lock()
			rr.hashes[loc.ID] = h
			rr.hashMu.Unlock()
		}
		for _, t := range ts {
			w.file = t.file
			if err != nil {
				rr.failData(t.file, err) // names the pack and the blob
			} else if int64(len(data)) != t.size {
				// The snapshot's extent disagrees with the blob: writing
				// it would leave a gap or an overlap.
				rr.failData(t.file, fmt.Errorf("data blob %s holds %d bytes, the snapshot says %d", loc.ID.Short(), len(data), t.size))
			} else if werr := rr.writeAt(t.file, data, t.off); werr != nil {
				rr.fail(t.file, werr)
			} else {
				rr.written.Add(uint64(len(data)))
				rr.progress.BytesWritten(uint64(len(data)))
			}
			if t.file.remaining.Add(-1) == 0 {
				rr.finishFile(t.file)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pack could not be read: fail whatever it did not deliver.
		for _, l := range locs {
			if done[l.ID] {
				continue
			}
			done[l.ID] = true
			for _, t := range targets(l.ID) {
				rr.failData(t.file, err) // names the pack
				if t.file.remaining.Add(-1) == 0 {
					rr.finishFile(t.file)
				}
			}
		}
	}
	return nil
}

func (rr *restoreRun) fail(f *rFile, err error) { rr.failAs(f, err, false) }

// fullDevs is the state of the early stop per file system of the
// target, keyed by st_dev of a file's directory: a 2 MB tmpfs mounted
// below the target must not stop the files on the main disk beside it.
type fullDevs struct {
	mu      sync.Mutex
	dirDev  map[string]uint64 // directory rel -> st_dev, looked up after the first failure
	run     map[uint64]int    // files in a row that failed with targetFull, per device
	stopped map[uint64]syscall.Errno
}

// devOf is st_dev of the directory of the entry rel, as opened beneath
// the target; 0 where it cannot be opened (the entry fails anyway).
func (rr *restoreRun) devOf(rel string) uint64 {
	dir, _ := splitRel(rel)
	fd := &rr.full
	fd.mu.Lock()
	dev, ok := fd.dirDev[dir]
	fd.mu.Unlock()
	if ok || rr.root == nil {
		return dev
	}
	if dfd, err := rr.root.openDir(dir); err == nil {
		var st unix.Stat_t
		if unix.Fstat(dfd, &st) == nil {
			dev = uint64(st.Dev)
		}
		rr.root.closeDir(dfd)
	}
	fd.mu.Lock()
	if fd.dirDev == nil {
		fd.dirDev = map[string]uint64{}
	}
	fd.dirDev[dir] = dev
	fd.mu.Unlock()
	return dev
}

// noteFull counts a file that failed with a targetFull error of its own
// (not its directory's) towards stopping the files on its file system.
func (rr *restoreRun) noteFull(f *rFile, err error, damaged bool) {
	var errno syscall.Errno
	if damaged || errors.As(err, new(*parentError)) || !errors.As(err, &errno) || !targetFull(errno) {
		return
	}
	rr.anyFull.Store(true)
	dev := rr.devOf(f.rel)
	fd := &rr.full
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.run == nil {
		fd.run, fd.stopped = map[uint64]int{}, map[uint64]syscall.Errno{}
	}
	fd.run[dev]++
	if fd.run[dev] >= StopAfterFailures && fd.stopped[dev] == 0 {
		fd.stopped[dev] = errno
		rr.stopped.CompareAndSwap(0, uint32(errno))
	}
}

// noteWritten says that the file system of f took a file: its failures
// are no longer in a row.
func (rr *restoreRun) noteWritten(f *rFile) {
	if !rr.anyFull.Load() {
		return // no file failed so: nothing to look up
	}
	dev := rr.devOf(f.rel)
	rr.full.mu.Lock()
	delete(rr.full.run, dev)
	rr.full.mu.Unlock()
}

// stoppedFor is the error with which the file system of f's directory
// stopped taking files, 0 while it takes them.
func (rr *restoreRun) stoppedFor(f *rFile) syscall.Errno {
	if !rr.stopping() {
		return 0
	}
	dev := rr.devOf(f.rel)
	rr.full.mu.Lock()
	defer rr.full.mu.Unlock()
	return rr.full.stopped[dev]
}

// packStopped reports whether every file that the blobs of a pack go to
// is on a file system that stopped taking files.
func (rr *restoreRun) packStopped(locs []repo.BlobLocation, targets func(repo.ID) []rTarget) bool {
	if !rr.stopping() {
		return false
	}
	for _, l := range locs {
		for _, t := range targets(l.ID) {
			if rr.stoppedFor(t.file) == 0 {
				return false
			}
		}
	}
	return true
}

// errNotTried is open's answer for a file not yet created once the
// restore stopped writing.
var errNotTried = errors.New("not tried: the restore stopped writing")

// abandon leaves out the file f, whose blobs in a pack are not loaded
// because the restore stopped writing: not tried when it was not begun,
// else failed (part of it was written) with the error that stopped it.
func (rr *restoreRun) abandon(f *rFile) {
	f.mu.Lock()
	created := f.created
	f.mu.Unlock()
	if !created {
		rr.notTried(f)
		return
	}
	errno := rr.stoppedFor(f)
	if errno == 0 {
		errno = syscall.Errno(rr.stopped.Load())
	}
	rr.fail(f, fmt.Errorf("%s: not finished, the restore stopped writing to its file system after %d files in a row failed: %w", f.dst(), StopAfterFailures, errno))
}

// stopping reports whether the restore stopped writing files to some
// file system of the target (noteFull).
func (rr *restoreRun) stopping() bool { return rr.stopped.Load() != 0 }

// notTried leaves out the file f, not begun when the restore stopped
// writing to its file system: it is counted in NotTried and named in
// NotTriedFiles, and its links are written as copies, which are not
// tried either.
func (rr *restoreRun) notTried(f *rFile) {
	f.mu.Lock()
	first := !f.failed.Swap(true)
	if first {
		f.errMsg = "not tried"
	}
	f.mu.Unlock()
	if !first {
		return
	}
	rr.sumMu.Lock()
	rr.sum.NotTried++
	rr.sum.NotTriedFiles = append(rr.sum.NotTriedFiles, f.spath())
	if f.counted.Swap(false) {
		rr.sum.Files--
		rr.sum.Bytes -= uint64(f.fm.size)
	}
	rr.sumMu.Unlock()
}

// failData fails a file whose content the repository could not give
// (a blob damaged, missing or of the wrong size): counted in Damaged.
func (rr *restoreRun) failData(f *rFile, err error) { rr.failAs(f, err, true) }

// addFailedFile lists the file p (a snapshot path) as not restored; the
// workers list theirs (failAs) while the deciding goroutine lists its own.
func (rr *restoreRun) addFailedFile(p string) {
	rr.sumMu.Lock()
	rr.sum.FailedFiles = append(rr.sum.FailedFiles, p)
	rr.sumMu.Unlock()
}

func (rr *restoreRun) failAs(f *rFile, err error, damaged bool) {
	f.mu.Lock()
	first := !f.failed.Load()
	f.failed.Store(true)
	if first {
		f.errMsg = err.Error()
	}
	f.mu.Unlock()
	if first {
		rr.addErrorOf(f.spath(), err, damaged)
		rr.noteFull(f, err, damaged)
		rr.sumMu.Lock()
		rr.sum.FailedFiles = append(rr.sum.FailedFiles, f.spath())
		if damaged {
			rr.sum.Damaged++
		}
		if f.counted.Swap(false) {
			rr.sum.Files--
			rr.sum.Bytes -= uint64(f.fm.size)
		}
		rr.sumMu.Unlock()
	}
}

// open creates the file on first use, with its final permission bits, and
// sets its full size when it ends in a hole (so holes stay holes). It is
// created by name in its directory, opened beneath the target, with
// O_EXCL|O_NOFOLLOW: whatever took its place since prepare (a symlink
// above all) fails it rather than being written through. Files are written
// through the raw descriptor: os.OpenFile would add four fcntl calls and a
// failed epoll registration to every one of them.
//
// The descriptor is returned pinned: the fd cache does not close it until
// the caller calls unpin. A file the cache closed is opened again here,
// without O_CREAT: it must still be the file this restore created.
func (rr *restoreRun) open(f *rFile) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		f.pins++
		rr.fds.touch(f)
		return f.fd, nil
	}
	flags := unix.O_WRONLY
	if rr.rs.Verify {
		flags = unix.O_RDWR // read back before close
	}
	if !f.created {
		if rr.stoppedFor(f) != 0 {
			return -1, errNotTried
		}
		flags |= unix.O_CREAT | unix.O_TRUNC | unix.O_EXCL
		if f.replace {
			// Before the create: a kill between it and the line
			// written after it left a file no journal named.
			rr.noteTempIntent(rr.writeRel(f))
		}
		rr.hook("create", f.rel)
	} else {
		rr.hook("reopen", f.rel)
	}
	// Owner read and write until the metadata is set: the fd cache may
	// close the file and open it again for its next blob, and a non-root
	// restore could not open a read-only file for writing (nor set its
	// user xattrs). fdMetadata sets the real mode.
	mode := createMode(f.fm.mode)
	if f.created {
		mode = 0 // openat2 refuses a mode without O_CREAT
	}
	fd, err := rr.root.open(rr.writeRel(f), flags, mode)
	if err != nil {
		if f.replace {
			// The error names the hidden temporary name.
			err = fmt.Errorf("%s (written beside the file it replaces, under a temporary name): %w", f.dst(), err)
		}
		return -1, err
	}
	if f.created {
		// Reopened after the fd cache closed it: it must still be the
		// file this restore made. Someone who can write the directory
		// could have renamed a file of their own over the name, which
		// would then get the rest of the snapshot's data, owner and mode.
		var st unix.Stat_t
		ino, known := rr.fds.reopened(f)
		if err := unix.Fstat(fd, &st); err != nil || !known || st.Ino != ino {
			unix.Close(fd)
			f.created = false // what stands at the name is not this restore's: not removed
			return -1, fmt.Errorf("%s: another file took its place while it was restored", f.dst())
		}
	}
	if !f.created {
		if f.replace {
			rr.noteTempFd(rr.writeRel(f), fd)
		}
		if endsInHole(f.fm.content) {
			if err := unix.Ftruncate(fd, f.fm.size); err != nil {
				unix.Close(fd)
				return -1, &os.PathError{Op: "truncate", Path: f.dst(), Err: err}
			}
		}
		f.created = true
	}
	f.fd = fd
	f.pins++
	rr.fds.add(f)
	return fd, nil
}

// unpin releases a descriptor that open returned.
func (rr *restoreRun) unpin(f *rFile) {
	f.mu.Lock()
	f.pins--
	f.mu.Unlock()
}

// endsInHole reports whether writing a node's data extents leaves the file
// shorter than its size.
func endsInHole(content []snapshot.Extent) bool {
	return len(content) > 0 && content[len(content)-1].IsHole()
}

func (rr *restoreRun) writeAt(f *rFile, data []byte, off int64) error {
	if f.failed.Load() {
		return nil
	}
	fd, err := rr.open(f)
	if err == errNotTried {
		rr.notTried(f)
		return nil
	}
	if err != nil {
		return err
	}
	defer rr.unpin(f)
	for len(data) > 0 {
		n, err := unix.Pwrite(fd, data, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: f.dst(), Err: err}
		}
		data, off = data[n:], off+int64(n)
	}
	return nil
}

// closeFile closes f's descriptor, if it is open, and takes it out of the
// fd cache.
func (rr *restoreRun) closeFile(f *rFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	rr.fds.remove(f)
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.dst(), Err: err}
	}
	return nil
}

// finishFile runs once per file after its last blob: close, then remove it
// if it failed, or verify and set metadata.
func (rr *restoreRun) finishFile(f *rFile) {
	if f.failed.Load() {
		rr.closeFile(f)
		if f.created {
			rr.remove(f)
		}
		return
	}
	fd, err := rr.open(f) // also creates empty and all-hole files
	if err == errNotTried {
		rr.notTried(f)
		return
	}
	if err != nil {
		rr.fail(f, err)
		return
	}
	// Unpinned only by closing: nothing else writes the file now.
	// Verify reads through the descriptor that wrote (no path lookup),
	// before the times are set: reading may update the access time.
	if rr.rs.Verify {
		if err := rr.verify(fd, f); err != nil {
			rr.fail(f, err)
			rr.unpin(f)
			rr.closeFile(f)
			rr.remove(f)
			return
		}
		rr.count(func(s *RestoreSummary) { s.Verified++ })
	}
	// Metadata goes through the open descriptor too, after the last write.
	node := f.n()
	dropped, merr := rr.fdMetadata(fd, f.dst(), node, f.created)
	rr.unpin(f)
	if err := rr.closeFile(f); err != nil {
		rr.fail(f, err)
		rr.remove(f)
		return
	}
	if f.replace {
		rr.hook("rename", f.rel)
		if err := rr.putInPlace(f); err != nil {
			rr.fail(f, err)
			rr.remove(f)
			return
		}
		rr.count(func(s *RestoreSummary) { s.Replaced++ })
	}
	if dropped { // counted once the file stands at its name
		rr.noteSetID(f.dst(), devIno{})
	}
	if merr != nil {
		rr.addError(f.spath(), merr)
	}
	rr.finished.Add(1)
	rr.noteWritten(f) // its file system took a file: no longer in a row
	rr.finishedBytes.Add(uint64(f.fm.size))
	rr.progress.CompleteItem(f.spath(), node, false)
}

// verify re-reads a written file through fd and checks each data extent's
// hash and the file size.
func (rr *restoreRun) verify(fd int, f *rFile) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.dst(), Err: err}
	}
	if st.Size != f.fm.size {
		return fmt.Errorf("verify: size is %d, want %d", st.Size, f.fm.size)
	}
	var buf []byte
	var off int64
	for _, e := range f.fm.content {
		if e.IsHole() {
			off += e.Size
			continue
		}
		if e.Size < 0 || e.Size > maxExtentSize {
			// checkExtents refused such a file already; never allocate
			// what a snapshot claims without a bound.
			return fmt.Errorf("verify: extent at offset %d claims %d bytes", off, e.Size)
		}
		if int64(cap(buf)) < e.Size {
			buf = make([]byte, e.Size)
		}
		b := buf[:e.Size]
		for got := 0; got < len(b); {
			n, err := unix.Pread(fd, b[got:], off+int64(got))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("verify: %w", &os.PathError{Op: "read", Path: f.dst(), Err: err})
			}
			if n == 0 {
				return fmt.Errorf("verify: %s ends at offset %d", f.dst(), off+int64(got))
			}
			got += n
		}
		if rr.hasher != nil {
			if rr.hasher.BlobID(b) != e.ID {
				return fmt.Errorf("verify: content at offset %d does not match blob %s", off, e.ID.Short())
			}
		} else {
			rr.hashMu.Lock()
			want, ok := rr.hashes[e.ID]
			rr.hashMu.Unlock()
			if !ok || sha256.Sum256(b) != want {
				return fmt.Errorf("verify: content at offset %d does not match blob %s", off, e.ID.Short())
			}
		}
		off += e.Size
	}
	return nil
}
