//go:build linux

package prune_test

// Crash tests for prune (issue 11, "Tests must show"): a child process
// (this test binary, re-executed) opens the repository with a prune lock
// and runs prune.Run; the parent kills it with SIGKILL after a delay, or
// when the child reaches a chosen backend operation (the child's backend
// stops there and waits to be killed). After each kill the repository
// must check clean with --read-data, every kept snapshot must restore
// byte-identical, and two more prunes must complete and leave it so.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/checker"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

const (
	childModeEnv  = "CADANG_PRUNE_TEST_CHILD"
	childRepoEnv  = "CADANG_PRUNE_TEST_REPO"
	childHookEnv  = "CADANG_PRUNE_TEST_HOOK"
	childArgEnv   = "CADANG_PRUNE_TEST_ARG"     // mode-specific JSON
	childSlowEnv  = "CADANG_PRUNE_TEST_LATENCY" // added to every backend call
	killMaxUnused = 0.01                        // repack every partly used pack
	// killLatency makes the child's backend slow (as a remote one is), so
	// that delay kills spread over a run land at different steps.
	killLatency = 2 * time.Millisecond
)

// TestPruneHelperProcess is not a test: it is the body of the child
// processes of the crash and concurrency tests, and does nothing unless
// childModeEnv is set.
func TestPruneHelperProcess(t *testing.T) {
	mode := os.Getenv(childModeEnv)
	if mode == "" {
		t.Skip("helper process for the prune crash and concurrency tests")
	}
	switch mode {
	case "prune":
		childPrune(t)
	case "backuploop":
		childBackupLoop(t)
	case "forgetloop":
		childForgetLoop(t)
	default:
		fmt.Println("unknown mode", mode)
		os.Exit(5)
	}
	os.Exit(0)
}

// childPrune opens the repository with a prune lock through a backend that
// stops at the hook point (if any), says READY, prunes, and says DONE with
// the result.
func childPrune(t *testing.T) {
	ctx := context.Background()
	lb, err := local.Open(ctx, os.Getenv(childRepoEnv))
	if err != nil {
		fmt.Println("open backend:", err)
		os.Exit(2)
	}
	h := &hookBackend{}
	if spec := os.Getenv(childHookEnv); spec != "" {
		if h, err = parseHook(spec); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
	}
	h.Backend = lb
	if s := os.Getenv(childSlowEnv); s != "" {
		if h.latency, err = time.ParseDuration(s); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
	}
	var be backend.Backend = h
	r, err := repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.PruneLock})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	fmt.Println("READY")
	res, err := prune.Run(ctx, r, prune.Options{MaxUnused: killMaxUnused})
	if err != nil {
		fmt.Println("prune:", err)
		os.Exit(3)
	}
	if err := r.Close(); err != nil {
		fmt.Println("close:", err)
		os.Exit(3)
	}
	h.mu.Lock()
	ops, _ := json.Marshal(h.ops)
	h.mu.Unlock()
	fmt.Printf("OPS %s\n", ops)
	b, _ := json.Marshal(res)
	fmt.Printf("DONE %s\n", b)
}

// hookBackend stops (prints HOOK and sleeps until killed) before or after
// the n-th operation op on files of type typ.
type hookBackend struct {
	backend.Backend
	op    string // save, remove, load
	typ   backend.FileType
	n     int
	after bool
	// latency is slept before every call.
	latency time.Duration

	mu    sync.Mutex
	count int
	ops   childOps
}

// childOps counts a child's backend operations by "op:type" (save, remove
// and load), and orders them by their first.
type childOps struct {
	Counts map[string]int `json:"counts"`
	Order  []string       `json:"order"`
}

// before reports whether the first of operation x came before the first
// of y (x happened, y did not, or both did in that order).
func (o childOps) before(x, y string) bool {
	ix, iy := slices.Index(o.Order, x), slices.Index(o.Order, y)
	return ix >= 0 && (iy < 0 || ix < iy)
}

func parseHook(spec string) (*hookBackend, error) {
	f := strings.Split(spec, ":")
	if len(f) != 4 {
		return nil, fmt.Errorf("hook %q: want op:type:n:before|after", spec)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("hook %q: bad count", spec)
	}
	return &hookBackend{op: f[0], typ: backend.FileType(f[1]), n: n, after: f[3] == "after"}, nil
}

