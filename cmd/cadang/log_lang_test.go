package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSOPLogVerifyLang: log verify --lang id says every line in Bahasa
// Indonesia, the details of its findings (an unreadable line, a record
// missing from the chain and from the local mirror) included, with the
// record IDs, places and numbers as data; English stays as it was, and
// --json keeps the English details and kinds.
func TestSOPLogVerifyLang(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	for range 3 {
		h.must(0, "run", "spse-db")
	}
	recs := h.records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	b, err := os.ReadFile(h.log)
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(string(b), "\n")
	ls[1] = "{not json"
	if err := os.WriteFile(h.log, []byte(strings.Join(ls, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r1, r2, r3 := recs[0].ID, recs[1].ID, recs[2].ID

	lines := func(args ...string) []string {
		t.Helper()
		out, errs, code := h.cad(args...)
		if code != 1 {
			t.Fatalf("cadang %v: exit %d, want 1:\n%s\n%s", args, code, out, errs)
		}
		return strings.Split(out, "\n")
	}
	// check compares got with want line by line, and each line of
	// prefixed (by index) with its beginning and, after it, words it
	// holds: the file IDs and hashes between them change with each run.
	check := func(lang string, got []string, want []string, prefixed map[int][2]string) {
		t.Helper()
		for i, w := range want {
			if w != "" && (i >= len(got) || got[i] != w) {
				t.Errorf("%s line %d:\n got %q\nwant %q", lang, i+1, at(got, i), w)
			}
		}
		for i, w := range prefixed {
			if g := at(got, i); !strings.HasPrefix(g, w[0]) || !strings.Contains(g[len(w[0]):], w[1]) {
				t.Errorf("%s line %d:\n got %q\nwant %q ... %q", lang, i+1, g, w[0], w[1])
			}
		}
	}
	en := lines("log", "verify", "--job", "spse-db")
	check("English", en, []string{
		"local: unreadable at line 2: not a run log entry: invalid character 'n' looking for beginning of object key string",
		"local: removed (seq 2): seq 2 missing between record " + r1 + " and record " + r3,
	}, map[int][2]string{
		2: {"local: removed: record " + r2 + " (seq 2): record " + r2 + " is in the repository (file ", ") but missing from the local mirror"},
		3: {"local: removed (seq 2) at file ", ": the repository's head of 2026-12-01 02:01 WITA names seq 2 ("},
		7: {"local: 2 records signed by key ", ""},
		9: {"repository: 3 records signed by key ", ""},
		8: {"repository copy on medium disk-A (" + h.repoA + "): 3 records, 3 heads; newest head written 2026-12-01 02:02 WITA: chain seq 3, head ", ", its last record seq 3"},
	})
	id := lines("--lang", "id", "log", "verify", "--job", "spse-db")
	check("Bahasa Indonesia", id, []string{
		`lokal: unreadable di baris 2: entri tidak dapat dibaca; pesan program (bahasa Inggris): "not a run log entry: invalid character 'n' looking for beginning of object key string"`,
		"lokal: removed (seq 2): seq 2 hilang di antara catatan " + r1 + " dan catatan " + r3,
	}, map[int][2]string{
		2: {"lokal: removed: catatan " + r2 + " (seq 2): catatan " + r2 + " ada di repositori (berkas ", ") tetapi hilang dari salinan lokal"},
		3: {"lokal: removed (seq 2) di berkas ", ": head repositori yang ditulis 2026-12-01 02:01 WITA menyebut seq 2 ("},
		7: {"lokal: 2 catatan ditandatangani dengan kunci ", ""},
		9: {"repositori: 3 catatan ditandatangani dengan kunci ", ""},
		8: {"salinan repositori pada media disk-A (" + h.repoA + "): 3 catatan, 3 head; head terbaru ditulis 2026-12-01 02:02 WITA: seq rantai 3, head ", ", seq catatan terakhirnya 3"},
	})
	all := strings.Join(id, "\n")
	for _, english := range []string{"missing", "record ", "at line", "at file", "is in the repository", "signed by", "newest head", "the repository's head"} {
		if strings.Contains(all, english) {
			t.Errorf("log verify --lang id says %q in English:\n%s", english, all)
		}
	}

	out, _, _ := h.cad("--lang", "id", "log", "verify", "--json")
	var rep struct {
		Findings []struct {
			Problem string `json:"problem"`
			Where   string `json:"where"`
			Detail  string `json:"detail"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) < 2 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if f := rep.Findings[0]; f.Problem != "unreadable" || f.Where != "line 2" || f.Detail != "not a run log entry: invalid character 'n' looking for beginning of object key string" {
		t.Errorf("json finding %+v, want the English detail", f)
	}
	if f := rep.Findings[1]; f.Problem != "removed" || f.Detail != "seq 2 missing between record "+r1+" and record "+r3 {
		t.Errorf("json finding %+v, want the English detail", f)
	}
}

func at(ls []string, i int) string {
	if i < len(ls) {
		return ls[i]
	}
	return ""
}
