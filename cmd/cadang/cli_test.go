package main

// End-to-end tests of the command line, run in-process through run(). Each
// test makes its own repository under t.TempDir(); the password comes from
// CADANG_PASSWORD (t.Setenv, so these tests do not run in parallel).
//
// Repositories are created through the library with crypto.CheapKDFParams() (cheap
// argon2id) unless the test is about `cadang init` itself: `init` has no
// flag or environment variable that picks the KDF cost, and the default
// costs 0.1-0.2 s per open (more under -race).

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
)

const cliTestPassword = "correct horse battery staple"

// cliResult is the outcome of one in-process CLI run.
type cliResult struct {
	args   []string
	code   int
	stdout string
	stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("cadang %s\nexit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cliRun runs the CLI in-process with the given stdin (nil: empty).
func cliRun(t testing.TB, stdin io.Reader, args ...string) cliResult {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := run(ctx, append([]string{"cadang"}, args...), stdin, &out, &errb)
	return cliResult{args: args, code: code, stdout: out.String(), stderr: errb.String()}
}

// cliOK runs the CLI and fails the test unless it exits 0.
func cliOK(t testing.TB, args ...string) cliResult {
	t.Helper()
	res := cliRun(t, nil, args...)
	if res.code != 0 {
		t.Fatalf("unexpected failure:\n%s", res)
	}
	return res
}

// cliCode runs the CLI and fails the test unless it exits with want.
func cliCode(t testing.TB, want int, args ...string) cliResult {
	t.Helper()
	res := cliRun(t, nil, args...)
	if res.code != want {
		t.Fatalf("exit code %d, want %d:\n%s", res.code, want, res)
	}
	return res
}

// cliNewRepo creates a repository with a cheap KDF and returns its path.
// It sets CADANG_PASSWORD for the rest of the test.
func cliNewRepo(t testing.TB) string {
	t.Helper()
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	dir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repotest.New(t, be, cliTestPassword, repo.InitOptions{})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// jsonLines parses output that holds one JSON object per line.
func jsonLines(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// summaryOf checks that JSON output is status/error events followed by one
// summary object, and returns the summary.
func summaryOf(t testing.TB, res cliResult) map[string]any {
	t.Helper()
	lines := jsonLines(t, res.stdout)
	if len(lines) == 0 {
		t.Fatalf("no JSON output:\n%s", res)
	}
	for i, l := range lines {
		mt, _ := l["message_type"].(string)
		switch {
		case i == len(lines)-1 && mt == "summary":
		case i < len(lines)-1 && (mt == "status" || mt == "error"):
		default:
			t.Fatalf("line %d has message_type %q; want status/error events then one summary:\n%s", i, mt, res)
		}
	}
	return lines[len(lines)-1]
}

func num(t testing.TB, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("JSON object has no %q: %v", key, m)
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%q is %T, not a number: %v", key, v, m)
	}
	return f
}

func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	v, ok := m[key].(string)
	if !ok {
		t.Fatalf("JSON object has no string %q: %v", key, m)
	}
	return v
}

type snapJSON struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Paths    []string  `json:"paths"`
	Hostname string    `json:"hostname"`
	Tags     []string  `json:"tags"`
	Parent   *string   `json:"parent"`
	Summary  *struct {
		Errors []struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		} `json:"errors"`
	} `json:"summary"`
}

// cliSnapshots lists the repository's snapshots through `snapshots --json`.
func cliSnapshots(t testing.TB, repoDir string, filter ...string) []snapJSON {
	t.Helper()
	res := cliOK(t, append([]string{"-r", repoDir, "--json", "snapshots"}, filter...)...)
	var sns []snapJSON
	if err := json.Unmarshal([]byte(res.stdout), &sns); err != nil {
		t.Fatalf("snapshots --json: %v\n%s", err, res)
	}
	return sns
}

// cliBackup runs `backup --json` with args and returns the summary.
func cliBackup(t testing.TB, repoDir string, args ...string) map[string]any {
	t.Helper()
	res := cliOK(t, append([]string{"-r", repoDir, "--json", "backup"}, args...)...)
	return summaryOf(t, res)
}

// fileState is what the round-trip tests compare.
type fileState struct {
	Type  string
	Perm  fs.FileMode // permission, setuid/setgid/sticky bits
	Size  int64
	MTime time.Time
	Hash  string // files
	Link  string // symlinks
}

// scanDir records every entry below root by relative path (root itself as
// "."), symlinks not followed.
func scanDir(t testing.TB, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fileState{Perm: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), MTime: fi.ModTime()}
		switch {
		case fi.Mode().IsRegular():
			st.Type = "file"
			st.Size = fi.Size()
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			st.Hash = hex.EncodeToString(h[:])
		case fi.IsDir():
			st.Type = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			st.Type = "symlink"
			st.Link, err = os.Readlink(p)
			if err != nil {
				return err
			}
			st.Perm = 0
		default:
			st.Type = fi.Mode().Type().String()
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compareTrees(t testing.TB, want, got map[string]fileState, skipRootMeta bool) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w := want[n]
		g, ok := got[n]
		if !ok {
			t.Errorf("%s: missing after restore", n)
			continue
		}
		if n == "." && skipRootMeta {
			continue
		}
		if w.Type != g.Type || w.Perm != g.Perm || w.Size != g.Size || w.Hash != g.Hash || w.Link != g.Link {
			t.Errorf("%s: restored %+v, want %+v", n, g, w)
		}
		if !w.MTime.Equal(g.MTime) {
			t.Errorf("%s: mtime %s, want %s", n, g.MTime.Format(time.RFC3339Nano), w.MTime.Format(time.RFC3339Nano))
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: restored but not in the source", n)
		}
	}
}

