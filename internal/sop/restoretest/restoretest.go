// Package restoretest carries out the SOP step 4 restore test: a random
// sample of snapshots and files of a job is restored into a scratch
// directory and verified byte for byte against the snapshot; a database
// dump may also be checked by a command (pg_restore --list). The restore
// and the byte comparison are done by a Source the CLI implements over the
// engine; the sampling, the order of work and the record are done here.
package restoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lpse/cadang/internal/childenv"
	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// Snapshot is a snapshot of one source of a job.
type Snapshot struct {
	ID     string
	Source string // the job source's name (for a job without sources, what the report shows)
	Time   time.Time
	// Group is, for a job without sources (a repository tested without
	// a configuration file), the source the snapshot belongs to as its
	// tags or paths say: the snapshots of a group are sampled as one
	// source. Empty: Source is the group.
	Group string
	// Job is, for a job without sources, the job the snapshot's job: tag
	// names, if any: the report shows it, as the record has no job.
	Job string
}

// File is a regular file in a snapshot.
type File struct {
	Path string // as stored in the snapshot
	Size int64
}

// Source is what a restore test needs from the engine.
type Source interface {
	// Snapshots lists the snapshots of the job's sources.
	Snapshots(ctx context.Context, job *jobs.Job) ([]Snapshot, error)
	// Files lists the regular files of a snapshot.
	Files(ctx context.Context, s Snapshot) ([]File, error)
	// Restore restores files of s below dir (a file at /a/b goes to
	// dir/a/b), then reads each restored file back and compares every byte
	// with the snapshot's content. It returns one item per file; an error
	// means the restore as a whole failed. It restores no owners, no
	// setuid/setgid bits, no device nodes and no file capabilities
	// (security.capability): the test runs as root on the backup server.
	Restore(ctx context.Context, s Snapshot, files []File, dir string) ([]runlog.TestItem, error)
}

// Exec runs a verify command and returns its combined output and exit code.
type Exec func(ctx context.Context, argv []string) (output string, exitCode int, err error)

// Options of a restore test.
type Options struct {
	Sample      int    // files to draw from path sources
	SampleBytes int64  // or a byte budget; used when Sample is 0
	Snapshots   int    // snapshots to draw from (per test); default 3
	Seed        uint64 // used when HasSeed
	HasSeed     bool
	Scratch     string // parent of the scratch directory; default os.TempDir()
	Keep        bool   // keep the scratch directory
}

// Pick is what a test restores from one snapshot.
type Pick struct {
	Snapshot Snapshot
	Files    []File
	Dump     bool // a dump source: its verify command runs on the files
}

// Plan is the sample of a test.
type Plan struct {
	Seed  uint64
	Picks []Pick
	// Missing are the job's configured sources that have no snapshot at
	// all: the test cannot vouch for them, and says so.
	Missing []string
}

