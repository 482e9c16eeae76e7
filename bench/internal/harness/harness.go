// Package harness holds cadang's benchmark suite: the end-to-end comparison
// with restic, borg and kopia on a generated LPSE-like dataset (Run, used by
// bench/cmd/peerbench and by the quick-mode test), and the chunk-size study
// (ChunkStudy, used by bench/cmd/chunkstudy). See bench/README.md.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/bench/internal/dataset"
)

// Options configure a benchmark run.
type Options struct {
	WorkDir string  // everything goes here: dataset, repositories, restores, logs
	Scale   float64 // dataset scale (1.0 ~ 1 GB)
	Seed    uint64
	Runs    int      // repetitions; medians are reported
	Tools   []string // subset and order of "cadang", "restic", "borg", "kopia"; empty: all available

	// Cadang selects the cadang binary: "auto" builds ./cmd/cadang from
	// ModuleRoot and skips cadang (with a note) if that fails; "off" skips
	// it; "build" builds it and fails if that fails; anything else is the
	// path of a binary.
	Cadang     string
	ModuleRoot string
	// CadangEnv is extra environment for cadang's commands, e.g.
	// GOMAXPROCS=1 for the scaling curve.
	CadangEnv []string
	// CadangExtra names more cadang binaries, as NAME=PATH, that run as
	// additional tools called NAME, with CadangEnv, e.g.
	// "cadang-old=/tmp/cadang-29c61e1" to compare two builds: the report's
	// cadang/NAME columns are then after/before ratios. They run whatever
	// Tools says.
	CadangExtra []string
	// Restic is the restic binary; empty: ResticBinary's choice
	// (GOPATH/bin/restic from `go install ...@v0.19.1`, else PATH).
	Restic string

	Install    bool // apt-get install restic/borgbackup when missing
	DropCaches bool // drop the page cache before every timed step (needs root)
	// EvictInput, without DropCaches, drops only the step's input from the
	// page cache before each timed step (every file's pages, with
	// POSIX_FADV_DONTNEED): a cold read of the source or the repository,
	// as a nightly backup or a restore meets it, on a machine whose other
	// users' caches must stay (directory entries and inodes stay cached).
	EvictInput bool
	KeepRepos  bool // keep repositories after the run

	BorgCompression string // default "zstd,3"
	BorgEncryption  string // default "repokey"

	StepTimeout time.Duration // per step; default 30 minutes
	Log         io.Writer     `json:"-"` // progress; nil for none

	toolsExplicit bool
	day1          dataset.Manifest
	gnuTime       string // path of GNU time, "" if none
}

// Measure is one timed step of one tool in one run.
type Measure struct {
	// Run is the run this measure belongs to (0-based): ratios between
	// tools are taken between measures of the same run.
	Run    int     `json:"run"`
	Wall   float64 `json:"wall_s"`
	User   float64 `json:"user_s"`
	Sys    float64 `json:"sys_s"`
	MaxRSS int64   `json:"max_rss_kib"` // ru_maxrss of the child, as GNU time -v reports it
	Err    string  `json:"error,omitempty"`
	// RepoBytes is the repository size after the step (apparent bytes of all
	// files, like du -sb).
	RepoBytes int64 `json:"repo_bytes,omitempty"`
	// Verified is set for the restore step: the restored tree equals the
	// source byte for byte (and in file type and permission bits).
	Verified *bool `json:"verified,omitempty"`
	// Load1 is the 1-minute load average just before the step: a value
	// well above zero means something else was using the machine.
	Load1 float64  `json:"load1"`
	Diffs []string `json:"diffs,omitempty"`
	// Position is the tool's place (1-based) in its run's rotated order:
	// the report shows it beside each per-run ratio, so that an effect of
	// going first (or after another tool) can be told from the tool's.
	Position int `json:"position"`
}

// CPU is user + system time.
func (m Measure) CPU() float64 { return m.User + m.Sys }

