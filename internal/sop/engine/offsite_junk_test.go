package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/copier"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// TestOffsiteCopyPassesOverForeignSnapshotFile: junk in the medium's
// snapshots/ (uploaded through an append-only server, no password needed)
// made every offsite copy of 'cadang run' partial. A file whose bytes
// match its name but whose seal is not the repository's was never a
// snapshot: the copy warns, naming it, and completes. A snapshot file
// damaged on the medium (its bytes no longer match its name) still counts
// as one not copied.
func TestOffsiteCopyPassesOverForeignSnapshotFile(t *testing.T) {
	ctx := context.Background()
	srcBe := mem.New()
	src := repotest.New(t, srcBe, "pw", repo.InitOptions{})
	dst := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	dir := t.TempDir()
	for i := range 2 {
		snapshottest.WriteFile(t, filepath.Join(dir, fmt.Sprintf("dokumen-%d.pdf", i)), snapshottest.RandBytes(uint64(i+1), 5000))
		if _, err := archiver.NewArchiver(src).Snapshot(ctx, []string{dir}); err != nil {
			t.Fatal(err)
		}
	}
	// Seal byte 1, as a genuine file of another repository would have.
	junk := append([]byte{1}, make([]byte, 200)...)
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	if err := srcBe.Save(ctx, backend.Handle{Type: repo.SnapshotFile, Name: name}, junk); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	c := &engine.Copier{Warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }}
	sns, err := c.Snapshots(ctx, src)
	if err != nil || len(sns) != 2 {
		t.Fatalf("Snapshots: %d, %v", len(sns), err)
	}
	res, err := c.Copy(ctx, dst, src, sns)
	if err != nil || res.Failed != 0 || len(res.Snapshots) != 2 {
		t.Fatalf("Copy beside a junk snapshot file: %+v, %v", res, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "snapshot file "+name[:8]+" of repository") || !strings.Contains(warnings[0], "not written with the repository's key") {
		t.Errorf("warnings: %q", warnings)
	}

	// Damaged on the medium: a name its bytes do not have.
	damaged := strings.Repeat("cd", 32)
	if err := srcBe.Save(ctx, backend.Handle{Type: repo.SnapshotFile, Name: damaged}, junk); err != nil {
		t.Fatal(err)
	}
	if sns, err = c.Snapshots(ctx, src); err != nil {
		t.Fatal(err)
	}
	_, err = c.Copy(ctx, dst, src, sns)
	if !errors.Is(err, copier.ErrIncomplete) || !strings.Contains(err.Error(), damaged[:8]) {
		t.Errorf("Copy beside a damaged snapshot file: %v", err)
	}
}
