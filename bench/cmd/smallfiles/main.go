// Command smallfiles is the scale benchmark for many small files: for each
// file count it writes a tree of unique small files, backs it up with
// cadang into a fresh repository, backs it up again unchanged, and reports
// time, peak memory, and bytes per file and per blob, so that growth with
// the file count can be read off (it must not be worse than linear).
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
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lpse/cadang/bench/internal/harness"
)

func main() {
	files := flag.String("files", "100000,300000,1000000", "comma-separated file counts")
	work := flag.String("work", filepath.Join(os.TempDir(), "cadang-smallfiles"), "directory for the trees and repositories")
	cadang := flag.String("cadang", "", "cadang binary (default: go build ./cmd/cadang into -work)")
	keep := flag.Bool("keep", false, "keep the repositories")
	flag.Parse()
	if err := run(*work, *files, *cadang, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "smallfiles:", err)
		os.Exit(1)
	}
}

type result struct {
	Files                 int
	TreeBytes             int64
	Gen                   time.Duration
	First, Rerun          measure
	RepoBytes, IndexBytes int64
	TreePackBytes         int64
	DataBlobs, TreeBlobs  int64
	SnapshotsRSS          measure // `cadang snapshots`: open + index load only
}

type measure struct {
	Wall, User, Sys float64
	RSSKiB          int64
}

func run(work, list, cadang string, keep bool) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if cadang == "" {
		cadang = filepath.Join(work, "cadang")
		b := exec.Command("go", "build", "-o", cadang, "./cmd/cadang")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/cadang (run from the module root or give -cadang): %w", err)
		}
	}
	var results []result
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-files: bad count %q", f)
		}
		res, err := one(work, cadang, n, keep)
		if err != nil {
			return fmt.Errorf("%d files: %w", n, err)
		}
		results = append(results, res)
		fmt.Fprintf(os.Stderr, "%d files: first %.1f s, re-run %.2f s, RSS %d / %d MiB\n", n, res.First.Wall, res.Rerun.Wall, res.First.RSSKiB>>10, res.Rerun.RSSKiB>>10)
	}
	report(os.Stdout, results)
	return nil
}

func one(work, cadang string, n int, keep bool) (result, error) {
	res := result{Files: n}
	src := filepath.Join(work, fmt.Sprintf("src-%d", n))
	if _, err := os.Stat(filepath.Join(src, ".complete")); err != nil {
		os.RemoveAll(src)
		t := time.Now()
		if err := generate(src, n); err != nil {
			return res, err
		}
		res.Gen = time.Since(t)
	}
	res.TreeBytes = harness.DirBytes(src)
	repo := filepath.Join(work, fmt.Sprintf("repo-%d", n))
	os.RemoveAll(repo)
	if !keep {
		defer os.RemoveAll(repo)
	}
	env := append(os.Environ(), "CADANG_PASSWORD=smallfiles", "CADANG_LOG="+filepath.Join(work, "runlog.jsonl"))
	if _, err := timed(env, cadang, "-r", repo, "init"); err != nil {
		return res, err
	}
	var err error
	if res.First, err = timed(env, cadang, "-r", repo, "backup", "--quiet", src); err != nil {
		return res, err
	}
	if res.Rerun, err = timed(env, cadang, "-r", repo, "backup", "--quiet", src); err != nil {
		return res, err
	}
	if res.SnapshotsRSS, err = timed(env, cadang, "-r", repo, "snapshots"); err != nil {
		return res, err
	}
	cmd := exec.Command(cadang, "-r", repo, "stats", "--json", "latest")
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
	res.RepoBytes = harness.DirBytes(repo)
	res.IndexBytes = harness.DirBytes(filepath.Join(repo, "index"))
	res.TreePackBytes = treePackBytes(env, cadang, repo)
	return res, nil
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

// timed runs a command under GNU time when there is one, for the child's
// own peak RSS, and returns its wall, CPU and RSS.
func timed(env []string, name string, args ...string) (measure, error) {
	var m measure
	tf, err := os.CreateTemp("", "smallfiles-time")
	if err != nil {
		return m, err
	}
	tf.Close()
	defer os.Remove(tf.Name())
	argv := append([]string{name}, args...)
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		argv = append([]string{"/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.Name()}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return m, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	m.Wall = time.Since(start).Seconds()
	if b, err := os.ReadFile(tf.Name()); err == nil && len(b) > 0 {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		fmt.Sscan(lines[len(lines)-1], &m.Wall, &m.User, &m.Sys, &m.RSSKiB)
	} else {
		m.User = cmd.ProcessState.UserTime().Seconds()
		m.Sys = cmd.ProcessState.SystemTime().Seconds()
	}
	return m, nil
}

func report(w *os.File, rs []result) {
	fmt.Fprintf(w, "| files | tree MB | first backup s (CPU s) | peak RSS MiB | re-run s (CPU s) | re-run RSS MiB | open+index RSS MiB | repo bytes/file | tree-blob bytes/file | index bytes/blob | data blobs | tree blobs |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %.0f | %.1f (%.1f) | %d | %.2f (%.2f) | %d | %d | %.0f | %.0f | %.1f | %d | %d |\n",
			r.Files, float64(r.TreeBytes)/1e6, r.First.Wall, r.First.User+r.First.Sys, r.First.RSSKiB>>10,
			r.Rerun.Wall, r.Rerun.User+r.Rerun.Sys, r.Rerun.RSSKiB>>10, r.SnapshotsRSS.RSSKiB>>10,
			float64(r.RepoBytes)/float64(r.Files), float64(r.TreePackBytes)/float64(r.Files),
			float64(r.IndexBytes)/float64(max(1, r.DataBlobs+r.TreeBlobs)), r.DataBlobs, r.TreeBlobs)
	}
	if len(rs) < 2 {
		return
	}
	fmt.Fprintf(w, "\nGrowth between consecutive counts (per added file):\n\n")
	fmt.Fprintf(w, "| from → to | re-run µs/file | re-run RSS bytes/file | first-backup RSS bytes/file |\n|---|---:|---:|---:|\n")
	for i := 1; i < len(rs); i++ {
		a, b := rs[i-1], rs[i]
		df := float64(b.Files - a.Files)
		fmt.Fprintf(w, "| %d → %d | %.1f | %.0f | %.0f |\n", a.Files, b.Files,
			(b.Rerun.Wall-a.Rerun.Wall)/df*1e6, float64(b.Rerun.RSSKiB-a.Rerun.RSSKiB)*1024/df,
			float64(b.First.RSSKiB-a.First.RSSKiB)*1024/df)
	}
}
