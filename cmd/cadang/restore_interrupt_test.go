package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo/backend/rest/server"
)

// gatedHandler serves every request but holds back the reads of data
// packs (packs of more than 1 MiB; tree packs are smaller) but the first:
// they wait until release is closed or their client goes away.
type gatedHandler struct {
	h       http.Handler
	data    string // the repository's data directory on the server
	mu      sync.Mutex
	first   string // the one data pack let through
	release chan struct{}
}

func (g *gatedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "/data/"); r.Method == http.MethodGet && i >= 0 {
		id := r.URL.Path[i+len("/data/"):]
		if fi, err := os.Stat(filepath.Join(g.data, id[:min(2, len(id))], id)); err == nil && fi.Size() > 1<<20 {
			g.mu.Lock()
			if g.first == "" {
				g.first = id
			}
			hold := g.first != id
			g.mu.Unlock()
			if hold {
				select {
				case <-g.release:
				case <-r.Context().Done():
					return
				}
			}
		}
	}
	g.h.ServeHTTP(w, r)
}

// A restore interrupted while it writes says on stderr what the target
// holds and how to finish it (exit 130), and that advice works: the same
// restore with --overwrite if-changed completes the tree. The restore is
// held between two pack reads, so that it is interrupted with files
// written and others not, whatever the machine's speed.
func TestCLIRestoreInterruptedAdvice(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	logPath := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", logPath)
	root := t.TempDir()
	s, err := server.New(server.Config{Root: root, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedHandler{h: s, data: filepath.Join(root, "spse", "data"), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gate}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	loc := "rest:http://" + ln.Addr().String() + "/spse"

	src := filepath.Join(t.TempDir(), "src")
	for i := range 400 { // one blob each, in about three packs of the default 4 MiB
		writeFileT(t, filepath.Join(src, fmt.Sprintf("f%03d", i)), randBytes(uint64(i+1), 30<<10), 0o644)
	}
	cliBackup(t, loc, "--init", src)
	want := scanDir(t, src)

	target := filepath.Join(t.TempDir(), "restore")
	cmd := cliProcess(t, "-r", loc, "restore", "latest", "--target", target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a finished file (its time, the source's, is set last): the
	// first pack has been written.
	srcTime := make(map[string]time.Time)
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if fi, ierr := d.Info(); err == nil && ierr == nil && fi.Mode().IsRegular() {
			srcTime[filepath.Base(p)] = fi.ModTime()
		}
		return nil
	})
	deadline := time.Now().Add(30 * time.Second)
	for written := false; !written; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no file restored in 30 s:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
		filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Equal(srcTime[d.Name()]) {
				written = true
			}
			return nil
		})
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	msg := stderr.String()
	if code != 130 || !strings.Contains(msg, "restore interrupted: "+target+" holds the files restored so far") ||
		!strings.Contains(msg, "the same restore with --overwrite if-changed finishes it") ||
		!strings.Contains(msg, "its directories keep mode 0700") {
		t.Fatalf("interrupted restore: exit %d (%v), stderr:\n%s", code, err, msg)
	}
	got := scanDir(t, filepath.Join(target, src))
	if len(got) >= len(want) {
		t.Fatalf("the restore was not interrupted before its end: %d of %d entries", len(got), len(want))
	}
	for p, st := range got {
		if w, ok := want[p]; !ok || st.Hash != w.Hash {
			t.Fatalf("%s: left unfinished or not the source's after the interrupt", p)
		}
	}
	// The run log (and the restore minutes made from it) says what is
	// complete, and which snapshot: not "0 files" and "context canceled".
	var line struct {
		Record runlog.Record `json:"record"`
	}
	if b, err := os.ReadFile(logPath); err != nil {
		t.Fatal(err)
	} else {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
			t.Fatal(err)
		}
	}
	rec := line.Record
	files := 0
	for _, st := range got {
		if st.Type == "file" {
			files++
		}
	}
	if rec.Op != runlog.OpRestore || rec.Result != runlog.Failed || rec.Failure != runlog.KindInterrupted || rec.Note == nil ||
		rec.Note.Code != "restore-interrupted" || rec.Message != "" || rec.FilesRead != int64(files) || files == 0 ||
		rec.Restore == nil || len(rec.Restore.Snapshot) != 64 {
		t.Errorf("the interrupted restore's record (%d files complete): %+v %+v", files, rec, rec.Restore)
	}

	// The advice, followed, finishes the tree.
	close(gate.release)
	res := cliOK(t, "-r", loc, "restore", "latest", "--target", target, "--overwrite", "if-changed")
	if !strings.Contains(res.stdout, " kept") {
		t.Errorf("the finishing restore kept no file:\n%s", res)
	}
	compareTrees(t, want, scanDir(t, filepath.Join(target, src)), false)
}

