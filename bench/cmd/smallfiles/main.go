// Command smallfiles is the scale benchmark for many small files: for each
// file count it writes a tree of unique small files, backs it up with
// cadang into a fresh repository, backs it up again unchanged, restores it,
// and reports time, peak memory, and bytes per file and per blob, so that
// growth with the file count can be read off (it must not be worse than
// linear). With restic (the default when it is found; -restic PATH, or
// -tools cadang to leave it out) every step is run by both tools one after
// the other, in an order that rotates between runs, and the report gives
// cadang/restic per run (issue 16).
//
//	go run ./bench/cmd/smallfiles -files 100000,300000,1000000 -work /var/tmp/smallfiles
//
// Files are 100 B to 8 KiB (median ~1 KiB), half text and half random,
// 1,000 to a directory, every one different, so each is one data blob and
// the index holds one entry per file. The tree for each count is kept in
// -work and reused by the next invocation.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lpse/cadang/bench/internal/harness"
)

func main() {
	files := flag.String("files", "100000,300000,1000000", "comma-separated file counts")
	work := flag.String("work", filepath.Join(os.TempDir(), "cadang-smallfiles"), "directory for the trees and repositories")
	cadang := flag.String("cadang", "", "cadang binary (default: go build ./cmd/cadang into -work)")
	keep := flag.Bool("keep", false, "keep the repositories")
	restic := flag.String("restic", "", "restic binary (default: $(go env GOPATH)/bin/restic, else restic on PATH)")
	tools := flag.String("tools", "cadang,restic", "tools, in the order of the first run (the order rotates between runs)")
	runs := flag.Int("runs", 1, "repetitions of every step for every file count")
	flag.Parse()
	cfg := config{work: *work, cadang: *cadang, keep: *keep, runs: max(1, *runs)}
	for _, t := range strings.Split(*tools, ",") {
		switch t = strings.TrimSpace(t); t {
		case "cadang", "restic":
			cfg.tools = append(cfg.tools, t)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "smallfiles: unknown tool %q\n", t)
			os.Exit(2)
		}
	}
	if slices.Contains(cfg.tools, "restic") {
		if cfg.restic = harness.ResticBinary(*restic); cfg.restic == "" {
			fmt.Fprintln(os.Stderr, "smallfiles: restic not found: restic left out (go install github.com/restic/restic/cmd/restic@v0.19.1)")
			cfg.tools = slices.DeleteFunc(cfg.tools, func(t string) bool { return t == "restic" })
		}
	}
	if err := run(cfg, *files); err != nil {
		fmt.Fprintln(os.Stderr, "smallfiles:", err)
		os.Exit(1)
	}
}

type config struct {
	work, cadang, restic string
	keep                 bool
	runs                 int
	tools                []string
}

// The steps every tool runs, in this order, each by every tool before the
// next step.
const (
	stepFirst   = "first backup"
	stepRerun   = "unchanged re-run"
	stepRestore = "restore"
)

var steps = []string{stepFirst, stepRerun, stepRestore}

type result struct {
	Files                 int
	TreeBytes             int64
	Gen                   time.Duration
	First, Rerun          measure // cadang's, of the last run
	RepoBytes, IndexBytes int64
	TreePackBytes         int64
	DataBlobs, TreeBlobs  int64
	SnapshotsRSS          measure // `cadang snapshots`: open + index load only
	// Runs holds every tool's measures per step, one per run.
	Runs map[string]map[string][]measure
}

type measure struct {
	Wall, User, Sys float64
	RSSKiB          int64
	Position        int // place in the run's order, 1-based
}

func (m measure) cpu() float64 { return m.User + m.Sys }

func run(cfg config, list string) error {
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return err
	}
	if cfg.cadang == "" {
		cfg.cadang = filepath.Join(cfg.work, "cadang")
		b := exec.Command("go", "build", "-o", cfg.cadang, "./cmd/cadang")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/cadang (run from the module root or give -cadang): %w", err)
		}
	}
	// Restored trees are kept until the end: deleting one just before the
	// next restore makes that restore pay for it (bench/README.md, "What
	// the harness runs").
	kept := filepath.Join(cfg.work, "restored")
	os.RemoveAll(kept)
	if !cfg.keep {
		defer os.RemoveAll(kept)
	}
	var results []result
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-files: bad count %q", f)
		}
		res, err := one(cfg, n)
		if err != nil {
			return fmt.Errorf("%d files: %w", n, err)
		}
		results = append(results, res)
		fmt.Fprintf(os.Stderr, "%d files: first %.1f s, re-run %.2f s, RSS %d / %d MiB\n", n, res.First.Wall, res.Rerun.Wall, res.First.RSSKiB>>10, res.Rerun.RSSKiB>>10)
	}
	report(os.Stdout, cfg, results)
	return nil
}