// Result is the outcome of Run.
type Result struct {
	Options       Options                       `json:"options"`
	Started       time.Time                     `json:"started"`
	Elapsed       float64                       `json:"elapsed_s"`
	Host          HostInfo                      `json:"host"`
	Dataset       DatasetInfo                   `json:"dataset"`
	Tools         []ToolInfo                    `json:"tools"`
	Measures      map[string]map[Step][]Measure `json:"measures"` // tool -> step -> runs
	CachesDropped bool                          `json:"caches_dropped"`
	InputEvicted  bool                          `json:"input_evicted,omitempty"`
	Notes         []string                      `json:"notes"`
}

// HostInfo describes the machine.
type HostInfo struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemGiB    float64 `json:"mem_gib"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go"`
}

// DatasetInfo describes the dataset.
type DatasetInfo struct {
	Scale      float64       `json:"scale"`
	Seed       uint64        `json:"seed"`
	Day0Bytes  int64         `json:"day0_bytes"`
	Day0Files  int           `json:"day0_files"`
	Day0Digest string        `json:"day0_digest"`
	Day1Bytes  int64         `json:"day1_bytes"`
	Day1Files  int           `json:"day1_files"`
	Day1Digest string        `json:"day1_digest"`
	Day1       dataset.Stats `json:"day1_mutation"`
	GenSeconds float64       `json:"generate_s"`
}

// ToolInfo describes a tool that took part.
type ToolInfo struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Bin      string `json:"bin"`
	Settings string `json:"settings"`
}