// NewSeed returns a seed from crypto/rand.
func NewSeed() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Sample draws the sample for a test: of each of the job's path sources,
// Options.Snapshots snapshots (its newest and others at random), with
// Sample files (or files up to SampleBytes) at random, every source at
// least one file (sampleGroups, a group a source); and for each dump
// source, the dump files of Options.Snapshots of its snapshots at random
// (all, if it has fewer). A source none of whose snapshots holds a
// regular file is a Pick of its newest snapshot without Files.
// A job without sources (a repository tested without a configuration
// file) is sampled per group of snapshots the same way. The same seed and
// the same snapshots give the same sample.
//
// The snapshots of all path sources were once drawn as one pool, so that
// with three snapshots drawn of a job's uploads and configuration over a
// month, the configuration was often not tested at all, without a word.
func Sample(ctx context.Context, src Source, job *jobs.Job, o Options, seed uint64) (Plan, error) {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	snaps, err := src.Snapshots(ctx, job)
	if err != nil {
		return Plan{}, err
	}
	sort.Slice(snaps, func(i, j int) bool {
		if !snaps[i].Time.Equal(snaps[j].Time) {
			return snaps[i].Time.Before(snaps[j].Time)
		}
		return snaps[i].ID < snaps[j].ID
	})
	plan := Plan{Seed: seed}
	k := o.Snapshots
	if k <= 0 {
		k = jobs.DefaultSnapshots
	}
	if len(job.Sources) == 0 {
		return sampleGroups(ctx, src, snaps, o, k, rng, plan)
	}
	bySource := map[string][]Snapshot{}
	for _, s := range snaps {
		bySource[s.Source] = append(bySource[s.Source], s)
	}
	var pathSnaps []Snapshot
	for _, s := range job.Sources {
		list := bySource[s.Name]
		if len(list) == 0 {
			plan.Missing = append(plan.Missing, s.Name)
			continue
		}
		if s.IsDump() {
			// The dumps of k snapshots (all there are, if fewer), as the
			// configuration says: one dump restored proves one day.
			var picks []Snapshot
			for _, i := range rng.Perm(len(list))[:min(k, len(list))] {
				picks = append(picks, list[i])
			}
			sort.Slice(picks, func(a, b int) bool { return picks[a].Time.Before(picks[b].Time) })
			for _, pick := range picks {
				files, err := src.Files(ctx, pick)
				if err != nil {
					return plan, err
				}
				plan.Picks = append(plan.Picks, Pick{Snapshot: pick, Files: files, Dump: true})
			}
			continue
		}
		for _, sn := range list {
			sn.Group = s.Name
			pathSnaps = append(pathSnaps, sn)
		}
	}
	return sampleGroups(ctx, src, pathSnaps, o, k, rng, plan)
}

// sampleGroups draws the sample of a job whose sources are not known (a
// repository tested without a configuration file) from every group of its
// snapshots (Snapshot.Group: a source as the tags or the paths say), so
// that a source of one file a snapshot (a database dump) is tested as
// surely as one of many files, as a configured job's dump sources are:
//
//   - of each group, k snapshots (all, if it has fewer) that hold a
//     regular file: its newest, and the others at random;
//   - one file at random of each group's newest snapshot, even beyond
//     the sample size (a group is never left out);
//   - one file at random of each other snapshot drawn, in rounds (the
//     second snapshot of every group, then the third...), while the sample
//     size (o.Sample files, or o.SampleBytes) allows; a snapshot that gets
//     no file is not drawn, so every snapshot drawn is restored and listed;
//   - the rest of the sample size at random from all the files of the
//     snapshots drawn, as a job's path sources are sampled.
//
// snaps are sorted by time; the picks are in the order of the groups
// (sorted by name), each group's oldest first.
func sampleGroups(ctx context.Context, src Source, snaps []Snapshot, o Options, k int, rng *mrand.Rand, plan Plan) (Plan, error) {
	groups := map[string][]Snapshot{}
	var keys []string
	for _, s := range snaps {
		g := s.Group
		if g == "" {
			g = s.Source
		}
		if _, ok := groups[g]; !ok {
			keys = append(keys, g)
		}
		groups[g] = append(groups[g], s)
	}
	sort.Strings(keys)
	type drawn struct {
		group  int
		snap   Snapshot
		files  []File // sorted by path
		picked []File
	}
	var rounds [][]*drawn // rounds[r]: the (r+1)th snapshot drawn of each group
	var empty []*drawn    // the newest snapshot of each group none of whose snapshots holds a file
	for gi, key := range keys {
		list := groups[key]
		newest := len(list) - 1
		order := append([]int{newest}, rng.Perm(newest)...)
		r := 0
		for _, i := range order {
			if r == k {
				break
			}
			files, err := src.Files(ctx, list[i])
			if err != nil {
				return plan, err
			}
			if len(files) == 0 {
				continue // nothing to restore: draw another
			}
			sort.Slice(files, func(a, b int) bool { return files[a].Path < files[b].Path })
			if len(rounds) == r {
				rounds = append(rounds, nil)
			}
			rounds[r] = append(rounds[r], &drawn{group: gi, snap: list[i], files: files})
			r++
		}
		if r == 0 {
			// Said, not left out: a source that backed up nothing
			// (an empty directory) is one the test cannot vouch for.
			empty = append(empty, &drawn{group: gi, snap: list[newest]})
		}
	}
	var n int
	var bytes int64
	fits := func(f File) bool {
		switch {
		case o.Sample > 0:
			return n < o.Sample
		case o.SampleBytes > 0:
			return bytes+f.Size <= o.SampleBytes
		}
		return true
	}
	var kept []*drawn
	for r, round := range rounds {
		for _, d := range round {
			f := d.files[rng.IntN(len(d.files))]
			if r > 0 && !fits(f) {
				continue // not drawn
			}
			d.picked = append(d.picked, f)
			n++
			bytes += f.Size
			kept = append(kept, d)
		}
	}
	type cand struct {
		d *drawn
		f File
	}
	var cands []cand
	for _, d := range kept {
		for _, f := range d.files {
			if f.Path != d.picked[0].Path {
				cands = append(cands, cand{d, f})
			}
		}
	}
	for _, i := range rng.Perm(len(cands)) {
		c := cands[i]
		if o.Sample > 0 && n >= o.Sample {
			break
		}
		if o.Sample <= 0 && o.SampleBytes > 0 {
			if bytes+c.f.Size > o.SampleBytes {
				continue
			}
			if bytes >= o.SampleBytes {
				break
			}
		}
		c.d.picked = append(c.d.picked, c.f)
		n++
		bytes += c.f.Size
	}
	kept = append(kept, empty...)
	sort.SliceStable(kept, func(a, b int) bool {
		if kept[a].group != kept[b].group {
			return kept[a].group < kept[b].group
		}
		return kept[a].snap.Time.Before(kept[b].snap.Time)
	})
	for _, d := range kept {
		sort.Slice(d.picked, func(a, b int) bool { return d.picked[a].Path < d.picked[b].Path })
		plan.Picks = append(plan.Picks, Pick{Snapshot: d.snap, Files: d.picked})
	}
	return plan, nil
}

