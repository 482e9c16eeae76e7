// Package errclass is the one table that says what an error means to the
// people who run cadang: the exit code of the command, the SOP's failure
// kind for the run log, and a hint of what to do. The CLI's exit codes, the
// SOP runner's failure kinds and the hints printed after an error all come
// from Of, so that a new error is classified in one place.
package errclass

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/copier"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/restorer"
)

// Exit codes. They follow restic where restic has one, so scripts written
// for restic keep working.
const (
	ExitOK            = 0
	ExitFatal         = 1
	ExitPartial       = 3 // backup written, but some source files could not be read, or its offsite copy failed (cadang run); a restore with failed files; a copy that left out unreadable snapshots or could not write protections; a repair that lost blobs (repair packs) or found packs whose header cannot be read (repair index); a follow-up recorded on this server only, not in the --repo it was meant for (a medium mounted read-only)
	ExitNoRepository  = 10
	ExitLocked        = 11
	ExitWrongPassword = 12
	// ExitNotRecorded: the operation succeeded, but its record could not
	// be written to the run log (neither the local mirror nor, with it,
	// the repository's copy): the SOP asks for a record of every run,
	// and a warning on stderr is easily missed at 3 a.m.
	ExitNotRecorded = 13
	ExitInterrupted = 130
	// ExitBrokenPipe: the reader of the output went away (cadang ls |
	// head): stopped as an interrupt stops it, under the code a shell
	// gives a process that SIGPIPE killed.
	ExitBrokenPipe = 141
)

// ExitCode is one exit code and what it means, for help texts.
type ExitCode struct {
	Code    int
	Meaning string
}

// ExitCodes lists every exit code of cadang's commands (but the SOP
// monitoring codes of status and run, which their help gives), in order:
// the one list that 'cadang help' prints.
func ExitCodes() []ExitCode {
	return []ExitCode{
		{ExitOK, "ok"},
		{ExitFatal, "fatal error"},
		{ExitPartial, "partly done: some source files could not be read (snapshot still written), some files could not be restored, some snapshots or their protections not copied, a repair lost blobs, or a follow-up stored on this server only"},
		{ExitNoRepository, "repository does not exist"},
		{ExitLocked, "repository is locked"},
		{ExitWrongPassword, "wrong password"},
		{ExitNotRecorded, "done, but its record could not be written to the run log"},
		{ExitInterrupted, "interrupted"},
		{ExitBrokenPipe, "the output pipe closed (stopped as if interrupted)"},
	}
}

// Class is what an error means.
type Class struct {
	Exit int
	Kind runlog.FailureKind
	// Hint tells an administrator what to do next; empty when there is
	// nothing better to say than the error itself.
	Hint string
}

// CodedError ends a command with an exit code of its own (e.g. `status`,
// whose codes are those of a monitoring check). It is a concrete type, not
// an interface: *exec.ExitError and urfave/cli's errors have ExitCode
// methods too, and a child's or the flag parser's code is not cadang's.
type CodedError struct {
	Code int
	Msg  string
}

func (e *CodedError) Error() string { return e.Msg }

// PartialError marks work that was done except for some items: a snapshot
// written without some unreadable files, a restore with failed files. It
// maps to ExitPartial.
type PartialError struct {
	Msg  string
	Kind runlog.FailureKind // the failure kind; empty means source-unreadable
}

func (e *PartialError) Error() string { return e.Msg }

// SourceError marks an error in opening the source repository of a copy
// (--from-repo): it is classified as its cause is, but the hints for a
// wrong password or a missing repository name the source's flags, not
// the destination's.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

