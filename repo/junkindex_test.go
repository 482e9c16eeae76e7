package repo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
)

// One file in index/ that cannot be read once stopped every command until
// 'repair index' ran on the backup host; anyone who can reach an
// append-only server can upload one (no password is needed for a file
// whose name is its hash). Commands that read or add now pass over such a
// file with a warning; commands that remove data refuse (indexskip.go).

// putIndexFile writes b into dir's index/ under its hash, as an upload
// through an append-only server would, and returns its ID.
func putIndexFile(t *testing.T, dir string, b []byte) repo.ID {
	t.Helper()
	return putFile(t, dir, "index", b)
}

// putFile writes b into the directory sub of dir under its hash.
func putFile(t *testing.T, dir, sub string, b []byte) repo.ID {
	t.Helper()
	sum := sha256.Sum256(b)
	name := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, sub, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := repo.ParseID(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// junkIndexFiles puts three junk index files into dir: one whose seal does
// not open and one whose first byte claims a newer seal version (both
// damage: design §13), and one sealed with the key whose plaintext claims
// a newer index version (unsupported), as a client holding the password
// could upload.
func junkIndexFiles(t *testing.T, dir string) (damaged, sealByte, newer repo.ID) {
	t.Helper()
	damaged = putIndexFile(t, dir, append([]byte{1}, randBytes(71, 3000)...))
	sealByte = putIndexFile(t, dir, append([]byte{200}, randBytes(72, 3000)...))
	r := openLocal(t, dir, repo.NoLock)
	defer r.Close()
	newer, err := r.SaveFile(context.Background(), repo.IndexFile, []byte("CDIX\x02 from a newer cadang"))
	if err != nil {
		t.Fatal(err)
	}
	return damaged, sealByte, newer
}

// warnings collects what a Repository warns about.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func openWarning(t *testing.T, dir string, mode repo.LockMode, w *warnings) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{Lock: mode, Warnf: w.warnf})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pruneErr runs prune on the repository in dir and returns its error.
func pruneErr(t *testing.T, dir string) error {
	t.Helper()
	r := openLocal(t, dir, repo.PruneLock)
	defer r.Close()
	_, err := prune.Run(context.Background(), r, prune.Options{MaxUnusedBytes: 1})
	return err
}

// backedUp makes a repository with two snapshots of a small tree whose
// second leaves a file out (so that a prune has something to do), and
// returns its directory, the second snapshot and the file it holds.
func backedUp(t *testing.T) (dir string, sn *snapshot.Snapshot, a []byte) {
	t.Helper()
	dir = newBackupRepo(t)
	src := t.TempDir()
	a = randBytes(21, 700_000)
	if err := os.WriteFile(filepath.Join(src, "a"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "b"), randBytes(22, 700_000), 0o644); err != nil {
		t.Fatal(err)
	}
	r := openLocal(t, dir, repo.SharedLock)
	first := backupWith(t, r, src)
	if err := os.Remove(filepath.Join(src, "b")); err != nil {
		t.Fatal(err)
	}
	sn = backupWith(t, r, src)
	if err := r.RemoveFile(context.Background(), repo.SnapshotFile, first.ID()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	return dir, sn, a
}

func TestJunkIndexFilesArePassedOver(t *testing.T) {
	ctx := context.Background()
	dir, sn, a := backedUp(t)
	damaged, sealByte, newer := junkIndexFiles(t, dir)

	var w warnings
	r := openWarning(t, dir, repo.SharedLock, &w)
	skipped := r.SkippedFiles()
	if len(skipped) != 3 {
		t.Fatalf("SkippedFiles: %v, want the three junk files", skipped)
	}
	kinds := map[string]string{}
	for _, err := range skipped {
		var de *repo.DamagedError
		var ue *repo.UnsupportedError
		switch {
		case errors.As(err, &de):
			kinds[de.File.Name] = "damaged"
		case errors.As(err, &ue):
			kinds[ue.File.Name] = "unsupported"
		default:
			t.Errorf("skipped file error %v (%T) is neither damage nor a newer format", err, err)
		}
	}
	if kinds[damaged.String()] != "damaged" || kinds[sealByte.String()] != "damaged" || kinds[newer.String()] != "unsupported" {
		t.Fatalf("skipped files: %v", kinds)
	}
	msgs := w.list()
	all := strings.Join(msgs, "\n")
	if len(msgs) != 3 || !strings.Contains(all, damaged.String()) || !strings.Contains(all, sealByte.String()) ||
		!strings.Contains(all, newer.String()) || !strings.Contains(msgs[0], "repair index") {
		t.Fatalf("warnings at open: %q, want one naming each file and the remedy", msgs)
	}

	// Reading goes on: the file restores byte for byte.
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatal("a does not read back")
	}
	// So does writing: a session adds a blob and flushes its index.
	blob := randBytes(23, 5000)
	id, _, err := r.SaveBlob(ctx, repo.DataBlob, blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The reloads of a session keep the finding and do not warn again.
	if err := r.LoadNewIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.SkippedFiles()); n != 3 {
		t.Fatalf("after the reloads %d skipped files, want 3", n)
	}
	if n := len(w.list()); n != 3 {
		t.Fatalf("the reloads warned again: %q", w.list()[3:])
	}

	// What removes data refuses, and says why: for the file sealed with
	// the key, which may index anything. The two junk files were never
	// sealed with it (foreign) and index nothing: they do not count.
	err = r.RequireWholeIndex("prune")
	if !errors.Is(err, repo.ErrIncompleteIndex) || !strings.Contains(err.Error(), "repair index") ||
		!strings.Contains(err.Error(), newer.String()) || strings.Contains(err.Error(), damaged.String()) || strings.Contains(err.Error(), sealByte.String()) {
		t.Fatalf("RequireWholeIndex: %v", err)
	}
	var packs []repo.ID
	if err := r.ListFiles(ctx, repo.PackFile, func(id repo.ID) error { packs = append(packs, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePacks(ctx, packs); !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("RemovePacks: %v", err)
	}
	if err := r.RemovePack(ctx, packs[0]); !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("RemovePack: %v", err)
	}
	r.Close()
	before := snapshotDir(t, dir)
	if err := pruneErr(t, dir); !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("prune: %v, want it to refuse", err)
	}
	ex := openLocal(t, dir, repo.ExclusiveLock)
	_, err = ex.RepairPacks(ctx, packs[:1], repo.RepairPacksOptions{})
	ex.Close()
	if !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("repair packs: %v, want it to refuse", err)
	}
	if after := snapshotDir(t, dir); !equalMaps(before, after) {
		t.Fatal("prune or repair packs changed the repository while refusing")
	}

	// check lists both files, the newer one apart.
	cr := openLocal(t, dir, repo.SharedLock)
	res, err := cr.Check(ctx, repo.CheckOptions{})
	cr.Close()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]repo.ProblemKind{}
	for _, p := range res.Problems {
		if _, twice := found[p.File.Name]; twice || p.File.Type != repo.IndexFile {
			t.Fatalf("check: %v reported twice, or not about an index file", p)
		}
		found[p.File.Name] = p.Kind
	}
	if len(found) != 3 || found[damaged.String()] != repo.ProblemFileDamaged || found[sealByte.String()] != repo.ProblemFileDamaged ||
		found[newer.String()] != repo.ProblemUnsupported {
		t.Fatalf("check's findings for the index files: %v", found)
	}

	// repair index takes them out, and everything works again.
	rebuildIndex(t, dir)
	var w2 warnings
	r = openWarning(t, dir, repo.PruneLock, &w2)
	defer r.Close()
	if s := r.SkippedFiles(); len(s) != 0 || len(w2.list()) != 0 {
		t.Fatalf("after repair index: skipped %v, warnings %q", s, w2.list())
	}
	if got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("the blob saved beside the junk: %v", err)
	}
	if _, err := prune.Run(ctx, r, prune.Options{MaxUnusedBytes: 1}); err != nil {
		t.Fatalf("prune after repair index: %v", err)
	}
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatal("a does not read back after the prune")
	}
}

