package prune_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/restorer"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

const pw = "pw"

type env struct {
	t   *testing.T
	dir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, []byte(pw), repo.InitOptions{KDF: crypto.CheapKDFParams(), PackSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return &env{t: t, dir: dir}
}

func (e *env) open(mode repo.LockMode) *repo.Repository {
	e.t.Helper()
	be, err := local.Open(context.Background(), e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{Lock: mode})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// backup backs up src in its own session and returns the snapshot.
func (e *env) backup(src string) *snapshot.Snapshot {
	e.t.Helper()
	r := e.open(repo.SharedLock)
	defer r.Close()
	res, err := backup.Run(context.Background(), r, backup.Options{Paths: []string{src}, Host: "spse"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Snapshot
}

func (e *env) forget(sns ...*snapshot.Snapshot) {
	e.t.Helper()
	r := e.open(repo.SharedLock)
	defer r.Close()
	for _, sn := range sns {
		if err := r.RemoveFile(context.Background(), repo.SnapshotFile, sn.ID()); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) prune(o prune.Options) *prune.Result {
	e.t.Helper()
	r := e.open(repo.PruneLock)
	defer r.Close()
	res, err := prune.Run(context.Background(), r, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// check runs a full data check and fails on any problem.
func (e *env) check() {
	e.t.Helper()
	r := e.open(repo.SharedLock)
	defer r.Close()
	res, err := r.Check(context.Background(), repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		e.t.Fatalf("check --read-data: %v %v", err, res.Problems)
	}
}

// restoreEqual restores sn and compares it with want (a ScanTree of the
// source at backup time).
func (e *env) restoreEqual(sn *snapshot.Snapshot, src string, want map[string]snapshottest.FileState) {
	e.t.Helper()
	r := e.open(repo.SharedLock)
	defer r.Close()
	target := e.t.TempDir()
	rs := &restorer.Restorer{Repo: r, Verify: true, NoOwner: true}
	if _, err := rs.Restore(context.Background(), sn, src, target); err != nil {
		e.t.Fatalf("restore %s: %v", sn.ID().Short(), err)
	}
	snapshottest.CompareTrees(e.t, want, snapshottest.ScanTree(e.t, target))
}

func (e *env) packs() int {
	e.t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(e.dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

func (e *env) size() int64 {
	e.t.Helper()
	var n int64
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// day writes the source for one day: a file that stays, and one that is
// new every day.
func day(t *testing.T, src string, n int) map[string]snapshottest.FileState {
	t.Helper()
	snapshottest.WriteFile(t, filepath.Join(src, "tetap.bin"), snapshottest.RandBytes(1, 300<<10))
	os.Remove(filepath.Join(src, "harian.bin"))
	snapshottest.WriteFile(t, filepath.Join(src, "harian.bin"), snapshottest.RandBytes(uint64(100+n), 600<<10))
	return snapshottest.ScanTree(t, src)
}

// TestPruneReclaimsInTwoPhases: forgotten days' data is marked obsolete by
// one prune and deleted by the next; what is kept restores and checks.
func TestPruneReclaimsInTwoPhases(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	var sns []*snapshot.Snapshot
	var want map[string]snapshottest.FileState
	for n := range 4 {
		want = day(t, src, n)
		sns = append(sns, e.backup(src))
	}
	full := e.size()
	e.forget(sns[:3]...)

	first := e.prune(prune.Options{})
	if first.Deleted.Packs != 0 || first.MarkedUnused.Packs+first.MarkedRepacked.Packs == 0 {
		t.Fatalf("first prune: %+v; want packs marked obsolete and none deleted", first)
	}
	e.check()
	e.restoreEqual(sns[3], src, want)

	second := e.prune(prune.Options{})
	if second.Deleted.Packs == 0 || second.Resurrected != 0 {
		t.Fatalf("second prune: %+v; want the obsolete packs deleted", second)
	}
	e.check()
	e.restoreEqual(sns[3], src, want)
	if after := e.size(); after > full*2/3 {
		t.Errorf("repository %d bytes after prune, %d before: too little reclaimed", after, full)
	}
	third := e.prune(prune.Options{})
	if third.Deleted.Packs != 0 || third.MarkedUnused.Packs != 0 {
		t.Errorf("third prune found more to do: %+v", third)
	}
}

// TestPruneWaitsForOlderBackup: a session that opened the repository
// before the packs were marked obsolete holds their deletion back, and a
// snapshot it saves that still uses them resurrects them.
func TestPruneWaitsForOlderBackup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := t.TempDir()
	want := day(t, src, 1)
	sn := e.backup(src)
	e.forget(sn)

	// A backup opens the repository (and loads the index) now, before
	// prune marks the data it is about to deduplicate against.
	old := e.open(repo.SharedLock)
	first := e.prune(prune.Options{})
	if first.MarkedUnused.Packs == 0 {
		t.Fatalf("first prune marked nothing: %+v", first)
	}
	res, err := backup.Run(ctx, old, backup.Options{Paths: []string{src}, Host: "spse"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot.Summary.DataAdded != 0 {
		// Its index predates the marking: it deduplicated, as any backup
		// that started earlier may.
		t.Logf("the older session stored %d bytes again", res.Snapshot.Summary.DataAdded)
	}
	waiting := e.prune(prune.Options{})
	if waiting.Deleted.Packs != 0 || waiting.Waiting != 1 {
		t.Fatalf("prune while the older session runs: %+v; want the set waiting", waiting)
	}
	// And it names the lock it waits for, so that an administrator can
	// tell a running backup from a dead one's lock.
	if len(waiting.WaitingFor) != 1 || !old.HoldsLock(waiting.WaitingFor[0].ID) || waiting.WaitingFor[0].LockInfo.ID != waiting.WaitingFor[0].ID ||
		waiting.WaitingFor[0].PID != os.Getpid() {
		t.Fatalf("prune waits for %+v, want the older session's lock", waiting.WaitingFor)
	}
	if b, err := json.Marshal(waiting.WaitingFor[0]); err != nil || !strings.Contains(string(b), `"id":"`+waiting.WaitingFor[0].ID.String()+`"`) {
		t.Fatalf("prune --json names no lock ID: %s %v", b, err)
	}
	old.Close()

	last := e.prune(prune.Options{})
	if last.Deleted.Packs != 0 && res.Snapshot.Summary.DataAdded == 0 {
		t.Fatalf("prune deleted %d packs that the older session's snapshot uses: %+v", last.Deleted.Packs, last)
	}
	if res.Snapshot.Summary.DataAdded == 0 && last.Resurrected == 0 {
		t.Errorf("nothing resurrected: %+v", last)
	}
	e.check()
	e.restoreEqual(res.Snapshot, src, want)
}

// TestPruneDryRunChangesNothing: the repository is byte-identical after
// a dry run (taken with a shared lock, which it removes again).
func TestPruneDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	var sns []*snapshot.Snapshot
	for n := range 3 {
		day(t, src, n)
		sns = append(sns, e.backup(src))
	}
	e.forget(sns[0])
	e.prune(prune.Options{}) // leave an obsolete set for phase B to plan
	e.forget(sns[1])
	before := hashTree(t, e.dir)
	r := e.open(repo.SharedLock)
	res, err := prune.Run(context.Background(), r, prune.Options{DryRun: true})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted.Packs == 0 || res.MarkedUnused.Packs == 0 {
		t.Errorf("dry run planned nothing: %+v", res)
	}
	if after := hashTree(t, e.dir); len(after) != len(before) {
		t.Fatalf("dry run changed the file count: %d -> %d", len(before), len(after))
	} else {
		for p, h := range before {
			if after[p] != h {
				t.Errorf("dry run changed %s", p)
			}
		}
	}
}

func hashTree(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = sha256.Sum256(b)
		}
		return nil
	})
	return out
}

// TestPruneSaysWhenNeededPacksAreUnindexed: packs that a snapshot needs
// but no index file names (an index file lost) are marked as orphans by
// one prune and kept by the next, which says so: check fails until
// 'repair index', and prune used to exit without a word.
func TestPruneSaysWhenNeededPacksAreUnindexed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := t.TempDir()
	day(t, src, 0)
	sn := e.backup(src)
	r := e.open(repo.ExclusiveLock)
	blob := firstDataBlob(t, r, sn.Tree)
	loc, ok := r.LookupBlob(repo.DataBlob, blob)
	if !ok {
		t.Fatal("data blob not indexed")
	}
	if _, err := r.DropPacks(ctx, map[repo.ID]struct{}{loc.Pack: {}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	packs := e.packs()
	if res := e.prune(prune.Options{}); res.Orphans.Packs == 0 {
		t.Fatalf("first prune: %+v, want the unindexed pack marked", res)
	}
	res := e.prune(prune.Options{})
	if res.NeededUnindexed != 1 || res.Resurrected != 1 || res.Deleted.Packs != 0 {
		t.Fatalf("second prune: %+v, want the needed unindexed pack kept and counted", res)
	}
	if e.packs() != packs {
		t.Errorf("%d packs, want %d: a needed pack was deleted", e.packs(), packs)
	}
}

// firstDataBlob returns the first data blob found below tree, depth first.
func firstDataBlob(t *testing.T, r *repo.Repository, tree repo.ID) repo.ID {
	t.Helper()
	tr, err := snapshot.LoadTree(context.Background(), r, tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tr.Nodes {
		if n.Type == snapshot.TypeFile && len(n.Content) > 0 {
			return n.Content[0].ID
		}
		if n.Type == snapshot.TypeDir && !n.Subtree.IsNull() {
			if id := firstDataBlob(t, r, n.Subtree); !id.IsNull() {
				return id
			}
		}
	}
	return repo.ID{}
}