func writeFileT(t testing.TB, p string, data []byte, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // umask
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// makeSourceTree builds a small tree with the metadata the round trip
// checks. It returns the number of regular files.
func makeSourceTree(t testing.TB, root string) int {
	t.Helper()
	files := 0
	add := func(rel string, data []byte, perm fs.FileMode) {
		writeFileT(t, filepath.Join(root, rel), data, perm)
		files++
	}
	add("etc/spse.conf", []byte("db.host=127.0.0.1\ndb.name=spse\n"), 0o640)
	add("etc/secret.key", []byte("s3cr3t\n"), 0o600)
	add("bin/run.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	add("empty", nil, 0o644)
	add("readonly.txt", []byte("read only\n"), 0o444)
	add("upload/2026/kontrak-001.pdf", randBytes(1, 300<<10), 0o644)
	add("upload/2026/kontrak-002.pdf", randBytes(2, 3<<20), 0o644) // several chunks
	add("upload/2025/ba-serah-terima.pdf", bytes.Repeat([]byte("BA serah terima "), 40000), 0o644)
	add("dokumen dengan spasi/ünïcødé.txt", []byte("unicode name\n"), 0o644)
	for i := 0; i < 20; i++ {
		add(fmt.Sprintf("many/f%02d.txt", i), []byte(fmt.Sprintf("file %d\n", i)), 0o644)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "emptydir"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "private"), 0o700))
	must(os.Chmod(filepath.Join(root, "private"), 0o750|fs.ModeSetgid))
	must(os.Symlink("etc/spse.conf", filepath.Join(root, "link-rel")))
	must(os.Symlink("/nonexistent/dangling", filepath.Join(root, "link-dangling")))
	must(os.Symlink("../upload", filepath.Join(root, "many/link-dir")))
	must(os.Link(filepath.Join(root, "etc/spse.conf"), filepath.Join(root, "hardlink-to-spse.conf")))
	files++
	// Distinct mtimes, with nanoseconds, on files and directories (children
	// first, since writing a child changes its directory's mtime).
	var paths []string
	must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	base := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	for i, p := range paths {
		mt := base.Add(time.Duration(i)*time.Hour + time.Duration(i*1234567+89))
		ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	return files
}

// TestCLIInit creates a repository through the CLI, with the default KDF
// (the only test that pays for it at every open) and custom chunk sizes.
func TestCLIInit(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	repoDir := filepath.Join(t.TempDir(), "repo")
	res := cliOK(t, "-r", repoDir, "--json", "init", "--chunk-min", "64K", "--chunk-avg", "128K", "--chunk-max", "1M", "--pack-size", "4M")
	var ini map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &ini); err != nil {
		t.Fatalf("init --json: %v\n%s", err, res)
	}
	if str(t, ini, "repository") != repoDir || len(str(t, ini, "id")) != 64 {
		t.Errorf("init --json: %v", ini)
	}
	cfg := cliOK(t, "-r", repoDir, "cat", "config").stdout
	for _, want := range []string{"65536", "131072", "1048576", "4194304", str(t, ini, "id")} {
		if !strings.Contains(cfg, want) {
			t.Errorf("cat config lacks %s:\n%s", want, cfg)
		}
	}
	// Text output tells the user to keep the password.
	res = cliOK(t, "-r", filepath.Join(t.TempDir(), "repo2"), "init")
	if !strings.Contains(res.stdout, "created repository") || !strings.Contains(res.stdout, "password") {
		t.Errorf("init text output:\n%s", res)
	}
}

func TestCLIBackupRestoreRoundTrip(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	nfiles := makeSourceTree(t, src)

	// First backup: everything is new.
	sum := cliBackup(t, repoDir, src, "--tag", "daily")
	for _, k := range []string{"snapshot_id", "files_new", "files_changed", "files_unmodified", "data_added", "total_duration"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("backup summary lacks %q: %v", k, sum)
		}
	}
	if got := num(t, sum, "files_new"); got != float64(nfiles) {
		t.Errorf("files_new = %v, want %d", got, nfiles)
	}
	if num(t, sum, "data_added") < 3<<20 {
		t.Errorf("data_added = %v, want at least the 3 MiB random file", sum["data_added"])
	}
	first := str(t, sum, "snapshot_id")

	// snapshots lists it, with the path and tag.
	sns := cliSnapshots(t, repoDir)
	if len(sns) != 1 || sns[0].ID != first || len(sns[0].Paths) != 1 || sns[0].Paths[0] != src || len(sns[0].Tags) != 1 || sns[0].Tags[0] != "daily" {
		t.Fatalf("snapshots --json: %+v", sns)
	}
	text := cliOK(t, "-r", repoDir, "snapshots")
	if !strings.Contains(text.stdout, first[:8]) || !strings.Contains(text.stdout, "1 snapshot\n") {
		t.Errorf("snapshots table:\n%s", text.stdout)
	}

	// Full restore: the source's absolute path is recreated under the target.
	want := scanDir(t, src)
	target := filepath.Join(dir, "restore-full")
	res := cliOK(t, "-r", repoDir, "--json", "restore", "latest", "--target", target) // flags after the positional argument
	rs := summaryOf(t, res)
	// The second name of the hardlink may count as a link, not a file.
	if n := num(t, rs, "files_restored"); str(t, rs, "snapshot_id") != first || n != float64(nfiles) && n != float64(nfiles-1) {
		t.Errorf("restore summary: %v (want %d files)", rs, nfiles)
	}
	compareTrees(t, want, scanDir(t, filepath.Join(target, src)), false)
	// The hardlink is restored as a hardlink.
	fa, errA := os.Stat(filepath.Join(target, src, "etc/spse.conf"))
	fb, errB := os.Stat(filepath.Join(target, src, "hardlink-to-spse.conf"))
	if errA != nil || errB != nil || !os.SameFile(fa, fb) {
		t.Errorf("hardlink not restored as a hardlink (%v, %v)", errA, errB)
	}

	// Restore of a subpath: its content goes directly into the target.
	target2 := filepath.Join(dir, "restore-sub")
	cliOK(t, "-r", repoDir, "restore", first[:8]+":"+filepath.Join(src, "upload"), "-t", target2, "--verify")
	compareTrees(t, scanDir(t, filepath.Join(src, "upload")), scanDir(t, target2), true)

	// Second backup of the unchanged tree: nothing re-read, (almost) nothing added.
	sum2 := cliBackup(t, repoDir, src)
	if got := num(t, sum2, "files_unmodified"); got != float64(nfiles) {
		t.Errorf("second backup: files_unmodified = %v, want %d (%v)", got, nfiles, sum2)
	}
	if num(t, sum2, "files_new") != 0 || num(t, sum2, "files_changed") != 0 {
		t.Errorf("second backup: %v", sum2)
	}
	if got := num(t, sum2, "data_added"); got > 64<<10 {
		t.Errorf("second backup of an unchanged tree added %v bytes", got)
	}
	if got := num(t, sum2, "bytes_read"); got != 0 {
		t.Errorf("second backup read %v bytes of unchanged files", got)
	}
	second := str(t, sum2, "snapshot_id")
	sns = cliSnapshots(t, repoDir)
	if len(sns) != 2 || sns[1].ID != second || sns[1].Parent == nil || *sns[1].Parent != first {
		t.Errorf("second snapshot should have the first as parent: %+v", sns)
	}

	// Third backup after changing one file and adding one.
	writeFileT(t, filepath.Join(src, "bin/run.sh"), []byte("#!/bin/sh\necho changed\n"), 0o755)
	writeFileT(t, filepath.Join(src, "upload/2026/kontrak-003.pdf"), randBytes(3, 10<<10), 0o644)
	sum3 := cliBackup(t, repoDir, src)
	if num(t, sum3, "files_new") != 1 || num(t, sum3, "files_changed") != 1 || num(t, sum3, "files_unmodified") != float64(nfiles-1) {
		t.Errorf("third backup: %v", sum3)
	}
	if got := num(t, sum3, "data_added"); got > 256<<10 {
		t.Errorf("third backup added %v bytes for ~10 KiB of changes", got)
	}

	// diff between the second and third snapshots.
	third := str(t, sum3, "snapshot_id")
	d := cliOK(t, "-r", repoDir, "diff", second[:8], third[:8])
	if !strings.Contains(d.stdout, "M  "+filepath.Join(src, "bin/run.sh")) || !strings.Contains(d.stdout, "+  "+filepath.Join(src, "upload/2026/kontrak-003.pdf")) {
		t.Errorf("diff:\n%s", d.stdout)
	}
	dj := jsonLines(t, cliOK(t, "-r", repoDir, "--json", "diff", second, third).stdout)
	if last := dj[len(dj)-1]; last["message_type"] != "statistics" || num(t, last, "added") != 1 || num(t, last, "modified") < 1 {
		t.Errorf("diff --json: %v", dj)
	}
}

