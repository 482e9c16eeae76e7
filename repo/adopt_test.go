package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/local"
)

// orphanRun saves blobs through a session whose index files cannot be
// written, as a backup killed during its final index write leaves the
// repository: every pack complete and durable, none of them indexed.
func orphanRun(t *testing.T, dir string, seeds []uint64) {
	t.Helper()
	ctx := context.Background()
	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := faulty.New(lb)
	r, err := repo.Open(ctx, fb, []byte(killPW), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatal(err)
	}
	fb.FailSaves(func(h backend.Handle) bool { return h.Type == backend.IndexFile }, errors.New("killed during the index write"))
	for _, s := range seeds {
		typ, data := killBlob(s)
		if _, _, err := r.SaveBlob(ctx, typ, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err == nil || !strings.Contains(err.Error(), "killed during the index write") {
		t.Fatalf("flush: %v, want the injected index failure", err)
	}
	_ = r.Close()
}

func seeds(from, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(from + i)
	}
	return s
}

// TestAdoptUnindexedPacks: issue 14's crash gap. A backup killed during its
// final index write orphaned every pack it wrote, and the re-run stored
// everything again (199% of a clean backup; 281% after five kills). The next
// writer adopts the complete unindexed packs from their headers alone and
// deduplicates against them.
func TestAdoptUnindexedPacks(t *testing.T) {
	ctx := context.Background()
	dir := newKillRepo(t)
	orphanRun(t, dir, seeds(0, 120))

	lb, err := local.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := faulty.New(lb)
	r, err := repo.Open(ctx, fb, []byte(killPW), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := fb.Counts()
	res, err := r.AdoptUnindexedPacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Packs == 0 || res.Blobs != 120 || len(res.Rejected) != 0 {
		t.Fatalf("adopted %+v, want all 120 blobs and no rejection", res)
	}
	// A session lists the packs once, however many sources it backs up.
	lists := fb.Counts().Lists
	if _, err := r.AdoptUnindexedPacks(ctx); err != nil || fb.Counts().Lists != lists {
		t.Errorf("a second adoption in one session listed again (%d -> %d lists): %v", lists, fb.Counts().Lists, err)
	}
	// Only headers were read: far fewer bytes than the packs hold.
	if read := fb.Counts().LoadedBytes - before.LoadedBytes; read*4 > res.Bytes {
		t.Errorf("adoption read %d bytes of %d bytes of packs: more than the headers", read, res.Bytes)
	}
	// The re-run stores nothing it already has, and reads back the same bytes.
	for _, s := range seeds(0, 120) {
		typ, data := killBlob(s)
		if _, isNew, err := r.SaveBlob(ctx, typ, data); err != nil || isNew {
			t.Fatalf("blob %d: new=%v err=%v after adoption", s, isNew, err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()

	// The adoption is durable: a fresh session finds the blobs indexed,
	// check is clean, and a second adoption finds nothing.
	r2, err := repo.Open(ctx, mustLocal(t, dir), []byte(killPW), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for _, s := range seeds(0, 120) {
		typ, data := killBlob(s)
		id := r2.BlobID(data)
		got, err := r2.LoadBlob(ctx, typ, id, nil)
		if err != nil || string(got) != string(data) {
			t.Fatalf("blob %d after adoption: %v", s, err)
		}
	}
	cres, err := r2.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(cres.Problems) != 0 || len(cres.UnindexedPacks) != 0 {
		t.Fatalf("check after adoption: %v %+v", err, cres)
	}
	if again, err := r2.AdoptUnindexedPacks(ctx); err != nil || again.Packs != 0 {
		t.Fatalf("second adoption: %+v %v", again, err)
	}
}

// TestAdoptRejectsDamagedPack: an unindexed pack whose header does not open
// is not adopted, is reported, and its blobs are stored again.
func TestAdoptRejectsDamagedPack(t *testing.T) {
	ctx := context.Background()
	dir := newKillRepo(t)
	orphanRun(t, dir, seeds(500, 40))
	packs, err := filepath.Glob(filepath.Join(dir, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("packs: %v %v", packs, err)
	}
	victim := packs[0]
	fi, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0x20 // inside the sealed header
	if err := os.Chmod(victim, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, b, 0o400); err != nil {
		t.Fatal(err)
	}
	var logged []string
	r, err := repo.Open(ctx, mustLocal(t, dir), []byte(killPW), repo.Options{Lock: repo.SharedLock,
		Logf: func(f string, a ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.AdoptUnindexedPacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Error(), filepath.Base(victim)[:8]) {
		t.Fatalf("rejected %v, want the damaged pack %s", res.Rejected, filepath.Base(victim))
	}
	if res.Packs != len(packs)-1 {
		t.Errorf("adopted %d packs, want %d (all but the damaged one; %d bytes)", res.Packs, len(packs)-1, fi.Size())
	}
	if len(logged) == 0 {
		t.Error("the rejected pack was not reported")
	}
	// Blobs of the damaged pack are stored again; the rest are not.
	var stored int
	for _, s := range seeds(500, 40) {
		typ, data := killBlob(s)
		_, isNew, err := r.SaveBlob(ctx, typ, data)
		if err != nil {
			t.Fatal(err)
		}
		if isNew {
			stored++
		}
	}
	if stored == 0 || stored == 40 {
		t.Errorf("%d of 40 blobs stored again, want those of the damaged pack only", stored)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustLocal(t *testing.T, dir string) backend.Backend {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return be
}