type rule struct {
	match func(error) bool
	class func(error) Class
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func as[T error]() func(error) bool {
	return func(err error) bool {
		var t T
		return errors.As(err, &t)
	}
}

func fixed(c Class) func(error) Class { return func(error) Class { return c } }

// rules is the table, first match wins. It is a function rather than a
// package variable so that nobody can change it at run time.
func rules() []rule {
	return []rule{
		{as[*CodedError](), func(err error) Class {
			var c *CodedError
			errors.As(err, &c)
			return Class{Exit: c.Code, Kind: runlog.KindOther}
		}},
		{as[*PartialError](), func(err error) Class {
			var p *PartialError
			errors.As(err, &p)
			k := p.Kind
			if k == "" {
				k = runlog.KindSourceUnreadable
			}
			return Class{Exit: ExitPartial, Kind: k}
		}},
		{func(err error) bool {
			return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
		}, fixed(Class{Exit: ExitInterrupted, Kind: runlog.KindInterrupted})},
		// Before the rules its causes match: the other snapshots were
		// copied, so the copy is partial, of the first failure's kind.
		{is(copier.ErrIncomplete), func(err error) Class {
			c := Class{Exit: ExitPartial, Kind: runlog.KindIntegrity,
				Hint: "the other snapshots were copied; 'cadang check --read-data' of the source shows its damage, and a snapshot that cannot be read there may be copied from another medium that holds it"}
			var ie *copier.IncompleteError
			if errors.As(err, &ie) && len(ie.Errs) > 0 {
				if k := Of(ie.Errs[0]).Kind; k != "" {
					c.Kind = k
				}
			}
			return c
		}},
		// Before the rules of its causes, whose hints are the
		// destination's.
		{as[*SourceError](), func(err error) Class {
			var s *SourceError
			errors.As(err, &s)
			c := Of(s.Err)
			switch {
			case errors.Is(s.Err, repo.ErrKeyNotTried):
				c.Hint = "a key file of the source repository was not tried because its key derivation asks for more memory than this machine has free: if the password is right for it, free memory or raise the limit with CADANG_KDF_MEMORY=MiB; else check the source's password (--from-password-file, CADANG_FROM_PASSWORD)"
			case errors.Is(s.Err, repo.ErrWrongPassword):
				c.Hint = "check the source repository's password: --from-password-file, CADANG_FROM_PASSWORD_FILE or CADANG_FROM_PASSWORD"
			case errors.Is(s.Err, repo.ErrNoRepository):
				c.Hint = "check --from-repo/CADANG_FROM_REPOSITORY, and that the medium that holds the source is connected and mounted"
			case c.Exit == ExitLocked:
				// The lock's hint would have 'cadang unlock' act on -r,
				// the destination.
				c.Hint = "the source repository is locked: if that process is gone, 'cadang -r SOURCE unlock' (SOURCE: the --from-repo repository) removes its stale locks; to wait for a running one instead, give --retry-lock DURATION"
			}
			return c
		}},
		// Before ErrWrongPassword, which it may join: a key file that was
		// not tried may be the one the password opens.
		{is(repo.ErrKeyNotTried), fixed(Class{Exit: ExitFatal, Kind: runlog.KindWrongPassword,
			Hint: "a key file was not tried because its key derivation asks for more memory than this machine has free: if the password is right for it, free memory or raise the limit with CADANG_KDF_MEMORY=MiB; if the key file is not yours, 'cadang key remove ID' removes it; else check the password given"})},
		{is(repo.ErrWrongPassword), fixed(Class{Exit: ExitWrongPassword, Kind: runlog.KindWrongPassword,
			Hint: "check the password given: --password-file, --password-command, CADANG_PASSWORD, or the medium's password_file in the configuration"})},
		{is(repo.ErrKeysMissing), fixed(Class{Exit: ExitFatal, Kind: runlog.KindIntegrity,
			Hint: "without a key file the repository cannot be opened: copy its keys/ directory back from a copy of this medium (keys of another medium do not fit)"})},
		// Before ErrNoRepository, which it wraps: that hint suggests
		// 'cadang init', here inside or beside a repository.
		{as[*local.NearbyRepositoryError](), fixed(Class{Exit: ExitNoRepository, Kind: runlog.KindRepoUnreachable,
			Hint: "give -r (or the medium's repository in the configuration) the directory that holds the repository's config file, as named above; do not 'cadang init' here"})},
		{is(local.ErrInsideRepository), fixed(Class{Exit: ExitFatal, Kind: runlog.KindOther,
			Hint: "to use that repository, give -r its directory; a new repository goes in a directory outside it, e.g. beside it on the medium"})},
		// Connecting the disk comes first: at 3 a.m. the usual cause is a
		// rotation disk that is not mounted, and an init there would make
		// a new, empty repository in the mount point's directory.
		{is(repo.ErrNoRepository), fixed(Class{Exit: ExitNoRepository, Kind: runlog.KindRepoUnreachable,
			Hint: NoRepositoryHint})},
		{as[*repo.RunningLocksError](), fixed(Class{Exit: ExitLocked, Kind: runlog.KindLock,
			Hint: "those processes are running now (see 'ps -p PID'): removing a lock makes its backup fail with \"repository lock lost\"; stop the process or let it finish, and its lock goes with it; if a PID is no cadang (reused, or in another container under this host name), 'cadang unlock --remove-all --include-running' removes the lock"})},
		{as[*repo.LockedError](), func(err error) Class {
			var l *repo.LockedError
			errors.As(err, &l)
			c := Class{Exit: ExitLocked, Kind: runlog.KindLock,
				Hint: "if that process is gone, 'cadang unlock' removes stale locks; to wait for a running one to finish instead of failing at once, give --retry-lock DURATION (e.g. cadang --retry-lock 30m ...)"}
			if l.Waited > 0 {
				c.Hint = "if that process is gone, 'cadang unlock' removes stale locks; else give it more time with a longer --retry-lock"
			}
			if l.Unreadable != nil {
				// Junk in locks/ needs only the server's credentials; a
				// restore at 3 a.m. must not wait for it to age.
				c.Hint = "if no other cadang is running, 'cadang unlock --remove-all' removes it; a command that only reads (restore, snapshots, ls, check) also runs past it with 'cadang --no-lock'"
			}
			return c
		}},
		{is(repo.ErrLockLost), fixed(Class{Exit: ExitFatal, Kind: runlog.KindLock,
			Hint: "another process removed or outlived this run's lock; run 'cadang check' before the next backup"})},
		{as[*archiver.CommandError](), fixed(Class{Exit: ExitFatal, Kind: runlog.KindDumpFailed})},
		{is(archiver.ErrIncomplete), fixed(Class{Exit: ExitPartial, Kind: runlog.KindSourceUnreadable})},
		{is(archiver.ErrNoSource), fixed(Class{Exit: ExitFatal, Kind: runlog.KindSourceUnreadable})},
		{is(restorer.ErrRestoreIncomplete), fixed(Class{Exit: ExitPartial, Kind: runlog.KindIntegrity})},
		// Before the ENOSPC rule, whose hint is the backup medium's: a
		// restore's target that cannot be made or opened.
		{as[*restorer.TargetError](), func(err error) Class {
			c := Class{Exit: ExitFatal, Kind: runlog.KindOther}
			var errno syscall.Errno
			if errors.As(err, &errno) {
				c.Hint = TargetHint(errno)
				if errno == syscall.ENOSPC || errno == syscall.EDQUOT {
					c.Kind = runlog.KindOutOfSpace
				}
			}
			return c
		}},
		// After the restore target's rule: a read-only target is no
		// read-only medium.
		{as[*repo.ReadOnlyError](), func(err error) Class {
			var ro *repo.ReadOnlyError
			errors.As(err, &ro)
			return Class{Exit: ExitFatal, Kind: runlog.KindMediaReadOnly, Hint: ReadOnlyHint(ro.Location)}
		}},
		{is(syscall.EROFS), fixed(Class{Exit: ExitFatal, Kind: runlog.KindMediaReadOnly,
			Hint: "a file system is mounted read-only (the backup medium, or one the kernel remounted after disk errors: see dmesg): remount it read-write, e.g. mount -o remount,rw PATH"})},
		// Their messages name the remedy, so that `cadang run` records it
		// too; the damage rule's hint would only send the administrator
		// to check.
		{func(err error) bool {
			var up *snapshot.UnreadableProtectionsError
			var us *prune.UnreadableSnapshotsError
			return errors.As(err, &up) || errors.As(err, &us)
		}, fixed(Class{Exit: ExitFatal, Kind: runlog.KindIntegrity})},
		{is(repo.ErrUnsupportedVersion), func(err error) Class {
			c := Class{Exit: ExitFatal, Kind: runlog.KindOther,
				Hint: "the repository holds files written by a newer cadang; read it with that version or newer (nothing is damaged)"}
			var u *repo.UnsupportedError
			if errors.As(err, &u) && u.File.Type == repo.IndexFile {
				// Its plaintext opened with the key: a newer cadang wrote
				// it, or someone who holds the password.
				c.Hint = "if a newer cadang wrote to this repository, use it; if none did, someone holding the password did: 'cadang repair index' rebuilds the index from the packs without it"
			}
			return c
		}},
		// A snapshot whose trees break the format's rules or expand without
		// bound was written by a faulty or hostile host: integrity, like
		// damage, and nothing was restored or listed from it.
		{func(err error) bool {
			return errors.Is(err, snapshot.ErrWalkLimit) || errors.Is(err, snapshot.ErrInvalidTree)
		}, fixed(Class{Exit: ExitFatal, Kind: runlog.KindIntegrity,
			Hint: "the snapshot's trees are invalid or repeat without bound (written by a faulty or hostile host): 'cadang check' names them; restore another snapshot"})},
		{repo.IsDamaged, func(err error) Class {
			c := Class{Exit: ExitFatal, Kind: runlog.KindIntegrity,
				Hint: "'cadang check --read-data' shows the extent of the damage"}
			var d *repo.DamagedError
			if errors.As(err, &d) && d.File.Type == repo.IndexFile {
				c.Hint = "run 'cadang repair index'"
			}
			if errors.As(err, &d) && d.File.Type == repo.PackFile && errors.Is(err, repo.ErrTooLarge) {
				// check would send it back to repair packs, which is
				// what stops at it.
				c.Hint = "the pack was not read, but a restore reads its blobs by range: first restore (or 'cadang copy' to another repository) what the snapshots that use it still give; only then move the file out of the repository (keep it) and run 'cadang repair index', which names the blobs lost with it. Where another medium holds those snapshots, copy them back from it ('cadang copy --from-repo OTHER ID') instead"
			}
			return c
		}},
		{is(backend.ErrRepositoryExists), fixed(Class{Exit: ExitFatal, Kind: runlog.KindOther,
			Hint: "it needs no init: back up into it as it is (with its password); for a new repository give -r a new or empty directory"})},
		{is(local.ErrNotEmpty), fixed(Class{Exit: ExitFatal, Kind: runlog.KindOther,
			Hint: "a repository is made in an empty or new directory: on a medium's root (which holds lost+found), give -r a directory below it, e.g. -r /mnt/backup1/cadang"})},
		// A full disk under the command's own output (cadang ls >
		// /full/disk/list) is no full backup medium.
		{func(err error) bool {
			return isStdWrite(err) && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT))
		},
			fixed(Class{Exit: ExitFatal, Kind: runlog.KindOutOfSpace,
				Hint: "the disk that the command's output was redirected to is full"})},
		{func(err error) bool { return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) },
			fixed(Class{Exit: ExitFatal, Kind: runlog.KindOutOfSpace,
				Hint: "a disk is full (the backup medium, or the temporary space of a dump): free space and run again; a backup that stopped here wrote no snapshot"})},
		{is(fs.ErrPermission), fixed(Class{Exit: ExitFatal, Kind: runlog.KindSourceUnreadable})},
	}
}