// toolRun is one tool's repository and environment in one run.
type toolRun struct {
	name, repo, target string
	env                []string
	argv               func(step string) []string
}

func newToolRun(cfg config, tool string, n, run int) toolRun {
	base := filepath.Join(cfg.work, fmt.Sprintf("%s-%d", tool, n))
	t := toolRun{name: tool, repo: base + "-repo",
		target: filepath.Join(cfg.work, "restored", fmt.Sprintf("%d-run%d-%s", n, run+1, tool))}
	src := filepath.Join(cfg.work, fmt.Sprintf("src-%d", n))
	switch tool {
	case "cadang":
		t.env = append(os.Environ(), "CADANG_PASSWORD=smallfiles", "CADANG_LOG="+filepath.Join(cfg.work, "runlog.jsonl"))
		t.argv = func(step string) []string {
			switch step {
			case "init":
				return []string{cfg.cadang, "-r", t.repo, "init"}
			case stepRestore:
				return []string{cfg.cadang, "-r", t.repo, "restore", "latest", "--target", t.target}
			}
			return []string{cfg.cadang, "-r", t.repo, "backup", "--quiet", src}
		}
	case "restic":
		t.env = append(os.Environ(), "RESTIC_PASSWORD=smallfiles", "RESTIC_REPOSITORY="+t.repo,
			"RESTIC_CACHE_DIR="+base+"-cache")
		t.argv = func(step string) []string {
			switch step {
			case "init":
				return []string{cfg.restic, "init"}
			case stepRestore:
				return []string{cfg.restic, "restore", "latest", "--target", t.target}
			}
			return []string{cfg.restic, "backup", "--quiet", src}
		}
	}
	return t
}

func one(cfg config, n int) (result, error) {
	res := result{Files: n, Runs: map[string]map[string][]measure{}}
	src := filepath.Join(cfg.work, fmt.Sprintf("src-%d", n))
	if _, err := os.Stat(filepath.Join(src, ".complete")); err != nil {
		os.RemoveAll(src)
		t := time.Now()
		if err := generate(src, n); err != nil {
			return res, err
		}
		res.Gen = time.Since(t)
	}
	res.TreeBytes = harness.DirBytes(src)
	want, err := treeSum(src)
	if err != nil {
		return res, err
	}
	for _, tool := range cfg.tools {
		res.Runs[tool] = map[string][]measure{}
	}
	var cadangRepo string
	for run := 0; run < cfg.runs; run++ {
		// Rotate the order so that no tool always goes first.
		order := append(slices.Clone(cfg.tools[run%len(cfg.tools):]), cfg.tools[:run%len(cfg.tools)]...)
		var trs []toolRun
		for _, tool := range order {
			tr := newToolRun(cfg, tool, n, run)
			os.RemoveAll(tr.repo)
			if _, err := timed(tr.env, tr.argv("init")...); err != nil {
				return res, fmt.Errorf("%s init: %w", tool, err)
			}
			trs = append(trs, tr)
			if tool == "cadang" {
				cadangRepo = tr.repo
			}
		}
		for _, step := range steps {
			for i, tr := range trs {
				syscall.Sync() // no tool pays for the previous one's writeback
				m, err := timed(tr.env, tr.argv(step)...)
				if err != nil {
					return res, fmt.Errorf("run %d, %s %s: %w", run+1, tr.name, step, err)
				}
				m.Position = i + 1
				if step == stepRestore {
					got, err := treeSum(filepath.Join(tr.target, src))
					if err != nil || got != want {
						return res, fmt.Errorf("run %d, %s restore: restored tree has %+v, want %+v (%v)", run+1, tr.name, got, want, err)
					}
				}
				res.Runs[tr.name][step] = append(res.Runs[tr.name][step], m)
				fmt.Fprintf(os.Stderr, "%d files, run %d: %-6s %-16s wall %7.2f s  cpu %7.2f s  rss %5d MiB\n", n, run+1, tr.name, step, m.Wall, m.cpu(), m.RSSKiB>>10)
			}
		}
		if run < cfg.runs-1 {
			for _, tr := range trs {
				if !cfg.keep || tr.name != "cadang" {
					os.RemoveAll(tr.repo)
				}
			}
		}
	}
	defer func() {
		if !cfg.keep {
			for _, tool := range cfg.tools {
				t := newToolRun(cfg, tool, n, 0)
				os.RemoveAll(t.repo)
				os.RemoveAll(strings.TrimSuffix(t.repo, "-repo") + "-cache")
			}
		}
	}()
	if ms := res.Runs["cadang"]; ms != nil {
		res.First, res.Rerun = ms[stepFirst][len(ms[stepFirst])-1], ms[stepRerun][len(ms[stepRerun])-1]
	}
	if cadangRepo == "" {
		return res, nil
	}
	env := append(os.Environ(), "CADANG_PASSWORD=smallfiles", "CADANG_LOG="+filepath.Join(cfg.work, "runlog.jsonl"))
	if res.SnapshotsRSS, err = timed(env, cfg.cadang, "-r", cadangRepo, "snapshots"); err != nil {
		return res, err
	}
	cmd := exec.Command(cfg.cadang, "-r", cadangRepo, "stats", "--json", "latest")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("stats: %w", err)
	}
	var st struct {
		DataBlobs int64 `json:"data_blobs"`
		TreeBlobs int64 `json:"tree_blobs"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return res, fmt.Errorf("stats: %w", err)
	}
	res.DataBlobs, res.TreeBlobs = st.DataBlobs, st.TreeBlobs
	res.RepoBytes = harness.DirBytes(cadangRepo)
	res.IndexBytes = harness.DirBytes(filepath.Join(cadangRepo, "index"))
	res.TreePackBytes = treePackBytes(env, cfg.cadang, cadangRepo)
	return res, nil
}

// sum is what a restore is checked against: the regular files under a
// tree, their bytes, and a hash of every file's path, size and content.
type sum struct {
	Files int
	Bytes int64
	Hash  [32]byte
}

// treeSum hashes every regular file's relative path, size and content in
// walk order (lexical, so the same for the source and a restore).
func treeSum(dir string) (sum, error) {
	var s sum
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || d.Name() == ".complete" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		s.Files++
		s.Bytes += int64(len(b))
		return nil
	})
	copy(s.Hash[:], h.Sum(nil))
	return s, err
}

// treePackBytes sums the stored sizes of the tree blobs, from `cadang cat
// index ID` of every index file.
func treePackBytes(env []string, cadang, repo string) int64 {
	ents, err := os.ReadDir(filepath.Join(repo, "index"))
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		cmd := exec.Command(cadang, "-r", repo, "cat", "index", e.Name())
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return 0
		}
		var packs []struct {
			Blobs []struct {
				Type   int   `json:"type"`
				Length int64 `json:"length"`
			} `json:"blobs"`
		}
		if json.Unmarshal(out, &packs) != nil {
			return 0
		}
		for _, p := range packs {
			for _, b := range p.Blobs {
				if b.Type == 2 { // repo.TreeBlob
					n += b.Length
				}
			}
		}
	}
	return n
}

