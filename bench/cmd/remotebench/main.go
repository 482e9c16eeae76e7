// Command remotebench measures cadang against restic 0.19.1 over remote
// backends and in copy (issue 12): first backup, day-1 backup and restore
// of the generated dataset to versitygw (S3) and OpenSSH (SFTP) on
// loopback, directly and through a delay proxy adding 10 ms each way, and
// `copy` of D daily snapshots between two local repositories that share
// chunker parameters. It starts and stops the servers itself. See
// bench/README.md, "Remote backends and copy (issue 12)".
//
//	go run ./bench/cmd/remotebench -scale 1 -runs 3 -copy-scale 0.3 -out /tmp/remote.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/bench/internal/harness"
)

func main() {
	var ro harness.RemoteOptions
	var co harness.CopyOptions
	work := flag.String("work", filepath.Join(os.TempDir(), "cadang-remotebench"), "work directory (datasets, servers' data, repositories, logs)")
	flag.Float64Var(&ro.Scale, "scale", 1, "dataset scale of the remote benchmark: 1.0 is about 1 GB")
	seed := flag.Uint64("seed", 1, "dataset seed")
	flag.IntVar(&ro.Runs, "runs", 3, "runs of the remote benchmark (the tools' order rotates)")
	backends := flag.String("backends", "s3,sftp", "remote backends to measure (s3, sftp); empty: skip the remote benchmark")
	flag.DurationVar(&ro.Delay, "delay", 10*time.Millisecond, "one-way delay of the delay proxy (a round trip gains twice this); negative: no delayed targets")
	flag.StringVar(&ro.Versitygw, "versitygw", "", "versitygw binary (default: on PATH, in WORK/bin or in $(go env GOPATH)/bin)")
	doCopy := flag.Bool("copy", true, "run the copy benchmark")
	flag.Float64Var(&co.Scale, "copy-scale", 0.3, "dataset scale of the copy benchmark")
	flag.IntVar(&co.Days, "copy-days", 30, "daily snapshots in the copy benchmark's source repositories")
	flag.IntVar(&co.Reps, "copy-reps", 3, "measured copies per tool (the order rotates)")
	tools := flag.String("tools", "cadang,restic", "tools, in order (cadang, restic)")
	cadang := flag.String("cadang", "auto", `cadang binary: "auto" (build ./cmd/cadang), "build" (must build), "off", or a path`)
	moduleRoot := flag.String("src", "", "cadang module root (default: found from the working directory)")
	restic := flag.String("restic", "", "restic binary (default: a restic 0.19.x on PATH, in WORK/bin or in $(go env GOPATH)/bin)")
	install := flag.Bool("install", true, "go install restic 0.19.1 / versitygw v1.8.0 into WORK/bin when missing")
	stepTimeout := flag.Duration("step-timeout", 30*time.Minute, "limit for one command")
	out := flag.String("out", "", "also write the Markdown report to this file")
	jsonOut := flag.String("json", "", "also write the raw measurements as JSON to this file (.remote.json and .copy.json are appended to its name without extension)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var toolList []string
	for _, t := range strings.Split(*tools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			toolList = append(toolList, t)
		}
	}
	for _, b := range strings.Split(*backends, ",") {
		if b = strings.TrimSpace(b); b != "" {
			ro.Backends = append(ro.Backends, b)
		}
	}
	ro.WorkDir, ro.Seed, ro.Tools, ro.Cadang, ro.ModuleRoot, ro.Restic, ro.Install, ro.StepTimeout, ro.Log =
		*work, *seed, toolList, *cadang, *moduleRoot, *restic, *install, *stepTimeout, os.Stderr
	co.WorkDir, co.Seed, co.Tools, co.Cadang, co.ModuleRoot, co.Restic, co.Install, co.StepTimeout, co.Log =
		*work, *seed, toolList, *cadang, *moduleRoot, *restic, *install, *stepTimeout, os.Stderr
	if *cadang == "auto" || *cadang == "build" {
		// Build once: the copy benchmark uses the remote one's binary.
		co.Cadang = filepath.Join(*work, "bin", "cadang")
	}

	// SIGTERM as well as ^C: the servers are stopped on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	command := strings.Join(os.Args, " ")
	var report strings.Builder
	failed := false
	jsonBase := strings.TrimSuffix(*jsonOut, filepath.Ext(*jsonOut))
	if len(ro.Backends) > 0 {
		if *out != "" {
			// After each run, the finished runs' report: an invocation
			// cut short keeps them.
			ro.AfterRun = func(r *harness.RemoteResult) {
				partial := fmt.Sprintf("(partial: %d of %d runs done)\n\n", len(r.LoadRuns), ro.Runs) + r.Markdown(command)
				if err := os.WriteFile(*out+".partial", []byte(partial), 0o644); err != nil {
					fmt.Fprintln(os.Stderr, "remotebench:", err)
				}
			}
		}
		res, err := harness.RunRemote(ctx, ro)
		if err != nil {
			fmt.Fprintln(os.Stderr, "remotebench:", err)
			failed = true
		}
		if res != nil {
			failed = failed || res.Failed()
			report.WriteString(res.Markdown(command))
			if *jsonOut != "" {
				if err := res.WriteJSON(jsonBase + ".remote.json"); err != nil {
					fmt.Fprintln(os.Stderr, "remotebench:", err)
				}
			}
		}
	} else if co.Cadang == filepath.Join(*work, "bin", "cadang") {
		co.Cadang = *cadang
	}
	if *doCopy && ctx.Err() == nil {
		if _, err := os.Stat(co.Cadang); err != nil && co.Cadang != *cadang {
			co.Cadang = *cadang // the remote benchmark did not build it
		}
		if report.Len() > 0 {
			report.WriteString("\n")
		}
		res, err := harness.RunCopy(ctx, co)
		if err != nil {
			fmt.Fprintln(os.Stderr, "remotebench copy:", err)
			failed = true
		}
		if res != nil {
			failed = failed || res.Failed()
			report.WriteString(res.Markdown(command))
			if *jsonOut != "" {
				if err := res.WriteJSON(jsonBase + ".copy.json"); err != nil {
					fmt.Fprintln(os.Stderr, "remotebench:", err)
				}
			}
		}
	}
	fmt.Print(report.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "remotebench:", err)
		}
	}
	if failed { // a step failed or a restore differed
		os.Exit(1)
	}
}
