package restorer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// stripedRepo puts the j-th data blob of every file into one pack of its
// own, as the restorer sees packs: every file then has a blob in the first
// pack and in the last, so every file is open from the first pack to the
// last unless the restorer closes some. Loads go to the real packs.
type stripedRepo struct {
	*snapshottest.Repo
	mu   sync.Mutex
	fake map[repo.ID]repo.ID // blob -> striped pack
	real map[repo.ID]repo.BlobLocation
}

func newStripedRepo(t *testing.T, r *snapshottest.Repo, sn *snapshot.Snapshot) *stripedRepo {
	s := &stripedRepo{Repo: r, fake: map[repo.ID]repo.ID{}, real: map[repo.ID]repo.BlobLocation{}}
	var walk func(id repo.ID)
	walk = func(id repo.ID) {
		tr, err := snapshot.LoadTree(context.Background(), r, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tr.Nodes {
			switch n.Type {
			case snapshot.TypeDir:
				walk(n.Subtree)
			case snapshot.TypeFile:
				for j, b := range n.DataBlobs() {
					if _, ok := s.fake[b]; !ok {
						s.fake[b] = repo.ID{0xfa, byte(j)}
					}
				}
			}
		}
	}
	walk(sn.Tree)
	return s
}

func (s *stripedRepo) LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool) {
	loc, ok := s.Repo.LookupBlob(t, id)
	if ok && t == repo.DataBlob {
		s.mu.Lock()
		s.real[id] = loc
		loc.Pack = s.fake[id]
		s.mu.Unlock()
	}
	return loc, ok
}

func (s *stripedRepo) LoadBlobsFromPack(ctx context.Context, pack repo.ID, blobs []repo.BlobLocation, fn func(repo.BlobLocation, []byte, error) error) error {
	byPack := map[repo.ID][]repo.BlobLocation{}
	s.mu.Lock()
	for _, b := range blobs {
		r := s.real[b.ID]
		byPack[r.Pack] = append(byPack[r.Pack], r)
	}
	s.mu.Unlock()
	for p, locs := range byPack {
		if err := s.Repo.LoadBlobsFromPack(ctx, p, locs, fn); err != nil {
			return err
		}
	}
	return nil
}

// stripedSnapshot backs up files whose blobs the stripedRepo spreads over
// as many packs as each file has blobs.
func stripedSnapshot(t *testing.T, files int) (*stripedRepo, *snapshot.Snapshot, map[string]snapshottest.FileState, string) {
	src := filepath.Join(t.TempDir(), "src")
	for i := 0; i < files; i++ {
		snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("d%d/f%03d", i%3, i)), snapshottest.RandBytes(uint64(1000+i), 300<<10+i*97))
	}
	r := snapshottest.New(testParams)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	return newStripedRepo(t, r, sn), sn, snapshottest.ScanTree(t, src), src
}

// A restore whose files all span all packs holds no more files open than
// its cap: the others are closed and reopened for their next blob, and
// every byte and every piece of metadata still arrives.
func TestRestoreOpenFileCap(t *testing.T) {
	sr, sn, want, src := stripedSnapshot(t, 60)
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "t")
			var mu sync.Mutex
			reopened := 0
			peak := -1
			rs := &Restorer{Repo: sr, Workers: 2, MaxOpenFiles: 3, Verify: verify,
				testHook: func(op, rel string) {
					if op == "reopen" {
						mu.Lock()
						reopened++
						mu.Unlock()
					}
				},
				testFDs: func(p int) { peak = p }}
			sum, err := rs.Restore(context.Background(), sn, "/", target)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Files != 60 {
				t.Errorf("restored %d files, want 60", sum.Files)
			}
			if peak < 1 || peak > 3 {
				t.Errorf("at most %d files were open at once, want 1..3", peak)
			}
			if reopened == 0 {
				t.Error("no file was reopened: the striping did not interleave the files")
			}
			snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))
		})
	}
}

