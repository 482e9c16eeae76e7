// Command prunebench measures retention and prune (issue 11): D simulated
// days of the generated dataset backed up by cadang and restic, then
// `forget --keep-daily 7 --keep-weekly 4 --prune` with each, cadang's
// second prune, and a backup started during the prune against the same
// backup alone. See bench/README.md, "Prune".
//
//	go run ./bench/cmd/prunebench -scale 0.3 -days 30 -out /tmp/prune.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpse/cadang/bench/internal/harness"
)

func main() {
	var o harness.PruneOptions
	flag.StringVar(&o.WorkDir, "work", filepath.Join(os.TempDir(), "cadang-prunebench"), "work directory (dataset, repositories, logs)")
	flag.Float64Var(&o.Scale, "scale", 0.3, "dataset scale: 1.0 is about 1 GB")
	flag.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	flag.IntVar(&o.Days, "days", 30, "simulated days backed up before the forget (one backup a day, days 0..N-1)")
	flag.IntVar(&o.Reps, "reps", 1, "repetitions of the prune measurements, each from a copy of the repositories; medians are reported")
	tools := flag.String("tools", "cadang,restic", "tools, in order (cadang, restic)")
	flag.StringVar(&o.Cadang, "cadang", "auto", `cadang binary: "auto" (build ./cmd/cadang), "build" (must build), "off", or a path`)
	flag.StringVar(&o.ModuleRoot, "src", "", "cadang module root (default: found from the working directory)")
	flag.StringVar(&o.Restic, "restic", "", "restic binary (default: a restic 0.19.x on PATH, in WORK/bin or in $(go env GOPATH)/bin)")
	flag.BoolVar(&o.Install, "install", true, "go install "+harness.ResticModule+" into WORK/bin when no restic 0.19.x is found")
	flag.IntVar(&o.KeepDaily, "keep-daily", 7, "forget --keep-daily")
	flag.IntVar(&o.KeepWeekly, "keep-weekly", 4, "forget --keep-weekly")
	flag.Float64Var(&o.Delay, "delay", 0.2, "start the concurrent backup this share of the tool's forget --prune wall time after the prune")
	flag.DurationVar(&o.StepTimeout, "step-timeout", 30*time.Minute, "limit for one command")
	out := flag.String("out", "", "also write the Markdown report to this file")
	jsonOut := flag.String("json", "", "also write the raw measurements as JSON to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, t := range strings.Split(*tools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.Tools = append(o.Tools, t)
		}
	}
	o.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := harness.RunPrune(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prunebench:", err)
		if res == nil || len(res.Measures) == 0 {
			os.Exit(1)
		}
	}
	report := res.Markdown(strings.Join(os.Args, " "))
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "prunebench:", err)
		}
	}
	if *jsonOut != "" {
		if err := res.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "prunebench:", err)
		}
	}
	if err != nil {
		os.Exit(1)
	}
}
