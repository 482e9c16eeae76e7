package report

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/run/runtest"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// The documents of a PostgreSQL databases source (databases = ["all"]):
// the inventory names it, the restore test report shows each database
// loaded into a scratch database with its tables and check queries, and
// the restore minutes name each database restored.

// pgSnapID is the snapshot of the databases source in dbHistory.
var pgSnapID = strings.Repeat("e", 64)

// pgSnaps is a restore-test source over one snapshot of a databases
// source: the globals and two databases.
type pgSnaps struct{ at time.Time }

func (s pgSnaps) Snapshots(context.Context, *jobs.Job) ([]restoretest.Snapshot, error) {
	return []restoretest.Snapshot{{ID: pgSnapID, Source: "database", Time: s.at}}, nil
}
func (pgSnaps) Files(context.Context, restoretest.Snapshot) ([]restoretest.File, error) {
	return []restoretest.File{{Path: "/globals.sql", Size: 4 << 10}, {Path: "/epns_latihan.dump", Size: 40 << 20}, {Path: "/epns_prod.dump", Size: 300 << 20}}, nil
}
func (pgSnaps) Restore(_ context.Context, _ restoretest.Snapshot, files []restoretest.File, _ string) ([]runlog.TestItem, error) {
	var out []runlog.TestItem
	for _, f := range files {
		out = append(out, runlog.TestItem{Path: f.Path, Size: f.Size, OK: true})
	}
	return out, nil
}

// pgServer is the configured PostgreSQL server of the test: every dump
// loads; epns_latihan lost a table and a row on the way.
type pgServer struct{ loaded map[string]string } // scratch database -> dump

func (p *pgServer) Server(context.Context, jobs.Source) (restoretest.DBServer, error) { return p, nil }
func (p *pgServer) String() string                                                    { return "127.0.0.1:5432" }
func (p *pgServer) IsThrowaway() bool                                                 { return false }
func (p *pgServer) Close() error                                                      { return nil }
func (p *pgServer) CreateDB(context.Context, string) error                            { return nil }
func (p *pgServer) DropDB(context.Context, string) error                              { return nil }
func (p *pgServer) LoadGlobals(context.Context, string) error                         { return nil }
func (p *pgServer) Load(_ context.Context, db, file string) error {
	p.loaded[db] = path.Base(file)
	return nil
}

var pgTables = []string{"public.paket", "public.peserta", "public.lelang", "public.dokumen", "public.paket_history"}

func (p *pgServer) DumpTables(context.Context, string) ([]string, error) { return pgTables, nil }
func (p *pgServer) Tables(_ context.Context, db string) ([]string, error) {
	if p.loaded[db] == "epns_latihan.dump" {
		return pgTables[:4], nil
	}
	return pgTables, nil
}
func (p *pgServer) Query(_ context.Context, db, sql string) (string, error) {
	switch {
	case p.loaded[db] == "epns_latihan.dump":
		return "36", nil
	case strings.Contains(sql, "peserta"):
		return "88120", nil
	}
	return "1204", nil
}

type dbHist struct {
	*history
	cfg        *jobs.Config // h.cfg with the job spse-db
	job        jobs.Job
	backup     runlog.Record
	test, rest runlog.Record
	recs       []runlog.Record // h.recs and the three above
}

