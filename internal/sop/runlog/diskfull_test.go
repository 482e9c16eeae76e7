//go:build linux

package runlog

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
)

// TestAppendOnFullDisk is the sweep's torn run log (issue 14): an append
// that hit ENOSPC left a partial line, the next record was glued onto it
// once space came back, 'cadang log' dropped that record although it had
// been reported as recorded, and 'log verify' failed from then on. An
// append is now all or nothing: the failed one leaves the file as it was
// and says so, and the log stays readable and verifiable. It needs a small
// file system of its own: a tmpfs, mounted as root.
func TestAppendOnFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the full-disk case")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the full-disk case is not run", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })

	clk := clock.NewFake(time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC))
	var seed [32]byte
	l := Open(filepath.Join(mnt, "runlog.jsonl"), Options{
		Clock: clk, Rand: seededRand{rand.NewChaCha8(seed)}, Host: "lpse-srv", Operator: "budi"})
	ctx := context.Background()
	rec := func(i int) Record {
		start := clk.Now()
		clk.Advance(time.Minute)
		return Record{Op: OpBackup, Job: "spse-prod", Medium: "disk-A", RepositoryID: repoA, Start: start, End: clk.Now(),
			Result: OK, StandardMet: true, BytesAdded: int64(1000 * (i + 1))}
	}
	for i := range 3 {
		if _, err := l.Append(ctx, rec(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// tmpfs gives files whole pages: go on until the log's last page has
	// room for part of a record but not all of it, so that the write on
	// the full disk is cut off mid-line, as the sweep saw.
	n := 3
	for ; n < 60; n++ {
		fi, err := os.Stat(l.Path())
		if err != nil {
			t.Fatal(err)
		}
		avg := fi.Size() / int64(n)
		if rem := 4096 - fi.Size()%4096; rem > 16 && rem < avg*3/4 {
			break
		}
		if _, err := l.Append(ctx, rec(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}

	// Fill the file system, leaving less room than one record needs.
	filler := filepath.Join(mnt, "filler")
	fillDisk(t, filler)
	_, err = l.Append(ctx, rec(n), nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ENOSPC", err)
	}
	after, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("the failed append changed the log: %d bytes before, %d after", len(before), len(after))
	}

	// Space comes back: the next record is whole, readable and verifies.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	next, err := l.Append(ctx, rec(n+1), nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 || recs[n].ID != next.ID {
		t.Fatalf("%d records, last %q; want %d ending with %s", len(recs), recs[len(recs)-1].ID, n+1, next.ID)
	}
	rep, err := l.Verify(ctx, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("log verify after the full disk: %v %+v", err, rep)
	}
}

// fillDisk writes to path until the file system has no byte left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	for n := 1024; n >= 1; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	_ = f.Sync()
}

// TestAppendAfterTornLine: a log whose last line was cut off (a crash
// outside cadang's control) does not swallow the next record: it starts on
// a line of its own, and only the torn line is reported.
func TestAppendAfterTornLine(t *testing.T) {
	l, clk := newLog(t)
	ctx := context.Background()
	first, err := l.Append(ctx, Record{Op: OpBackup, Job: "spse-prod", Result: OK, Start: clk.Now(), End: clk.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"record":{"op":"backup","id":"torn`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	clk.Advance(time.Hour)
	next, err := l.Append(ctx, Record{Op: OpBackup, Job: "spse-prod", Result: OK, Start: clk.Now(), End: clk.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != first.ID || recs[1].ID != next.ID {
		t.Fatalf("records after a torn line: %+v", recs)
	}
	rep, err := l.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.First == nil || rep.First.Where != "line 2" {
		t.Fatalf("verify should name the torn line 2 only: %+v", rep)
	}
}