func TestCLIJSONProgressEvents(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	res := cliOK(t, "-r", repoDir, "--json", "backup", src)
	sum := summaryOf(t, res) // validates every line
	if sum["snapshot_id"] == "" {
		t.Errorf("summary: %v", sum)
	}
	if res.stderr != "" && strings.Contains(res.stderr, "\r") {
		t.Errorf("--json backup drew a progress bar on stderr: %q", res.stderr)
	}
	// --quiet --json: still exactly the summary.
	res = cliOK(t, "-r", repoDir, "--json", "--quiet", "backup", src)
	if lines := jsonLines(t, res.stdout); len(lines) != 1 || lines[0]["message_type"] != "summary" {
		t.Errorf("--json --quiet backup: %v", lines)
	}
	// Text mode prints a human summary that names the snapshot.
	res = cliOK(t, "-r", repoDir, "backup", src)
	if !strings.Contains(res.stdout, "snapshot ") || !strings.Contains(res.stdout, "unmodified") {
		t.Errorf("backup text output:\n%s", res)
	}
}

func TestCLILatestFilters(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	writeFileT(t, filepath.Join(a, "x/y"), []byte("from a\n"), 0o644)
	writeFileT(t, filepath.Join(b, "x/y"), []byte("from b\n"), 0o644)

	snA := str(t, cliBackup(t, repoDir, a, "--host", "web1", "--tag", "files"), "snapshot_id")
	snB := str(t, cliBackup(t, repoDir, b, "--host", "db1", "--tag", "db,daily"), "snapshot_id")
	time.Sleep(10 * time.Millisecond)

	latestID := func(filter ...string) string {
		t.Helper()
		target := filepath.Join(t.TempDir(), "t")
		rs := summaryOf(t, cliOK(t, append([]string{"-r", repoDir, "--json", "restore", "latest", "--target", target}, filter...)...))
		return str(t, rs, "snapshot_id")
	}
	if got := latestID(); got != snB {
		t.Errorf("latest = %s, want the newest %s", got, snB)
	}
	if got := latestID("--host", "web1"); got != snA {
		t.Errorf("latest --host web1 = %s, want %s", got, snA)
	}
	if got := latestID("--tag", "files"); got != snA {
		t.Errorf("latest --tag files = %s, want %s", got, snA)
	}
	if got := latestID("--tag", "db,daily"); got != snB {
		t.Errorf("latest --tag db,daily = %s, want %s", got, snB)
	}
	if got := latestID("--path", a); got != snA {
		t.Errorf("latest --path %s = %s, want %s", a, got, snA)
	}
	// No match: an error that says so, not some other snapshot.
	target := filepath.Join(t.TempDir(), "t")
	res := cliRun(t, nil, "-r", repoDir, "restore", "latest", "--target", target, "--host", "nosuchhost")
	if res.code == 0 || !strings.Contains(res.stderr, "no matching snapshot") {
		t.Errorf("latest with a filter that matches nothing:\n%s", res)
	}
	// snapshots filters too.
	if sns := cliSnapshots(t, repoDir, "--host", "db1"); len(sns) != 1 || sns[0].ID != snB {
		t.Errorf("snapshots --host db1: %+v", sns)
	}
	if sns := cliSnapshots(t, repoDir, "--tag", "files"); len(sns) != 1 || sns[0].ID != snA {
		t.Errorf("snapshots --tag files: %+v", sns)
	}

	// A full restore puts /…/a/x/y at TARGET/…/a/x/y; SNAP:SUBPATH of a
	// directory puts its content directly into TARGET.
	full := filepath.Join(t.TempDir(), "full")
	cliOK(t, "-r", repoDir, "restore", snA[:10], "--target", full)
	if b, err := os.ReadFile(filepath.Join(full, a, "x/y")); err != nil || string(b) != "from a\n" {
		t.Errorf("full restore: %q %v", b, err)
	}
	sub := filepath.Join(t.TempDir(), "sub")
	cliOK(t, "-r", repoDir, "restore", snA[:10]+":"+filepath.Join(a, "x"), "--target", sub)
	if b, err := os.ReadFile(filepath.Join(sub, "y")); err != nil || string(b) != "from a\n" {
		t.Errorf("restore SNAP:%s/x: %q %v", a, b, err)
	}
}

