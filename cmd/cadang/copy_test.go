package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// cliRunCopy runs the CLI in-process like cliRun, with the copy command
// registered if commands() does not list it yet.
func cliRunCopy(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	app := newApp(strings.NewReader(""), &out, &errb)
	has := false
	for _, c := range app.Commands {
		has = has || c.Name == "copy"
	}
	if !has {
		app.Commands = append(app.Commands, copyCommand())
	}
	err := app.RunContext(ctx, reorderArgs(app, append([]string{"cadang"}, args...)))
	code := 0
	if err != nil {
		code = 1
		errb.WriteString(err.Error())
	}
	res := cliResult{args: args, code: code, stdout: out.String(), stderr: errb.String()}
	if code != 0 {
		t.Fatalf("unexpected failure:\n%s", res)
	}
	return res
}

func openForTest(t *testing.T, dir, pw string) *repo.Repository {
	t.Helper()
	be, err := local.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, []byte(pw), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type copyJSON struct {
	MessageType string `json:"message_type"`
	Copied      int    `json:"copied"`
	Skipped     int    `json:"skipped"`
	DataBlobs   int    `json:"data_blobs"`
	TreeBlobs   int    `json:"tree_blobs"`
	Bytes       int64  `json:"bytes"`
	Snapshots   []struct {
		Source  string `json:"source"`
		Dest    string `json:"dest"`
		Skipped bool   `json:"skipped"`
	} `json:"snapshots"`
}

func TestCLICopy(t *testing.T) {
	const srcPW, dstPW = "source password", "destination password"
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	t.Setenv("CADANG_FROM_REPOSITORY", "")
	dir := t.TempDir()
	srcRepo, dstRepo, otherRepo := filepath.Join(dir, "src-repo"), filepath.Join(dir, "dst-repo"), filepath.Join(dir, "other-repo")

	t.Setenv("CADANG_PASSWORD", srcPW)
	cliOK(t, "-r", srcRepo, "init", "--chunk-min", "64K", "--chunk-avg", "128K", "--chunk-max", "1M")

	// init --copy-chunker-params: the source password from a file, then
	// from CADANG_FROM_PASSWORD.
	t.Setenv("CADANG_PASSWORD", dstPW)
	pwFile := filepath.Join(dir, "from-pw")
	if err := os.WriteFile(pwFile, []byte(srcPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cliOK(t, "-r", dstRepo, "init", "--copy-chunker-params", "--from-repo", srcRepo, "--from-password-file", pwFile)
	t.Setenv("CADANG_FROM_PASSWORD", srcPW)
	cliOK(t, "-r", otherRepo, "init", "--copy-chunker-params", "--from-repo", srcRepo)
	t.Setenv("CADANG_FROM_PASSWORD", "wrong")
	if res := cliRun(t, nil, "-r", filepath.Join(dir, "x"), "init", "--copy-chunker-params", "--from-repo", srcRepo); res.code == 0 {
		t.Errorf("init with a wrong source password succeeded:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a refused init left a directory")
	}
	if res := cliRun(t, nil, "-r", filepath.Join(dir, "y"), "init", "--copy-chunker-params", "--from-repo", srcRepo, "--chunk-min", "32K"); res.code == 0 {
		t.Errorf("--copy-chunker-params with --chunk-min succeeded:\n%s", res)
	}
	t.Setenv("CADANG_FROM_PASSWORD", srcPW)

	s, d, o := openForTest(t, srcRepo, srcPW), openForTest(t, dstRepo, dstPW), openForTest(t, otherRepo, dstPW)
	for _, r := range []*repo.Repository{d, o} {
		if r.ChunkerPolynomial() != s.ChunkerPolynomial() || r.ChunkerParams() != s.ChunkerParams() {
			t.Errorf("chunker: %v %+v, source %v %+v", r.ChunkerPolynomial(), r.ChunkerParams(), s.ChunkerPolynomial(), s.ChunkerParams())
		}
		if r.ID() == s.ID() {
			t.Error("same repository ID")
		}
	}
	if s.ChunkerParams().Min != 64<<10 {
		t.Errorf("source chunk params %+v", s.ChunkerParams())
	}
	// A plain init still draws its own polynomial.
	t.Setenv("CADANG_PASSWORD", srcPW)
	plain := filepath.Join(dir, "plain")
	cliOK(t, "-r", plain, "init")
	if openForTest(t, plain, srcPW).ChunkerPolynomial() == s.ChunkerPolynomial() {
		t.Error("plain init reused the polynomial")
	}

	// Two backups into the source.
	data := filepath.Join(dir, "data")
	makeSourceTree(t, data)
	first := str(t, cliBackup(t, srcRepo, data, "--host", "spse1"), "snapshot_id")
	want1 := scanDir(t, data)

	t.Setenv("CADANG_PASSWORD", dstPW)
	res := cliRunCopy(t, "-r", dstRepo, "copy", "--from-repo", srcRepo)
	if !strings.Contains(res.stdout, "copied "+first[:8]+" as ") || !strings.Contains(res.stdout, "1 snapshot(s) copied, 0 skipped") {
		t.Errorf("copy output:\n%s", res)
	}
	// The record counts what the copy uploaded as added, as the job's
	// offsite copy does (cadang log's Added column).
	var copyRecs []runlog.Record
	if err := json.Unmarshal([]byte(cliOK(t, "-r", dstRepo, "log", "--json").stdout), &copyRecs); err != nil {
		t.Fatal(err)
	}
	if recs, n := copyRecs, len(copyRecs); n == 0 || recs[n-1].Op != runlog.OpCopy || recs[n-1].Copy == nil ||
		recs[n-1].BytesAdded <= 0 || recs[n-1].BytesAdded != recs[n-1].Copy.Bytes {
		t.Errorf("copy record: %+v", recs)
	}
	var cj copyJSON
	res = cliRunCopy(t, "-r", dstRepo, "--json", "copy", "--from-repo", srcRepo)
	if err := json.Unmarshal([]byte(res.stdout), &cj); err != nil || strings.Count(strings.TrimSpace(res.stdout), "\n") != 0 {
		t.Fatalf("copy --json: %v\n%s", err, res)
	}
	if cj.MessageType != "copy" || cj.Copied != 0 || cj.Skipped != 1 || cj.DataBlobs != 0 || cj.TreeBlobs != 0 || cj.Bytes != 0 || len(cj.Snapshots) != 1 || !cj.Snapshots[0].Skipped {
		t.Errorf("second copy: %+v", cj)
	}
	res = cliRunCopy(t, "-r", dstRepo, "copy", "--from-repo", srcRepo, first[:8])
	if !strings.Contains(res.stdout, "skipped "+first[:8]+" (already copied as ") {
		t.Errorf("copy again:\n%s", res)
	}

	// A second backup with one new file; copy only latest of host spse1.
	writeFileT(t, filepath.Join(data, "new.bin"), randBytes(7, 1<<20), 0o644)
	want2 := scanDir(t, data)
	t.Setenv("CADANG_PASSWORD", srcPW)
	second := str(t, cliBackup(t, srcRepo, data, "--host", "spse1"), "snapshot_id")
	t.Setenv("CADANG_PASSWORD", dstPW)
	res = cliRunCopy(t, "-r", dstRepo, "--json", "copy", "--from-repo", srcRepo, "--host", "spse1", "latest")
	cj = copyJSON{}
	if err := json.Unmarshal([]byte(res.stdout), &cj); err != nil {
		t.Fatalf("copy --json: %v\n%s", err, res)
	}
	if cj.Copied != 1 || cj.Skipped != 0 || cj.Snapshots[0].Source != second || cj.DataBlobs == 0 || cj.Bytes > 2<<20 {
		t.Errorf("incremental copy: %+v", cj)
	}
	t.Logf("incremental copy: %+v", cj)

	// Restores from the destination equal the source.
	sns := cliSnapshots(t, dstRepo)
	if len(sns) != 2 {
		t.Fatalf("destination snapshots: %+v", sns)
	}
	for i, want := range []map[string]fileState{want1, want2} {
		target := filepath.Join(dir, "restore", sns[i].ID)
		cliOK(t, "-r", dstRepo, "restore", sns[i].ID, "--target", target)
		compareTrees(t, want, scanDir(t, filepath.Join(target, data)), false)
	}
	cliOK(t, "-r", dstRepo, "check", "--read-data")

	// Each copy is a run-log record with its numbers.
	logOut := cliOK(t, "--json", "log", "--op", "copy").stdout
	var recs []struct {
		Op     string `json:"op"`
		Result string `json:"result"`
		Copy   *struct {
			From      string `json:"from"`
			Copied    int    `json:"copied"`
			DataBlobs int    `json:"data_blobs"`
		} `json:"copy"`
	}
	if err := json.Unmarshal([]byte(logOut), &recs); err != nil {
		t.Fatalf("log --json: %v\n%s", err, logOut)
	}
	n := 0
	for _, r := range recs {
		if r.Op == "copy" && r.Copy != nil && r.Copy.From == srcRepo {
			n++
			if r.Result != "ok" {
				t.Errorf("copy record: %+v", r)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d copy records, want 4:\n%s", n, logOut)
	}

	// A copy's record concerns its source too: the copy puts it there,
	// and a check of the source must not take the source for an older
	// copy of itself (it did, after every copy).
	t.Setenv("CADANG_PASSWORD", srcPW)
	res = cliOK(t, "-r", srcRepo, "log", "verify")
	if !strings.Contains(res.stdout+res.stderr, "6 records") || !strings.Contains(res.stdout+res.stderr, "intact") {
		t.Errorf("the source does not hold the records of its 2 backups and 4 copies:\n%s", res)
	}
	res = cliOK(t, "-r", srcRepo, "check")
	if strings.Contains(res.stderr+res.stdout, "older") {
		t.Errorf("check of the source after copies:\n%s", res)
	}
}

// TestCLICopyFromNoLock: a source on a read-only medium cannot take a
// lock, so a copy from it failed. With --from-no-lock the copy writes
// nothing into the source (no lock, no run-log record) and still copies
// every snapshot; without it the source gets both, as before.
func TestCLICopyFromNoLock(t *testing.T) {
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	t.Setenv("CADANG_FROM_REPOSITORY", "")
	src, _, data := cliBackedUp(t, 61) // sets CADANG_PASSWORD
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	dir := t.TempDir()
	files := func(root string) map[string]bool {
		m := map[string]bool{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				m[p] = true
			}
			return nil
		})
		return m
	}
	before := files(src)
	// A lock taken and released leaves no file, but changes its
	// directory's modification time. (The tests run as root, which a
	// read-only directory would not stop.)
	locks := filepath.Join(src, "locks")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(locks, old, old); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	cliOK(t, "-r", dst, "init")
	cliRunCopy(t, "-r", dst, "copy", "--from-repo", src, "--from-no-lock")
	if after := files(src); len(after) != len(before) {
		t.Fatalf("copy --from-no-lock wrote into the source: %d files before, %d after", len(before), len(after))
	}
	if fi, err := os.Stat(locks); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("copy --from-no-lock took a lock in the source (locks/ modified %v, %v)", fi.ModTime(), err)
	}
	out := filepath.Join(dir, "out")
	cliOK(t, "-r", dst, "restore", "latest", "--target", out)
	compareTrees(t, scanDir(t, data), scanDir(t, filepath.Join(out, data)), false)

	// Without the flag the source receives the copy's record.
	dst2 := filepath.Join(dir, "dst2")
	cliOK(t, "-r", dst2, "init")
	cliRunCopy(t, "-r", dst2, "copy", "--from-repo", src)
	if after := files(src); len(after) <= len(before) {
		t.Fatalf("a copy with a lock wrote no record into the source (%d files before, %d after)", len(before), len(after))
	}
}
