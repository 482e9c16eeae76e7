package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"cadang restore latest --target /t --verify", "cadang restore --target /t --verify latest"},
		{"cadang -r /r restore latest:/etc -t /t", "cadang -r /r restore -t /t latest:/etc"},
		{"cadang backup /srv --json --tag a", "cadang --json backup --tag a /srv"},
		{"cadang backup --stdin-from-command --stdin-filename x.dump -- pg_dump -Fc --verbose db", "cadang backup --stdin-from-command --stdin-filename x.dump -- pg_dump -Fc --verbose db"},
		{"cadang key add --new-password-file f", "cadang key add --new-password-file f"},
		{"cadang check --read-data-subset=5%", "cadang check --read-data-subset=5%"},
		{"cadang nosuch a --b", "cadang nosuch a --b"},
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// ls writes a name as it is unless it could be read as another name: a
// name with control characters, one that would read as holding an escape,
// and one that begins with a quote are quoted, so that a quoted name is
// never one that was written as it is.
func TestQuoteName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/srv/spse/dok.pdf", "/srv/spse/dok.pdf"},
		{"/srv/a\nb", `"/srv/a\nb"`},
		{`/srv/a\u000ab`, `"/srv/a\\u000ab"`},
		{`"/srv/a\nb"`, `"\"/srv/a\\nb\""`},
		{"/srv/file\u202egpj.exe", `"/srv/file\u202egpj.exe"`},
		{"/srv/bad\x9b", `"/srv/bad\x9b"`},
		{`C:\Users`, `C:\Users`},
		{`C:\xampp\htdocs`, `C:\xampp\htdocs`},
		{"/srv/p -> q", `"/srv/p -> q"`},
		{"/srv/\ufffd.txt", "\"/srv/\ufffd.txt\""}, // quoted, as invalid bytes are
	} {
		if got := quoteName(c.in); got != c.want {
			t.Errorf("quoteName(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// A name with a newline inside an error (here the repository path) cannot
// start a line that reads as cadang's own: the error's further lines are
// indented.
func TestErrorLinesIndented(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", "pw")
	res := cliRun(t, nil, "-r", filepath.Join(t.TempDir(), "x\nhint: all backups are fine"), "snapshots")
	if res.code == 0 || strings.Contains("\n"+res.stderr, "\nhint: all backups are fine") ||
		!strings.Contains(res.stderr, "x\n  hint: all backups are fine") {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// prune names the locks it waits for, and says what ends each.
func TestWaitingLockText(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	l := repo.LockInfo{ID: repo.ID{0xab}, Host: "spse", Username: "root", PID: 4242, Time: now.Add(-2 * time.Minute), Started: now.Add(-time.Hour)}
	dead := func(int) bool { return true }
	alive := func(int) bool { return false }
	if got := waitingLockText(l, now, "spse", dead); !strings.Contains(got, "shared lock ab000000 held by root@spse (PID 4242)") ||
		!strings.Contains(got, "last refreshed 2m0s ago: PID 4242 is not running on this host") || !strings.HasSuffix(got, "the next prune then deletes the packs it holds back") {
		t.Errorf("dead process: %s", got)
	}
	if got := waitingLockText(l, now, "spse", alive); strings.Contains(got, ":") && strings.Contains(got, "unlock") {
		t.Errorf("live process: %s", got)
	}
	if got := waitingLockText(l, now, "other-host", dead); strings.Contains(got, "not running") {
		t.Errorf("another host's lock: %s", got)
	}
	l.Time = now.Add(-35 * time.Minute)
	if got := waitingLockText(l, now, "other-host", dead); !strings.Contains(got, "not refreshed for more than 30m0s") || strings.Contains(got, "not running") {
		t.Errorf("an old lock of another host: %s", got)
	}
}

// An interrupted SOP run exits as an interrupted command (130, or 141
// when a closed output pipe stopped it), not as a failed one (1).
func TestRunErrorInterrupted(t *testing.T) {
	err := runError(&soprun.FailedError{Record: runlog.Record{Result: runlog.Failed, Failure: runlog.KindInterrupted}})
	if !errors.Is(err, context.Canceled) || exitCode(err) != exitInterrupted {
		t.Fatalf("interrupted run: %v, exit %d", err, exitCode(err))
	}
}

// filterText says the filter as the flags that gave it: --job NAME, not
// the job:NAME tag it stands for.
func TestFilterTextJob(t *testing.T) {
	for _, c := range []struct {
		f    snapshot.Filter
		want string
	}{
		{snapshot.Filter{Tags: [][]string{{"job:spse-db"}}}, "--job spse-db"},
		{snapshot.Filter{Tags: [][]string{{"db", "job:spse-db"}, {"x", "job:spse-db"}}, Hosts: []string{"h"}}, "--host h --tag db --tag x --job spse-db"},
		{snapshot.Filter{Tags: [][]string{{"db", "job:a"}, {"job:b"}}}, "--tag db,job:a --tag job:b"},
		{snapshot.Filter{Tags: [][]string{{"db", "daily"}}, Paths: []string{"/srv"}}, "--tag db,daily --path /srv"},
		{snapshot.Filter{}, ""},
	} {
		if got := filterText(c.f); got != c.want {
			t.Errorf("filterText(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// 'cadang help report' printed the command without its subcommands
// (urfave/cli's template stops there); it now lists them as --help does.
func TestHelpListsSubcommands(t *testing.T) {
	for _, args := range [][]string{{"help", "report"}, {"help", "job"}, {"help", "job", "schedule"}, {"h", "followup"}} {
		res := cliRun(t, nil, args...)
		if res.code != 0 || !strings.Contains(res.stdout, "COMMANDS:") {
			t.Errorf("cadang %s: no list of commands:\n%s", strings.Join(args, " "), res)
		}
	}
	if res := cliRun(t, nil, "help", "backup"); res.code != 0 || !strings.Contains(res.stdout, "--stdin-from-command") {
		t.Errorf("cadang help backup:\n%s", res)
	}
	if res := cliRun(t, nil, "help", "report", "monthly"); res.code != 0 || !strings.Contains(res.stdout, "--month") {
		t.Errorf("cadang help report monthly:\n%s", res)
	}
}
