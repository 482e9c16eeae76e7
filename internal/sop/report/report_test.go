package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/pdftext"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/run/runtest"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/status"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// snapSource is a restore-test source over fixed snapshots.
type snapSource struct{}

func (snapSource) Snapshots(context.Context, *jobs.Job) ([]restoretest.Snapshot, error) {
	t := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	return []restoretest.Snapshot{{ID: strings.Repeat("d", 64), Source: "database", Time: t}, {ID: strings.Repeat("u", 64), Source: "upload", Time: t}}, nil
}
func (snapSource) Files(_ context.Context, s restoretest.Snapshot) ([]restoretest.File, error) {
	if s.Source == "database" {
		return []restoretest.File{{Path: "epns_prod.dump", Size: 300 << 20}}, nil
	}
	return []restoretest.File{{Path: "/home/appserv/file_upload/a.pdf", Size: 1 << 20}, {Path: "/home/appserv/file_upload/b.pdf", Size: 2 << 20}}, nil
}
func (snapSource) Restore(_ context.Context, s restoretest.Snapshot, files []restoretest.File, dir string) ([]runlog.TestItem, error) {
	var out []runlog.TestItem
	for _, f := range files {
		out = append(out, runlog.TestItem{Path: f.Path, Size: f.Size, OK: true})
	}
	return out, nil
}

type history struct {
	cfg                *jobs.Config
	clk                *clock.Fake
	log                *runlog.Log
	recs               []runlog.Record
	failed, test, rest runlog.Record
	head               string
	db                 *dbHist // dbHistory, once made
}

