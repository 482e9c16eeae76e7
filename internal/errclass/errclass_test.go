package errclass_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/copier"
	"github.com/lpse/cadang/snapshot/restorer"
)

func TestOf(t *testing.T) {
	exitErr := exec.Command("sh", "-c", "exit 3").Run()
	if exitErr == nil {
		t.Fatal("sh -c 'exit 3' succeeded")
	}
	wrap := func(err error) error { return fmt.Errorf("open /mnt/backup1: %w", err) }
	cases := []struct {
		name string
		err  error
		exit int
		kind runlog.FailureKind
		hint bool
	}{
		{"nil", nil, 0, "", false},
		{"coded", &errclass.CodedError{Code: 2, Msg: "status: warning"}, 2, runlog.KindOther, false},
		{"partial", &errclass.PartialError{Msg: "2 items"}, 3, runlog.KindSourceUnreadable, false},
		{"partial restore", &errclass.PartialError{Msg: "1 file", Kind: runlog.KindIntegrity}, 3, runlog.KindIntegrity, false},
		{"cancelled", wrap(context.Canceled), 130, runlog.KindInterrupted, false},
		{"wrong password", wrap(repo.ErrWrongPassword), 12, runlog.KindWrongPassword, true},
		{"no repository", wrap(repo.ErrNoRepository), 10, runlog.KindRepoUnreachable, true},
		{"locked", wrap(&repo.LockedError{}), 11, runlog.KindLock, true},
		{"lock lost", wrap(repo.ErrLockLost), 1, runlog.KindLock, true},
		{"dump failed", wrap(&archiver.CommandError{}), 1, runlog.KindDumpFailed, false},
		{"damaged index", wrap(&repo.DamagedError{File: backend.Handle{Type: repo.IndexFile, Name: "ab"}, Err: errors.New("bad")}), 1, runlog.KindIntegrity, true},
		{"disk full", wrap(syscall.ENOSPC), 1, runlog.KindOutOfSpace, true},
		{"init in a directory that is not empty", wrap(local.ErrNotEmpty), 1, runlog.KindOther, true},
		{"output's disk full", &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}, 1, runlog.KindOutOfSpace, true},
		// A copy that left out a damaged snapshot copied the others:
		// partial, of the kind of its first failure.
		{"copy incomplete", wrap(&copier.IncompleteError{Errs: []error{wrap(&repo.DamagedError{Err: errors.New("bad")})}}), 3, runlog.KindIntegrity, true},
		{"copy incomplete, invalid tree", &copier.IncompleteError{Errs: []error{wrap(snapshot.ErrInvalidTree)}}, 3, runlog.KindIntegrity, true},
		// A child's exit code is not cadang's: pg_dump exiting 3 is no
		// partial backup.
		{"child exit code", wrap(exitErr), 1, runlog.KindOther, false},
		{"explicit kind wins", runlog.Fail(runlog.KindMedia, wrap(repo.ErrNoRepository)), 10, runlog.KindMedia, true},
		{"read-only repository", wrap(&repo.ReadOnlyError{Location: "/mnt/backup1/cadang", Err: syscall.EROFS}), 1, runlog.KindMediaReadOnly, true},
		{"read-only file system", wrap(syscall.EROFS), 1, runlog.KindMediaReadOnly, true},
		// A restore's read-only target is not the medium.
		{"read-only restore target", wrap(&restorer.TargetError{Target: "/srv", Err: syscall.EROFS}), 1, runlog.KindOther, true},
		{"other", errors.New("boom"), 1, runlog.KindOther, false},
	}
	if h := errclass.Of(&fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}).Hint; strings.Contains(h, "backup medium") {
		t.Errorf("a full disk under the output blames the backup medium: %s", h)
	}
	for _, c := range cases {
		got := errclass.Of(c.err)
		if got.Exit != c.exit || got.Kind != c.kind || (got.Hint != "") != c.hint {
			t.Errorf("%s: Of(%v) = %+v, want exit %d kind %q hint %v", c.name, c.err, got, c.exit, c.kind, c.hint)
		}
	}
}

