// Command gendata writes the deterministic LPSE-like benchmark dataset, or
// applies a day-N mutation to one.
//
//	gendata [-seed 1] [-scale 1.0] DIR        generate day 0 into DIR (empty or new)
//	gendata -mutate -day N DIR                bring DIR to day N (normally current day + 1)
//	gendata -mutate -day 0 DIR                reset DIR to day 0
//	gendata -hash DIR                         print the tree digest
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/lpse/cadang/bench/internal/dataset"
)

func main() {
	seed := flag.Uint64("seed", 1, "PRNG seed")
	scale := flag.Float64("scale", 1.0, "dataset scale: 1.0 is about 1 GB, 0.1 about 100 MB")
	mutate := flag.Bool("mutate", false, "mutate an existing tree to -day instead of generating")
	day := flag.Int("day", 1, "with -mutate: the day to bring the tree to")
	force := flag.Bool("force", false, "remove DIR first when generating")
	hash := flag.Bool("hash", false, "print the digest of DIR (paths, modes, sizes, sha256, mtimes) and exit")
	asJSON := flag.Bool("json", false, "print statistics as JSON")
	changeFrac := flag.Float64("change-frac", dataset.DefaultChangeFrac, "share of each table's rows changed per day")
	recentFrac := flag.Float64("recent-frac", dataset.DefaultRecentFrac, "newest share of rows that counts as recent")
	oldShare := flag.Float64("old-share", dataset.DefaultOldShare, "share of changed rows picked among older rows")
	appendFrac := flag.Float64("append-frac", dataset.DefaultAppendFrac, "rows appended per table per day, as a share")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gendata [flags] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	var (
		st  dataset.Stats
		err error
	)
	switch {
	case *hash:
		m, err := dataset.HashTree(dir)
		if err != nil {
			fail(err)
		}
		fmt.Printf("%s  %d files  %d bytes\n", m.Digest(true), m.Files(), m.Bytes())
		return
	case *mutate:
		st, err = dataset.Mutate(dir, *day)
	default:
		if *force {
			if err := os.RemoveAll(dir); err != nil {
				fail(err)
			}
		}
		st, err = dataset.Generate(dir, dataset.Config{Seed: *seed, Scale: *scale,
			ChangeFrac: *changeFrac, RecentFrac: *recentFrac, OldShare: *oldShare, AppendFrac: *appendFrac})
	}
	if err != nil {
		fail(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Println(string(b))
		return
	}
	fmt.Printf("day %d: wrote %d files (%.1f MB: dump %.1f MB, documents %.1f MB, app %.1f MB), deleted %d, in %.1fs\n",
		st.Day, st.Written, mb(st.TotalBytes()), mb(st.Dump.Bytes), mb(st.DocBytes), mb(st.AppBytes), st.Deleted, st.Elapsed)
	fmt.Printf("dump: %d rows", st.Dump.TotalRows())
	if *mutate {
		fmt.Printf(", %d changed in place (%.2f%%), %d appended; documents: %d added, %d modified, %d deleted",
			st.Dump.TotalChanged(), 100*float64(st.Dump.TotalChanged())/float64(st.Dump.TotalRows()), st.RowsAdded, st.DocsAdded, st.DocsMod, st.Deleted)
	} else {
		fmt.Printf(", %d documents, %d application files", st.Docs, st.Apps)
	}
	fmt.Println()
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gendata:", err)
	os.Exit(1)
}
