package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// addJob appends a second job, spse-config, that backs up to the same
// disk-A with the same password file as spse-db (as the two jobs of a
// README walk did), and returns the line of its password_file key.
func (h *sopHarness) addJob(t *testing.T) int {
	t.Helper()
	cfg := mustRead(t, h.cfg)
	id := cfgValue(t, cfg, "repository_id")
	cfg += fmt.Sprintf(`
[[job]]
name = "spse-config"
info_class = 6
classification = "rahasia"
active_since = 2026-11-27
  [[job.source]]
  name = "config"
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
`, h.extra, h.repoA, id, h.pw)
	writeFileT(t, h.cfg, []byte(cfg), 0o600)
	return strings.Count(cfg[:strings.LastIndex(cfg, "password_file")], "\n") + 1
}

// cfgValue is the first string value of key in a configuration's text.
func cfgValue(t *testing.T, cfg, key string) string {
	t.Helper()
	for _, l := range strings.Split(cfg, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatalf("no %s in the configuration", key)
	return ""
}

// A wrong password in a password file two jobs share names the key and
// line of the job that ran, not of the first job naming that file (a
// README walk: spse-config's failure pointed at spse-prod's line 55).
func TestRunWrongPasswordNamesTheJobsKey(t *testing.T) {
	h := newSOPHarness(t)
	line := h.addJob(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-config")
	if err := os.WriteFile(h.pw, []byte("salah\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := h.cad("run", "spse-config")
	if code != exitWrongPassword {
		t.Fatalf("run with a wrong password: exit %d\n%s", code, errs)
	}
	want := fmt.Sprintf("%s:%d key job[1].medium[0].password_file", h.cfg, line)
	if !strings.Contains(errs, want) {
		t.Errorf("run's error lacks %q:\n%s", want, errs)
	}
	r := h.last()
	if r.Job != "spse-config" || r.Failure != runlog.KindWrongPassword || !strings.Contains(r.Message, want) {
		t.Errorf("its record does not name %q: %+v", want, r)
	}
	if strings.Contains(errs+r.Message, "job[0]") {
		t.Errorf("spse-config's failure names job[0]'s key:\n%s\n%s", errs, r.Message)
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory and returns
// it; it is unmounted when the test ends. The test is skipped where mount
// is not permitted (not root, or in a container without the capability).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs for a full medium (%v): run as root to test it", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A backup medium that fills up is said to be the medium, with its name
// and path and what to do, not as a failure of the source whose data did
// not fit (a README walk: "Source database failed: ... no space left on
// device", no hint, "Sumber database gagal" in the failure report).
func TestRunFullMedium(t *testing.T) {
	h := newSOPHarness(t)
	disk := filepath.Join(mountTmpfs(t, 2<<20), "cadang")
	id := h.initRepo(disk)
	cfg := mustRead(t, h.cfg)
	cfg = strings.Replace(cfg, fmt.Sprintf("repository = %q", h.repoA), fmt.Sprintf("repository = %q", disk), 1)
	cfg = strings.Replace(cfg, fmt.Sprintf("repository_id = %q", cfgValue(t, cfg, "repository_id")), fmt.Sprintf("repository_id = %q", id), 1)
	writeFileT(t, h.cfg, []byte(cfg), 0o600)
	// Incompressible data that does not fit the 2 MiB disk.
	big := make([]byte, 4<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(h.src, "arsip.bin"), big, 0o600)

	h.at("2026-11-27T02:00:00+08:00")
	out, errs, code := h.cad("run", "spse-db")
	if code != 1 {
		t.Fatalf("run onto a full medium: exit %d\n%s\n%s", code, out, errs)
	}
	said := fmt.Sprintf("backup medium disk-A (%s) is full", disk)
	if !strings.Contains(out, "Source upload was not saved: "+said) || !strings.Contains(errs, "Source upload was not saved: "+said) {
		t.Errorf("the run does not say the medium is full:\n%s\n%s", out, errs)
	}
	if !strings.Contains(errs, "\nhint: "+said+": remove snapshots from it with 'cadang forget -r "+disk) || !strings.Contains(errs, "'cadang prune -r "+disk+"' twice") {
		t.Errorf("no hint on freeing the medium:\n%s", errs)
	}
	if strings.Contains(out+errs, "Source upload failed") {
		t.Errorf("a full medium is said as the source's failure:\n%s\n%s", out, errs)
	}
	r := h.last()
	if r.Result != runlog.Failed || r.Failure != runlog.KindOutOfSpace || r.Note == nil || r.Note.Code != "source-medium-full" ||
		!strings.Contains(r.Message, "no space left on device") {
		t.Fatalf("its record: %+v", r)
	}
	for _, c := range []struct{ lang, want, not string }{
		{"en", "Source upload was not saved: " + said, "Source upload failed"},
		{"id", fmt.Sprintf("Sumber upload tidak tersimpan: media backup disk-A (%s) penuh", disk), "Sumber upload gagal"},
	} {
		rep := h.must(0, "report", "failure", r.ID, "--lang", c.lang, "--format", "md")
		if !strings.Contains(rep, mdEscape(c.want)) || strings.Contains(rep, c.not) {
			t.Errorf("failure report (%s) lacks %q or says %q:\n%s", c.lang, c.want, c.not, rep)
		}
	}
}

// A medium whose disk is not connected gets a hint that says first to
// connect and mount it and check the path, and names cadang init only for
// a brand-new disk: a README walk's hint suggested init first, which on a
// rotation disk that is merely not mounted makes a new, empty repository
// in the mount point's directory.
func TestRunMissingMediumHintMountFirst(t *testing.T) {
	h := newSOPHarness(t)
	if err := os.Rename(h.repoA, h.repoA+".away"); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-27T02:00:00+08:00")
	_, errs, code := h.cad("run", "spse-db")
	if code != 1 {
		t.Fatalf("run without its medium: exit %d\n%s", code, errs)
	}
	_, hint, ok := strings.Cut(errs, "\nhint: ")
	if !ok {
		t.Fatalf("no hint:\n%s", errs)
	}
	mount, init := strings.Index(hint, "connect and mount"), strings.Index(hint, "'cadang init'")
	if mount != 0 || init < 0 || !strings.Contains(hint[:init], "only for a brand-new, empty disk") ||
		!strings.Contains(hint, "merely not mounted") {
		t.Errorf("the hint does not put connecting the disk first and init only for a new disk:\n%s", hint)
	}
	if _, err := os.Stat(h.repoA); err == nil {
		t.Errorf("the run made something at the missing medium's path %s", h.repoA)
	}
	// The plain commands say the same.
	_, errs, _ = h.cad("snapshots", "-r", h.repoA, "--password-file", h.pw)
	if !strings.Contains(errs, "hint: connect and mount the backup medium's disk") {
		t.Errorf("snapshots of a missing repository:\n%s", errs)
	}
}

// A failed dump says no snapshot of that source was saved, and which of
// the job's sources were saved and which not: a README walk's run said
// "no snapshot was saved" while its upload source had been saved.
func TestRunFailedDumpSaysWhichSourcesWereSaved(t *testing.T) {
	h := newSOPHarness(t)
	if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.at("2026-11-30T02:00:00+08:00")
	out, errs, code := h.cad("run", "spse-db")
	if code != 1 {
		t.Fatalf("run with a failing dump: exit %d\n%s\n%s", code, out, errs)
	}
	r := h.last()
	if len(r.Sources) != 2 || r.Sources[0].Snapshot != "" || r.Sources[1].Name != "upload" || len(r.Sources[1].Snapshot) < 8 {
		t.Fatalf("the record's sources: %+v", r.Sources)
	}
	saved := "upload (snapshot " + r.Sources[1].Snapshot[:8] + ")"
	for _, w := range []string{"no snapshot of this source was saved", "; sources saved: " + saved + "; not saved: database"} {
		if !strings.Contains(out, w) || !strings.Contains(errs, w) {
			t.Errorf("the run does not say %q:\n%s\n%s", w, out, errs)
		}
	}
	if strings.Contains(out+errs, "; no snapshot was saved") {
		t.Errorf("the run says no snapshot was saved:\n%s\n%s", out, errs)
	}
	id := h.must(0, "report", "failure", r.ID, "--lang", "id", "--format", "md")
	for _, w := range []string{"tidak ada snapshot sumber ini yang disimpan", "; sumber yang tersimpan: " + saved + "; yang tidak tersimpan: database"} {
		if !strings.Contains(id, mdEscape(w)) {
			t.Errorf("the Indonesian failure report lacks %q:\n%s", w, id)
		}
	}
}

// log verify --job names the medium whose copy it verified, and its
// path: the media of a job share a mount point, and a README walk's
// summary ("repository copy: 88 records, 74 heads") did not say which
// disk was there.
func TestLogVerifyNamesTheMedium(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-11-27T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "verify", "--job", "spse-db"}, "repository copy on medium disk-A (" + h.repoA + "): "},
		{[]string{"--lang", "id", "log", "verify", "--job", "spse-db"}, "salinan repositori pada media disk-A (" + h.repoA + "): "},
		// -r of a medium's path finds the medium; a repository that is no
		// job's medium is named by its path.
		{[]string{"log", "verify", "-r", h.repoA, "--password-file", h.pw}, "repository copy on medium disk-A (" + h.repoA + "): "},
		{[]string{"log", "verify", "-r", h.repoB, "--password-file", h.pw}, "repository copy at " + h.repoB + ": "},
	} {
		if out := h.must(0, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("cadang %s lacks %q:\n%s", strings.Join(c.args, " "), c.want, out)
		}
	}
}

// job schedule install --dir into a directory that does not exist says
// so, naming the directory and the flag, and writes nothing (a README
// walk got "open .../cadang-backup-spse-prod.service.cadang-tmp: no such
// file or directory"). It does not create the directory: systemd reads
// units only from its own, existing directories, so a missing one is a
// mistyped path.
func TestScheduleInstallMissingDir(t *testing.T) {
	h := newSOPHarness(t)
	dir := filepath.Join(t.TempDir(), "systemd", "sytem")
	_, errs, code := h.cad("job", "schedule", "install", "--dir", dir, "--no-enable", "spse-db")
	if code != 1 || !strings.Contains(errs, "--dir "+dir+" does not exist") || strings.Contains(errs, "cadang-tmp") {
		t.Errorf("install into a missing directory: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("install created %s", dir)
	}
	file := filepath.Join(t.TempDir(), "units")
	writeFileT(t, file, nil, 0o600)
	if _, errs, code = h.cad("job", "schedule", "install", "--dir", file, "--no-enable", "spse-db"); code != 1 || !strings.Contains(errs, "--dir "+file+" is not a directory") {
		t.Errorf("install into a file: exit %d\n%s", code, errs)
	}
}
