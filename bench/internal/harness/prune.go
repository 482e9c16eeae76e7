package harness

// The prune benchmark (issue 11, bench/cmd/prunebench): D simulated days of
// the dataset (day-N mutations, one backup a day with the day's time), then
// `forget --keep-daily 7 --keep-weekly 4 --prune` with cadang and restic,
// cadang's second prune (its deletion phase, doc/design.md §18), and a
// backup of day D started during the forget --prune against the same backup
// alone. See bench/README.md, "Prune".

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
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
)

// ResticModule is what -install builds when no restic is found.
const ResticModule = "github.com/restic/restic/cmd/restic@v0.19.1"

// PruneOptions configure RunPrune.
type PruneOptions struct {
	WorkDir string
	Scale   float64
	Seed    uint64
	Days    int // days 0..Days-1 are backed up before the forget
	Reps    int // repetitions of the prune measurements, each from a copy of the repositories

	Tools      []string // subset and order of "cadang", "restic"
	Cadang     string   // as Options.Cadang
	ModuleRoot string
	Restic     string // restic binary; "" finds it on PATH or in $(go env GOPATH)/bin
	Install    bool   // go install ResticModule when restic is not found

	KeepDaily  int
	KeepWeekly int
	// Delay is when the backup of the concurrency test starts, as a share
	// of the same tool's forget --prune alone (median wall time).
	Delay float64

	StepTimeout time.Duration
	Log         io.Writer `json:"-"`
}

// PruneResult is the outcome of RunPrune.
type PruneResult struct {
	Options  PruneOptions              `json:"options"`
	Started  time.Time                 `json:"started"`
	Elapsed  float64                   `json:"elapsed_s"`
	Host     HostInfo                  `json:"host"`
	Dataset  DatasetInfo               `json:"dataset"`
	LastDay  int64                     `json:"last_day_bytes"` // the tree of day Days, backed up in the concurrency test
	Tools    []ToolInfo                `json:"tools"`
	Measures map[string]*PruneMeasures `json:"measures"`
	Notes    []string                  `json:"notes"`
}

// PruneMeasures are one tool's measurements.
type PruneMeasures struct {
	Backups     []Measure `json:"daily_backups"` // one per day, RepoBytes after each
	SnapsBefore int       `json:"snapshots_before"`
	SnapsAfter  int       `json:"snapshots_after"`
	RepoBefore  int64     `json:"repo_bytes_before"`
	Forget      []Measure `json:"forget_prune"` // forget --keep-... --prune alone, per rep
	Prune2      []Measure `json:"second_prune"` // cadang only: prune right after, per rep
	Alone       []Measure `json:"backup_alone"` // backup of day Days, nothing else running
	During      []Measure `json:"backup_during_prune"`
	DuringPrune []Measure `json:"prune_beside_backup"` // the forget --prune the backup ran beside
	StartAfter  []float64 `json:"backup_start_after_s"`
	Overlap     []float64 `json:"overlap_s"` // how long the two ran together
	CheckAfter  string    `json:"check_after"`
}