func TestCLIBrowseCommands(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	sn := str(t, cliBackup(t, repoDir, src), "snapshot_id")

	// ls: text and JSON.
	ls := cliOK(t, "-r", repoDir, "ls", "latest", filepath.Join(src, "etc"))
	if !strings.Contains(ls.stdout, filepath.Join(src, "etc/spse.conf")) || !strings.Contains(ls.stdout, "-rw-r-----") {
		t.Errorf("ls:\n%s", ls.stdout)
	}
	lsj := jsonLines(t, cliOK(t, "-r", repoDir, "--json", "ls", sn[:8], src).stdout)
	types := map[string]string{}
	for _, n := range lsj {
		types[str(t, n, "path")] = str(t, n, "type")
	}
	if types[filepath.Join(src, "link-rel")] != "symlink" || types[filepath.Join(src, "upload")] != "dir" || types[filepath.Join(src, "upload/2026/kontrak-002.pdf")] != "file" {
		t.Errorf("ls --json types: %v", types)
	}

	// find: a pattern at any depth.
	fj := jsonLines(t, cliOK(t, "-r", repoDir, "--json", "find", "kontrak-*.pdf").stdout)
	if len(fj) != 2 || str(t, fj[0], "snapshot") != sn {
		t.Errorf("find kontrak-*.pdf: %v", fj)
	}
	if res := cliOK(t, "-r", repoDir, "find", "nothing-matches-this"); strings.TrimSpace(res.stdout) != "" {
		t.Errorf("find with no match printed %q", res.stdout)
	}

	// dump of one file: its bytes on stdout.
	want, _ := os.ReadFile(filepath.Join(src, "upload/2026/kontrak-002.pdf"))
	d := cliOK(t, "-r", repoDir, "dump", "latest", filepath.Join(src, "upload/2026/kontrak-002.pdf"))
	if !bytes.Equal([]byte(d.stdout), want) {
		t.Errorf("dump of a file: %d bytes, want %d", len(d.stdout), len(want))
	}
	// dump --target FILE.
	out := filepath.Join(t.TempDir(), "out.pdf")
	cliOK(t, "-r", repoDir, "dump", "latest", filepath.Join(src, "upload/2026/kontrak-002.pdf"), "--target", out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Errorf("dump --target: %d bytes, want %d", len(got), len(want))
	}

	// dump of a directory: a tar archive with every file's content.
	d = cliOK(t, "-r", repoDir, "dump", "latest", filepath.Join(src, "upload"))
	tr := tar.NewReader(strings.NewReader(d.stdout))
	got := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("dump of a directory is not a valid tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			got[strings.TrimPrefix(h.Name, "/")] = b
		}
	}
	srcFiles := map[string]bool{}
	filepath.WalkDir(filepath.Join(src, "upload"), func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() {
			srcFiles[p] = true
		}
		return nil
	})
	if len(got) != len(srcFiles) {
		t.Errorf("tar has %d files, want %d: %v", len(got), len(srcFiles), keys(got))
	}
	for p := range srcFiles {
		wantB, _ := os.ReadFile(p)
		found := false
		for name, b := range got {
			if strings.HasSuffix("/"+name, strings.TrimPrefix(p, filepath.Join(src, "upload"))) {
				found = true
				if !bytes.Equal(b, wantB) {
					t.Errorf("tar entry %s: content differs", name)
				}
			}
		}
		if !found {
			t.Errorf("tar lacks %s: %v", p, keys(got))
		}
	}

	// stats: text and JSON.
	st := cliOK(t, "-r", repoDir, "stats")
	if !strings.Contains(st.stdout, "Snapshots:") || !strings.Contains(st.stdout, "Restore size:") {
		t.Errorf("stats:\n%s", st.stdout)
	}
	var stj map[string]any
	if err := json.Unmarshal([]byte(cliOK(t, "-r", repoDir, "--json", "stats").stdout), &stj); err != nil {
		t.Errorf("stats --json: %v", err)
	}

	// tag: --add, --remove, --set; the snapshot gets a new ID.
	tj := jsonLines(t, cliOK(t, "-r", repoDir, "--json", "tag", sn[:8], "--add", "keep", "--add", "monthly").stdout)
	if len(tj) != 1 {
		t.Fatalf("tag --json: %v", tj)
	}
	newID := str(t, tj[0], "new_snapshot_id")
	sns := cliSnapshots(t, repoDir)
	if len(sns) != 1 || sns[0].ID != newID || strings.Join(sns[0].Tags, ",") != "keep,monthly" {
		t.Errorf("after tag --add: %+v", sns)
	}
	cliOK(t, "-r", repoDir, "tag", newID[:8], "--remove", "monthly")
	if sns = cliSnapshots(t, repoDir, "--tag", "keep"); len(sns) != 1 || strings.Join(sns[0].Tags, ",") != "keep" {
		t.Errorf("after tag --remove: %+v", sns)
	}
	cliOK(t, "-r", repoDir, "tag", "latest", "--set", "a", "--set", "b")
	if sns = cliSnapshots(t, repoDir); len(sns) != 1 || strings.Join(sns[0].Tags, ",") != "a,b" {
		t.Errorf("after tag --set: %+v", sns)
	}
	if res := cliRun(t, nil, "-r", repoDir, "tag", "latest"); res.code == 0 {
		t.Errorf("tag without --set/--add/--remove succeeded:\n%s", res)
	}

	// forget: the snapshot is gone; a bad ID is an error.
	sn2 := str(t, cliBackup(t, repoDir, src), "snapshot_id")
	cliOK(t, "-r", repoDir, "forget", sn2[:8])
	if sns = cliSnapshots(t, repoDir); len(sns) != 1 || sns[0].ID == sn2 {
		t.Errorf("after forget: %+v", sns)
	}
	if res := cliRun(t, nil, "-r", repoDir, "forget", "deadbeef"); res.code == 0 {
		t.Errorf("forget of a missing snapshot succeeded:\n%s", res)
	}
	// The data is still there (forget does not prune): check passes.
	cliOK(t, "-r", repoDir, "check")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCLIKeyCommands: key add/list/remove/passwd. Keys made by the CLI use
