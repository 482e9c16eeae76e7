package runlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
)

// pendingIn returns the notes of the ".pending" file about repoID, by
// record hash.
func pendingIn(l *Log, repoID string) map[string]pendingNote {
	out := map[string]pendingNote{}
	for k, p := range l.readPending() {
		if k[1] == repoID {
			out[k[0]] = p
		}
	}
	return out
}

// A command killed after it wrote its record into the local mirror and
// before it copied the record into the repository leaves what appendLocal
// alone leaves. Verify must call that a copy still to come, not a record
// removed from the repository (an auditor's alarm), and the next sync must
// copy it and take the note out again, so that a later removal of the
// record is reported as such.
func TestKilledBeforeCopyIsPendingNotRemoved(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	fill(t, l, clk, store, 3)
	if n := len(pendingIn(l, repoA)); n != 0 {
		t.Fatalf("%d notes left after three copied records", n)
	}

	rec, err := l.appendLocal(Record{Op: OpBackup, Job: "spse-prod", Medium: "disk-A", RepositoryID: repoA,
		Start: clk.Now(), End: clk.Now(), Result: OK}, repoA)
	if err != nil {
		t.Fatal(err)
	}
	// (the kill)
	rep, err := l.Verify(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Findings) != 1 || rep.Findings[0].Problem != NotCopied || rep.Findings[0].RecordID != rec.ID ||
		!strings.Contains(rep.Findings[0].Detail, noteUncopied) {
		t.Fatalf("want one not-copied warning naming %s, got:\n%s", rec.ID, findings(rep))
	}

	// The next command that opens the repository copies it.
	if n, err := l.Sync(ctx, store); err != nil || n != 1 {
		t.Fatalf("sync copied %d, %v", n, err)
	}
	if p := pendingIn(l, repoA); len(p) != 0 {
		t.Fatalf("notes left after the sync: %v", p)
	}
	if rep, _ := l.Verify(ctx, store); len(rep.Findings) != 0 {
		t.Fatalf("after the sync:\n%s", findings(rep))
	}

	// Removed from the repository now, it is reported as removed.
	var id repo.ID
	for s, fid := range storeFiles(t, store) {
		if s == rec.Seq {
			id = fid
		}
	}
	if id.IsNull() {
		t.Fatal("the record is not in the store")
	}
	store.Remove(repo.RecordFile, id)
	rep, _ = l.Verify(ctx, store)
	if rep.OK() || !has(rep.Findings, "repository", Removed, rec.ID) {
		t.Fatalf("want the record reported removed, got:\n%s", findings(rep))
	}
}

// A copy that failed is noted with its cause; once a later sync copied the
// record, the note goes, and removing the record from the repository then
// is reported as a removal, not softened into "not copied yet".
func TestFailedCopyNoteGoesOnceCopied(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	fill(t, l, clk, store, 2)
	store.FailSave = errors.New("disk full")
	r, err := l.Append(ctx, Record{Op: OpBackup, Job: "spse-prod", RepositoryID: repoA, Result: Failed, Failure: KindOutOfSpace}, store)
	if !errors.Is(err, ErrNotStored) {
		t.Fatal(err)
	}
	if p, ok := pendingIn(l, repoA)[r.Hash]; !ok || p.Error != "disk full" {
		t.Fatalf("note: %+v", p)
	}
	store.FailSave = nil
	if _, err := l.Sync(ctx, store); err != nil {
		t.Fatal(err)
	}
	if p := pendingIn(l, repoA); len(p) != 0 {
		t.Fatalf("notes left: %v", p)
	}
	store.Remove(repo.RecordFile, storeFiles(t, store)[r.Seq])
	rep, _ := l.Verify(ctx, store)
	if !has(rep.Findings, "repository", Removed, r.ID) || has(rep.Findings, "repository", NotCopied, r.ID) {
		t.Fatalf("want the record reported removed, got:\n%s", findings(rep))
	}
}

// Notes about other repositories survive a sync that takes out the store's,
// even when records are appended by other processes while it rewrites the
// file: every writer of the file takes the log's lock.
func TestDropPendingKeepsConcurrentNotes(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	fill(t, l, clk, store, 1)
	const repoB = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
	other := Open(l.Path(), Options{Clock: l.opt.Clock, Host: "h", Operator: "o"})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		hashes []string
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				// A record about repository B, which is not open: noted
				// as pending for B.
				r, err := other.Append(ctx, Record{Op: OpBackup, Job: fmt.Sprint("job", g), RepositoryID: repoB, Result: OK}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				hashes = append(hashes, r.Hash)
				mu.Unlock()
			}
		}(g)
	}
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, store); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	notes := pendingIn(l, repoB)
	for _, h := range hashes {
		if p, ok := notes[h]; !ok || p.Error != noteNotOpen {
			t.Errorf("note for record %s about repository B: %+v, %v", h, p, ok)
		}
	}
	if len(hashes) != 40 {
		t.Fatalf("%d records", len(hashes))
	}
	if _, err := l.Sync(ctx, store); err != nil {
		t.Fatal(err)
	}
	if p := pendingIn(l, repoA); len(p) != 0 {
		t.Fatalf("notes about A left: %v", p)
	}
	if _, err := os.Stat(l.pendingPath() + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}