func (o *PruneOptions) defaults() {
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
		o.Reps = 1
	}
	if len(o.Tools) == 0 {
		o.Tools = []string{"cadang", "restic"}
	}
	if o.Cadang == "" {
		o.Cadang = "auto"
	}
	if o.KeepDaily == 0 && o.KeepWeekly == 0 {
		o.KeepDaily, o.KeepWeekly = 7, 4
	}
	if o.Delay <= 0 {
		o.Delay = 0.2
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// pruneTool is a tool with its environment in the prune benchmark.
type pruneTool struct {
	*Tool
	e   *toolEnv
	env []string
	pm  *PruneMeasures
}

// RunPrune runs the prune benchmark.
func RunPrune(ctx context.Context, po PruneOptions) (*PruneResult, error) {
	po.defaults()
	if po.WorkDir == "" {
		return nil, errors.New("harness: WorkDir is required")
	}
	work, err := filepath.Abs(po.WorkDir)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{Options: po, Started: time.Now(), Host: hostInfo(), Measures: map[string]*PruneMeasures{}}
	o := &Options{WorkDir: work, Scale: po.Scale, Seed: po.Seed, Cadang: po.Cadang, ModuleRoot: po.ModuleRoot,
		StepTimeout: po.StepTimeout, Log: po.Log}
	o.gnuTime = findGNUTime()
	if o.gnuTime == "" {
		res.Notes = append(res.Notes, "GNU time (/usr/bin/time) not found: peak RSS is taken from wait4 directly and "+
			"includes the harness's own RSS at fork")
	}
	for _, d := range []string{"bin", "repos", "restore", "home", "logs"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}

	// The tools.
	var tools []*pruneTool
	for _, n := range po.Tools {
		var t *Tool
		switch n {
		case "cadang":
			bin, note := o.cadangBinary(ctx, filepath.Join(work, "bin"))
			if note != "" {
				res.Notes = append(res.Notes, note)
			}
			if bin == "" {
				continue
			}
			t = cadangTool(bin)
			t.version = toolVersion(bin, "--version")
		case "restic":
			bin, note := po.resticBinary(ctx, o, filepath.Join(work, "bin"))
			if note != "" {
				res.Notes = append(res.Notes, note)
			}
			if bin == "" {
				continue
			}
			t = resticTool(bin)
			t.version = toolVersion(bin, "version")
		default:
			res.Notes = append(res.Notes, fmt.Sprintf("unknown tool %q ignored (the prune benchmark knows cadang and restic)", n))
			continue
		}
		tools = append(tools, &pruneTool{Tool: t})
		res.Tools = append(res.Tools, ToolInfo{Name: t.Name, Version: t.version, Bin: t.bin, Settings: t.Settings})
	}
	if len(tools) == 0 {
		return res, errors.New("harness: no tool to run")
	}

	src := filepath.Join(work, "src")
	var dres Result
	if err := o.prepareDataset(src, &dres); err != nil {
		return res, err
	}
	res.Dataset = dres.Dataset
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return res, err
	}
	for _, t := range tools {
		t.e = o.resetTool(work, t.Tool, src)
		// Both tools' calendar rules and restic's --time use the same
		// zone; running in the work directory, cadang finds no
		// ./cadang.toml.
		t.env = append(o.stepEnv(t.Tool, t.e), "TZ=UTC")
		t.pm = &PruneMeasures{}
		res.Measures[t.Name] = t.pm
		os.RemoveAll(t.e.repo + ".pre")
		os.RemoveAll(t.e.home + ".pre")
		if m := o.pruneStep(ctx, work, t, "init", t.initArgv()); m.Err != "" {
			return res, fmt.Errorf("%s init: %s", t.Name, m.Err)
		}
	}

	// D days, one backup a day.
	for day := 0; day < po.Days; day++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if _, err := dataset.SyncTo(src, day); err != nil {
			return res, err
		}
		for _, t := range tools {
			settle()
			m := o.pruneStep(ctx, work, t, fmt.Sprintf("day%02d-backup", day), t.backupArgv(day, false))
			if m.Err == "" && t.cadang {
				if err := retimeCadang(ctx, t.e.repo, dataset.DayTime(day)); err != nil {
					m.Err = "setting the snapshot's time: " + err.Error()
				}
			}
			m.RepoBytes = DirBytes(t.e.repo)
			t.pm.Backups = append(t.pm.Backups, m)
			if m.Err != "" {
				return res, fmt.Errorf("%s backup of day %d: %s", t.Name, day, m.Err)
			}
		}
	}
	for _, t := range tools {
		t.pm.RepoBefore = DirBytes(t.e.repo)
		t.pm.SnapsBefore = o.countSnapshots(t)
		if err := copyTree(t.e.repo, t.e.repo+".pre"); err != nil {
			return res, err
		}
		if err := copyTree(t.e.home, t.e.home+".pre"); err != nil {
			return res, err
		}
	}
	restore := func(t *pruneTool) error {
		for _, d := range []string{t.e.repo, t.e.home} {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
			if err := copyTree(d+".pre", d); err != nil {
				return err
			}
		}
		return nil
	}

	// forget --prune alone, and cadang's second prune.
	for rep := 0; rep < po.Reps; rep++ {
		for i := range tools {
			t := tools[(i+rep)%len(tools)]
			if err := restore(t); err != nil {
				return res, err
			}
			settle()
			m := o.pruneStep(ctx, work, t, fmt.Sprintf("rep%d-forget-prune", rep+1), t.forgetArgv(po))
			m.RepoBytes = DirBytes(t.e.repo)
			m.Run = rep
			t.pm.Forget = append(t.pm.Forget, m)
			if rep == 0 && m.Err == "" {
				t.pm.SnapsAfter = o.countSnapshots(t)
			}
			if t.cadang && m.Err == "" {
				settle()
				m2 := o.pruneStep(ctx, work, t, fmt.Sprintf("rep%d-prune2", rep+1), []string{t.bin, "-r", t.e.repo, "prune"})
				m2.RepoBytes = DirBytes(t.e.repo)
				m2.Run = rep
				t.pm.Prune2 = append(t.pm.Prune2, m2)
			}
		}
	}

	// A backup of the next day alone, and the same backup started during
	// forget --prune.
	last := po.Days
	if _, err := dataset.SyncTo(src, last); err != nil {
		return res, err
	}
	lastMan, err := dataset.HashTree(src)
	if err != nil {
		return res, err
	}
	res.LastDay = lastMan.Bytes()
	for rep := 0; rep < po.Reps; rep++ {
		for i := range tools {
			t := tools[(i+rep)%len(tools)]
			if err := restore(t); err != nil {
				return res, err
			}
			readTree(src)
			settle()
			m := o.pruneStep(ctx, work, t, fmt.Sprintf("rep%d-backup-alone", rep+1), t.backupArgv(last, false))
			m.Run = rep
			t.pm.Alone = append(t.pm.Alone, m)
		}
		for i := range tools {
			t := tools[(i+rep)%len(tools)]
			if err := restore(t); err != nil {
				return res, err
			}
			readTree(src)
			settle()
			delay := time.Duration(po.Delay * medianOf(t.pm.Forget, func(m Measure) float64 { return m.Wall }) * float64(time.Second))
			pm, bm, startAfter, overlap := o.concurrent(ctx, work, t, rep, delay, t.forgetArgv(po), t.backupArgv(last, true))
			pm.Run, bm.Run = rep, rep
			t.pm.DuringPrune = append(t.pm.DuringPrune, pm)
			t.pm.During = append(t.pm.During, bm)
			t.pm.StartAfter = append(t.pm.StartAfter, startAfter)
			t.pm.Overlap = append(t.pm.Overlap, overlap)
			if rep == po.Reps-1 {
				t.pm.CheckAfter = o.checkAfter(ctx, work, t, lastMan)
			}
		}
	}
	for _, t := range tools {
		if !strings.HasPrefix(t.version, "restic 0.19") && t.Name == "restic" {
			res.Notes = append(res.Notes, fmt.Sprintf("restic is %q, not the 0.19.1 the issue names", t.version))
		}
		os.RemoveAll(t.e.repo + ".pre")
		os.RemoveAll(t.e.home + ".pre")
	}
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(res.Started).Seconds()
	return res, nil
}