// Under a low RLIMIT_NOFILE and no configured cap, the default cap follows
// the limit, and the restore succeeds with every file spanning every pack.
func TestRestoreLowNofileLimit(t *testing.T) {
	sr, sn, want, src := stripedSnapshot(t, 200)
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	low := old
	low.Cur = 64
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	peak := -1
	target := filepath.Join(t.TempDir(), "t")
	rs := &Restorer{Repo: sr, Workers: 2, testFDs: func(p int) { peak = p }}
	if _, err := rs.Restore(context.Background(), sn, "/", target); err != nil {
		t.Fatal(err)
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	if peak > 32 {
		t.Errorf("%d files open at once under RLIMIT_NOFILE 64, want at most 32", peak)
	}
	snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))
}

// Files written in batches of a few, with blobs shared between files of
// different batches (the striped packs hold blobs of every file), arrive
// whole, and hardlinks and metadata with them.
func TestRestoreInBatches(t *testing.T) {
	sr, sn, want, src := stripedSnapshot(t, 50)
	defer func(f, e int) { batchFiles, batchExtents = f, e }(batchFiles, batchExtents)
	for _, b := range []struct{ files, extents int }{{7, 1 << 20}, {1 << 20, 5}} {
		batchFiles, batchExtents = b.files, b.extents
		target := filepath.Join(t.TempDir(), "t")
		rs := &Restorer{Repo: sr, Workers: 2, MaxOpenFiles: 4, Verify: true}
		sum, err := rs.Restore(context.Background(), sn, "/", target)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Files != 50 || sum.Verified != 50 {
			t.Errorf("batches %+v: restored %d files, verified %d, want 50", b, sum.Files, sum.Verified)
		}
		snapshottest.CompareTrees(t, want, snapshottest.ScanTree(t, filepath.Join(target, src)))
	}
}

// TestParentDirsShared: directories created in one parent share one
// descriptor of it, at most parentDirsMax stay open, and every directory
// is created where it belongs.
func TestParentDirsShared(t *testing.T) {
	target := t.TempDir()
	r, err := openRoot(target, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	p := &parentDirs{root: r}
	p.targetSafe()
	mk := func(rel string) int {
		t.Helper()
		var got int
		err := p.at(rel, func(dfd int, name string) error {
			got = dfd
			return unix.Mkdirat(dfd, name, 0o700)
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.safeChild(rel) {
			if p.ours == nil {
				p.ours = map[string]bool{}
			}
			p.ours[rel] = true
		}
		return got
	}
	mk("a")
	if fd := mk("a/x"); fd != mk("a/y") || fd == r.fd || p.fds["a"] != fd {
		t.Error("siblings were created through different descriptors of their parent")
	}
	// A directory that was there before is looked up again every time.
	if err := os.Mkdir(filepath.Join(target, "e"), 0o700); err != nil {
		t.Fatal(err)
	}
	mk("e/x")
	if _, kept := p.fds["e"]; kept {
		t.Error("a descriptor of a directory the restore did not create was kept")
	}
	for i := range parentDirsMax + 4 {
		mk(fmt.Sprintf("p%02d", i))
		mk(fmt.Sprintf("p%02d/c", i))
	}
	if len(p.fds) > parentDirsMax || len(p.order) != len(p.fds) {
		t.Errorf("%d parent directories held open (%d in order), want at most %d", len(p.fds), len(p.order), parentDirsMax)
	}
	p.closeFDs()
	if len(p.fds) != 0 {
		t.Errorf("%d parent directories held open after close", len(p.fds))
	}
	for _, rel := range []string{"a/x", "a/y", "p00/c", fmt.Sprintf("p%02d/c", parentDirsMax+3)} {
		if fi, err := os.Lstat(filepath.Join(target, rel)); err != nil || !fi.IsDir() {
			t.Errorf("%s: not created: %v", rel, err)
		}
	}
}