// TestDamagedIndexFileOfRealPacks: a genuine index file damaged on disk
// is passed over too; its packs are then unindexed, the next writing
// session adopts them from their own headers, and what they hold reads
// back. Before the adoption prune refuses, since those packs look unused.
func TestDamagedIndexFileOfRealPacks(t *testing.T) {
	ctx := context.Background()
	dir, sn, a := backedUp(t)
	names, err := os.ReadDir(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		p := filepath.Join(dir, "index", n.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x40
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var w warnings
	r := openWarning(t, dir, repo.SharedLock, &w)
	if got := len(r.SkippedFiles()); got != len(names) {
		t.Fatalf("%d of %d damaged index files skipped", got, len(names))
	}
	for _, err := range r.SkippedFiles() {
		if !repo.IsDamaged(err) {
			t.Fatalf("a flipped bit is not damage: %v", err)
		}
	}
	if _, err := r.LoadBlob(ctx, repo.TreeBlob, sn.Tree, nil); !errors.Is(err, repo.ErrBlobNotFound) {
		t.Fatalf("a blob only the damaged files index: %v, want not found", err)
	}
	res, err := r.AdoptUnindexedPacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Packs == 0 {
		t.Fatal("the packs of the damaged index files were not adopted")
	}
	r.Close()
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatal("a does not read back after the adoption")
	}
}

// TestIndexLoadErrorStillStops: only damage and a newer format are passed
// over. A backend failing to read an index file (a dropped connection)
// says nothing about the file, and Open fails as before rather than load
// an index that silently lacks it.
func TestIndexLoadErrorStillStops(t *testing.T) {
	dir, _, _ := backedUp(t)
	ctx := context.Background()
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := &failingLoads{Backend: lb, fail: func(h backend.Handle, off, l int64) bool { return h.Type == repo.IndexFile }}
	_, err = repo.Open(ctx, fb, []byte(pw), repo.Options{Lock: repo.SharedLock})
	if err == nil || fb.n.Load() == 0 || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Open through a failing backend: %v (%d failed loads), want the read error", err, fb.n.Load())
	}
	lb.Close()
}

