package snapshot

import (
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
)

// A merge beyond what a forgotten file holds keeps the newest entries, one
// per ID; an entry without a time of its own counts at its file's.
func TestFitForgottenKeepsTheNewest(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	big := strings.Repeat("x", 1<<20) // a tag of 1 MiB: 17 entries pass the bound
	var es []ForgottenSnapshot
	for i := range 20 {
		id := repo.ID{byte(i)}
		es = append(es, ForgottenSnapshot{ID: id, Original: id, Tags: []string{big}, Time: t0.Add(time.Duration(i) * time.Hour)})
	}
	es = append(es, es[19]) // a repeat
	got := fitForgotten(es)
	if len(got) < 10 || len(got) > 16 {
		t.Fatalf("%d entries kept", len(got))
	}
	for i, e := range got {
		if want := byte(19 - i); e.ID[0] != want {
			t.Fatalf("entry %d is %d, want %d (newest first, no repeats)", i, e.ID[0], want)
		}
	}

	// Forgot takes the latest of several records of one original.
	o := repo.ID{42}
	set := ForgottenSet{o: {{ID: o, Original: o, Time: t0}, {ID: repo.ID{43}, Original: o, Time: t0.Add(time.Hour)}}}
	sn := &Snapshot{}
	sn.id = o
	if at, ok := set.Forgot(sn); !ok || !at.Equal(t0.Add(time.Hour)) {
		t.Errorf("Forgot: %v, %v", at, ok)
	}
}

// A listing orders by the snapshot's own time; a record written before
// that time was kept counts at its removal.
func TestForgottenEntriesOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	a := ForgottenSnapshot{ID: repo.ID{1}, Original: repo.ID{9}, Time: t0.Add(5 * time.Hour), Taken: t0.Add(2 * time.Hour)}
	b := ForgottenSnapshot{ID: repo.ID{2}, Original: repo.ID{9}, Time: t0.Add(4 * time.Hour), Taken: t0.Add(3 * time.Hour)}
	old := ForgottenSnapshot{ID: repo.ID{3}, Original: repo.ID{3}, Time: t0.Add(time.Hour)}
	same := ForgottenSnapshot{ID: repo.ID{0}, Original: repo.ID{0}, Time: t0.Add(9 * time.Hour), Taken: t0.Add(3 * time.Hour)}
	again := a // the same record in a second file, left by a merge
	set := ForgottenSet{repo.ID{9}: {b, a, again}, repo.ID{3}: {old}, repo.ID{0}: {same}}
	got := set.Entries()
	want := []repo.ID{{3}, {1}, {0}, {2}}
	if len(got) != len(want) {
		t.Fatalf("%d entries", len(got))
	}
	for i := range want {
		if got[i].ID != want[i] {
			t.Errorf("entry %d is %s, want %s", i, got[i].ID.Short(), want[i].Short())
		}
	}
}
