package harness

import (
	"fmt"
	"sort"
	"strings"
)

// Targets from issue 5: the most cadang may take, as a share of restic's
// wall time, per step.
var wallTargets = map[Step]float64{
	StepBackup: 0.5, StepRerun: 0.35, StepDay1: 0.5, StepRestore: 0.5, StepCheck: 0.5,
}

// CloseToLimitTarget is the most cadang's first-backup wall time may be, as
// a multiple of its CPU time divided by the number of cores.
const CloseToLimitTarget = 1.5

// value returns the median of f over the successful runs of tool/step, and
// whether there was any, and whether any run failed.
func (r *Result) value(tool string, s Step, f func(Measure) float64) (med float64, lo, hi float64, ok, failed bool) {
	var xs []float64
	for _, m := range r.Measures[tool][s] {
		if m.Err != "" {
			failed = true
			continue
		}
		xs = append(xs, f(m))
	}
	if len(xs) == 0 {
		return 0, 0, 0, false, failed
	}
	sort.Float64s(xs)
	return median(xs), xs[0], xs[len(xs)-1], true, failed
}

// pairedRatio returns the median, over the runs where both succeeded, of
// cadang's value divided by peer's value in the same run. On a machine
// whose speed drifts, this pairs measures taken minutes apart instead of
// dividing medians that may come from different runs.
func (r *Result) pairedRatio(peer string, s Step, f func(Measure) float64) (med, lo, hi float64, n int) {
	byRun := map[int]float64{}
	for _, m := range r.Measures[peer][s] {
		if m.Err == "" {
			if v := f(m); v > 0 {
				byRun[m.Run] = v
			}
		}
	}
	var xs []float64
	for _, m := range r.Measures["cadang"][s] {
		if v, ok := byRun[m.Run]; ok && m.Err == "" {
			xs = append(xs, f(m)/v)
		}
	}
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	sort.Float64s(xs)
	return median(xs), xs[0], xs[len(xs)-1], len(xs)
}

func (r *Result) toolNames() []string {
	var ns []string
	for _, t := range r.Tools {
		ns = append(ns, t.Name)
	}
	return ns
}

func (r *Result) hasCadang() bool {
	for _, t := range r.Tools {
		if t.Name == "cadang" {
			return true
		}
	}
	return false
}

func (r *Result) peers() []string {
	var ps []string
	for _, t := range r.Tools {
		if t.Name != "cadang" {
			ps = append(ps, t.Name)
		}
	}
	return ps
}

type metric struct {
	title   string
	unit    string
	f       func(Measure) float64
	spread  bool
	targets map[Step]float64 // cadang/restic
	// paired: the ratio columns are medians of per-run ratios (see
	// pairedRatio), with their range, rather than ratios of medians.
	paired bool
	steps  []Step
	note   string
}