func (o *Options) defaults() {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Runs <= 0 {
		o.Runs = 1
	}
	if o.Cadang == "" {
		o.Cadang = "auto"
	}
	if o.BorgCompression == "" {
		o.BorgCompression = "zstd,3"
	}
	if o.BorgEncryption == "" {
		o.BorgEncryption = "repokey"
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.toolsExplicit = len(o.Tools) > 0
	if len(o.Tools) == 0 {
		o.Tools = []string{"cadang", "restic", "borg", "kopia"}
	}
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Run runs the benchmark and returns the measurements. It fails only when
// the harness itself cannot work (no dataset, no tool at all); a tool step
// that fails is recorded in its Measure and the tool skips the rest of that
// run.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.WorkDir == "" {
		return nil, errors.New("harness: WorkDir is required")
	}
	work, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return nil, err
	}
	res := &Result{Options: o, Started: time.Now(), Measures: map[string]map[Step][]Measure{}, Host: hostInfo()}
	for _, d := range []string{"bin", "repos", "restore", "home", "logs"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}

	tools, notes := o.findTools(ctx, filepath.Join(work, "bin"))
	for _, n := range notes {
		if strings.HasPrefix(n, "FATAL ") {
			return res, errors.New(strings.TrimPrefix(n, "FATAL "))
		}
	}
	res.Notes = append(res.Notes, notes...)
	if len(tools) == 0 {
		return res, errors.New("harness: no tool to run (install restic/borgbackup, or build cadang)")
	}
	for _, t := range tools {
		res.Tools = append(res.Tools, ToolInfo{Name: t.Name, Version: t.version, Bin: t.bin, Settings: t.Settings})
		res.Measures[t.Name] = map[Step][]Measure{}
	}

	o.gnuTime = findGNUTime()
	if o.gnuTime == "" && o.Install {
		if err := aptInstall(ctx, []string{"time"}); err == nil {
			o.gnuTime = findGNUTime()
		}
	}
	if o.gnuTime == "" {
		res.Notes = append(res.Notes, "GNU time (/usr/bin/time) not found: peak RSS is taken from wait4 directly and "+
			"includes the harness's own RSS at fork, so small values are overstated (apt-get install time)")
	}
	if o.DropCaches {
		if err := dropCaches(); err != nil {
			o.DropCaches = false
			res.Notes = append(res.Notes, fmt.Sprintf("page cache could not be dropped (%v): each step's input is read once before the step, "+
				"so every tool starts with it cached", err))
		} else {
			res.CachesDropped = true
		}
	} else if o.EvictInput {
		res.InputEvicted = true
		res.Notes = append(res.Notes, "-evict-input: before each step the pages of the step's input (the source tree for a backup, "+
			"the repository for a restore or check) are dropped from the page cache file by file (POSIX_FADV_DONTNEED), so every tool "+
			"reads its input from the disk; directory entries and inodes stay cached, and nothing else on the machine is dropped")
	} else {
		res.Notes = append(res.Notes, "page cache not dropped between steps (-drop-caches=false): before each step the step's input "+
			"(the source tree for a backup, the repository for a restore or check) is read once, so every tool starts with it cached")
	}

	if dev, ok := ext4WithoutJournal(work); ok {
		n := fmt.Sprintf("the work directory is on ext4 without a journal (%s): its inode allocator passes over every inode "+
			"freed in the last 1-6 minutes, one by one, so a restore made soon after a deletion on that file system (by anyone) "+
			"spends seconds more in the kernel; restore times here vary with what the machine deleted before them "+
			"(bench/README.md, \"Round two, eighteenth session\", measures on a journaled ext4 instead)", dev)
		o.logf("note: %s", n)
		res.Notes = append(res.Notes, n)
	}

	// The dataset: reuse a matching day-0 tree, else generate.
	src := filepath.Join(work, "src")
	if err := o.prepareDataset(src, res); err != nil {
		return res, err
	}

	// Restored trees are kept until every run is done (see keepRestored).
	kept := filepath.Join(work, "restore-kept")
	deleteKept := func() {
		if _, err := os.Stat(kept); err != nil {
			return
		}
		o.logf("deleting the kept restored trees in %s", kept)
		os.RemoveAll(kept)
		os.WriteFile(filepath.Join(work, bulkDeleteMark), []byte(time.Now().Format(time.RFC3339)), 0o644)
	}
	deleteKept() // an earlier invocation's, if it was interrupted
	defer deleteKept()
	for run := 0; run < o.Runs; run++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		o.logf("run %d/%d", run+1, o.Runs)
		if free, need := freeBytes(work), 2*int64(len(tools))*DirBytes(src); free >= 0 && free < need {
			// Not enough room for another run's trees: delete the kept
			// ones now. A run's backups take less than inodeQuarantine,
			// so this run's restores will pay for it; the report says so.
			deleteKept()
			res.Notes = append(res.Notes, fmt.Sprintf("run %d: restored trees deleted before the run for lack of disk space "+
				"(%.1f GB free); on ext4 without a journal its restores pay for that deletion", run+1, float64(free)/1e9))
		}
		if _, err := dataset.SyncTo(src, 0); err != nil {
			return res, err
		}
		// Rotate the order of tools between runs so none always goes first.
		order := append([]*Tool(nil), tools[run%len(tools):]...)
		order = append(order, tools[:run%len(tools)]...)
		// Step-major order: every tool does a step before any tool does the
		// next, so that the measures compared for a step are minutes, not
		// a quarter of an hour, apart (this shared VM's speed drifts).
		failed := map[string]bool{}
		envs := map[string]*toolEnv{}
		for _, t := range order {
			envs[t.Name] = o.resetTool(work, t, src)
		}
		runStep := func(t *Tool, s Step) {
			if failed[t.Name] {
				return
			}
			e := envs[t.Name]
			if s == StepRestore {
				o.awaitQuarantine(ctx, work)
			}
			m := o.step(ctx, work, run, t, e, s)
			m.Run = run
			m.Position = slices.Index(order, t) + 1
			if s == StepRestore {
				if m.Err == "" {
					o.verify(e, res, &m)
				}
				if err := keepRestored(e.restore, filepath.Join(kept, fmt.Sprintf("run%d-%s", run+1, t.Name))); err != nil {
					res.Notes = append(res.Notes, fmt.Sprintf("run %d: %s's restored tree could not be moved aside (%v) "+
						"and was deleted; the next restore may pay for that", run+1, t.Name, err))
				}
			}
			res.Measures[t.Name][s] = append(res.Measures[t.Name][s], m)
			failed[t.Name] = m.Err != ""
		}
		for _, s := range []Step{StepInit, StepBackup, StepRerun} {
			for _, t := range order {
				runStep(t, s)
			}
		}
		if _, err := dataset.SyncTo(src, 1); err != nil {
			return res, err
		}
		for _, s := range []Step{StepDay1, StepRestore, StepCheck} {
			for _, t := range order {
				runStep(t, s)
			}
		}
		if !o.KeepRepos {
			for _, t := range tools {
				os.RemoveAll(filepath.Join(work, "repos", t.Name))
			}
		}
	}
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(res.Started).Seconds()
	return res, nil
}