// dbHistory adds to h a job spse-db with a databases source, a backup of
// it that recorded two check values, a restore test of that backup (run by
// restoretest.Tester, loading into pgServer) and a restore of its
// databases on request. It is made once per history.
func dbHistory(t *testing.T, h *history) *dbHist {
	t.Helper()
	if h.db != nil {
		return h.db
	}
	cfg := *h.cfg
	expect := "88120"
	j := jobs.Job{Name: "spse-db", Description: "Seluruh database PostgreSQL SPSE", InfoClass: 7, Classification: h.cfg.Jobs[0].Classification,
		Schedule: h.cfg.Jobs[0].Schedule, TimeStandard: h.cfg.Jobs[0].TimeStandard, Media: h.cfg.Jobs[0].Media,
		Sources: []jobs.Source{{Name: "database", Databases: []string{jobs.AllDatabases}, PGHost: "127.0.0.1", PGPort: 5432}},
		Checks: []jobs.Check{
			{Database: "epns_prod", Query: "SELECT count(*) FROM paket", Compare: jobs.CompareSource},
			{Database: "epns_prod", Query: "SELECT count(*) FROM peserta", Expect: &expect},
			{Database: "epns_latihan", Query: "SELECT count(*) FROM paket", Compare: jobs.CompareSource},
		}}
	cfg.Jobs = append(append([]jobs.Job(nil), h.cfg.Jobs...), j)
	d := &dbHist{history: h, cfg: &cfg, job: j}
	h.db = d
	at := h.clk.Now()
	d.backup = runlog.Record{ID: "20260310-010000-b0b0", Op: runlog.OpBackup, Job: j.Name, Result: runlog.OK, Start: at.Add(-14 * time.Hour), End: at.Add(-13 * time.Hour),
		Snapshots: []string{pgSnapID}, Sources: []runlog.Source{{Name: "database", Snapshot: pgSnapID, Result: runlog.OK, Databases: []string{"epns_latihan", "epns_prod"},
			Checks: []runlog.CheckValue{{Database: "epns_prod", Query: "SELECT count(*) FROM paket", Value: "1204"}, {Database: "epns_latihan", Query: "SELECT count(*) FROM paket", Value: "37"}}}}}
	r := &run.Runner{Config: &cfg, Log: h.log, Opener: runtest.NewBay(&cfg), Backupper: &runtest.Backupper{Clock: h.clk}, Notifier: &runtest.Notifier{}, Clock: h.clk}
	ctx := context.Background()
	tester := &restoretest.Tester{Source: pgSnaps{at: d.backup.Start}, Clock: h.clk, Postgres: &pgServer{loaded: map[string]string{}}, Records: []runlog.Record{d.backup}}
	out, _ := r.Do(ctx, runlog.OpRestoreTest, j.Name, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		h.clk.Advance(20 * time.Minute)
		return nil, tester.Run(ctx, &cfg.Jobs[len(cfg.Jobs)-1], restoretest.Options{Sample: 20, Seed: 99, HasSeed: true, Scratch: t.TempDir()}, rec)
	})
	d.test = out.Record
	if d.test.Test == nil || len(d.test.Test.Databases) != 3 {
		t.Fatalf("restore test of the databases: %+v", d.test)
	}
	out, err := r.Do(ctx, runlog.OpRestore, j.Name, func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		h.clk.Advance(30 * time.Minute)
		rec.Medium, rec.RepositoryID = "disk-A", j.Media[0].RepositoryID
		rec.FilesRead, rec.BytesRead = 3, 340<<20
		rec.Restore = &runlog.RestoreInfo{RequestID: "REQ-2026-011", RequestedBy: "Andi Wijaya", RequesterOf: "ITO LKPP", RequestedAt: at,
			Reason: "Penggantian perangkat keras server", Snapshot: pgSnapID, SnapshotAt: d.backup.Start,
			Paths: []string{"/globals.sql", "/epns_latihan.dump", "/epns_prod.dump"}, Target: "/srv/restore/2026-03-10", Verified: true, VerifyKind: runlog.VerifyAll, FilesVerified: 3}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.rest = out.Record
	d.recs = append(append([]runlog.Record(nil), h.recs...), d.backup, d.test, d.rest)
	return d
}

func (d *dbHist) env(l i18n.Lang) Env { return d.with(d.history.env(l)) }

// with returns e with the job spse-db added to its configuration.
func (d *dbHist) with(e Env) Env {
	cfg := *e.Config
	cfg.Jobs = append(append([]jobs.Job(nil), e.Config.Jobs...), d.job)
	e.Config = &cfg
	return e
}

// flatPages is the text pdftotext reads from the PDF of the document, its
// whitespace folded.
func flatPages(t *testing.T, ps []string) string {
	return strings.Join(strings.Fields(strings.Join(ps, " ")), " ")
}

