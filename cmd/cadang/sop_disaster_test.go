package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// The README walked in a disaster: the server is lost, a fresh host has
// no configuration and an empty run log, only a rotation medium and the
// password. Job spse-prod has two sources on that medium: the uploaded
// documents and a database dump (stdin from a command).

// disasterHost is a fresh host's cadang over a medium made by the lost
// server: snapshots tagged as `cadang run` tags them.
type disasterHost struct {
	h       *sopHarness
	bare    func(want int, args ...string) (string, string)
	repo    []string // -r MEDIUM --password-file PW
	log     string
	upload  string // snapshot IDs
	dump    string
	dumpSrc string
}

func newDisasterHost(t *testing.T) *disasterHost {
	h := newSOPHarness(t)
	d := &disasterHost{h: h, log: filepath.Join(h.dir, "fresh.jsonl")}
	d.bare = bareCLI(t, d.log)
	d.repo = []string{"-r", h.repoA, "--password-file", h.pw}
	out, _ := d.bare(0, append(d.repo, "backup", "--json", "-q", "--tag", "job:spse-prod", "--tag", "source:upload", h.src)...)
	d.upload = snapshotIDOf(t, out)
	out, _ = d.bare(0, append(d.repo, "backup", "--json", "-q", "--tag", "job:spse-prod", "--tag", "source:database",
		"--stdin-from-command", "--stdin-filename", "epns_prod.dump", "--", "sh", "-c", "printf 'PGDMP dump of epns_prod'")...)
	d.dump = snapshotIDOf(t, out)
	return d
}

func snapshotIDOf(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["snapshot_id"] != nil {
			return m["snapshot_id"].(string)
		}
	}
	t.Fatalf("no snapshot_id in %s", out)
	return ""
}

