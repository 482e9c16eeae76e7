package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIHelpAliasIsNotAnArgument: `cadang backup h` backed up nothing and
// exited 0 after printing the help (urfave's "help"/"h" subcommand of every
// command); a directory named h or help is a source like any other, and
// the snapshot commands take h as a snapshot name.
func TestCLIHelpAliasIsNotAnArgument(t *testing.T) {
	repoDir := cliNewRepo(t)
	work := t.TempDir()
	t.Chdir(work)
	for _, name := range []string{"h", "help"} {
		writeFileT(t, filepath.Join(work, name, "f.txt"), []byte("data in "+name), 0o644)
		res := cliOK(t, "-r", repoDir, "backup", "--tag", "dir-"+name, name)
		if strings.Contains(res.stdout, "USAGE") {
			t.Fatalf("backup %s printed the help:\n%s", name, res)
		}
		if snaps := cliSnapshots(t, repoDir, "--tag", "dir-"+name); len(snaps) != 1 {
			t.Fatalf("backup %s: %d snapshots, want 1", name, len(snaps))
		}
	}
	for _, args := range [][]string{{"restore", "h", "--target", t.TempDir()}, {"ls", "h"}, {"forget", "h"}, {"dump", "h", "/x"}} {
		res := cliRun(t, nil, append([]string{"-r", repoDir}, args...)...)
		if res.code == 0 || strings.Contains(res.stdout, "USAGE") || !strings.Contains(res.stderr, `snapshot "h"`) {
			t.Errorf("cadang %s: want an error about snapshot \"h\", got:\n%s", strings.Join(args, " "), res)
		}
	}
	// Help stays reachable.
	if res := cliOK(t, "help", "backup"); !strings.Contains(res.stdout, "backup") {
		t.Errorf("help backup:\n%s", res)
	}
	cliOK(t, "backup", "--help")
}

// TestCLIFlagRanges: every flag value is range-checked before anything is
// created, with an error that names the flag.
func TestCLIFlagRanges(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)

	for _, ps := range []string{"4100MiB", "4097MiB", "1KiB", "0"} {
		dir := filepath.Join(t.TempDir(), "new")
		res := cliRun(t, nil, "-r", dir, "init", "--pack-size", ps)
		if res.code == 0 || !strings.Contains(res.stderr, "--pack-size") {
			t.Errorf("init --pack-size %s: want an error naming --pack-size, got:\n%s", ps, res)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("init --pack-size %s was refused but left %s behind (%v)", ps, dir, err)
		}
		// The retry with a good value works in the same place.
		cliOK(t, "-r", dir, "init", "--pack-size", "8MiB")
	}

	for _, rc := range []string{"-1", "0", "100000"} {
		res := cliRun(t, nil, "-r", repoDir, "backup", "--read-concurrency", rc, src)
		if res.code != 1 || !strings.Contains(res.stderr, "--read-concurrency") {
			t.Errorf("backup --read-concurrency %s: want exit 1 naming the flag, got:\n%s", rc, res)
		}
	}
	for _, args := range [][]string{{"snapshots", "--tag", ""}, {"snapshots", "--tag", "a,,b"}, {"backup", "--tag", "", src}} {
		res := cliRun(t, nil, append([]string{"-r", repoDir}, args...)...)
		if res.code != 1 || !strings.Contains(res.stderr, "--tag") {
			t.Errorf("cadang %s: want exit 1 naming --tag, got:\n%s", strings.Join(args, " "), res)
		}
	}
	if n := len(cliSnapshots(t, repoDir)); n != 0 {
		t.Errorf("refused backups wrote %d snapshots", n)
	}
}