// A restore killed with SIGKILL cannot remove the temporary files it was
// writing beside the files they replace: they stayed in the target,
// hidden, for good. The next restore into that target removes them (its
// journal says where, and that its restore is dead) and says so on
// stderr.
func TestCLIRestoreAfterSIGKILLRemovesLeftovers(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_REST_PASSWORD", "")
	t.Setenv("CADANG_LOG", filepath.Join(t.TempDir(), "runlog.jsonl"))
	root := t.TempDir()
	s, err := server.New(server.Config{Root: root, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	// Open for the first restore and the last; held (but for the first
	// data pack) for the one that is killed.
	var mu sync.Mutex
	open := make(chan struct{})
	close(open)
	gate := &gatedHandler{h: s, data: filepath.Join(root, "spse", "data"), release: open}
	setGate := func(g *gatedHandler) { mu.Lock(); gate = g; mu.Unlock() }
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		g.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	loc := "rest:http://" + ln.Addr().String() + "/spse"
	src := filepath.Join(t.TempDir(), "src")
	for i := range 2 { // files of several blobs, across packs
		writeFileT(t, filepath.Join(src, fmt.Sprintf("f%d", i)), randBytes(uint64(i+1), 6<<20), 0o644)
	}
	cliBackup(t, loc, "--init", src)
	want := scanDir(t, src)
	target := filepath.Join(t.TempDir(), "restore")
	cliOK(t, "-r", loc, "restore", "latest", "--target", target)

	setGate(&gatedHandler{h: s, data: filepath.Join(root, "spse", "data"), release: make(chan struct{})})
	cmd := cliProcess(t, "-r", loc, "restore", "latest", "--target", target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	leftovers := func() []string {
		var out []string
		filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	// Wait for a file being written beside the one it replaces, and the
	// journal.
	deadline := time.Now().Add(30 * time.Second)
	for l := leftovers(); len(l) < 2; l = leftovers() {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no temporary file in 30 s (%v):\n%s", l, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	left := leftovers()
	if len(left) < 2 {
		t.Fatalf("the killed restore left %v", left)
	}

	setGate(&gatedHandler{h: s, data: filepath.Join(root, "spse", "data"), release: open})
	res := cliOK(t, "-r", loc, "restore", "latest", "--target", target)
	for _, p := range left {
		if strings.HasSuffix(p, ".run") {
			continue // the journal is not named: it holds no data
		}
		if !strings.Contains(res.stderr, "warning: "+p+": removed, left by a restore that was killed (process ") {
			t.Errorf("%s not named as removed:\n%s", p, res)
		}
	}
	if l := leftovers(); len(l) > 0 {
		t.Errorf("still in the target: %v", l)
	}
	got := scanDir(t, filepath.Join(target, src))
	for p, w := range want {
		if got[p].Hash != w.Hash {
			t.Errorf("%s: not the source's", p)
		}
	}
}

// D4: restores with --overwrite always into a complete target (a file
// written beside each one replaced), killed (SIGKILL) at random moments,
// then one let run: no temporary entry of any of them may remain. A kill
// between a temporary file's create and its journal line (workers wait for
// the journal there) left an empty .cadang-restore-* file, 2 kills in 8.
func TestCLIRestoreAfterRandomSIGKILLsLeavesNoLeftovers(t *testing.T) {
	if testing.Short() {
		t.Skip("kills several restores")
	}
	t.Setenv("CADANG_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_REPOSITORY", "")
	t.Setenv("CADANG_PASSWORD_FILE", "")
	t.Setenv("CADANG_PASSWORD_COMMAND", "")
	t.Setenv("CADANG_LOG", filepath.Join(t.TempDir(), "runlog.jsonl"))
	repoDir := filepath.Join(t.TempDir(), "repo")
	src := filepath.Join(t.TempDir(), "src")
	for i := range 1500 {
		writeFileT(t, filepath.Join(src, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d", i)), randBytes(uint64(i+1), 1024+i%4096), 0o644)
	}
	cliBackup(t, repoDir, "--init", src)
	want := scanDir(t, src)
	target := filepath.Join(t.TempDir(), "restore")
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target)
	leftovers := func() []string {
		var out []string
		filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".cadang-restore-") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	killed := 0
	for range 6 {
		cmd := cliProcess(t, "-r", repoDir, "restore", "latest", "--target", target, "--overwrite", "always")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once it writes temporary files, a random moment later.
		deadline := time.Now().Add(30 * time.Second)
		for len(leftovers()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err != nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no restore was killed: the test tests nothing")
	}
	cliOK(t, "-r", repoDir, "restore", "latest", "--target", target, "--overwrite", "always")
	if l := leftovers(); len(l) > 0 {
		t.Errorf("after %d restores killed, still in the target: %v", killed, l)
	}
	got := scanDir(t, filepath.Join(target, src))
	for p, w := range want {
		if got[p].Hash != w.Hash {
			t.Errorf("%s: not the source's", p)
		}
	}
}