// makeHistory runs the SOP through run.Runner with fake media from
// 2026-01-01 to 2026-03-10: daily backups with the rotation followed, except
// that 2026-03-04 is missed, 2026-03-05 has the wrong disk connected (and a
// follow-up), 2026-02-10 a dump failure without follow-up, one restore test
// and one restore on request.
func makeHistory(t *testing.T) *history {
	t.Helper()
	cfg, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Jobs = cfg.Jobs[:1] // spse-prod only, daily
	loc := cfg.Location()
	h := &history{cfg: cfg, clk: clock.NewFake(time.Date(2026, 1, 1, 1, 0, 0, 0, loc))}
	var seed [32]byte
	h.log = runlog.Open(filepath.Join(t.TempDir(), "runlog.jsonl"), runlog.Options{Clock: h.clk, Rand: seeded{rand.NewChaCha8(seed)}, Host: "lpse-gorontalo", Operator: "budi"})
	bay := runtest.NewBay(cfg)
	bk := &runtest.Backupper{Clock: h.clk, Took: 25 * time.Minute}
	r := &run.Runner{Config: cfg, Log: h.log, Opener: bay, Backupper: bk, Notifier: &runtest.Notifier{}, Clock: h.clk}
	ctx := context.Background()
	j := &cfg.Jobs[0]
	for day := time.Date(2026, 1, 1, 1, 0, 0, 0, loc); day.Before(time.Date(2026, 3, 11, 0, 0, 0, 0, loc)); day = day.AddDate(0, 0, 1) {
		h.clk.Set(day)
		ds := day.Format("2006-01-02")
		if ds == "2026-03-04" {
			continue // nobody ran the backup
		}
		due, _ := r.DueMedium(j)
		bay.Connect(due.RepositoryID)
		if ds == "2026-03-05" {
			bay.Connect(j.Media[(j.MediumByID(due.RepositoryID)+1)%3].RepositoryID)
		}
		bk.Errs = nil
		if ds == "2026-02-10" {
			bk.Errs = map[string]error{"database": fmt.Errorf("pg_dump: error: connection to server failed")}
		}
		out, err := r.Backup(ctx, j.Name, run.Options{})
		if ds == "2026-03-05" {
			h.failed = out.Record
			h.clk.Advance(2 * time.Hour)
			if _, err := r.Followup(ctx, out.Record.ID, "Disk C dipasang ulang; jadwal rotasi ditempel di rak server", nil); err != nil {
				t.Fatal(err)
			}
		} else if err != nil && ds != "2026-02-10" {
			t.Fatalf("%s: %v", ds, err)
		}
		if ds == "2026-03-06" {
			h.clk.Set(day.Add(8 * time.Hour))
			// an in-memory server: the test never reaches a PostgreSQL of the machine
			tester := &restoretest.Tester{Source: snapSource{}, Clock: h.clk, Postgres: &pgServer{loaded: map[string]string{}}}
			out, _ := r.Do(ctx, runlog.OpRestoreTest, j.Name, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
				h.clk.Advance(40 * time.Minute)
				return nil, tester.Run(ctx, j, restoretest.Options{Sample: 2, Seed: 1234, HasSeed: true, Scratch: t.TempDir()}, rec)
			})
			h.test = out.Record
		}
		if ds == "2026-03-09" {
			h.clk.Set(day.Add(9 * time.Hour))
			out, err := r.Do(ctx, runlog.OpRestore, j.Name, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
				h.clk.Advance(95 * time.Minute)
				rec.Medium, rec.RepositoryID = "disk-A", j.Media[0].RepositoryID
				rec.FilesRead, rec.BytesRead = 1, 300<<20
				rec.Restore = &runlog.RestoreInfo{RequestID: "REQ-2026-007", RequestedBy: "Andi Wijaya", RequesterOf: "ITO LKPP",
					RequestedAt: day, Reason: "Permintaan ITO LKPP: pemeriksaan data paket tender", Snapshot: strings.Repeat("d", 64),
					SnapshotAt: day.AddDate(0, 0, -1), Paths: []string{"epns_prod.dump"}, Target: "/srv/restore/2026-03-09", Verified: true,
					Verify: "pg_restore --list: 1.204 objek."}
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			h.rest = out.Record
		}
	}
	h.clk.Set(time.Date(2026, 3, 10, 15, 0, 0, 0, loc))
	h.recs, _ = h.log.Records()
	rep, err := h.log.Verify(ctx, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	h.head = rep.Local.Head
	return h
}

func (h *history) env(l i18n.Lang) Env {
	// h.head varies with the restore test's scratch directory (a temporary
	// name in the record), so golden files use a fixed anchor.
	// Where the media are is fixed too: the rotation disks under /mnt are
	// removable, anything else is on the server's own disk.
	locate := func(repo string, _ []string) MediaKind {
		if strings.HasPrefix(repo, "/mnt/") {
			return MediaRemovable
		}
		return MediaSameDisk
	}
	return Env{Config: h.cfg, Lang: l, Now: h.clk.Now(), Head: "8f2c1e0b9a7d6c5e4f3a2b1c0d9e8f7a", Locate: locate}
}

type rendered struct {
	md, html, pdfText string
	pdf               pdftext.Doc
}

func render(t *testing.T, d *doc.Document) rendered {
	t.Helper()
	var out rendered
	for _, f := range []doc.Format{doc.Markdown, doc.HTML, doc.PDF} {
		var b bytes.Buffer
		if err := doc.Render(&b, d, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if dir := os.Getenv("CADANG_SOP_DUMP"); dir != "" {
			// for looking at the documents: CADANG_SOP_DUMP=/tmp/docs go test ./internal/sop/report
			name := strings.NewReplacer("/", "_", " ", "-").Replace(t.Name())
			os.WriteFile(filepath.Join(dir, name+"."+string(f)), b.Bytes(), 0o644)
		}
		switch f {
		case doc.Markdown:
			out.md = b.String()
		case doc.HTML:
			out.html = b.String()
		case doc.PDF:
			if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
				t.Fatal("not a PDF")
			}
			out.pdf = pdftext.Read(b.Bytes())
			out.pdfText = out.pdf.Flat()
		}
	}
	for name, s := range map[string]string{"md": out.md, "html": out.html, "pdf": out.pdfText} {
		if strings.Contains(s, i18n.Missing) {
			i := strings.Index(s, i18n.Missing)
			t.Errorf("%s lacks a message: %s", name, s[i:min(i+60, len(s))])
		}
	}
	return out
}

// contains checks that every format shows every phrase.
func (r rendered) contains(t *testing.T, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(r.md, mdEscape(p)) && !strings.Contains(r.md, p) {
			t.Errorf("markdown lacks %q", p)
		}
		if !strings.Contains(r.html, htmlEscape(p)) {
			t.Errorf("html lacks %q", p)
		}
		if !strings.Contains(r.pdfText, p) && !strings.Contains(pageFooterRE.ReplaceAllString(r.pdfText, ""), p) {
			t.Errorf("pdf lacks %q", p)
		}
	}
}

