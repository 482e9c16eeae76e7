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
	if !has(rep.Findings, "repository", Removed, r.ID) || hasAny(rep.Findings, NotCopied, r.ID) {
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

// hasAny reports whether fs has a finding p about recID, warning or not.
func hasAny(fs []Finding, p Problem, recID string) bool {
	for _, f := range fs {
		if f.Problem == p && f.RecordID == recID {
			return true
		}
	}
	return false
}

// failNth fails the nth SaveFile (1-based) and passes the others.
type failNth struct {
	*runlogtest.MemStore
	n, calls int
}

func (f *failNth) SaveFile(ctx context.Context, t repo.FileType, b []byte) (repo.ID, error) {
	f.calls++
	if f.calls == f.n {
		return repo.ID{}, errors.New("connection reset")
	}
	return f.MemStore.SaveFile(ctx, t, b)
}

// A sync that copied some records and then failed must take out the notes
// of those it copied: removed from the repository later, such a record
// is a removal, not a copy still to come.
func TestPartlyFailedSyncDropsTheNotesOfWhatItCopied(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	mem := runlogtest.NewID(repoA)
	fill(t, l, clk, mem, 2)
	var recs []Record
	for range 2 { // two commands killed before their copies
		r, err := l.appendLocal(Record{Op: OpCheck, RepositoryID: repoA, Result: OK, Start: clk.Now(), End: clk.Now()}, repoA)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	store := &failNth{MemStore: mem, n: 2}
	if _, err := l.Sync(ctx, store); !errors.Is(err, ErrNotStored) {
		t.Fatalf("sync: %v", err)
	}
	notes := pendingIn(l, repoA)
	if _, ok := notes[recs[0].Hash]; ok {
		t.Errorf("the note of the record copied is still there")
	}
	if p, ok := notes[recs[1].Hash]; !ok || p.Error != "connection reset" {
		t.Errorf("the note of the record not copied: %+v %v", p, ok)
	}
	mem.Remove(repo.RecordFile, storeFiles(t, mem)[recs[0].Seq])
	rep, _ := l.Verify(ctx, mem)
	if !has(rep.Findings, "repository", Removed, recs[0].ID) || hasAny(rep.Findings, NotCopied, recs[0].ID) ||
		!hasAny(rep.Findings, NotCopied, recs[1].ID) {
		t.Fatalf("want the first reported removed, the second not copied:\n%s", findings(rep))
	}
}

// A note left behind (its drop failed) of a record at or below the newest
// head's last is stale, since a head is written only after every record
// up to it was copied: it must not soften that record's removal.
func TestStaleNoteBelowAHeadDoesNotSoftenARemoval(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, store, 3)
	l.writeNotes([]pendingNote{{RepositoryID: repoA, Seq: recs[1].Seq, Hash: recs[1].Hash, At: clk.Now(), Error: "disk full"}}, false)
	store.Remove(repo.RecordFile, storeFiles(t, store)[recs[1].Seq])
	rep, _ := l.Verify(ctx, store)
	if !has(rep.Findings, "repository", Removed, recs[1].ID) || hasAny(rep.Findings, NotCopied, recs[1].ID) {
		t.Fatalf("want the record reported removed:\n%s", findings(rep))
	}
}

// syncWhileListed is a store whose first listing of records lets another
// process copy the missing records right after it.
type syncWhileListed struct {
	*runlogtest.MemStore
	other *Log
	done  bool
}

func (s *syncWhileListed) ListFiles(ctx context.Context, t repo.FileType, fn func(repo.ID) error) error {
	err := s.MemStore.ListFiles(ctx, t, fn)
	if t == repo.RecordFile && !s.done {
		s.done = true
		if _, serr := s.other.Sync(ctx, s.MemStore); serr != nil {
			return serr
		}
	}
	return err
}

// Verify lists the repository; another process then copies a record whose
// earlier copy failed, and takes its note out. Verify must still see the
// note: it reads the notes before the repository.
func TestVerifyReadsNotesBeforeTheRepository(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	mem := runlogtest.NewID(repoA)
	fill(t, l, clk, mem, 2)
	mem.FailSave = errors.New("disk full")
	r, err := l.Append(ctx, Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, mem)
	if !errors.Is(err, ErrNotStored) {
		t.Fatal(err)
	}
	mem.FailSave = nil
	other := Open(l.Path(), l.opt)
	rep, err := l.Verify(ctx, &syncWhileListed{MemStore: mem, other: other})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || hasAny(rep.Findings, Removed, r.ID) {
		t.Fatalf("a copy made during verify was reported as a removal:\n%s", findings(rep))
	}
}

// A follow-up of a copy record concerns the copy's source too: it is
// noted for it, so a command killed before copying it there leaves a copy
// still to come, not a removal.
func TestFollowupOfACopyIsNotedForItsSource(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	const repoB = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
	dst, src := runlogtest.NewID(repoA), runlogtest.NewID(repoB)
	c, err := l.Append(ctx, Record{Op: OpCopy, RepositoryID: repoA, Result: Failed, Copy: &CopyInfo{From: "/mnt/b", FromID: repoB}}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sync(ctx, src); err != nil {
		t.Fatal(err)
	}
	f, err := l.appendLocal(Record{Op: OpFollowup, Ref: c.ID, Result: OK, Start: clk.Now(), End: clk.Now()}, repoB)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{repoA, repoB} {
		if _, ok := pendingIn(l, id)[f.Hash]; !ok {
			t.Errorf("the follow-up is not noted for %.8s", id)
		}
	}
	rep, _ := l.Verify(ctx, src)
	if hasAny(rep.Findings, Removed, f.ID) || !hasAny(rep.Findings, NotCopied, f.ID) {
		t.Fatalf("want the follow-up not copied yet:\n%s", findings(rep))
	}
}

// The note is on disk before the record's line: a kill between the two
// leaves a note for a line that is not there (inert), never a line without
// its note.
func TestNoteIsWrittenBeforeTheLine(t *testing.T) {
	l, clk := newLog(t)
	fill(t, l, clk, nil, 1)
	var at map[string]pendingNote
	l.beforeLine = func() { at = pendingIn(l, repoA) }
	r, err := l.appendLocal(Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, repoA)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := at[r.Hash]; !ok || p.Error != noteUncopied {
		t.Fatalf("before the line: %v", at)
	}
}

// A line torn by a crash does not swallow the next note.
func TestNoteAfterATornLine(t *testing.T) {
	l, clk := newLog(t)
	fill(t, l, clk, nil, 1)
	if err := os.WriteFile(l.pendingPath(), []byte(`{"repository_id":"`+repoA+`","seq":1,"ha`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := l.appendLocal(Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, repoA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pendingIn(l, repoA)[r.Hash]; !ok {
		b, _ := os.ReadFile(l.pendingPath())
		t.Fatalf("the note was lost:\n%s", b)
	}
}