// The restore test report of a databases source shows, per database,
// whether the dump loaded into a scratch database, the tables found, and
// each check query with the value expected and found.
func TestRestoreTestDatabases(t *testing.T) {
	d := dbHistory(t, makeHistory(t))
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := d.env(l)
		pick := l.Pick
		r := render(t, e.RestoreTest(d.test, d.recs))
		r.contains(t,
			pick("Dump database yang dimuat ke database sementara", "Database dumps loaded into a scratch database"),
			pick("Role dan tablespace klaster (globals.sql)", "Cluster roles and tablespaces (globals.sql)"),
			pick("Tidak dimuat: pada server yang dikonfigurasi akan mengubah role server", "Not loaded: on the configured server it would change the server's roles"),
			"epns_prod", "epns_latihan", "cadang_rt_",
			pick("pada 127.0.0.1:5432, dihapus setelah uji", "on 127.0.0.1:5432, dropped after the test"),
			pick("Berhasil dimuat", "Loaded"),
			pick("5 dari 5", "5 of 5"), pick("4 dari 5; tidak ada: public.paket_history", "4 of 5; missing: public.paket_history"),
			pick("Kueri pemeriksaan pada database hasil restore", "Check queries on the restored databases"),
			"SELECT count(*) FROM paket", "SELECT count(*) FROM peserta",
			pick("1204 (nilai pada database sumber saat backup)", "1204 (the source database's value at backup time)"),
			pick("88120 (ditetapkan dalam konfigurasi)", "88120 (set in the configuration)"),
			pick("37 (nilai pada database sumber saat backup)", "37 (the source database's value at backup time)"),
			pick("1 dari 2 dump database berhasil dimuat dengan seluruh tabelnya", "1 of 2 database dumps loaded with all their tables"),
			pick("2 dari 3 memberikan nilai yang diharapkan", "2 of 3 gave the expected value"),
			pick("TIDAK SESUAI", "FAILED"), pick("Sesuai", "Passed"))
		// The PDF as a reader sees it: the sections and the values found.
		text := flatPages(t, pages(t, e.RestoreTest(d.test, d.recs)))
		for _, want := range []string{pick("4. Dump database yang dimuat", "4. Database dumps loaded"), pick("5. Kueri pemeriksaan", "5. Check queries"),
			"public.paket_history", "36", "88120", "1204"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the PDF lacks %q:\n%s", l, want, text)
			}
		}
	}
}

// A check whose value was not recorded at backup time says so in the
// document's language, not in cadang's English.
func TestRestoreTestCheckNotRecorded(t *testing.T) {
	h := makeHistory(t)
	start := h.clk.Now()
	rec := reread(t, runlog.Record{ID: "20260310-150000-cccc", Op: runlog.OpRestoreTest, Job: "spse-db", Result: runlog.Failed, Failure: runlog.KindIntegrity,
		Start: start, End: start, Test: &runlog.TestInfo{Seed: 5, Sample: 20, Databases: []runlog.DatabaseTest{{Snapshot: pgSnapID, Source: "database",
			File: "/epns_prod.dump", Database: "epns_prod", Server: "127.0.0.1:5432", Scratch: "cadang_rt_ab12_1", Loaded: true, Tables: 5, Dropped: true,
			Checks: []runlog.CheckRun{{Query: "SELECT count(*) FROM paket", Compare: jobs.CompareSource,
				Error: "no value of this query was recorded when the snapshot was made (the check was added later, or the backup record is not in the run log)"}}}}}})
	r := render(t, h.env(i18n.ID).RestoreTest(rec, h.recs))
	r.contains(t, "tidak tercatat saat backup", "TIDAK SESUAI", "1 dari 1 dump database berhasil dimuat dengan seluruh tabelnya", "0 dari 1 memberikan nilai yang diharapkan")
	if strings.Contains(r.md, "no value of this query") {
		t.Errorf("the Indonesian report has cadang's English reason:\n%s", r.md)
	}
}