// the default KDF (0.1-0.2 s per try, several times that under -race), and
// opening tries key files in ID order, so the test keeps the number of
// commands that meet such a key small.
func TestCLIKeyCommands(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	pw2 := filepath.Join(dir, "pw2")
	writeFileT(t, pw2, []byte("second password\n"), 0o600)
	pw3 := filepath.Join(dir, "pw3")
	writeFileT(t, pw3, []byte("third password\n"), 0o600)

	type keyJSON struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	listKeys := func(args ...string) []keyJSON {
		t.Helper()
		res := cliOK(t, append(append([]string{"-r", repoDir}, args...), "--json", "key", "list")...)
		var ks []keyJSON
		if err := json.Unmarshal([]byte(res.stdout), &ks); err != nil {
			t.Fatalf("key list --json: %v\n%s", err, res)
		}
		return ks
	}
	text := cliOK(t, "-r", repoDir, "key", "list")
	ks := listKeys()
	if len(ks) != 1 || !ks[0].Current || !strings.Contains(text.stdout, "*") || !strings.Contains(text.stdout, ks[0].ID[:8]) {
		t.Fatalf("key list: %+v\n%s", ks, text.stdout)
	}
	first := ks[0].ID

	// key add: a second password that opens the repository too (through
	// --password-file; CADANG_PASSWORD would take precedence).
	res := cliOK(t, "-r", repoDir, "--json", "key", "add", "--new-password-file", pw2)
	var added map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &added); err != nil {
		t.Fatalf("key add --json: %v\n%s", err, res)
	}
	second := str(t, added, "id")
	t.Setenv("CADANG_PASSWORD", "")
	if ks = listKeys("--password-file", pw2); len(ks) != 2 {
		t.Fatalf("after key add: %+v", ks)
	}
	for _, k := range ks {
		if k.Current != (k.ID == second) {
			t.Errorf("opened with the second password, key list marks %+v", ks)
		}
	}
	// --password-command with the first password.
	cliOK(t, "-r", repoDir, "--password-command", "echo '"+cliTestPassword+"'", "snapshots")

	// key passwd: replace the first password (the one in use) with a third.
	cliOK(t, "-r", repoDir, "--password-command", "echo '"+cliTestPassword+"'", "key", "passwd", "--new-password-file", pw3)
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	cliCode(t, exitWrongPassword, "-r", repoDir, "snapshots")
	t.Setenv("CADANG_PASSWORD", "")

	// key remove: the second key, while using the third password. Its own
	// key cannot be removed.
	cliOK(t, "-r", repoDir, "--password-file", pw3, "key", "remove", second[:8])
	ks = listKeys("--password-file", pw3)
	if len(ks) != 1 || !ks[0].Current || ks[0].ID == first || ks[0].ID == second {
		t.Errorf("after passwd and remove: %+v", ks)
	}
	res = cliRun(t, nil, "-r", repoDir, "--password-file", pw3, "key", "remove", ks[0].ID[:8])
	if res.code == 0 || !strings.Contains(res.stderr, "in use") {
		t.Errorf("removing the key in use:\n%s", res)
	}
	cliCode(t, exitWrongPassword, "-r", repoDir, "--password-file", pw2, "snapshots")
}

// writeLockFile stores a lock file through the library with the given
// holder PID, as a crashed cadang would have left it.
func writeLockFile(t testing.TB, repoDir string, exclusive bool, pid int) repo.ID {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	host, _ := os.Hostname()
	b, _ := json.Marshal(repo.LockInfo{Time: time.Now(), Exclusive: exclusive, Host: host, Username: "root", PID: pid})
	id, err := r.SaveFile(ctx, repo.LockFile, b)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// writeLockFileOf writes a fresh shared lock of host's process pid.
func writeLockFileOf(t *testing.T, repoDir, host string, pid int) {
	t.Helper()
	ctx := context.Background()
	r := openTestRepo(t, repoDir)
	defer r.Close()
	b, _ := json.Marshal(repo.LockInfo{Time: time.Now(), Host: host, Username: "root", PID: pid})
	if _, err := r.SaveFile(ctx, repo.LockFile, b); err != nil {
		t.Fatal(err)
	}
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			n++
		}
	}
	return n
}

// deadPID returns the PID of a process that has exited.
func deadPID(t testing.TB) int {
	t.Helper()
	pid := 1 << 22 // above the default pid_max on most systems
	for ; pid > 1000; pid-- {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return pid
		}
	}
	t.Skip("no unused PID found")
	return 0
}