// TestManyJunkIndexFilesWarnBriefly: ten thousand junk files are one
// summary line after the first few, not ten thousand lines.
func TestManyJunkIndexFilesWarnBriefly(t *testing.T) {
	dir, _, _ := backedUp(t)
	for i := range 40 {
		putIndexFile(t, dir, append([]byte{1}, randBytes(uint64(1000+i), 200)...))
	}
	var w warnings
	r := openWarning(t, dir, repo.SharedLock, &w)
	defer r.Close()
	if n := len(r.SkippedFiles()); n != 40 {
		t.Fatalf("%d skipped, want 40", n)
	}
	msgs := w.list()
	if len(msgs) != 6 || !strings.Contains(msgs[5], "35 more") {
		t.Fatalf("warnings: %d lines, last %q", len(msgs), msgs[len(msgs)-1])
	}
}

// TestUnreadableObsoleteSet: loading the index reads the obsolete-pack
// sets too, and one junk file in obsolete/ stopped every command the same
// way. A genuine set damaged between prune's two phases is passed over
// as well: its packs are then not marked, prune refuses, and repair index
// removes the set, after which the next prune decides on its packs anew
// and the snapshot still restores.
func TestUnreadableObsoleteSet(t *testing.T) {
	ctx := context.Background()
	dir, sn, a := backedUp(t)
	runPrune(t, dir) // marks the pack of b obsolete
	sets, err := os.ReadDir(filepath.Join(dir, "obsolete"))
	if err != nil || len(sets) != 1 {
		t.Fatalf("obsolete sets after the first prune: %v %v", sets, err)
	}
	p := filepath.Join(dir, "obsolete", sets[0].Name())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	putFile(t, dir, "obsolete", append([]byte{1}, randBytes(73, 500)...))

	var w warnings
	r := openWarning(t, dir, repo.SharedLock, &w)
	if s := r.SkippedFiles(); len(s) != 2 || fileType(s[0]) != repo.ObsoleteFile || fileType(s[1]) != repo.ObsoleteFile {
		t.Fatalf("SkippedFiles: %v, want the two obsolete files", s)
	}
	if len(w.list()) != 2 {
		t.Fatalf("warnings: %q", w.list())
	}
	backupWith(t, r, t.TempDir()) // a writer goes on
	res, err := r.Check(ctx, repo.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// checkSmallFiles reports each once.
	if n := len(res.Problems); n != 2 || res.Problems[0].File.Type != repo.ObsoleteFile || res.Problems[1].File.Type != repo.ObsoleteFile {
		t.Fatalf("check: %v", res.Problems)
	}
	r.Close()
	if err := pruneErr(t, dir); !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("prune with unreadable obsolete sets: %v", err)
	}

	ex := openLocal(t, dir, repo.ExclusiveLock)
	var logged []string
	if _, _, err := ex.RebuildIndex(ctx, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }); err != nil {
		t.Fatal(err)
	}
	ex.Close()
	if left, _ := os.ReadDir(filepath.Join(dir, "obsolete")); len(left) != 0 || len(logged) < 2 {
		t.Fatalf("repair index left %d obsolete files, logged %q", len(left), logged)
	}
	runPrune(t, dir)
	if res := runPrune(t, dir); res.Deleted.Packs == 0 {
		t.Fatal("the prunes after repair index deleted nothing: b's pack should go")
	}
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatal("a does not read back after the prunes")
	}
	cr := openLocal(t, dir, repo.SharedLock)
	defer cr.Close()
	res, err = cr.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check after the prunes: %v %v", err, res.Problems)
	}
}

