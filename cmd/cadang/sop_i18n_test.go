package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/pdftext"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// A failed dump command printed and recorded cadang's English sentence
// ("command ... exited with status 3; no snapshot was saved; its stderr
// ended with: ...") in the Indonesian terminal line and failure report
// (README walk). The record keeps a note code with the command and its
// exit status; only the command's stderr stays verbatim, labelled as its
// output. English says what it said before.
func TestSOPFailedCommandInOneLanguage(t *testing.T) {
	h := newSOPHarness(t)
	if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	english := []string{"exited with status", "no snapshot was saved", "stderr ended with", "command sh"}
	h.at("2026-11-30T02:00:00+08:00")
	id := h.must(1, "--lang", "id", "run", "spse-db")
	rec := h.last()
	if rec.Note == nil || rec.Note.Code != "source-command-exited" || rec.Message != "pg_dump: connection refused" ||
		len(rec.Sources) == 0 || rec.Sources[0].Note == nil || rec.Sources[0].Note.Code != "command-exited" {
		t.Errorf("record of the failed dump: note %+v, message %q, sources %+v", rec.Note, rec.Message, rec.Sources)
	}
	for _, e := range rec.Errors {
		if strings.Contains(e, "exited with status") {
			t.Errorf("the record's errors keep the English sentence: %q", e)
		}
	}
	wantID := []string{"Sumber database gagal: perintah sh -c ", "keluar dengan status 3; tidak ada snapshot sumber ini yang disimpan",
		`keluaran stderr perintah itu berakhir dengan: "pg_dump: connection refused"`}
	noEnglish(t, id, english, wantID)
	for _, f := range []string{"md", "pdf"} {
		file := filepath.Join(h.dir, "failure.id."+f)
		h.must(0, "report", "failure", rec.ID, "--lang", "id", "--format", f, "--output", file)
		out := mustRead(t, file)
		if f == "pdf" {
			out = strings.Join(strings.Fields(pdftext.Read([]byte(out)).Text), " ")
		}
		noEnglish(t, out, english, []string{"keluar dengan status 3; tidak ada snapshot yang disimpan", "pg_dump: connection refused"})
	}
	en := h.must(0, "report", "failure", rec.ID, "--lang", "en", "--format", "md")
	for _, want := range []string{"exited with status 3; no snapshot was saved; its stderr ended with: \"pg_dump: connection refused\""} {
		if !strings.Contains(en, want) {
			t.Errorf("English failure report lacks %q:\n%s", want, en)
		}
	}
	h.at("2026-12-01T02:00:00+08:00")
	if out := h.must(1, "run", "spse-db"); !strings.Contains(out, "Source database failed: command sh -c ") ||
		!strings.Contains(out, "exited with status 3; no snapshot of this source was saved; its stderr ended with: \"pg_dump: connection refused\"") {
		t.Errorf("English terminal line of the failed dump:\n%s", out)
	}
	// A plain backup of a command's output is recorded the same way.
	h.at("2026-12-02T02:00:00+08:00")
	if _, errs, code := h.cad("-r", h.repoA, "--password-file", h.pw, "backup", "--stdin-from-command", "--stdin-filename", "x.dump",
		"--", "sh", "-c", "echo 'pg_dump: no route' >&2; exit 4"); code == 0 || !strings.Contains(errs, "exited with status 4") {
		t.Errorf("backup --stdin-from-command of a failing command: exit %d\n%s", code, errs)
	}
	if plain := h.last(); plain.Note == nil || plain.Note.Code != "command-exited" || plain.Message != "pg_dump: no route" {
		t.Errorf("plain backup's record: note %+v, message %q", plain.Note, plain.Message)
	} else {
		noEnglish(t, h.must(0, "report", "failure", plain.ID, "--lang", "id"), english,
			[]string{`keluar dengan status 4; tidak ada snapshot yang disimpan; keluaran stderr perintah itu berakhir dengan: "pg_dump: no route"`})
	}
	// An older record's English sentence is shown as it was recorded,
	// said to be the program's text in English; English is unchanged, and
	// a raw stderr is only quoted.
	old := rec
	// Its sources, as the record has them, follow (runlog.MessageText).
	idSaved, enSaved := "; sumber yang tersimpan: upload (snapshot "+rec.Sources[1].Snapshot[:8]+"); yang tidak tersimpan: database",
		"; sources saved: upload (snapshot "+rec.Sources[1].Snapshot[:8]+"); not saved: database"
	old.Note, old.Message = runlog.NewNote("source-failed", "database"), "command x exited with status 3; no snapshot was saved"
	if got := runlog.MessageText("id", &old); got != `Sumber database gagal (rincian dari program cadang; uraian teknisnya dalam bahasa Inggris): "`+old.Message+`"`+idSaved {
		t.Errorf("an older record's message in Indonesian: %q", got)
	}
	if got := runlog.MessageText("en", &old); got != `Source database failed: "`+old.Message+`"`+enSaved {
		t.Errorf("an older record's message in English: %q", got)
	}
	old.Message = "pg_dump: connection refused"
	if got := runlog.MessageText("id", &old); got != `Sumber database gagal: "pg_dump: connection refused"`+idSaved {
		t.Errorf("a raw stderr in Indonesian: %q", got)
	}
}

