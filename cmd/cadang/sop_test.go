package main

// Tests of the SOP layer wired into the CLI: every record and document of
// the SOP comes out of real runs of `cadang`, in-process, against real local
// repositories. CADANG_NOW sets the clock of the SOP layer so that a month
// of daily runs (with a missed day) takes a few seconds.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/pdftext"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

type sopHarness struct {
	t                  *testing.T
	dir, cfg, cfgWrong string
	pw, log            string
	repoA, repoB       string
	src, extra, fail   string
	hookOut            string
	now                time.Time // CADANG_NOW of the next command, advanced by each
}

// cad runs cadang with the harness's configuration.
func (h *sopHarness) cad(args ...string) (string, string, int) {
	h.t.Helper()
	if !h.now.IsZero() {
		// Each command starts a minute after the one before, so that the
		// records' times increase as they would in real life.
		h.t.Setenv(envNow, h.now.Format(time.RFC3339))
		h.now = h.now.Add(time.Minute)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"cadang", "--config", h.cfg}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// must runs cadang and fails the test unless it exits with want.
func (h *sopHarness) must(want int, args ...string) string {
	h.t.Helper()
	out, errs, code := h.cad(args...)
	if code != want {
		h.t.Fatalf("cadang %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// at sets the SOP clock for the next commands.
func (h *sopHarness) at(ts string) {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.now = t
}

func (h *sopHarness) records() []runlog.Record {
	h.t.Helper()
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(h.must(0, "log", "--json")), &recs); err != nil {
		h.t.Fatal(err)
	}
	return recs
}

func (h *sopHarness) last() runlog.Record {
	recs := h.records()
	return recs[len(recs)-1]
}

// initRepo creates a repository with `cadang init` and returns its ID.
func (h *sopHarness) initRepo(loc string) string {
	h.t.Helper()
	var res struct {
		ID string `json:"id"`
	}
	out := h.must(0, "init", "--json", "-r", loc, "--password-file", h.pw)
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.ID) != 64 {
		h.t.Fatalf("init: %v: %s", err, out)
	}
	return res.ID
}

func newSOPHarness(t *testing.T) *sopHarness {
	for _, k := range []string{"CADANG_PASSWORD", "CADANG_PASSWORD_FILE", "CADANG_PASSWORD_COMMAND", "CADANG_REPOSITORY",
		"CADANG_CONFIG", envLog, "CADANG_LANG", envNow} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	h := &sopHarness{t: t, dir: dir, pw: filepath.Join(dir, "password"), log: filepath.Join(dir, "runlog.jsonl"),
		repoA: filepath.Join(dir, "disk-a"), repoB: filepath.Join(dir, "disk-b"),
		src: filepath.Join(dir, "upload"), extra: filepath.Join(dir, "extra"), fail: filepath.Join(dir, "FAIL"),
		hookOut: filepath.Join(dir, "hook.json"), cfg: filepath.Join(dir, "cadang.toml"), cfgWrong: filepath.Join(dir, "wrong.toml")}
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(h.pw, "rahasia-lpse\n")
	write(filepath.Join(h.src, "dokumen", "kontrak.txt"), strings.Repeat("kontrak pengadaan\n", 500))
	write(filepath.Join(h.src, "dokumen", "spek.txt"), "spesifikasi teknis\n")
	write(filepath.Join(h.src, "foto.bin"), strings.Repeat("\x00\x01\x02\xff", 30000))
	write(filepath.Join(h.extra, "catatan.txt"), "catatan\n")
	hook := filepath.Join(dir, "lapor.sh")
	write(hook, "#!/bin/sh\ncat > '"+h.hookOut+"'\n")
	if err := os.Chmod(hook, 0o700); err != nil {
		t.Fatal(err)
	}
	// A config without jobs at first: init and cat need none.
	write(h.cfg, fmt.Sprintf("[log]\npath = %q\n", h.log))
	idA := h.initRepo(h.repoA)
	h.initRepo(h.repoB)
	common := fmt.Sprintf(`
[organization]
name = "LPSE Provinsi Uji"
unit = "Biro Pengadaan"
city = "Gorontalo"
timezone = "Asia/Makassar"
[organization.head]
name = "Rahmanto Gani"
title = "Kepala LPSE"
[organization.administrator]
name = "Budi Santoso"
[log]
path = %q
[restore_test]
sample = 5
`, h.log)
	write(h.cfg, common+fmt.Sprintf(`
[[job]]
name = "spse-db"
description = "Database production SPSE dan dokumen upload"
info_class = 7
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "database"
  command = ["sh", "-c", "test -e %s && { echo 'pg_dump: connection refused' >&2; exit 3; }; echo 'PGDMP dump'; seq 1 3000"]
  filename = "epns_prod.dump"
  verify = ["grep", "-q", "PGDMP", "{file}"]
  [[job.source]]
  name = "upload"
  paths = [%q, %q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
  [job.notify]
  hook = [%q]
`, h.fail, h.src, h.extra, h.repoA, idA, h.pw, hook))
	// The wrong-medium job: disk-A (repository idA) is due, but the
	// repository at its location is disk B.
	write(h.cfgWrong, common+fmt.Sprintf(`
[[job]]
name = "arsip"
info_class = 10
classification = "terbatas"
schedule = "weekly"
active_since = 2026-11-30
  [[job.source]]
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
`, h.src, h.repoB, idA, h.pw))
	return h
}

func TestSOPRecordsAndDocuments(t *testing.T) {
	h := newSOPHarness(t)

	// SOP steps 1-3: daily runs; 29 November is missed.
	h.at("2026-11-27T02:00:00+08:00")
	out := h.must(0, "run", "spse-db")
	if !strings.Contains(out, "ok") {
		t.Fatalf("run: %s", out)
	}
	ok1 := h.last()
	if ok1.Op != runlog.OpBackup || ok1.Job != "spse-db" || ok1.Medium != "disk-A" || len(ok1.Snapshots) != 2 || ok1.Result != runlog.OK || !ok1.StandardMet {
		t.Fatalf("first run: %+v", ok1)
	}
	h.at("2026-11-28T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	h.at("2026-11-28T03:00:00+08:00")
	h.must(0, "status")
	// job list says which medium is due next (issue 15).
	if jl := h.must(0, "job", "list"); !strings.Contains(jl, "Due next") || !regexp.MustCompile(`(?m)^spse-db .*disk-A\s+disk-A\s*$`).MatchString(jl) {
		t.Fatalf("job list does not name the medium due next:\n%s", jl)
	}

	// A real failed run: the dump command exits 3. The hook gets the record.
	if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-30T02:00:00+08:00")
	h.must(1, "run", "spse-db")
	failed := h.last()
	if failed.Result != runlog.Failed || failed.Failure != runlog.KindDumpFailed || !strings.Contains(failed.Message, "connection refused") {
		t.Fatalf("failed run: %+v", failed)
	}
	hookData, err := os.ReadFile(h.hookOut)
	if err != nil {
		t.Fatalf("the hook was not run: %v", err)
	}
	var hooked runlog.Record
	if err := json.Unmarshal(hookData, &hooked); err != nil || hooked.ID != failed.ID || hooked.Failure != runlog.KindDumpFailed {
		t.Fatalf("hook got %v %s", err, hookData)
	}
	// It failed in seconds, yet did not do its work within the standard:
	// the record, the hook and log --csv say so, as the reports do.
	if failed.StandardMet || hooked.StandardMet {
		t.Errorf("a failed run has standard_met true: %s", hookData)
	}
	if csv := h.must(0, "log", "--result", "failed", "--csv"); !strings.Contains(csv, ",standard_met,") || strings.Contains(csv, ",true,") {
		t.Errorf("log --csv: a failed run meets its standard:\n%s", csv)
	}
	h.at("2026-11-30T03:00:00+08:00")
	if _, _, code := h.cad("status"); code != 2 {
		t.Fatalf("status after a failed run: exit %d, want 2", code)
	}
	// The same as a Nagios/Icinga check of that job: one line, CRITICAL,
	// the reason and performance data; an unknown job is UNKNOWN (3).
	if out, _, code := h.cad("status", "--job", "spse-db", "--format", "nagios"); code != 2 ||
		!strings.HasPrefix(out, "CADANG CRITICAL - spse-db: backup-failed") || !strings.Contains(out, " | 'spse-db_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("status --format nagios after a failed run: exit %d:\n%s", code, out)
	}
	if out, _, code := h.cad("status", "--job", "nope", "--format", "nagios"); code != 3 || !strings.HasPrefix(out, "CADANG UNKNOWN - ") {
		t.Fatalf("status --job nope --format nagios: exit %d:\n%s", code, out)
	}
	// A follow-up recorded afterwards, with the cause found (issue 15);
	// one dated in the future is refused.
	if _, errs, code := h.cad("followup", "add", failed.ID[:12], "--action", "x", "--at", "2026-12-30 10:00"); code == 0 || !strings.Contains(errs, "--at") {
		t.Fatalf("followup add --at in the future: exit %d: %s", code, errs)
	}
	if out := h.must(0, "followup", "add", failed.ID[:12], "--action", "Layanan PostgreSQL dinyalakan ulang; pg_dump diuji",
		"--cause", "Layanan PostgreSQL mati setelah pembaruan paket", "--at", "2026-11-30 02:40"); !strings.Contains(out, " for "+failed.ID+": ok\n") {
		t.Errorf("followup add does not name the run it follows up:\n%s", out)
	}
	if f := h.last(); f.Op != runlog.OpFollowup || f.Cause != "Layanan PostgreSQL mati setelah pembaruan paket" ||
		!f.Start.Equal(time.Date(2026, 11, 30, 2, 40, 0, 0, time.FixedZone("WITA", 8*3600))) {
		t.Fatalf("follow-up record: %+v", f)
	}
	os.Remove(h.fail)

	// A partial run: one of the paths is gone.
	if err := os.RemoveAll(h.extra); err != nil {
		t.Fatal(err)
	}
	h.at("2026-12-01T02:00:00+08:00")
	h.must(3, "run", "spse-db")
	if r := h.last(); r.Result != runlog.Partial || r.Failure != runlog.KindSourceUnreadable {
		t.Fatalf("partial run: %+v", r)
	}
	if _, _, code := h.cad("status"); code != 1 {
		t.Fatalf("status after a partial run: exit %d, want 1", code)
	}
	if out, _, code := h.cad("--config", filepath.Join(h.dir, "none.toml"), "status"); code != 3 {
		t.Fatalf("status without configuration: exit %d, want 3: %s", code, out)
	}

	// A real wrong-medium run.
	h.at("2026-12-01T02:30:00+08:00")
	out, _, code := h.cad("--config", h.cfgWrong, "run", "arsip")
	if code != 1 {
		t.Fatalf("wrong medium: exit %d: %s", code, out)
	}
	wrong := h.last()
	if wrong.Job != "arsip" || wrong.Failure != runlog.KindMedia || wrong.Note == nil || wrong.Note.Code != "wrong-medium" || len(wrong.Snapshots) != 0 {
		t.Fatalf("wrong medium record: %+v", wrong)
	}

	// SOP step 4: a real restore test, repeatable by its seed.
	h.at("2026-12-01T04:00:00+08:00")
	out = h.must(0, "restore-test", "--job", "spse-db", "--seed", "4242", "--sample", "3", "--lang", "en")
	rt := h.last()
	if rt.Op != runlog.OpRestoreTest || rt.Result != runlog.OK || rt.Test == nil || rt.Test.Seed != 4242 {
		t.Fatalf("restore test: %+v", rt)
	}
	var dumps int
	for _, it := range rt.Test.Items {
		if !it.OK || it.Size == 0 && !strings.HasSuffix(it.Path, ".txt") {
			t.Errorf("restore test item: %+v", it)
		}
		if it.Path == "/epns_prod.dump" {
			dumps++
		}
	}
	// The dumps of the configured number of snapshots (3), each verified.
	if dumps != 3 || len(rt.Test.Commands) != 3 || !rt.Test.Commands[0].OK || len(rt.Test.Items) != 6 {
		t.Fatalf("restore test items %+v commands %+v", rt.Test.Items, rt.Test.Commands)
	}
	if !strings.Contains(out, "Restore Test Report") || !strings.Contains(out, "4242") {
		t.Fatalf("restore test report:\n%s", out)
	}
	// SOP steps 7-8: a restore on request, verified.
	target := filepath.Join(h.dir, "restored")
	h.must(0, "restore", "-r", h.repoA, "--password-file", h.pw, "latest", "--path", h.src, "--target", target, "--verify",
		"--requested-by", "Andi Wijaya", "--reason", "penggantian hardware server", "--request-id", "REQ-2026-07")
	restore := h.last()
	if restore.Op != runlog.OpRestore || restore.Job != "spse-db" || restore.Result != runlog.OK || restore.Restore == nil ||
		restore.Restore.RequestedBy != "Andi Wijaya" || restore.Restore.RequestID != "REQ-2026-07" || !restore.Restore.Verified || restore.RepositoryID == "" {
		t.Fatalf("restore record: %+v %+v", restore, restore.Restore)
	}
	got, err := os.ReadFile(filepath.Join(target, h.src, "dokumen", "kontrak.txt"))
	if err != nil || !strings.HasPrefix(string(got), "kontrak pengadaan") {
		t.Fatalf("restored file: %v", err)
	}

	// Plain commands are recorded too: the backup before a change, a check,
	// and failed opens (local record only).
	h.must(0, "backup", "-r", h.repoA, "--password-file", h.pw, "-q", "--reason", "upgrade PostgreSQL 16", h.src)
	plain := h.last()
	if !plain.HasTag(runlog.TagBeforeChange) || plain.Reason != "upgrade PostgreSQL 16" || plain.Job != "spse-db" || plain.Result != runlog.OK || len(plain.Snapshots) != 1 {
		t.Fatalf("before-change backup: %+v", plain)
	}
	// It is a plain command's backup (tag manual), not the job's: status
	// keeps the job's last run as its last backup.
	if !plain.HasTag(runlog.TagManual) {
		t.Fatalf("a plain backup without the tag %s: %v", runlog.TagManual, plain.Tags)
	}
	var js struct {
		Jobs []struct {
			Job          string `json:"job"`
			LastBackupID string `json:"last_backup_id"`
		} `json:"jobs"`
	}
	if out, _, _ := h.cad("--json", "status"); json.Unmarshal([]byte(out), &js) != nil || len(js.Jobs) == 0 || js.Jobs[0].Job != "spse-db" ||
		js.Jobs[0].LastBackupID == "" || js.Jobs[0].LastBackupID == plain.ID {
		t.Fatalf("status takes the plain backup %s for the job's:\n%s", plain.ID, out)
	}
	h.must(0, "check", "-r", h.repoA, "--password-file", h.pw, "-q")
	if r := h.last(); r.Op != runlog.OpCheck || r.Result != runlog.OK || r.RepositoryID == "" {
		t.Fatalf("check record: %+v", r)
	}
	h.t.Setenv("CADANG_PASSWORD", "salah")
	h.must(exitWrongPassword, "backup", "-r", h.repoA, "-q", h.src)
	h.t.Setenv("CADANG_PASSWORD", "")
	if r := h.last(); r.Result != runlog.Failed || r.Failure != runlog.KindWrongPassword {
		t.Fatalf("wrong password record: %+v", r)
	}
	h.must(exitNoRepository, "check", "-r", filepath.Join(h.dir, "missing"), "--password-file", h.pw, "-q")
	if r := h.last(); r.Op != runlog.OpCheck || r.Failure != runlog.KindRepoUnreachable {
		t.Fatalf("missing repository record: %+v", r)
	}
	// dump, media, wrong password, missing repository
	if out := h.must(0, "log", "--result", "failed", "--csv"); strings.Count(out, ",failed,") != 4 {
		t.Fatalf("log --result failed --csv:\n%s", out)
	}

	// The documents, in both languages and all three formats.
	h.at("2026-12-02T09:00:00+08:00")
	type docCase struct {
		args   []string
		id, en []string // phrases
	}
	cases := []docCase{
		{[]string{"inventory"}, []string{"Daftar Backup Database dan Aplikasi", "spse-db", "Database Production SPSE"}, []string{"List of Database and Application Backups", "SPSE production database"}},
		{[]string{"runlog"}, []string{"Log Pelaksanaan Backup", failed.ID, wrong.ID}, []string{"Backup Execution Log", failed.ID}},
		{[]string{"failure", failed.ID}, []string{"Laporan Analisa Kegagalan Backup", failed.ID, "Layanan PostgreSQL dinyalakan ulang", "Layanan PostgreSQL mati setelah pembaruan paket"},
			[]string{"Backup Failure Analysis Report", "Layanan PostgreSQL dinyalakan ulang", "Cause found", "Layanan PostgreSQL mati setelah pembaruan paket"}},
		{[]string{"failure", wrong.ID}, []string{"Laporan Analisa Kegagalan Backup", wrong.ID}, []string{"Backup Failure Analysis Report", wrong.ID}},
		{[]string{"monthly", "--month", "2026-11"}, []string{"Laporan Analisa Kegagalan Backup", "29 November 2026"}, []string{"Backup Failure Analysis Report", "29 November 2026"}},
		{[]string{"restore-request"}, []string{"Form Permintaan Restore"}, []string{"Restore Request Form"}},
		{[]string{"restore-request", restore.ID}, []string{"Form Permintaan Restore", "Andi Wijaya", "REQ-2026-07"}, []string{"Restore Request Form", "Andi Wijaya"}},
		{[]string{"restore", "latest"}, []string{"Berita Acara Pelaksanaan Restore", "Andi Wijaya", "penggantian hardware server", "REQ-2026-07"}, []string{"Restore Minutes", "Andi Wijaya"}},
		{[]string{"restore-test", rt.ID}, []string{"Laporan Hasil Pengujian Restore", "4242"}, []string{"Restore Test Report", "4242"}},
	}
	for _, c := range cases {
		for _, lang := range []string{"id", "en"} {
			phrases := c.id
			if lang == "en" {
				phrases = c.en
			}
			for _, f := range []string{"md", "html", "pdf"} {
				file := filepath.Join(h.dir, "docs", strings.Join(c.args, "_")+"."+lang+"."+f)
				os.MkdirAll(filepath.Dir(file), 0o700)
				args := append([]string{"report"}, c.args...)
				h.must(0, append(args, "--lang", lang, "--format", f, "--output", file)...)
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if dump := os.Getenv("CADANG_SOP_DUMP"); dump != "" {
					// for looking at the documents of a month's records
					os.WriteFile(filepath.Join(dump, filepath.Base(file)), b, 0o644)
				}
				text := string(b)
				if f == "pdf" {
					d := pdftext.Read(b)
					if d.Pages < 1 {
						t.Errorf("%s: no pages", file)
					}
					text = d.Text
					if c.args[0] == "monthly" && d.Images == 0 {
						t.Errorf("%s: no chart", file)
					}
				}
				if f == "html" {
					text = strings.ReplaceAll(text, "&#39;", "'")
				}
				for _, p := range phrases {
					if !strings.Contains(text, p) && !strings.Contains(strings.ReplaceAll(text, "\n", " "), p) {
						t.Errorf("%s lacks %q", file, p)
					}
				}
			}
		}
	}
	// The restore minutes and the restore test report of real runs, in
	// Indonesian: the record's facts in Indonesian sentences, none of
	// cadang's English ones.
	noEnglish(t, h.must(0, "report", "restore", "latest"), []string{"read back after the restore", "restored to", "all match"},
		[]string{"berkas dibaca kembali setelah restore dan dicocokkan dengan snapshot (--verify): semuanya sesuai.", "di-restore ke " + target})
	noEnglish(t, h.must(0, "report", "restore-test", rt.ID), []string{"verified byte for byte", "verify commands passed"},
		[]string{"diverifikasi byte per byte; 3 perintah verifikasi berhasil"})
	// The restore minutes take what the record lacks from flags.
	ba := h.must(0, "report", "restore", "latest", "--signed-on", "2026-12-03", "--requester-position", "Kepala Seksi",
		"--requester-unit", "Inspektorat", "--performer", "Rina Marlina")
	for _, want := range []string{"Kepala Seksi, Inspektorat", "Rina Marlina", ", 3 Desember 2026"} {
		if !strings.Contains(ba, want) {
			t.Errorf("restore minutes with flags lack %q:\n%s", want, ba)
		}
	}
	h.must(1, "report", "restore", "latest", "--signed-on", "3/12/2026")
	md := h.must(0, "report", "monthly", "--month", "2026-11")
	if !strings.Contains(md, "| 1 | 29 November 2026 |") {
		t.Errorf("the monthly report does not show one missed day, 29 November:\n%s", md)
	}
	if t.Failed() {
		t.FailNow()
	}

	// log verify: intact, then tampered copies of the local mirror.
	h.must(0, "log", "verify", "--job", "spse-db")
	recs := h.records()
	lines := strings.Split(strings.TrimRight(mustRead(t, h.log), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines, %d records", len(lines), len(recs))
	}
	// One copy with three tamperings far apart: record 3 edited, record 7
	// deleted, records 9 and 10 swapped. The repository copy (--job) is
	// what names the deleted record (the repository holds only the records
	// that concern it; seq 7 is one of them).
	ls := append([]string(nil), lines...)
	ls[2] = strings.Replace(ls[2], `"host":"`, `"host":"x`, 1)
	ls[8], ls[9] = ls[9], ls[8]
	ls = append(ls[:6], ls[7:]...)
	tampered := filepath.Join(h.dir, "tampered.jsonl")
	if err := os.WriteFile(tampered, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The copy is beside no signing key: the host's is named to trust.
	var key struct {
		Fingerprint string `json:"fingerprint"`
	}
	oneLine(t, "log key", h.must(0, "--json", "log", "key"), &key)
	out, errs, code := h.cad("--log-file", tampered, "--trust-key", key.Fingerprint, "log", "verify", "--job", "spse-db")
	for _, want := range []string{"local: altered: record " + recs[2].ID, "local: removed", recs[6].ID, "local: reordered", recs[8].ID} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("tampered local mirror: exit %d, want 1 and %q:\n%s%s", code, want, out, errs)
		}
	}

	// ... and tampered copies of the repository (by someone with the password).
	store := func(t *testing.T, dir string) *repo.Repository {
		be, err := local.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := repo.Open(context.Background(), be, []byte("rahasia-lpse"), repo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	type file struct {
		id  repo.ID
		env map[string]json.RawMessage
		rec map[string]any
	}
	bySeq := func(t *testing.T, r *repo.Repository) map[int]file {
		ctx := context.Background()
		out := map[int]file{}
		err := r.ListFiles(ctx, repo.RecordFile, func(id repo.ID) error {
			b, err := r.LoadFile(ctx, repo.RecordFile, id)
			if err != nil {
				return err
			}
			f := file{id: id}
			if err := json.Unmarshal(b, &f.env); err != nil {
				return err
			}
			if f.env["record"] == nil {
				return nil // a head
			}
			if err := json.Unmarshal(f.env["record"], &f.rec); err != nil {
				return err
			}
			out[int(f.rec["seq"].(float64))] = f
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	rewrite := func(t *testing.T, r *repo.Repository, f file, rehash bool) {
		ctx := context.Background()
		raw, _ := json.Marshal(f.rec)
		f.env["record"] = raw
		if rehash {
			s := sha256.Sum256(raw)
			f.env["hash"], _ = json.Marshal(hex.EncodeToString(s[:]))
		}
		b, _ := json.Marshal(f.env)
		if _, err := r.SaveFile(ctx, repo.RecordFile, b); err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveFile(ctx, repo.RecordFile, f.id); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(h.dir, "copy")
	if err := os.CopyFS(dir, os.DirFS(h.repoA)); err != nil {
		t.Fatal(err)
	}
	r := store(t, dir)
	fs := bySeq(t, r)
	edited, deleted, swapA, swapB := fs[3], fs[7], fs[9], fs[10]
	edited.rec["message"] = "semua baik-baik saja"
	rewrite(t, r, edited, false)
	if err := r.RemoveFile(context.Background(), repo.RecordFile, deleted.id); err != nil {
		t.Fatal(err)
	}
	swapA.rec["seq"], swapB.rec["seq"] = swapB.rec["seq"], swapA.rec["seq"]
	swapA.rec["prev"], swapB.rec["prev"] = swapB.rec["prev"], swapA.rec["prev"]
	rewrite(t, r, swapA, true)
	rewrite(t, r, swapB, true)
	out, errs, code = h.cad("log", "verify", "-r", dir, "--password-file", h.pw)
	for _, want := range []string{"repository: altered: record " + edited.rec["id"].(string), "repository: removed", deleted.rec["id"].(string),
		"repository: broken-link", swapB.rec["id"].(string)} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("tampered repository copy: exit %d, want 1 and %q:\n%s%s", code, want, out, errs)
		}
	}
}

// noEnglish fails unless doc has every phrase of want and none of en.
func noEnglish(t *testing.T, doc string, en, want []string) {
	t.Helper()
	for _, p := range en {
		if strings.Contains(doc, p) {
			t.Errorf("Indonesian document has the English %q:\n%s", p, doc)
		}
	}
	for _, p := range want {
		if !strings.Contains(doc, mdEscape(p)) && !strings.Contains(doc, p) {
			t.Errorf("Indonesian document lacks %q:\n%s", p, doc)
		}
	}
}

// mdEscape escapes s as the Markdown renderer does.
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// oneLine parses out as exactly one JSON value on one line into v.
func oneLine(t *testing.T, what, out string, v any) {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("%s --json: not one line:\n%s", what, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%s --json: %v: %s", what, err, out)
	}
}

// Every --json output of the SOP commands (and init) is one JSON value on
// one line; restore-test prints its record instead of the report.
func TestSOPJSONOneLine(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	var rec runlog.Record
	oneLine(t, "run", h.must(0, "--json", "run", "spse-db"), &rec)
	if rec.Op != runlog.OpBackup || rec.Result != runlog.OK {
		t.Fatalf("run --json: %+v", rec)
	}
	var js []map[string]any
	oneLine(t, "job list", h.must(0, "--json", "job", "list"), &js)
	var vr map[string]any
	oneLine(t, "log verify", h.must(0, "--json", "log", "verify"), &vr)
	var recs []runlog.Record
	oneLine(t, "log", h.must(0, "--json", "log"), &recs)
	var init map[string]any
	oneLine(t, "init", h.must(0, "--json", "init", "-r", filepath.Join(h.dir, "disk-c"), "--password-file", h.pw), &init)
	var st map[string]any
	oneLine(t, "status", h.must(0, "--json", "status"), &st)
	h.at("2026-11-27T04:00:00+08:00")
	var rt runlog.Record
	oneLine(t, "restore-test", h.must(0, "--json", "restore-test", "--job", "spse-db", "--seed", "99", "--sample", "2"), &rt)
	if rt.Op != runlog.OpRestoreTest || rt.Test == nil || rt.Test.Seed != 99 || rt.Note == nil || rt.Note.Code != "test-ok" {
		t.Fatalf("restore-test --json: %+v", rt)
	}
}

// A plain restore needs no configuration, and neither do its minutes: the
// run log's record is all they need.
func TestReportRestoreWithoutConfig(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	// nothing recorded yet: an error that says where it looked
	if _, errs := bare(1, "report", "restore", "latest"); !strings.Contains(errs, "no restore record") || !strings.Contains(errs, log) {
		t.Errorf("report restore with an empty run log: %s", errs)
	}
	bare(0, "backup", "-q", "-r", h.repoA, "--password-file", h.pw, h.src)
	target := filepath.Join(h.dir, "restored")
	bare(0, "restore", "-q", "-r", h.repoA, "--password-file", h.pw, "latest", "--target", target, "--verify",
		"--requested-by", "Andi Wijaya", "--reason", "penggantian hardware server")
	out, _ := bare(0, "report", "restore", "latest")
	noEnglish(t, out, []string{"read back after the restore", "restored to"},
		[]string{"Berita Acara Pelaksanaan Restore", "Andi Wijaya", "dicocokkan dengan snapshot", "di-restore ke " + target})
	out, _ = bare(0, "report", "restore-request", "latest")
	if !strings.Contains(out, "Andi Wijaya") {
		t.Errorf("restore request without configuration:\n%s", out)
	}

	// The server is gone: a replacement machine has a new, empty run log,
	// and the minutes come from the records kept in the repository.
	log = filepath.Join(h.dir, "replacement.jsonl")
	bare = bareCLI(t, log)
	if _, errs := bare(1, "report", "restore", "latest"); !strings.Contains(errs, "--repo") {
		t.Errorf("report restore on a new run log should point at --repo: %s", errs)
	}
	out, _ = bare(0, "-r", h.repoA, "--password-file", h.pw, "report", "restore", "latest")
	if !strings.Contains(out, "Andi Wijaya") || !strings.Contains(out, "di-restore ke "+target) {
		t.Errorf("restore minutes from the repository's records:\n%s", out)
	}
	// A repository that cannot be opened is a warning, not a failure of a
	// report the local log can make.
	log = filepath.Join(h.dir, "bare.jsonl")
	bare = bareCLI(t, log)
	_, errs := bare(0, "-r", filepath.Join(h.dir, "no-such-repo"), "--password-file", h.pw, "report", "restore", "latest")
	if !strings.Contains(errs, "not read") {
		t.Errorf("report with an unreadable --repo should warn: %s", errs)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
