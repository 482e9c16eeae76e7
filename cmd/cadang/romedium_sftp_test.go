package main

// A repository on an SFTP server whose file system is mounted read-only:
// read as a local medium mounted read-only is, without a lock, and its
// readers say the same one line about their records as on a local disk,
// with the server's own error as the detail. Skipped without the test
// server (scripts/test.sh), or where its directory is not on this machine.

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSFTPReadOnlyMediumReads(t *testing.T) {
	loc, fl := sftpTestRepo(t)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) []string { return append(append([]string{}, fl...), a...) }
	dir := t.TempDir()
	t.Setenv("CADANG_LOG", filepath.Join(dir, "runlog.jsonl"))
	src := filepath.Join(dir, "src")
	writeFileT(t, filepath.Join(src, "kontrak.txt"), []byte(strings.Repeat("kontrak pengadaan\n", 500)), 0o644)
	cliOK(t, args("-r", loc, "init")...)
	cliBackup(t, loc, src)
	if _, err := os.Stat(u.Path); err != nil {
		t.Skipf("the server's directory %s is not on this machine: %v", u.Path, err)
	}
	mountReadOnly(t, u.Path)

	target := filepath.Join(dir, "restored")
	res := cliRun(t, nil, args("-r", loc, "restore", "latest", "--target", target)...)
	note := "note: the repository " + loc + " is on a read-only file system, so it is read without a lock"
	want := "warning: the repository " + loc + " is read-only: this command's record ("
	if res.code != 0 || !strings.Contains(res.stderr, note) || !strings.Contains(res.stderr, want) {
		t.Fatalf("restore from an SFTP server's read-only file system: want exit 0, the note and the record's warning\n%s", res)
	}
	var line string
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.HasPrefix(l, want) {
			line = l
		}
	}
	if !strings.Contains(line, ") stays in the local run log and is copied there by the next command that can write there (") ||
		!strings.HasSuffix(line, `(sftp: "Failure" (SSH_FX_FAILURE))`) || strings.Contains(res.stderr, "records/") {
		t.Errorf("the warning is not the local disk's line with the server's error after it:\n%s", line)
	}
	// Its note says read-only, so that status does not warn of it.
	if p := mustRead(t, filepath.Join(dir, "runlog.pending")); !strings.Contains(p, `"read_only":true`) {
		t.Errorf("the note of the record not copied does not say read-only:\n%s", p)
	}
	if got := mustRead(t, filepath.Join(target, src, "kontrak.txt")); got != strings.Repeat("kontrak pengadaan\n", 500) {
		t.Errorf("restored kontrak.txt differs (%d bytes)", len(got))
	}
}
