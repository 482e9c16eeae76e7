package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
	"golang.org/x/sync/errgroup"
)

const pw = "correct horse battery staple"

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newLocal(t *testing.T) (string, *repo.Repository) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, repo.NewTestRepository(t, be, pw, repo.InitOptions{PackSize: 4 << 20})
}

func reopen(t *testing.T, dir string) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTripSizes(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	p := chunk.DefaultParams()
	sizes := []int{0, 1, 2, 63, 64, 4095, 4096, 65537, int(p.Min) - 1, int(p.Min), int(p.Min) + 1,
		int(p.Avg), int(p.Max) - 1, int(p.Max), int(p.Max) + 1, 64 << 20}
	type saved struct {
		id   repo.ID
		data []byte
		t    repo.BlobType
	}
	var all []saved
	for i, n := range sizes {
		data := randBytes(uint64(i), n)
		if i%3 == 0 { // compressible too
			line := []byte("INSERT INTO tender VALUES (42, 'x');\n")
			data = bytes.Repeat(line, n/len(line)+1)[:n]
		}
		bt := repo.DataBlob
		if i%4 == 1 {
			bt = repo.TreeBlob
		}
		id, isNew, err := r.SaveBlob(ctx, bt, data)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !isNew {
			t.Fatalf("size %d: first save reported as duplicate", n)
		}
		all = append(all, saved{id, data, bt})
	}
	check := func(r *repo.Repository) {
		for _, s := range all {
			got, err := r.LoadBlob(ctx, s.t, s.id, nil)
			if err != nil {
				t.Fatalf("load %d bytes: %v", len(s.data), err)
			}
			if !bytes.Equal(got, s.data) {
				t.Fatalf("blob of %d bytes came back different (%d bytes)", len(s.data), len(got))
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check(r)
	r.Close()
	r2 := reopen(t, dir)
	defer r2.Close()
	check(r2)
	res, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || res.BlobsRead != len(all) {
		t.Fatalf("check: %d problems %v, read %d of %d blobs", len(res.Problems), res.Problems, res.BlobsRead, len(all))
	}
}

func TestDedup(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	data := randBytes(7, 100000)
	id1, new1, err := r.SaveBlob(ctx, repo.DataBlob, data)
	if err != nil || !new1 {
		t.Fatal(err, new1)
	}
	id2, new2, err := r.SaveBlob(ctx, repo.DataBlob, data)
	if err != nil || new2 || id1 != id2 {
		t.Fatalf("second save: new=%v same=%v err=%v", new2, id1 == id2, err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = reopen(t, dir)
	defer r.Close()
	if _, isNew, _ := r.SaveBlob(ctx, repo.DataBlob, data); isNew {
		t.Fatal("save after reopen stored the blob again")
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsRead != 1 || res.Packs != 1 {
		t.Fatalf("blob stored %d times in %d packs, want once", res.BlobsRead, res.Packs)
	}
}

func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	r.Close()
	before := snapshotDir(t, dir)
	be, _ := local.Open(ctx, dir)
	_, err := repo.Open(ctx, be, []byte("wrong"), repo.Options{})
	if !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("want ErrWrongPassword, got %v", err)
	}
	if after := snapshotDir(t, dir); !equalMaps(before, after) {
		t.Fatal("a failed open changed the repository")
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := repo.Open(context.Background(), mem.New(), []byte(pw), repo.Options{})
	if !errors.Is(err, repo.ErrNoRepository) {
		t.Fatalf("want ErrNoRepository, got %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir, r0 := newLocal(t)
	r0.Close()
	const writers, blobs = 2, 200
	// seedOf is the content of blob i of writer w: the even blobs are shared
	// between the writers, the odd ones are each writer's own.
	seedOf := func(w, i int) uint64 {
		if i%2 == 0 {
			return uint64(i)
		}
		return uint64(w*1000 + i)
	}
	ids := make([][]repo.ID, writers)
	// The writers report errors through the group; only this goroutine
	// calls t.Fatal.
	g, gctx := errgroup.WithContext(ctx)
	for w := 0; w < writers; w++ {
		g.Go(func() (err error) {
			defer func() {
				if err != nil {
					err = fmt.Errorf("writer %d: %w", w, err)
				}
			}()
			r, err := openRepo(gctx, dir)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, r.Close()) }()
			l, err := r.Lock(gctx, false)
			if err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			defer func() {
				if uerr := l.Unlock(ctx); uerr != nil {
					err = errors.Join(err, fmt.Errorf("unlock: %w", uerr))
				}
			}()
			for i := 0; i < blobs; i++ {
				id, _, err := r.SaveBlob(gctx, repo.DataBlob, randBytes(seedOf(w, i), 50000))
				if err != nil {
					return fmt.Errorf("save blob %d: %w", i, err)
				}
				ids[w] = append(ids[w], id)
			}
			if err := r.Flush(gctx); err != nil {
				return fmt.Errorf("flush: %w", err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for w := range ids {
		if len(ids[w]) != blobs {
			t.Fatalf("writer %d saved %d blobs, want %d", w, len(ids[w]), blobs)
		}
	}
	// Shared content has one ID whoever wrote it.
	for i := 0; i < blobs; i += 2 {
		if ids[0][i] != ids[1][i] {
			t.Fatalf("shared blob %d: writer 0 got %s, writer 1 got %s", i, ids[0][i].Short(), ids[1][i].Short())
		}
	}
	r := reopen(t, dir)
	defer r.Close()
	for w := range ids {
		for i, id := range ids[w] {
			got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
			if err != nil {
				t.Fatalf("writer %d lost blob %s: %v", w, id.Short(), err)
			}
			if !bytes.Equal(got, randBytes(seedOf(w, i), 50000)) {
				t.Fatalf("writer %d blob %d (%s): content differs from what was saved", w, i, id.Short())
			}
		}
	}
}

// openRepo is reopen for goroutines other than the test's: it returns the
// error instead of calling t.Fatal.
func openRepo(ctx context.Context, dir string) (*repo.Repository, error) {
	be, err := local.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("open backend: %w", err)
	}
	r, err := repo.Open(ctx, be, []byte(pw), repo.Options{})
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	return r, nil
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	shared, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	r2 := reopen(t, dir)
	defer r2.Close()
	s2, err := r2.Lock(ctx, false)
	if err != nil {
		t.Fatalf("two shared locks must coexist: %v", err)
	}
	var le *repo.LockedError
	if _, err := r2.Lock(ctx, true); !errors.As(err, &le) {
		t.Fatalf("exclusive lock over shared: want LockedError, got %v", err)
	}
	if err := shared.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	ex, err := r2.Lock(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	locks, _ := r.ListLocks(ctx)
	if len(locks) != 1 {
		t.Fatalf("after refresh want exactly 1 lock file, got %d", len(locks))
	}
	if err := ex.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStaleLockRemoved(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	// A lock of a process that no longer exists on this host.
	host, _ := os.Hostname()
	writeForeignLock(t, r, repo.LockInfo{Exclusive: true, Host: host, PID: deadPID(t)})
	var msgs []string
	be, _ := local.Open(ctx, dir)
	r2, err := repo.Open(ctx, be, []byte(pw), repo.Options{Logf: func(f string, a ...any) { msgs = append(msgs, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	l, err := r2.Lock(ctx, false)
	if err != nil {
		t.Fatalf("stale lock was not removed: %v", err)
	}
	l.Unlock(ctx)
	if len(msgs) == 0 {
		t.Fatal("removing a stale lock was not reported")
	}
	// A live lock (this process) is not stale and blocks an exclusive lock.
	writeForeignLock(t, r, repo.LockInfo{Exclusive: false, Host: host, PID: os.Getpid()})
	if _, err := r2.Lock(ctx, true); err == nil {
		t.Fatal("live lock ignored")
	}
	removed, err := r2.RemoveStaleLocks(ctx)
	if err != nil || len(removed) != 0 {
		t.Fatalf("unlock removed a live lock: %v %v", removed, err)
	}
}

func writeForeignLock(t *testing.T, r *repo.Repository, li repo.LockInfo) {
	t.Helper()
	li.Time = timeNow()
	b := mustJSON(t, li)
	if _, err := r.SaveFile(context.Background(), repo.LockFile, b); err != nil {
		t.Fatal(err)
	}
}

// TestRebuildIndex removes every index file and rebuilds it from packs.
func TestRebuildIndex(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	var ids []repo.ID
	for i := 0; i < 50; i++ {
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(i), 200000))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	matches, _ := filepath.Glob(filepath.Join(dir, "index", "*"))
	for _, m := range matches {
		os.Remove(m)
	}
	r = reopen(t, dir)
	if r.HasBlob(repo.DataBlob, ids[0]) {
		t.Fatal("index still knows blobs after its files were removed")
	}
	packs, blobs, err := r.RebuildIndex(ctx, nil)
	if err != nil || blobs != len(ids) || packs == 0 {
		t.Fatalf("rebuild: %d packs %d blobs %v", packs, blobs, err)
	}
	r.Close()
	r = reopen(t, dir)
	defer r.Close()
	for _, id := range ids {
		if _, err := r.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	id2, err := r.AddKey(ctx, []byte("second"), repo.KeyOptions{KDF: crypto.CheapKDFParams(), InsecureKDF: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := r.ListKeys(ctx)
	if len(keys) != 2 {
		t.Fatalf("want 2 keys, got %d", len(keys))
	}
	if err := r.RemoveKey(ctx, r.KeyID()); err == nil {
		t.Fatal("removing the key in use must be refused")
	}
	r.Close()
	be, _ := local.Open(ctx, dir)
	r2, err := repo.Open(ctx, be, []byte("second"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r2.KeyID() != id2 {
		t.Fatal("opened with the wrong key file")
	}
	if _, err := r2.ChangePassword(ctx, []byte("third"), repo.KeyOptions{KDF: crypto.CheapKDFParams(), InsecureKDF: true}); err != nil {
		t.Fatal(err)
	}
	r2.Close()
	be, _ = local.Open(ctx, dir)
	if _, err := repo.Open(ctx, be, []byte("second"), repo.Options{}); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("old password still works after passwd: %v", err)
	}
	for _, p := range []string{pw, "third"} {
		be, _ = local.Open(ctx, dir)
		r3, err := repo.Open(ctx, be, []byte(p), repo.Options{})
		if err != nil {
			t.Fatalf("password %q: %v", p, err)
		}
		r3.Close()
	}
}

func TestInitRefusesExisting(t *testing.T) {
	be := mem.New()
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	r.Close()
	if _, err := repo.Init(context.Background(), be, []byte(pw), repo.InitOptions{KDF: crypto.CheapKDFParams()}); err == nil {
		t.Fatal("init over an existing repository succeeded")
	}
}

func TestSaveFileBindsType(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, pw, repo.InitOptions{})
	id, err := r.SaveFile(ctx, repo.SnapshotFile, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes presented as another file type must not decrypt.
	raw, _ := be.Load(ctx, backend.Handle{Type: repo.SnapshotFile, Name: id.String()}, 0, 0)
	if err := be.Save(ctx, backend.Handle{Type: repo.RecordFile, Name: id.String()}, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadFile(ctx, repo.RecordFile, id); !repo.IsDamaged(err) {
		t.Fatalf("snapshot accepted as record: %v", err)
	}
}