func (h *hookBackend) hit(op string, t backend.FileType) bool {
	h.slow()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ops.Counts == nil {
		h.ops.Counts = map[string]int{}
	}
	k := op + ":" + string(t)
	if h.ops.Counts[k] == 0 {
		h.ops.Order = append(h.ops.Order, k)
	}
	h.ops.Counts[k]++
	if op != h.op || t != h.typ {
		return false
	}
	h.count++
	return h.count == h.n
}

func (h *hookBackend) slow() {
	if h.latency > 0 {
		time.Sleep(h.latency)
	}
}

func (h *hookBackend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	h.slow()
	return h.Backend.List(ctx, t, fn)
}

func (h *hookBackend) Stat(ctx context.Context, hd backend.Handle) (backend.FileInfo, error) {
	h.slow()
	return h.Backend.Stat(ctx, hd)
}

func (h *hookBackend) stop(op string, hd backend.Handle) {
	fmt.Printf("HOOK %s %s\n", op, hd)
	time.Sleep(time.Hour) // until SIGKILL
}

func (h *hookBackend) Save(ctx context.Context, hd backend.Handle, data []byte) error {
	hit := h.hit("save", hd.Type)
	if hit && !h.after {
		h.stop("save", hd)
	}
	err := h.Backend.Save(ctx, hd, data)
	if hit {
		h.stop("save", hd)
	}
	return err
}

func (h *hookBackend) Remove(ctx context.Context, hd backend.Handle) error {
	hit := h.hit("remove", hd.Type)
	if hit && !h.after {
		h.stop("remove", hd)
	}
	err := h.Backend.Remove(ctx, hd)
	if hit {
		h.stop("remove", hd)
	}
	return err
}

func (h *hookBackend) Load(ctx context.Context, hd backend.Handle, offset, length int64) ([]byte, error) {
	hit := h.hit("load", hd.Type)
	if hit && !h.after {
		h.stop("load", hd)
	}
	b, err := h.Backend.Load(ctx, hd, offset, length)
	if hit {
		h.stop("load", hd)
	}
	return b, err
}

// child is a running helper process whose stdout is read line by line.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan error // the Wait result, once stdout is drained
	mu    sync.Mutex
	out   bytes.Buffer // everything it printed
}

func startHelper(t *testing.T, mode, dir string, extraEnv ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPruneHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childRepoEnv+"="+dir)
	cmd.Env = append(cmd.Env, extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024), done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{c: c}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			c.lines <- line
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(c.lines)
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range c.lines {
		}
	})
	return c
}

type lockedWriter struct{ c *child }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.out.Write(p)
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// waitLine waits for a line starting with prefix; ok is false when the
// child's output ended first.
func (c *child) waitLine(t *testing.T, prefix string, timeout time.Duration) (string, bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return "", false
			}
			if strings.HasPrefix(l, prefix) {
				return l, true
			}
		case <-deadline:
			t.Fatalf("no %q from the child within %v: %s", prefix, timeout, c.output())
		}
	}
}

// finish drains the output and returns the exit error.
func (c *child) finish(t *testing.T) error {
	t.Helper()
	for range c.lines {
	}
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not exit: %s", c.output())
		return nil
	}
}

func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if e, ok := err.(*exec.ExitError); ok {
		ee = e
	} else {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// pruneOutcome is how one child prune ended.
type pruneOutcome struct {
	killed  bool
	at      string        // the HOOK line, for hook kills
	elapsed time.Duration // READY to kill or DONE
	result  *prune.Result // when it finished
	ops     childOps      // its backend operations, when it finished
}

// runPruneChild runs a child prune on dir and kills it delay after READY
// (hook empty), or when it reports reaching the hook. A child that
// finishes first is reported as not killed.
func runPruneChild(t *testing.T, dir, hook string, delay time.Duration) pruneOutcome {
	t.Helper()
	var env []string
	if hook != "" {
		env = append(env, childHookEnv+"="+hook)
	} else {
		env = append(env, childSlowEnv+"="+killLatency.String())
	}
	c := startHelper(t, "prune", dir, env...)
	if _, ok := c.waitLine(t, "READY", 60*time.Second); !ok {
		t.Fatalf("child ended before READY: %v: %s", c.finish(t), c.output())
	}
	start := time.Now()
	var out pruneOutcome
	if hook == "" {
		timer := time.After(delay)
	wait:
		for {
			select {
			case l, ok := <-c.lines:
				if !ok {
					break wait
				}
				if strings.HasPrefix(l, "DONE ") {
					out.result = new(prune.Result)
					_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "DONE ")), out.result)
				}
				if strings.HasPrefix(l, "OPS ") {
					_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "OPS ")), &out.ops)
				}
			case <-timer:
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
				break wait
			}
		}
	} else {
		l, ok := c.waitLine(t, "HOOK", 60*time.Second)
		if ok {
			out.at = l
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	out.elapsed = time.Since(start)
	err := c.finish(t)
	switch {
	case killedBySIGKILL(err):
		out.killed = true
		if hook == "" {
			// It may have printed DONE just before the signal; it was
			// still killed before exiting.
			out.result = nil
		}
	case err != nil:
		t.Fatalf("child prune failed: %v: %s", err, c.output())
	default:
		if out.result == nil {
			for _, l := range strings.Split(c.output(), "\n") {
				if strings.HasPrefix(l, "DONE ") {
					out.result = new(prune.Result)
					_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "DONE ")), out.result)
				}
				if strings.HasPrefix(l, "OPS ") {
					_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "OPS ")), &out.ops)
				}
			}
		}
	}
	return out
}