// pageFooterRE matches the footer of a PDF page in its flat text: a
// sentence that runs across a page break reads whole without it.
var pageFooterRE = regexp.MustCompile(`(?:Dibuat oleh cadang|Produced by cadang) .*? (?:Halaman|Page) \d+ (?:dari|of) \d+ `)

func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;").Replace(s)
}
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; run go test ./internal/sop/report -update and review the diff", p)
	}
}

func TestDocuments(t *testing.T) {
	h := makeHistory(t)
	march, _ := ParseMonth("2026-03", h.cfg.Location())
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := h.env(l)
		pick := func(id, en string) string { return l.Pick(id, en) }
		t.Run(string(l), func(t *testing.T) {
			t.Run("inventory", func(t *testing.T) {
				r := render(t, e.Inventory(h.recs))
				r.contains(t, pick("Daftar Backup Database dan Aplikasi", "List of Database and Application Backups"),
					pick("Database Production SPSE", "SPSE production database"), pick("Rahasia", "Confidential"),
					"spse-prod", "disk-B", "pg_dump -Fc", pick("Harian", "Daily"), "LPSE Provinsi Gorontalo", "Rahmanto Gani, ST")
				golden(t, "inventory."+string(l)+".md", r.md)
			})
			t.Run("runlog", func(t *testing.T) {
				recs := runlog.Select(h.recs, runlog.Filter{Since: march})
				r := render(t, e.RunLog(recs, e.Lang.Month(march)))
				r.contains(t, pick("Log Pelaksanaan Backup", "Backup Execution Log"), h.failed.ID, pick("Media backup salah", "Wrong or missing medium"),
					pick("Uji restore", "Restore test"), "lpse-gorontalo")
			})
			t.Run("failure", func(t *testing.T) {
				r := render(t, e.Failure(h.failed, h.recs))
				r.contains(t, pick("Laporan Analisa Kegagalan Backup", "Backup Failure Analysis Report"), h.failed.ID,
					pick("Media backup salah atau tidak terpasang", "Wrong or missing medium"), "disk-B",
					"Disk C dipasang ulang", pick("Mengetahui,", "Acknowledged by,"))
				golden(t, "failure."+string(l)+".md", r.md)
				var dump runlog.Record
				for _, x := range h.recs {
					if x.Failure == runlog.KindDumpFailed {
						dump = x
					}
				}
				r = render(t, e.Failure(dump, h.recs))
				r.contains(t, pick("Perintah dump gagal", "Dump command failed"), "connection to server failed", "cadang followup add "+dump.ID)
			})
			t.Run("monthly", func(t *testing.T) {
				d, err := e.Monthly(h.recs, march)
				if err != nil {
					t.Fatal(err)
				}
				r := render(t, d)
				r.contains(t, pick("Laporan Analisa Kegagalan Backup", "Backup Failure Analysis Report"), pick("4 Maret 2026", "4 March 2026"),
					pick("Backup tidak dilaksanakan (terlewat)", "Backup not run (missed)"), pick("Media backup salah atau tidak terpasang", "Wrong or missing medium"),
					pick("Tren kegagalan dan backup terlewat", "Trend of failures and missed backups"), "Disk C dipasang ulang", h.test.ID, pick("Sudah", "Done"))
				if !strings.Contains(r.html, `src="data:image/png;base64,`) || r.pdf.Images < 1 {
					t.Errorf("chart missing: html %v, pdf images %d", strings.Contains(r.html, "data:image/png"), r.pdf.Images)
				}
				golden(t, "monthly."+string(l)+".md", r.md)
				// February: the dump failure is still open
				feb, _ := ParseMonth("2026-02", h.cfg.Location())
				d, _ = e.Monthly(h.recs, feb)
				r = render(t, d)
				r.contains(t, pick("Perintah dump gagal", "Dump command failed"), pick("Belum", "Open"))
			})
			t.Run("restore test", func(t *testing.T) {
				r := render(t, e.RestoreTest(h.test, h.recs))
				r.contains(t, pick("Laporan Hasil Pengujian Restore", "Restore Test Report"), "1234", "--seed 1234", "/home/appserv/file_upload/",
					"epns_prod.dump", pick("Identik", "Identical"), "1 April 2026")
			})
			t.Run("restore request", func(t *testing.T) {
				blank := render(t, e.RestoreRequest(nil, MinutesOptions{}))
				blank.contains(t, pick("Form Permintaan Restore", "Restore Request Form"), pick("Penggantian perangkat keras server", "Replacement of server hardware"),
					pick("Pemohon,", "Requester,"))
				if strings.Contains(blank.md, "Andi") || !strings.Contains(blank.md, "____") || !strings.Contains(blank.md, "- [ ] ") {
					t.Error("blank form is not blank")
				}
				golden(t, "restore-request-blank."+string(l)+".md", blank.md)
				filled := render(t, e.RestoreRequest(&h.rest, MinutesOptions{}))
				// The row "Snapshot / backup date" gives both, the date in
				// the organisation's zone.
				filled.contains(t, "REQ-2026-007", "Andi Wijaya", "/srv/restore/2026-03-09", strings.Repeat("d", 64),
					pick("8 Maret 2026 01.00.00 WITA", "8 March 2026 01:00:00 WITA"))
				if !strings.Contains(filled.md, "- [x] "+pick("Permintaan ITO (LKPP)", "Request from the ITO (LKPP)")) {
					t.Errorf("reason not ticked:\n%s", filled.md)
				}
			})
			t.Run("restore minutes", func(t *testing.T) {
				r := render(t, minutes(t, e, h.rest))
				r.contains(t, pick("Berita Acara Pelaksanaan Restore", "Restore Minutes"), "Andi Wijaya", "REQ-2026-007", strings.Repeat("d", 32),
					"/srv/restore/2026-03-09", pick("1 jam 35 menit", "1 h 35 min"), pick("Atasan Pemohon,", "Requester's superior,"),
					pick("Atasan Pelaksana,", "Performer's superior,"), pick("Pelaksana,", "Performed by,"))
				if l == i18n.ID {
					r.contains(t, "Pada hari ini Senin tanggal sembilan bulan Maret tahun dua ribu dua puluh enam")
				}
				golden(t, "restore-minutes."+string(l)+".md", r.md)
			})
		})
	}
}

