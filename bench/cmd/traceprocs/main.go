// Command traceprocs reads an execution trace of a cadang command
// (CADANG_TRACE=FILE) and says how the runtime's processors (Ps) were used:
// per time slice, how many goroutines ran, waited to run, or sat in a
// system call; and, per system call site, how long a goroutine in it kept
// its P. A P kept by a goroutine blocked in the kernel (an fsync, a write
// waiting for the disk) is a core the rest of the program cannot use until
// the scheduler's monitor takes the P back: on 2 cores that showed up as
// iowait with goroutines ready to run (bench/README.md, issue 16).
//
//	CADANG_TRACE=/tmp/backup.trace cadang backup /data
//	go run ./bench/cmd/traceprocs -slice 100ms /tmp/backup.trace
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	slice := flag.Duration("slice", 100*time.Millisecond, "length of a time slice in the timeline")
	top := flag.Int("top", 15, "system call sites to list")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: traceprocs [-slice D] [-top N] TRACEFILE")
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		log.Fatalf("%s: %v", flag.Arg(0), err)
	}
	a := newAnalysis(*slice)
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break
		}
		a.event(ev)
	}
	a.print(os.Stdout, *top)
}

// analysis accumulates, per time slice, the time-weighted number of
// goroutines in each state and of Ps running, and per system call site the
// time spent in the call and the part of it its P stayed held.
type analysis struct {
	slice  time.Duration
	t0     trace.Time
	last   trace.Time
	count  map[trace.GoState]int
	procs  map[trace.ProcID]trace.ProcState
	pRun   int
	slices map[int]*sliceStats

	inSys  map[trace.ProcID]*syscall // the goroutine in a call on each P, until the P is taken
	goSys  map[trace.GoID]*syscall   // every goroutine in a call
	goProc map[trace.GoID]trace.ProcID
	held   map[string]time.Duration
	total  map[string]time.Duration
}

type sliceStats struct{ run, runnable, sys, pRun float64 }

type syscall struct {
	g     trace.GoID
	since trace.Time
	site  string
}

func newAnalysis(slice time.Duration) *analysis {
	return &analysis{slice: slice, count: map[trace.GoState]int{}, procs: map[trace.ProcID]trace.ProcState{},
		slices: map[int]*sliceStats{}, inSys: map[trace.ProcID]*syscall{}, goSys: map[trace.GoID]*syscall{},
		goProc: map[trace.GoID]trace.ProcID{}, held: map[string]time.Duration{}, total: map[string]time.Duration{}}
}

// advance spreads the current counts over the time up to t.
func (a *analysis) advance(t trace.Time) {
	for a.last < t {
		i := int(time.Duration(a.last-a.t0) / a.slice)
		end := a.t0 + trace.Time(time.Duration(i+1)*a.slice)
		if end > t {
			end = t
		}
		w := float64(end-a.last) / float64(a.slice)
		s := a.slices[i]
		if s == nil {
			s = &sliceStats{}
			a.slices[i] = s
		}
		s.run += w * float64(a.count[trace.GoRunning])
		s.runnable += w * float64(a.count[trace.GoRunnable])
		s.sys += w * float64(a.count[trace.GoSyscall])
		s.pRun += w * float64(a.pRun)
		a.last = end
	}
}

func site(ev trace.Event) string {
	var fns []string
	for fr := range ev.Stack().Frames() {
		if len(fns) == 3 {
			break
		}
		fns = append(fns, fr.Func)
	}
	return strings.Join(fns, " < ")
}

func (a *analysis) event(ev trace.Event) {
	if a.t0 == 0 {
		a.t0, a.last = ev.Time(), ev.Time()
	}
	if ev.Kind() != trace.EventStateTransition {
		return
	}
	a.advance(ev.Time())
	st := ev.StateTransition()
	switch st.Resource.Kind {
	case trace.ResourceProc:
		p := st.Resource.Proc()
		if c := a.inSys[p]; c != nil { // the P left its goroutine's call: taken back
			a.held[c.site] += time.Duration(ev.Time() - c.since)
			delete(a.inSys, p)
		}
		_, to := st.Proc()
		if a.procs[p] == trace.ProcRunning {
			a.pRun--
		}
		a.procs[p] = to
		if to == trace.ProcRunning {
			a.pRun++
		}
	case trace.ResourceGoroutine:
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if from != trace.GoUndetermined && from != trace.GoNotExist {
			a.count[from]--
		}
		a.count[to]++
		switch {
		case to == trace.GoSyscall:
			c := &syscall{g: g, since: ev.Time(), site: site(ev)}
			a.inSys[ev.Proc()] = c
			a.goSys[g] = c
			a.goProc[g] = ev.Proc()
		case from == trace.GoSyscall:
			if c := a.goSys[g]; c != nil {
				a.total[c.site] += time.Duration(ev.Time() - c.since)
				if pc := a.inSys[a.goProc[g]]; pc == c {
					a.held[c.site] += time.Duration(ev.Time() - c.since)
					delete(a.inSys, a.goProc[g])
				}
				delete(a.goSys, g)
			}
		}
	}
}

func (a *analysis) print(w *os.File, top int) {
	var idx []int
	for i := range a.slices {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	fmt.Fprintf(w, "%8s %8s %9s %8s %9s   (time-weighted means per slice of %v)\n", "at", "running", "runnable", "syscall", "Ps held", a.slice)
	for _, i := range idx {
		s := a.slices[i]
		fmt.Fprintf(w, "%8s %8.2f %9.2f %8.2f %9.2f\n", (time.Duration(i) * a.slice).String(), s.run, s.runnable, s.sys, s.pRun)
	}
	var sites []string
	var held, total time.Duration
	for s, d := range a.total {
		sites = append(sites, s)
		held += a.held[s]
		total += d
	}
	sort.Slice(sites, func(i, j int) bool { return a.held[sites[i]] > a.held[sites[j]] })
	fmt.Fprintf(w, "\nsystem calls: %.3f s in all, %.3f s of it with the P held\n", total.Seconds(), held.Seconds())
	for _, s := range sites[:min(top, len(sites))] {
		fmt.Fprintf(w, "  held %7.3f s of %7.3f s  %s\n", a.held[s].Seconds(), a.total[s].Seconds(), s)
	}
}
