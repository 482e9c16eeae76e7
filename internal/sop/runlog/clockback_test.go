package runlog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
)

// stepBack sets clk to d before the Logged of last (fill leaves the clock
// a day later): the clock corrected back between two runs.
func stepBack(clk *clock.Fake, last Record, d time.Duration) {
	clk.Advance(last.Logged.Add(-d).Sub(clk.Now()))
}

func appendCheck(t *testing.T, l *Log, clk *clock.Fake, store RecordStore) (Record, error) {
	t.Helper()
	return l.Append(context.Background(), Record{Op: OpBackup, Job: "spse-prod", Medium: "disk-A", RepositoryID: repoA,
		Start: clk.Now(), End: clk.Now(), Result: OK}, store)
}

// TestClockBackIsAWarning: a record logged 60 s before the record it
// follows (the clock stepped back) is a clock-back warning naming both
// records and the step, and its head reaches the repository. It was
// "reordered", an error that kept every later head out of the repository.
func TestClockBackIsAWarning(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 2)
	stepBack(clk, recs[1], time.Minute)
	back, err := appendCheck(t, l, clk, s)
	if err != nil {
		t.Fatalf("append after the clock stepped back: %v", err)
	}
	rep, err := l.Verify(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify fails:\n%s", findings(rep))
	}
	var got *Finding
	for i, f := range rep.Findings {
		if f.Copy == "local" && f.Problem == ClockBack {
			got = &rep.Findings[i]
		}
	}
	if got == nil || !got.Warning || got.RecordID != back.ID || got.Seq != 3 ||
		!strings.Contains(got.Detail, "1m0s before record "+recs[1].ID+" (seq 2)") {
		t.Fatalf("want a local clock-back warning for %s, 1m0s before %s; got:\n%s", back.ID, recs[1].ID, findings(rep))
	}
	if h := rep.Repo.NewestHead; h == nil || h.Seq != 3 || h.Last != 3 || h.Count != 3 {
		t.Fatalf("newest head in the repository %+v, want seq 3 counting 3 records", h)
	}
	// Days back: still a warning, and the runs after it are recorded on.
	stepBack(clk, back, 72*time.Hour)
	if _, err := appendCheck(t, l, clk, s); err != nil {
		t.Fatalf("append three days back: %v", err)
	}
	if rep, _ := l.Verify(ctx, s); !rep.OK() || !strings.Contains(findings(rep), "72h0m0s before record "+back.ID) {
		t.Fatalf("three days back:\n%s", findings(rep))
	}
}

// TestStuckClockBackLogRecovers: a log that an earlier version left
// stuck (a record logged before its predecessor, the records after it
// copied into the repository but no head written since, as that version's
// Sync did) gets its head with the next run, without any edit, and
// verifies with the clock-back warning only.
func TestStuckClockBackLogRecovers(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 2)
	stepBack(clk, recs[1], time.Minute)
	// The stuck runs: records written and copied, no head.
	for range 2 {
		if _, err := appendCheck(t, l, clk, nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
	}
	local, err := l.readLocal()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range local[2:] {
		line, _, err := envelopeOf(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveFile(ctx, repo.RecordFile, line); err != nil {
			t.Fatal(err)
		}
	}
	l.dropPending(repoA, map[string]bool{local[2].computed: true, local[3].computed: true})
	if rep, _ := l.Verify(ctx, s); rep.Repo.NewestHead == nil || rep.Repo.NewestHead.Seq != 2 {
		t.Fatalf("the stuck state: want the newest head at seq 2, got %+v", rep.Repo.NewestHead)
	}

	if _, err := appendCheck(t, l, clk, s); err != nil {
		t.Fatalf("the next run: %v", err)
	}
	rep, err := l.Verify(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !hasWarning(rep.Findings, "local", ClockBack) {
		t.Fatalf("want only warnings, a clock-back among them:\n%s", findings(rep))
	}
	if h := rep.Repo.NewestHead; h == nil || h.Seq != 5 || h.Count != 5 {
		t.Fatalf("newest head %+v, want seq 5 counting 5 records", h)
	}
}

// TestSwappedRecordsStillBlockHeads: records swapped in the local file
// are what the chain proves out of order: reordered, an error, and no
// head is written into the repository.
func TestSwappedRecordsStillBlockHeads(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 4)
	tamperLocal(t, l, func(ls []string) []string { ls[1], ls[2] = ls[2], ls[1]; return ls })
	rep, err := l.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !has(rep.Findings, "local", Reordered, recs[2].ID) {
		t.Fatalf("want reordered for %s:\n%s", recs[2].ID, findings(rep))
	}
	_, err = appendCheck(t, l, clk, s)
	if !errors.Is(err, ErrNotStored) || !strings.Contains(err.Error(), "head not written") || !strings.Contains(err.Error(), "reordered") {
		t.Fatalf("append after the swap: %v, want the head refused for the reordering", err)
	}
	if rep, _ := l.Verify(ctx, s); rep.Repo.NewestHead == nil || rep.Repo.NewestHead.Seq != 4 {
		t.Fatalf("newest head %+v, want it left at seq 4", rep.Repo.NewestHead)
	}
}

// TestHealth: what status reads of the run log: a clock-back warning, the
// errors that keep heads out, and a copy that failed over an hour ago.
func TestHealth(t *testing.T) {
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 2)
	stepBack(clk, recs[1], time.Minute)
	s.FailSave = errors.New("medium full")
	if _, err := appendCheck(t, l, clk, s); !errors.Is(err, ErrNotStored) {
		t.Fatalf("append into a full medium: %v", err)
	}
	fs, err := l.Health(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if hasErrors(fs) || !hasWarning(fs, "local", ClockBack) || hasWarning(fs, "repository", NotCopied) {
		t.Fatalf("at once: want the clock-back warning only:\n%v", fs)
	}
	fs, _ = l.Health(clk.Now().Add(2 * time.Hour))
	if !hasWarning(fs, "repository", NotCopied) || !strings.Contains(findingsOf(fs), "medium full") {
		t.Fatalf("two hours later: want not-copied naming the cause:\n%v", fs)
	}
	tamperLocal(t, l, func(ls []string) []string { ls[0], ls[1] = ls[1], ls[0]; return ls })
	if fs, _ = l.Health(clk.Now()); !has(fs, "local", Reordered, "") {
		t.Fatalf("swapped: want reordered:\n%v", fs)
	}
}

func findingsOf(fs []Finding) string {
	return findings(&VerifyReport{Findings: fs})
}

// TestClockStepUnderASecondIsNoWarning: a record logged less than a second
// before the one it follows is no clock-back (the README walk's frozen
// clock gave "0s before" warnings); a step of a second is one.
func TestClockStepUnderASecondIsNoWarning(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 2)
	stepBack(clk, recs[1], 900*time.Millisecond)
	back, err := appendCheck(t, l, clk, s)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem == ClockBack {
			t.Fatalf("a step of 900 ms is a clock-back warning:\n%s", findings(rep))
		}
	}
	stepBack(clk, back, time.Second)
	if _, err := appendCheck(t, l, clk, s); err != nil {
		t.Fatal(err)
	}
	if rep, _ := l.Verify(ctx, s); !strings.Contains(findings(rep), "1s before record "+back.ID) {
		t.Fatalf("a step of 1 s is no clock-back warning:\n%s", findings(rep))
	}
}
