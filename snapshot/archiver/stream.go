package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/childenv"
	"github.com/lpse/cadang/snapshot"
)

// ArchiveReader backs up the content of rd as the single file /name of a new
// snapshot (its Paths are ["/name"]). The file gets mode 0600, the current
// user and group and the current time. A read error from rd aborts the
// backup: no snapshot is written.
func (a *Archiver) ArchiveReader(ctx context.Context, name string, rd io.Reader) (*snapshot.Snapshot, error) {
	return a.archiveStream(ctx, name, rd, nil, nil)
}

func (a *Archiver) archiveStream(ctx context.Context, name string, rd io.Reader, beforeSave func() error, onAbort func()) (*snapshot.Snapshot, error) {
	name = strings.TrimPrefix(name, "/")
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("invalid file name %q for a stream backup", name)
	}
	r, err := a.newRun()
	if err != nil {
		return nil, err
	}
	paths := []string{"/" + name}
	if err := a.checkSnapshotFits(paths); err != nil {
		return nil, err
	}
	parent, err := a.findParent(ctx, paths)
	if err != nil {
		return nil, err
	}
	r.beforeSave, r.onAbort = beforeSave, onAbort
	now := time.Now()
	if !a.Time.IsZero() {
		now = a.Time
	}
	n := &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o600, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()),
		ModTime: now, ChangeTime: now}
	n.User, n.Group = r.names.User(n.UID), r.names.Group(n.GID)
	return r.execute(ctx, paths, parent, func(ctx context.Context, root *dirJob) error {
		root.nodes = []*snapshot.Node{n}
		root.pending.Store(2)
		status := ItemNew
		if root.old != nil && root.old.Find(name) != nil {
			status = ItemChanged
		}
		job := &fileJob{d: root, idx: 0, path: "/" + name, node: n, status: status, stream: rd}
		select {
		case r.fileCh <- job:
		case <-ctx.Done():
			return ctx.Err()
		}
		return r.childDone(ctx, root)
	})
}

// CommandError is returned by SnapshotFromCommand when the command failed;
// no snapshot was written.
type CommandError struct {
	Command  []string
	ExitCode int    // the exit status, or -1 when killed by a signal
	Signal   string // the signal that killed it, if any
	Stderr   string // the last lines of the command's standard error
	Err      error  // from exec
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "command %s ", shellWords(e.Command))
	switch {
	case e.Signal != "":
		fmt.Fprintf(&b, "was killed by signal %s", e.Signal)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, "failed: %v", e.Err)
	}
	b.WriteString("; no snapshot was saved")
	if e.Stderr != "" {
		fmt.Fprintf(&b, "; its stderr ended with:\n%s", e.Stderr)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// CommandLine is the command as Error names it, quoted as a shell would
// read it back.
func (e *CommandError) CommandLine() string { return shellWords(e.Command) }

// shellWords writes argv as a shell would read it back: a word with
// anything but letters, digits and -_./=:,+@% in single quotes. Joined
// with spaces and quoted as a whole, 'sh -c "a; b"' read as sh -c a; b.
func shellWords(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		plain := a != ""
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
				plain = false
				break
			}
		}
		if plain {
			words[i] = a
		} else {
			words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

// StderrTailLines is how many lines of a failed command's stderr a
// CommandError keeps.
const StderrTailLines = 20

// SnapshotFromCommand runs argv and backs up its standard output as the
// file /name (see ArchiveReader). The snapshot is saved only if the command
// exits with status 0; otherwise the error is a *CommandError with the exit
// status and the tail of its standard error. When ctx is cancelled or the
// backup fails, the command's process group is killed. The command runs in
// its own process group; its standard input is /dev/null. It inherits the
// environment except the variables that carry cadang's passwords
// (CADANG_PASSWORD and every other CADANG_*PASSWORD*): whatever it prints
// is stored, and a dump that printed its environment would otherwise put
// the repository password inside the backup. Cloud credentials
// (AWS_SECRET_ACCESS_KEY...) are kept: a dump may read from cloud storage.
func (a *Archiver) SnapshotFromCommand(ctx context.Context, name string, argv []string) (*snapshot.Snapshot, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command given")
	}
	// Before the command starts: a dump must not run to its end for a
	// snapshot that cannot be saved.
	if err := a.checkSnapshotFits([]string{"/" + strings.TrimPrefix(name, "/")}); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = childenv.Environ()
	// Its own process group, so that cancelling kills the whole pipeline it
	// may start (sh -c 'pg_dump | gzip'), not only its first process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	tail := &tailWriter{max: 16 << 10}
	if a.CommandStderr != nil {
		cmd.Stderr = io.MultiWriter(tail, a.CommandStderr)
	} else {
		cmd.Stderr = tail
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	growPipe(stdout)
	if err := cmd.Start(); err != nil {
		return nil, &CommandError{Command: argv, ExitCode: -1, Err: err}
	}
	waited := false
	wait := func() error {
		waited = true
		err := cmd.Wait()
		if err == nil {
			return nil
		}
		ce := &CommandError{Command: argv, ExitCode: -1, Err: err, Stderr: tail.lastLines(StderrTailLines)}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ce.ExitCode = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				ce.Signal = ws.Signal().String()
				ce.ExitCode = -1
			}
		}
		return ce
	}
	sn, err := a.archiveStream(ctx, name, stdout, wait, cancel)
	if !waited {
		cancel() // kill it; the backup failed
		_ = cmd.Wait()
	}
	return sn, err
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// pipeSize is the buffer a command's output pipe is given. Linux's default of
// 64 KiB makes the command and the reader wake each other 16,000 times per
// GB; with 1 MiB (the unprivileged maximum by default) a dump streams with
// a sixteenth of the switches.
const pipeSize = 1 << 20

// growPipe enlarges the pipe buffer of rd where it is a pipe and the system
// allows it; otherwise it does nothing (the default works, more slowly).
func growPipe(rd io.Reader) {
	sc, ok := rd.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
	})
}
