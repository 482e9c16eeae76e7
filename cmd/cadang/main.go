// Command cadang makes and restores deduplicated, compressed, encrypted
// backups. It is a thin layer over the packages repo and snapshot; run
// `cadang help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"
	// The IANA zones in the binary (about 450 KB): [organization]
	// timezone must name the same zone on a host without tzdata (a
	// minimal container), where it would otherwise be refused.
	_ "time/tzdata"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/internal/ui"
)

// errBrokenPipe is the cause of the context's end when the output pipe
// closed.
var errBrokenPipe = errors.New("the output pipe was closed")

// signalContext returns the context of a command run as a process: it
// ends at SIGINT and SIGTERM, and, with errBrokenPipe as its cause, when
// the output pipe closes. stop ends the signal handling.
func signalContext() (ctx context.Context, stop func()) {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A closed output pipe (cadang ls | head) killed the process by
	// SIGPIPE at its next write to stdout: a restore left its lock and a
	// half-written file, kept by the next restore. Asked for, the signal
	// comes here instead (the write fails with EPIPE), and the command
	// stops as it does on Ctrl-C. Asked for, every SIGPIPE comes here,
	// also a write to a connection the server closed (a REST server
	// restarting), which the backend retries: only a closed stdout or
	// stderr stops the command.
	ctx, brokenPipe := context.WithCancelCause(ctx)
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-pipe:
				if outputClosed() {
					brokenPipe(errBrokenPipe)
					return
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(pipe)
		close(done)
		brokenPipe(nil)
		stopSignals()
	}
}

// outputClosed tells whether the reader of stdout or stderr went away.
func outputClosed() bool { return fdClosed(1) || fdClosed(2) }

// fdClosed tells whether the reader of fd went away: the kernel marks the
// write end of a pipe without readers with POLLERR.
func fdClosed(fd int32) bool {
	fds := []unix.PollFd{{Fd: fd, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return false
	}
	return fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signalContext()
	// CADANG_CPUPROFILE names a file for a CPU profile of the whole run;
	// the benchmark suite uses it to find which stage bounds the pipeline.
	if p := os.Getenv("CADANG_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	// Most of a backup's memory is short-lived pack and chunk buffers; a
	// lower GC target keeps the resident size near the live data at little
	// CPU cost (the heap is mostly pointer-free). 20 rather than 30 took
	// the 1 GB first backup's peak RSS in the benchmark from 85.0 MiB
	// (83.2-87.8 over 6 runs) to 81.2 (81.1-81.8), the level of the
	// argon2id phase that every command reaches, in the same time
	// (bench/README.md). GOGC still overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(20)
	}
	// CADANG_TRACE names a file for an execution trace (go tool trace):
	// it shows where the pipeline's goroutines wait, which a CPU profile
	// cannot.
	if p := os.Getenv("CADANG_TRACE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if err := trace.Start(f); err == nil {
				defer trace.Stop()
			}
		}
	}
	stopMem := startMemProfile(os.Getenv("CADANG_MEMPROFILE"))
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	trace.Stop()
	stopMem()
	os.Exit(code)
}

// startMemProfile, for CADANG_MEMPROFILE=file, writes a heap profile to
// file when the run ends and another to file.peak whenever the heap has
// grown a tenth past the last one so written: peak RSS is what the
// benchmarks compare, and the heap at exit is rarely at its peak. (A heap
// profile shows the live heap as of the last finished GC cycle, so the
// peak one is near, not at, the peak.) It returns the function that stops
// the sampling and writes the exit profile.
func startMemProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak+peak/10 {
				peak = v
				writeHeapProfile(path + ".peak")
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		runtime.GC()
		writeHeapProfile(path)
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
}

// run executes the CLI with injected standard streams, so that tests can
// run it in-process, and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	// No input may crash cadang: a panic that escapes a command (the
	// commands that open a repository already recover theirs, to release
	// the lock and record the failure) is a failure with exit code 1.
	err := panicerr.Call(func() string { return "cadang" }, func() error { return app.RunContext(ctx, reorderArgs(app, args)) })
	var pe *panicerr.Error
	if errors.As(err, &pe) {
		fmt.Fprintf(stderr, "%s\n", pe.Stack)
	}
	code := exitCode(err)
	stopped := errors.Is(err, context.Canceled) && errors.Is(context.Cause(ctx), errBrokenPipe)
	if stopped || errors.Is(err, syscall.EPIPE) && outputClosed() {
		// Whoever read the output stopped reading: nothing to tell
		// them, as no tool of a pipeline does. (The write's EPIPE may
		// end the command before the signal ends the context.)
		return exitBrokenPipe
	}
	if err != nil && ctx.Err() != nil && !errors.Is(context.Cause(ctx), errBrokenPipe) {
		// An error of a Ctrl-C'd command is the interrupt's. Not so for
		// one the pipe closed only after it ended (a partial backup
		// that printed its summary into it keeps its exit 3).
		code = exitInterrupted
	}
	if err != nil {
		msg := err.Error()
		if code == exitInterrupted && errors.Is(err, context.Canceled) {
			// The error is the cancellation itself, "context canceled",
			// which tells the person who pressed Ctrl-C nothing.
			msg = "interrupted"
		}
		// Errors quote file names and snapshot fields: escaped, like
		// every message (ui.Printable). A multi-line error (errors.Join)
		// keeps its lines, indented, so that a newline in a name inside
		// it cannot start a line that reads as a message of cadang's own.
		msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n  ")
		fmt.Fprintf(stderr, "cadang: %s\n", ui.Printable(msg, true))
		if h := errclass.Hint(err); h != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ui.Printable(h, true))
		}
	}
	return code
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                 "cadang",
		Usage:                "deduplicating, compressed, encrypted backups for LPSE servers",
		Version:              version,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
		Flags:                globalFlags(),
		Commands:             prepareCommands(append(commands(), serveCommand())),
		Action:               rootAction,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%v\nusage: cadang [global options] COMMAND [options] [arguments...] (cadang help for more)", err)
		},
		Description: `cadang stores backups in a repository: a directory of encrypted, content-addressed pack files.
Data is split into content-defined chunks, deduplicated, compressed with zstd and sealed with AES-256-GCM.

` + exitCodesText() + `

Environment: CADANG_REPOSITORY, CADANG_PASSWORD, CADANG_PASSWORD_FILE, CADANG_PASSWORD_COMMAND;
CADANG_KDF=time,memoryKiB,threads sets the argon2id cost of new key files (default 3,65536,2; below
2,19456,1 only with --insecure-kdf or CADANG_INSECURE_KDF=1).
Commands that cadang starts (dump commands, hooks, verify commands, --password-command) do not see
CADANG_PASSWORD or any other CADANG_*PASSWORD* variable.`,
	}
}