func (t *pruneTool) initArgv() []string {
	if t.cadang {
		return []string{t.bin, "-r", t.e.repo, "init"}
	}
	return []string{t.bin, "init"}
}

// backupArgv backs up the source as day `day`. cadang's backup has no
// --time: its snapshot is given the day's time afterwards (retimeCadang).
// waitLock lets restic wait for an exclusive lock instead of failing.
func (t *pruneTool) backupArgv(day int, waitLock bool) []string {
	if t.cadang {
		return []string{t.bin, "-r", t.e.repo, "backup", "--quiet", t.e.src}
	}
	argv := []string{t.bin, "backup", "--quiet", "--time", dataset.DayTime(day).Format(time.DateTime)}
	if waitLock {
		argv = append(argv, "--retry-lock", "2h")
	}
	return append(argv, t.e.src)
}

func (t *pruneTool) forgetArgv(po PruneOptions) []string {
	argv := []string{t.bin}
	if t.cadang {
		argv = append(argv, "-r", t.e.repo)
	}
	argv = append(argv, "forget", "--keep-daily", fmt.Sprint(po.KeepDaily), "--keep-weekly", fmt.Sprint(po.KeepWeekly), "--prune")
	return argv
}

// pruneStep runs and measures one command line of a tool.
func (o *Options) pruneStep(ctx context.Context, work string, t *pruneTool, name string, argv []string) Measure {
	var m Measure
	logPath := filepath.Join(work, "logs", fmt.Sprintf("prune-%s-%s.log", t.Name, name))
	logf, err := os.Create(logPath)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	defer logf.Close()
	m.Load1 = loadAvg()
	o.measureArgv(ctx, argv, t.env, work, logf, logPath, &m)
	status := "ok"
	if m.Err != "" {
		status = "FAILED: " + m.Err
	}
	o.logf("  %-7s %-22s wall %7.2fs  cpu %7.2fs  rss %6.0f MiB  load %4.1f  %s", t.Name, name, m.Wall, m.CPU(), float64(m.MaxRSS)/1024, m.Load1, status)
	return m
}