// ReadOnlyHint says what to do about a repository at loc whose storage is
// read-only.
func ReadOnlyHint(loc string) string {
	if strings.HasPrefix(loc, "s3:") || strings.HasPrefix(loc, "rest:") {
		// No file system of its own to remount: the server refused this
		// user's writes (an S3 policy, a REST account or proxy).
		return "the server lets this user read but not write (S3: a bucket or key policy without s3:PutObject; REST: an account or proxy that refuses uploads): give it write access; a command that only reads runs on it as it is"
	}
	path := "PATH" // not a local directory: its mount point is not known here
	if filepath.IsAbs(loc) {
		path = mountPoint(loc)
	}
	return fmt.Sprintf("remount it read-write, e.g. mount -o remount,rw %s (if the kernel remounted it read-only after disk errors, see dmesg and run 'cadang check' first); a command that only reads runs on it as it is", path)
}

// TargetHint says what to do about errno, the error that a restore's
// target gave: "" for an errno that says nothing of the target as a whole.
// The restore's closing line and the error of a target that cannot be
// made or opened say it, so that the cause is not left to be found among
// a line per file.
func TargetHint(errno syscall.Errno) string {
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT:
		return "the target's file system is full: free space or choose another --target"
	case syscall.EROFS:
		return "the target's file system is mounted read-only: remount it read-write or choose another --target"
	case syscall.EACCES:
		return "the target is not writable by this user: run as a user who may write there, or choose another --target"
	case syscall.ENOTDIR:
		return "give --target a directory (it is made if missing)"
	}
	return ""
}

