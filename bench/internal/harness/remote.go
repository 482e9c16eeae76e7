package harness

// The remote-backend benchmark (issue 12, bench/cmd/remotebench): first
// backup, day-1 backup and restore of the dataset with cadang and restic
// to an S3 server (versitygw) and an SFTP server (OpenSSH) on loopback,
// each directly and through a delay proxy that adds 10 ms each way. See
// bench/README.md, "Remote backends and copy (issue 12)".

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
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/bench/internal/dataset"
	"github.com/lpse/cadang/bench/internal/delayproxy"
)

// RemoteOptions configure RunRemote.
type RemoteOptions struct {
	WorkDir string
	Scale   float64
	Seed    uint64
	Runs    int // tools' order rotates from run to run

	Tools      []string // subset and order of "cadang", "restic"
	Cadang     string   // as Options.Cadang
	ModuleRoot string
	Restic     string // restic binary; "" finds it
	Versitygw  string // versitygw binary; "" finds it
	Install    bool   // go install restic / versitygw when missing

	Backends []string // subset and order of "s3", "sftp"
	// Delay is added each way by the delay proxy (default 10 ms: 20 ms
	// round trip); negative measures only the direct path.
	Delay time.Duration

	StepTimeout time.Duration
	Log         io.Writer `json:"-"`
	// AfterRun, if set, is called with the result so far after each run,
	// so that a long invocation cut short still leaves its finished runs.
	AfterRun func(*RemoteResult) `json:"-"`
}

// The steps of the remote benchmark.
const (
	RStepInit    = "init"
	RStepBackup  = "first backup"
	RStepDay1    = "day-1 backup"
	RStepRestore = "restore"
)

// RemoteSteps are the reported steps, in order.
var RemoteSteps = []string{RStepBackup, RStepDay1, RStepRestore}

// RemoteMeasure is one step of one tool against one target in one run.
type RemoteMeasure struct {
	Measure
	// ServerCPU is the CPU time of the server (versitygw, or sshd with its
	// per-connection processes) during the step.
	ServerCPU float64 `json:"server_cpu_s"`
	// ProxyCPU is the harness's own CPU time during the step: the delay
	// proxy's work when the target is delayed, near zero otherwise.
	ProxyCPU float64 `json:"proxy_cpu_s"`
}

// RemoteResult is the outcome of RunRemote.
type RemoteResult struct {
	Options  RemoteOptions `json:"options"`
	Started  time.Time     `json:"started"`
	Elapsed  float64       `json:"elapsed_s"`
	Host     HostInfo      `json:"host"`
	Dataset  DatasetInfo   `json:"dataset"`
	Tools    []ToolInfo    `json:"tools"`
	Servers  []string      `json:"servers"`
	Targets  []string      `json:"targets"`
	LoadRuns []string      `json:"load_per_run"` // `uptime` before and after each run
	// Measures: target -> tool -> step -> one per run.
	Measures map[string]map[string]map[string][]RemoteMeasure `json:"measures"`
	Notes    []string                                         `json:"notes"`
}

