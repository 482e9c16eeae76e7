package restorer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/testexec"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"golang.org/x/sys/unix"
)

func modeOf(t *testing.T, p string) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode & 0o7777
}

// TestRestoreNoOwnerDropsSetuid: without the snapshot's owners, setuid and
// setgid files would belong to the restoring user with those bits: they
// are dropped (a directory keeps setgid and sticky).
func TestRestoreNoOwnerDropsSetuid(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	modes := map[string]uint32{"suid": 0o4755, "sgid": 0o2755, "both": 0o6711, "plain": 0o640}
	for name, m := range modes {
		p := filepath.Join(src, name)
		snapshottest.WriteFile(t, p, []byte(name))
		if err := os.Chmod(p, os.FileMode(m&0o777)|map[bool]os.FileMode{true: os.ModeSetuid}[m&0o4000 != 0]|map[bool]os.FileMode{true: os.ModeSetgid}[m&0o2000 != 0]); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"gdir", "tmp"} {
		if err := os.Mkdir(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unix.Chmod(filepath.Join(src, "gdir"), 0o2775)
	unix.Chmod(filepath.Join(src, "tmp"), 0o1777)
	if err := unix.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	unix.Chmod(filepath.Join(src, "fifo"), 0o4644)
	// A hardlink group is one inode: counted once, by its first name.
	snapshottest.WriteFile(t, filepath.Join(src, "hl1"), []byte("linked"))
	unix.Chmod(filepath.Join(src, "hl1"), 0o4755)
	for _, n := range []string{"hl2", "hl3"} {
		if err := os.Link(filepath.Join(src, "hl1"), filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)

	// The summary names what lost a bit, as paths in the target, the
	// same in a dry run and a run; a re-run that keeps the files (and
	// gives them the snapshot's mode, not a FIFO) names the files again.
	target := t.TempDir()
	in := func(names ...string) []string {
		var ps []string
		for _, n := range names {
			ps = append(ps, filepath.Join(target, src, n))
		}
		return ps
	}
	for _, c := range []struct {
		what string
		rs   Restorer
		want []string
	}{
		{"dry run", Restorer{Repo: r, NoOwner: true, DryRun: true}, in("both", "fifo", "hl1", "sgid", "suid")},
		{"run", Restorer{Repo: r, NoOwner: true, Verify: true}, in("both", "fifo", "hl1", "sgid", "suid")},
		{"re-run keeping the files", Restorer{Repo: r, NoOwner: true, Overwrite: OverwriteIfChanged}, in("both", "hl1", "sgid", "suid")},
		{"dry re-run keeping the files", Restorer{Repo: r, NoOwner: true, Overwrite: OverwriteIfChanged, DryRun: true}, in("both", "hl1", "sgid", "suid")},
	} {
		sum, err := c.rs.Restore(ctx, sn, "/", target)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		got := slices.Sorted(slices.Values(sum.SetIDDroppedPaths))
		if sum.SetIDDropped != uint64(len(c.want)) || !slices.Equal(got, c.want) {
			t.Errorf("%s: %d set-id bits dropped %v, want %v", c.what, sum.SetIDDropped, got, c.want)
		}
	}
	want := map[string]uint32{"suid": 0o755, "sgid": 0o755, "both": 0o711, "plain": 0o640, "gdir": 0o2775, "tmp": 0o1777, "fifo": 0o644, "hl3": 0o755}
	for name, m := range want {
		if got := modeOf(t, filepath.Join(target, src, name)); got != m {
			t.Errorf("--no-owner: %s restored %04o, want %04o", name, got, m)
		}
	}
	if os.Geteuid() != 0 {
		t.Log("not root: setuid with owners is not tested")
		return
	}
	target = t.TempDir()
	sum, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SetIDDropped != 0 || len(sum.SetIDDroppedPaths) != 0 {
		t.Errorf("with owners: %d set-id bits dropped %v, want none", sum.SetIDDropped, sum.SetIDDroppedPaths)
	}
	modes["fifo"], modes["hl3"] = 0o4644, 0o4755
	for name, m := range modes {
		if got := modeOf(t, filepath.Join(target, src, name)); got != m {
			t.Errorf("with owners: %s restored %04o, want %04o", name, got, m)
		}
	}
}

func TestRestoreNoDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating device nodes needs root")
	}
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "f"), []byte("x"))
	if err := unix.Mknod(filepath.Join(src, "mem"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 1))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := unix.Mknod(filepath.Join(src, "disk"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)

	target := t.TempDir()
	sum, err := (&Restorer{Repo: r, NoDevices: true}).Restore(ctx, sn, "/", target)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(src, "disk"), filepath.Join(src, "mem")}; !slices.Equal(sum.SkippedDevices, want) {
		t.Errorf("skipped devices %v, want %v", sum.SkippedDevices, want)
	}
	for _, n := range []string{"mem", "disk"} {
		if _, err := os.Lstat(filepath.Join(target, src, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s restored with NoDevices (%v)", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(target, src, "f")); err != nil {
		t.Error(err)
	}

	target = t.TempDir()
	if _, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(target, src, "mem"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 1) {
		t.Errorf("device not restored by default: %v %+v", err, st)
	}
	// if-changed keeps a device node that is the snapshot's (it was
	// replaced on every run), and replaces one that others may open.
	sum, err = (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 0 || sum.KeptSame != 2 {
		t.Errorf("if-changed over the same devices: %v, %d replaced, %d kept the same; want 0, 2", err, sum.Replaced, sum.KeptSame)
	}
	if err := unix.Chmod(filepath.Join(target, src, "disk"), 0o666); err != nil {
		t.Fatal(err)
	}
	sum, err = (&Restorer{Repo: r, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 1 || modeOf(t, filepath.Join(target, src, "disk")) != modeOf(t, filepath.Join(src, "disk")) {
		t.Errorf("if-changed over a disk node others may open: %v, %d replaced, mode %04o", err, sum.Replaced, modeOf(t, filepath.Join(target, src, "disk")))
	}
}

// capability is a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_BIND_SERVICE.
func capability() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|1)
	binary.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_BIND_SERVICE)
	return b
}

func getXattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func TestRestoreXattrFilter(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f := filepath.Join(src, "f")
	snapshottest.WriteFile(t, f, []byte("#!/bin/sh\n"))
	set := func(p, name string, v []byte) bool {
		err := unix.Lsetxattr(p, name, v, 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if !set(f, "user.a", []byte("A")) {
		t.Skip("no user xattrs on this file system")
	}
	set(f, "user.b", []byte("B"))
	caps := os.Geteuid() == 0 && set(f, "security.capability", capability())
	fifo := filepath.Join(src, "p")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	trusted := os.Geteuid() == 0 && set(fifo, "trusted.t", []byte("T"))
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)

	check := func(rs *Restorer, want map[string]bool) {
		t.Helper()
		target := t.TempDir()
		rs.Repo = r
		if _, err := rs.Restore(ctx, sn, "/", target); err != nil {
			t.Fatal(err)
		}
		for name, present := range want {
			p := filepath.Join(target, f)
			if name == "trusted.t" {
				p = filepath.Join(target, fifo)
			}
			v, err := getXattr(p, name)
			if present != (err == nil) {
				t.Errorf("%+v: %s present=%v (%v), want %v", rs, name, err == nil, err, present)
			}
			if present && name == "security.capability" && !bytes.Equal(v, capability()) {
				t.Errorf("capability restored as %x", v)
			}
		}
	}
	all := map[string]bool{"user.a": true, "user.b": true}
	if caps {
		all["security.capability"] = true
	} else {
		t.Log("security.capability not tested (not root)")
	}
	if trusted {
		all["trusted.t"] = true
	}
	check(&Restorer{}, all)
	noCaps := map[string]bool{"user.a": true, "user.b": true, "security.capability": false}
	if trusted {
		noCaps["trusted.t"] = true
	}
	check(&Restorer{XattrExclude: []string{"security.capability"}}, noCaps)
	check(&Restorer{XattrInclude: []string{"user.*"}, XattrExclude: []string{"user.b"}},
		map[string]bool{"user.a": true, "user.b": false, "security.capability": false, "trusted.t": false})
	if _, err := (&Restorer{Repo: r, XattrExclude: []string{"["}}).Restore(ctx, sn, "/", t.TempDir()); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

// TestChmodViaProc: the chmod that kernels before 6.6 get changes a FIFO's
// mode and refuses a symlink rather than following it.
func TestChmodViaProc(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "p"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "f")
	snapshottest.WriteFile(t, outside, []byte("x"))
	os.Chmod(outside, 0o600)
	if err := os.Symlink(outside, filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	if err := chmodViaProc(dfd, "p", 0o1640); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, filepath.Join(dir, "p")); m != 0o1640 {
		t.Errorf("fifo mode %04o", m)
	}
	if err := chmodViaProc(dfd, "l", 0o777); err == nil {
		t.Error("chmod of a symlink accepted")
	}
	if m := modeOf(t, outside); m != 0o600 {
		t.Errorf("the symlink's target got mode %04o", m)
	}
}

// TestRestoreDeviceAsNonRoot: a restore not run as root, or run as root
// inside a user namespace, cannot make a device node. The dry run says so
// beforehand, counting nothing as replaced, and the run's error says why
// and what to do; an entry in the node's way is left as it is, the rest
// of the tree is restored, and --no-devices leaves the node out without
// an error. As root the test runs itself again as nobody, and as root in
// a user namespace of its own.
func TestRestoreDeviceAsNonRoot(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv("CADANG_TEST_NONROOT") == "" {
		t.Run("nobody", func(t *testing.T) { rerunAsNobody(t, "TestRestoreDeviceAsNonRoot") })
		t.Run("userns", func(t *testing.T) { rerunInUserNS(t, "TestRestoreDeviceAsNonRoot") })
		return
	}
	if mayMknod(os.Geteuid()) {
		t.Skip("this process may make device nodes")
	}
	ctx := context.Background()
	r := newTestRepo(t)
	file, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1e9, 0)
	root := saveTree(t, r,
		&snapshot.Node{Name: "f", Type: snapshot.TypeFile, Mode: 0o644, Size: 4, Content: []snapshot.Extent{{ID: file, Size: 4}}, ModTime: at},
		&snapshot.Node{Name: "null", Type: snapshot.TypeCharDev, Mode: 0o666, Rdev: unix.Mkdev(1, 3), ModTime: at})
	sn := saveSnapshot(t, r, root)
	target := filepath.Join(t.TempDir(), "t")
	snapshottest.WriteFile(t, filepath.Join(target, "null"), []byte("in the way"))
	for _, dry := range []bool{true, false} {
		sum, err := (&Restorer{Repo: r, DryRun: dry}).Restore(ctx, sn, "/", target)
		if !errors.Is(err, ErrRestoreIncomplete) || len(sum.Errors) != 1 || sum.Errors[0].Path != "/null" ||
			!strings.Contains(sum.Errors[0].Error, "only root can make device nodes") ||
			!strings.Contains(sum.Errors[0].Error, "--no-devices leaves them out") {
			t.Fatalf("dry run %v: %v, errors %+v", dry, err, sum.Errors)
		}
		if sum.Files != 1 || sum.Others != 0 || sum.Replaced != 0 || sum.Damaged != 0 {
			t.Errorf("dry run %v: %d files, %d others, %d replaced, %d damaged; want 1, 0, 0, 0", dry, sum.Files, sum.Others, sum.Replaced, sum.Damaged)
		}
	}
	if b, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(b) != "data" {
		t.Errorf("f: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "null")); err != nil || string(b) != "in the way" {
		t.Errorf("the entry in the device node's way: %q %v", b, err)
	}
	sum, err := (&Restorer{Repo: r, NoDevices: true}).Restore(ctx, sn, "/", filepath.Join(t.TempDir(), "t2"))
	if err != nil || !slices.Equal(sum.SkippedDevices, []string{"/null"}) {
		t.Errorf("--no-devices: %v, skipped %v", err, sum.SkippedDevices)
	}
	// A target that refuses the files fails them, but nothing in the
	// repository is damaged: the record must not say integrity. (Root in
	// a user namespace may write there: the directory is its own.)
	if os.Geteuid() == 0 {
		return
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	sum, err = (&Restorer{Repo: r, NoDevices: true}).Restore(ctx, sn, "/", ro)
	if !errors.Is(err, ErrRestoreIncomplete) || !slices.Equal(sum.FailedFiles, []string{"/f"}) || sum.Damaged != 0 {
		t.Errorf("read-only target: %v, failed %v, %d damaged", err, sum.FailedFiles, sum.Damaged)
	}
}

// rerunInUserNS runs the test named test again in a copy of this test
// binary, as root inside a new user namespace that maps it to nobody: root
// there, without the right to make device nodes.
func rerunInUserNS(t *testing.T, test string) {
	t.Helper()
	dir, bin := testexec.PublicCopy(t, "restorer.test")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, testexec.Nobody, testexec.Nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "CADANG_TEST_NONROOT=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: testexec.Nobody, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: testexec.Nobody, Size: 1}},
		// uid 0 inside, which is nobody outside; without it the child
		// keeps host uid 0, which the namespace does not map.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
	b, err := cmd.CombinedOutput()
	if err != nil && errors.Is(err, syscall.EPERM) || err != nil && errors.Is(err, syscall.EINVAL) {
		t.Skipf("no user namespace here: %v", err)
	}
	if err != nil {
		t.Fatalf("%s in a user namespace: %v\n%s", test, err, b)
	}
	if !strings.Contains(string(b), "--- PASS: "+test) {
		t.Fatalf("%s in a user namespace did not pass:\n%s", test, b)
	}
}

// TestRestoreOwnersInUserNS: root in a user namespace (a rootless
// container) restores the owners its namespace maps; an entry whose owner
// it does not map keeps the restoring user as owner, loses its setuid bit,
// and is listed with an error that names the owner and why (the kernel's
// EINVAL alone said "invalid argument"). --no-owner restores no owner and
// lists nothing. As root the test runs itself again in a user namespace
// that maps only uid and gid 0.
func TestRestoreOwnersInUserNS(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv("CADANG_TEST_NONROOT") == "" {
		rerunInUserNS(t, "TestRestoreOwnersInUserNS")
		return
	}
	if os.Geteuid() != 0 || initialUserNS() {
		t.Skip("not root in a user namespace")
	}
	ctx := context.Background()
	r := newTestRepo(t)
	data, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1e9, 0)
	file := func(name string, uid, gid uint32, mode uint32) *snapshot.Node {
		return &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: mode, Size: 4, UID: uid, GID: gid,
			Content: []snapshot.Extent{{ID: data, Size: 4}}, ModTime: at}
	}
	sn := saveSnapshot(t, r, saveTree(t, r,
		file("root-owned", 0, 0, 0o4755),
		file("appserv", 1000, 1000, 0o4755),
		&snapshot.Node{Name: "link", Type: snapshot.TypeSymlink, LinkTarget: "appserv", UID: 1000, GID: 1000, ModTime: at}))
	target := filepath.Join(t.TempDir(), "t")
	sum, err := (&Restorer{Repo: r}).Restore(ctx, sn, "/", target)
	if !errors.Is(err, ErrRestoreIncomplete) || len(sum.Errors) != 2 {
		t.Fatalf("restore: %v, errors %+v", err, sum.Errors)
	}
	for _, ie := range sum.Errors {
		if (ie.Path != "/appserv" && ie.Path != "/link") || !strings.Contains(ie.Error, "owner 1000:1000 not restored, this user namespace does not map it") ||
			!strings.Contains(ie.Error, "--no-owner") {
			t.Errorf("error of an unmapped owner: %+v", ie)
		}
	}
	if sum.Files != 2 || sum.SetIDDropped != 1 || !slices.Equal(sum.SetIDDroppedPaths, []string{filepath.Join(target, "appserv")}) {
		t.Errorf("%d files, %d setid dropped %v; want 2, 1 [appserv]", sum.Files, sum.SetIDDropped, sum.SetIDDroppedPaths)
	}
	if m := modeOf(t, filepath.Join(target, "root-owned")); m != 0o4755 {
		t.Errorf("root-owned, whose owner is mapped: mode %o, want 4755", m)
	}
	if m := modeOf(t, filepath.Join(target, "appserv")); m != 0o755 {
		t.Errorf("appserv, whose owner is not mapped: mode %o, want 755", m)
	}
	sum, err = (&Restorer{Repo: r, NoOwner: true}).Restore(ctx, sn, "/", filepath.Join(t.TempDir(), "t2"))
	if err != nil || len(sum.Errors) != 0 || sum.SetIDDropped != 2 {
		t.Errorf("--no-owner: %v, errors %+v, %d setid dropped", err, sum.Errors, sum.SetIDDropped)
	}
}

// As root with NoOwner the restore's files are root's, and if-changed kept
// a file of another user whose size and time were the snapshot's: with
// whatever content that user had put in it (the size and time are theirs
// to set), and, where its mode differed, chmodded in place: a change the
// restore has no business making to another user's inode. A kept file is
// now one of the owner the restore gives: another's is written anew, a
// new inode of root's with the snapshot's content and mode.
func TestRestoreIfChangedNoOwnerForeignFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ctx := context.Background()
	src := t.TempDir()
	want := snapshottest.RandBytes(7, 10<<10)
	for _, name := range []string{"mode", "content", "own"} {
		snapshottest.WriteFile(t, filepath.Join(src, name), want)
		if err := os.Chmod(filepath.Join(src, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newTestRepo(t)
	sn := mustSnapshot(t, archiver.NewArchiver(r), src)
	target := t.TempDir()
	if _, err := (&Restorer{Repo: r, NoOwner: true}).Restore(ctx, sn, "/", target); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(target, src, name) }
	// "mode": another user's, with a mode the restore would change.
	// "content": another user's, with the snapshot's mode, size and time
	// but not its content.
	st := stat(t, p("content"))
	if err := os.WriteFile(p("content"), bytes.Repeat([]byte("X"), len(want)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.UtimesNano(p("content"), []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p("mode"), 0o600); err != nil {
		t.Fatal(err)
	}
	inos := map[string]uint64{}
	for _, name := range []string{"mode", "content"} {
		if err := os.Chown(p(name), testexec.Nobody, testexec.Nobody); err != nil {
			t.Fatal(err)
		}
		inos[name] = stat(t, p(name)).Ino
	}
	inos["own"] = stat(t, p("own")).Ino
	dry, err := (&Restorer{Repo: r, NoOwner: true, Overwrite: OverwriteIfChanged, DryRun: true}).Restore(ctx, sn, "/", target)
	if err != nil || dry.Replaced != 2 || dry.Skipped != 1 || dry.KeptMetadata != 0 {
		t.Errorf("dry run: %v %+v", err, dry)
	}
	sum, err := (&Restorer{Repo: r, NoOwner: true, Overwrite: OverwriteIfChanged}).Restore(ctx, sn, "/", target)
	if err != nil || sum.Replaced != 2 || sum.Files != 2 || sum.Skipped != 1 || sum.KeptMetadata != 0 {
		t.Fatalf("%v %+v", err, sum)
	}
	for _, name := range []string{"mode", "content", "own"} {
		st := stat(t, p(name))
		if (st.Ino == inos[name]) != (name == "own") || st.Uid != 0 || st.Mode&0o7777 != 0o644 || !bytes.Equal(readAll(t, p(name)), want) {
			t.Errorf("%s: inode %d (was %d), owner %d, mode %04o", name, st.Ino, inos[name], st.Uid, st.Mode&0o7777)
		}
	}
	noTemp(t, target)
}