func TestCLIUnlock(t *testing.T) {
	repoDir := cliNewRepo(t)
	locks := filepath.Join(repoDir, "locks")

	// A stale lock (its PID is gone) is removed by unlock; a live one (our
	// own PID, an exclusive lock) stays.
	writeLockFile(t, repoDir, true, deadPID(t))
	writeLockFile(t, repoDir, true, os.Getpid())
	if n := countFiles(t, locks); n != 2 {
		t.Fatalf("%d lock files, want 2", n)
	}
	res := cliOK(t, "-r", repoDir, "--json", "unlock")
	var u struct {
		Removed []map[string]any `json:"removed"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &u); err != nil || len(u.Removed) != 1 {
		t.Errorf("unlock --json: %v\n%s", err, res)
	}
	if n := countFiles(t, locks); n != 1 {
		t.Errorf("after unlock: %d lock files, want the live one", n)
	}
	// The live exclusive lock blocks a backup with exit 11.
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("x"), 0o644)
	res = cliCode(t, exitLocked, "-r", repoDir, "backup", src)
	if !strings.Contains(res.stderr, "locked") || !strings.Contains(res.stderr, "give --retry-lock DURATION") {
		t.Errorf("locked backup message:\n%s", res)
	}
	res = cliCode(t, exitLocked, "-r", repoDir, "--retry-lock", "1s", "backup", src)
	if !strings.Contains(res.stderr, "(still after waiting 1s)") || !strings.Contains(res.stderr, "a longer --retry-lock") {
		t.Errorf("locked backup after --retry-lock 1s:\n%s", res)
	}
	// --remove-all removes the live lock of another host, but keeps the
	// one of a process running here, names it and exits 11.
	writeLockFileOf(t, repoDir, "another-host", os.Getpid())
	res = cliCode(t, exitLocked, "-r", repoDir, "unlock", "--remove-all")
	if !strings.Contains(res.stdout, "@another-host") || !strings.Contains(res.stderr, fmt.Sprintf("(PID %d)", os.Getpid())) ||
		!strings.Contains(res.stderr, "runs on this host") || !strings.Contains(res.stderr, "--include-running") {
		t.Errorf("unlock --remove-all beside a running process:\n%s", res)
	}
	if n := countFiles(t, locks); n != 1 {
		t.Errorf("after unlock --remove-all: %d lock files, want the running one", n)
	}
	res = cliCode(t, exitLocked, "-r", repoDir, "--json", "unlock", "--remove-all")
	var ju struct {
		Removed []map[string]any `json:"removed"`
		Kept    []map[string]any `json:"kept_running"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &ju); err != nil || ju.Removed == nil || len(ju.Removed) != 0 ||
		len(ju.Kept) != 1 || ju.Kept[0]["pid"] != float64(os.Getpid()) || len(fmt.Sprint(ju.Kept[0]["id"])) != 64 {
		t.Errorf("unlock --json --remove-all beside a running process: %v\n%s", err, res)
	}
	// --include-running removes it too.
	cliCode(t, 1, "-r", repoDir, "unlock", "--include-running")
	res = cliOK(t, "-r", repoDir, "unlock", "--remove-all", "--include-running")
	if !strings.Contains(res.stdout, "removed") {
		t.Errorf("unlock --remove-all --include-running:\n%s", res)
	}
	if n := countFiles(t, locks); n != 0 {
		t.Errorf("after unlock --remove-all --include-running: %d lock files", n)
	}
	// Nothing to remove: [] in JSON, not null.
	if res := cliOK(t, "-r", repoDir, "--json", "unlock"); !strings.Contains(res.stdout, `"removed":[]`) {
		t.Errorf("unlock --json with nothing to remove:\n%s", res)
	}
	cliOK(t, "-r", repoDir, "backup", src)
	if n := countFiles(t, locks); n != 0 {
		t.Errorf("backup left %d lock files", n)
	}
	// A command that meets a stale lock removes it and says so.
	writeLockFile(t, repoDir, true, deadPID(t))
	res = cliOK(t, "-r", repoDir, "backup", src)
	if !strings.Contains(res.stderr, "stale") {
		t.Errorf("backup over a stale lock did not say it removed it:\n%s", res)
	}
	if res := cliOK(t, "-r", repoDir, "unlock"); !strings.Contains(res.stdout, "no locks removed") {
		t.Errorf("unlock with nothing to do:\n%s", res)
	}
}

// repoFiles lists the repository's stored files of one type by name.
func repoFiles(t testing.TB, repoDir, typ string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(repoDir, typ), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestCLICatCheckRepair(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	sn := str(t, cliBackup(t, repoDir, src), "snapshot_id")

	// cat config.
	var cfg map[string]any
	if err := json.Unmarshal([]byte(cliOK(t, "-r", repoDir, "cat", "config").stdout), &cfg); err != nil {
		t.Fatalf("cat config: %v", err)
	}
	if len(cfg) == 0 {
		t.Error("cat config printed an empty object")
	}
	// cat index, pack, snapshot, by (prefixes of) their IDs.
	idx := repoFiles(t, repoDir, "index")
	packs := repoFiles(t, repoDir, "data")
	if len(idx) == 0 || len(packs) < 2 {
		t.Fatalf("%d index files, %d packs", len(idx), len(packs))
	}
	var anyJSON any
	out := cliOK(t, "-r", repoDir, "cat", "index", filepath.Base(idx[0])).stdout
	if err := json.Unmarshal([]byte(out), &anyJSON); err != nil || !strings.Contains(out, filepath.Base(packs[0])[:16]) && !strings.Contains(out, filepath.Base(packs[1])[:16]) {
		t.Errorf("cat index: %v\n%.500s", err, out)
	}
	out = cliOK(t, "-r", repoDir, "cat", "pack", filepath.Base(packs[0])[:12]).stdout
	if err := json.Unmarshal([]byte(out), &anyJSON); err != nil {
		t.Errorf("cat pack: %v\n%.500s", err, out)
	}
	out = cliOK(t, "-r", repoDir, "cat", "snapshot", sn[:8]).stdout
	var snj map[string]any
	if err := json.Unmarshal([]byte(out), &snj); err != nil || snj["tree"] == nil {
		t.Errorf("cat snapshot: %v\n%s", err, out)
	}
	if res := cliRun(t, nil, "-r", repoDir, "cat", "nonsense"); res.code == 0 {
		t.Errorf("cat nonsense succeeded:\n%s", res)
	}

	// check, structural and reading data, whole and in parts.
	if res := cliOK(t, "-r", repoDir, "check"); !strings.Contains(res.stdout, "no errors were found") {
		t.Errorf("check:\n%s", res)
	}
	var cr map[string]any
	res := cliOK(t, "-r", repoDir, "--json", "check", "--read-data")
	if err := json.Unmarshal([]byte(res.stdout), &cr); err != nil || cr["ok"] != true || num(t, cr, "packs_read") != float64(len(packs)) {
		t.Errorf("check --read-data --json: %v\n%s", err, res)
	}
	readOf := func(args ...string) float64 {
		t.Helper()
		res := cliOK(t, append([]string{"-r", repoDir, "--json", "check"}, args...)...)
		var m map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &m); err != nil || m["ok"] != true {
			t.Fatalf("check %v: %v\n%s", args, err, res)
		}
		return num(t, m, "packs_read")
	}
	half1 := readOf("--read-data-subset", "1/2")
	half2 := readOf("--read-data-subset=2/2")
	if half1+half2 != float64(len(packs)) {
		t.Errorf("--read-data-subset 1/2 and 2/2 read %v + %v packs, want %d in all", half1, half2, len(packs))
	}
	if n := readOf("--read-data-subset", "50%"); n > float64(len(packs)) {
		t.Errorf("--read-data-subset 50%% read %v of %d packs", n, len(packs))
	}
	if n := readOf("--read-data-subset", "100%"); n != float64(len(packs)) {
		t.Errorf("--read-data-subset 100%% read %v of %d packs", n, len(packs))
	}

	// repair index after the index files are deleted.
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(t.TempDir(), "t")
	if res := cliRun(t, nil, "-r", repoDir, "restore", "latest", "--target", target); res.code == 0 {
		t.Errorf("restore without an index succeeded:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "--json", "repair", "index")
	var rp map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &rp); err != nil || num(t, rp, "packs") != float64(len(packs)) {
		t.Errorf("repair index --json: %v\n%s", err, res)
	}
	cliOK(t, "-r", repoDir, "check", "--read-data")
	target = filepath.Join(t.TempDir(), "t2")
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target)
	compareTrees(t, scanDir(t, src), scanDir(t, filepath.Join(target, src)), false)
}