func (o *RemoteOptions) defaults() {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Runs <= 0 {
		o.Runs = 3
	}
	if len(o.Tools) == 0 {
		o.Tools = []string{"cadang", "restic"}
	}
	if o.Cadang == "" {
		o.Cadang = "auto"
	}
	if len(o.Backends) == 0 {
		o.Backends = []string{"s3", "sftp"}
	}
	if o.Delay == 0 {
		o.Delay = 10 * time.Millisecond
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// target is one way to reach one server: directly or through a proxy.
type target struct {
	name    string // "s3", "s3 +20ms", "sftp", "sftp +20ms"
	backend string // "s3" or "sftp"
	srv     *server
	addr    string // what clients connect to
	known   string // sftp: known_hosts vouching for the host key at addr
}

// remoteTool is a tool with what it needs to reach a target.
type remoteTool struct {
	name    string
	bin     string
	version string
	cadang  bool
}

// location is the repository location of tool t for run and target tg,
// and the server-side directory it lands in.
func (tg *target) location(t *remoteTool, run int) (loc, dir string) {
	prefix := fmt.Sprintf("run%d-%s-%s", run+1, strings.ReplaceAll(strings.ReplaceAll(tg.name, " ", ""), "+", "d"), t.name)
	dir = filepath.Join(tg.srv.data, prefix)
	switch tg.backend {
	case "s3":
		loc = fmt.Sprintf("s3:http://%s/%s/%s", tg.addr, s3Bucket, prefix)
	case "sftp":
		if t.cadang {
			loc = fmt.Sprintf("sftp://%s@%s%s", tg.srv.user, tg.addr, dir)
		} else {
			// restic's form; the host and port are those of
			// sftp.command, which is what it runs.
			loc = fmt.Sprintf("sftp://%s@%s/%s", tg.srv.user, tg.addr, dir)
		}
	}
	return loc, dir
}

// argv is the command line of step s, and its environment.
func (tg *target) argv(t *remoteTool, run int, s, src, restore, home string) ([]string, []string) {
	loc, _ := tg.location(t, run)
	env := []string{"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret, "AWS_DEFAULT_REGION=us-east-1",
		"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"LC_ALL=C.UTF-8", "TZ=UTC"}
	var argv []string
	if t.cadang {
		env = append(env, "CADANG_PASSWORD="+benchPassword, "CADANG_LOG="+filepath.Join(home, "runlog.jsonl"))
		argv = []string{t.bin}
		if tg.backend == "sftp" {
			argv = append(argv, "--sftp-identity", tg.srv.identity, "--sftp-known-hosts", tg.known)
		}
		argv = append(argv, "-r", loc)
	} else {
		env = append(env, "RESTIC_PASSWORD="+benchPassword, "RESTIC_CACHE_DIR="+filepath.Join(home, ".cache", "restic"))
		argv = []string{t.bin, "-r", loc}
		if tg.backend == "sftp" {
			host, port, _ := strings.Cut(tg.addr, ":")
			argv = append(argv, "-o", fmt.Sprintf("sftp.command=ssh -p %s -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes "+
				"-o BatchMode=yes -o IdentitiesOnly=yes %s@%s -s sftp", port, tg.srv.identity, tg.known, tg.srv.user, host))
		}
	}
	switch s {
	case RStepInit:
		argv = append(argv, "init")
	case RStepBackup, RStepDay1:
		argv = append(argv, "backup", "--quiet", src)
	case RStepRestore:
		argv = append(argv, "restore", "latest", "--target", restore)
	}
	return argv, env
}

// RunRemote runs the remote-backend benchmark. A failed step is recorded
// and the tool skips the rest of that target in that run.
func RunRemote(ctx context.Context, ro RemoteOptions) (*RemoteResult, error) {
	ro.defaults()
	if ro.WorkDir == "" {
		return nil, errors.New("harness: WorkDir is required")
	}
	work, err := filepath.Abs(ro.WorkDir)
	if err != nil {
		return nil, err
	}
	res := &RemoteResult{Options: ro, Started: time.Now(), Host: hostInfo(),
		Measures: map[string]map[string]map[string][]RemoteMeasure{}}
	o := &Options{WorkDir: work, Scale: ro.Scale, Seed: ro.Seed, Cadang: ro.Cadang, ModuleRoot: ro.ModuleRoot,
		StepTimeout: ro.StepTimeout, Log: ro.Log}
	o.gnuTime = findGNUTime()
	if o.gnuTime == "" {
		res.Notes = append(res.Notes, "GNU time not found: peak RSS includes the harness's own RSS at fork")
	}
	binDir := filepath.Join(work, "bin")
	for _, d := range []string{"bin", "restore", "home", "logs", "servers"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}

	tools, notes := o.remoteTools(ctx, ro.Tools, ro.Restic, ro.Install, binDir)
	res.Notes = append(res.Notes, notes...)
	if len(tools) == 0 {
		return res, errors.New("harness: no tool to run")
	}
	for _, t := range tools {
		res.Tools = append(res.Tools, ToolInfo{Name: t.name, Version: t.version, Bin: t.bin, Settings: remoteSettings(t)})
	}

	// Servers and proxies, stopped whatever happens.
	var targets []*target
	var proxies []*delayproxy.Proxy
	var servers []*server
	defer func() {
		for _, p := range proxies {
			p.Close()
		}
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, b := range ro.Backends {
		var srv *server
		switch b {
		case "s3":
			bin, err := o.versitygwBinary(ctx, ro.Versitygw, binDir, ro.Install)
			if err != nil {
				res.Notes = append(res.Notes, "S3 skipped: "+err.Error())
				continue
			}
			dir := filepath.Join(work, "servers", "versitygw")
			os.RemoveAll(dir)
			if srv, err = startVersitygw(ctx, bin, dir); err != nil {
				res.Notes = append(res.Notes, "S3 skipped: "+err.Error())
				continue
			}
			res.Servers = append(res.Servers, fmt.Sprintf("versitygw %s (%s), posix backend on %s", moduleVersion(bin), bin, dir))
		case "sftp":
			dir := filepath.Join(work, "servers", "sshd")
			os.RemoveAll(dir)
			if srv, err = startSSHD(ctx, dir); err != nil {
				res.Notes = append(res.Notes, "SFTP skipped: "+err.Error())
				continue
			}
			res.Servers = append(res.Servers, fmt.Sprintf("%s, internal-sftp, keys and data in %s", sshdVersion(), dir))
		default:
			res.Notes = append(res.Notes, fmt.Sprintf("unknown backend %q ignored (s3, sftp)", b))
			continue
		}
		servers = append(servers, srv)
		o.logf("%s listening on %s (pid %d)", srv.name, srv.addr, srv.pid)
		direct := &target{name: b, backend: b, srv: srv, addr: srv.addr}
		targets = append(targets, direct)
		if ro.Delay > 0 {
			p, err := delayproxy.Start(ctx, "127.0.0.1:0", srv.addr, ro.Delay)
			if err != nil {
				return res, err
			}
			proxies = append(proxies, p)
			targets = append(targets, &target{name: fmt.Sprintf("%s +%dms", b, 2*ro.Delay.Milliseconds()), backend: b, srv: srv, addr: p.Addr()})
			o.logf("delay proxy %s -> %s, %v each way", p.Addr(), srv.addr, ro.Delay)
		}
		if b == "sftp" {
			known := filepath.Join(srv.dir, "known_hosts")
			var addrs []string
			for _, tg := range targets {
				if tg.srv == srv {
					addrs = append(addrs, tg.addr)
					tg.known = known
				}
			}
			if err := srv.knownHosts(known, addrs...); err != nil {
				return res, err
			}
		}
	}
	if len(targets) == 0 {
		return res, errors.New("harness: no server could be started")
	}
	for _, tg := range targets {
		res.Targets = append(res.Targets, tg.name)
		res.Measures[tg.name] = map[string]map[string][]RemoteMeasure{}
		for _, t := range tools {
			res.Measures[tg.name][t.name] = map[string][]RemoteMeasure{}
		}
	}

	src := filepath.Join(work, "src")
	var dres Result
	if err := o.prepareDataset(src, &dres); err != nil {
		return res, err
	}
	res.Dataset = dres.Dataset

	for run := 0; run < ro.Runs; run++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		order := make([]*remoteTool, len(tools))
		for i := range tools {
			order[i] = tools[(i+run)%len(tools)]
		}
		load := "before: " + uptime()
		o.logf("run %d/%d, order %s; %s", run+1, ro.Runs, toolNames(order), load)
		failed := map[string]bool{} // target/tool that failed this run
		key := func(tg *target, t *remoteTool) string { return tg.name + "/" + t.name }
		home := func(tg *target, t *remoteTool) string {
			return filepath.Join(work, "home", fmt.Sprintf("run%d-%s-%s", run+1, strings.ReplaceAll(tg.name, " ", ""), t.name))
		}
		record := func(tg *target, t *remoteTool, s string, m RemoteMeasure) {
			m.Run = run
			res.Measures[tg.name][t.name][s] = append(res.Measures[tg.name][t.name][s], m)
			if m.Err != "" {
				failed[key(tg, t)] = true
			}
		}

		// Day 0: init and first backup; day 1: day-1 backup; then the
		// restores. The tree is mutated once per run, not per target.
		if _, err := dataset.SyncTo(src, 0); err != nil {
			return res, err
		}
		readTree(src)
		for _, tg := range targets {
			for _, t := range order {
				h := home(tg, t)
				os.RemoveAll(h)
				os.MkdirAll(h, 0o755)
				_, dir := tg.location(t, run)
				os.RemoveAll(dir)
				m := o.remoteStep(ctx, work, run, tg, t, RStepInit, src, "", h)
				if m.Err != "" {
					record(tg, t, RStepInit, m)
					continue
				}
				readTree(src)
				settleBriefly()
				record(tg, t, RStepBackup, o.remoteStep(ctx, work, run, tg, t, RStepBackup, src, "", h))
			}
		}
		if _, err := dataset.SyncTo(src, 1); err != nil {
			return res, err
		}
		for _, tg := range targets {
			for _, t := range order {
				if failed[key(tg, t)] {
					continue
				}
				readTree(src)
				settleBriefly()
				m := o.remoteStep(ctx, work, run, tg, t, RStepDay1, src, "", home(tg, t))
				_, dir := tg.location(t, run)
				m.RepoBytes = DirBytes(dir)
				record(tg, t, RStepDay1, m)
			}
		}
		for _, tg := range targets {
			for _, t := range order {
				if failed[key(tg, t)] {
					continue
				}
				rdir := filepath.Join(work, "restore", "current")
				os.RemoveAll(rdir)
				os.MkdirAll(rdir, 0o755)
				_, dir := tg.location(t, run)
				readTree(dir)
				settleBriefly()
				m := o.remoteStep(ctx, work, run, tg, t, RStepRestore, src, rdir, home(tg, t))
				if m.Err == "" {
					var e toolEnv
					e.restore, e.src = rdir, src
					o.verify(&e, nil, &m.Measure)
					if !*m.Verified {
						m.Err = "restored tree differs: " + strings.Join(m.Diffs, "; ")
					}
				}
				record(tg, t, RStepRestore, m)
				// Kept, not deleted, until the end of the run: see
				// keepRestored for what a deletion costs the next restore.
				keepRestored(rdir, filepath.Join(work, "restore", fmt.Sprintf("kept-run%d-%s-%s", run+1, strings.ReplaceAll(tg.name, " ", ""), t.name)))
			}
		}
		load += "; after: " + uptime()
		res.LoadRuns = append(res.LoadRuns, fmt.Sprintf("run %d (%s): %s", run+1, toolNames(order), load))
		// The run's repositories and restored trees go; the next run's
		// first restore is several minutes of backups away.
		for _, tg := range targets {
			for _, t := range order {
				_, dir := tg.location(t, run)
				os.RemoveAll(dir)
			}
		}
		kept, _ := filepath.Glob(filepath.Join(work, "restore", fmt.Sprintf("kept-run%d-*", run+1)))
		for _, k := range kept {
			os.RemoveAll(k)
		}
		if ro.AfterRun != nil {
			res.Elapsed = time.Since(res.Started).Seconds()
			ro.AfterRun(res)
		}
	}
	for _, t := range tools {
		if t.name == "restic" && !strings.HasPrefix(t.version, "restic 0.19") {
			res.Notes = append(res.Notes, fmt.Sprintf("restic is %q, not the 0.19.1 the issue names", t.version))
		}
	}
	if _, err := dataset.SyncTo(src, 0); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(res.Started).Seconds()
	return res, nil
}

// remoteTools finds cadang and restic.
func (o *Options) remoteTools(ctx context.Context, names []string, restic string, install bool, binDir string) ([]*remoteTool, []string) {
	var tools []*remoteTool
	var notes []string
	for _, n := range names {
		switch n {
		case "cadang":
			bin, note := o.cadangBinary(ctx, binDir)
			if note != "" {
				notes = append(notes, note)
			}
			if bin != "" {
				tools = append(tools, &remoteTool{name: "cadang", bin: bin, cadang: true, version: toolVersion(bin, "--version")})
			}
		case "restic":
			po := PruneOptions{Restic: restic, Install: install}
			bin, note := po.resticBinary(ctx, o, binDir)
			if note != "" {
				notes = append(notes, note)
			}
			if bin != "" {
				tools = append(tools, &remoteTool{name: "restic", bin: bin, version: toolVersion(bin, "version")})
			}
		default:
			notes = append(notes, fmt.Sprintf("unknown tool %q ignored (cadang, restic)", n))
		}
	}
	return tools, notes
}

func remoteSettings(t *remoteTool) string {
	if t.cadang {
		return "defaults: S3 and SFTP backends with 5 requests in flight (s3.DefaultConnections, sftp.DefaultConnections; no command-line flag sets them)"
	}
	return "defaults: -o s3.connections=5, -o sftp.connections=5, compression auto; SFTP through ssh(1) via -o sftp.command"
}

// remoteStep runs and measures one step, with the server's CPU time.
func (o *Options) remoteStep(ctx context.Context, work string, run int, tg *target, t *remoteTool, s, src, restore, home string) RemoteMeasure {
	var m RemoteMeasure
	argv, env := tg.argv(t, run, s, src, restore, home)
	env = append(os.Environ(), env...)
	logPath := filepath.Join(work, "logs", fmt.Sprintf("run%d-%s-%s-%s.log", run+1, strings.NewReplacer(" ", "", "+", "d").Replace(tg.name),
		t.name, strings.NewReplacer(" ", "-", "/", "").Replace(s)))
	logf, err := os.Create(logPath)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	defer logf.Close()
	m.Load1 = loadAvg()
	tg.srv.waitChildren()
	srv0, self0 := tg.srv.cpuSeconds(), selfCPU()
	o.measureArgv(ctx, argv, env, work, logf, logPath, &m.Measure)
	self1 := selfCPU()
	tg.srv.waitChildren()
	m.ServerCPU, m.ProxyCPU = tg.srv.cpuSeconds()-srv0, self1-self0
	status := "ok"
	if m.Err != "" {
		status = "FAILED: " + m.Err
	}
	o.logf("  %-10s %-7s %-13s wall %7.2fs  cpu %7.2fs  server %6.2fs  proxy %5.2fs  load %4.1f  %s", tg.name, t.name, s,
		m.Wall, m.CPU(), m.ServerCPU, m.ProxyCPU, m.Load1, status)
	return m
}

func toolNames(ts []*remoteTool) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.name)
	}
	return strings.Join(n, ",")
}