// A restore test made without a configuration file has no job: the report
// names the repository and gives a command that repeats the sample. Its
// snapshots are listed with the source their tags or paths name, not
// "repository".
func TestRestoreTestWithoutJob(t *testing.T) {
	h := makeHistory(t)
	start := h.clk.Now()
	db, up, etc := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	rec := reread(t, runlog.Record{ID: "20260310-150000-dddd", Op: runlog.OpRestoreTest, Repository: "/mnt/backup/cadang", RepositoryID: strings.Repeat("a", 64),
		Result: runlog.OK, Start: start, End: start, Note: runlog.NewNote("test-ok-no-commands", 4, 3),
		Test: &runlog.TestInfo{Seed: 4242, Sample: 20,
			Snapshots: []runlog.SnapshotRef{{ID: etc, Source: "/etc, /home/appserv/file_upload", Time: start.Add(-36 * time.Hour)},
				{ID: db, Source: "database (spse-prod)", Time: start.Add(-13 * time.Hour)}, {ID: up, Source: "upload (spse-prod)", Time: start.Add(-13 * time.Hour)}},
			Items: []runlog.TestItem{{Snapshot: etc, Path: "/etc/hosts", Size: 200, OK: true}, {Snapshot: db, Path: "/epns_prod.dump", Size: 300 << 20, OK: true},
				{Snapshot: up, Path: "/home/appserv/file_upload/2026/03/dok-001.pdf", Size: 2 << 20, OK: true}, {Snapshot: up, Path: "/home/appserv/file_upload/2026/03/dok-002.pdf", Size: 3 << 20, OK: true}}}})
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		var text string
		t.Run(string(l), func(t *testing.T) { text = flatPages(t, pages(t, h.env(l).RestoreTest(rec, h.recs))) }) // CADANG_SOP_DUMP: one PDF each
		for _, want := range []string{"database (spse-prod)", "upload (spse-prod)", "/epns_prod.dump", l.Pick("4 berkas dari 3 snapshot", "4 files from 3 snapshots")} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %q:\n%s", l, want, text)
			}
		}
		if md := render(t, h.env(l).RestoreTest(rec, h.recs)).md; strings.Contains(md, "| repository |") || !strings.Contains(md, "| /etc, /home/appserv/file_upload |") {
			t.Errorf("%s: the source column:\n%s", l, md)
		}
		if want := "cadang -r /mnt/backup/cadang restore-test --seed 4242"; !strings.Contains(text, want) {
			t.Errorf("%s: no %q:\n%s", l, want, text)
		}
		if want := l.Pick("Repositori /mnt/backup/cadang, 10 Maret 2026", "Repository /mnt/backup/cadang, 10 March 2026"); !strings.Contains(text, want) {
			t.Errorf("%s: no %q:\n%s", l, want, text)
		}
		if strings.Contains(text, "--job --seed") || strings.Contains(text, "Job ,") {
			t.Errorf("%s: an empty job is printed:\n%s", l, text)
		}
	}
	// A sample other than the configured one is given; a location with a
	// space is quoted.
	rec.Test.Sample, rec.Repository = 5, "/media/DISK B/cadang"
	if got, want := h.env(i18n.EN).repeatCommand(rec, rec.Test), "cadang -r '/media/DISK B/cadang' restore-test --seed 4242 --sample 5"; got != want {
		t.Errorf("repeat command %q, want %q", got, want)
	}
	rec.Job = "spse-prod"
	if got, want := h.env(i18n.EN).repeatCommand(rec, rec.Test), "cadang restore-test --job spse-prod --seed 4242 --sample 5"; got != want {
		t.Errorf("repeat command %q, want %q", got, want)
	}
	// The number of snapshots drawn from is given too (the configured
	// sample as well): with another number the seed draws other snapshots.
	rec.Test.Draw, rec.Test.Sample, rec.Test.SampleBytes = 2, 0, 1<<20
	if got, want := h.env(i18n.EN).repeatCommand(rec, rec.Test), "cadang restore-test --job spse-prod --seed 4242 --sample-bytes 1048576 --snapshots 2"; got != want {
		t.Errorf("repeat command %q, want %q", got, want)
	}
}

