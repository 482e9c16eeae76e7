package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestRestoreTestAndStatusWithoutConfig: an administrator with one
// repository and no job file gets the SOP's restore test and status for
// that repository (issue 15; both refused with "no configuration file").
// The test is recorded in the run log the command uses, which it names.
func TestRestoreTestAndStatusWithoutConfig(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	// Without -r there is nothing to test: say how to name one.
	if _, errs := bare(1, "restore-test"); !strings.Contains(errs, "no configuration file") || !strings.Contains(errs, "-r REPOSITORY") {
		t.Errorf("restore-test without configuration or -r: %s", errs)
	}
	if _, errs := bare(3, "status"); !strings.Contains(errs, "-r REPOSITORY") {
		t.Errorf("status without configuration or -r: %s", errs)
	}

	bare(0, append(repoArgs, "backup", "-q", h.src)...)
	bare(0, append(repoArgs, "backup", "-q", h.extra)...)
	out, errs := bare(0, append(repoArgs, "restore-test", "--sample", "3")...)
	if !strings.Contains(errs, "recorded in the run log "+log) || !strings.Contains(out, "restore") {
		t.Errorf("restore-test of a repository:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	var recs []runlog.Record
	js, _ := bare(0, "log", "--json")
	if err := json.Unmarshal([]byte(js), &recs); err != nil {
		t.Fatal(err)
	}
	rt := recs[len(recs)-1]
	if rt.Op != runlog.OpRestoreTest || rt.Result != runlog.OK || rt.RepositoryID == "" || rt.Test == nil || len(rt.Test.Items) != 3 {
		t.Fatalf("restore test record %+v", rt)
	}

	out, _ = bare(0, append(repoArgs, "status")...)
	if !strings.Contains(out, h.repoA) {
		t.Errorf("status of a repository:\n%s", out)
	}
	out, _ = bare(0, append(repoArgs, "status", "--format", "nagios")...)
	if !strings.HasPrefix(out, "CADANG OK") {
		t.Errorf("nagios: %s", out)
	}
	// Two days later nothing was backed up: critical; the restore test
	// is not yet due.
	t.Setenv(envNow, time.Now().Add(50*time.Hour).Format(time.RFC3339))
	out, _ = bare(2, append(repoArgs, "status", "--json")...)
	var rep struct {
		Jobs []struct {
			LastRestoreTest time.Time `json:"last_restore_test"`
			RestoreTestDue  time.Time `json:"restore_test_due"`
			Problems        []struct {
				What string `json:"what"`
			} `json:"problems"`
		} `json:"jobs"`
		Exit int `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Jobs) != 1 || rep.Exit != 2 || rep.Jobs[0].Problems[0].What != "backup-overdue" ||
		rep.Jobs[0].LastRestoreTest.IsZero() || rep.Jobs[0].RestoreTestDue.Sub(rep.Jobs[0].LastRestoreTest) != 90*24*time.Hour {
		t.Errorf("status two days on: %v\n%s", err, out)
	}
}

// bareCLI returns a runner of cadang with no configuration file and the
// run log at log, failing t unless a command exits with want.
func bareCLI(t *testing.T, log string) func(want int, args ...string) (stdout, stderr string) {
	return func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"cadang", "--log-file", log}, args...), strings.NewReader(""), &out, &errb)
		if code != want {
			t.Fatalf("cadang %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
}

// TestRestoreTestWithoutConfigSamplesEverySource: a new administrator on
// a fresh host with only a rotation medium runs 'cadang -r REPO
// restore-test'. The job spse-prod backed up, several times, the uploaded
// documents (many files) and the database dump (one file a snapshot, from
// a command). Every file of every snapshot was one pool, so the dump was
// almost never drawn; now each source the tags name is sampled, whatever
// the seed, and the report's source column names it instead of
// "repository". A snapshot without tags is a source of its paths.
func TestRestoreTestWithoutConfigSamplesEverySource(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	uploads := filepath.Join(h.dir, "file_upload")
	for i := 0; i < 120; i++ {
		p := filepath.Join(uploads, fmt.Sprintf("%03d", i/20), fmt.Sprintf("dok-%03d.pdf", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("dokumen %d\n", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tags := func(src string) []string { return []string{"--tag", "job:spse-prod", "--tag", "source:" + src} }
	for day := 0; day < 3; day++ {
		bare(0, append(append(repoArgs, "backup", "-q"), append(tags("upload"), uploads)...)...)
		bare(0, append(append(repoArgs, "backup", "-q", "--stdin-from-command", "--stdin-filename", "epns_prod.dump"),
			append(tags("database"), "--", "sh", "-c", fmt.Sprintf("echo PGDMP hari %d", day))...)...)
	}
	bare(0, append(repoArgs, "backup", "-q", h.extra)...)
	for seed := 1; seed <= 10; seed++ {
		out, _ := bare(0, append(repoArgs, "--json", "restore-test", "--seed", fmt.Sprint(seed))...)
		var rec runlog.Record
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		files := map[string]bool{}
		for _, it := range rec.Test.Items {
			files[it.Path] = true
		}
		sources := map[string]int{}
		for _, s := range rec.Test.Snapshots {
			sources[s.Source]++
		}
		if !files["/epns_prod.dump"] || !files[filepath.Join(h.extra, "catatan.txt")] || len(rec.Test.Items) != 20 {
			t.Errorf("seed %d: the dump (%v) or the untagged snapshot is not tested: %d files", seed, files["/epns_prod.dump"], len(rec.Test.Items))
		}
		if sources["database (spse-prod)"] != 3 || sources["upload (spse-prod)"] != 3 || sources[h.extra] != 1 || len(sources) != 3 {
			t.Errorf("seed %d: snapshots by source %v", seed, sources)
		}
		// Every snapshot drawn is restored, and counted by the note.
		if fmt.Sprint(rec.Note.Args[1]) != fmt.Sprint(len(rec.Test.Snapshots)) {
			t.Errorf("seed %d: note %+v for %d snapshots", seed, rec.Note, len(rec.Test.Snapshots))
		}
		if seed == 1 {
			// The same seed draws the same sample.
			again, _ := bare(0, append(repoArgs, "--json", "restore-test", "--seed", "1")...)
			var rec2 runlog.Record
			if err := json.Unmarshal([]byte(again), &rec2); err != nil || !reflect.DeepEqual(rec.Test.Items, rec2.Test.Items) {
				t.Errorf("seed 1 drew another sample: %v\n%+v\n%+v", err, rec.Test.Items, rec2.Test.Items)
			}
		}
	}
	for _, lang := range []string{"id", "en"} {
		doc := filepath.Join(h.dir, "uji-"+lang+".md")
		bare(0, append(repoArgs, "restore-test", "--seed", "4", "--lang", lang, "--output", doc)...)
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		md := string(b)
		for _, want := range []string{"| database (spse-prod) |", "| upload (spse-prod) |", "| " + h.extra + " |", "/epns_prod.dump"} {
			if !strings.Contains(md, want) {
				t.Errorf("%s: the document lacks %q:\n%s", lang, want, md)
			}
		}
		if strings.Contains(md, "| repository |") {
			t.Errorf("%s: the source column says repository:\n%s", lang, md)
		}
	}
}

// TestRestoreTestWithoutConfigJobAndLanguage: the restore test of a
// repository whose snapshots are all tagged job:spse-prod, with --lang id
// and --snapshots 1, prints its line in Indonesian only (it mixed "restore
// test ... of ...", "recorded in the run log" with the Indonesian note),
// says why three snapshots were tested for --snapshots 1 (one per source,
// the newest always), and its document names the job the tags say, not
// "Job: -"; in English the same, in English.
func TestRestoreTestWithoutConfigJobAndLanguage(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	for _, src := range []string{"upload", "extra", "database"} {
		dir := h.src
		if src == "extra" {
			dir = h.extra
		}
		if src == "database" {
			bare(0, append(repoArgs, "backup", "-q", "--tag", "job:spse-prod", "--tag", "source:database", "--stdin-from-command",
				"--stdin-filename", "epns_prod.dump", "--", "sh", "-c", "echo PGDMP")...)
			continue
		}
		bare(0, append(repoArgs, "backup", "-q", "--tag", "job:spse-prod", "--tag", "source:"+src, dir)...)
	}
	for _, lang := range []string{"id", "en"} {
		doc := filepath.Join(h.dir, "uji-"+lang+".md")
		_, errs := bare(0, append(repoArgs, "restore-test", "--snapshots", "1", "--lang", lang, "--output", doc)...)
		line := strings.TrimSpace(errs)
		want, unwanted := []string{"uji restore ", " atas ", "Berhasil", "dicatat di log " + log, "3 sumber", "snapshot terbaru"}, []string{"restore test", " of ", "recorded in the run log", "restored and verified"}
		if lang == "en" {
			want, unwanted = []string{"restore test ", " of ", ": ok: ", "recorded in the run log " + log, "3 sources", "newest snapshot"}, []string{"uji restore", "dicatat", "berkas"}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: the terminal lacks %q:\n%s", lang, w, line)
			}
		}
		for _, w := range unwanted {
			if strings.Contains(line, w) {
				t.Errorf("%s: the terminal says %q in the other language:\n%s", lang, w, line)
			}
		}
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		md := string(b)
		for _, w := range []string{"- **Job:** spse-prod\n", map[string]string{"id": "snapshot terbaru dari setiap sumber (3 sumber)", "en": "newest snapshot of each source (3 sources)"}[lang]} {
			if !strings.Contains(md, w) {
				t.Errorf("%s: the document lacks %q:\n%s", lang, w, md)
			}
		}
	}
}