// TestReportLatestRestoreSkipsAttemptsThatNeverOpened: a restore to a
// mistyped repository path (exit 10) and one with a wrong password (exit
// 12) are recorded as failures, but `report restore latest` still gives
// the minutes of the good restore before them, and says on stderr which
// one it picked and which later attempts failed before opening the
// repository. An explicit RUN_ID still gives the minutes of any attempt.
func TestReportLatestRestoreSkipsAttemptsThatNeverOpened(t *testing.T) {
	d := newDisasterHost(t)
	target := filepath.Join(d.h.dir, "restore")
	d.bare(0, append(d.repo, "restore", d.upload[:8], "--target", target, "--requested-by", "Andi", "--reason", "server hilang", "--request-id", "REQ-1")...)
	typo := filepath.Join(filepath.Dir(d.h.repoA), "disk-aa")
	d.bare(10, "-r", typo, "--password-file", d.h.pw, "restore", d.dump[:8], "--target", target)
	wrong := filepath.Join(d.h.dir, "wrong.pw")
	if err := os.WriteFile(wrong, []byte("salah\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.bare(12, "-r", d.h.repoA, "--password-file", wrong, "restore", d.dump[:8], "--target", target)
	recs := d.records(t)
	if n := len(recs); n < 3 || recs[n-1].Failure != runlog.KindWrongPassword || recs[n-2].Result != runlog.Failed {
		t.Fatalf("the failed attempts are not recorded as failures: %+v", recs)
	}
	good, typoRec, wrongRec := recs[len(recs)-3], recs[len(recs)-2], recs[len(recs)-1]
	out, errs := d.bare(0, "report", "restore", "latest")
	if !strings.Contains(out, good.ID) || !strings.Contains(out, "REQ-1") || strings.Contains(out, wrongRec.ID) {
		t.Errorf("report restore latest is not of the good restore %s:\n%s", good.ID, out)
	}
	for _, want := range []string{good.ID, typoRec.ID, wrongRec.ID, "failed before opening the repository"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	out, _ = d.bare(0, "report", "restore", wrongRec.ID)
	if !strings.Contains(out, wrongRec.ID) {
		t.Errorf("report restore %s is not of that attempt:\n%s", wrongRec.ID, out)
	}
}

// TestReportLatestRestoreNamesTheOtherSource: a request that covers both
// sources of the job takes two restores; the minutes of the latest say
// the job (from the snapshot's tag, the record having none), the medium
// as typed, and stderr names the other restore of the request.
func TestReportLatestRestoreNamesTheOtherSource(t *testing.T) {
	d := newDisasterHost(t)
	target := filepath.Join(d.h.dir, "restore")
	req := []string{"--requested-by", "Andi", "--reason", "server hilang", "--request-id", "REQ-2"}
	d.bare(0, append(append(d.repo, "restore", d.upload[:8], "--target", target), req...)...)
	d.bare(0, append(append(d.repo, "restore", d.dump[:8], "--target", target), req...)...)
	recs := d.records(t)
	first, last := recs[len(recs)-2], recs[len(recs)-1]
	out, errs := d.bare(0, "report", "restore", "latest", "--lang", "en")
	if !strings.Contains(errs, first.ID) || !strings.Contains(errs, "minutes of their own") {
		t.Errorf("stderr does not name the other restore %s of the request:\n%s", first.ID, errs)
	}
	for _, want := range []string{last.ID, "**Job:** spse-prod", d.h.repoA + " (ID " + last.RepositoryID[:8] + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("minutes lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, last.RepositoryID) {
		t.Errorf("minutes show the whole repository ID rather than the medium as typed:\n%s", out)
	}
}

func (d *disasterHost) records(t *testing.T) []runlog.Record {
	t.Helper()
	js, _ := d.bare(0, "log", "--json")
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(js), &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestResumedRestoreRecord: a restore rerun with --overwrite if-changed
// after an interrupted one counts the files it found complete as part of
// the restore and names the interrupted run, and a relative --target is
// recorded as the absolute path it named.
func TestResumedRestoreRecord(t *testing.T) {
	d := newDisasterHost(t)
	t.Chdir(d.h.dir)
	d.bare(0, append(d.repo, "restore", d.upload[:8], "--target", "pulih")...)
	recs := d.records(t)
	full := recs[len(recs)-1]
	abs := filepath.Join(d.h.dir, "pulih")
	if full.Restore == nil || full.Restore.Target != abs {
		t.Fatalf("relative --target recorded as %+v, want %s", full.Restore, abs)
	}
	// What an interrupt leaves: some files complete, the rest missing;
	// and its record, as the interrupted restore writes it.
	var files []string
	filepath.WalkDir(abs, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 3 {
		t.Fatalf("restored files %v", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	interrupted := full
	interrupted.ID, interrupted.Result, interrupted.Failure = "", runlog.Failed, runlog.KindInterrupted
	interrupted.FilesRead, interrupted.Note = 2, runlog.NewNote("restore-interrupted", d.upload[:8], abs, int64(2))
	interrupted.Chain, interrupted.Seq, interrupted.Prev, interrupted.Signer = "", 0, "", ""
	l := runlog.Open(d.log, runlog.Options{})
	written, err := l.Append(context.Background(), interrupted, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.bare(0, append(d.repo, "restore", d.upload[:8], "--target", "pulih", "--overwrite", "if-changed")...)
	recs = d.records(t)
	rerun := recs[len(recs)-1]
	if rerun.FilesRead != 1 || rerun.Restore.FilesAlready != 2 || rerun.Restore.Resumes != written.ID {
		t.Errorf("the rerun's record: %d files written, %d already there, resumes %q (want 1, 2, %s)",
			rerun.FilesRead, rerun.Restore.FilesAlready, rerun.Restore.Resumes, written.ID)
	}
	out, _ := d.bare(0, "report", "restore", rerun.ID, "--lang", "en")
	for _, want := range []string{"3 files (1 written, 2 already in the target", "Completes restore:** " + written.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("minutes lack %q:\n%s", want, out)
		}
	}
}