func fileType(err error) repo.FileType {
	return repo.NewProblem(repo.ProblemFileDamaged, err).File.Type
}

// TestSealedJunkObsoleteSet: a client holding the password can upload an
// obsolete-pack file that opens but does not decode. Loading the index
// passes over it and prune refuses, so check must not call the repository
// sound: it decodes obsolete files, as the index load does.
func TestSealedJunkObsoleteSet(t *testing.T) {
	ctx := context.Background()
	dir, _, _ := backedUp(t)
	r := openLocal(t, dir, repo.SharedLock)
	junk, err := r.SaveFile(ctx, repo.ObsoleteFile, []byte("not an obsolete-pack set"))
	if err != nil {
		t.Fatal(err)
	}
	newer, err := r.SaveFile(ctx, repo.ObsoleteFile, append([]byte("CDOB\x02"), make([]byte, 8)...))
	if err != nil {
		t.Fatal(err)
	}
	// A set of this version whose index records claim a newer index
	// version: the records are part of the set's layout, so damage too.
	inner, err := r.SaveFile(ctx, repo.ObsoleteFile, append(append([]byte("CDOB\x01"), make([]byte, 8)...), "CDIX\x02"...))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = openLocal(t, dir, repo.SharedLock)
	if s := r.SkippedFiles(); len(s) != 3 || !repo.IsDamaged(s[0]) || !repo.IsDamaged(s[1]) || !repo.IsDamaged(s[2]) {
		t.Fatalf("skipped %v, want the three sealed obsolete files, as damage", s)
	}
	res, err := r.Check(ctx, repo.CheckOptions{})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]repo.ProblemKind{}
	for _, p := range res.Problems {
		got[p.File.Name] = p.Kind
	}
	// A newer obsolete version comes only with a newer config version
	// (doc/design.md §13): damage here, like the junk.
	if len(res.Problems) != 3 || got[junk.String()] != repo.ProblemFileDamaged || got[newer.String()] != repo.ProblemFileDamaged ||
		got[inner.String()] != repo.ProblemFileDamaged {
		t.Fatalf("check: %v", res.Problems)
	}
	rebuildIndex(t, dir)
	r = openLocal(t, dir, repo.SharedLock)
	defer r.Close()
	if n := len(r.SkippedFiles()); n != 0 {
		t.Fatalf("after repair index %d files are still skipped", n)
	}
}

// TestPruneRefusesJunkAfterOpen: an index file damaged on the medium that
// appears after prune opened the repository is not in the index it loaded,
// so its first refusal passes; the reload after listing the snapshots sees
// it, and prune stops there, before it marks anything.
func TestPruneRefusesJunkAfterOpen(t *testing.T) {
	dir, _, _ := backedUp(t)
	r := openLocal(t, dir, repo.PruneLock)
	defer r.Close()
	// Its bytes do not match its name: damage, which may have been a
	// genuine index file (junk that matches its name would be foreign, and
	// passed over).
	b := append([]byte{1}, randBytes(74, 900)...)
	sum := sha256.Sum256(append(b, 0))
	if err := os.WriteFile(filepath.Join(dir, "index", hex.EncodeToString(sum[:])), b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	_, err := prune.Run(context.Background(), r, prune.Options{MaxUnusedBytes: 1})
	if !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("prune with junk uploaded after its open: %v", err)
	}
	if !equalMaps(before, snapshotDir(t, dir)) {
		t.Fatal("prune changed the repository before it refused")
	}
}

