package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// The restore test of testdata's job spse-prod (a pg_dump command source
// with a verify command, and an upload directory) when the PostgreSQL
// server to load the dumps into cannot be reached: what a new
// administrator got before pg_host was set.

// prodSnaps is the repository of spse-prod: three snapshots of each
// source, a dump in each of the database's, ten files in each of the
// upload's.
type prodSnaps struct{ at time.Time }

func prodSnapID(source string, i int) string {
	c := "d"
	if source == "upload" {
		c = "a"
	}
	return strings.Repeat(c, 63) + fmt.Sprint(i)
}

func (s prodSnaps) Snapshots(context.Context, *jobs.Job) ([]restoretest.Snapshot, error) {
	var out []restoretest.Snapshot
	for i := range 3 {
		for _, src := range []string{"database", "upload"} {
			out = append(out, restoretest.Snapshot{ID: prodSnapID(src, i), Source: src, Time: s.at.AddDate(0, 0, i-3)})
		}
	}
	return out, nil
}

func (prodSnaps) Files(_ context.Context, s restoretest.Snapshot) ([]restoretest.File, error) {
	if s.Source == "database" {
		return []restoretest.File{{Path: "/epns_prod.dump", Size: 210 << 20}}, nil
	}
	var out []restoretest.File
	for i := range 10 {
		out = append(out, restoretest.File{Path: fmt.Sprintf("/home/appserv/file_upload/2026/%03d.pdf", i), Size: int64(i+1) << 16})
	}
	return out, nil
}

func (prodSnaps) Restore(_ context.Context, _ restoretest.Snapshot, files []restoretest.File, _ string) ([]runlog.TestItem, error) {
	var out []runlog.TestItem
	for _, f := range files {
		out = append(out, runlog.TestItem{Path: f.Path, Size: f.Size, OK: true})
	}
	return out, nil
}

// downServer is the local server of libpq's defaults, which is not there.
type downServer struct{}

var errDown = errors.New(`psql: exit status 2: psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory`)

func (downServer) Server(context.Context, jobs.Source) (restoretest.DBServer, error) {
	return downServer{}, nil
}
func (downServer) String() string                                        { return "local server (libpq defaults)" }
func (downServer) IsThrowaway() bool                                     { return false }
func (downServer) Close() error                                          { return nil }
func (downServer) CreateDB(context.Context, string) error                { return errDown }
func (downServer) DropDB(context.Context, string) error                  { return errDown }
func (downServer) Load(context.Context, string, string) error            { return errDown }
func (downServer) LoadGlobals(context.Context, string) error             { return errDown }
func (downServer) Query(context.Context, string, string) (string, error) { return "", errDown }
func (downServer) Tables(context.Context, string) ([]string, error)      { return nil, errDown }
func (downServer) DumpTables(context.Context, string) ([]string, error)  { return nil, errDown }

// serverDownTest runs the restore test of spse-prod (sample 4 files,
// 3 snapshots) against downServer and returns its record.
func serverDownTest(t *testing.T, h *history) runlog.Record {
	t.Helper()
	r := &run.Runner{Config: h.cfg, Log: h.log, Opener: runtest.NewBay(h.cfg), Backupper: &runtest.Backupper{Clock: h.clk}, Notifier: &runtest.Notifier{}, Clock: h.clk}
	tester := &restoretest.Tester{Source: prodSnaps{at: h.clk.Now()}, Clock: h.clk, Postgres: downServer{},
		Exec: func(context.Context, []string) (string, int, error) { return "", 0, nil }}
	out, err := r.Do(context.Background(), runlog.OpRestoreTest, "spse-prod", func(ctx context.Context, rec *runlog.Record) (runlog.RecordStore, error) {
		h.clk.Advance(7 * time.Minute)
		return nil, tester.Run(ctx, &h.cfg.Jobs[0], restoretest.Options{Sample: 4, Snapshots: 3, Seed: 11, HasSeed: true, Scratch: t.TempDir()}, rec)
	})
	if err == nil || out.Record.Test == nil {
		t.Fatalf("restore test with the server down: %v %+v", err, out.Record)
	}
	return out.Record
}