// Tester runs restore tests.
type Tester struct {
	Source Source
	Exec   Exec // default runs the command with os/exec
	Clock  clock.Clock
	// Postgres loads the dumps of PostgreSQL sources into a database
	// (default PGServers, below the scratch directory's parent).
	Postgres Postgres
	// Records are the run log's records (local and the repository's): a
	// check with compare = "source" finds the value recorded by the
	// backup that made the snapshot there.
	Records []runlog.Record
}

// Run draws the sample, restores and verifies it, runs the verify commands
// of dump sources, and fills rec (Test, Snapshots, Message, Result). It
// returns an error of kind integrity if any file or command failed. Use it
// inside run.Runner.Do(ctx, runlog.OpRestoreTest, job, ...), which records it.
func (t *Tester) Run(ctx context.Context, job *jobs.Job, o Options, rec *runlog.Record) error {
	clk := clock.Or(t.Clock)
	seed := o.Seed
	if !o.HasSeed {
		var err error
		if seed, err = NewSeed(); err != nil {
			return err
		}
	}
	draw := o.Snapshots
	if draw <= 0 {
		draw = jobs.DefaultSnapshots
	}
	info := &runlog.TestInfo{Seed: seed, Sample: o.Sample, SampleBytes: o.SampleBytes, Draw: draw, Items: []runlog.TestItem{}}
	rec.Test = info
	plan, err := Sample(ctx, t.Source, job, o, seed)
	if err != nil {
		return fmt.Errorf("restore test: draw sample: %w", err)
	}
	if len(plan.Picks) == 0 {
		return runlog.Failf(runlog.KindOther, "restore test: job %s has no snapshot to test", job.Name)
	}
	info.MissingSources = plan.Missing
	tested := 0
	for _, p := range plan.Picks {
		if len(p.Files) == 0 {
			info.Snapshots = append(info.Snapshots, runlog.SnapshotRef{ID: p.Snapshot.ID, Source: p.Snapshot.Source, Time: p.Snapshot.Time, Job: p.Snapshot.Job, NoFiles: true, Dump: p.Dump})
			continue
		}
		tested++
	}
	if tested == 0 {
		return runlog.Failf(runlog.KindOther, "restore test: none of the %d snapshots of job %s drawn holds a file to test", len(plan.Picks), job.Name)
	}
	parent := o.Scratch
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "cadang-restore-test-")
	if err != nil {
		err = fmt.Errorf("restore test: scratch directory in %s (the [restore_test] scratch setting, else TMPDIR): %w", parent, err)
		if errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission) {
			// Where the test restores to, not the backup medium: a
			// read-only TMPDIR is no medium mounted read-only.
			return runlog.Fail(runlog.KindTargetNotWritable, err)
		}
		return err
	}
	info.Scratch = dir
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	start := clk.Now()
	var failed []string
	dbs := &dbLoad{t: t, clk: clk, job: job, tag: runTag(), servers: map[string]DBServer{}}
	if t.Postgres == nil {
		t.Postgres = PGServers{Scratch: parent}
	}
	defer dbs.close()
	for _, p := range plan.Picks {
		if len(p.Files) == 0 {
			continue // listed above, with no_files
		}
		info.Snapshots = append(info.Snapshots, runlog.SnapshotRef{ID: p.Snapshot.ID, Source: p.Snapshot.Source, Time: p.Snapshot.Time, Job: p.Snapshot.Job, Dump: p.Dump})
		rec.Snapshots = append(rec.Snapshots, p.Snapshot.ID)
		sub := filepath.Join(dir, p.Snapshot.ID)
		items, err := t.Source.Restore(ctx, p.Snapshot, p.Files, sub)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			for _, f := range p.Files {
				info.Items = append(info.Items, runlog.TestItem{Snapshot: p.Snapshot.ID, Path: f.Path, Size: f.Size, Error: err.Error()})
			}
			failed = append(failed, runlog.SnapshotRestoreFailure(p.Snapshot.ID, err.Error()))
			continue
		}
		restored := map[string]bool{}
		for _, it := range items {
			it.Snapshot = p.Snapshot.ID
			info.Items = append(info.Items, it)
			rec.FilesRead++
			rec.BytesRead += it.Size
			if !it.OK {
				failed = append(failed, runlog.ItemFailure(it))
			}
			restored[it.Path] = it.OK
		}
		if src, ok := sourceOfPick(job, p); ok && src.IsPostgres() && src.RestoreInto != jobs.RestoreIntoNone {
			// A dump proves a restore only once a database holds it.
			info.Databases = append(info.Databases, dbs.pick(ctx, src, p, sub, restored)...)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if p.Dump {
			for _, s := range job.Sources {
				if s.Name != p.Snapshot.Source || len(s.Verify) == 0 {
					continue
				}
				for _, f := range p.Files {
					cr := t.verify(ctx, clk, s.Verify, filepath.Join(sub, filepath.FromSlash(f.Path)))
					info.Commands = append(info.Commands, cr)
					if !cr.OK {
						failed = append(failed, runlog.CommandFailure(cr))
					}
				}
			}
		}
	}
	// An interrupted test is not judged: what failed may have failed
	// because of the interruption (a Source that reports a cancelled
	// restore as a failed file, a verify command killed).
	if err := ctx.Err(); err != nil {
		return err
	}
	dbs.close() // a throwaway server is stopped before the test ends
	dbs.servers = nil
	info.RestoreMS = clk.Now().Sub(start).Milliseconds()
	failed = append(failed, dbs.failed...)
	for _, f := range append(append(failed, dbs.infra...), dbs.notes...) {
		if len(rec.Errors) < 20 {
			rec.Errors = append(rec.Errors, f)
		}
	}
	loaded := 0
	for _, d := range info.Databases {
		if d.Loaded && !d.Globals {
			loaded++
		}
	}
	// The note counts what the report lists (Count): a failed restore of
	// a snapshot is one failed check per file, a dump with a missing
	// table and a wrong check query two, a scratch database left behind
	// none (it is said in the errors).
	c := Count(info, nil)
	switch {
	case len(failed) > 0 || c.Failed() > 0:
		rec.Note = runlog.NewNote("test-checks", c.Failed(), c.NotDone(), c.Checks(), c.Files, c.Commands, c.Dumps, c.Queries)
		return runlog.Noted(runlog.Failf(runlog.KindIntegrity, "restore test: %d checks failed and %d could not be carried out, of %d", c.Failed(), c.NotDone(), c.Checks()))
	case c.NotDone() > 0:
		// The backup may be sound: the test could not be carried out
		// (no server to load into, no scratch database).
		rec.Note = runlog.NewNote("test-checks", 0, c.NotDone(), c.Checks(), c.Files, c.Commands, c.Dumps, c.Queries)
		return runlog.Noted(runlog.Failf(runlog.KindOther, "restore test: %d of %d checks could not be carried out", c.NotDone(), c.Checks()))
	case len(dbs.infra) > 0:
		// Every check passed, but a scratch database was left behind.
		rec.Note = runlog.NewNote("test-scratch-left", c.Checks(), c.Left)
		return runlog.Noted(runlog.Failf(runlog.KindOther, "restore test: all %d checks passed, but %d scratch databases were not dropped", c.Checks(), c.Left))
	}
	rec.Note = okNote(info, tested, loaded, dbs.checks, dbs.passed)
	return nil
}

