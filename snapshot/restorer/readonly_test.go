package restorer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/internal/testexec"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// Read-only files restored by a user who is not root, with the open-file
// cap forcing each file to be closed and opened again between its blobs:
// a file created with its final mode 0444 could not be reopened for
// writing (EACCES), and the restore failed and removed it (review of
// 016afd6). As root the test runs itself again as nobody.
func TestRestoreReadOnlyFilesUnderFdCap(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv("CADANG_TEST_NONROOT") == "" {
		rerunAsNobody(t, "TestRestoreReadOnlyFilesUnderFdCap")
		return
	}
	src := filepath.Join(t.TempDir(), "src")
	for i := range 40 {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%03d", i))
		snapshottest.WriteFile(t, p, snapshottest.RandBytes(uint64(1000+i), 300<<10+i*97))
		if err := os.Chmod(p, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	r := snapshottest.New(testParams)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := filepath.Join(t.TempDir(), "t")
	rs := &Restorer{Repo: newStripedRepo(t, r, sn), Workers: 2, MaxOpenFiles: 3}
	sum, err := rs.Restore(context.Background(), sn, "/", target)
	if err != nil || len(sum.FailedFiles) > 0 {
		t.Fatalf("restore of read-only files as uid %d: %v (%d failed: %v)", os.Geteuid(), err, len(sum.FailedFiles), sum.FailedFiles)
	}
	snapshottest.CompareTrees(t, snapshottest.ScanTree(t, src), snapshottest.ScanTree(t, filepath.Join(target, src)))
}

// rerunAsNobody runs the test named test again in a copy of this test
// binary as uid/gid 65534, and fails t if it fails.
func rerunAsNobody(t *testing.T, test string) {
	t.Helper()
	dir, bin := testexec.PublicCopy(t, "restorer.test")
	tmp := filepath.Join(dir, "tmp") // the child's own temporary directory
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, testexec.Nobody, testexec.Nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CADANG_TEST_NONROOT=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.Dir = dir
	testexec.AsNobody(cmd)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s as nobody: %v\n%s", test, err, b)
	}
}