func (r *Result) metricTable(b *strings.Builder, mt metric) {
	names := r.toolNames()
	fmt.Fprintf(b, "### %s\n\n", mt.title)
	if mt.note != "" {
		fmt.Fprintf(b, "%s\n\n", mt.note)
	}
	b.WriteString("| step |")
	for _, n := range names {
		fmt.Fprintf(b, " %s |", n)
	}
	ratioPeers := []string{}
	if r.hasCadang() {
		ratioPeers = r.peers()
	}
	for _, p := range ratioPeers {
		fmt.Fprintf(b, " cadang/%s |", p)
	}
	if mt.targets != nil && len(ratioPeers) > 0 {
		b.WriteString(" target (cadang/restic) |")
	}
	b.WriteString("\n|---|")
	for range names {
		b.WriteString("---:|")
	}
	for range ratioPeers {
		b.WriteString("---:|")
	}
	if mt.targets != nil && len(ratioPeers) > 0 {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, s := range mt.steps {
		fmt.Fprintf(b, "| %s |", s)
		for _, n := range names {
			med, lo, hi, ok, failed := r.value(n, s, mt.f)
			switch {
			case !ok && failed:
				b.WriteString(" FAILED |")
			case !ok:
				b.WriteString(" – |")
			default:
				cell := fmtNum(med)
				if mt.spread && r.Options.Runs > 1 {
					cell += fmt.Sprintf(" (%s–%s)", fmtNum(lo), fmtNum(hi))
				}
				if failed {
					cell += " (some runs failed)"
				}
				fmt.Fprintf(b, " %s |", cell)
			}
		}
		c, _, _, cok, _ := r.value("cadang", s, mt.f)
		ratio := func(p string) (float64, string, bool) {
			if mt.paired {
				med, lo, hi, n := r.pairedRatio(p, s, mt.f)
				if n == 0 {
					return 0, "", false
				}
				cell := fmt.Sprintf("%.2f", med)
				if n > 1 {
					cell += fmt.Sprintf(" (%.2f–%.2f)", lo, hi)
				}
				return med, cell, true
			}
			v, _, _, pok, _ := r.value(p, s, mt.f)
			if !cok || !pok || v <= 0 {
				return 0, "", false
			}
			return c / v, fmt.Sprintf("%.2f", c/v), true
		}
		for _, p := range ratioPeers {
			if _, cell, ok := ratio(p); ok {
				fmt.Fprintf(b, " %s |", cell)
			} else {
				b.WriteString(" – |")
			}
		}
		if mt.targets != nil && len(ratioPeers) > 0 {
			t, has := mt.targets[s]
			v, _, ok := ratio("restic")
			switch {
			case !has:
				b.WriteString(" |")
			case ok:
				mark := "✓"
				if v > t {
					mark = "✗"
				}
				fmt.Fprintf(b, " ≤ %.2f %s |", t, mark)
			default:
				fmt.Fprintf(b, " ≤ %.2f |", t)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Markdown renders the result as a Markdown report. command, if not empty,
// is shown as the command that produced it.
func (r *Result) Markdown(command string) string {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "## Benchmark: cadang vs peers, scale %g (%.0f MB, %d files), %d run(s), medians\n\n",
		o.Scale, float64(r.Dataset.Day0Bytes)/1e6, r.Dataset.Day0Files, o.Runs)
	if command != "" {
		fmt.Fprintf(&b, "Command: `%s`\n\n", command)
	}
	h := r.Host
	fmt.Fprintf(&b, "- Date: %s; took %.0f s\n", r.Started.Format("2006-01-02 15:04 MST"), r.Elapsed)
	fmt.Fprintf(&b, "- Machine: %d cores (%s), %.0f GiB RAM, Linux %s\n", h.CPUs, h.CPUModel, h.MemGiB, h.Kernel)
	if r.CachesDropped {
		b.WriteString("- Page cache: dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every timed step\n")
	} else if r.InputEvicted {
		b.WriteString("- Page cache: each step's input dropped from it before the step, file by file (`-evict-input`): a cold read for every tool alike\n")
	} else {
		b.WriteString("- Page cache: warm for every tool alike (not dropped; each step's input read once before the step)\n")
	}
	d := r.Dataset
	fmt.Fprintf(&b, "- Dataset: seed %d, day 0 %.1f MB / %d files (digest %.12s); day 1: %d dump rows changed in place (%.2f%%), %d appended, documents +%d ~%d −%d\n",
		d.Seed, float64(d.Day0Bytes)/1e6, d.Day0Files, d.Day0Digest, d.Day1.Dump.TotalChanged(),
		100*float64(d.Day1.Dump.TotalChanged())/float64(max(1, d.Day1.Dump.TotalRows())), d.Day1.RowsAdded, d.Day1.DocsAdded, d.Day1.DocsMod, d.Day1.Deleted)
	for _, t := range r.Tools {
		settings := t.Settings
		if t.Name == "cadang" && len(o.CadangEnv) > 0 {
			settings += "; environment " + strings.Join(o.CadangEnv, " ")
		}
		fmt.Fprintf(&b, "- %s: %s — %s\n", t.Name, t.Version, settings)
	}
	var loads []float64
	for _, steps := range r.Measures {
		for _, ms := range steps {
			for _, m := range ms {
				loads = append(loads, m.Load1)
			}
		}
	}
	if len(loads) > 0 {
		sort.Float64s(loads)
		fmt.Fprintf(&b, "- 1-minute load average before the steps: median %.1f, max %.1f", median(loads), loads[len(loads)-1])
		if loads[len(loads)-1] > float64(h.CPUs)/2 {
			b.WriteString(" — other work shared the machine; timings are noisy")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")

	backups := []Step{StepInit, StepBackup, StepRerun, StepDay1, StepRestore, StepCheck}
	wall := func(m Measure) float64 { return m.Wall }
	r.metricTable(&b, metric{title: "Wall time (s)", f: wall, spread: true, targets: wallTargets, steps: backups, paired: true,
		note: "Median (min–max over runs when there are several). cadang/peer: the median, over runs, of the ratio " +
			"of the two tools' times in the same run (range in brackets); every tool does a step before any tool does the next, " +
			"so the two times of a pair were taken minutes apart. The ratio of the medians is the next table."})
	if r.hasCadang() && o.Runs > 1 {
		r.metricTable(&b, metric{title: "Wall time, ratio of the medians", f: wall, steps: backups,
			note: "The same wall times, each tool's median divided by the peer's median: how far the per-run pairing above moves the ratios."})
	}
	r.metricTable(&b, metric{title: "CPU time, user + system (s)", f: Measure.CPU, steps: backups, spread: true, paired: true})
	for _, p := range r.peers() {
		if r.hasCadang() && o.Runs > 1 {
			r.perRunTable(&b, p, backups)
		}
	}
	r.metricTable(&b, metric{title: "Peak RSS (MiB)", f: func(m Measure) float64 { return float64(m.MaxRSS) / 1024 }, steps: backups,
		note: "ru_maxrss of the tool's process (what GNU `time -v` reports as \"Maximum resident set size\"). Target: cadang's first backup ≤ borg's."})

	// Repository size.
	b.WriteString("### Repository size (MB, apparent bytes like `du -sb`)\n\n| after | ")
	names := r.toolNames()
	b.WriteString(strings.Join(names, " | "))
	b.WriteString(" |")
	peers := []string{}
	if r.hasCadang() {
		peers = r.peers()
	}
	for _, p := range peers {
		fmt.Fprintf(&b, " cadang/%s |", p)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(names)+len(peers)) + "\n")
	size := func(m Measure) float64 { return float64(m.RepoBytes) / 1e6 }
	rows := []struct {
		label string
		f     func(tool string) (float64, bool)
	}{
		{"first backup", func(t string) (float64, bool) { v, _, _, ok, _ := r.value(t, StepBackup, size); return v, ok }},
		{"unchanged re-run", func(t string) (float64, bool) { v, _, _, ok, _ := r.value(t, StepRerun, size); return v, ok }},
		{"day-1 backup (target: cadang ≤ restic)", func(t string) (float64, bool) { v, _, _, ok, _ := r.value(t, StepDay1, size); return v, ok }},
		{"growth on day 1", func(t string) (float64, bool) {
			a, _, _, ok1, _ := r.value(t, StepRerun, size)
			c, _, _, ok2, _ := r.value(t, StepDay1, size)
			return c - a, ok1 && ok2
		}},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s |", row.label)
		for _, n := range names {
			if v, ok := row.f(n); ok {
				fmt.Fprintf(&b, " %s |", fmtNum(v))
			} else {
				b.WriteString(" – |")
			}
		}
		c, cok := row.f("cadang")
		for _, p := range peers {
			if v, ok := row.f(p); ok && cok && v > 0 {
				fmt.Fprintf(&b, " %.2f |", c/v)
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")

	// Throughput and closeness to the limit.
	b.WriteString("### Throughput and closeness to the limit (first backup)\n\n")
	b.WriteString("`ideal` is the first backup's CPU time (user + system) divided by the number of cores; `wall/ideal` is 1.0 when every core was busy all the time. Issue 5's target for cadang is ≤ 1.5.\n\n")
	b.WriteString("| tool | MB/s (backup) | MB/s (restore) | wall (s) | CPU (s) | cores | ideal (s) | wall/ideal |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range names {
		w, _, _, ok, _ := r.value(n, StepBackup, func(m Measure) float64 { return m.Wall })
		c, _, _, _, _ := r.value(n, StepBackup, Measure.CPU)
		rw, _, _, rok, _ := r.value(n, StepRestore, func(m Measure) float64 { return m.Wall })
		if !ok {
			fmt.Fprintf(&b, "| %s | – | – | – | – | – | – | – |\n", n)
			continue
		}
		ideal := c / float64(h.CPUs)
		restore := "–"
		if rok && rw > 0 {
			restore = fmt.Sprintf("%.0f", float64(d.Day1Bytes)/1e6/rw)
		}
		mark := ""
		if n == "cadang" {
			mark = " ✓"
			if w/ideal > CloseToLimitTarget {
				mark = " ✗"
			}
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %d | %s | %.2f%s |\n", n, float64(d.Day0Bytes)/1e6/w, restore, fmtNum(w), fmtNum(c), h.CPUs, fmtNum(ideal), w/ideal, mark)
	}
	b.WriteString("\n")

	// Verification and errors.
	b.WriteString("### Restore verification and errors\n\n")
	for _, n := range names {
		var okRuns, badRuns int
		var diffs []string
		for _, m := range r.Measures[n][StepRestore] {
			if m.Verified == nil {
				continue
			}
			if *m.Verified {
				okRuns++
			} else {
				badRuns++
				diffs = m.Diffs
			}
		}
		line := fmt.Sprintf("- %s: restore identical to the source in %d of %d run(s)", n, okRuns, okRuns+badRuns)
		if badRuns > 0 {
			line += "; differences: " + strings.Join(diffs, "; ")
		}
		b.WriteString(line + "\n")
		for _, s := range Steps {
			for i, m := range r.Measures[n][s] {
				if m.Err != "" {
					fmt.Fprintf(&b, "  - run %d, %s FAILED: %s\n", i+1, s, m.Err)
				}
			}
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// Failures lists every failed step and failed verification, for tests.
func (r *Result) Failures() []string {
	var fs []string
	for _, n := range r.toolNames() {
		for _, s := range Steps {
			for i, m := range r.Measures[n][s] {
				if m.Err != "" {
					fs = append(fs, fmt.Sprintf("%s run %d %s: %s", n, i+1, s, m.Err))
				}
				if m.Verified != nil && !*m.Verified {
					fs = append(fs, fmt.Sprintf("%s run %d restore differs: %s", n, i+1, strings.Join(m.Diffs, "; ")))
				}
			}
		}
	}
	return fs
}

// perRunTable prints, for each step, every run's cadang/peer ratio of wall
// time and of CPU time, with cadang's and the peer's places in that run's
// order, then their median and range: the targets are judged per run, and a
// run where going first costs more shows as such.
func (r *Result) perRunTable(b *strings.Builder, peer string, steps []Step) {
	fmt.Fprintf(b, "### Per-run ratios, cadang/%s (wall; CPU)\n\n", peer)
	b.WriteString("Each cell is one run: wall-time ratio; CPU-time ratio [cadang's place, the peer's place in that run's order]. " +
		"Median and range are over the per-run wall ratios.\n\n| step |")
	for i := 0; i < r.Options.Runs; i++ {
		fmt.Fprintf(b, " run %d |", i+1)
	}
	b.WriteString(" median | range |\n|---|")
	b.WriteString(strings.Repeat("---:|", r.Options.Runs+2) + "\n")
	for _, s := range steps {
		fmt.Fprintf(b, "| %s |", s)
		byRun := map[int]Measure{}
		for _, m := range r.Measures[peer][s] {
			if m.Err == "" {
				byRun[m.Run] = m
			}
		}
		var xs []float64
		for i := 0; i < r.Options.Runs; i++ {
			var c *Measure
			for j, m := range r.Measures["cadang"][s] {
				if m.Run == i && m.Err == "" {
					c = &r.Measures["cadang"][s][j]
				}
			}
			p, ok := byRun[i]
			if c == nil || !ok || p.Wall <= 0 || p.CPU() <= 0 {
				b.WriteString(" – |")
				continue
			}
			w := c.Wall / p.Wall
			xs = append(xs, w)
			fmt.Fprintf(b, " %.2f; %.2f [%d,%d] |", w, c.CPU()/p.CPU(), c.Position, p.Position)
		}
		if len(xs) == 0 {
			b.WriteString(" – | – |\n")
			continue
		}
		sort.Float64s(xs)
		fmt.Fprintf(b, " %.2f | %.2f–%.2f |\n", median(xs), xs[0], xs[len(xs)-1])
	}
	b.WriteString("\n")
}