// The inventory says what a databases source backs up, not "name:  -> ".
func TestInventoryDatabasesSource(t *testing.T) {
	d := dbHistory(t, makeHistory(t))
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := d.env(l)
		r := render(t, e.Inventory(d.recs))
		r.contains(t, "database: "+l.Pick("PostgreSQL: semua database (globals + satu dump per database), server 127.0.0.1:5432",
			"PostgreSQL: all databases (globals + one dump per database), server 127.0.0.1:5432"))
		if strings.Contains(r.md, "database:  -&gt;") || strings.Contains(r.pdfText, "database: ->") {
			t.Errorf("%s: the databases source prints as an empty command:\n%s", l, r.md)
		}
		cfg := *d.cfg
		cfg.Jobs = append([]jobs.Job(nil), d.cfg.Jobs...)
		j := &cfg.Jobs[len(cfg.Jobs)-1]
		j.Sources = []jobs.Source{{Name: "database", Databases: []string{"epns_prod", "epns_latihan"}}}
		e.Config = &cfg
		text := flatPages(t, pages(t, e.Inventory(d.recs)))
		if want := l.Pick("PostgreSQL: database epns_prod, epns_latihan (globals + satu dump per database)",
			"PostgreSQL: databases epns_prod, epns_latihan (globals + one dump per database)"); !strings.Contains(render(t, e.Inventory(d.recs)).pdfText, want) {
			t.Errorf("%s: the inventory lacks %q", l, want)
		}
		if !strings.Contains(text, "epns_latihan") {
			t.Errorf("%s: the PDF lacks the databases:\n%s", l, text)
		}
	}
}

// The restore minutes of a restore from a databases snapshot name each
// database restored, and the cluster's roles, in words.
func TestRestoreMinutesDatabases(t *testing.T) {
	d := dbHistory(t, makeHistory(t))
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		e := d.env(l)
		ba, err := e.RestoreMinutes(d.rest, d.recs, MinutesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			l.Pick("Database PostgreSQL epns_prod (berkas dump /epns_prod.dump)", "PostgreSQL database epns_prod (dump file /epns_prod.dump)"),
			l.Pick("Database PostgreSQL epns_latihan (berkas dump /epns_latihan.dump)", "PostgreSQL database epns_latihan (dump file /epns_latihan.dump)"),
			l.Pick("Role dan tablespace klaster PostgreSQL (/globals.sql)", "Roles and tablespaces of the PostgreSQL cluster (/globals.sql)"),
			l.Pick("untuk dimuat dengan pg_restore", "to be loaded with pg_restore"),
		}
		render(t, ba).contains(t, want...)
		text := flatPages(t, pages(t, ba))
		for _, w := range want[:3] {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the minutes' PDF lacks %q:\n%s", l, w, text)
			}
		}
		// Without the backup's record (a replacement server), the paths
		// still say it: the globals file, or dumps of a job with a
		// databases source.
		for _, paths := range [][]string{{"/globals.sql", "/epns_prod.dump"}, {"/epns_prod.dump"}} {
			r := d.rest
			info := *r.Restore
			info.Paths = paths
			r.Restore = &info
			if got := e.restoredWhat(r, nil); !strings.Contains(got, want[0]) {
				t.Errorf("%s: %v: %q", l, paths, got)
			}
		}
	}
	// A pg_dump command source's dump is a file like any other.
	if got := d.env(i18n.EN).restoredWhat(d.history.rest, d.recs); got != "epns_prod.dump" {
		t.Errorf("a command dump's restore: %q", got)
	}
}