func TestCLIStdin(t *testing.T) {
	repoDir := cliNewRepo(t)
	data := randBytes(9, 2<<20)
	res := cliRun(t, bytes.NewReader(data), "-r", repoDir, "--json", "backup", "--stdin", "--stdin-filename", "db.sql")
	if res.code != 0 {
		t.Fatalf("backup --stdin:\n%s", res)
	}
	sum := summaryOf(t, res)
	if num(t, sum, "files_new") != 1 {
		t.Errorf("backup --stdin summary: %v", sum)
	}
	sns := cliSnapshots(t, repoDir)
	if len(sns) != 1 || len(sns[0].Paths) != 1 || sns[0].Paths[0] != "/db.sql" {
		t.Errorf("snapshots after --stdin: %+v", sns)
	}
	d := cliOK(t, "-r", repoDir, "dump", "latest", "/db.sql")
	if !bytes.Equal([]byte(d.stdout), data) {
		t.Errorf("dump of the stdin backup: %d bytes, want %d", len(d.stdout), len(data))
	}
	// A second --stdin backup of the same name has the first as parent and
	// stores nothing new.
	sum = summaryOf(t, cliRun(t, bytes.NewReader(data), "-r", repoDir, "--json", "backup", "--stdin", "--stdin-filename", "db.sql"))
	if num(t, sum, "files_changed") != 1 || num(t, sum, "data_added") > 4096 {
		t.Errorf("second --stdin backup: %v", sum)
	}
	// --stdin-from-command that succeeds.
	res = cliOK(t, "-r", repoDir, "--json", "backup", "--stdin-from-command", "--stdin-filename", "echo.txt", "--", "sh", "-c", "echo hello; echo from-stderr >&2")
	summaryOf(t, res)
	if d := cliOK(t, "-r", repoDir, "dump", "latest", "/echo.txt"); d.stdout != "hello\n" {
		t.Errorf("dump of the command backup: %q", d.stdout)
	}
}

func TestCLIRestoreOptions(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	makeSourceTree(t, src)
	cliBackup(t, repoDir, src)
	sub := "latest:" + src

	// --dry-run writes nothing.
	target := filepath.Join(t.TempDir(), "t")
	rs := summaryOf(t, cliOK(t, "-r", repoDir, "--json", "restore", sub, "--target", target, "--dry-run"))
	if rs["dry_run"] != true || num(t, rs, "files_restored") == 0 {
		t.Errorf("restore --dry-run summary: %v", rs)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("restore --dry-run wrote %d entries", len(ents))
	}
	// Its summary gives no time (a dry run's says nothing of a restore's:
	// it printed "in 0.0s") and says it was a dry run.
	res := cliOK(t, "-r", repoDir, "restore", sub, "--target", target, "--dry-run")
	if !strings.HasPrefix(res.stdout, "would restore snapshot ") || !strings.HasSuffix(res.stdout, " (dry run: nothing was written)\n") ||
		regexp.MustCompile(` in [0-9.]+s\b`).MatchString(res.stdout) {
		t.Errorf("restore --dry-run summary:\n%s", res.stdout)
	}
	// --include / --exclude.
	cliOK(t, "-r", repoDir, "restore", sub, "--target", target, "--include", "*.pdf", "--exclude", "kontrak-002.pdf")
	got := scanDir(t, target)
	var files []string
	for p, st := range got {
		if st.Type == "file" {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	if strings.Join(files, " ") != "upload/2025/ba-serah-terima.pdf upload/2026/kontrak-001.pdf" {
		t.Errorf("restore --include '*.pdf' --exclude kontrak-002.pdf restored %v", files)
	}
	// --overwrite never keeps a changed file; always replaces it.
	p := filepath.Join(target, "upload/2026/kontrak-001.pdf")
	writeFileT(t, p, []byte("local edit"), 0o644)
	cliOK(t, "-r", repoDir, "restore", sub, "--target", target, "--include", "kontrak-001.pdf", "--overwrite", "never")
	if b, _ := os.ReadFile(p); string(b) != "local edit" {
		t.Errorf("--overwrite never replaced the file")
	}
	cliOK(t, "-r", repoDir, "restore", sub, "--target", target, "--include", "kontrak-001.pdf", "--overwrite", "always", "--verify")
	if b, _ := os.ReadFile(p); string(b) == "local edit" {
		t.Errorf("--overwrite always kept the local edit")
	}
	// --overwrite if-changed keeps the unchanged file and gives it the
	// snapshot's mode back; one that others could write is written anew.
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	rs = summaryOf(t, cliOK(t, "-r", repoDir, "--json", "restore", sub, "--target", target, "--include", "kontrak-001.pdf", "--overwrite", "if-changed"))
	if num(t, rs, "files_skipped") != 1 || num(t, rs, "files_kept_metadata_set") != 1 || num(t, rs, "files_restored") != 0 {
		t.Errorf("if-changed over a chmod: %v", rs)
	}
	if now, err := os.Stat(p); err != nil || now.Mode() != fi.Mode() {
		t.Errorf("if-changed left mode %v, want %v (%v)", now.Mode(), fi.Mode(), err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	out := cliOK(t, "-r", repoDir, "restore", sub, "--target", target, "--include", "kontrak-001.pdf", "--overwrite", "if-changed")
	if !strings.Contains(out.stdout, "1 existing non-directory entry kept (1 given the snapshot's mode or extended attributes)") {
		t.Errorf("if-changed summary: %s", out.stdout)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	rs = summaryOf(t, cliOK(t, "-r", repoDir, "--json", "restore", sub, "--target", target, "--include", "kontrak-001.pdf", "--overwrite", "if-changed"))
	if num(t, rs, "files_replaced") != 1 || num(t, rs, "files_restored") != 1 {
		t.Errorf("if-changed over a world-writable file: %v", rs)
	}
	if now, err := os.Stat(p); err != nil || now.Mode() != fi.Mode() {
		t.Errorf("if-changed left mode %v, want %v (%v)", now.Mode(), fi.Mode(), err)
	}
}

// TestCLIInterrupted: a cancelled context (SIGINT/SIGTERM in main) gives
// exit 130, no snapshot and no lock left behind, and kills the dump command.
func TestCLIInterrupted(t *testing.T) {
	repoDir := cliNewRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"cadang", "-r", repoDir, "backup", "--stdin-from-command", "--stdin-filename", "x", "--",
		"sh", "-c", "echo started; sleep 60"}, strings.NewReader(""), &out, &errb)
	if code != exitInterrupted {
		t.Errorf("interrupted backup: exit %d, want %d\n%s%s", code, exitInterrupted, out.String(), errb.String())
	}
	if e := errb.String(); !strings.Contains(e, "cadang: interrupted\n") || strings.Contains(e, "context canceled") {
		t.Errorf("interrupted backup's message: %q, want \"cadang: interrupted\"", e)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("interrupted backup took %s to stop", d)
	}
	if sns := cliSnapshots(t, repoDir); len(sns) != 0 {
		t.Errorf("interrupted backup left %d snapshots", len(sns))
	}
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Errorf("interrupted backup left %d lock files", n)
	}
}

// TestCLIPruneLimitNeedsUnit: --max-unused 10 (a forgotten %) and a
// --max-repack-size without a unit are refused before anything is done,
// by forget --prune too; 0, percentages and sizes with units run.
func TestCLIPruneLimitNeedsUnit(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("x"), 0o644)
	cliBackup(t, repoDir, src)
	cliBackup(t, repoDir, src)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "--max-unused", "10"}, `--max-unused "10" has no unit: write a percentage (10%) or a size with a unit (500M)`},
		{[]string{"forget", "--keep-last", "1", "--prune", "--max-unused", "10"}, `--max-unused "10" has no unit`},
		{[]string{"prune", "--max-repack-size", "500"}, `--max-repack-size "500" has no unit: write a size with a unit (2G)`},
	} {
		res := cliCode(t, exitFatal, append([]string{"-r", repoDir}, tc.args...)...)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("want %q:\n%s", tc.want, res)
		}
	}
	if n := len(cliSnapshots(t, repoDir)); n != 2 {
		t.Errorf("%d snapshots after the refused forget, want 2", n)
	}
	for _, limit := range []string{"0", "10%", "100M", "unlimited"} {
		cliOK(t, "-r", repoDir, "prune", "--dry-run", "--max-unused", limit, "--max-repack-size", "1G")
	}
}

