// Package ui turns the engine's progress events into what a person or a
// script sees: a progress bar on a terminal (files, bytes, rate, ETA), JSON
// status lines with --json, or nothing.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/restorer"
)

// Mode says how progress is shown.
type Mode int

// Progress modes.
const (
	Silent Mode = iota
	Bar         // a bar on a terminal
	JSON        // status events, one JSON object per line
)

// ChooseMode picks the mode: JSON for --json, a bar only when w is a
// terminal and not quiet, else nothing.
func ChooseMode(w io.Writer, jsonOut, quiet bool) Mode {
	if jsonOut {
		if quiet {
			return Silent
		}
		return JSON
	}
	if quiet {
		return Silent
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return Bar
	}
	return Silent
}

// Counter tracks files and bytes done against totals and renders them.
type Counter struct {
	mode   Mode
	w      io.Writer
	verb   string
	start  time.Time
	bar    *progressbar.ProgressBar
	mu     sync.Mutex
	jsonMu sync.Mutex

	totalFiles, totalBytes atomic.Uint64
	doneFiles, doneBytes   atomic.Uint64
	errors                 atomic.Uint64
	stop                   chan struct{}
	stopped                chan struct{}
}

// NewCounter starts rendering progress of the given kind ("backup",
// "restore", "check") to w.
func NewCounter(w io.Writer, mode Mode, verb string) *Counter {
	c := &Counter{mode: mode, w: w, verb: verb, start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	switch mode {
	case Bar:
		c.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	case JSON:
		go c.tick()
		return c
	}
	close(c.stopped)
	return c
}

func (c *Counter) tick() {
	defer close(c.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.emitStatus()
		}
	}
}

// Status is the JSON progress event.
type Status struct {
	MessageType  string  `json:"message_type"` // "status"
	Action       string  `json:"action"`
	SecondsSoFar float64 `json:"seconds_elapsed"`
	PercentDone  float64 `json:"percent_done"`
	TotalFiles   uint64  `json:"total_files"`
	FilesDone    uint64  `json:"files_done"`
	TotalBytes   uint64  `json:"total_bytes"`
	BytesDone    uint64  `json:"bytes_done"`
	ErrorCount   uint64  `json:"error_count"`
}

func (c *Counter) snapshot() Status {
	s := Status{MessageType: "status", Action: c.verb, SecondsSoFar: time.Since(c.start).Seconds(),
		TotalFiles: c.totalFiles.Load(), FilesDone: c.doneFiles.Load(), TotalBytes: c.totalBytes.Load(),
		BytesDone: c.doneBytes.Load(), ErrorCount: c.errors.Load()}
	if s.TotalBytes > 0 {
		s.PercentDone = min(1, float64(s.BytesDone)/float64(s.TotalBytes))
	}
	return s
}

func (c *Counter) emitStatus() { c.emit(c.snapshot()) }

func (c *Counter) emit(v any) {
	c.jsonMu.Lock()
	defer c.jsonMu.Unlock()
	b, _ := json.Marshal(v)
	c.w.Write(append(b, '\n'))
}

// SetTotals sets the totals (they may grow while a walk goes on).
func (c *Counter) SetTotals(files, bytes uint64) {
	c.totalFiles.Store(files)
	c.totalBytes.Store(bytes)
	if c.bar != nil {
		c.mu.Lock()
		c.bar.ChangeMax64(int64(bytes))
		c.mu.Unlock()
	}
}

// AddBytes records bytes done.
func (c *Counter) AddBytes(n uint64) {
	c.doneBytes.Add(n)
	if c.bar != nil {
		c.mu.Lock()
		_ = c.bar.Add64(int64(n))
		c.mu.Unlock()
	}
}

// AddFile records a finished file.
func (c *Counter) AddFile() {
	n := c.doneFiles.Add(1)
	if c.bar != nil && n%64 == 0 {
		c.mu.Lock()
		c.bar.Describe(fmt.Sprintf("%s: %d/%d files", c.verb, n, c.totalFiles.Load()))
		c.mu.Unlock()
	}
}

// Error reports an item error: on stderr-like output in bar mode, as an
// event in JSON mode.
func (c *Counter) Error(item string, err error) { c.itemError(item, err, true) }

// itemError counts an item error and emits its JSON event; in bar mode it
// prints the error line only where show is set.
func (c *Counter) itemError(item string, err error, show bool) {
	c.errors.Add(1)
	switch c.mode {
	case JSON:
		c.emit(map[string]any{"message_type": "error", "item": item, "error": err.Error()})
	case Bar:
		if !show {
			return
		}
		c.mu.Lock()
		_ = c.bar.Clear()
		// c.w is the terminal itself (the bar's own controls): the item is
		// a file name, and the error may quote one.
		fmt.Fprintf(c.w, "error: %s\n", Printable(item+": "+err.Error(), false))
		c.mu.Unlock()
	}
}

// Done stops rendering.
func (c *Counter) Done() {
	if c.mode == JSON {
		close(c.stop)
	}
	<-c.stopped
	if c.mode == JSON {
		c.emitStatus() // scripts always see at least one, final, status line
	}
	if c.bar != nil {
		c.mu.Lock()
		_ = c.bar.Finish()
		c.mu.Unlock()
	}
}

// Backup adapts a Counter to the archiver's events.
type Backup struct{ *Counter }

var _ archiver.ArchiveProgress = Backup{}

// Scanned implements archiver.ArchiveProgress.
func (b Backup) Scanned(files, bytes uint64) { b.SetTotals(files, bytes) }

// StartFile implements archiver.ArchiveProgress.
func (b Backup) StartFile(string) {}

// BytesRead implements archiver.ArchiveProgress.
func (b Backup) BytesRead(n uint64) { b.AddBytes(n) }

// CompleteItem implements archiver.ArchiveProgress. Unmodified files were
// not read, so their size counts as done here.
func (b Backup) CompleteItem(_ string, n *snapshot.Node, s archiver.ItemStatus, _ time.Duration) {
	if n == nil || n.Type != snapshot.TypeFile {
		return
	}
	if s == archiver.ItemUnmodified {
		b.AddBytes(uint64(n.Size))
	}
	b.AddFile()
}

// Restore adapts a Counter to the restorer's events.
type Restore struct{ *Counter }

var _ restorer.RestoreProgress = Restore{}

// Planned implements restorer.RestoreProgress.
func (r Restore) Planned(files, bytes uint64) { r.SetTotals(files, bytes) }

// BytesWritten implements restorer.RestoreProgress.
func (r Restore) BytesWritten(n uint64) { r.AddBytes(n) }

// Error implements restorer.RestoreProgress: it counts the error (and
// emits its JSON event) but prints no line on the terminal. The restore
// lists every error once when it ends, each file not restored with its
// cause; a line here too named each failed file twice, 600 lines for 300
// files to read through.
func (r Restore) Error(item string, err error) { r.itemError(item, err, false) }

// CompleteItem implements restorer.RestoreProgress.
func (r Restore) CompleteItem(_ string, n *snapshot.Node, _ bool) {
	if n != nil && n.Type == snapshot.TypeFile {
		r.AddFile()
	}
}
