package engine_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/restoretest"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

// TestRestoreTestIsUnprivileged: the SOP's restore test, which runs as
// root on the backup server, restores a setuid file with a file capability
// as a plain file: no setuid, no security.capability (issue 13).
func TestRestoreTestIsUnprivileged(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "ping")
	snapshottest.WriteFile(t, f, []byte("#!/bin/sh\n"))
	if err := unix.Chmod(f, 0o4755); err != nil {
		t.Fatal(err)
	}
	caps := false
	if os.Geteuid() == 0 {
		v := make([]byte, 20) // VFS_CAP_REVISION_2, effective, CAP_NET_RAW
		binary.LittleEndian.PutUint32(v[0:], 0x02000000|1)
		binary.LittleEndian.PutUint32(v[4:], 1<<unix.CAP_NET_RAW)
		caps = unix.Setxattr(f, "security.capability", v, 0) == nil
	}
	if !caps {
		t.Log("security.capability not set (not root, or not supported): only setuid is tested")
	}
	r := snapshottest.New(snapshottest.SmallParams)
	sn, err := archiver.NewArchiver(r).Snapshot(ctx, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	s := &engine.Source{Repo: r}
	dir := t.TempDir()
	items, err := s.Restore(ctx, restoretest.Snapshot{ID: sn.ID().String()}, []restoretest.File{{Path: f, Size: 10}}, dir)
	if err != nil || len(items) != 1 || !items[0].OK {
		t.Fatalf("restore test: %v %+v", err, items)
	}
	p := filepath.Join(dir, f)
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o755 {
		t.Errorf("restored with mode %04o, want 0755", st.Mode&0o7777)
	}
	if caps {
		if _, err := unix.Getxattr(p, "security.capability", make([]byte, 64)); err == nil {
			t.Error("the file capability was restored")
		}
	}
}