func (o *Options) prepareDataset(src string, res *Result) error {
	start := time.Now()
	want := dataset.Config{Seed: o.Seed, Scale: o.Scale}
	if c, _, err := dataset.ReadConfig(src); err == nil && c.Seed == want.Seed && c.Scale == want.Scale &&
		c.ChangeFrac == dataset.DefaultChangeFrac && c.OldShare == dataset.DefaultOldShare && c.RecentFrac == dataset.DefaultRecentFrac &&
		c.AppendFrac == dataset.DefaultAppendFrac {
		o.logf("reusing the dataset in %s", src)
	} else {
		if err := os.RemoveAll(src); err != nil {
			return err
		}
		o.logf("generating the dataset (scale %g, seed %d) in %s", o.Scale, o.Seed, src)
		if _, err := dataset.Generate(src, want); err != nil {
			return fmt.Errorf("generating the dataset: %w", err)
		}
	}
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return err
	}
	res.Dataset.GenSeconds = time.Since(start).Seconds()
	m0, err := dataset.HashTree(src)
	if err != nil {
		return err
	}
	st, err := dataset.SyncTo(src, 1)
	if err != nil {
		return err
	}
	m1, err := dataset.HashTree(src)
	if err != nil {
		return err
	}
	res.Dataset = DatasetInfo{Scale: o.Scale, Seed: o.Seed, GenSeconds: res.Dataset.GenSeconds,
		Day0Bytes: m0.Bytes(), Day0Files: m0.Files(), Day0Digest: m0.Digest(true),
		Day1Bytes: m1.Bytes(), Day1Files: m1.Files(), Day1Digest: m1.Digest(true), Day1: st}
	o.day1 = m1
	o.logf("dataset: day 0 %.1f MB in %d files; day 1 changes %d dump rows (%.2f%%), appends %d, documents +%d ~%d -%d",
		float64(m0.Bytes())/1e6, m0.Files(), st.Dump.TotalChanged(), 100*float64(st.Dump.TotalChanged())/float64(st.Dump.TotalRows()),
		st.RowsAdded, st.DocsAdded, st.DocsMod, st.Deleted)
	return nil
}