// TestCLITyposAndUsage (issue 15): a mistyped command names the nearest
// one, and a misspelt flag is one line naming it, the nearest real flag and
// the command's usage, not the whole help page.
func TestCLITyposAndUsage(t *testing.T) {
	repoDir := cliNewRepo(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bakup"}, []string{`unknown command "bakup"`, `did you mean "backup"`}},
		{[]string{"job", "lsit"}, []string{`unknown subcommand "lsit"`, `did you mean "list"`}},
		{[]string{"-r", repoDir, "backup", "--exclud", "x", "."}, []string{"-exclud", "did you mean --exclude?", "usage: cadang backup"}},
		{[]string{"--bogus", "snapshots"}, []string{"-bogus", "usage: cadang"}},
	} {
		res := cliRun(t, nil, tc.args...)
		out := res.stdout + res.stderr
		if res.code != 1 {
			t.Errorf("cadang %s: exit %d, want 1:\n%s", strings.Join(tc.args, " "), res.code, res)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("cadang %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, res)
			}
		}
		if strings.Contains(out, "GLOBAL OPTIONS") || strings.Contains(out, "No help topic") {
			t.Errorf("cadang %s printed a help page:\n%s", strings.Join(tc.args, " "), res)
		}
	}
}

// TestCLIBackupMissingPath (issue 15): one missing path among several no
// longer fails the whole backup: the others are backed up, the missing one
// is listed, and the exit code is 3, as for unreadable files. When no path
// exists the backup is refused.
func TestCLIBackupMissingPath(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("present"), 0o644)
	missing := filepath.Join(t.TempDir(), "gone")
	res := cliCode(t, 3, "-r", repoDir, "backup", src, missing)
	if !strings.Contains(res.stderr, missing) {
		t.Errorf("the missing path is not listed:\n%s", res)
	}
	snaps := cliSnapshots(t, repoDir)
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots, want 1", len(snaps))
	}
	cliOK(t, "-r", repoDir, "dump", "latest", filepath.Join(src, "a"))
	res = cliRun(t, nil, "-r", repoDir, "backup", missing)
	if res.code != 1 || !strings.Contains(res.stderr, missing) {
		t.Errorf("backup of only a missing path: want exit 1 naming it:\n%s", res)
	}
	if n := len(cliSnapshots(t, repoDir)); n != 1 {
		t.Errorf("a refused backup wrote a snapshot (%d)", n)
	}
}

// TestCLITimesHaveZones (issue 15): snapshots, ls, protect and key list
// printed bare times (in UTC on a server set to UTC); they carry the zone,
// local by default and UTC with --utc.
func TestCLITimesHaveZones(t *testing.T) {
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Skipf("no time zone data for Asia/Jakarta: %v", err)
	}
	old := time.Local
	time.Local = jkt
	t.Cleanup(func() { time.Local = old })
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)
	cliOK(t, "-r", repoDir, "backup", src)
	for _, args := range [][]string{{"snapshots"}, {"ls", "latest"}, {"key", "list"}} {
		local := cliOK(t, append([]string{"-r", repoDir}, args...)...).stdout
		utc := cliOK(t, append([]string{"-r", repoDir, "--utc"}, args...)...).stdout
		if !strings.Contains(local, " WIB") || strings.Contains(local, " UTC") {
			t.Errorf("cadang %s: want local times with their zone (WIB):\n%s", strings.Join(args, " "), local)
		}
		if !strings.Contains(utc, " UTC") || strings.Contains(utc, " WIB") {
			t.Errorf("cadang --utc %s: want UTC times marked UTC:\n%s", strings.Join(args, " "), utc)
		}
	}
}