func TestMissedDayCounts(t *testing.T) {
	h := makeHistory(t)
	march, _ := ParseMonth("2026-03", h.cfg.Location())
	m := Analyze(h.cfg, h.recs, march, h.clk.Now())
	jm := m.Jobs[0]
	// 1-9 March are over on the 10th at 15:00; the 10th is not.
	if jm.Expected != 9 || jm.Done != 8 || jm.Successful != 7 || len(jm.Missed) != 1 || jm.Missed[0].Format("2006-01-02") != "2026-03-04" {
		t.Fatalf("%+v", jm)
	}
	if m.ByKind[runlog.KindMedia] != 1 || m.MissedTotal() != 1 {
		t.Fatalf("by kind %v", m.ByKind)
	}
	jan, _ := ParseMonth("2026-01", h.cfg.Location())
	if jm := Analyze(h.cfg, h.recs, jan, h.clk.Now()).Jobs[0]; jm.Expected != 31 || len(jm.Missed) != 0 {
		t.Fatalf("january %+v", jm)
	}
}

func TestWords(t *testing.T) {
	for n, want := range map[int]string{9: "sembilan", 11: "sebelas", 15: "lima belas", 21: "dua puluh satu", 100: "seratus", 2026: "dua ribu dua puluh enam", 1999: "seribu sembilan ratus sembilan puluh sembilan"} {
		if got := i18n.ID.Words(n); got != want {
			t.Errorf("%d: %q want %q", n, got, want)
		}
	}
}