// The restore-test minutes do not repeat in English, under "error
// messages", what their tables said in the document's language (issue 15):
// a failed file, a dump that does not load, a check that does not match.
// An error the tables do not say (a scratch database left behind) is
// listed.
func TestRestoreTestErrorsNotRepeated(t *testing.T) {
	h := makeHistory(t)
	start := h.clk.Now()
	snap := strings.Repeat("b", 64)
	item := runlog.TestItem{Snapshot: snap, Path: "/srv/spse/upload/a.pdf", Size: 10, Error: "blob 1234abcd: ciphertext verification failed"}
	load := runlog.DatabaseTest{Snapshot: pgSnapID, Source: "database", File: "/helpdesk.dump", Database: "helpdesk", Server: "127.0.0.1:5432",
		Scratch: "cadang_rt_ab12_2", Dropped: true, Error: "not a valid archive"}
	// An error longer than its cell holds is cut there: it stays listed.
	long := runlog.DatabaseTest{Snapshot: pgSnapID, Source: "database", File: "/arsip.dump", Database: "arsip", Server: "127.0.0.1:5432",
		Scratch: "cadang_rt_ab12_3", Dropped: true, Error: "pg_restore: error: could not read from input file: end of file\npg_restore: warning: errors ignored on restore: 1"}
	// A source with no server to load into is named by the source.
	noServer := runlog.DatabaseTest{Snapshot: pgSnapID, Source: "helpdesk-db", Error: "connection refused"}
	check := runlog.CheckRun{Query: "SELECT count(*) FROM paket", Compare: jobs.CompareSource, Want: "120", Got: "119"}
	loaded := runlog.DatabaseTest{Snapshot: pgSnapID, Source: "database", File: "/epns_prod.dump", Database: "epns_prod", Server: "127.0.0.1:5432",
		Scratch: "cadang_rt_ab12_1", Loaded: true, Tables: 5, Checks: []runlog.CheckRun{check}}
	left := "scratch database cadang_rt_ab12_1 on 127.0.0.1:5432 was not dropped: connection lost"
	rec := reread(t, runlog.Record{ID: "20260310-150000-eeee", Op: runlog.OpRestoreTest, Job: "spse-db", Result: runlog.Failed, Failure: runlog.KindIntegrity,
		Start: start, End: start,
		Errors: []string{runlog.ItemFailure(item), runlog.LoadFailure(load), runlog.CheckFailure(loaded, check), left, runlog.LoadFailure(long), runlog.NoServerFailure(noServer)},
		Test:   &runlog.TestInfo{Seed: 5, Sample: 20, Items: []runlog.TestItem{item}, Databases: []runlog.DatabaseTest{loaded, load, long, noServer}}})
	r := render(t, h.env(i18n.ID).RestoreTest(rec, h.recs))
	r.contains(t, left, item.Error, load.Error, "helpdesk-db", "/arsip.dump in "+pgSnapID+" does not load into a database")
	for _, repeated := range []string{"/helpdesk.dump in " + pgSnapID + " does not load", " in " + snap + ":", `check "SELECT`, "no PostgreSQL server"} {
		if strings.Contains(r.md, repeated) {
			t.Errorf("the minutes repeat %q in English:\n%s", repeated, r.md)
		}
	}
}

// A configured source with no snapshot at all is named in the restore
// test's report, in each language.
func TestRestoreTestNamesMissingSources(t *testing.T) {
	h := makeHistory(t)
	start := h.clk.Now()
	rec := reread(t, runlog.Record{ID: "20260310-150000-dddd", Op: runlog.OpRestoreTest, Job: "spse-db", Result: runlog.OK,
		Start: start, End: start, Test: &runlog.TestInfo{Seed: 5, Sample: 20, MissingSources: []string{"config"},
			Snapshots: []runlog.SnapshotRef{{ID: pgSnapID, Source: "database", Time: start}}}})
	render(t, h.env(i18n.EN).RestoreTest(rec, h.recs)).contains(t, "Configured sources that have no snapshot at all, so they could not be tested: config.")
	render(t, h.env(i18n.ID).RestoreTest(rec, h.recs)).contains(t, "tidak memiliki snapshot sama sekali, sehingga tidak dapat diuji: config.")
}
