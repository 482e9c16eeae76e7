// Command streambench measures whether one large stream backs up as fast as
// the same bytes in many files (issue 16, "one large dump on every core").
//
// For each kind of data (sql: the plain-format dump of bench/internal/dataset;
// random: incompressible bytes) it writes one file of -size bytes and the
// same bytes split into -files files, then, in every run, backs up each
// into a fresh repository, in an order that rotates between runs:
//
//   - stream: cadang backup --stdin-from-command -- cat FILE (one pipe, not
//     seekable, as a pg_dump would be);
//   - files: cadang backup DIR (the readers chunk several files at once);
//   - base (with -base BINARY): the stream again with another cadang build,
//     for a before/after comparison.
//
// It reports wall and CPU time per step and the ratio stream/files of each
// run. Then it checks deduplication: a second backup of the stream into the
// stream's repository, and one chunked sequentially (on one core, where
// cadang does not chunk in parallel), must add no data; it reports the bytes
// each added to the repository (trees, index and snapshot only).
//
//	go run ./bench/cmd/streambench -work /var/tmp/streambench -size 1GB -runs 5
//
// -cpus 2,1 runs everything for each number of cores (taskset -c 0-N-1).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lpse/cadang/bench/internal/dataset"
	"github.com/lpse/cadang/bench/internal/harness"
)

type config struct {
	work, cadang, base string
	size               int64
	files, runs        int
	kinds              []string
	cpus               []int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.work, "work", filepath.Join(os.TempDir(), "cadang-streambench"), "directory for the data and repositories")
	flag.StringVar(&cfg.cadang, "cadang", "", "cadang binary (default: go build ./cmd/cadang into -work)")
	flag.StringVar(&cfg.base, "base", "", "another cadang binary whose stream backup is timed too (a build before a change)")
	size := flag.String("size", "1GB", "bytes of each stream (suffix KB, MB, GB: powers of 1000)")
	flag.IntVar(&cfg.files, "files", 16, "files the same bytes are split into")
	flag.IntVar(&cfg.runs, "runs", 3, "runs (the order of the steps rotates)")
	kinds := flag.String("kinds", "sql,random", "kinds of data")
	cpus := flag.String("cpus", "", "comma-separated core counts to run on with taskset (default: all cores, no taskset)")
	flag.Parse()
	var err error
	if cfg.size, err = parseSize(*size); err != nil {
		fail(err)
	}
	cfg.kinds = strings.Split(*kinds, ",")
	for _, c := range strings.Split(*cpus, ",") {
		if c = strings.TrimSpace(c); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 {
				fail(fmt.Errorf("bad -cpus %q", *cpus))
			}
			cfg.cpus = append(cfg.cpus, n)
		}
	}
	if len(cfg.cpus) == 0 {
		cfg.cpus = []int{0}
	}
	if err := run(cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "streambench:", err)
	os.Exit(1)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(n * float64(mult)), nil
}

func run(cfg config) error {
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return err
	}
	if cfg.cadang == "" {
		cfg.cadang = filepath.Join(cfg.work, "cadang")
		build := exec.Command("go", "build", "-o", cfg.cadang, "./cmd/cadang")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build cadang: %w", err)
		}
	}
	fmt.Printf("streambench: %s, %d bytes per stream, %d files, %d runs, cadang %s, base %q\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cfg.size, cfg.files, cfg.runs, cfg.cadang, cfg.base)
	for _, kind := range cfg.kinds {
		if err := prepare(cfg, kind); err != nil {
			return fmt.Errorf("prepare %s: %w", kind, err)
		}
	}
	for _, cpus := range cfg.cpus {
		for _, kind := range cfg.kinds {
			if err := bench(cfg, kind, cpus); err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
		}
	}
	return nil
}

func streamPath(cfg config, kind string) string { return filepath.Join(cfg.work, kind, "stream") }
func splitDir(cfg config, kind string) string   { return filepath.Join(cfg.work, kind, "files") }

// prepare writes the stream and its split copy, unless they exist with the
// right size.
func prepare(cfg config, kind string) error {
	p := streamPath(cfg, kind)
	if fi, err := os.Stat(p); err != nil || fi.Size() != cfg.size {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch kind {
		case "sql":
			// The dump at scale 1 is 299 MB; write a bit more and cut it.
			c := dataset.Config{Seed: 1, Scale: float64(cfg.size) / 280e6}
			if _, err := dataset.WriteDump(p, c, 0); err != nil {
				return err
			}
			if err := os.Truncate(p, cfg.size); err != nil {
				return err
			}
		case "random":
			if err := writeRandom(p, cfg.size); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown kind %q", kind)
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != cfg.size {
			return fmt.Errorf("%s: not %d bytes", p, cfg.size)
		}
		if err := os.RemoveAll(splitDir(cfg, kind)); err != nil {
			return err
		}
	}
	return split(p, splitDir(cfg, kind), cfg.size, cfg.files)
}

func writeRandom(p string, size int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(16, 1))
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// split copies the stream into n files of (nearly) equal size.
func split(p, dir string, size int64, n int) error {
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("part%03d", n-1))); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	for i := range n {
		part := size/int64(n) + map[bool]int64{true: size % int64(n), false: 0}[i == n-1]
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("part%03d", i)))
		if err != nil {
			return err
		}
		if _, err := io.CopyN(out, in, part); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	return nil
}

type measure struct {
	wall, user, sys float64
	rssKiB          int64
}