// Of classifies err. A nil error is ExitOK with no kind. An error that
// carries an explicit SOP failure kind (runlog.Fail) keeps that kind; its
// exit code and hint still come from the table.
func Of(err error) Class {
	if err == nil {
		return Class{Exit: ExitOK}
	}
	c := Class{Exit: ExitFatal, Kind: runlog.KindOther}
	for _, r := range rules() {
		if r.match(err) {
			c = r.class(err)
			break
		}
	}
	var ke *runlog.Error
	if errors.As(err, &ke) && ke.Kind.Valid() {
		c.Kind = ke.Kind
	}
	return c
}

// Kind is Of(err).Kind, in the shape of run.Runner.Classify.
func Kind(err error) runlog.FailureKind { return Of(err).Kind }

// Exit is Of(err).Exit.
func Exit(err error) int { return Of(err).Exit }

// NoRepositoryHint is the hint for a repository that is not there.
const NoRepositoryHint = "connect and mount the backup medium's disk, and check that the path (--repo/CADANG_REPOSITORY, or the medium's repository in the configuration) names the repository's directory on it; " +
	"only for a brand-new, empty disk make a repository there with 'cadang init': on a disk that is merely not mounted, init would make a new, empty repository in the mount point's directory"

// HintedError is an error with a hint that its own class does not give:
// the failure of a `cadang run`, whose error is its record, with the hint
// of the error that failed it. It is classified as Err is.
type HintedError struct {
	Err  error
	Hint string
}

func (e *HintedError) Error() string { return e.Err.Error() }
func (e *HintedError) Unwrap() error { return e.Err }

// Hint returns err's hint, or "" when there is none or the message
// already says it.
func Hint(err error) string {
	h := Of(err).Hint
	var he *HintedError
	if errors.As(err, &he) && he.Hint != "" {
		h = he.Hint
	}
	if h == "" || strings.Contains(err.Error(), h) {
		return ""
	}
	return h
}

// isStdWrite tells a failed write to the process's standard output or
// error, which os names /dev/stdout and /dev/stderr.
func isStdWrite(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Op == "write" && (pe.Path == "/dev/stdout" || pe.Path == "/dev/stderr")
}
