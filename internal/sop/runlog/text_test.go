package runlog

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
)

// A run over the time standard says how long it took against the standard,
// in the language asked for, from the record's durations.
func TestMessageTextOverStandard(t *testing.T) {
	r := Record{Result: Failed, Failure: KindTimeStandard, DurationMS: (3*time.Hour + 10*time.Minute).Milliseconds(),
		TimeStandard: (3 * time.Hour).Milliseconds(), Note: NewNote("snapshots-saved", 2)}
	if got, want := MessageText(i18n.ID, &r), "2 snapshot tersimpan; tetapi memerlukan 3 jam 10 menit, melebihi mutu baku waktu 3 jam"; got != want {
		t.Errorf("id: %q, want %q", got, want)
	}
	if got, want := MessageText(i18n.EN, &r), "2 snapshot(s) saved; but it took 3 h 10 min, over the time standard of 3 h"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	old := Record{Failure: KindTimeStandard, Message: "2 snapshot(s) saved; but it took 3h10m0s, over the time standard of 3h0m0s"}
	if got := MessageText(i18n.ID, &old); got != old.Message {
		t.Errorf("old record: %q", got)
	}
}

// --json prints one JSON value per line.
func TestWriteJSONOneLine(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, []Record{{ID: "a", Note: NewNote("done")}, {ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("not one line: %q", s)
	}
}

func TestMergeDropsDuplicatesAndOrders(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	a := []Record{{Chain: "A", Seq: 1, ID: "a1", Logged: t0}, {Chain: "A", Seq: 2, ID: "a2", Logged: t0.Add(time.Hour)}}
	b := []Record{{Chain: "A", Seq: 2, ID: "a2", Logged: t0.Add(time.Hour)}, {Chain: "B", Seq: 1, ID: "b1", Logged: t0.Add(30 * time.Minute)}}
	got := Merge(a, b)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "a1,b1,a2" {
		t.Fatalf("Merge: %v", ids)
	}
}
