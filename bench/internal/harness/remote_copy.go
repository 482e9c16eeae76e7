package harness

// The copy benchmark of issue 12 (bench/cmd/remotebench -copy): D days of
// the dataset backed up into a local source repository by each tool, then
// each tool's `copy` of all D snapshots into a new local repository created
// with the source's chunker parameters (`init --copy-chunker-params
// --from-repo SRC`). See bench/README.md, "Remote backends and copy
// (issue 12)".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lpse/cadang/bench/internal/dataset"
)

// CopyOptions configure RunCopy.
type CopyOptions struct {
	WorkDir string
	Scale   float64
	Seed    uint64
	Days    int // snapshots of days 0..Days-1 in the source
	Reps    int // copies measured, tools' order rotated per rep

	Tools      []string // subset and order of "cadang", "restic"
	Cadang     string
	ModuleRoot string
	Restic     string
	Install    bool

	StepTimeout time.Duration
	Log         io.Writer `json:"-"`
}

// CopyMeasures are one tool's measurements.
type CopyMeasures struct {
	SourceReused    bool      `json:"source_reused"`
	SourceBackups   []Measure `json:"source_backups,omitempty"` // untimed preparation, one per day
	SourceBytes     int64     `json:"source_bytes"`
	SourceSnapshots int       `json:"source_snapshots"`
	Init            []Measure `json:"init"` // init --copy-chunker-params, per rep
	Copy            []Measure `json:"copy"` // RepoBytes: the destination after the copy
	CopiedSnapshots int       `json:"copied_snapshots"`
	Verify          string    `json:"verify"` // check, and the newest snapshot restored and compared, after the last rep
}

// CopyResult is the outcome of RunCopy.
type CopyResult struct {
	Options      CopyOptions              `json:"options"`
	Started      time.Time                `json:"started"`
	Elapsed      float64                  `json:"elapsed_s"`
	Host         HostInfo                 `json:"host"`
	Day0Bytes    int64                    `json:"day0_bytes"`
	Day0Files    int                      `json:"day0_files"`
	LastDayBytes int64                    `json:"last_day_bytes"`
	Tools        []ToolInfo               `json:"tools"`
	Measures     map[string]*CopyMeasures `json:"measures"`
	LoadReps     []string                 `json:"load_per_rep"`
	Notes        []string                 `json:"notes"`
}

