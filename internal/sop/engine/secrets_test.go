package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/walker"
)

// TestOpenerWarnsOfReadablePasswordFile: a medium's password file that
// others can read still opens the repository, with a warning naming it
// and its mode; a private one gives none.
func TestOpenerWarnsOfReadablePasswordFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	loc := filepath.Join(dir, "repo")
	be, err := local.Create(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := repotest.New(t, be, "medium-pw", repo.InitOptions{}).Close(); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "disk-a.pw")
	if err := os.WriteFile(pw, []byte("medium-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o600} {
		if err := os.Chmod(pw, mode); err != nil {
			t.Fatal(err)
		}
		var warnings, notices []string
		o := &engine.Opener{
			Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
			Logf:  func(f string, a ...any) { notices = append(notices, fmt.Sprintf(f, a...)) },
		}
		r, err := o.Open(ctx, jobs.Medium{Name: "disk-A", Repository: loc, PasswordFile: pw})
		if err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
		r.Close()
		switch {
		case mode == 0o600 && len(warnings) != 0:
			t.Errorf("a private password file gave warnings %q", warnings)
		case mode == 0o644 && (len(warnings) != 1 || !strings.Contains(warnings[0], pw) || !strings.Contains(warnings[0], "mode 0644")):
			t.Errorf("mode 0644: warnings %q (notices %q), want one naming %s and its mode", warnings, notices, pw)
		}
	}
}

// TestDumpSourceDoesNotStorePassword: a job's dump source that prints its
// environment stores no repository password in the snapshot.
func TestDumpSourceDoesNotStorePassword(t *testing.T) {
	ctx := context.Background()
	t.Setenv("CADANG_PASSWORD", "repo-password-a61f")
	t.Setenv("PGPASSWORD", "pg-password-for-the-job")
	be := mem.New()
	if err := repotest.New(t, be, "pw", repo.InitOptions{}).Close(); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{Lock: repo.SharedLock}) // as a run holds it
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := &engine.Backupper{Hostname: "spse", ProgramVersion: "test"}
	src := jobs.Source{Name: "database", Command: []string{"env"}, Filename: "env.txt"}
	res, err := b.Backup(ctx, r, src, run.BackupOptions{Job: &jobs.Job{Name: "spse"}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := repo.ParseID(res.Snapshot)
	sn, err := snapshot.LoadSnapshot(ctx, r, id)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := walker.Dump(ctx, r, sn, "/env.txt", &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "repo-password-a61f") {
		t.Errorf("the job's dump stored CADANG_PASSWORD:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "PGPASSWORD=pg-password-for-the-job") {
		t.Errorf("the job's dump lost PGPASSWORD:\n%s", out.String())
	}
}
