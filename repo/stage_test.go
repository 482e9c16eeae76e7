package repo_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// stagingLocal is the local backend with hooks in its staged saves of
// packs: commits may wait on a gate, or fail.
type stagingLocal struct {
	*local.Backend
	staged  atomic.Int32
	gate    atomic.Pointer[chan struct{}] // a pack's commit waits for a receive here, if set
	failing atomic.Bool                   // pack commits fail (after the file is synced)
}

var errCommit = errors.New("injected: the disk failed while syncing")

func (s *stagingLocal) Stage(ctx context.Context, h backend.Handle, data []byte) (func(context.Context) error, error) {
	commit, err := s.Backend.Stage(ctx, h, data)
	if err != nil || h.Type != backend.PackFile {
		return commit, err
	}
	s.staged.Add(1)
	return func(ctx context.Context) error {
		if g := s.gate.Load(); g != nil {
			<-*g
		}
		if s.failing.Load() {
			// A failed commit must leave nothing: cancel the real one.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_ = commit(cctx)
			return errCommit
		}
		return commit(ctx)
	}, nil
}

func newStagingRepo(t *testing.T) (string, *stagingLocal, *repo.Repository) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	lb, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	be := &stagingLocal{Backend: lb}
	return dir, be, repo.NewTestRepository(t, be, pw, repo.InitOptions{PackSize: 1 << 20})
}

// TestStagedPackWrittenWhileEarlierSyncs: with a backend that stages, the
// next pack is written while an earlier one still waits for its sync
// (the point of backend.Stager), and every blob is durable and readable
// after Flush.
func TestStagedPackWrittenWhileEarlierSyncs(t *testing.T) {
	ctx := context.Background()
	dir, be, r := newStagingRepo(t)
	gate := make(chan struct{})
	be.gate.Store(&gate)
	var ids []repo.ID
	saved := make(chan error, 1)
	go func() {
		for i := range 40 { // 8 MB: several 1 MiB packs
			id, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(1000+i), 200_000))
			if err != nil {
				saved <- err
				return
			}
			ids = append(ids, id)
		}
		saved <- nil
	}()
	// The first commit is held; the savers must still get a second pack
	// written. (With one upload slot and no staging they would wait.)
	deadline := time.After(20 * time.Second)
	for be.staged.Load() < 2 {
		select {
		case <-deadline:
			t.Fatalf("only %d packs staged while the first commit waits", be.staged.Load())
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(gate)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r2 := reopen(t, dir)
	defer r2.Close()
	for i, id := range ids {
		got, err := r2.LoadBlob(ctx, repo.DataBlob, id, nil)
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		if want := randBytes(uint64(1000+i), 200_000); string(got) != string(want) {
			t.Fatalf("blob %d came back different", i)
		}
	}
	res, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check: %v %v", err, res.Problems)
	}
}

// TestStagedCommitFailure: a pack whose commit fails is reported once, its
// blobs are not indexed, no file of it is left, and saving them again
// after the disk recovers stores them.
func TestStagedCommitFailure(t *testing.T) {
	ctx := context.Background()
	dir, be, r := newStagingRepo(t)
	be.failing.Store(true)
	var firstErr error
	for i := range 12 {
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(2000+i), 200_000)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := r.Flush(ctx); err != nil && firstErr == nil {
		firstErr = err
	}
	if !errors.Is(firstErr, errCommit) || !strings.Contains(firstErr.Error(), "save pack") {
		t.Fatalf("want the commit failure, naming the pack, got %v", firstErr)
	}
	if n := countPackFiles(t, filepath.Join(dir, "data")); n != 0 {
		t.Fatalf("%d files left in data/ by failed commits", n)
	}

	// The disk is back: the same blobs are new again, and stored.
	be.failing.Store(false)
	for i := range 12 {
		_, isNew, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(2000+i), 200_000))
		if err != nil {
			t.Fatalf("save %d after recovery: %v", i, err)
		}
		if !isNew {
			t.Fatalf("blob %d counted as stored although its pack failed", i)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush after recovery (a stale failure?): %v", err)
	}
	r.Close()
	r2 := reopen(t, dir)
	defer r2.Close()
	res, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 || res.BlobsRead != 12 {
		t.Fatalf("check: %v, problems %v, %d blobs read", err, res.Problems, res.BlobsRead)
	}
}

// TestStagedFailureDrainsSyncs: a failure reported while other packs still
// sync waits for them, so that their errors join this one and none turns
// up on a later, healthy call.
func TestStagedFailureDrainsSyncs(t *testing.T) {
	ctx := context.Background()
	_, be, r := newStagingRepo(t)
	defer r.Close()
	be.failing.Store(true)
	gate := make(chan struct{})
	be.gate.Store(&gate)
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	go func() {
		defer wg.Done()
		// Let the commits through one by one, slowly, while the savers
		// run into the first failure; until the test says it is done (a
		// feeder that gave up after a quiet spell left a slow machine's
		// next commit waiting on the gate for ever).
		for {
			select {
			case gate <- struct{}{}:
			case <-done:
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var errs int
	for i := range 30 {
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(3000+i), 200_000)); err != nil {
			errs++
		}
	}
	if err := r.Flush(ctx); err != nil {
		errs++
	}
	close(done)
	wg.Wait()
	if errs == 0 {
		t.Fatal("no failure reported")
	}
	be.gate.Store(nil)
	be.failing.Store(false)
	// Healthy from here on: no stale error may surface.
	for i := range 6 {
		if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(uint64(4000+i), 200_000)); err != nil {
			t.Fatalf("healthy save %d: %v", i, err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("healthy flush: %v", err)
	}
}

func countPackFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