// findTools locates (and if asked installs or builds) the tools.
func (o *Options) findTools(ctx context.Context, binDir string) ([]*Tool, []string) {
	var tools []*Tool
	var notes []string
	want := map[string]bool{}
	for _, n := range o.Tools {
		want[n] = true
	}
	var missing []string
	if want["restic"] && o.Restic == "" && ResticBinary("") == "" {
		missing = append(missing, "restic")
	}
	if _, err := exec.LookPath("borg"); err != nil && want["borg"] {
		missing = append(missing, "borgbackup")
	}
	if len(missing) > 0 && o.Install {
		o.logf("installing %s with apt-get", strings.Join(missing, " "))
		if err := aptInstall(ctx, missing); err != nil {
			notes = append(notes, fmt.Sprintf("apt-get install %s failed: %v", strings.Join(missing, " "), err))
		}
	}
	for _, n := range o.Tools {
		switch n {
		case "cadang":
			bin, note := o.cadangBinary(ctx, binDir)
			if note != "" {
				notes = append(notes, note)
			}
			if bin != "" {
				t := cadangTool(bin)
				t.version = toolVersion(bin, "--version")
				if strings.Contains(t.version, "No help topic") || t.version == "unknown" {
					t.version = toolVersion(bin, "version")
				}
				tools = append(tools, t)
			}
		case "restic":
			bin := ResticBinary(o.Restic)
			if _, err := os.Stat(bin); bin != "" && err == nil {
				t := resticTool(bin)
				t.version = toolVersion(bin, "version")
				tools = append(tools, t)
				if !strings.Contains(t.version, "restic "+ResticRelease+" ") {
					notes = append(notes, fmt.Sprintf("restic is %q, not %s (go install github.com/restic/restic/cmd/restic@v%s, or -restic PATH)",
						t.version, ResticRelease, ResticRelease))
				}
			} else {
				notes = append(notes, fmt.Sprintf("restic not found (%q; go install github.com/restic/restic/cmd/restic@v%s or apt-get install restic): skipped",
					o.Restic, ResticRelease))
			}
		case "borg":
			if bin, err := exec.LookPath("borg"); err == nil {
				t := borgTool(bin, o.BorgCompression, o.BorgEncryption)
				t.version = toolVersion(bin, "--version")
				tools = append(tools, t)
			} else {
				notes = append(notes, "borg not found on PATH (apt-get install borgbackup): skipped")
			}
		case "kopia":
			if bin, err := exec.LookPath("kopia"); err == nil {
				t := kopiaTool(bin)
				t.version = toolVersion(bin, "--version")
				tools = append(tools, t)
				notes = append(notes, "kopia support in the harness has not been tried against a real kopia binary yet")
			} else if o.toolsExplicit {
				notes = append(notes, "kopia not found on PATH: skipped")
			}
		default:
			notes = append(notes, fmt.Sprintf("unknown tool %q ignored", n))
		}
	}
	for _, kv := range o.CadangExtra {
		name, bin, ok := strings.Cut(kv, "=")
		taken := name == "cadang" || name == "restic" || name == "borg" || name == "kopia"
		for _, t := range tools {
			taken = taken || t.Name == name
		}
		if !ok || name == "" || taken || strings.ContainsAny(name, "/ \t") {
			notes = append(notes, fmt.Sprintf("FATAL extra cadang %q: want NAME=PATH with a new NAME without / or spaces", kv))
			continue
		}
		abs, err := filepath.Abs(bin)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("FATAL extra cadang %s: %v", name, err))
			continue
		}
		t := cadangTool(abs)
		t.Name, t.Settings = name, "defaults (extra cadang build)"
		if len(o.CadangEnv) > 0 {
			t.Settings += "; environment " + strings.Join(o.CadangEnv, " ")
		}
		if t.version = toolVersion(abs, "--version"); strings.Contains(t.version, "No help topic") || t.version == "unknown" {
			t.version = toolVersion(abs, "version")
		}
		tools = append(tools, t)
	}
	return tools, notes
}

func aptInstall(ctx context.Context, pkgs []string) error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	up := exec.CommandContext(ctx, "apt-get", "update", "-q")
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v: %s", err, tail(string(out), 5))
	}
	in := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q"}, pkgs...)...)
	in.Env = env
	if out, err := in.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, tail(string(out), 5))
	}
	return nil
}

// cadangBinary returns the cadang binary to use, or "" and why not.
func (o *Options) cadangBinary(ctx context.Context, binDir string) (string, string) {
	switch o.Cadang {
	case "off":
		return "", ""
	case "auto", "build":
		root := o.ModuleRoot
		if root == "" {
			root = findModuleRoot()
		}
		if root == "" {
			return "", "cadang skipped: module root not found (run from the repository or pass -src)"
		}
		bin := filepath.Join(binDir, "cadang")
		o.logf("building cadang from %s", filepath.Join(root, "cmd", "cadang"))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/cadang")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := fmt.Sprintf("cadang skipped: go build ./cmd/cadang failed: %v: %s", err, tail(string(out), 4))
			if o.Cadang == "build" {
				return "", "FATAL " + msg
			}
			return "", msg
		}
		return bin, ""
	default:
		if _, err := os.Stat(o.Cadang); err != nil {
			return "", fmt.Sprintf("cadang skipped: %v", err)
		}
		abs, _ := filepath.Abs(o.Cadang)
		return abs, ""
	}
}