// A plain `cadang backup` of the job's medium (tag manual) is not the
// job's backup: the inventory's last backup stays the job's, and a day
// with only a manual backup is still a missed day; its failure is still
// counted in the failure analysis.
func TestManualBackupNotTheJobs(t *testing.T) {
	h := makeHistory(t)
	loc := h.cfg.Location()
	var lastJob runlog.Record
	for _, r := range h.recs {
		if r.Op == runlog.OpBackup {
			lastJob = r
		}
	}
	manual := func(id string, start time.Time, res runlog.Result, k runlog.FailureKind) runlog.Record {
		return runlog.Record{ID: id, Op: runlog.OpBackup, Job: "spse-prod", Medium: "disk-A", Start: start, End: start.Add(10 * time.Minute),
			Result: res, Failure: k, Tags: []string{runlog.TagManual}}
	}
	recs := append([]runlog.Record(nil), h.recs...)
	recs = append(recs,
		manual("20260304-100000-aaaa", time.Date(2026, 3, 4, 10, 0, 0, 0, loc), runlog.OK, ""),
		manual("20260304-110000-bbbb", time.Date(2026, 3, 4, 11, 0, 0, 0, loc), runlog.Failed, runlog.KindWrongPassword),
		manual("20260310-140000-cccc", time.Date(2026, 3, 10, 14, 0, 0, 0, loc), runlog.OK, ""))
	march, _ := ParseMonth("2026-03", loc)
	m := Analyze(h.cfg, recs, march, h.clk.Now())
	jm := m.Jobs[0]
	if jm.Expected != 9 || jm.Done != 8 || jm.Successful != 7 || len(jm.Missed) != 1 || jm.Missed[0].Format("2006-01-02") != "2026-03-04" {
		t.Errorf("a manual backup counted as the job's scheduled one: %+v", jm)
	}
	if m.ByKind[runlog.KindWrongPassword] != 1 {
		t.Errorf("the failed manual backup is not in the failure analysis: %v", m.ByKind)
	}
	e := h.env(i18n.EN)
	inv := render(t, e.Inventory(recs)).md
	if !strings.Contains(inv, e.stamp(lastJob.End)) || strings.Contains(inv, e.stamp(recs[len(recs)-1].End)) {
		t.Errorf("inventory's last backup is not the job's %s:\n%s", e.stamp(lastJob.End), inv)
	}
}

