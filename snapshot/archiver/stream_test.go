package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

func TestArchiveReader(t *testing.T) {
	r := newTestRepo(t)
	data := snapshottest.RandBytes(11, 2<<20+5)
	a := &Archiver{Repo: r, Hostname: "h"}
	sn, err := a.ArchiveReader(context.Background(), "stdin.bin", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(sn.Paths) != 1 || sn.Paths[0] != "/stdin.bin" {
		t.Errorf("paths %v", sn.Paths)
	}
	if got := dumpFile(t, r, sn, "/stdin.bin"); !bytes.Equal(got, data) {
		t.Error("content differs")
	}
	n, err := walker.FindNode(context.Background(), r, sn.Tree, "/stdin.bin")
	if err != nil || n.Size != int64(len(data)) || n.Mode != 0o600 {
		t.Errorf("node %+v %v", n, err)
	}
	if sn.Summary.FilesNew != 1 || sn.Summary.BytesRead != uint64(len(data)) {
		t.Errorf("summary %+v", sn.Summary)
	}
	// A second identical stream adds nothing but a tree.
	sn2, err := a.ArchiveReader(context.Background(), "stdin.bin", bytes.NewReader(data))
	if err != nil || sn2.Summary.DataBlobs != 0 || sn2.Parent == nil {
		t.Errorf("second: %v %+v", err, sn2.Summary)
	}
	if _, err := a.ArchiveReader(context.Background(), "a/b", bytes.NewReader(nil)); err == nil {
		t.Error("a name with a slash was accepted")
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 1<<20 {
		return 0, errors.New("stdin broke")
	}
	f.n += len(p)
	return len(p), nil
}

func TestArchiveReaderErrorWritesNoSnapshot(t *testing.T) {
	r := newTestRepo(t)
	_, err := NewArchiver(r).ArchiveReader(context.Background(), "x", &failingReader{})
	if err == nil || !strings.Contains(err.Error(), "stdin broke") {
		t.Fatalf("got %v", err)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
}

func needSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
}

func TestSnapshotFromCommand(t *testing.T) {
	needSh(t)
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h"}
	sn, err := a.SnapshotFromCommand(context.Background(), "numbers.txt", []string{"sh", "-c", "seq 1 200000; echo progress >&2"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("seq", "1", "200000").Output()
	if got := dumpFile(t, r, sn, "/numbers.txt"); !bytes.Equal(got, out) {
		t.Errorf("content differs: %d vs %d bytes", len(got), len(out))
	}
}

func TestSnapshotFromCommandFails(t *testing.T) {
	needSh(t)
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h"}
	var stderr bytes.Buffer
	a.CommandStderr = &stderr
	script := `seq 1 100000; for i in $(seq 1 30); do echo "line $i" >&2; done; echo 'pg_dump: error: database "nope" does not exist' >&2; exit 3`
	_, err := a.SnapshotFromCommand(context.Background(), "db.dump", []string{"sh", "-c", script})
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("want CommandError, got %v", err)
	}
	if ce.ExitCode != 3 || ce.Signal != "" {
		t.Errorf("exit %d signal %q", ce.ExitCode, ce.Signal)
	}
	lines := strings.Split(ce.Stderr, "\n")
	if len(lines) != StderrTailLines || !strings.Contains(lines[len(lines)-1], `database "nope" does not exist`) || lines[0] != "line 12" {
		t.Errorf("stderr tail: %q", ce.Stderr)
	}
	if !strings.Contains(err.Error(), "exited with status 3") || !strings.Contains(err.Error(), "no snapshot") {
		t.Errorf("message: %v", err)
	}
	if !strings.Contains(stderr.String(), "line 1\n") {
		t.Error("stderr not passed through")
	}
	if n := r.FileCount(repo.SnapshotFile); n != 0 {
		t.Errorf("%d snapshots written", n)
	}
}

func TestSnapshotFromCommandKilled(t *testing.T) {
	needSh(t)
	r := newTestRepo(t)
	a := &Archiver{Repo: r}
	_, err := a.SnapshotFromCommand(context.Background(), "x", []string{"sh", "-c", "seq 1 1000; echo dying >&2; kill -9 $$"})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Signal != "killed" || ce.ExitCode != -1 || ce.Stderr != "dying" {
		t.Fatalf("got %#v", err)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
	// A command that does not exist.
	_, err = a.SnapshotFromCommand(context.Background(), "x", []string{"/nonexistent/cmd"})
	if !errors.As(err, &ce) {
		t.Errorf("got %v", err)
	}
}

func TestSnapshotFromCommandCancelled(t *testing.T) {
	needSh(t)
	r := newTestRepo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewArchiver(r).SnapshotFromCommand(ctx, "x", []string{"sh", "-c", "echo start; sleep 30"})
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	if r.FileCount(repo.SnapshotFile) != 0 {
		t.Error("snapshot written")
	}
}

func TestSnapshotFromCommandRepoFailureKillsCommand(t *testing.T) {
	needSh(t)
	r := newTestRepo(t)
	r.FailSaveBlobAfter.Store(3)
	start := time.Now()
	// Endless output; the backup must stop it when the repository fails.
	_, err := NewArchiver(r).SnapshotFromCommand(context.Background(), "x", []string{"sh", "-c", "while :; do head -c 1000000 /dev/urandom; done"})
	if err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	_ = fmt.Sprint
}

// TestSnapshotFromCommandHidesSecrets backs up the output of `env`: the
// repository password in CADANG_PASSWORD (and the other CADANG_*PASSWORD*
// variables) must not end up in the backup, while the variables a dump
// needs (PGPASSWORD, PATH) still reach it.
func TestSnapshotFromCommandHidesSecrets(t *testing.T) {
	needSh(t)
	t.Setenv("CADANG_PASSWORD", "repo-password-7f3a")
	t.Setenv("CADANG_FROM_PASSWORD", "source-password-91c2")
	t.Setenv("PGPASSWORD", "pg-password-for-the-dump")
	r := newTestRepo(t)
	a := &Archiver{Repo: r, Hostname: "h"}
	sn, err := a.SnapshotFromCommand(context.Background(), "env.txt", []string{"env"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(dumpFile(t, r, sn, "/env.txt"))
	for _, secret := range []string{"repo-password-7f3a", "source-password-91c2"} {
		if strings.Contains(got, secret) {
			t.Errorf("the backup of the command's output holds %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "PGPASSWORD=pg-password-for-the-dump") || !strings.Contains(got, "PATH=") {
		t.Errorf("the dump command lost variables it needs:\n%s", got)
	}
}

// A failed command is named as a shell would read it back: quoted as a
// whole after joining, 'sh -c "a >&2; exit 2"' read as sh -c a >&2; exit 2
// (README walk), and a quote inside broke the quoting.
func TestCommandErrorNamesArgv(t *testing.T) {
	e := &CommandError{Command: []string{"sh", "-c", "echo 'x' >&2; exit 2", ""}, ExitCode: 2}
	want := `command sh -c 'echo '\''x'\'' >&2; exit 2' '' exited with status 2; no snapshot was saved`
	if got := e.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e = &CommandError{Command: []string{"pg_dump", "-Fc", "-h", "127.0.0.1", "--dbname=spse"}, ExitCode: 1}
	if got := e.Error(); !strings.HasPrefix(got, "command pg_dump -Fc -h 127.0.0.1 --dbname=spse exited") {
		t.Errorf("plain words quoted: %s", got)
	}
}