// findModuleRoot walks up from the working directory to the go.mod of
// github.com/lpse/cadang.
func findModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/lpse/cadang\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// resetTool gives a tool an empty repository, restore target and HOME.
func (o *Options) resetTool(work string, t *Tool, src string) *toolEnv {
	e := o.toolEnv(work, t, src)
	os.RemoveAll(e.repo)
	os.RemoveAll(e.home)
	os.RemoveAll(e.restore)
	os.MkdirAll(e.home, 0o755)
	os.MkdirAll(filepath.Dir(e.repo), 0o755)
	return e
}

func (o *Options) toolEnv(work string, t *Tool, src string) *toolEnv {
	return &toolEnv{
		bin:     t.bin,
		repo:    filepath.Join(work, "repos", t.Name),
		home:    filepath.Join(work, "home", t.Name),
		src:     src,
		restore: filepath.Join(work, "restore", t.Name),
	}
}

// step runs and measures one step.
func (o *Options) step(ctx context.Context, work string, run int, t *Tool, e *toolEnv, s Step) Measure {
	var m Measure
	if s == StepRestore {
		os.RemoveAll(e.restore)
		if err := os.MkdirAll(e.restore, 0o755); err != nil {
			m.Err = err.Error()
			return m
		}
	}
	argvs, dir, err := t.cmds(e, s)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	env := o.stepEnv(t, e)
	logPath := filepath.Join(work, "logs", fmt.Sprintf("run%d-%s-%s.log", run+1, t.Name, strings.NewReplacer(" ", "-", "/", "").Replace(string(s))))
	logf, err := os.Create(logPath)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	defer logf.Close()
	if o.DropCaches {
		if err := dropCaches(); err != nil {
			o.logf("dropping caches failed: %v", err)
		}
	} else {
		// Warm means warm for everyone: borg drops from the page cache
		// what it reads and writes (so do cadang's saved packs), and the
		// tool after it used to read the whole source from disk. Measured
		// 2026-11-27: cadang's first backup took 6.4-8.0 s right after
		// borg's and 4.2-4.9 s otherwise.
		input := e.src
		if s == StepRestore || s == StepCheck {
			input = e.repo
		}
		if o.EvictInput {
			evictTree(input)
		} else {
			readTree(input)
		}
		// Write back what the previous step left dirty (a restore leaves a
		// gigabyte), and let the disk go quiet, so that no tool pays for
		// another's writeback or for the discards of deleted repositories.
		settle()
	}
	m.Load1 = loadAvg()
	for _, argv := range argvs {
		if err := o.measureArgv(ctx, argv, env, dir, logf, logPath, &m); err != nil {
			break
		}
	}
	if s != StepRestore && s != StepCheck {
		m.RepoBytes = DirBytes(e.repo)
	}
	status := "ok"
	if m.Err != "" {
		status = "FAILED: " + m.Err
	}
	o.logf("  %-7s %-18s wall %7.2fs  cpu %7.2fs  rss %6.0f MiB  load %4.1f  %s", t.Name, s, m.Wall, m.CPU(), float64(m.MaxRSS)/1024, m.Load1, status)
	return m
}

