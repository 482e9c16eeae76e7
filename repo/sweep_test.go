package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

// TestSweepTempFiles: check reports temporary files left by killed saves;
// RebuildIndex removes the old ones, but only under an exclusive lock.
func TestSweepTempFiles(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	if _, _, err := r.SaveBlob(ctx, repo.DataBlob, randBytes(1, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mk := func(rel string, age time.Duration) string {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, []byte("partial pack"), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := mk("data/7f/.tmp-0123456789abcdef", 2*repo.TempSweepAge)
	fresh := mk("index/.tmp-fedcba9876543210", time.Minute)

	res, err := r.Check(ctx, repo.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TempFiles) != 1 || res.TempFiles[0] != old {
		t.Fatalf("check reported temporary files %v, want [%s]", res.TempFiles, old)
	}
	if len(res.Problems) != 0 {
		t.Fatalf("leftover temporary files are not problems: %v", res.Problems)
	}

	// Without an exclusive lock, another writer might be saving: no sweep.
	if _, _, err := r.RebuildIndex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("swept without an exclusive lock: %v", err)
	}

	l, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	var msgs []string
	if _, _, err := r.RebuildIndex(ctx, func(f string, a ...any) { msgs = append(msgs, f) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("old temporary file not swept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file swept: %v", err)
	}
	if len(msgs) == 0 {
		t.Error("the sweep was not reported")
	}
	res, err = r.Check(ctx, repo.CheckOptions{})
	if err != nil || len(res.TempFiles) != 0 {
		t.Fatalf("after the sweep check still reports %v (%v)", res.TempFiles, err)
	}
}
