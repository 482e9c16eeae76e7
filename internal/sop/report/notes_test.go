package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// reread returns r as the run log gives it back: through JSON, so the
// note's numbers are float64 as in a real record.
func reread(t *testing.T, r runlog.Record) runlog.Record {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out runlog.Record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func noteEnv(l i18n.Lang) Env {
	return Env{Config: &jobs.Config{Organization: jobs.Organization{Name: "LPSE Uji"}}, Lang: l,
		Now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
}

func noteRecords(t *testing.T) (restore, test runlog.Record) {
	start := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	restore = reread(t, runlog.Record{ID: "20260309-090000-aaaa", Op: runlog.OpRestore, Result: runlog.OK, Start: start, End: start.Add(time.Minute),
		FilesRead: 1234, Note: runlog.NewNote("restored", "dddddddd", "/srv/restore", int64(1234)),
		Restore: &runlog.RestoreInfo{Snapshot: strings.Repeat("d", 64), Target: "/srv/restore", Verified: true,
			VerifyKind: runlog.VerifyAll, FilesVerified: 1234}})
	test = reread(t, runlog.Record{ID: "20260309-100000-bbbb", Op: runlog.OpRestoreTest, Job: "spse-db", Result: runlog.OK,
		Start: start, End: start.Add(time.Minute), Note: runlog.NewNote("test-ok", 4, 2, 1),
		Test: &runlog.TestInfo{Seed: 7, Sample: 4}})
	return restore, test
}

// The restore minutes and the restore test report say what the record's
// facts mean in the document's language: no English sentence of cadang's
// own in an Indonesian document.
func TestNotesInDocumentLanguage(t *testing.T) {
	restore, test := noteRecords(t)
	english := []string{"restored to", "read back after the restore", "all match", "verified byte for byte", "verify commands passed"}
	id := noteEnv(i18n.ID)
	ba := render(t, minutes(t, id, restore))
	ba.contains(t, "Snapshot dddddddd di-restore ke /srv/restore: 1.234 berkas",
		"1.234 berkas dibaca kembali setelah restore dan dicocokkan dengan snapshot (--verify): semuanya sesuai.")
	rt := render(t, id.RestoreTest(test, nil))
	rt.contains(t, "4 berkas dari 2 snapshot di-restore dan diverifikasi byte per byte; 1 perintah verifikasi berhasil")
	for _, doc := range []rendered{ba, rt} {
		for _, s := range english {
			if strings.Contains(doc.md, s) || strings.Contains(doc.pdfText, s) {
				t.Errorf("Indonesian document has the English %q:\n%s", s, doc.md)
			}
		}
	}
	en := noteEnv(i18n.EN)
	render(t, minutes(t, en, restore)).contains(t, "Snapshot dddddddd restored to /srv/restore: 1,234 files",
		"1,234 files read back after the restore and checked against the snapshot (--verify): all match.")
	render(t, en.RestoreTest(test, nil)).contains(t, "4 files from 2 snapshots restored and verified byte for byte; 1 verify command passed")
}

// Records written before notes existed carry English sentences; they are
// shown as they are rather than dropped.
func TestOldRecordsKeepTheirText(t *testing.T) {
	start := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	old := reread(t, runlog.Record{ID: "20260309-090000-cccc", Op: runlog.OpRestore, Result: runlog.OK, Start: start, End: start,
		Message: "snapshot dddddddd restored to /srv/restore: 4 files",
		Restore: &runlog.RestoreInfo{Verified: true, Verify: "4 files read back after the restore and checked against the snapshot (--verify): all match"}})
	render(t, minutes(t, noteEnv(i18n.ID), old)).contains(t, old.Message, old.Restore.Verify,
		"Data hasil restore telah diverifikasi sesuai dengan snapshot.")
}

// Raw error text is not cadang's to translate: it stays as it is, quoted,
// after the sentence in the document's language.
func TestRawErrorQuoted(t *testing.T) {
	start := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	r := reread(t, runlog.Record{ID: "20260309-090000-dddd", Op: runlog.OpBackup, Job: "spse-db", Result: runlog.Failed, Failure: runlog.KindDumpFailed,
		Start: start, End: start, Note: runlog.NewNote("source-failed", "database"), Message: "pg_dump: connection refused"})
	render(t, noteEnv(i18n.ID).Failure(r, nil)).contains(t, `Sumber database gagal: "pg_dump: connection refused"`)
	render(t, noteEnv(i18n.EN).Failure(r, nil)).contains(t, `Source database failed: "pg_dump: connection refused"`)
}

// TestRestoreTestWithoutCommands (issue 15): a job without verify commands
// read "0 verify commands passed", like a failure; it says none are
// configured, in both languages.
func TestRestoreTestWithoutCommands(t *testing.T) {
	n := runlog.NewNote("test-ok-no-commands", 20, 3)
	for l, want := range map[i18n.Lang]string{
		i18n.ID: "20 berkas dari 3 snapshot di-restore dan diverifikasi byte per byte; tidak ada perintah verifikasi yang dikonfigurasi",
		i18n.EN: "20 files from 3 snapshots restored and verified byte for byte; no verify commands are configured",
	} {
		if got := l.Note(n.Code, n.Args...); got != want {
			t.Errorf("%v: %q, want %q", l, got, want)
		}
	}
}

// minutes makes the restore minutes of r alone, with no options.
func minutes(t *testing.T, e Env, r runlog.Record) *doc.Document {
	t.Helper()
	d, err := e.RestoreMinutes(r, []runlog.Record{r}, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A restore that kept existing files (--overwrite if-changed or never)
// did not verify them, and one that wrote hardlinks as copies left a tree
// that differs from the source: the minutes say both, in their language,
// beside "all match".
func TestMinutesSayKeptAndCopied(t *testing.T) {
	restore, _ := noteRecords(t)
	restore.Restore.FilesKept = 5
	restore.Restore.HardlinkCopies = 2
	restore = reread(t, restore)
	t.Run("id", func(t *testing.T) {
		render(t, minutes(t, noteEnv(i18n.ID), restore)).contains(t,
			"semuanya sesuai. 5 entri yang sudah ada dibiarkan seperti di target (mode --overwrite) dan tidak ditulis maupun diverifikasi.",
			"2 hardlink ditulis sebagai berkas tersendiri, bukan sebagai tautan; isinya sesuai dengan snapshot.")
	})
	t.Run("en", func(t *testing.T) {
		render(t, minutes(t, noteEnv(i18n.EN), restore)).contains(t,
			"all match. 5 existing entries were kept as the target had them (the --overwrite mode) and were neither written nor verified.",
			"2 hardlinks were written as files of their own, not as links; their content is the snapshot's.")
	})
}

// Without an organisation name in the configuration the minutes leave the
// place out rather than write "at -".
func TestMinutesWithoutPlace(t *testing.T) {
	restore, _ := noteRecords(t)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		env := noteEnv(l)
		var with, without rendered
		t.Run(string(l)+"-with", func(t *testing.T) { with = render(t, minutes(t, env, restore)) })
		env.Config = &jobs.Config{}
		t.Run(string(l)+"-without", func(t *testing.T) { without = render(t, minutes(t, env, restore)) })
		if l == i18n.ID {
			with.contains(t, "(09-03-2026), bertempat di LPSE Uji, telah dilaksanakan")
			without.contains(t, "(09-03-2026), telah dilaksanakan restore data backup")
		} else {
			with.contains(t, "9 March 2026, at LPSE Uji, a restore")
			without.contains(t, "9 March 2026, a restore of backup data")
		}
		for _, bad := range []string{"bertempat di -", "at -"} {
			if strings.Contains(without.md, bad) {
				t.Errorf("%s: %q in the minutes", l, bad)
			}
		}
	}
}