// stepEnv is the environment of a tool's commands: a private HOME and
// caches, the tool's own variables, and CadangEnv for a cadang build.
func (o *Options) stepEnv(t *Tool, e *toolEnv) []string {
	env := append(os.Environ(), "HOME="+e.home, "XDG_CACHE_HOME="+filepath.Join(e.home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"), "LC_ALL=C.UTF-8")
	env = append(env, t.env(e)...)
	if t.cadang {
		env = append(env, o.CadangEnv...)
	}
	return env
}

// measureArgv runs one command line with its output in logf and adds its
// wall time, CPU time and peak RSS to m (the RSS is the maximum). On
// failure it sets m.Err, with the tail of the log at logPath, and returns
// the error.
func (o *Options) measureArgv(ctx context.Context, argv, env []string, dir string, logf *os.File, logPath string, m *Measure) error {
	fmt.Fprintf(logf, "$ %s\n", strings.Join(argv, " "))
	name := filepath.Base(argv[0])
	timeFile := logPath + ".time"
	if o.gnuTime != "" {
		// GNU time is a small process: its child's ru_maxrss is the
		// tool's own. (A child forked straight from this Go process
		// would inherit this process's high-water RSS through exec.)
		os.Remove(timeFile)
		argv = append([]string{o.gnuTime, "-f", "%e %U %S %M", "-o", timeFile}, argv...)
	}
	cctx, cancel := context.WithTimeout(ctx, o.StepTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	start := time.Now()
	err := cmd.Run()
	m.Wall += time.Since(start).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		m.User += ps.UserTime().Seconds()
		m.Sys += ps.SystemTime().Seconds()
		if o.gnuTime != "" {
			m.MaxRSS = max(m.MaxRSS, gnuTimeRSS(timeFile))
		} else if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			m.MaxRSS = max(m.MaxRSS, int64(ru.Maxrss))
		}
	}
	if err != nil {
		logf.Sync()
		b, _ := os.ReadFile(logPath)
		m.Err = fmt.Sprintf("%s: %v: %s", name, err, tail(string(b), 6))
	}
	return err
}

// keepRestored moves a verified restore out of the way instead of deleting
// it, and drops its pages from the page cache.
//
// Deleting the tree here would charge the next tool's restore: ext4
// without a journal (this project's VM) will not reuse an inode within 60 s
// of its deletion, or 360 s when the inode table block is dirty at the time
// of the allocation (which a restore creating inodes in it makes it), and
// finds that out by looking at each candidate in turn, so the next
// restore's 25,000 creations each walked past thousands of just-freed
// inodes. That cost 2-3 times the system time of a restore, paid by
// whichever tool restored second or third (see bench/README.md).
func keepRestored(dir, to string) error {
	syscall.Sync() // pages must be clean to be dropped
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
				unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
				unix.Close(fd)
			}
		}
		return nil
	})
	os.MkdirAll(filepath.Dir(to), 0o755)
	if err := os.Rename(dir, to); err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// inodeQuarantine is how long ext4 without a journal may pass over a
// deleted inode (see keepRestored); bulkDeleteMark, in the work directory,
// holds when the harness last deleted kept trees.
const (
	inodeQuarantine = 6 * time.Minute
	bulkDeleteMark  = "restore-kept.deleted"
)

// awaitQuarantine waits, before a restore is timed, until the harness's
// last deletion of kept trees (this invocation's or the previous one's) is
// inodeQuarantine old, so that no restore pays for it by the rule
// keepRestored describes. The wait used to come before a run's backups,
// short of the window by one run's backups; those took 41 s on the 1 GB
// dataset (2026-12-08), and that run's first restore, 5 min 41 s after
// the deletion, took 1.5 times the others (cadang/restic 0.46 against
// 0.28-0.32).
func (o *Options) awaitQuarantine(ctx context.Context, work string) {
	wait := inodeQuarantineLeft(work)
	if wait <= 0 {
		return
	}
	o.logf("waiting %s before the restore: the harness deleted restored trees less than %s ago (see keepRestored)",
		wait.Round(time.Second), inodeQuarantine)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
}

// inodeQuarantineLeft is how long until the harness's last deletion of kept
// trees is inodeQuarantine old. It covers only the harness's own
// deletions: a restore after anyone else's deletion on the same file
// system pays the same way (perf shows recently_deleted in half of such a
// restore's samples; see ext4WithoutJournal, which the report names).
func inodeQuarantineLeft(work string) time.Duration {
	b, err := os.ReadFile(filepath.Join(work, bulkDeleteMark))
	if err != nil {
		return 0
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return time.Until(t.Add(inodeQuarantine))
}

// readTree reads every regular file under dir once, to bring it into the
// page cache.
func readTree(dir string) {
	buf := make([]byte, 1<<20)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if f, err := os.Open(p); err == nil {
				for {
					if _, err := f.Read(buf); err != nil {
						break
					}
				}
				f.Close()
			}
		}
		return nil
	})
}

