package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

var failed = runlog.Record{ID: "20260110-021000-abcd", Seq: 7, Op: runlog.OpBackup, Job: "spse-prod", Medium: "disk-B",
	Host: "lpse-srv", Operator: "budi", Result: runlog.Failed, Failure: runlog.KindMedia,
	Start: time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 10, 2, 0, 5, 0, time.UTC), DurationMS: 5000,
	Message: "wrong medium connected", Errors: []string{"expected repository bbbb, found aaaa (disk-A)"}}

func TestHookReceivesRecord(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got.json")
	script := filepath.Join(dir, "hook.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncat > "+out+"\necho \"$CADANG_RUN_ID $CADANG_FAILURE\" > "+out+".env\n"), 0o755)
	n := &Notifier{}
	if err := n.Notify(context.Background(), jobs.Notify{Hook: []string{script}}, failed); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got runlog.Record
	if err := json.Unmarshal(b, &got); err != nil || got.ID != failed.ID || got.Failure != runlog.KindMedia || got.Errors[0] != failed.Errors[0] {
		t.Fatalf("hook got %s (%v)", b, err)
	}
	env, _ := os.ReadFile(out + ".env")
	if strings.TrimSpace(string(env)) != failed.ID+" media" {
		t.Errorf("env: %q", env)
	}
	// a failing hook is an error that quotes its output
	bad := filepath.Join(dir, "bad.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\necho cannot reach pager >&2\nexit 3\n"), 0o755)
	err = RunHook(context.Background(), []string{bad}, time.Second, failed)
	if err == nil || !strings.Contains(err.Error(), "cannot reach pager") {
		t.Fatalf("bad hook: %v", err)
	}
}

// smtpServer is a minimal SMTP server on loopback that records one session.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	cmds []string
	data string
	done chan struct{}
}

func startSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, done: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *smtpServer) serve() {
	defer close(s.done)
	c, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		s.mu.Unlock()
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			say("250-test\r\n250 AUTH PLAIN")
		case "AUTH":
			say("235 ok")
		case "MAIL", "RCPT":
			say("250 ok")
		case "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func TestMailOverLoopbackSMTP(t *testing.T) {
	srv := startSMTP(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("rahasia\n"), 0o600)
	n := &Notifier{
		SMTP: &jobs.SMTP{Server: srv.ln.Addr().String(), From: "cadang <cadang@lpse.test>", Username: "cadang", PasswordFile: pw},
		Loc:  time.UTC, Now: func() time.Time { return failed.End },
	}
	err := n.Notify(context.Background(), jobs.Notify{Email: []string{"Kepala LPSE <kepala@lpse.test>", "admin@lpse.test"}}, failed)
	if err != nil {
		t.Fatal(err)
	}
	<-srv.done
	cmds := strings.Join(srv.cmds, "\n")
	for _, want := range []string{"MAIL FROM:<cadang@lpse.test>", "RCPT TO:<kepala@lpse.test>", "RCPT TO:<admin@lpse.test>", "AUTH PLAIN"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("server did not see %q in:\n%s", want, cmds)
		}
	}
	for _, want := range []string{"Subject: [cadang] Backup GAGAL: spse-prod - Media backup", "X-Cadang-Run-ID: " + failed.ID, "Media backup salah atau tidak terpasang",
		"expected repository bbbb", "cadang report failure " + failed.ID, "Kepala LPSE"} {
		if !strings.Contains(srv.data, want) {
			t.Errorf("message lacks %q:\n%s", want, srv.data)
		}
	}
}

func TestMailWithoutServerConfigured(t *testing.T) {
	err := (&Notifier{}).Notify(context.Background(), jobs.Notify{Email: []string{"a@b"}}, failed)
	if err == nil || !strings.Contains(err.Error(), "[smtp]") {
		t.Fatal(err)
	}
	if ShouldNotify(&runlog.Record{Op: runlog.OpBackup, Result: runlog.OK}) || !ShouldNotify(&failed) {
		t.Fatal("ShouldNotify")
	}
}

// TestHookHidesSecrets: a hook gets the run's variables but not the
// repository passwords cadang was started with.
func TestHookHidesSecrets(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", "repo-password-5d1e")
	t.Setenv("CADANG_FROM_PASSWORD", "source-password-0b7c")
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat >/dev/null\nenv > "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := RunHook(context.Background(), []string{script}, 10*time.Second, failed); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	if strings.Contains(env, "repo-password-5d1e") || strings.Contains(env, "source-password-0b7c") {
		t.Errorf("the hook saw a password:\n%s", env)
	}
	if !strings.Contains(env, "CADANG_RUN_ID="+failed.ID) || !strings.Contains(env, "PATH=") {
		t.Errorf("the hook lost its variables:\n%s", env)
	}
}

// TestMailWarnsOfReadablePasswordFile: an SMTP password file that others
// can read is still used, with a warning that names it and its mode.
func TestMailWarnsOfReadablePasswordFile(t *testing.T) {
	srv := startSMTP(t)
	pw := filepath.Join(t.TempDir(), "smtp.pw")
	if err := os.WriteFile(pw, []byte("rahasia\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pw, 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	n := &Notifier{
		SMTP:  &jobs.SMTP{Server: srv.ln.Addr().String(), From: "cadang@lpse.test", Username: "cadang", PasswordFile: pw},
		Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
	}
	if err := n.Notify(context.Background(), jobs.Notify{Email: []string{"admin@lpse.test"}}, failed); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	if len(warnings) != 1 || !strings.Contains(warnings[0], pw) || !strings.Contains(warnings[0], "mode 0644") {
		t.Errorf("warnings %q, want one naming %s and its mode", warnings, pw)
	}
}

// TestPing: the healthchecks.io-style URLs, the body as the ping's log, and
// a bounded wait for a server that does not answer.
func TestPing(t *testing.T) {
	var mu sync.Mutex
	var got []string
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			<-hang
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	defer close(hang)
	ctx := context.Background()
	for _, ev := range []string{PingStart, PingSuccess, PingFail} {
		if err := Ping(ctx, srv.URL+"/uuid", ev, time.Second, "run "+ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"POST /uuid/start run start", "POST /uuid run ", "POST /uuid/fail run fail"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pings %q, want %q", got, want)
	}
	start := time.Now()
	if err := Ping(ctx, srv.URL+"/slow", PingStart, 200*time.Millisecond, ""); err == nil {
		t.Error("a server that does not answer gave no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hanging ping took %v, bounded by 200ms", d)
	}
	if err := Ping(ctx, "", PingStart, 0, ""); err != nil {
		t.Errorf("no URL: %v", err)
	}
}
