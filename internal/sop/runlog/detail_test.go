package runlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
)

// TestFindingDetailsIn: every finding of a damaged log says its detail in
// Bahasa Indonesia too, the record IDs, places, hashes and the raw text
// of an error kept as data, while its English detail (the JSON's) stays as
// it was: the lines of both, byte for byte, are testdata/findings-in.txt.
func TestFindingDetailsIn(t *testing.T) {
	ctx := context.Background()
	var b strings.Builder
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log // returns the log to verify with
	}{
		{"local edited", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			tamperLocal(t, l, func(ls []string) []string {
				ls[2] = strings.Replace(ls[2], `"bytes_added":3000`, `"bytes_added":3001`, 1)
				return ls
			})
			return l
		}},
		{"local edited, hash recomputed", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			tamperLocal(t, l, func(ls []string) []string {
				e := decode("", []byte(ls[2]))
				e.rec.Result = Failed
				line, _, _ := encode(&e.rec)
				ls[2] = string(line)
				return ls
			})
			return l
		}},
		{"local deleted", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			tamperLocal(t, l, func(ls []string) []string { return append(ls[:2], ls[3:]...) })
			return l
		}},
		{"local swapped", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			tamperLocal(t, l, func(ls []string) []string { ls[2], ls[3] = ls[3], ls[2]; return ls })
			return l
		}},
		{"local line unreadable", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			tamperLocal(t, l, func(ls []string) []string { ls[4] = "{not json"; return ls })
			return l
		}},
		{"repository deleted", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			s.Remove(repo.RecordFile, storeFiles(t, s)[3])
			return l
		}},
		{"another host's key", func(t *testing.T, l *Log, s *runlogtest.MemStore) *Log {
			return Open(filepath.Join(t.TempDir(), "none.jsonl"), Options{})
		}},
	} {
		l, clk := newLog(t)
		s := runlogtest.NewID(repoA)
		fill(t, l, clk, s, 6)
		rep, err := tc.tamper(t, l, s).Verify(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + tc.name + "\n")
		for _, f := range rep.Findings {
			if f.In(i18n.EN) != f.String() || f.DetailIn(i18n.EN) != f.Detail {
				t.Errorf("%s: the English detail is not Detail: %q", tc.name, f.In(i18n.EN))
			}
			if id := f.DetailIn(i18n.ID); id == f.Detail || strings.Contains(id, i18n.Missing) {
				t.Errorf("%s: %s has no detail in Bahasa Indonesia: %q", tc.name, f.Problem, id)
			}
			b.WriteString("EN " + f.In(i18n.EN) + "\nID " + f.In(i18n.ID) + "\n")
		}
	}
	golden := filepath.Join("testdata", "findings-in.txt")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("the findings differ from %s:\n%s", golden, b.String())
	}
}

// TestFindingDetailsInMade: the details of the findings made without a
// damaged log (a run that opened no repository, a head asked for and not
// found), in both languages, byte for byte.
func TestFindingDetailsInMade(t *testing.T) {
	var rep VerifyReport
	expectHead(&rep, nil, nil, "abc")
	for _, tc := range []struct {
		f      Finding
		en, id string
	}{
		{notOpenedFinding("c", 3, "disk-A", &Record{ID: "r3", Op: OpBackup, Failure: KindMedia}),
			"repository: medium-absent (warning): record r3 (seq 3): medium disk-A was absent at this backup: the record names no repository and is in none",
			"repositori: medium-absent (peringatan): catatan r3 (seq 3): media disk-A tidak terpasang pada kegiatan ini (Backup): catatannya tidak menyebut repositori dan tidak ada di repositori mana pun"},
		{notOpenedFinding("c", 4, "disk-B", &Record{ID: "r4", Op: OpRestoreTest, Failure: KindWrongPassword, Message: "wrong password or no key found"}),
			"repository: repository-not-opened (warning): record r4 (seq 4): the repository on medium disk-B could not be opened at this restore-test (wrong-password: wrong password or no key found): the record names no repository and is in none",
			`repositori: repository-not-opened (peringatan): catatan r4 (seq 4): repositori pada media disk-B tidak dapat dibuka pada kegiatan ini (Uji restore; Kata sandi salah: "wrong password or no key found"): catatannya tidak menyebut repositori dan tidak ada di repositori mana pun`},
		{rep.Findings[0],
			`local: expected-head-not-found: expected head abc: a head is 64 hex digits (all 256 bits); "abc" has 3`,
			`lokal: expected-head-not-found: head yang diharapkan abc: head terdiri dari 64 digit heksadesimal (seluruh 256 bit); "abc" terdiri dari 3`},
	} {
		if got := tc.f.In(i18n.EN); got != tc.en || tc.f.String() != tc.en {
			t.Errorf("in English:\n got %s\nwant %s", got, tc.en)
		}
		if got := tc.f.In(i18n.ID); got != tc.id {
			t.Errorf("in Bahasa Indonesia:\n got %s\nwant %s", got, tc.id)
		}
	}
}
