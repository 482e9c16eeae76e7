package checker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/checker"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

const concPW = "check beside backups"

func newLocalRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, []byte(concPW), repo.InitOptions{KDF: crypto.CheapKDFParams(), PackSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openSession(t testing.TB, dir string) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(concPW), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// backupOnce backs up src in a session of its own, as one cron run would.
func backupOnce(t testing.TB, dir, src string) error {
	r := openSession(t, dir)
	defer r.Close()
	_, err := backup.Run(context.Background(), r, backup.Options{Paths: []string{src}, Host: "h"})
	return err
}

// TestCheckSnapshotNewerThanIndex: check loaded the index when it opened
// the repository and listed the snapshots later, so a backup that finished
// in between left a snapshot whose blobs the check's index did not know:
// "referenced blob is not in the index" on a healthy repository (issue 14).
func TestCheckSnapshotNewerThanIndex(t *testing.T) {
	dir := newLocalRepo(t)
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a"), snapshottest.RandBytes(1, 100<<10))
	if err := backupOnce(t, dir, src); err != nil {
		t.Fatal(err)
	}
	c := openSession(t, dir) // the check's session: its index is loaded now
	defer c.Close()
	snapshottest.WriteFile(t, filepath.Join(src, "b"), snapshottest.RandBytes(2, 100<<10))
	if err := backupOnce(t, dir, src); err != nil { // finishes before the check lists snapshots
		t.Fatal(err)
	}
	rep, err := checker.Check(context.Background(), c, repo.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Snapshots != 2 {
		t.Fatalf("a healthy repository was called damaged (%d snapshots): %v", rep.Snapshots, rep.Problems)
	}
}

// TestCheckLoopBesideBackups is the sweep's loop: structural checks run
// over and over while small backups go on; every check must pass.
func TestCheckLoopBesideBackups(t *testing.T) {
	dir := newLocalRepo(t)
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "base"), snapshottest.RandBytes(9, 50<<10))
	if err := backupOnce(t, dir, src); err != nil {
		t.Fatal(err)
	}
	const backups, checks = 20, 16
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range backups {
			snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), snapshottest.RandBytes(uint64(100+i), 20<<10))
			if err := backupOnce(t, dir, src); err != nil {
				errc <- err
				return
			}
		}
	}()
	for i := range checks {
		c := openSession(t, dir)
		rep, err := checker.Check(context.Background(), c, repo.CheckOptions{})
		c.Close()
		if err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
		if !rep.OK() {
			t.Fatalf("check %d beside backups called the repository damaged: %v", i, rep.Problems)
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
}

// TestCheckReportsEveryDamage: check stopped at the first damaged snapshot
// file, so damaged packs behind it were never named (issue 14). Now each
// damaged snapshot file and each damaged pack is a problem of its own.
func TestCheckReportsEveryDamage(t *testing.T) {
	dir := newLocalRepo(t)
	src := t.TempDir()
	for i := range 4 {
		snapshottest.WriteFile(t, filepath.Join(src, fmt.Sprintf("f%d", i)), snapshottest.RandBytes(uint64(40+i), 200<<10))
		if err := backupOnce(t, dir, src); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(p string) {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x10
		_ = os.Chmod(p, 0o600)
		if err := os.WriteFile(p, b, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*"))
	packs, _ := filepath.Glob(filepath.Join(dir, "data", "*", "*"))
	if len(snaps) != 4 || len(packs) < 2 {
		t.Fatalf("%d snapshots, %d packs", len(snaps), len(packs))
	}
	flip(snaps[0])
	flip(snaps[2])
	flip(packs[len(packs)-1])
	c := openSession(t, dir)
	defer c.Close()
	rep, err := checker.Check(context.Background(), c, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatalf("check stopped instead of reporting: %v", err)
	}
	var text []string
	kinds := map[repo.ProblemKind]int{}
	for _, p := range rep.Problems {
		text = append(text, p.Error())
		kinds[p.Kind]++
	}
	all := strings.Join(text, "\n")
	for _, s := range []string{filepath.Base(snaps[0]), filepath.Base(snaps[2]), filepath.Base(packs[len(packs)-1])} {
		if !strings.Contains(all, s) {
			t.Errorf("problems do not name %s:\n%s", s, all)
		}
	}
	if kinds[repo.ProblemSnapshotDamaged] != 2 {
		t.Errorf("want 2 damaged snapshot files, got %v:\n%s", kinds, all)
	}
	if rep.Snapshots != 4 {
		t.Errorf("report counts %d snapshots, want 4", rep.Snapshots)
	}
}