// generate writes n unique files of 100 B to 8 KiB, 1,000 per directory.
func generate(dir string, n int) error {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	dirs := (n + 999) / 1000
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8<<10)
			for d := w; d < dirs; d += workers {
				sub := filepath.Join(dir, fmt.Sprintf("d%04d", d))
				if err := os.MkdirAll(sub, 0o755); err != nil {
					errs <- err
					return
				}
				for i := d * 1000; i < min(n, (d+1)*1000); i++ {
					rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
					// Log-uniform size: many small, a few larger.
					size := min(int(100*math.Pow(82, rng.Float64())), len(buf))
					b := buf[:size]
					if i%2 == 0 {
						for j := range b {
							b[j] = byte(rng.Uint32())
						}
					} else {
						fillText(rng, b)
					}
					copy(b, fmt.Sprintf("file %d\n", i)) // unique even if short
					if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d.conf", i%1000)), b, 0o644); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}

var words = strings.Fields("server port host user password timeout enable true false log level info debug path " +
	"lpse spse paket lelang tender dokumen database postgres max_connections listen_addresses shared_buffers")

func fillText(rng *rand.Rand, b []byte) {
	var w bytes.Buffer
	for w.Len() < len(b) {
		fmt.Fprintf(&w, "%s.%s = %d\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000))
	}
	copy(b, w.Bytes())
}

// timed runs a command (harness.Timed) and returns its wall, CPU and RSS.
func timed(env []string, argv ...string) (measure, error) {
	t, err := harness.Timed(env, argv...)
	return measure{Wall: t.Wall, User: t.User, Sys: t.Sys, RSSKiB: t.RSSKiB}, err
}

func report(w *os.File, cfg config, rs []result) {
	fmt.Fprintf(w, "cadang (last run):\n\n")
	fmt.Fprintf(w, "| files | tree MB | first backup s (CPU s) | peak RSS MiB | re-run s (CPU s) | re-run RSS MiB | open+index RSS MiB | repo bytes/file | tree-blob bytes/file | index bytes/blob | data blobs | tree blobs |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %.0f | %.1f (%.1f) | %d | %.2f (%.2f) | %d | %d | %.0f | %.0f | %.1f | %d | %d |\n",
			r.Files, float64(r.TreeBytes)/1e6, r.First.Wall, r.First.User+r.First.Sys, r.First.RSSKiB>>10,
			r.Rerun.Wall, r.Rerun.User+r.Rerun.Sys, r.Rerun.RSSKiB>>10, r.SnapshotsRSS.RSSKiB>>10,
			float64(r.RepoBytes)/float64(r.Files), float64(r.TreePackBytes)/float64(r.Files),
			float64(r.IndexBytes)/float64(max(1, r.DataBlobs+r.TreeBlobs)), r.DataBlobs, r.TreeBlobs)
	}
	stepsTable(w, cfg, rs)
	if len(rs) < 2 {
		return
	}
	fmt.Fprintf(w, "\nGrowth between consecutive counts (per added file, cadang's median over runs):\n\n")
	fmt.Fprintf(w, "| from → to | re-run µs/file | re-run RSS bytes/file | first-backup RSS bytes/file | restore µs/file | restore RSS bytes/file |\n|---|---:|---:|---:|---:|---:|\n")
	med := func(r result, step string, f func(measure) float64) float64 {
		var xs []float64
		for _, m := range r.Runs["cadang"][step] {
			xs = append(xs, f(m))
		}
		return median(xs)
	}
	wall := func(m measure) float64 { return m.Wall }
	rss := func(m measure) float64 { return float64(m.RSSKiB) * 1024 }
	for i := 1; i < len(rs); i++ {
		a, b := rs[i-1], rs[i]
		df := float64(b.Files - a.Files)
		fmt.Fprintf(w, "| %d → %d | %.1f | %.0f | %.0f | %.1f | %.0f |\n", a.Files, b.Files,
			(med(b, stepRerun, wall)-med(a, stepRerun, wall))/df*1e6, (med(b, stepRerun, rss)-med(a, stepRerun, rss))/df,
			(med(b, stepFirst, rss)-med(a, stepFirst, rss))/df,
			(med(b, stepRestore, wall)-med(a, stepRestore, wall))/df*1e6, (med(b, stepRestore, rss)-med(a, stepRestore, rss))/df)
	}
}

// stepsTable prints every step of every tool, and cadang/restic per run:
// wall ratio, CPU ratio and RSS ratio, with the places in the order.
func stepsTable(w *os.File, cfg config, rs []result) {
	fmt.Fprintf(w, "\nEvery step, median over %d run(s) (min–max): wall s, CPU s, peak RSS MiB\n\n| files | step |", cfg.runs)
	for _, t := range cfg.tools {
		fmt.Fprintf(w, " %s |", t)
	}
	both := slices.Contains(cfg.tools, "cadang") && slices.Contains(cfg.tools, "restic")
	if both {
		fmt.Fprintf(w, " cadang/restic per run: wall; CPU; RSS [places] | wall ratio median (range) |")
	}
	fmt.Fprintf(w, "\n|---:|---|%s\n", strings.Repeat("---:|", len(cfg.tools)+2*btoi(both)))
	for _, r := range rs {
		for _, step := range steps {
			fmt.Fprintf(w, "| %d | %s |", r.Files, step)
			for _, t := range cfg.tools {
				ms := r.Runs[t][step]
				fmt.Fprintf(w, " %s; %s; %s |", spread(ms, func(m measure) float64 { return m.Wall }),
					spread(ms, measure.cpu), spread(ms, func(m measure) float64 { return float64(m.RSSKiB) / 1024 }))
			}
			if both {
				var cells []string
				var xs []float64
				c, p := r.Runs["cadang"][step], r.Runs["restic"][step]
				for i := 0; i < min(len(c), len(p)); i++ {
					xs = append(xs, c[i].Wall/p[i].Wall)
					cells = append(cells, fmt.Sprintf("%.2f; %.2f; %.2f [%d,%d]", c[i].Wall/p[i].Wall, c[i].cpu()/p[i].cpu(),
						float64(c[i].RSSKiB)/float64(p[i].RSSKiB), c[i].Position, p[i].Position))
				}
				sort.Float64s(xs)
				rng := "–"
				if len(xs) > 0 {
					rng = fmt.Sprintf("%.2f (%.2f–%.2f)", median(xs), xs[0], xs[len(xs)-1])
				}
				fmt.Fprintf(w, " %s | %s |", strings.Join(cells, " / "), rng)
			}
			fmt.Fprintln(w)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func spread(ms []measure, f func(measure) float64) string {
	if len(ms) == 0 {
		return "–"
	}
	var xs []float64
	for _, m := range ms {
		xs = append(xs, f(m))
	}
	sort.Float64s(xs)
	if len(xs) == 1 {
		return fmtNum(xs[0])
	}
	return fmt.Sprintf("%s (%s–%s)", fmtNum(median(xs)), fmtNum(xs[0]), fmtNum(xs[len(xs)-1]))
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
