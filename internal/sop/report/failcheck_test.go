package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// failedCheck is the record of a check that found a pack cut short, as
// cmd/cadang records it: its note, its English findings, the files that
// used the blobs cut off and the advice the terminal gave.
func failedCheck() runlog.Record {
	start := time.Date(2026, 3, 12, 2, 0, 0, 0, time.UTC)
	info := &runlog.CheckInfo{DamagedPacks: 1, MorePaths: 7, Advice: []string{"repair-packs", "lost-data-after-repair"}}
	for i := range 3 {
		info.Paths = append(info.Paths, runlog.CheckPath{Snapshot: "ae11b19a6b3c2d1e", Path: fmt.Sprintf("/home/appserv/file_upload/dok-%03d.pdf", i)})
	}
	info.Paths = append(info.Paths, runlog.CheckPath{Snapshot: "ae11b19a6b3c2d1e", Path: "/home/appserv/arsip", Tree: true})
	return runlog.Record{ID: "20260312-020000-c4e1", Op: runlog.OpCheck, Job: "spse-prod", Medium: "disk-A", Repository: "/mnt/backup/cadang",
		RepositoryID: "9f86d081884c7d65", Host: "srv-spse", Operator: "root", Start: start, End: start.Add(3 * time.Minute),
		Result: runlog.Failed, Failure: runlog.KindIntegrity, Note: runlog.NewNote("check-found-packs", 1), Check: info,
		Errors: []string{"repository file data/1ad3f3a9 is damaged: pack trailer: header length 1655721399 does not fit a pack of 200000 bytes"},
		Tags:   []string{runlog.TagManual}}
}

// The failure report of a failed check says what it found in the
// document's language (before: cadang's English "check found 2
// problem(s)" in the Indonesian report), names the files that use the
// blobs lost, as the terminal did, and gives the terminal's advice: run
// 'repair packs' first, then a backup heals.
func TestFailureOfCheck(t *testing.T) {
	h := makeHistory(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		var text string
		t.Run(string(l), func(t *testing.T) { text = flatPages(t, pages(t, h.env(l).Failure(failedCheck(), nil))) }) // CADANG_SOP_DUMP: one PDF each
		for _, want := range []string{
			l.Pick("Pemeriksaan repositori menemukan 1 pack yang rusak", "The check found 1 damaged pack"),
			l.Pick("Berkas yang terdampak", "Files affected"),
			"/home/appserv/file_upload/dok-002.pdf",
			l.Pick("/home/appserv/arsip (daftar isi direktori hilang", "/home/appserv/arsip (the directory's listing is lost"),
			l.Pick("... dan 7 path lainnya", "... and 7 more paths"),
			l.Pick("Jalankan 'cadang repair packs'", "Run 'cadang repair packs'"),
			l.Pick("jalankan dahulu 'cadang repair packs': sesudah itu backup berikutnya", "run 'cadang repair packs' first: then the next backup"),
			"9f86d081884c7d65",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %q:\n%s", l, want, text)
			}
		}
		if l == i18n.ID && strings.Contains(text, "check found") {
			t.Errorf("the Indonesian report quotes cadang's English:\n%s", text)
		}
	}
}

// A run whose repository could not be opened says so in the document's
// language, the error following as the program's message, and its
// repository ID is "-" with the reason; one that opened the repository
// (read-only: its lock could not be written) names the ID.
func TestFailureOfUnopenedRepository(t *testing.T) {
	h := makeHistory(t)
	rec := failedCheck()
	rec.Check, rec.Errors, rec.RepositoryID = nil, nil, ""
	rec.Failure = runlog.KindRepoUnreachable
	rec.Note, rec.Message = runlog.NewNote("repo-open-failed", rec.Repository), "open /mnt/backup/cadang: no repository here (no config file)"
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		var text string
		t.Run(string(l), func(t *testing.T) { text = flatPages(t, pages(t, h.env(l).Failure(rec, nil))) }) // CADANG_SOP_DUMP: one PDF each
		for _, want := range []string{
			l.Pick(`Repositori /mnt/backup/cadang tidak dapat dibuka; pesan program (dalam bahasa Inggris): "open /mnt/backup/cadang: no repository here`,
				`Cannot open repository /mnt/backup/cadang; the program's message: "open /mnt/backup/cadang: no repository here`),
			l.Pick("ID repositori : - (repositori tidak dapat dibuka)", "Repository ID : - (the repository could not be opened)"),
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %q:\n%s", l, want, text)
			}
		}
	}
}
