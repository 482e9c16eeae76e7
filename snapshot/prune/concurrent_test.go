//go:build linux

package prune_test

// A backup loop and a forget+prune loop in two processes at once against
// one repository (issue 11, "Tests must show"): the data changes every
// round; afterwards check --read-data passes and every remaining snapshot
// restores byte-identical to what was backed up.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// loopArgs configure the two loops (passed to the children as JSON).
type loopArgs struct {
	Src      string `json:"src"`
	Rounds   int    `json:"rounds"`
	Keep     int    `json:"keep"`
	Manifest string `json:"manifest"` // written by the backup loop
	Stats    string `json:"stats"`    // written by the forget+prune loop
	Stop     string `json:"stop"`     // created by the parent: the prune loop ends
}

// fileEntry is what the manifest records of one path; the restored tree
// must have the same.
type fileEntry struct {
	Type    string `json:"type"`
	Mode    uint32 `json:"mode"`
	Size    int64  `json:"size,omitempty"`
	MtimeNs int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256,omitempty"`
}

// backupRecord is one round of the backup loop.
type backupRecord struct {
	Round    int                  `json:"round"`
	ID       string               `json:"id"`
	Files    map[string]fileEntry `json:"files"`
	Added    uint64               `json:"data_added"`
	Open     time.Duration        `json:"open"`
	Duration time.Duration        `json:"duration"`
	Start    time.Time            `json:"start"`
	End      time.Time            `json:"end"`
}

// pruneRecord is one round of the forget+prune loop.
type pruneRecord struct {
	Forgot int           `json:"forgot"`
	Result *prune.Result `json:"result"`
	Start  time.Time     `json:"start"`
	End    time.Time     `json:"end"`
}

// roundMtime is the modification time every item of round r gets, so
// that a round's tree can be written again identically.
func roundMtime(r, i int) time.Time {
	return time.Unix(1_700_000_000+int64(r)*3600+int64(i), int64(r*1000+i)).UTC()
}