// okNote says what a restore test that passed did.
func okNote(info *runlog.TestInfo, picks, loaded, checks, passed int) *runlog.Note {
	// "0 check queries matched" and "0 verify commands passed" read like
	// failures (issue 15): a test without them says none are configured.
	switch {
	case loaded > 0 && len(info.Commands) > 0 && checks == 0:
		return runlog.NewNote("test-ok-db-commands-no-checks", len(info.Items), picks, len(info.Commands), loaded)
	case loaded > 0 && len(info.Commands) > 0:
		return runlog.NewNote("test-ok-db-commands", len(info.Items), picks, len(info.Commands), loaded, passed)
	case loaded > 0 && checks == 0:
		return runlog.NewNote("test-ok-db-no-checks", len(info.Items), picks, loaded)
	case loaded > 0:
		return runlog.NewNote("test-ok-db", len(info.Items), picks, loaded, passed)
	case len(info.Commands) > 0:
		return runlog.NewNote("test-ok", len(info.Items), picks, len(info.Commands))
	}
	return runlog.NewNote("test-ok-no-commands", len(info.Items), picks)
}

// sourceOfPick returns the job's source a pick was drawn from.
func sourceOfPick(job *jobs.Job, p Pick) (jobs.Source, bool) {
	for _, s := range job.Sources {
		if s.Name == p.Snapshot.Source {
			return s, true
		}
	}
	return jobs.Source{}, false
}

func (t *Tester) verify(ctx context.Context, clk clock.Clock, tmpl []string, file string) runlog.CommandRun {
	argv := make([]string, len(tmpl))
	for i, a := range tmpl {
		argv[i] = strings.ReplaceAll(a, "{file}", file)
	}
	ex := t.Exec
	if ex == nil {
		ex = runCommand
	}
	start := clk.Now()
	out, code, err := ex(ctx, argv)
	cr := runlog.CommandRun{Command: argv, ExitCode: code, OK: err == nil && code == 0, Output: lastLines(out, 10), MS: clk.Now().Sub(start).Milliseconds()}
	if err != nil && cr.Output == "" {
		cr.Output = err.Error()
	}
	return cr
}

// runCommand runs a verify command without cadang's passwords and without
// cloud credentials in its environment: it reads files restored from a
// backup that may be hostile, it never needs the repository or the cloud,
// and its output is kept in the run log.
func runCommand(ctx context.Context, argv []string) (string, int, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = childenv.Environ(childenv.CloudCredentials...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), 0, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
