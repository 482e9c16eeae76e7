package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestCLICopyOversizedPack: a source pack that the storage gives as larger
// than any pack cadang writes is never loaded whole by copy, which reads
// blobs by range. Where junk was appended, the blobs at their places are
// sound and every snapshot is copied (what check's advice for such a pack
// counts on). Where the file was replaced, the snapshot whose data lay
// only there is not copied: the error names it and the pack, every other
// snapshot is copied, the copy exits non-zero, and the destination holds
// no snapshot that names a blob it lacks (its check --read-data passes).
func TestCLICopyOversizedPack(t *testing.T) {
	t.Run("appended", func(t *testing.T) { testCopyOversizedPack(t, false) })
	t.Run("replaced", func(t *testing.T) { testCopyOversizedPack(t, true) })
}

func testCopyOversizedPack(t *testing.T, replace bool) {
	t.Setenv("CADANG_FROM_PASSWORD", cliTestPassword)
	t.Setenv("CADANG_FROM_PASSWORD_FILE", "")
	src := cliNewRepo(t)
	dir := t.TempDir()
	lost := filepath.Join(dir, "lost")
	kept := filepath.Join(dir, "kept")
	writeFileT(t, filepath.Join(lost, "kontrak.pdf"), randBytes(61, 300<<10), 0o644)
	writeFileT(t, filepath.Join(kept, "dokumen.pdf"), randBytes(62, 200<<10), 0o644)
	lostID := str(t, cliBackup(t, src, lost), "snapshot_id")
	// The pack of the first snapshot's file's data: the second backup
	// stores nothing there.
	rp := openForTest(t, src, cliTestPassword)
	var victim repo.BlobLocation
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.DataBlob {
			victim = l
		}
		return nil
	})
	rp.Close()
	if victim.Pack == (repo.ID{}) {
		t.Fatal("no data blob in the source")
	}
	keptID := str(t, cliBackup(t, src, kept), "snapshot_id")
	pack := victim.Pack.String()
	file := filepath.Join(src, "data", pack[:2], pack)
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	if replace {
		if err := os.Truncate(file, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(file, 2<<30); err != nil { // sparse
		t.Fatal(err)
	}

	dst := filepath.Join(dir, "dst")
	cliOK(t, "-r", dst, "init", "--copy-chunker-params", "--from-repo", src)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := cliRun(t, nil, "-r", dst, "copy", "--from-repo", src)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<30 {
		t.Errorf("copy allocated %d MiB: it loaded the oversized pack whole", got>>20)
	}
	if !strings.Contains(res.stdout, "copied "+keptID[:8]+" as ") {
		t.Errorf("the snapshot whose data is elsewhere was not copied:\n%s", res)
	}
	want := 2
	if replace {
		want = 1
		if res.code == 0 {
			t.Fatalf("copy past a replaced oversized pack exits 0:\n%s", res)
		}
		if !strings.Contains(res.stderr, pack[:8]) || !strings.Contains(res.stderr, lostID[:8]) {
			t.Errorf("copy's error does not name the oversized pack %s and the snapshot %s:\n%s", pack[:8], lostID[:8], res)
		}
	} else if res.code != 0 || !strings.Contains(res.stdout, "copied "+lostID[:8]+" as ") {
		t.Errorf("copy does not read the sound blobs of a pack with junk appended:\n%s", res)
	}
	if sns := cliSnapshots(t, dst); len(sns) != want {
		t.Errorf("destination holds %d snapshots, want %d: %+v", len(sns), want, sns)
	}
	cliOK(t, "-r", dst, "check", "--read-data")
}
