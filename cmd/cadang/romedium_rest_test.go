package main

// A repository behind a REST server that lets this user read but not
// write (403 to every upload): read as a local medium mounted read-only
// is, without a lock, and its readers say the same one line about their
// records, with the server's answer as the detail.

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lpse/cadang/repo/backend/rest/server"
)

func TestRESTReadOnlyMediumReads(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	t.Setenv("CADANG_REST_CACERT", "")
	dir := t.TempDir()
	t.Setenv("CADANG_LOG", filepath.Join(dir, "runlog.jsonl"))
	s, err := server.New(server.Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var readOnly atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readOnly.Load() && r.Method == http.MethodPost {
			http.Error(w, "this account may read only", http.StatusForbidden)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	loc := "rest:" + srv.URL + "/spse"
	src := filepath.Join(dir, "src")
	writeFileT(t, filepath.Join(src, "kontrak.txt"), []byte(strings.Repeat("kontrak pengadaan\n", 500)), 0o644)
	cliOK(t, "-r", loc, "init")
	cliBackup(t, loc, src)
	readOnly.Store(true)

	res := cliRun(t, nil, "-r", loc, "restore", "latest", "--target", filepath.Join(dir, "restored"))
	if note := "note: the repository " + loc + " refuses this user's writes, so it is read without a lock"; !strings.Contains(res.stderr, note) {
		t.Errorf("restore from a REST server that refuses writes: want the note\n%s\n%s", note, res)
	}
	want := "warning: the repository " + loc + " is read-only: this command's record ("
	var line string
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.HasPrefix(l, want) {
			line = l
		}
	}
	if res.code != 0 || !strings.Contains(line, ") stays in the local run log and is copied there by the next command that can write there (server answered 403 Forbidden: this account may read only)") ||
		strings.Contains(res.stderr, "records/") {
		t.Fatalf("restore from a REST server that refuses writes: want exit 0 and the record's read-only line with the server's answer\n%s", res)
	}
	if got := mustRead(t, filepath.Join(dir, "restored", src, "kontrak.txt")); got != strings.Repeat("kontrak pengadaan\n", 500) {
		t.Errorf("restored kontrak.txt differs (%d bytes)", len(got))
	}
	// A writer fails, saying why.
	res = cliRun(t, nil, "-r", loc, "backup", src)
	if res.code != exitFatal || !strings.Contains(res.stderr, "repository "+loc+" refuses writes (read-only storage)") ||
		!strings.Contains(res.stderr, "\nhint: the server lets this user read but not write") {
		t.Errorf("backup onto a REST server that refuses writes: want exit %d saying it refuses writes\n%s", exitFatal, res)
	}
	if p := mustRead(t, filepath.Join(dir, "runlog.pending")); !strings.Contains(p, `"read_only":true`) {
		t.Errorf("the note of the record not copied does not say read-only:\n%s", p)
	}
}