// keptSnap is a snapshot that must survive, with the source at backup time.
type keptSnap struct {
	sn   *snapshot.Snapshot
	src  string
	want map[string]snapshottest.FileState
}

// checkAll runs the snapshot and repository check with --read-data and
// fails on any problem. Unindexed packs (left by a kill) are no problem.
func (e *env) checkAll() *checker.CheckReport {
	e.t.Helper()
	r := e.open(repo.SharedLock)
	defer r.Close()
	rep, err := checker.Check(context.Background(), r, repo.CheckOptions{ReadData: true})
	if err != nil {
		e.t.Fatalf("check --read-data: %v", err)
	}
	if !rep.OK() {
		e.t.Fatalf("check --read-data found problems: %v %v", rep.Problems, rep.Unsupported)
	}
	return rep
}

// removeStaleLocks removes the killed child's lock and fails if any lock
// is left (nothing else runs).
func (e *env) removeStaleLocks() int {
	e.t.Helper()
	r := e.open(repo.NoLock)
	defer r.Close()
	ctx := context.Background()
	removed, err := r.RemoveStaleLocks(ctx)
	if err != nil {
		e.t.Fatalf("remove stale locks: %v", err)
	}
	left, err := r.ListLocks(ctx)
	if err != nil || len(left) != 0 {
		e.t.Fatalf("locks left after removing the stale ones: %v %v", left, err)
	}
	return len(removed)
}