// concurrent starts the prune, and the backup delay later; it returns their
// measures, when the backup started after the prune, and how long the two
// ran together.
func (o *Options) concurrent(ctx context.Context, work string, t *pruneTool, rep int, delay time.Duration, pruneArgv, backupArgv []string) (pm, bm Measure, startAfter, overlap float64) {
	t0 := time.Now()
	var pruneEnd time.Time
	done := make(chan struct{})
	go func() {
		pm = o.pruneStep(ctx, work, t, fmt.Sprintf("rep%d-forget-prune-beside-backup", rep+1), pruneArgv)
		pruneEnd = time.Now()
		close(done)
	}()
	select {
	case <-time.After(delay):
	case <-done:
	}
	b0 := time.Now()
	bm = o.pruneStep(ctx, work, t, fmt.Sprintf("rep%d-backup-during-prune", rep+1), backupArgv)
	b1 := time.Now()
	<-done
	startAfter = b0.Sub(t0).Seconds()
	end := b1
	if pruneEnd.Before(end) {
		end = pruneEnd
	}
	overlap = max(0, end.Sub(b0).Seconds())
	return pm, bm, startAfter, overlap
}

// checkAfter finishes the prune (cadang: its deletion phase), checks the
// repository and restores the newest snapshot, the backup made during the
// prune, comparing it with the source. None of it is timed.
func (o *Options) checkAfter(ctx context.Context, work string, t *pruneTool, want dataset.Manifest) string {
	var argvs [][]string
	restoreDir := filepath.Join(work, "restore", t.Name)
	os.RemoveAll(restoreDir)
	if t.cadang {
		argvs = [][]string{{t.bin, "-r", t.e.repo, "prune"}, {t.bin, "-r", t.e.repo, "check"},
			{t.bin, "-r", t.e.repo, "restore", "latest", "--target", restoreDir}}
	} else {
		argvs = [][]string{{t.bin, "check"}, {t.bin, "restore", "latest", "--target", restoreDir}}
	}
	for i, argv := range argvs {
		verb := argv[1]
		if t.cadang {
			verb = argv[3]
		}
		if m := o.pruneStep(ctx, work, t, fmt.Sprintf("after-%d-%s", i+1, verb), argv); m.Err != "" {
			return m.Err
		}
	}
	defer os.RemoveAll(restoreDir)
	root := findRestoredRoot(restoreDir, t.e.src)
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

// countSnapshots runs `snapshots --json` (untimed); -1 when it fails.
func (o *Options) countSnapshots(t *pruneTool) int {
	argv := []string{t.bin}
	if t.cadang {
		argv = append(argv, "-r", t.e.repo)
	}
	cmd := exec.Command(argv[0], append(argv[1:], "snapshots", "--json")...)
	cmd.Env, cmd.Dir = t.env, filepath.Dir(t.e.repo)
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

// retimeCadang gives the snapshot just made (the one newer than at) the
// time at: cadang's backup has no --time. The snapshot is saved again with
// the new time, and the old file removed.
func retimeCadang(ctx context.Context, repoDir string, at time.Time) error {
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		return err
	}
	r, err := repo.Open(ctx, be, []byte(benchPassword), repo.Options{Lock: repo.ExclusiveLock})
	if err != nil {
		return err
	}
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil {
		r.Close()
		return err
	}
	n := 0
	for _, sn := range sns {
		if !sn.Time.After(at.Add(time.Hour)) {
			continue
		}
		ns := *sn
		ns.Time = at
		if _, err := snapshot.SaveSnapshot(ctx, r, &ns); err != nil {
			r.Close()
			return err
		}
		if err := r.RemoveFile(ctx, repo.SnapshotFile, sn.ID()); err != nil {
			r.Close()
			return err
		}
		n++
	}
	if err := r.Close(); err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("found %d new snapshots, want 1", n)
	}
	return nil
}

