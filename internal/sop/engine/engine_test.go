package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/walker"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBackupperHonoursEveryPathOption: a job's source takes the path
// options of `cadang backup` (the SOP's copy of the backup used to drop
// exclude files, exclude-if-present and one-file-system silently), and a
// vanished path makes the run partial rather than failed.
func TestBackupperHonoursEveryPathOption(t *testing.T) {
	ctx := context.Background()
	cfgDir := t.TempDir()
	src := t.TempDir()
	write(t, filepath.Join(src, "dok", "kontrak.pdf"), "kontrak")
	write(t, filepath.Join(src, "dok", "x.tmp"), "tmp")
	write(t, filepath.Join(src, "cache", "c.bin"), "cache")
	write(t, filepath.Join(src, "lama", ".nobackup"), "")
	write(t, filepath.Join(src, "lama", "arsip.pdf"), "arsip")
	write(t, filepath.Join(cfgDir, "exclude.txt"), "cache\n")
	missing := filepath.Join(t.TempDir(), "hilang")

	cfg := &jobs.Config{Path: filepath.Join(cfgDir, "cadang.toml")}
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	b := &engine.Backupper{Config: cfg, Hostname: "spse", ProgramVersion: "test"}
	src0 := jobs.Source{Name: "upload", Paths: []string{src, missing}, Exclude: []string{"*.tmp"},
		ExcludeFile: []string{"exclude.txt"}, ExcludeIfPresent: []string{".nobackup"}, OneFileSystem: true, ReadConcurrency: 2}
	res, err := b.Backup(ctx, r, src0, run.BackupOptions{Job: &jobs.Job{Name: "spse"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], missing+":") {
		t.Errorf("skipped %v, want only %s", res.Skipped, missing)
	}
	id, _ := repo.ParseID(res.Snapshot)
	sn, err := snapshot.LoadSnapshot(ctx, r, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = walker.Walk(ctx, r, sn.Tree, "/", func(p string, n *snapshot.Node) error {
		if n.Type == snapshot.TypeFile {
			got = append(got, strings.TrimPrefix(p, src))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"/dok/kontrak.pdf"}) {
		t.Errorf("files %v, want only /dok/kontrak.pdf", got)
	}
	if !slices.Contains(sn.Tags, engine.TagJob+"spse") || !slices.Contains(sn.Tags, engine.TagSource+"upload") {
		t.Errorf("tags %v", sn.Tags)
	}

	// Nothing readable: a failure of kind source-unreadable, no snapshot.
	_, err = b.Backup(ctx, r, jobs.Source{Name: "kosong", Paths: []string{missing}}, run.BackupOptions{})
	if k := errclass.Kind(err); k != runlog.KindSourceUnreadable || !strings.Contains(err.Error(), missing) {
		t.Errorf("only missing paths: %v (kind %s), want source-unreadable naming the path", err, k)
	}
	// A dump that cannot start is a failed dump.
	_, err = b.Backup(ctx, r, jobs.Source{Name: "db", Command: []string{filepath.Join(cfgDir, "no-such-pg_dump")}, Filename: "db.dump"}, run.BackupOptions{})
	if k := errclass.Kind(err); k != runlog.KindDumpFailed {
		t.Errorf("dump that cannot start: %v (kind %s), want dump-failed", err, k)
	}
}