// writeRound makes dir hold exactly round r's tree: files that change every
// round, every second, third and fifth round, one that never changes, small
// ones, and a directory that exists only in some rounds. Every item gets a
// fixed mtime.
func writeRound(t testing.TB, dir string, r int) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	type file struct {
		name string
		seed uint64
		size int
	}
	files := []file{
		{"tetap.bin", 11, 120 << 10},
		{"a/dua.bin", uint64(10_000 + r/2), 100 << 10},
		{"a/tiga.bin", uint64(20_000 + r/3), 90 << 10},
		{"b/lima.bin", uint64(50_000 + r/5), 80 << 10},
		{"b/harian.bin", uint64(30_000 + r), 110 << 10},
	}
	for i := range 6 {
		seed := uint64(60_000 + i)
		if i%2 == 0 {
			seed += uint64(r) * 10
		}
		files = append(files, file{fmt.Sprintf("b/kecil/%d.txt", i), seed, 1<<10 + i*512})
	}
	if r%3 != 0 {
		files = append(files, file{"c/jarang.bin", uint64(70_000 + r/6), 60 << 10})
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		snapshottest.WriteFile(t, p, snapshottest.RandBytes(f.seed, f.size))
		paths = append(paths, p)
	}
	// Directories after their contents, deepest first.
	dirs := map[string]bool{}
	for _, p := range paths {
		for d := filepath.Dir(p); d != dir; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return len(ds[i]) > len(ds[j]) || (len(ds[i]) == len(ds[j]) && ds[i] < ds[j]) })
	for i, p := range append(paths, ds...) {
		mt := roundMtime(r, i)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// manifestOf records every item below root (not root itself).
func manifestOf(t testing.TB, root string) map[string]fileEntry {
	t.Helper()
	out := map[string]fileEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := fileEntry{Type: fi.Mode().Type().String(), Mode: uint32(fi.Mode().Perm()), MtimeNs: fi.ModTime().UnixNano()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			e.Size, e.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeJSON(t testing.TB, p string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t testing.TB, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func childArgs() loopArgs {
	var a loopArgs
	if err := json.Unmarshal([]byte(os.Getenv(childArgEnv)), &a); err != nil {
		fmt.Println("args:", err)
		os.Exit(2)
	}
	return a
}

// backupGap is the pause after round r: short mostly, longer every fourth
// round, so that the prune loop sometimes finds no backup lock and gets to
// delete (phase B) while the next backups start beside it.
func backupGap(r int) time.Duration {
	if r%4 == 3 {
		return 250 * time.Millisecond
	}
	return 20 * time.Millisecond
}

// childBackupLoop backs up args.Src, written afresh for every round, each
// round in its own session with a shared lock, and records each snapshot's
// manifest. Any failure (a LockedError included) ends it non-zero.
func childBackupLoop(t *testing.T) {
	ctx := context.Background()
	a := childArgs()
	var recs []backupRecord
	for r := range a.Rounds {
		writeRound(t, a.Src, r)
		man := manifestOf(t, a.Src)
		start := time.Now()
		be, err := local.Open(ctx, os.Getenv(childRepoEnv))
		if err != nil {
			fmt.Println("open backend:", err)
			os.Exit(3)
		}
		rp, err := repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.SharedLock})
		if err != nil {
			var le *repo.LockedError
			fmt.Printf("FAIL round %d: open (locked: %v): %v\n", r, errors.As(err, &le), err)
			os.Exit(3)
		}
		opened := time.Since(start)
		res, err := backup.Run(ctx, rp, backup.Options{Paths: []string{a.Src}, Host: "spse"})
		if err != nil {
			fmt.Printf("FAIL round %d: backup: %v\n", r, err)
			os.Exit(3)
		}
		if err := rp.Close(); err != nil {
			fmt.Printf("FAIL round %d: close: %v\n", r, err)
			os.Exit(3)
		}
		recs = append(recs, backupRecord{Round: r, ID: res.Snapshot.ID().String(), Files: man,
			Added: res.Snapshot.Summary.DataAdded, Open: opened, Duration: time.Since(start), Start: start, End: time.Now()})
		writeJSON(t, a.Manifest, recs)
		time.Sleep(backupGap(r))
	}
	fmt.Println("DONE")
}

// childForgetLoop forgets all but the newest args.Keep snapshots and
// prunes, each round in its own session with a prune lock, until args.Stop
// exists; then it does one more round, so that the end state is pruned
// of every snapshot but the last Keep.
func childForgetLoop(t *testing.T) {
	ctx := context.Background()
	a := childArgs()
	var recs []pruneRecord
	last := false
	for {
		if _, err := os.Stat(a.Stop); err == nil {
			last = true
		}
		start := time.Now()
		be, err := local.Open(ctx, os.Getenv(childRepoEnv))
		if err != nil {
			fmt.Println("open backend:", err)
			os.Exit(3)
		}
		rp, err := repo.Open(ctx, be, []byte(pw), repo.Options{Lock: repo.PruneLock})
		if err != nil {
			fmt.Println("FAIL open:", err)
			os.Exit(3)
		}
		sns, err := snapshot.ListSnapshots(ctx, rp, snapshot.Filter{})
		if err != nil {
			fmt.Println("FAIL list:", err)
			os.Exit(3)
		}
		var forgot []repo.ID
		if len(sns) > a.Keep {
			groups := retention.Plan(sns, retention.Policy{Last: a.Keep}, retention.Options{})
			if forgot, err = retention.Forget(ctx, rp, groups); err != nil {
				fmt.Println("FAIL forget:", err)
				os.Exit(3)
			}
		}
		res, err := prune.Run(ctx, rp, prune.Options{MaxUnused: 0.02})
		if err != nil {
			fmt.Println("FAIL prune:", err)
			os.Exit(3)
		}
		if err := rp.Close(); err != nil {
			fmt.Println("FAIL close:", err)
			os.Exit(3)
		}
		recs = append(recs, pruneRecord{Forgot: len(forgot), Result: res, Start: start, End: time.Now()})
		writeJSON(t, a.Stats, recs)
		if last {
			break
		}
	}
	fmt.Println("DONE")
}

// TestPruneBesideBackupLoop runs a backup loop and a forget+prune loop at
// once, in two processes, against one repository.
func TestPruneBesideBackupLoop(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	work := t.TempDir()
	a := loopArgs{
		Src:      filepath.Join(work, "src"),
		Rounds:   30,
		Keep:     3,
		Manifest: filepath.Join(work, "manifest.json"),
		Stats:    filepath.Join(work, "prune-stats.json"),
		Stop:     filepath.Join(work, "stop"),
	}
	if testing.Short() {
		a.Rounds = 12
	}
	if err := os.MkdirAll(a.Src, 0o755); err != nil {
		t.Fatal(err)
	}
	argJSON, _ := json.Marshal(a)
	arg := childArgEnv + "=" + string(argJSON)
	pruner := startHelper(t, "forgetloop", e.dir, arg)
	backer := startHelper(t, "backuploop", e.dir, arg)

	if err := backer.finish(t); err != nil {
		t.Fatalf("backup loop failed: %v: %s", err, backer.output())
	}
	backupsDone := time.Now()
	if err := os.WriteFile(a.Stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pruner.finish(t); err != nil {
		t.Fatalf("forget+prune loop failed: %v: %s", err, pruner.output())
	}
	loops := time.Since(start)

	var backups []backupRecord
	var prunes []pruneRecord
	readJSON(t, a.Manifest, &backups)
	readJSON(t, a.Stats, &prunes)
	if len(backups) != a.Rounds {
		t.Fatalf("%d backups recorded, want %d", len(backups), a.Rounds)
	}
	var maxOpen, maxBackup time.Duration
	for _, b := range backups {
		maxOpen, maxBackup = max(maxOpen, b.Open), max(maxBackup, b.Duration)
	}
	// Work the prune loop did while backups ran, and how often a backup
	// and a prune overlapped.
	var beside, deleted, marked, resurrected, waiting, forgot, overlaps int
	for _, p := range prunes {
		forgot += p.Forgot
		if p.Start.After(backupsDone) {
			continue
		}
		beside++
		deleted += p.Result.Deleted.Packs
		marked += p.Result.MarkedUnused.Packs + p.Result.MarkedRepacked.Packs + p.Result.Orphans.Packs
		resurrected += p.Result.Resurrected
		waiting += p.Result.Waiting
		for _, b := range backups {
			if b.Start.Before(p.End) && p.Start.Before(b.End) {
				overlaps++
			}
		}
	}
	t.Logf("%d backups (longest open %v, longest backup %v) and %d prune rounds (%d while backups ran: %d packs deleted, %d marked, %d resurrected, %d set-rounds waiting; %d backup/prune overlaps), %d snapshots forgotten; loops took %v",
		len(backups), maxOpen.Round(time.Millisecond), maxBackup.Round(time.Millisecond), len(prunes), beside,
		deleted, marked, resurrected, waiting, overlaps, forgot, loops.Round(time.Millisecond))
	if beside < 2 || marked == 0 {
		t.Errorf("the prune loop did too little beside the backups: %d rounds, %d packs marked", beside, marked)
	}
	if overlaps == 0 {
		t.Error("no prune round overlapped a backup")
	}

	// The end state: the newest Keep snapshots, each restoring to its
	// manifest and to its round's tree written again.
	verify := func(stage string) {
		t.Helper()
		e.checkAll()
		ids := e.snapshotIDs()
		if len(ids) != a.Keep {
			t.Fatalf("%s: %d snapshots left, want %d", stage, len(ids), a.Keep)
		}
		r := e.open(repo.SharedLock)
		defer r.Close()
		for _, b := range backups[len(backups)-a.Keep:] {
			id, err := repo.ParseID(b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !ids[id] {
				t.Fatalf("%s: snapshot %s of round %d is gone", stage, id.Short(), b.Round)
			}
			sn, err := snapshot.LoadSnapshot(context.Background(), r, id)
			if err != nil {
				t.Fatal(err)
			}
			target := t.TempDir()
			rs := &restorer.Restorer{Repo: r, Verify: true, NoOwner: true}
			if _, err := rs.Restore(context.Background(), sn, a.Src, target); err != nil {
				t.Fatalf("%s: restore round %d: %v", stage, b.Round, err)
			}
			got := manifestOf(t, target)
			if len(got) != len(b.Files) {
				t.Errorf("%s: round %d restored %d items, manifest has %d", stage, b.Round, len(got), len(b.Files))
			}
			for p, w := range b.Files {
				if got[p] != w {
					t.Errorf("%s: round %d: %s restored as %+v, backed up as %+v", stage, b.Round, p, got[p], w)
				}
			}
			again := filepath.Join(t.TempDir(), "src")
			if err := os.MkdirAll(again, 0o755); err != nil {
				t.Fatal(err)
			}
			writeRound(t, again, b.Round)
			snapshottest.CompareTrees(t, snapshottest.ScanTree(t, again), snapshottest.ScanTree(t, target))
		}
	}
	verify("after the loops")
	first := e.prune(prune.Options{})
	second := e.prune(prune.Options{})
	verify("after two more prunes")
	t.Logf("final prunes deleted %d+%d packs; %v in all", first.Deleted.Packs, second.Deleted.Packs, time.Since(start).Round(time.Millisecond))
	if strings.Contains(backer.output(), "FAIL") || strings.Contains(pruner.output(), "FAIL") {
		t.Errorf("a loop reported a failure: %s %s", backer.output(), pruner.output())
	}
}

// TestPruneSeesSnapshotSavedAfterOpen: a backup that saves its snapshot
// after prune opened the repository (and loaded the index) but before
// prune lists the snapshots is an ordinary event beside backups. Prune
// must mark that snapshot (whose blobs are in packs its index did not
// have yet) and go on, not stop on a "blob not found in index", and the
// snapshot must survive every later prune.
func TestPruneSeesSnapshotSavedAfterOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := t.TempDir()
	day(t, src, 0)
	old := e.backup(src)

	pr := e.open(repo.PruneLock) // loads the index now
	want := day(t, src, 1)
	sn := e.backup(src) // finishes while prune has the repository open
	e.forget(old)
	res, err := prune.Run(ctx, pr, prune.Options{})
	pr.Close()
	if err != nil {
		t.Fatalf("prune beside a backup that finished after prune opened the repository: %v", err)
	}
	if res.Snapshots != 1 {
		t.Errorf("prune marked %d snapshots, want 1", res.Snapshots)
	}
	e.checkAll()
	e.restoreEqual(sn, src, want)
	for range 2 {
		e.prune(prune.Options{})
		e.checkAll()
		e.restoreEqual(sn, src, want)
	}
}

// pauseBackend runs fn once, at the first call of op on files of type typ
// (before the call); concurrent calls wait for it.
type pauseBackend struct {
	backend.Backend
	op   string
	typ  backend.FileType
	once sync.Once
	fn   func()
}

func (p *pauseBackend) at(op string, t backend.FileType) {
	if op == p.op && t == p.typ {
		p.once.Do(p.fn)
	}
}

func (p *pauseBackend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	p.at("list", t)
	return p.Backend.List(ctx, t, fn)
}

func (p *pauseBackend) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	p.at("load", h.Type)
	return p.Backend.Load(ctx, h, off, n)
}

// TestOpenBesidePhaseB: a backup opens the repository while a prune's
// phase B rewrites index files. The prune listed the locks before the
// backup took its lock (so its set is ready), and replaces index files
// between the backup's listing of the index and its loading of them
// (DropPacks: the new file first, then the old one removed). The backup's
// Open must load a complete index, not fail on the index file that is no
// longer there.
func TestOpenBesidePhaseB(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := t.TempDir()
	var sns []*snapshot.Snapshot
	var want map[string]snapshottest.FileState
	for n := range 3 {
		want = killDay(t, src, n)
		sns = append(sns, e.backup(src))
	}
	e.forget(sns[:2]...)
	if res := e.prune(prune.Options{MaxUnused: 0.01}); res.MarkedUnused.Packs+res.MarkedRepacked.Packs == 0 {
		t.Fatalf("nothing marked obsolete: %+v", res)
	}
	indexBefore := countFiles(t, filepath.Join(e.dir, "index"))

	paused, resume := make(chan struct{}), make(chan struct{})
	pruned := make(chan *prune.Result, 1)
	pruneErr := make(chan error, 1)
	go func() {
		lb, err := local.Open(ctx, e.dir)
		if err != nil {
			pruneErr <- err
			return
		}
		// The prune stops when it lists the snapshots: after its lock
		// check, so before the backup's lock exists.
		pb := &pauseBackend{Backend: lb, op: "list", typ: repo.SnapshotFile, fn: func() {
			close(paused)
			<-resume
		}}
		r, err := repo.Open(ctx, pb, []byte(pw), repo.Options{Lock: repo.PruneLock})
		if err != nil {
			pruneErr <- err
			return
		}
		res, err := prune.Run(ctx, r, prune.Options{MaxUnused: 0.01})
		r.Close()
		pruned <- res
		pruneErr <- err
	}()
	select {
	case <-paused:
	case err := <-pruneErr:
		t.Fatalf("prune: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("prune never listed the snapshots")
	}
	// The backup's session: when it starts loading the index files it
	// listed, the prune runs to its end.
	lb, err := local.Open(ctx, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var res *prune.Result
	bb := &pauseBackend{Backend: lb, op: "load", typ: repo.IndexFile, fn: func() {
		close(resume)
		res = <-pruned
		if err := <-pruneErr; err != nil {
			t.Errorf("prune: %v", err)
		}
	}}
	r, err := repo.Open(ctx, bb, []byte(pw), repo.Options{Lock: repo.SharedLock})
	if res == nil {
		close(resume)
		res = <-pruned
	}
	t.Logf("prune beside the open: deleted %d packs; %d index files before, %d after",
		res.Deleted.Packs, indexBefore, countFiles(t, filepath.Join(e.dir, "index")))
	if res.Deleted.Packs == 0 {
		t.Fatalf("the prune deleted nothing, so the race was not run: %+v", res)
	}
	if err != nil {
		t.Fatalf("a backup's Open beside phase B failed: %v", err)
	}
	defer r.Close()
	// The index it loaded names every pack the repository indexes.
	fresh := e.open(repo.NoLock)
	defer fresh.Close()
	_ = fresh.Index().Each(func(b repo.BlobLocation) error {
		if _, ok := r.Index().Lookup(b.Type, b.ID); !ok {
			t.Fatalf("the session opened beside phase B lacks blob %s", b.ID.Short())
		}
		return nil
	})
	e.checkAll()
	e.restoreEqual(sns[2], src, want)
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}