// 'status --lang id' said "backup terakhir gagal: 2026-11-30" where English
// names the run and its kind of failure: no ID to give 'report failure'
// (README walk). Each Indonesian line carries the facts of the English one.
func TestSOPStatusIndonesianFacts(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-30T02:00:00+08:00")
	h.must(1, "run", "spse-db")
	failed := h.last()
	h.at("2026-12-05T09:00:00+08:00")
	en, _, _ := h.cad("status")
	if !strings.Contains(en, "last backup "+failed.ID+" failed: dump-failed") {
		t.Errorf("English status lacks the failed run:\n%s", en)
	}
	id, _, code := h.cad("--lang", "id", "status")
	for _, want := range []string{
		"spse-db: backup terakhir gagal: " + failed.ID + " (Perintah dump gagal), 2026-11-30",
		"spse-db: backup terlambat: tidak ada backup yang berhasil sejak 2026-11-27 02.00 WITA",
	} {
		if !strings.Contains(id, want) {
			t.Errorf("status --lang id (exit %d) lacks %q:\n%s", code, want, id)
		}
	}
	if strings.Contains(id, "dump-failed") || strings.Contains(id, "successful") {
		t.Errorf("status --lang id has English:\n%s", id)
	}
}

// The README says every command prints its times in the [organization]
// timezone, with the zone named, as snapshots does; prune printed its
// obsolete set's time in UTC ("marked 2026-12-08T00:46:01Z"), forget
// --dry-run and protect --list printed times without a zone (README walk).
func TestCLITimesNameTheOrganizationZone(t *testing.T) {
	repoDir, ids := forgetRepo(t, "Asia/Makassar", []forgetSnap{
		{label: "a", time: "2026-03-01T20:30:00Z", host: "spse"},
		{label: "b", time: "2026-03-02T20:30:00Z", host: "spse"},
	})
	out := cliOK(t, "-r", repoDir, "forget", "--dry-run", "--keep-last", "1", "--host", "spse").stdout
	if !strings.Contains(out, "2026-03-02 04:30:00 WITA") || !strings.Contains(out, "2026-03-03 04:30:00 WITA") {
		t.Errorf("forget --dry-run: times not in WITA, named:\n%s", out)
	}
	cliOK(t, "-r", repoDir, "protect", ids["a"], "--until", "2099-01-02", "--reason", "zone test")
	for _, flags := range [][]string{nil, {"--utc"}} {
		out := cliOK(t, append(append([]string{"-r", repoDir}, flags...), "protect", "--list")...).stdout
		if !strings.Contains(out, "2099-01-02 00:00:00 WITA") {
			t.Errorf("protect --list %v: the end not in WITA, named:\n%s", flags, out)
		}
	}
	// Two snapshots of different data, the first forgotten: the first
	// prune marks its pack, the second deletes it and says when it was
	// marked.
	src := t.TempDir()
	for i := range 2 {
		writeFileT(t, filepath.Join(src, "f"), bytes.Repeat([]byte{byte('a' + i)}, 100000), 0o644)
		cliBackup(t, repoDir, src)
	}
	cliOK(t, "-r", repoDir, "forget", "--keep-last", "1", "--path", src)
	cliOK(t, "-r", repoDir, "prune", "--max-unused", "0")
	res := cliOK(t, "-r", repoDir, "prune")
	m := regexp.MustCompile(`deleted \d+ obsolete pack\(s\) marked (.*)`).FindStringSubmatch(res.stdout + res.stderr)
	if m == nil || !strings.HasSuffix(m[1], " WITA") {
		t.Errorf("prune: the marked time not in WITA, named:\n%s", res)
	}
}

// A path source none of whose paths can be read, and a medium that is not
// connected, put cadang's English ("nothing to back up: ...", "medium ...
// is not connected: ...") into the Indonesian terminal line and failure
// report. They are notes; only the system's errors stay verbatim, labelled.
func TestSOPSourceAndMediumFailuresInOneLanguage(t *testing.T) {
	h := newSOPHarness(t)
	b, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		english, want  []string
	}{
		{"paths missing", h.src + `", "` + h.extra, "/nonexistent/a\", \"/nonexistent/b",
			[]string{"nothing to back up", "no backup path"},
			[]string{"Sumber upload gagal: tidak ada yang di-backup, tidak satu pun path backup dapat dibaca; pesan sistem (dalam bahasa Inggris): \"lstat /nonexistent/a: no such file or directory; lstat /nonexistent/b: no such file or directory\""}},
		{"medium missing", h.repoA, "/nonexistent/disk",
			[]string{"is not connected", "does not exist", "directory not found"},
			[]string{"Media disk-A tidak terpasang: repositori /nonexistent/disk tidak ditemukan"}},
	}
	for i, c := range cases {
		if err := os.WriteFile(h.cfg, []byte(strings.Replace(string(b), c.old, c.new, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		h.at(fmt.Sprintf("2026-11-%02dT02:00:00+08:00", 27+i))
		out := h.must(1, "--lang", "id", "run", "spse-db")
		noEnglish(t, out, c.english, c.want)
		rec := h.last()
		// The report gives the system's errors once, in the source's row.
		noEnglish(t, h.must(0, "report", "failure", rec.ID, "--lang", "id"), c.english,
			strings.Split(strings.TrimPrefix(c.want[0], "Sumber upload gagal: "), "; pesan sistem"))
	}
}