// resticBinary finds restic, or installs ResticModule with go install.
func (po *PruneOptions) resticBinary(ctx context.Context, o *Options, binDir string) (string, string) {
	if po.Restic != "" {
		abs, err := filepath.Abs(po.Restic)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return "", fmt.Sprintf("restic skipped: %v", err)
		}
		return abs, ""
	}
	cands := []string{filepath.Join(binDir, "restic")}
	if p, err := exec.LookPath("restic"); err == nil {
		cands = append(cands, p)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		cands = append(cands, filepath.Join(strings.TrimSpace(string(out)), "bin", "restic"))
	}
	var found, note string
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			v := toolVersion(c, "version")
			if strings.HasPrefix(v, "restic 0.19") {
				return c, ""
			}
			if found == "" {
				found, note = c, fmt.Sprintf("restic at %s is %q, not 0.19.x", c, v)
			}
		}
	}
	if po.Install {
		o.logf("installing restic: go install %s", ResticModule)
		cmd := exec.CommandContext(ctx, "go", "install", ResticModule)
		cmd.Env = append(os.Environ(), "GOBIN="+binDir, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			note = strings.TrimSpace(note + fmt.Sprintf("; go install %s failed: %v: %s", ResticModule, err, tail(string(out), 3)))
		} else {
			return filepath.Join(binDir, "restic"), ""
		}
	}
	if found != "" {
		return found, note
	}
	return "", strings.TrimSpace("restic skipped: not found (-install runs go install " + ResticModule + ") " + note)
}

// copyTree copies a directory with cp -a (the repositories are copied
// before the forget, so that each measurement starts from the same state).
func copyTree(from, to string) error {
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %v: %s", from, to, err, out)
	}
	return nil
}

func medianOf(ms []Measure, f func(Measure) float64) float64 {
	var xs []float64
	for _, m := range ms {
		if m.Err == "" {
			xs = append(xs, f(m))
		}
	}
	return median(xs)
}