// TestCLIJobFilter (issue 15): 'dump latest --tag db' found nothing for
// snapshots made by 'cadang run' (tagged job:NAME,source:NAME); --job NAME
// selects a job's snapshots, alone or with --tag.
func TestCLIJobFilter(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "a"), []byte("a"), 0o644)
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:spse-db,source:database", src)
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:spse-db,source:upload", src)
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:other", src)
	if n := len(cliSnapshots(t, repoDir, "--job", "spse-db")); n != 2 {
		t.Errorf("--job spse-db: %d snapshots, want 2", n)
	}
	sns := cliSnapshots(t, repoDir, "--job", "spse-db", "--tag", "source:database")
	if len(sns) != 1 {
		t.Fatalf("--job spse-db --tag source:database: %d snapshots, want 1", len(sns))
	}
	if got := cliOK(t, "-r", repoDir, "dump", "latest", "--job", "spse-db", "--tag", "source:database", filepath.Join(src, "a")).stdout; got != "a" {
		t.Errorf("dump latest --job: %q", got)
	}
	if res := cliRun(t, nil, "-r", repoDir, "snapshots", "--job", ""); res.code != 1 || !strings.Contains(res.stderr, "--job") {
		t.Errorf("--job \"\": want an error naming the flag:\n%s", res)
	}
	// 'restore latest --job' restored the newest of the job's snapshots,
	// one source's, and left the database out of a server's restore
	// without a word: latest of a job with several sources is refused,
	// naming each, and nothing is written.
	target := filepath.Join(t.TempDir(), "t")
	res := cliRun(t, nil, "-r", repoDir, "restore", "latest", "--job", "spse-db", "--target", target)
	if res.code != 1 || !strings.Contains(res.stderr, `snapshot "latest" of job spse-db is one of 2`) ||
		!strings.Contains(res.stderr, "database: ") || !strings.Contains(res.stderr, "upload: ") || !strings.Contains(res.stderr, "--tag source:NAME") {
		t.Errorf("restore latest --job over two sources:\n%s", res)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("the refused restore made its target: %v", err)
	}
	cliOK(t, "-r", repoDir, "restore", "latest", "--job", "spse-db", "--tag", "source:upload", "--target", target)
	// The same when the newest snapshot is a job's, without --job.
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:spse-db,source:database", src)
	res = cliRun(t, nil, "-r", repoDir, "restore", "latest", "--target", filepath.Join(t.TempDir(), "t"))
	if res.code != 1 || !strings.Contains(res.stderr, `snapshot "latest" of job spse-db is one of 2`) {
		t.Errorf("restore latest, the newest a job's:\n%s", res)
	}
}

// A restore of a path below one source's paths takes that source's latest
// snapshot of the job; the whole "latest" stays refused.
func TestCLIRestoreLatestOfJobSubpath(t *testing.T) {
	repoDir := cliNewRepo(t)
	db, up := t.TempDir(), t.TempDir()
	writeFileT(t, filepath.Join(db, "dump.sql"), []byte("COPY"), 0o644)
	writeFileT(t, filepath.Join(up, "2026", "a.pdf"), []byte("pdf"), 0o644)
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:spse-db,source:upload", up)
	cliOK(t, "-r", repoDir, "backup", "--tag", "job:spse-db,source:database", db)
	target := filepath.Join(t.TempDir(), "t")
	cliOK(t, "-r", repoDir, "restore", "latest:"+filepath.Join(up, "2026"), "--target", target)
	if b, err := os.ReadFile(filepath.Join(target, "a.pdf")); err != nil || string(b) != "pdf" {
		t.Errorf("the upload source's latest was not restored: %q %v", b, err)
	}
	res := cliRun(t, nil, "-r", repoDir, "restore", "latest", "--target", filepath.Join(t.TempDir(), "t"))
	if res.code != 1 || !strings.Contains(res.stderr, `snapshot "latest" of job spse-db is one of 2`) {
		t.Errorf("restore latest:\n%s", res)
	}
	// dump and ls take the source that holds their path; without one, ls
	// names each source's latest. dump -t leaves no empty file for a path
	// that is not there.
	if got := cliOK(t, "-r", repoDir, "dump", "latest", filepath.Join(db, "dump.sql")).stdout; got != "COPY" {
		t.Errorf("dump latest of the database source: %q", got)
	}
	if res := cliRun(t, nil, "-r", repoDir, "ls", "latest"); res.code != 1 || !strings.Contains(res.stderr, "is one of 2") {
		t.Errorf("ls latest:\n%s", res)
	}
	if out := cliOK(t, "-r", repoDir, "ls", "latest", up).stdout; !strings.Contains(out, "a.pdf") {
		t.Errorf("ls latest %s:\n%s", up, out)
	}
	empty := filepath.Join(t.TempDir(), "db.sql")
	if res := cliRun(t, nil, "-r", repoDir, "dump", "-t", empty, "--tag", "source:upload", "latest", "/nonexist.sql"); res.code != 1 || !strings.Contains(res.stderr, "not found in snapshot") {
		t.Errorf("dump of a path not there:\n%s", res)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("dump -t left %s: %v", empty, err)
	}
}