func (m measure) cpu() float64 { return m.user + m.sys }

func (m measure) String() string {
	return fmt.Sprintf("%.2f (%.2f, %.0f)", m.wall, m.cpu(), float64(m.rssKiB)/1024)
}

type step struct {
	name string
	run  func(repo string) (measure, error)
}

func bench(cfg config, kind string, cpus int) error {
	env := append(os.Environ(), "CADANG_PASSWORD=streambench")
	var prefix []string
	where := "all cores"
	if cpus > 0 {
		prefix = []string{"taskset", "-c", fmt.Sprintf("0-%d", cpus-1)}
		where = fmt.Sprintf("%d core(s), taskset -c 0-%d", cpus, cpus-1)
	}
	streamArgv := func(bin string) []string {
		return append(slices.Clone(prefix), bin, "backup", "--quiet", "--stdin-from-command", "--stdin-filename", "dump", "--", "cat", streamPath(cfg, kind))
	}
	steps := []step{
		{"stream", func(repo string) (measure, error) { return timed(env, repo, streamArgv(cfg.cadang)...) }},
		{"files", func(repo string) (measure, error) {
			return timed(env, repo, append(slices.Clone(prefix), cfg.cadang, "backup", "--quiet", splitDir(cfg, kind))...)
		}},
	}
	if cfg.base != "" {
		steps = append(steps, step{"base", func(repo string) (measure, error) { return timed(env, repo, streamArgv(cfg.base)...) }})
	}
	fmt.Printf("\n%s, %s:\n\n", kind, where)
	fmt.Printf("| run | order | stream s (CPU s, RSS MiB) | files s (CPU s, RSS MiB) |%s stream/files |%s\n", cond(cfg.base != "", " base stream s (CPU s, RSS MiB) |"), cond(cfg.base != "", " base/files |"))
	fmt.Printf("|---:|---|---:|---:|%s---:|%s\n", cond(cfg.base != "", "---:|"), cond(cfg.base != "", "---:|"))
	var ratios, baseRatios []float64
	for i := range cfg.runs {
		order := slices.Clone(steps)
		for range i % len(order) {
			order = append(order[1:], order[0])
		}
		ms := map[string]measure{}
		var names []string
		for _, s := range order {
			repo := filepath.Join(cfg.work, "repo-"+s.name)
			if err := initRepo(env, cfg.cadang, repo); err != nil {
				return err
			}
			m, err := s.run(repo)
			if err != nil {
				return err
			}
			ms[s.name] = m
			names = append(names, s.name)
			os.RemoveAll(repo)
		}
		r := ms["stream"].wall / ms["files"].wall
		ratios = append(ratios, r)
		line := fmt.Sprintf("| %d | %s | %s | %s |", i+1, strings.Join(names, ", "), ms["stream"], ms["files"])
		if cfg.base != "" {
			br := ms["base"].wall / ms["files"].wall
			baseRatios = append(baseRatios, br)
			line += fmt.Sprintf(" %s |", ms["base"])
		}
		line += fmt.Sprintf(" **%.3f** |", r)
		if cfg.base != "" {
			line += fmt.Sprintf(" %.3f |", baseRatios[len(baseRatios)-1])
		}
		fmt.Println(line)
	}
	fmt.Printf("\nstream/files per run: %s; median %.3f\n", list(ratios), median(ratios))
	if cfg.base != "" {
		fmt.Printf("base stream/files per run: %s; median %.3f\n", list(baseRatios), median(baseRatios))
	}
	return dedup(cfg, kind, env, prefix, streamArgv)
}

// dedup backs up the stream three times into one repository: as measured
// (parallel chunking where there are cores), again the same way, and on one
// core (sequential chunking). The second and third must add no data blob.
func dedup(cfg config, kind string, env, prefix []string, streamArgv func(string) []string) error {
	repo := filepath.Join(cfg.work, "repo-dedup")
	defer os.RemoveAll(repo)
	if err := initRepo(env, cfg.cadang, repo); err != nil {
		return err
	}
	one := append([]string{"taskset", "-c", "0"}, streamArgv(cfg.cadang)[len(prefix):]...)
	var out []string
	for _, s := range []struct {
		name string
		argv []string
	}{{"first", streamArgv(cfg.cadang)}, {"again", streamArgv(cfg.cadang)}, {"one core (sequential chunking)", one}} {
		before := harness.DirBytes(repo)
		m, err := timed(env, repo, s.argv...)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s: +%d bytes in %.2f s", s.name, harness.DirBytes(repo)-before, m.wall))
	}
	fmt.Printf("deduplication, one repository: %s\n", strings.Join(out, "; "))
	return nil
}

func initRepo(env []string, bin, repo string) error {
	os.RemoveAll(repo)
	cmd := exec.Command(bin, "-r", repo, "init")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("init: %w: %s", err, out)
	}
	return nil
}

// timed runs argv (a cadang command, perhaps after taskset) on repo under
// GNU time and returns its wall, CPU and peak RSS.
func timed(env []string, repo string, argv ...string) (measure, error) {
	// -r goes right after the binary, which follows any taskset prefix.
	i := slices.IndexFunc(argv, func(a string) bool { return a == "backup" })
	argv = slices.Insert(slices.Clone(argv), i, "-r", repo)
	t, err := harness.Timed(env, argv...)
	return measure{wall: t.Wall, user: t.User, sys: t.Sys, rssKiB: t.RSSKiB}, err
}

func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func list(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(s, ", ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
