// Command resumebench measures what a first backup killed late costs the
// run after it (issue 14): for each tool, a fresh first backup of the LPSE
// dataset (time and repository size), then a first backup killed with
// SIGKILL once its repository's data has reached -kill-at of that size, then
// the re-run. It reports what the re-run added, as a share of the dataset,
// and its time, as a share of the fresh first backup's, per run, with the
// tools' order rotated between runs.
//
//	go run ./bench/cmd/resumebench -scale 1 -runs 3 -tools cadang,restic
//
// cadang is built from this checkout; restic must be on PATH (0.19.1:
// go install github.com/restic/restic/cmd/restic@v0.19.1).
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/bench/internal/dataset"
)

type tool struct {
	name string
	bin  string
}

func (t tool) env(repoDir string) []string {
	env := append(os.Environ(), "CADANG_PASSWORD=bench", "RESTIC_PASSWORD=bench", "CADANG_LOG="+repoDir+".runlog")
	return env
}

func (t tool) initArgv(repoDir string) []string {
	if t.name == "restic" {
		return []string{t.bin, "-r", repoDir, "init", "-q"}
	}
	return []string{t.bin, "-r", repoDir, "init"}
}

func (t tool) backupArgv(repoDir, src string) []string {
	if t.name == "restic" {
		return []string{t.bin, "-r", repoDir, "backup", "-q", src}
	}
	return []string{t.bin, "-r", repoDir, "backup", "-q", src}
}

// measure is one process: wall and CPU seconds.
type measure struct{ wall, cpu float64 }

func run(ctx context.Context, argv, env []string) (measure, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start).Seconds()}
	if cmd.ProcessState != nil {
		m.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return m, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
	return m, nil
}

func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// killAt starts a backup and kills it once the repository's data directory
// holds want bytes. It reports whether the kill came before the end.
func killAt(ctx context.Context, argv, env []string, dataDir string, want int64) (bool, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return false, nil
		case <-t.C:
			if dirBytes(dataDir) >= want {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return true, nil
			}
		}
	}
}

type row struct {
	tool                      string
	run                       int
	fresh, rerun              measure
	dataset, stored, added    int64
	killedAtShare, freshBytes float64
}

func main() {
	scale := flag.Float64("scale", 1, "dataset scale (1.0 is about 1 GB)")
	runs := flag.Int("runs", 3, "runs per tool")
	tools := flag.String("tools", "cadang,restic", "tools, in the first run's order")
	killShare := flag.Float64("kill-at", 0.9, "kill when the data directory reaches this share of a fresh backup's")
	work := flag.String("work", "", "work directory (default: a temporary one, removed at the end)")
	flag.Parse()
	ctx := context.Background()
	dir := *work
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "resumebench-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	}
	src := filepath.Join(dir, "lpse")
	if _, err := os.Stat(src); err != nil {
		st, err := dataset.Generate(src, dataset.Config{Seed: 1, Scale: *scale})
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "dataset: %.1f MB in %d files\n", float64(st.TotalBytes())/1e6, st.Written)
	}
	dsBytes := dirBytes(src)
	var ts []tool
	for _, name := range strings.Split(*tools, ",") {
		switch name {
		case "cadang":
			bin := filepath.Join(dir, "cadang")
			out, err := exec.Command("go", "build", "-o", bin, "./cmd/cadang").CombinedOutput()
			if err != nil {
				fail(fmt.Errorf("build cadang: %v\n%s", err, out))
			}
			ts = append(ts, tool{name, bin})
		default:
			bin, err := exec.LookPath(name)
			if err != nil {
				fmt.Fprintf(os.Stderr, "skipping %s: %v\n", name, err)
				continue
			}
			ts = append(ts, tool{name, bin})
		}
	}
	var rows []row
	for r := range *runs {
		for i := range ts {
			t := ts[(i+r)%len(ts)]
			rw, err := oneRun(ctx, t, dir, src, dsBytes, *killShare)
			if err != nil {
				fail(err)
			}
			rw.run = r + 1
			rows = append(rows, rw)
			fmt.Fprintf(os.Stderr, "run %d %s: killed at %.0f%% of the fresh data, re-run added %.1f%% of the dataset in %.0f%% of the fresh time\n",
				rw.run, t.name, 100*rw.killedAtShare, 100*float64(rw.added)/float64(rw.dataset), 100*rw.rerun.wall/rw.fresh.wall)
		}
	}
	fmt.Printf("| tool | run | fresh first backup (wall s / CPU s) | killed at (share of fresh data) | re-run (wall s / CPU s) | re-run / fresh (wall) | re-run added (share of dataset) |\n|---|---|---|---|---|---|---|\n")
	for _, rw := range rows {
		fmt.Printf("| %s | %d | %.2f / %.2f | %.0f%% | %.2f / %.2f | %.2f | %.1f%% |\n", rw.tool, rw.run, rw.fresh.wall, rw.fresh.cpu,
			100*rw.killedAtShare, rw.rerun.wall, rw.rerun.cpu, rw.rerun.wall/rw.fresh.wall, 100*float64(rw.added)/float64(rw.dataset))
	}
}

func oneRun(ctx context.Context, t tool, dir, src string, dsBytes int64, killShare float64) (row, error) {
	rw := row{tool: t.name, dataset: dsBytes}
	fresh := filepath.Join(dir, t.name+"-fresh")
	killed := filepath.Join(dir, t.name+"-killed")
	for _, d := range []string{fresh, killed} {
		os.RemoveAll(d)
		os.RemoveAll(d + ".runlog")
	}
	defer func() {
		os.RemoveAll(fresh)
		os.RemoveAll(killed)
	}()
	if _, err := run(ctx, t.initArgv(fresh), t.env(fresh)); err != nil {
		return rw, err
	}
	var err error
	if rw.fresh, err = run(ctx, t.backupArgv(fresh, src), t.env(fresh)); err != nil {
		return rw, err
	}
	freshData := dirBytes(filepath.Join(fresh, "data"))
	if _, err := run(ctx, t.initArgv(killed), t.env(killed)); err != nil {
		return rw, err
	}
	base := dirBytes(killed)
	killedEarly, err := killAt(ctx, t.backupArgv(killed, src), t.env(killed), filepath.Join(killed, "data"), int64(killShare*float64(freshData)))
	if err != nil {
		return rw, err
	}
	if !killedEarly {
		return rw, fmt.Errorf("%s: the backup ended before it reached %.0f%% of its data", t.name, 100*killShare)
	}
	afterKill := dirBytes(killed)
	rw.stored = afterKill - base
	rw.killedAtShare = float64(dirBytes(filepath.Join(killed, "data"))) / float64(freshData)
	if rw.rerun, err = run(ctx, t.backupArgv(killed, src), t.env(killed)); err != nil {
		return rw, err
	}
	rw.added = dirBytes(killed) - afterKill
	return rw, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "resumebench:", err)
	os.Exit(1)
}