// The restore test's report says the next test is due when `cadang
// status` says it is, right after the test: a failed test is no test
// done (SOP step 4), so the due date stays that of the last successful
// test (or the job's start); a successful one moves it to its end plus
// the interval.
func TestNextRestoreTestAsStatus(t *testing.T) {
	h := makeHistory(t)
	e := h.env(i18n.EN)
	failed := h.test
	if failed.Result != runlog.Failed {
		t.Fatalf("the fixture's restore test %s", failed.Result)
	}
	var upTo []runlog.Record
	for _, r := range h.recs {
		if !r.End.After(failed.End) {
			upTo = append(upTo, r)
		}
	}
	due := status.Compute(h.cfg, upTo, failed.End).Jobs[0].RestoreTestDue
	md := render(t, e.RestoreTest(failed, h.recs)).md
	if !strings.Contains(md, e.Lang.Date(due.In(h.cfg.Location()))) || strings.Contains(md, e.Lang.Date(failed.End.Add(90*24*time.Hour).In(h.cfg.Location()))) {
		t.Errorf("failed test: status says the next test is due %s; the report:\n%s", e.Lang.Date(due), md)
	}
	// A successful test a day later: due 90 days after it.
	ok := runlog.Record{ID: "20260307-094000-0001", Op: runlog.OpRestoreTest, Job: failed.Job, Result: runlog.OK,
		Start: failed.Start.AddDate(0, 0, 1), End: failed.End.AddDate(0, 0, 1), Test: &runlog.TestInfo{Seed: 1}}
	recs := append(append([]runlog.Record(nil), h.recs...), ok)
	want := ok.End.Add(90 * 24 * time.Hour)
	if got := status.NextRestoreTest(h.cfg, ok, recs); !got.Equal(want) {
		t.Errorf("after a successful test: next %v, want %v", got, want)
	}
	if md := render(t, e.RestoreTest(ok, recs)).md; !strings.Contains(md, e.Lang.Date(want.In(h.cfg.Location()))) {
		t.Errorf("successful test: the report does not say %s:\n%s", e.Lang.Date(want), md)
	}
	// A failed test after the due date: the test is still due, overdue.
	late := failed
	late.ID, late.Start, late.End = "20260405-094000-0002", time.Date(2026, 4, 5, 9, 0, 0, 0, h.cfg.Location()), time.Date(2026, 4, 5, 9, 40, 0, 0, h.cfg.Location())
	md = render(t, e.RestoreTest(late, append(append([]runlog.Record(nil), h.recs...), late))).md
	if !strings.Contains(md, e.Lang.Date(due.In(h.cfg.Location()))+" (restore test overdue)") {
		t.Errorf("a failed test after the due date does not say it is overdue since %s:\n%s", e.Lang.Date(due), md)
	}
}

// TestNotOverDays: a day whose scheduled backup is not over yet (today, or
// every day of a month still to come) is in none of the month's counts,
// and the analysis says so. On 1 March at 15:00 the row of March read
// "expected 0, done 0", as if the day's backup, made at 01:00, had not
// been, and April, analysed in March, read the same.
func TestNotOverDays(t *testing.T) {
	h := makeHistory(t)
	loc := h.cfg.Location()
	march, _ := ParseMonth("2026-03", loc)
	april, _ := ParseMonth("2026-04", loc)
	firstOfMarch := time.Date(2026, 3, 1, 15, 0, 0, 0, loc)

	// The history runs to 10 March; on the 1st only its records till then exist.
	recsMarch1 := before(h.recs, firstOfMarch)
	jm := Analyze(h.cfg, recsMarch1, march, firstOfMarch).Jobs[0]
	if jm.Expected != 0 || jm.Done != 0 || !jm.NotOverFrom.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, loc)) ||
		len(jm.NotOverRan) != 1 || jm.NotOverRan[0].Day() != 1 {
		t.Errorf("March on 1 March: %+v", jm)
	}
	// The counts of the 10th (h.clk) leave the 10th out, and say so.
	if jm := Analyze(h.cfg, h.recs, march, h.clk.Now()).Jobs[0]; jm.Expected != 9 || jm.NotOverFrom.Day() != 10 || len(jm.NotOverRan) != 1 {
		t.Errorf("March on 10 March: %+v", jm)
	}
	for _, c := range []struct {
		lang       i18n.Lang
		month, now time.Time
		recs       []runlog.Record
		row, note  string
	}{
		{i18n.EN, march, firstOfMarch, recsMarch1, "| spse-prod | Daily | - | - | - | - | - |",
			"Job spse-prod: the scheduled backups from 1 March 2026 to the end of the month are not over yet at the time of this analysis, so they are not counted above. A backup was already made on 1 March 2026."},
		{i18n.ID, march, firstOfMarch, recsMarch1, "| spse-prod | Harian | - | - | - | - | - |",
			"Job spse-prod: backup terjadwal sejak 1 Maret 2026 hingga akhir bulan belum berakhir saat analisis ini dibuat, sehingga tidak dihitung di atas. Backup sudah dibuat pada 1 Maret 2026."},
		{i18n.EN, april, h.clk.Now(), h.recs, "| spse-prod | Daily | - | - | - | - | - |",
			"Job spse-prod: the scheduled backups from 1 April 2026 to the end of the month are not over yet at the time of this analysis, so they are not counted above."},
	} {
		e := h.env(c.lang)
		e.Now = c.now
		d, err := e.Monthly(c.recs, c.month)
		if err != nil {
			t.Fatal(err)
		}
		r := render(t, d)
		if !strings.Contains(r.md, c.row) || !strings.Contains(r.md, c.note) {
			t.Errorf("monthly %s of %s on %s: want the row %q and the note %q:\n%s", c.lang, c.month.Format("2006-01"), c.now, c.row, c.note, r.md)
		}
		if flat := strings.Join(strings.Fields(r.pdfText), " "); !strings.Contains(flat, strings.Join(strings.Fields(c.note), " ")) {
			t.Errorf("monthly PDF %s lacks %q:\n%s", c.lang, c.note, flat)
		}
	}
}