func (e *env) snapshotIDs() map[repo.ID]bool {
	e.t.Helper()
	r := e.open(repo.NoLock)
	defer r.Close()
	sns, err := snapshot.ListSnapshots(context.Background(), r, snapshot.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	ids := map[repo.ID]bool{}
	for _, sn := range sns {
		ids[sn.ID()] = true
	}
	return ids
}

// verifyKept checks the repository and restores every kept snapshot.
func (e *env) verifyKept(kept []keptSnap) *checker.CheckReport {
	e.t.Helper()
	rep := e.checkAll()
	ids := e.snapshotIDs()
	if len(ids) != len(kept) {
		e.t.Fatalf("%d snapshots in the repository, want %d", len(ids), len(kept))
	}
	for _, k := range kept {
		if !ids[k.sn.ID()] {
			e.t.Fatalf("kept snapshot %s is gone", k.sn.ID().Short())
		}
		e.restoreEqual(k.sn, k.src, k.want)
	}
	return rep
}

// killDay writes the source for day n: files that change every day, every
// two, three and five days, and one that never changes, so that a prune
// keeping the last days finds packs that are partly used and repacks them.
func killDay(t *testing.T, src string, n int) map[string]snapshottest.FileState {
	t.Helper()
	files := []struct {
		name string
		seed uint64
		size int
	}{
		{"tetap.bin", 1, 1100 << 10}, // day 0 writes a pack of it alone
		{"a/dua.bin", uint64(1000 + n/2), 140 << 10},
		{"a/tiga.bin", uint64(2000 + n/3), 120 << 10},
		{"b/lima.bin", uint64(4000 + n/5), 130 << 10},
		{"b/harian.bin", uint64(100 + n), 150 << 10},
		{"b/kecil.txt", uint64(7000 + n), 3 << 10},
	}
	for _, f := range files {
		p := filepath.Join(src, f.name)
		os.Remove(p)
		snapshottest.WriteFile(t, p, snapshottest.RandBytes(f.seed, f.size))
	}
	return snapshottest.ScanTree(t, src)
}

// copyTree copies a repository directory (files keep their modes).
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, fi.Mode().Perm()|0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// killTemplate is a repository state that every kill case starts from
// (each on its own copy).
type killTemplate struct {
	dir  string
	kept []keptSnap
}

// makeKillTemplates builds two states: "A", eight days backed up and all
// but the last two forgotten (phase A has unused and partly used packs);
// "B", A after one prune (a ready obsolete set) with the seventh day
// forgotten too (phase B has packs to delete, phase A more to mark).
func makeKillTemplates(t *testing.T) (a, b killTemplate) {
	t.Helper()
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	var sns []*snapshot.Snapshot
	var wants []map[string]snapshottest.FileState
	for n := range 8 {
		wants = append(wants, killDay(t, src, n))
		sns = append(sns, e.backup(src))
	}
	e.forget(sns[:6]...)
	a = killTemplate{dir: filepath.Join(t.TempDir(), "template-a"),
		kept: []keptSnap{{sns[6], src, wants[6]}, {sns[7], src, wants[7]}}}
	copyTree(t, e.dir, a.dir)

	res := e.prune(prune.Options{MaxUnused: killMaxUnused})
	if res.MarkedUnused.Packs == 0 || res.MarkedRepacked.Packs == 0 {
		t.Fatalf("template prune marked %+v unused and %+v repacked; want both", res.MarkedUnused, res.MarkedRepacked)
	}
	e.forget(sns[6])
	b = killTemplate{dir: filepath.Join(t.TempDir(), "template-b"),
		kept: []keptSnap{{sns[7], src, wants[7]}}}
	copyTree(t, e.dir, b.dir)
	return a, b
}

// TestPruneKilled kills a child prune at many points: after delays spread
// over a whole run and at chosen backend operations of marking, repacking,
// marking obsolete, index rewriting and deletion. After each kill the
// repository checks clean, every kept snapshot restores byte-identical,
// and two more prunes complete and leave it so.
func TestPruneKilled(t *testing.T) {
	start := time.Now()
	a, b := makeKillTemplates(t)

	type kcase struct {
		tmpl  *killTemplate
		name  string
		hook  string
		delay float64 // share of a calibrated full run, for delay kills
	}
	var cases []kcase
	// Delay kills, spread over a run of each template (READY to DONE),
	// measured first on a copy.
	fractions := []float64{0, 0.15, 0.3, 0.5, 0.7, 0.9}
	if testing.Short() {
		fractions = []float64{0.1, 0.5, 0.9}
	}
	for _, f := range fractions {
		cases = append(cases, kcase{tmpl: &a, name: fmt.Sprintf("A/delay-%.0f%%", f*100), delay: f})
	}
	for i, f := range fractions {
		if i%2 == 1 || testing.Short() {
			cases = append(cases, kcase{tmpl: &b, name: fmt.Sprintf("B/delay-%.0f%%", f*100), delay: f})
		}
	}
	// Hook kills. Phase A on template A: repacking reads packs, writes new
	// ones, indexes them, then writes the obsolete file.
	for _, h := range []string{
		"load:snapshots:1:after", // marking: listing the snapshots
		"load:data:3:after",      // marking trees / repack reads
		"save:data:1:before",     // repack: before its first new pack
		"save:data:1:after",      // repack: a new pack, not indexed
		"save:index:1:before",    // repack: packs written, index not
		"save:index:1:after",     // repack indexed, nothing obsolete yet
		"save:obsolete:1:before", // MarkObsolete
		"save:obsolete:1:after",  // obsolete file written, run not closed
	} {
		cases = append(cases, kcase{tmpl: &a, name: "A/" + h, hook: h})
	}
	// Phase B on template B: DropPacks rewrites index files (new one first,
	// then the old one removed), RemovePack deletes, RemoveObsolete last;
	// then phase A of the same run marks the forgotten seventh day.
	for _, h := range []string{
		"save:index:1:after",    // first rewritten index saved, old kept
		"remove:index:1:before", // rewritten, old one not removed
		"remove:index:1:after",  // one index file replaced
		"remove:data:1:before",  // index rewritten, no pack deleted
		"remove:data:1:after",   // first pack deleted
		"remove:data:3:after",   // some packs deleted
		"remove:obsolete:1:before",
		"remove:obsolete:1:after", // set gone; phase A not yet done
		"save:obsolete:1:after",   // phase A of the same run marked
	} {
		cases = append(cases, kcase{tmpl: &b, name: "B/" + h, hook: h})
	}
	if testing.Short() {
		// Keep one of each kind of point.
		var short []kcase
		for _, c := range cases {
			switch c.hook {
			case "", "save:data:1:after", "save:index:1:after", "save:obsolete:1:after", "remove:data:1:after", "remove:obsolete:1:before":
				short = append(short, c)
			}
		}
		cases = short
	}

	// Calibrate: a full child run on a copy of each template.
	runTime := map[*killTemplate]time.Duration{}
	ops := map[*killTemplate]childOps{}
	calibrate := func(tm *killTemplate) {
		dir := filepath.Join(t.TempDir(), "calibrate")
		copyTree(t, tm.dir, dir)
		out := runPruneChild(t, dir, "", time.Minute)
		if out.killed || out.result == nil {
			t.Fatalf("calibration run did not finish: %+v", out)
		}
		runTime[tm], ops[tm] = out.elapsed, out.ops
		t.Logf("calibration on %s: prune took %v, made %v in the order %v: %+v", filepath.Base(tm.dir), out.elapsed, out.ops.Counts, out.ops.Order, *out.result)
	}
	calibrate(&a)
	calibrate(&b)
	if !ops[&b].before("save:index", "remove:data") {
		// Which blobs share a pack, and so which packs an index file
		// lists, depends on how the backups' savers interleaved. Where
		// every index file B's set touches lists only packs of the set,
		// phase B removes them and saves none, and the cases at its index
		// saves would have nothing to kill at (or would kill in phase
		// A's repack: phase B rewrites the index before it deletes a
		// pack, so an index saved first is phase B's). One index of all
		// packs makes phase B rewrite it.
		e := &env{t: t, dir: b.dir}
		r := e.open(repo.ExclusiveLock)
		if _, _, err := r.RebuildIndex(context.Background(), t.Logf); err != nil {
			t.Fatal(err)
		}
		r.Close()
		t.Logf("template B: phase B saved no index; its index rebuilt as one file")
		calibrate(&b)
		if !ops[&b].before("save:index", "remove:data") {
			t.Fatalf("template B with its index rebuilt as one file: phase B still saves no index (%v)", ops[&b].Order)
		}
	}
	for _, c := range cases {
		if c.hook == "" {
			continue
		}
		f := strings.Split(c.hook, ":")
		n, _ := strconv.Atoi(f[2])
		if got := ops[c.tmpl].Counts[f[0]+":"+f[1]]; got < n {
			t.Fatalf("case %s: a whole prune of its template makes %d %s of %s files, so it has nothing to kill at", c.name, got, f[0], f[1])
		}
	}

	kills := 0
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			e := &env{t: t, dir: filepath.Join(t.TempDir(), "repo")}
			copyTree(t, c.tmpl.dir, e.dir)
			delay := time.Duration(c.delay * float64(runTime[c.tmpl]))
			out := runPruneChild(t, e.dir, c.hook, delay)
			if c.hook != "" && !out.killed {
				if out.result != nil {
					t.Fatalf("the child never reached %s: it ended after %v with %+v", c.hook, out.elapsed, *out.result)
				}
				t.Fatalf("the child never reached %s: %+v", c.hook, out)
			}
			if out.killed {
				kills++
			}
			stale := e.removeStaleLocks()
			if stale > 1 {
				t.Errorf("removed %d stale locks after the kill, want at most the child's one", stale)
			}
			rep := e.verifyKept(c.tmpl.kept)
			first := e.prune(prune.Options{MaxUnused: killMaxUnused})
			second := e.prune(prune.Options{MaxUnused: killMaxUnused})
			after := e.verifyKept(c.tmpl.kept)
			t.Logf("killed=%v %s after %v; then %d packs (%d unindexed); next prunes deleted %d+%d, marked %d+%d; then %d packs (%d unindexed)",
				out.killed, out.at, out.elapsed.Round(time.Millisecond), rep.Packs.Packs, len(rep.Packs.UnindexedPacks),
				first.Deleted.Packs, second.Deleted.Packs,
				first.MarkedUnused.Packs+first.MarkedRepacked.Packs+first.Orphans.Packs,
				second.MarkedUnused.Packs+second.MarkedRepacked.Packs+second.Orphans.Packs,
				after.Packs.Packs, len(after.Packs.UnindexedPacks))
		})
		if !ok && !testing.Verbose() {
			break
		}
	}
	t.Logf("%d of %d cases killed the child; %v in all", kills, len(cases), time.Since(start).Round(time.Millisecond))
	if min := 15; !testing.Short() && kills < min {
		t.Errorf("only %d kills, want at least %d", kills, min)
	}
}