// TestRepairIndexObsoleteReadFails: repair index removes the obsolete-pack
// files it cannot read, so it reads them all first; a transient failure
// there (not damage) stops it with nothing changed. It once wrote the new
// index, removed the old one, and only then met the failure, logged it
// and said "rebuilt", leaving the next prune to refuse.
func TestRepairIndexObsoleteReadFails(t *testing.T) {
	dir, _, _ := backedUp(t)
	runPrune(t, dir) // an obsolete set
	before := snapshotDir(t, dir)
	err, n := rebuildFailing(t, dir, func(h backend.Handle, off, l int64) bool { return h.Type == repo.ObsoleteFile })
	if err == nil || n == 0 || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("repair index with the obsolete sets unreadable: %v (%d failed loads)", err, n)
	}
	if !equalMaps(before, snapshotDir(t, dir)) {
		t.Fatal("repair index changed the repository before it failed")
	}
}

// TestRepairIndexResult: RepairIndex says which packs' headers cannot be
// read and which of them stay indexed by the old entries that still open,
// and which obsolete-pack files it removed, so that the CLI can record a
// partial repair and name the packs for 'repair packs'.
func TestRepairIndexResult(t *testing.T) {
	dir, r, want, pack, _ := truncatedPack(t)
	junk := putFile(t, dir, "obsolete", append([]byte{1}, randBytes(75, 300)...))
	// A pack file that no index names and whose header is junk: damaged,
	// with nothing to keep.
	junkPack := writeJunkPack(t, dir, randBytes(76, 5000))
	r.Close()
	ex := openLocal(t, dir, repo.ExclusiveLock)
	defer ex.Close()
	res, err := ex.RepairIndex(context.Background(), repo.RepairIndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantDamaged := []repo.ID{pack, junkPack}
	slices.SortFunc(wantDamaged, func(a, b repo.ID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(res.DamagedHeaders, wantDamaged) || len(res.KeptDamaged) != 1 || res.KeptDamaged[0] != pack {
		t.Fatalf("damaged headers %v, kept %v; want %v, and %s kept", res.DamagedHeaders, res.KeptDamaged, wantDamaged, pack.Short())
	}
	if len(res.RemovedObsolete) != 1 || res.RemovedObsolete[0] != junk {
		t.Fatalf("removed obsolete files %v, want %s", res.RemovedObsolete, junk.Short())
	}
	if n := ex.Index().Len(repo.DataBlob) + ex.Index().Len(repo.TreeBlob); res.Blobs != n || res.Blobs < len(want) {
		t.Fatalf("result counts %d blobs, the index %d, saved %d", res.Blobs, n, len(want))
	}
}

// TestLoadNewIndexWarns: a junk file that arrives after Open is found by
// the next LoadNewIndex (check calls it after listing the snapshots), and
// it is warned about once, like one found at Open. A review found it
// skipped in silence: the map of files skipped before was the one the
// new entries went into.
func TestLoadNewIndexWarns(t *testing.T) {
	dir, _, _ := backedUp(t)
	var w warnings
	r := openWarning(t, dir, repo.SharedLock, &w)
	defer r.Close()
	junk := putIndexFile(t, dir, append([]byte{1}, randBytes(77, 700)...))
	for range 2 {
		if err := r.LoadNewIndex(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.SkippedFiles(); len(s) != 1 {
		t.Fatalf("SkippedFiles: %v", s)
	}
	if msgs := w.list(); len(msgs) != 1 || !strings.Contains(msgs[0], junk.String()) {
		t.Fatalf("warnings: %q, want one naming %s", msgs, junk.Short())
	}
}

// TestPruneRunsPastForeignObsoleteFile: junk in obsolete/ that no holder of
// the key sealed marks nothing obsolete, so prune runs past it (it stopped
// every prune until repair index removed it); an obsolete-pack file damaged
// on the medium may have marked genuine packs, and still stops prune.
func TestPruneRunsPastForeignObsoleteFile(t *testing.T) {
	dir, sn, a := backedUp(t)
	putFile(t, dir, "obsolete", append([]byte{1}, randBytes(75, 400)...))
	if err := pruneErr(t, dir); err != nil {
		t.Fatalf("prune beside a foreign obsolete-pack file: %v", err)
	}
	if got := readFile(t, dir, sn, "a"); !bytes.Equal(got, a) {
		t.Fatal("a does not read back after the prune")
	}
	b := append([]byte{1}, randBytes(76, 400)...)
	sum := sha256.Sum256(append(b, 0))
	if err := os.WriteFile(filepath.Join(dir, "obsolete", hex.EncodeToString(sum[:])), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pruneErr(t, dir); !errors.Is(err, repo.ErrIncompleteIndex) {
		t.Fatalf("prune beside a damaged obsolete-pack file: %v", err)
	}
}
