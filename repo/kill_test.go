//go:build linux

package repo_test

// Crash tests: a child process (this test binary, re-executed) saves blobs
// and is killed with SIGKILL, or runs out of file space; the repository it
// leaves must open, check clean, and let the next session dedup against
// everything that was indexed.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/local"
)

const (
	childEnv     = "CADANG_REPO_TEST_CHILD"
	childRepoEnv = "CADANG_REPO_TEST_CHILD_REPO"
	killPW       = "kill password"
)

// killBlob is the blob a child saves for a seed: 4-100 KiB of random bytes,
// every fifth one a tree blob.
func killBlob(seed uint64) (repo.BlobType, []byte) {
	r := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	b := make([]byte, 4<<10+r.IntN(96<<10))
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	if seed%5 == 4 {
		return repo.TreeBlob, b
	}
	return repo.DataBlob, b
}

// TestChildProcess is not a test: it is the body of the child processes the
// crash tests start, and does nothing unless childEnv is set.
func TestChildProcess(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("helper process for the crash tests")
	}
	ctx := context.Background()
	dir := os.Getenv(childRepoEnv)
	if mode == "fsize" {
		// Files beyond 512 KiB fail with EFBIG instead of killing us.
		signal.Ignore(syscall.SIGXFSZ)
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("getrlimit:", err)
			os.Exit(2)
		}
		lim.Cur = 512 << 10
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(2)
		}
	}
	be, err := local.Open(ctx, dir)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	r, err := repo.Open(ctx, be, []byte(killPW), repo.Options{IndexInterval: time.Millisecond})
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	switch mode {
	case "save":
		if _, err := r.Lock(ctx, false); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		// Two writers, forever, until SIGKILL.
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for seed := uint64(w); ; seed += 2 {
					bt, data := killBlob(seed)
					if _, _, err := r.SaveBlob(ctx, bt, data); err != nil {
						fmt.Println("save:", err)
						os.Exit(3)
					}
				}
			})
		}
		wg.Wait()
	case "fsize":
		for seed := uint64(1000); seed < 1100; seed++ {
			bt, data := killBlob(seed)
			if _, _, err = r.SaveBlob(ctx, bt, data); err != nil {
				break
			}
		}
		if err == nil {
			err = r.Flush(ctx)
		}
		fmt.Printf("result: %v\n", err)
		if errors.Is(err, syscall.EFBIG) {
			os.Exit(0)
		}
		os.Exit(4)
	}
	os.Exit(5)
}

func startChild(t *testing.T, mode, dir string) (*exec.Cmd, *bytes.Buffer, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childRepoEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd, &out, done
}

func newKillRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.NewTestRepository(t, be, killPW, repo.InitOptions{PackSize: 1 << 20})
	r.Close()
	return dir
}

func countFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// checkStoredFiles fails if any file in the repository is a leftover
// temporary file or is not named by the SHA-256 of its bytes, and returns
// the number of temporary files (which a SIGKILL may leave; they are
// ignored by readers) when allowTmp is set.
func checkStoredFiles(t *testing.T, dir string, allowTmp bool) (tmp int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			if !allowTmp {
				t.Errorf("temporary file left behind: %s", p)
			}
			tmp++
			return nil
		}
		if d.Name() == "config" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != d.Name() {
			t.Errorf("%s does not hold the bytes its name promises (%d bytes)", p, len(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tmp
}

func TestKillDuringSave(t *testing.T) {
	ctx := context.Background()
	dir := newKillRepo(t)
	cmd, out, done := startChild(t, "save", dir)
	deadline := time.Now().Add(60 * time.Second)
	want := 4 + rand.IntN(4)
	for countFiles(filepath.Join(dir, "index")) < want {
		select {
		case err := <-done:
			t.Fatalf("child exited early (%v): %s", err, out)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("child wrote no index files in time: %s", out)
		}
	}
	time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child was not killed: %v: %s", err, out)
	}
	tmp := checkStoredFiles(t, dir, true)

	// The repository opens, and its index names only complete packs.
	var msgs []string
	be, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(killPW), repo.Options{Logf: func(f string, a ...any) { msgs = append(msgs, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatalf("open after SIGKILL: %v", err)
	}
	defer r.Close()
	res, err := r.Check(ctx, repo.CheckOptions{})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("structural check after SIGKILL: %v %v", err, res.Problems)
	}
	if res.Blobs == 0 {
		t.Fatal("no blobs indexed although index files were written")
	}
	t.Logf("after SIGKILL: %d packs (%d unindexed), %d indexed blobs, %d temporary files", res.Packs, len(res.UnindexedPacks), res.Blobs, tmp)
	// Every blob the index knows loads (LoadBlob re-hashes it).
	type tb struct {
		t  repo.BlobType
		id repo.ID
	}
	indexed := map[tb]bool{}
	_ = r.Index().Each(func(b repo.BlobLocation) error { indexed[tb{b.Type, b.ID}] = true; return nil })
	for b := range indexed {
		if _, err := r.LoadBlob(ctx, b.t, b.id, nil); err != nil {
			t.Fatalf("indexed blob does not load: %v", err)
		}
	}
	// Every pack, indexed or not, is complete: the local backend never
	// shows a partial file under its final name.
	res, err = r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("data check after SIGKILL: %v %v", err, res.Problems)
	}

	// The killed child's lock is stale (its process is gone) and goes away.
	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatalf("exclusive lock after SIGKILL: %v", err)
	}
	if len(msgs) == 0 {
		t.Fatal("removing the killed child's stale lock was not reported")
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	// The next session dedups against every indexed blob: find the seeds
	// the child saved, then save them again.
	found, last := 0, uint64(0)
	for seed := uint64(0); found < len(indexed) && seed < 100000; seed++ {
		bt, data := killBlob(seed)
		if indexed[tb{bt, r.BlobID(data)}] {
			found++
			last = seed
		}
	}
	if found != len(indexed) {
		t.Fatalf("only %d of %d indexed blobs come from the child's seeds", found, len(indexed))
	}
	var again, fresh int
	for seed := uint64(0); seed <= last+20; seed++ {
		bt, data := killBlob(seed)
		id, isNew, err := r.SaveBlob(ctx, bt, data)
		if err != nil {
			t.Fatal(err)
		}
		if isNew == indexed[tb{bt, id}] {
			t.Fatalf("seed %d: isNew=%v but indexed=%v", seed, isNew, indexed[tb{bt, id}])
		}
		if isNew {
			fresh++
		} else {
			again++
		}
	}
	t.Logf("next session: %d blobs deduplicated, %d stored again", again, fresh)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check after the next session: %v %v", err, res.Problems)
	}
}