// TestOlderRecordsSourceAndJob: a restore test made without a
// configuration before snapshots carried their source recorded every
// snapshot's source as "repository" and no job, and a restore before
// restores kept the snapshot's job tag recorded none: the documents said
// "repository" and "Job: -". The backup that made the snapshot, in the
// run log, gives both; where none does, the document says the older
// record did not record it.
func TestOlderRecordsSourceAndJob(t *testing.T) {
	h := makeHistory(t)
	e := h.env(i18n.EN)
	known, unknown := strings.Repeat("d", 64), strings.Repeat("e", 64)
	backup := runlog.Record{ID: "20260308-010000-0001", Op: runlog.OpBackup, Job: "spse-prod", Result: runlog.OK,
		Sources: []runlog.Source{{Name: "database", Snapshot: known}}}
	recs := append(append([]runlog.Record{}, h.recs...), backup)

	old := h.test
	old.Job = ""
	old.Test = &runlog.TestInfo{Seed: 1, Snapshots: []runlog.SnapshotRef{{ID: known, Source: "repository"}, {ID: unknown, Source: "repository"}}}
	text := strings.Join(strings.Fields(render(t, e.RestoreTest(old, recs)).md), " ")
	for _, want := range []string{"**Job:** spse-prod", "| database (spse-prod) |", "| not recorded (an older record) |"} {
		if !strings.Contains(text, want) {
			t.Errorf("older restore test: want %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "| repository |") || strings.Contains(text, "drawn per source") {
		t.Errorf("older restore test shows 'repository' or claims per-source sampling:\n%s", text)
	}
	old.Test.Snapshots = old.Test.Snapshots[1:]
	if text := strings.Join(strings.Fields(render(t, e.RestoreTest(old, recs)).md), " "); !strings.Contains(text, "**Job:** not recorded (an older record)") {
		t.Errorf("older restore test of an unknown snapshot: want the job not recorded:\n%s", text)
	}

	rest := h.rest
	rest.Job = ""
	r := *h.rest.Restore // a copy
	r.Snapshot, r.SnapshotJob = known, ""
	rest.Restore = &r
	d, err := e.RestoreMinutes(rest, recs, MinutesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(strings.Fields(render(t, d).md), " "); !strings.Contains(text, "**Job:** spse-prod") {
		t.Errorf("minutes of an older restore record: want the job of the backup that made the snapshot:\n%s", text)
	}
}