// A scratch database whose create failed was never there: the report
// does not say it was "not dropped" (an administrator would go looking
// for it), in either language, nor for a record written before the
// record left such a database unnamed.
func TestRestoreTestScratchNotCreated(t *testing.T) {
	h := makeHistory(t)
	rec := serverDownTest(t, h)
	old := rec
	old.Test = &runlog.TestInfo{}
	*old.Test = *rec.Test
	old.Test.Databases = nil
	old.Errors = nil
	for i, dt := range rec.Test.Databases {
		// as the test recorded it before: the name given before the
		// create, and two errors
		dt.Scratch = fmt.Sprintf("cadang_rt_0a1b2c3d_%d", i+1)
		old.Test.Databases = append(old.Test.Databases, dt)
		old.Errors = append(old.Errors, runlog.CreateFailure(dt),
			fmt.Sprintf("scratch database %s on %s, whose create failed, could not be dropped in case it exists: %v", dt.Scratch, dt.Server, errDown))
	}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		for name, r := range map[string]runlog.Record{"new": rec, "old": old} {
			t.Run(fmt.Sprintf("%s-%s", l, name), func(t *testing.T) {
				d := h.env(l).RestoreTest(r, h.recs)
				out := render(t, d)
				out.contains(t, l.Pick("tidak ada database sementara yang dibuat pada local server (libpq defaults)", "no scratch database created on local server (libpq defaults)"))
				for _, bad := range []string{"TIDAK dihapus", "NOT dropped", "dihapus setelah uji", "dropped after the test"} {
					if strings.Contains(out.md, bad) || strings.Contains(out.pdfText, bad) {
						t.Errorf("the report says %q of a database never created", bad)
					}
				}
				if name == "new" && strings.Contains(out.md, "cadang_rt_") {
					t.Errorf("the report names a scratch database never created:\n%s", out.md)
				}
				pages(t, d) // CADANG_SOP_DUMP
			})
		}
	}
}

// The summary of a restore test adds up from what its report lists: the
// files compared (the sampled files and the dump files, told apart, so
// that a sample of 4 files and 7 files verified agree), the verify
// commands, the dumps to load and the check queries. It said "6 of 16
// checks failed" of a test whose files and commands all passed and whose
// dumps could not be loaded at all.
func TestRestoreTestCountsAddUp(t *testing.T) {
	h := makeHistory(t)
	rec := serverDownTest(t, h)
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		t.Run(string(l), func(t *testing.T) {
			pick := l.Pick
			d := h.env(l).RestoreTest(rec, h.recs)
			r := render(t, d)
			r.contains(t,
				pick("Uji restore: 0 pemeriksaan gagal dan 3 tidak dapat dilaksanakan, dari 13 (7 berkas dibandingkan, 3 perintah verifikasi, 3 dump database untuk dimuat, 0 kueri pemeriksaan)",
					"Restore test: 0 checks failed and 3 could not be carried out, of 13 (7 files compared, 3 verify commands, 3 database dumps to load, 0 check queries)"),
				pick("4 berkas dari sumber berkas; ditambah seluruh berkas dump dari 3 snapshot sumber dump",
					"4 files from the file sources, plus every dump file of 3 snapshot(s) of the dump sources"),
				pick("7 dari 7 berkas identik byte per byte (4 berkas sampel dan 3 berkas dump)",
					"7 of 7 files identical byte for byte (4 sampled files and 3 dump files)"),
				pick("3 dari 3 berhasil", "3 of 3 passed"),
				pick("0 dari 3 dump database berhasil dimuat dengan seluruh tabelnya; 3 tidak dapat dilaksanakan",
					"0 of 3 database dumps loaded with all their tables; 3 not carried out"),
				pick("TIDAK DAPAT DILAKSANAKAN", "NOT CARRIED OUT"))
			text := flatPages(t, pages(t, d)) // CADANG_SOP_DUMP
			if want := pick("dari 13 (7 berkas", "of 13 (7 files"); !strings.Contains(text, want) {
				t.Errorf("the PDF lacks %q:\n%s", want, text)
			}
		})
	}
	c := restoretest.Count(rec.Test, rec.Errors)
	if c.Checks() != 13 || c.Passed() != 10 || c.NotDone() != 3 || c.Failed() != 0 {
		t.Errorf("tally %+v", c)
	}
}

// The report of a test that found no scratch database for a dump
// command's dumps says, in its own language, which server the dumps go to
// and how it is chosen (pg_host, pg_port, pg_user, else the command's -h,
// -p, -U, else libpq's defaults), naming the server it used; the record's
// English sentence is not repeated.
func TestRestoreTestCommandServerSaid(t *testing.T) {
	h := makeHistory(t)
	rec := serverDownTest(t, h)
	hint := restoretest.ServerHint(h.cfg.Jobs[0].Sources[0], "local server (libpq defaults)")
	if !slices.Contains(rec.Errors, hint) {
		t.Fatalf("the record lacks %q: %q", hint, rec.Errors)
	}
	for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
		t.Run(string(l), func(t *testing.T) {
			d := h.env(l).RestoreTest(rec, h.recs)
			r := render(t, d)
			r.contains(t, l.Pick("Dump sumber database (perintah dump) dimuat ke server yang ditentukan oleh pg_host, pg_port dan pg_user",
				"The dumps of source database (a dump command) are loaded into the server that pg_host, pg_port and pg_user name"),
				l.Pick("Uji ini memakai local server (libpq defaults) sebagai pengguna epns.", "This test used local server (libpq defaults) as user epns."))
			if strings.Contains(r.md, "the dump of a dump command") {
				t.Errorf("the record's English is repeated:\n%s", r.md)
			}
			pages(t, d) // CADANG_SOP_DUMP
		})
	}
}