// TestCLIHelpExitCodes: 'cadang help' lists every exit code of the one
// table, 13 (not recorded) included.
func TestCLIHelpExitCodes(t *testing.T) {
	help := strings.Join(strings.Fields(cliOK(t, "help").stdout), " ")
	for _, c := range errclass.ExitCodes() {
		want := fmt.Sprintf("%d %s", c.Code, strings.Join(strings.Fields(c.Meaning), " "))
		if !strings.Contains(help, want) {
			t.Errorf("help does not list exit code %q:\n%s", want, help)
		}
	}
	if !strings.Contains(help, "13 done, but its record could not be written to the run log") {
		t.Errorf("help leaves out exit code 13:\n%s", help)
	}
}

// TestCLIUnknownSnapshotNamedOnce: every command given an ID that matches
// no snapshot names it once, and says how to list the snapshots.
func TestCLIUnknownSnapshotNamedOnce(t *testing.T) {
	repoDir := cliNewRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFileT(t, filepath.Join(src, "f"), []byte("x"), 0o644)
	cliBackup(t, repoDir, src)
	const bad = "1a2b3c4d"
	for _, args := range [][]string{
		{"forget", bad},
		{"forget", "--dry-run", bad},
		{"protect", "--remove", bad},
		{"protect", "--for", "1y", bad},
		{"restore", bad, "--target", filepath.Join(t.TempDir(), "t")},
		{"ls", bad},
		{"tag", "--add", "x", bad},
	} {
		res := cliRun(t, nil, append([]string{"-r", repoDir}, args...)...)
		var line string
		for _, l := range strings.Split(res.stderr, "\n") {
			if strings.HasPrefix(l, "cadang: ") {
				line = l
			}
		}
		if res.code == 0 || strings.Count(line, bad) != 1 || !strings.Contains(line, "snapshot ID "+bad+": no matching snapshot found ('cadang -r "+repoDir+" snapshots' lists the snapshots)") {
			t.Errorf("want the ID named once, and how to list the snapshots:\n%s", res)
		}
		// A mistyped ID is a mistake in the arguments: no failed run
		// for the SOP to ask a follow-up of (restore, and now forget).
		if strings.Contains(res.stderr, "recorded in the run log") {
			t.Errorf("%v recorded a run:\n%s", args, res)
		}
	}
}

// TestCLISourceAndInitHints: a copy's wrong source password or missing
// source gets the source's hints, not the destination's; init on a
// repository says that one exists there.
func TestCLISourceAndInitHints(t *testing.T) {
	src := cliNewRepo(t)
	dst := cliNewRepo(t)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	t.Setenv("CADANG_FROM_PASSWORD", "not the password")
	res := cliCode(t, exitWrongPassword, "-r", dst, "copy", "--from-repo", src)
	if !strings.Contains(res.stderr, "hint: check the source repository's password: --from-password-file") || strings.Contains(res.stderr, "CADANG_PASSWORD,") ||
		strings.Count(res.stderr, src) != 1 {
		t.Errorf("copy with a wrong source password:\n%s", res)
	}
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	missing := filepath.Join(t.TempDir(), "mistyped")
	res = cliCode(t, exitNoRepository, "-r", dst, "copy", "--from-repo", missing)
	if !strings.Contains(res.stderr, "hint: check --from-repo/CADANG_FROM_REPOSITORY") || strings.Contains(res.stderr, "cadang init") {
		t.Errorf("copy from a missing source:\n%s", res)
	}
	res = cliCode(t, exitFatal, "-r", dst, "init")
	if !strings.Contains(res.stderr, "a repository already exists at "+dst) || strings.Contains(res.stderr, "lost+found") {
		t.Errorf("init on a repository:\n%s", res)
	}
}