func TestHintNotRepeated(t *testing.T) {
	err := fmt.Errorf("locked; %s: %w", errclass.Of(&repo.LockedError{}).Hint, &repo.LockedError{})
	if h := errclass.Hint(err); h != "" {
		t.Errorf("Hint repeats what the message says: %q", h)
	}
}

// TestInvalidSnapshotIsIntegrity: a snapshot refused for invalid or
// unboundedly repeating trees is an integrity failure with a hint, not
// the generic class.
func TestInvalidSnapshotIsIntegrity(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("snapshot 1234: tree abcd: %w", snapshot.ErrWalkLimit),
		fmt.Errorf("decode tree: %w", snapshot.ErrInvalidTree),
	} {
		c := errclass.Of(err)
		if c.Exit != errclass.ExitFatal || c.Kind != runlog.KindIntegrity || c.Hint == "" {
			t.Errorf("%v: class %+v, want exit 1, integrity, a hint", err, c)
		}
	}
}

// TestSourceHints: the source of a copy keeps its cause's exit code, with
// hints that name the source's flags.
func TestSourceHints(t *testing.T) {
	for _, c := range []struct {
		err  error
		exit int
		hint string
	}{
		{repo.ErrWrongPassword, errclass.ExitWrongPassword, "CADANG_FROM_PASSWORD"},
		{repo.ErrNoRepository, errclass.ExitNoRepository, "--from-repo"},
		{&repo.LockedError{}, errclass.ExitLocked, "'cadang -r SOURCE unlock'"},
	} {
		got := errclass.Of(&errclass.SourceError{Err: fmt.Errorf("source repository: %w", c.err)})
		if got.Exit != c.exit || !strings.Contains(got.Hint, c.hint) || strings.Contains(got.Hint, "cadang init") {
			t.Errorf("%v: %+v, want exit %d and a hint naming %s", c.err, got, c.exit, c.hint)
		}
	}
	if got := errclass.Of(fmt.Errorf("create repository: %w at /x", backend.ErrRepositoryExists)); !strings.Contains(got.Hint, "needs no init") || !errors.Is(backend.ErrRepositoryExists, fs.ErrExist) {
		t.Errorf("a repository that exists: %+v", got)
	}
}

// The hint of a read-only repository names a mount point to remount: the
// repository's directory is often below it.
func TestReadOnlyHint(t *testing.T) {
	h := errclass.ReadOnlyHint("/")
	if !strings.HasPrefix(h, "remount it read-write, e.g. mount -o remount,rw / ") {
		t.Errorf("ReadOnlyHint(/) = %q", h)
	}
	if h := errclass.ReadOnlyHint("sftp:backup@host:/srv/cadang"); !strings.Contains(h, "mount -o remount,rw PATH") {
		t.Errorf("the hint of a remote repository names a local path: %q", h)
	}
	// S3 and REST have no file system to remount: their refusal is of
	// this user's writes.
	for _, loc := range []string{"s3:https://s3.example.org/bkt/repo", "rest:http://127.0.0.1:8000/spse"} {
		if h := errclass.ReadOnlyHint(loc); strings.Contains(h, "mount") || !strings.Contains(h, "give it write access") {
			t.Errorf("ReadOnlyHint(%s) = %q", loc, h)
		}
	}
	var he *errclass.HintedError
	err := &errclass.HintedError{Err: wrapRO(), Hint: "do this"}
	if errclass.Hint(err) != "do this" || !errors.As(err, &he) || errclass.Exit(err) != 1 {
		t.Errorf("a HintedError's hint or class: %q, exit %d", errclass.Hint(err), errclass.Exit(err))
	}
}

func wrapRO() error { return fmt.Errorf("backup: %w", syscall.EROFS) }