// evictTree drops the pages of every regular file under dir from the page
// cache, after writing back what is dirty (dirty pages cannot be dropped).
func evictTree(dir string) {
	syscall.Sync()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if f, err := os.Open(p); err == nil {
				_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
				f.Close()
			}
		}
		return nil
	})
}

// freeBytes is the space available to an unprivileged user on dir's file
// system, or -1 when it cannot be told.
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// verify compares the restored tree with the day-1 source.
func (o *Options) verify(e *toolEnv, res *Result, m *Measure) {
	root := findRestoredRoot(e.restore, e.src)
	ok := false
	if root == "" {
		m.Diffs = []string{"restored tree not found under " + e.restore}
	} else if got, err := dataset.HashTree(root); err != nil {
		m.Diffs = []string{err.Error()}
	} else {
		m.Diffs = dataset.Compare(o.day1, got, false, 10)
		ok = len(m.Diffs) == 0
	}
	m.Verified = &ok
	if !ok {
		o.logf("  restore verification FAILED: %s", strings.Join(m.Diffs, "; "))
	}
}

// findRestoredRoot finds where the source tree landed under dst: dst/src
// (restic, cadang), dst/src-without-leading-slash (borg), or any directory
// holding the dataset's state file.
func findRestoredRoot(dst, src string) string {
	for _, c := range []string{filepath.Join(dst, src), filepath.Join(dst, "kopia"), dst} {
		if _, err := os.Stat(filepath.Join(c, dataset.StateFile)); err == nil {
			return c
		}
	}
	var found string
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipAll
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(p, dataset.StateFile)); err == nil {
				found = p
				return filepath.SkipAll
			}
			if strings.Count(strings.TrimPrefix(p, dst), string(filepath.Separator)) > 12 {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return found
}

// DirBytes is the apparent size of every regular file under dir, like
// `du -sb`.
func DirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// findGNUTime returns the path of GNU time, or "".
func findGNUTime() string {
	for _, p := range []string{"/usr/bin/time", "/bin/time"} {
		out, err := exec.Command(p, "--version").CombinedOutput()
		if err == nil && strings.Contains(string(out), "GNU") {
			return p
		}
	}
	return ""
}

// gnuTimeRSS reads "%e %U %S %M" written by GNU time -o and returns %M
// (KiB). GNU time may put a "Command exited with non-zero status" line
// first.
func gnuTimeRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 4 {
		return 0
	}
	var kb int64
	fmt.Sscan(f[3], &kb)
	return kb
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func dropCaches() error {
	syscall.Sync()
	f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("3\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				h.CPUModel = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		h.MemGiB = kb / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}

// WriteJSON writes the raw result.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// settle syncs, then waits until the block devices have written nothing
// for half a second (at most 30 s). Deleting a gigabyte on a filesystem
// mounted with online discard keeps the disk busy for seconds after rm
// returns; a backup started then was measured 40% slower.
func settle() {
	syscall.Sync()
	deadline := time.Now().Add(30 * time.Second)
	last := sectorsWritten()
	quiet := 0
	for time.Now().Before(deadline) && quiet < 5 {
		time.Sleep(100 * time.Millisecond)
		cur := sectorsWritten()
		if cur == last {
			quiet++
		} else {
			quiet = 0
		}
		last = cur
	}
}

// sectorsWritten sums the sectors written by all whole disks in
// /proc/diskstats (0 when it cannot be read).
func sectorsWritten() uint64 {
	b, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return 0
	}
	var total uint64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") {
			continue
		}
		if n, err := strconv.ParseUint(f[9], 10, 64); err == nil {
			total += n
		}
	}
	return total
}