func (o *CopyOptions) defaults() {
	if o.Scale <= 0 {
		o.Scale = 0.3
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Days <= 0 {
		o.Days = 30
	}
	if o.Reps <= 0 {
		o.Reps = 3
	}
	if len(o.Tools) == 0 {
		o.Tools = []string{"cadang", "restic"}
	}
	if o.Cadang == "" {
		o.Cadang = "auto"
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// copyEnv is the environment of a tool's commands in the copy benchmark:
// both repositories' passwords, a private HOME.
func copyEnv(t *remoteTool, home string) []string {
	env := append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "LC_ALL=C.UTF-8", "TZ=UTC")
	if t.cadang {
		return append(env, "CADANG_PASSWORD="+benchPassword, "CADANG_FROM_PASSWORD="+benchPassword,
			"CADANG_LOG="+filepath.Join(home, "runlog.jsonl"))
	}
	return append(env, "RESTIC_PASSWORD="+benchPassword, "RESTIC_FROM_PASSWORD="+benchPassword,
		"RESTIC_CACHE_DIR="+filepath.Join(home, ".cache", "restic"))
}

// repoArgv is `BIN -r REPO args...` for either tool.
func repoArgv(t *remoteTool, repoDir string, args ...string) []string {
	return append([]string{t.bin, "-r", repoDir}, args...)
}

// RunCopy runs the copy benchmark. The source repositories are kept in
// WorkDir/copy and reused by a later invocation with the same scale, seed,
// days and tool version (their preparation is not what is measured).
func RunCopy(ctx context.Context, co CopyOptions) (*CopyResult, error) {
	co.defaults()
	if co.WorkDir == "" {
		return nil, errors.New("harness: WorkDir is required")
	}
	work, err := filepath.Abs(co.WorkDir)
	if err != nil {
		return nil, err
	}
	res := &CopyResult{Options: co, Started: time.Now(), Host: hostInfo(), Measures: map[string]*CopyMeasures{}}
	o := &Options{WorkDir: work, Scale: co.Scale, Seed: co.Seed, Cadang: co.Cadang, ModuleRoot: co.ModuleRoot,
		StepTimeout: co.StepTimeout, Log: co.Log}
	o.gnuTime = findGNUTime()
	cw := filepath.Join(work, "copy")
	for _, d := range []string{"bin", "logs", "copy/repos", "copy/home", "copy/restore"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	tools, notes := o.remoteTools(ctx, co.Tools, co.Restic, co.Install, filepath.Join(work, "bin"))
	res.Notes = append(res.Notes, notes...)
	if len(tools) == 0 {
		return res, errors.New("harness: no tool to run")
	}
	for _, t := range tools {
		res.Tools = append(res.Tools, ToolInfo{Name: t.name, Version: t.version, Bin: t.bin, Settings: "defaults"})
		res.Measures[t.name] = &CopyMeasures{}
	}

	src := filepath.Join(cw, "src")
	var dres Result
	if err := o.prepareDataset(src, &dres); err != nil {
		return res, err
	}
	res.Day0Bytes, res.Day0Files = dres.Dataset.Day0Bytes, dres.Dataset.Day0Files
	step := func(t *remoteTool, name, home string, argv []string) Measure {
		var m Measure
		logPath := filepath.Join(work, "logs", fmt.Sprintf("copy-%s-%s.log", t.name, name))
		logf, err := os.Create(logPath)
		if err != nil {
			m.Err = err.Error()
			return m
		}
		defer logf.Close()
		m.Load1 = loadAvg()
		o.measureArgv(ctx, argv, copyEnv(t, home), cw, logf, logPath, &m)
		status := "ok"
		if m.Err != "" {
			status = "FAILED: " + m.Err
		}
		o.logf("  %-7s %-22s wall %7.2fs  cpu %7.2fs  rss %6.0f MiB  load %4.1f  %s", t.name, name, m.Wall, m.CPU(), float64(m.MaxRSS)/1024, m.Load1, status)
		return m
	}
	srcRepo := func(t *remoteTool) string { return filepath.Join(cw, "repos", t.name+"-src") }
	dstRepo := func(t *remoteTool) string { return filepath.Join(cw, "repos", t.name+"-dst") }

	// The source repositories: reused when they match.
	var need []*remoteTool
	for _, t := range tools {
		stamp := fmt.Sprintf("scale %g seed %d days %d %s\n", co.Scale, co.Seed, co.Days, t.version)
		if b, err := os.ReadFile(srcRepo(t) + ".done"); err == nil && string(b) == stamp {
			res.Measures[t.name].SourceReused = true
			o.logf("reusing the source repository %s", srcRepo(t))
			continue
		}
		os.RemoveAll(srcRepo(t))
		os.Remove(srcRepo(t) + ".done")
		h := filepath.Join(cw, "home", t.name+"-src")
		os.RemoveAll(h)
		os.MkdirAll(h, 0o755)
		if m := step(t, "src-init", h, repoArgv(t, srcRepo(t), "init")); m.Err != "" {
			return res, fmt.Errorf("%s init of the source: %s", t.name, m.Err)
		}
		need = append(need, t)
	}
	for day := 0; day < co.Days && len(need) > 0; day++ {
		if _, err := dataset.SyncTo(src, day); err != nil {
			return res, err
		}
		for _, t := range need {
			h := filepath.Join(cw, "home", t.name+"-src")
			m := step(t, fmt.Sprintf("src-day%02d-backup", day), h, repoArgv(t, srcRepo(t), "backup", "--quiet", src))
			res.Measures[t.name].SourceBackups = append(res.Measures[t.name].SourceBackups, m)
			if m.Err != "" {
				return res, fmt.Errorf("%s backup of day %d into the source: %s", t.name, day, m.Err)
			}
		}
	}
	for _, t := range need {
		stamp := fmt.Sprintf("scale %g seed %d days %d %s\n", co.Scale, co.Seed, co.Days, t.version)
		if err := os.WriteFile(srcRepo(t)+".done", []byte(stamp), 0o644); err != nil {
			return res, err
		}
	}
	if _, err := dataset.SyncTo(src, co.Days-1); err != nil {
		return res, err
	}
	lastMan, err := dataset.HashTree(src)
	if err != nil {
		return res, err
	}
	res.LastDayBytes = lastMan.Bytes()
	for _, t := range tools {
		cm := res.Measures[t.name]
		cm.SourceBytes = DirBytes(srcRepo(t))
		cm.SourceSnapshots = countSnaps(t, srcRepo(t), copyEnv(t, filepath.Join(cw, "home", t.name+"-src")))
	}

	for rep := 0; rep < co.Reps; rep++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		order := make([]*remoteTool, len(tools))
		for i := range tools {
			order[i] = tools[(i+rep)%len(tools)]
		}
		load := "before: " + uptime()
		o.logf("copy rep %d/%d, order %s; %s", rep+1, co.Reps, toolNames(order), load)
		for _, t := range order {
			cm := res.Measures[t.name]
			h := filepath.Join(cw, "home", fmt.Sprintf("%s-rep%d", t.name, rep+1))
			os.RemoveAll(h)
			os.MkdirAll(h, 0o755)
			os.RemoveAll(dstRepo(t))
			readTree(srcRepo(t))
			settleBriefly()
			mi := step(t, fmt.Sprintf("rep%d-init", rep+1), h, repoArgv(t, dstRepo(t), "init", "--copy-chunker-params", "--from-repo", srcRepo(t)))
			mi.Run = rep
			cm.Init = append(cm.Init, mi)
			if mi.Err != "" {
				continue
			}
			settleBriefly()
			mc := step(t, fmt.Sprintf("rep%d-copy", rep+1), h, repoArgv(t, dstRepo(t), "copy", "--from-repo", srcRepo(t)))
			mc.Run = rep
			mc.RepoBytes = DirBytes(dstRepo(t))
			cm.Copy = append(cm.Copy, mc)
			if rep == co.Reps-1 && mc.Err == "" {
				cm.CopiedSnapshots = countSnaps(t, dstRepo(t), copyEnv(t, h))
				cm.Verify = o.verifyCopy(ctx, t, dstRepo(t), h, filepath.Join(cw, "restore", t.name), src, lastMan, step)
			}
			os.RemoveAll(h)
		}
		load += "; after: " + uptime()
		res.LoadReps = append(res.LoadReps, fmt.Sprintf("rep %d (%s): %s", rep+1, toolNames(order), load))
	}
	for _, t := range tools {
		os.RemoveAll(dstRepo(t))
	}
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(res.Started).Seconds()
	return res, nil
}

// verifyCopy checks the destination and restores its newest snapshot,
// comparing it with the last day's tree (untimed).
func (o *Options) verifyCopy(ctx context.Context, t *remoteTool, repoDir, home, restoreDir, src string, want dataset.Manifest,
	step func(t *remoteTool, name, home string, argv []string) Measure) string {
	os.RemoveAll(restoreDir)
	defer os.RemoveAll(restoreDir)
	if m := step(t, "verify-check", home, repoArgv(t, repoDir, "check")); m.Err != "" {
		return "check: " + m.Err
	}
	if m := step(t, "verify-restore", home, repoArgv(t, repoDir, "restore", "latest", "--target", restoreDir)); m.Err != "" {
		return "restore: " + m.Err
	}
	root := findRestoredRoot(restoreDir, src)
	if root == "" {
		return "restored tree not found"
	}
	got, err := dataset.HashTree(root)
	if err != nil {
		return err.Error()
	}
	if d := dataset.Compare(want, got, false, 5); len(d) > 0 {
		return "restore differs: " + strings.Join(d, "; ")
	}
	return "ok"
}

// countSnaps runs `snapshots --json` (untimed); -1 when it fails.
func countSnaps(t *remoteTool, repoDir string, env []string) int {
	cmd := exec.Command(t.bin, "-r", repoDir, "snapshots", "--json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return -1
	}
	var list []json.RawMessage
	if err := json.Unmarshal(out, &list); err != nil {
		return -1
	}
	return len(list)
}

// Markdown renders the copy benchmark's report.
func (r *CopyResult) Markdown(command string) string {
	var b strings.Builder
	co := r.Options
	fmt.Fprintf(&b, "Copy benchmark, %s. `%s`\n\n", r.Started.Format("2006-01-02 15:04 MST"), command)
	fmt.Fprintf(&b, "Host: %d CPUs (%s), %.1f GiB, Linux %s, %s. Dataset scale %g seed %d: day 0 %.1f MB in %d files, day %d %.1f MB. "+
		"Source: %d daily backups (days 0-%d) in a local repository per tool; measured: `init --copy-chunker-params --from-repo SRC` "+
		"and `copy --from-repo SRC` of all snapshots into a new local repository, %d rep(s), order rotated; ratios cadang/restic per rep, "+
		"median (min–max). Elapsed %.0f s.\n\n",
		r.Host.CPUs, r.Host.CPUModel, r.Host.MemGiB, r.Host.Kernel, runtime.Version(), co.Scale, co.Seed,
		float64(r.Day0Bytes)/1e6, r.Day0Files, co.Days-1, float64(r.LastDayBytes)/1e6, co.Days, co.Days-1, co.Reps, r.Elapsed)
	c, rs := r.Measures["cadang"], r.Measures["restic"]
	get := func(cm *CopyMeasures, sel func(*CopyMeasures) []Measure) []RemoteMeasure {
		if cm == nil {
			return nil
		}
		var out []RemoteMeasure
		for _, m := range sel(cm) {
			out = append(out, RemoteMeasure{Measure: m})
		}
		return out
	}
	copyM := func(cm *CopyMeasures) []Measure { return cm.Copy }
	initM := func(cm *CopyMeasures) []Measure { return cm.Init }
	wall := func(m RemoteMeasure) float64 { return m.Wall }
	cpu := func(m RemoteMeasure) float64 { return m.CPU() }
	rss := func(m RemoteMeasure) float64 { return float64(m.MaxRSS) / 1024 }
	dst := func(m RemoteMeasure) float64 { return float64(m.RepoBytes) / 1e6 }
	fmtv := func(ms []RemoteMeasure, f func(RemoteMeasure) float64, format string) string {
		if v, ok := medianRM(ms, f); ok {
			return fmt.Sprintf(format, v)
		}
		return "–"
	}
	b.WriteString("| | cadang | restic | cadang/restic |\n|---|---|---|---|\n")
	row := func(label string, sel func(*CopyMeasures) []Measure, f func(RemoteMeasure) float64, format string) {
		cm, rm := get(c, sel), get(rs, sel)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", label, fmtv(cm, f, format), fmtv(rm, f, format), perRunRatios(cm, rm, f))
	}
	scalar := func(label string, f func(*CopyMeasures) float64, format string) {
		var cv, rv float64
		cs, rsv := "–", "–"
		if c != nil {
			cv = f(c)
			cs = fmt.Sprintf(format, cv)
		}
		if rs != nil {
			rv = f(rs)
			rsv = fmt.Sprintf(format, rv)
		}
		ratio := "–"
		if c != nil && rs != nil && rv != 0 {
			ratio = fmt.Sprintf("%.2f", cv/rv)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", label, cs, rsv, ratio)
	}
	scalar("source snapshots", func(cm *CopyMeasures) float64 { return float64(cm.SourceSnapshots) }, "%.0f")
	scalar("source repository (MB)", func(cm *CopyMeasures) float64 { return float64(cm.SourceBytes) / 1e6 }, "%.1f")
	row("init --copy-chunker-params wall (s)", initM, wall, "%.2f")
	row("**copy wall (s)**", copyM, wall, "%.2f")
	row("copy CPU (s)", copyM, cpu, "%.2f")
	row("copy peak RSS (MiB)", copyM, rss, "%.0f")
	row("**destination after copy (MB)**", copyM, dst, "%.1f")
	scalar("snapshots in the destination", func(cm *CopyMeasures) float64 { return float64(cm.CopiedSnapshots) }, "%.0f")
	b.WriteString("\n")
	for _, t := range r.Tools {
		cm := r.Measures[t.Name]
		var sw, sc float64
		for _, m := range cm.SourceBackups {
			sw += m.Wall
			sc += m.CPU()
		}
		prep := "reused from an earlier invocation"
		if !cm.SourceReused {
			prep = fmt.Sprintf("%d daily backups, %.1f s wall, %.1f s CPU", len(cm.SourceBackups), sw, sc)
		}
		fmt.Fprintf(&b, "- %s: %s; source: %s; destination checked and newest snapshot restored and compared: %s\n", t.Name, t.Version, prep, cm.Verify)
		for _, ms := range [][]Measure{cm.Init, cm.Copy} {
			for _, m := range ms {
				if m.Err != "" {
					fmt.Fprintf(&b, "  - rep %d FAILED: %s\n", m.Run+1, m.Err)
				}
			}
		}
	}
	for _, l := range r.LoadReps {
		fmt.Fprintf(&b, "- load: %s\n", l)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	return b.String()
}

// WriteJSON writes the raw result.
func (r *CopyResult) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Failed reports whether a measured step failed or a destination did not
// verify.
func (r *CopyResult) Failed() bool {
	for _, cm := range r.Measures {
		for _, ms := range [][]Measure{cm.Init, cm.Copy} {
			for _, m := range ms {
				if m.Err != "" {
					return true
				}
			}
		}
		if len(cm.Copy) > 0 && cm.Verify != "ok" {
			return true
		}
	}
	return false
}
