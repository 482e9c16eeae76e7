// Command peerbench runs cadang, restic, borg (and kopia when on PATH) on
// the same generated dataset and prints a Markdown table of medians. See
// bench/README.md.
//
//	go run ./bench/cmd/peerbench -scale 1 -runs 3 -out bench/results.md
//
// Two cadang builds (the tree against an older binary), without peers:
//
//	go run ./bench/cmd/peerbench -tools cadang -cadang build -cadang-extra cadang-old=/tmp/cadang-old -install=false -drop-caches=false
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
	var o harness.Options
	flag.StringVar(&o.WorkDir, "work", filepath.Join(os.TempDir(), "cadang-bench"), "work directory (dataset, repositories, restores, logs); needs ~4x the dataset size free")
	flag.Float64Var(&o.Scale, "scale", 1.0, "dataset scale: 1.0 is about 1 GB, 0.1 (quick mode) about 100 MB")
	flag.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	flag.IntVar(&o.Runs, "runs", 3, "repetitions; medians are reported")
	tools := flag.String("tools", "cadang,restic,borg,kopia", "tools to run, in order (kopia only when on PATH)")
	flag.StringVar(&o.Cadang, "cadang", "auto", `cadang binary: "auto" (build ./cmd/cadang, skip cadang if that fails), "build" (must build), "off", or a path`)
	flag.StringVar(&o.ModuleRoot, "src", "", "cadang module root (default: found from the working directory)")
	flag.StringVar(&o.Restic, "restic", "", "restic binary (default: $(go env GOPATH)/bin/restic, where `go install github.com/restic/restic/cmd/restic@v0.19.1` puts it, else restic on PATH)")
	flag.BoolVar(&o.Install, "install", true, "apt-get install restic and borgbackup when missing (needs root and network)")
	flag.BoolVar(&o.DropCaches, "drop-caches", true, "drop the page cache before every timed step (needs root; warm caches otherwise)")
	flag.BoolVar(&o.EvictInput, "evict-input", false, "with -drop-caches=false: drop only each step's input from the page cache before the step, file by file, instead of warming it (a cold read that leaves the rest of the machine's cache alone)")
	flag.BoolVar(&o.KeepRepos, "keep", false, "keep the repositories of the last run")
	flag.StringVar(&o.BorgCompression, "borg-compression", "zstd,3", "borg --compression (borg's own default is lz4)")
	flag.StringVar(&o.BorgEncryption, "borg-encryption", "repokey", "borg init --encryption")
	flag.DurationVar(&o.StepTimeout, "step-timeout", 30*time.Minute, "limit for one step of one tool")
	cadangExtra := flag.String("cadang-extra", "", "more cadang binaries to run as extra tools, comma-separated NAME=PATH (e.g. cadang-old=/tmp/cadang-29c61e1); the cadang/NAME columns compare -cadang with them")
	cadangEnv := flag.String("cadang-env", "", "extra environment for cadang, comma-separated KEY=VALUE (e.g. GOMAXPROCS=1)")
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
	for _, kv := range strings.Split(*cadangEnv, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			o.CadangEnv = append(o.CadangEnv, kv)
		}
	}
	for _, kv := range strings.Split(*cadangExtra, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			o.CadangExtra = append(o.CadangExtra, kv)
		}
	}
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := harness.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		if res == nil || len(res.Measures) == 0 {
			os.Exit(1)
		}
	}
	report := res.Markdown(strings.Join(os.Args, " "))
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "peerbench:", err)
		}
	}
	if *jsonOut != "" {
		if err := res.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "peerbench:", err)
		}
	}
	if err != nil || len(res.Failures()) > 0 {
		os.Exit(1)
	}
}