// uptime is the load part of uptime(1): "load average: 1.00, 0.50, 0.20".
func uptime() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load unknown"
	}
	return fmt.Sprintf("load average: %s, %s, %s", f[0], f[1], f[2])
}

// moduleVersion is the main module's version that `go version -m`
// reads from a Go binary (versitygw --version says only "git").
func moduleVersion(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" {
			return f[2]
		}
	}
	return "unknown"
}

// sshdVersion is what `sshd -V` prints (on stderr, with exit status 1).
func sshdVersion() string {
	out, _ := exec.Command("/usr/sbin/sshd", "-V").CombinedOutput()
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// ratioStats are per-run ratios a/b: their median, min and max, and how
// many runs had both.
type ratioStats struct {
	Median, Min, Max float64
	N                int
}

func perRunRatios(a, b []RemoteMeasure, f func(RemoteMeasure) float64) ratioStats {
	byRun := map[int]RemoteMeasure{}
	for _, m := range b {
		if m.Err == "" {
			byRun[m.Run] = m
		}
	}
	var rs []float64
	for _, m := range a {
		if m.Err != "" {
			continue
		}
		if mb, ok := byRun[m.Run]; ok && f(mb) > 0 {
			rs = append(rs, f(m)/f(mb))
		}
	}
	if len(rs) == 0 {
		return ratioStats{}
	}
	sort.Float64s(rs)
	return ratioStats{Median: median(rs), Min: rs[0], Max: rs[len(rs)-1], N: len(rs)}
}

func (r ratioStats) String() string {
	switch r.N {
	case 0:
		return "–"
	case 1:
		return fmt.Sprintf("%.2f", r.Median)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", r.Median, r.Min, r.Max)
}

func medianRM(ms []RemoteMeasure, f func(RemoteMeasure) float64) (float64, bool) {
	var xs []float64
	for _, m := range ms {
		if m.Err == "" {
			xs = append(xs, f(m))
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

// stepBytes is the data a step moves: the day-0 tree for the first
// backup, the day-1 tree for the day-1 backup (it reads all of it) and
// for the restore.
func (r *RemoteResult) stepBytes(s string) float64 {
	if s == RStepBackup {
		return float64(r.Dataset.Day0Bytes)
	}
	return float64(r.Dataset.Day1Bytes)
}

// Markdown renders the report: per target, cadang against restic with
// per-run ratios; then throughput with and without the delay.
func (r *RemoteResult) Markdown(command string) string {
	var b strings.Builder
	ro := r.Options
	fmt.Fprintf(&b, "Remote-backend benchmark, %s. `%s`\n\n", r.Started.Format("2006-01-02 15:04 MST"), command)
	fmt.Fprintf(&b, "Host: %d CPUs (%s), %.1f GiB, Linux %s, %s. Dataset scale %g seed %d: day 0 %.1f MB in %d files, day 1 %.1f MB. "+
		"%d run(s), tools' order rotated per run; ratios are cadang/restic per run, median (min–max); other figures are medians. "+
		"Wall and CPU (user+system) are the client's; server CPU is versitygw's, or sshd's with its session processes. "+
		"Elapsed %.0f s.\n\n",
		r.Host.CPUs, r.Host.CPUModel, r.Host.MemGiB, r.Host.Kernel, runtime.Version(), ro.Scale, ro.Seed,
		float64(r.Dataset.Day0Bytes)/1e6, r.Dataset.Day0Files, float64(r.Dataset.Day1Bytes)/1e6, ro.Runs, r.Elapsed)
	wall := func(m RemoteMeasure) float64 { return m.Wall }
	cpu := func(m RemoteMeasure) float64 { return m.CPU() }
	scpu := func(m RemoteMeasure) float64 { return m.ServerCPU }
	rss := func(m RemoteMeasure) float64 { return float64(m.MaxRSS) / 1024 }
	fmtv := func(ms []RemoteMeasure, f func(RemoteMeasure) float64, format string) string {
		if v, ok := medianRM(ms, f); ok {
			return fmt.Sprintf(format, v)
		}
		return "–"
	}
	b.WriteString("| target | step | cadang wall (s) | restic wall (s) | **wall cadang/restic** | cadang CPU (s) | restic CPU (s) | CPU cadang/restic | " +
		"server CPU cadang / restic (s) | peak RSS cadang / restic (MiB) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, tg := range r.Targets {
		c, rs := r.Measures[tg]["cadang"], r.Measures[tg]["restic"]
		for _, s := range RemoteSteps {
			var cm, rm []RemoteMeasure
			if c != nil {
				cm = c[s]
			}
			if rs != nil {
				rm = rs[s]
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | **%s** | %s | %s | %s | %s / %s | %s / %s |\n", tg, s,
				fmtv(cm, wall, "%.2f"), fmtv(rm, wall, "%.2f"), perRunRatios(cm, rm, wall),
				fmtv(cm, cpu, "%.2f"), fmtv(rm, cpu, "%.2f"), perRunRatios(cm, rm, cpu),
				fmtv(cm, scpu, "%.2f"), fmtv(rm, scpu, "%.2f"), fmtv(cm, rss, "%.0f"), fmtv(rm, rss, "%.0f"))
		}
	}
	b.WriteString("\nThroughput (MB of the dataset per second of wall time; the day-1 backup reads the whole day-1 tree) " +
		"directly and through the delay proxy; the last column is delayed/direct, per run, median (min–max).\n\n")
	b.WriteString("| backend | tool | step | direct (MB/s) | +delay (MB/s) | delayed/direct wall |\n|---|---|---|---|---|---|\n")
	for _, tg := range r.Targets {
		if strings.Contains(tg, "+") {
			continue
		}
		var delayed string
		for _, t2 := range r.Targets {
			if strings.HasPrefix(t2, tg+" +") {
				delayed = t2
			}
		}
		for _, tool := range r.Tools {
			for _, s := range RemoteSteps {
				d := r.Measures[tg][tool.Name][s]
				var dl []RemoteMeasure
				if delayed != "" {
					dl = r.Measures[delayed][tool.Name][s]
				}
				tp := func(ms []RemoteMeasure) string {
					if v, ok := medianRM(ms, wall); ok && v > 0 {
						return fmt.Sprintf("%.1f", r.stepBytes(s)/1e6/v)
					}
					return "–"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", tg, tool.Name, s, tp(d), tp(dl), perRunRatios(dl, d, wall))
			}
		}
	}
	b.WriteString("\n")
	for _, tg := range r.Targets {
		for _, tool := range r.Tools {
			var repo, pcpu []float64
			for _, m := range r.Measures[tg][tool.Name][RStepDay1] {
				if m.Err == "" {
					repo = append(repo, float64(m.RepoBytes)/1e6)
				}
			}
			for _, s := range RemoteSteps {
				for _, m := range r.Measures[tg][tool.Name][s] {
					if m.Err == "" {
						pcpu = append(pcpu, m.ProxyCPU)
					}
				}
			}
			fmt.Fprintf(&b, "- %s, %s: repository after day 1 %.1f MB; harness/proxy CPU per step (median) %.2f s\n", tg, tool.Name, median(repo), median(pcpu))
			for _, s := range append([]string{RStepInit}, RemoteSteps...) {
				for _, m := range r.Measures[tg][tool.Name][s] {
					if m.Err != "" {
						fmt.Fprintf(&b, "  - run %d %s FAILED: %s\n", m.Run+1, s, m.Err)
					}
				}
			}
		}
	}
	for _, t := range r.Tools {
		fmt.Fprintf(&b, "- %s: %s (%s); %s\n", t.Name, t.Version, t.Bin, t.Settings)
	}
	for _, s := range r.Servers {
		fmt.Fprintf(&b, "- server: %s\n", s)
	}
	for _, l := range r.LoadRuns {
		fmt.Fprintf(&b, "- load: %s\n", l)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	return b.String()
}

// WriteJSON writes the raw result.
func (r *RemoteResult) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Failed reports whether any step of any tool failed (a restore that
// differs from the source counts as failed).
func (r *RemoteResult) Failed() bool {
	for _, byTool := range r.Measures {
		for _, bySteps := range byTool {
			for _, ms := range bySteps {
				for _, m := range ms {
					if m.Err != "" {
						return true
					}
				}
			}
		}
	}
	return false
}