// Markdown renders the prune benchmark's report.
func (r *PruneResult) Markdown(command string) string {
	var b strings.Builder
	po := r.Options
	fmt.Fprintf(&b, "Prune benchmark, %s. `%s`\n\n", r.Started.Format("2006-01-02 15:04"), command)
	fmt.Fprintf(&b, "Host: %d CPUs (%s), %.1f GiB, Linux %s, %s. Dataset scale %g seed %d: day 0 %.1f MB in %d files; "+
		"%d daily backups (days 0-%d), then `forget --keep-daily %d --keep-weekly %d --prune`; %d rep(s), medians.\n\n",
		r.Host.CPUs, r.Host.CPUModel, r.Host.MemGiB, r.Host.Kernel, runtime.Version(), po.Scale, po.Seed,
		float64(r.Dataset.Day0Bytes)/1e6, r.Dataset.Day0Files, po.Days, po.Days-1, po.KeepDaily, po.KeepWeekly, po.Reps)
	names := make([]string, 0, len(r.Tools))
	for _, t := range r.Tools {
		names = append(names, t.Name)
	}
	cad, res := r.Measures["cadang"], r.Measures["restic"]
	wall := func(m Measure) float64 { return m.Wall }
	cpu := func(m Measure) float64 { return m.CPU() }
	rss := func(m Measure) float64 { return float64(m.MaxRSS) / 1024 }
	size := func(m Measure) float64 { return float64(m.RepoBytes) / 1e6 }
	row := func(label string, f func(pm *PruneMeasures) (float64, bool), format string, ratio bool, target string) {
		fmt.Fprintf(&b, "| %s |", label)
		var vals []float64
		for _, n := range names {
			v, ok := f(r.Measures[n])
			if ok {
				fmt.Fprintf(&b, " "+format+" |", v)
			} else {
				b.WriteString(" – |")
			}
			vals = append(vals, v)
		}
		if ratio && cad != nil && res != nil && len(vals) == 2 && vals[1] != 0 {
			fmt.Fprintf(&b, " %.2f | %s |\n", vals[0]/vals[1], target)
		} else {
			fmt.Fprintf(&b, " | %s |\n", target)
		}
	}
	med := func(sel func(pm *PruneMeasures) []Measure, f func(Measure) float64) func(pm *PruneMeasures) (float64, bool) {
		return func(pm *PruneMeasures) (float64, bool) {
			ms := sel(pm)
			if len(ms) == 0 {
				return 0, false
			}
			return medianOf(ms, f), true
		}
	}
	forget := func(pm *PruneMeasures) []Measure { return pm.Forget }
	total := func(f func(Measure) float64) func(pm *PruneMeasures) (float64, bool) {
		return func(pm *PruneMeasures) (float64, bool) {
			v := medianOf(pm.Forget, f)
			if len(pm.Prune2) > 0 {
				v += medianOf(pm.Prune2, f)
			}
			return v, true
		}
	}
	totalRSS := func(pm *PruneMeasures) (float64, bool) {
		v := medianOf(pm.Forget, rss)
		if len(pm.Prune2) > 0 {
			v = max(v, medianOf(pm.Prune2, rss))
		}
		return v, true
	}
	after := func(pm *PruneMeasures) (float64, bool) {
		if len(pm.Prune2) > 0 {
			return medianOf(pm.Prune2, size), true
		}
		return medianOf(pm.Forget, size), true
	}
	fmt.Fprintf(&b, "| | %s | cadang/restic | target |\n|---|%s---|---|\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	row("snapshots before", func(pm *PruneMeasures) (float64, bool) { return float64(pm.SnapsBefore), true }, "%.0f", false, "")
	row("snapshots after", func(pm *PruneMeasures) (float64, bool) { return float64(pm.SnapsAfter), true }, "%.0f", false, "")
	row("repository before (MB)", func(pm *PruneMeasures) (float64, bool) { return float64(pm.RepoBefore) / 1e6, true }, "%.1f", true, "")
	row("**forget --prune** wall (s)", med(forget, wall), "%.2f", true, "≤ 0.50")
	row("forget --prune CPU (s)", med(forget, cpu), "%.2f", true, "")
	row("forget --prune peak RSS (MiB)", med(forget, rss), "%.1f", true, "≤ 1.00")
	row("repository after forget --prune (MB)", med(forget, size), "%.1f", true, "")
	row("second `prune` wall (s)", med(func(pm *PruneMeasures) []Measure { return pm.Prune2 }, wall), "%.2f", false, "")
	row("second `prune` CPU (s)", med(func(pm *PruneMeasures) []Measure { return pm.Prune2 }, cpu), "%.2f", false, "")
	row("second `prune` peak RSS (MiB)", med(func(pm *PruneMeasures) []Measure { return pm.Prune2 }, rss), "%.1f", false, "")
	row("both prunes: wall (s)", total(wall), "%.2f", true, "")
	row("both prunes: CPU (s)", total(cpu), "%.2f", true, "")
	row("both prunes: peak RSS (MiB)", totalRSS, "%.1f", true, "")
	row("**repository after** (MB; cadang: after the second prune)", after, "%.1f", true, "")
	row("backup of day D alone, wall (s)", med(func(pm *PruneMeasures) []Measure { return pm.Alone }, wall), "%.2f", true, "")
	row("same backup started during forget --prune, wall (s)", med(func(pm *PruneMeasures) []Measure { return pm.During }, wall), "%.2f", true, "")
	row("**backup during prune / alone**", func(pm *PruneMeasures) (float64, bool) {
		a := medianOf(pm.Alone, wall)
		if a == 0 {
			return 0, false
		}
		return medianOf(pm.During, wall) / a, true
	}, "%.2f", false, "cadang ≤ 1.5")
	row("forget --prune beside the backup, wall (s)", med(func(pm *PruneMeasures) []Measure { return pm.DuringPrune }, wall), "%.2f", true, "")
	b.WriteString("\n")
	for _, n := range names {
		pm := r.Measures[n]
		var bw, bc []float64
		var brss float64
		for _, m := range pm.Backups {
			bw = append(bw, m.Wall)
			bc = append(bc, m.CPU())
			brss = max(brss, float64(m.MaxRSS)/1024)
		}
		sum := func(xs []float64) (s float64) {
			for _, x := range xs {
				s += x
			}
			return
		}
		var gaps []string
		for i := range pm.During {
			gaps = append(gaps, fmt.Sprintf("started %.2f s after the prune, ran %.2f s beside it", pm.StartAfter[i], pm.Overlap[i]))
		}
		fmt.Fprintf(&b, "- %s: %d daily backups took %.1f s wall, %.1f s CPU, peak RSS %.1f MiB; backup during prune: %s; "+
			"afterwards check and restore of the newest snapshot: %s.\n", n, len(pm.Backups), sum(bw), sum(bc), brss,
			strings.Join(gaps, "; "), pm.CheckAfter)
		for _, ms := range [][]Measure{pm.Forget, pm.Prune2, pm.Alone, pm.During, pm.DuringPrune} {
			for _, m := range ms {
				if m.Err != "" {
					fmt.Fprintf(&b, "  - FAILED: %s\n", m.Err)
				}
			}
		}
	}
	for _, t := range r.Tools {
		fmt.Fprintf(&b, "- %s: %s (%s)\n", t.Name, t.Version, t.Bin)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	return b.String()
}

// WriteJSON writes the raw result.
func (r *PruneResult) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
