// Command chunkstudy measures, for several content-defined chunk sizes, how
// much of a database dump is stored again after a day of changes, and what
// chunking costs.
//
//	chunkstudy [-scale 1.0] [-seed 1] [-pols 3]        generate the day-0 and day-1 dumps itself
//	chunkstudy [-pols 3] DAY0.sql DAY1.sql             use two existing dumps
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lpse/cadang/bench/internal/dataset"
	"github.com/lpse/cadang/bench/internal/harness"
)

func main() {
	scale := flag.Float64("scale", 1.0, "dataset scale when generating the dumps (1.0: ~300 MB dump)")
	seed := flag.Uint64("seed", 1, "dataset seed when generating the dumps")
	pols := flag.Int("pols", 3, "number of random polynomials to average over")
	day := flag.Int("day", 1, "compare day 0 with this day")
	quiet := flag.Bool("q", false, "no per-polynomial progress")
	changeFrac := flag.Float64("change-frac", dataset.DefaultChangeFrac, "dataset mutation model: share of rows changed per day")
	recentFrac := flag.Float64("recent-frac", dataset.DefaultRecentFrac, "dataset mutation model: newest share of rows that counts as recent")
	oldShare := flag.Float64("old-share", dataset.DefaultOldShare, "dataset mutation model: share of changed rows that are old")
	flag.Parse()

	var day0, day1 []byte
	var err error
	switch flag.NArg() {
	case 2:
		if day0, err = os.ReadFile(flag.Arg(0)); err == nil {
			day1, err = os.ReadFile(flag.Arg(1))
		}
	case 0:
		day0, day1, err = generate(dataset.Config{Seed: *seed, Scale: *scale,
			ChangeFrac: *changeFrac, RecentFrac: *recentFrac, OldShare: *oldShare}, *day)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chunkstudy:", err)
		os.Exit(1)
	}
	fmt.Printf("day-0 dump %.1f MB, day-%d dump %.1f MB, %d polynomials\n\n", float64(len(day0))/1e6, *day, float64(len(day1))/1e6, *pols)
	var progress *os.File
	if !*quiet {
		progress = os.Stderr
	}
	start := time.Now()
	rs, err := harness.ChunkStudy(day0, day1, harness.StudyParams(), *pols, progress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chunkstudy:", err)
		os.Exit(1)
	}
	fmt.Print(harness.StudyTable(rs))
	fmt.Printf("\n(study took %.0fs)\n", time.Since(start).Seconds())
}

func generate(c dataset.Config, day int) ([]byte, []byte, error) {
	dir, err := os.MkdirTemp("", "chunkstudy")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	p0, p1 := filepath.Join(dir, "day0.sql"), filepath.Join(dir, "day1.sql")
	if _, err := dataset.WriteDump(p0, c, 0); err != nil {
		return nil, nil, err
	}
	if _, err := dataset.WriteDump(p1, c, day); err != nil {
		return nil, nil, err
	}
	a, err := os.ReadFile(p0)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(p1)
	return a, b, err
}