// TestDiskFullDuringPackSave fills the "disk" (the fault decorator's ENOSPC)
// while a pack is saved.
func TestDiskFullDuringPackSave(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	lb, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := faulty.New(lb)
	r := repo.NewTestRepository(t, fb, killPW, repo.InitOptions{PackSize: 1 << 20})
	defer r.Close()
	var before []repo.ID
	for seed := range uint64(20) {
		bt, data := killBlob(seed)
		id, _, err := r.SaveBlob(ctx, bt, data)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	packsBefore := countPacks(t, lb)

	fb.DiskFullAfter(100 << 10)
	var failed []uint64
	for seed := uint64(100); seed < 200; seed++ {
		bt, data := killBlob(seed)
		failed = append(failed, seed)
		if _, _, err = r.SaveBlob(ctx, bt, data); err != nil {
			break
		}
	}
	if err == nil {
		err = r.Flush(ctx)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("want an error wrapping ENOSPC, got %v", err)
	}
	if !strings.Contains(err.Error(), "pack") {
		t.Fatalf("error does not say what failed: %v", err)
	}
	if n := countPacks(t, lb); n != packsBefore {
		t.Fatalf("%d packs after the failed save, want %d", n, packsBefore)
	}
	checkStoredFiles(t, dir, false)

	// Space comes back: blobs lost with the failed pack are not reported as
	// stored, so saving them again really stores them.
	fb.Heal()
	for _, seed := range failed {
		bt, data := killBlob(seed)
		if _, _, err := r.SaveBlob(ctx, bt, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	r2, err := repo.Open(ctx, lb, []byte(killPW), repo.Options{})
	if err != nil {
		t.Fatalf("open after disk full: %v", err)
	}
	defer r2.Close()
	res, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check after disk full: %v %v", err, res.Problems)
	}
	for i, id := range before {
		bt, _ := killBlob(uint64(i))
		if _, err := r2.LoadBlob(ctx, bt, id, nil); err != nil {
			t.Fatalf("blob saved before the disk filled: %v", err)
		}
	}
	for _, seed := range failed {
		bt, data := killBlob(seed)
		got, err := r2.LoadBlob(ctx, bt, r2.BlobID(data), nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("blob %d saved again after the disk was freed: %v", seed, err)
		}
	}
}

// TestDiskFullConcurrentSavers: many savers and several uploaders (as on a
// 16-core machine) run into a full disk at once. Reporting the failure must
// not race with uploads being started (it once waited on a WaitGroup that
// other savers were adding to), and after the disk is freed everything
// saved again is stored.
func TestDiskFullConcurrentSavers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	lb, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := faulty.New(lb)
	r := repo.NewTestRepository(t, fb, killPW, repo.InitOptions{PackSize: 1 << 20})
	defer r.Close()
	fb.DiskFullAfter(3 << 20)
	const savers, perSaver = 8, 40
	var wg sync.WaitGroup
	var sawENOSPC atomic.Bool
	for g := range savers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSaver {
				bt, data := killBlob(uint64(1000 + g*perSaver + i))
				if _, _, err := r.SaveBlob(ctx, bt, data); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Errorf("saver %d: %v", g, err)
					}
					sawENOSPC.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Flush(ctx); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("flush on a full disk: %v", err)
	} else if err != nil {
		sawENOSPC.Store(true)
	}
	if !sawENOSPC.Load() {
		t.Fatal("the disk never filled up")
	}
	fb.Heal()
	for n := range savers * perSaver {
		bt, data := killBlob(uint64(1000 + n))
		if _, _, err := r.SaveBlob(ctx, bt, data); err != nil {
			t.Fatalf("blob %d after the disk was freed: %v", n, err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush after the disk was freed: %v", err)
	}
	for n := range savers * perSaver {
		bt, data := killBlob(uint64(1000 + n))
		if got, err := r.LoadBlob(ctx, bt, r.BlobID(data), nil); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("blob %d: %v", n, err)
		}
	}
}

func countPacks(t *testing.T, be backend.Backend) int {
	t.Helper()
	n := 0
	if err := be.List(context.Background(), repo.PackFile, func(backend.FileInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFileSizeLimitDuringPackSave makes a real write fail half-way: a child
// process with RLIMIT_FSIZE of 512 KiB saves 1 MiB packs. The local backend
// must leave no partial file, under the final name or a temporary one.
func TestFileSizeLimitDuringPackSave(t *testing.T) {
	ctx := context.Background()
	dir := newKillRepo(t)
	_, out, done := startChild(t, "fsize", dir)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("child: %v: %s", err, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("child did not finish")
	}
	if !strings.Contains(out.String(), "file too large") {
		t.Fatalf("child did not hit the file size limit: %s", out)
	}
	checkStoredFiles(t, dir, false)
	be, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(killPW), repo.Options{})
	if err != nil {
		t.Fatalf("open after a failed write: %v", err)
	}
	defer r.Close()
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check after a failed write: %v %v", err, res.Problems)
	}
}
