package backup_test

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/backup"
	"github.com/lpse/cadang/snapshot/snapshottest"
	"github.com/lpse/cadang/snapshot/walker"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	return repotest.New(t, mem.New(), "pw", repo.InitOptions{})
}

// files lists the paths of regular files in a snapshot.
func files(t *testing.T, r *repo.Repository, sn *snapshot.Snapshot) []string {
	t.Helper()
	var out []string
	err := walker.Walk(context.Background(), r, sn.Tree, "/", func(p string, n *snapshot.Node) error {
		if n.Type == snapshot.TypeFile {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// failingFS fails to open one file, as an unreadable file would (the tests
// run as root, for whom chmod 000 reads fine).
type failingFS struct {
	archiver.LocalFS
	bad string
}

func (f failingFS) Open(name string) (archiver.File, error) {
	if name == f.bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.LocalFS.Open(name)
}

func TestRunPathOptions(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "kontrak.pdf"), []byte("kontrak"))
	snapshottest.WriteFile(t, filepath.Join(src, "sementara.tmp"), []byte("tmp"))
	snapshottest.WriteFile(t, filepath.Join(src, "cache", "x.bin"), []byte("cache"))
	snapshottest.WriteFile(t, filepath.Join(src, "arsip", ".nobackup"), nil)
	snapshottest.WriteFile(t, filepath.Join(src, "arsip", "lama.pdf"), []byte("lama"))
	snapshottest.WriteFile(t, filepath.Join(src, "rusak.dat"), []byte("unreadable"))
	excl := filepath.Join(t.TempDir(), "exclude.txt")
	snapshottest.WriteFile(t, excl, []byte("# caches\ncache\n"))

	r := newRepo(t)
	res, err := backup.Run(ctx, r, backup.Options{
		Paths: []string{src}, Excludes: []string{"*.tmp"}, ExcludeFiles: []string{excl},
		ExcludeIfPresent: []string{".nobackup"}, ReadConcurrency: 3,
		Tags: []string{"harian"}, Host: "spse", FS: failingFS{bad: filepath.Join(src, "rusak.dat")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial() || len(res.Skipped) != 1 || res.Skipped[0].Path != filepath.Join(src, "rusak.dat") {
		t.Fatalf("skipped %v, want only rusak.dat", res.Skipped)
	}
	got := files(t, r, res.Snapshot)
	want := []string{filepath.Join(src, "kontrak.pdf")}
	if !slices.Equal(got, want) {
		t.Errorf("files %v, want %v (excludes, exclude file, exclude-if-present, unreadable)", got, want)
	}
	if res.Snapshot.Hostname != "spse" || !slices.Contains(res.Snapshot.Tags, "harian") {
		t.Errorf("snapshot host %q tags %v", res.Snapshot.Hostname, res.Snapshot.Tags)
	}
	// The partial snapshot was written: it is in the repository.
	sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if err != nil || len(sns) != 1 || sns[0].ID() != res.Snapshot.ID() {
		t.Fatalf("snapshots %v %v, want the partial one", sns, err)
	}
}

func TestRunMissingPaths(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a"), []byte("a"))
	missing := filepath.Join(t.TempDir(), "tidak-ada")
	r := newRepo(t)

	// The CLI's default: a missing path is an error naming it, before
	// anything is written.
	_, err := backup.Run(ctx, r, backup.Options{Paths: []string{src, missing}})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing path: %v, want ErrNotExist naming %s", err, missing)
	}
	sns, _ := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if len(sns) != 0 {
		t.Fatalf("%d snapshots written by a failed backup", len(sns))
	}

	// The SOP's: skipped and listed; the snapshot has the other path.
	res, err := backup.Run(ctx, r, backup.Options{Paths: []string{src, missing}, SkipMissingPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Path != missing {
		t.Errorf("skipped %v, want %s", res.Skipped, missing)
	}
	if !slices.Equal(res.Snapshot.Paths, []string{src}) {
		t.Errorf("snapshot paths %v, want [%s]", res.Snapshot.Paths, src)
	}

	// No path at all: an error of its own kind, no snapshot.
	_, err = backup.Run(ctx, r, backup.Options{Paths: []string{missing}, SkipMissingPaths: true})
	if !errors.Is(err, archiver.ErrNoSource) {
		t.Errorf("only missing paths: %v, want ErrNoSource", err)
	}
}

func TestRunOptionErrors(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	dir := t.TempDir()
	noFile := filepath.Join(dir, "tidak-ada.txt")
	cases := []struct {
		o      backup.Options
		option string
	}{
		{backup.Options{}, "Paths"},
		{backup.Options{Paths: []string{dir}, Command: []string{"true"}}, "Paths"},
		{backup.Options{Paths: []string{dir}, ExcludeFiles: []string{noFile}}, "ExcludeFiles"},
		{backup.Options{Paths: []string{dir}, Excludes: []string{"[unclosed"}}, "Excludes"},
		{backup.Options{Paths: []string{dir}, Parent: "deadbeef"}, "Parent"},
		{backup.Options{Paths: []string{dir}, Parent: "abc"}, "Parent"},
	}
	for _, c := range cases {
		_, err := backup.Run(ctx, r, c.o)
		var oe *backup.OptionError
		if !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%+v: %v, want an OptionError for %s", c.o, err, c.option)
		}
	}
	_, err := backup.Run(ctx, r, backup.Options{Paths: []string{dir}, ExcludeFiles: []string{noFile}})
	if !strings.Contains(err.Error(), noFile) {
		t.Errorf("exclude file error %q does not name the file", err)
	}
}

func TestRunCommand(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ctx := context.Background()
	r := newRepo(t)
	_, err := backup.Run(ctx, r, backup.Options{Command: []string{"sh", "-c", "echo separuh; exit 3"}, Filename: "db.dump"})
	var ce *archiver.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 {
		t.Fatalf("failed dump: %v, want a CommandError with exit 3", err)
	}
	res, err := backup.Run(ctx, r, backup.Options{Command: []string{"sh", "-c", "echo isi"}, Filename: "db.dump"})
	if err != nil || res.Partial() {
		t.Fatalf("dump: %v %+v", err, res)
	}
	if !slices.Equal(files(t, r, res.Snapshot), []string{"/db.dump"}) {
		t.Errorf("files %v", files(t, r, res.Snapshot))
	}
	sns, _ := snapshot.ListSnapshots(ctx, r, snapshot.Filter{})
	if len(sns) != 1 {
		t.Errorf("%d snapshots, want only the good dump's", len(sns))
	}
}

func TestRunParent(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "a"), []byte("isi berkas"))
	r := newRepo(t)
	first, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}, Parent: first.Snapshot.ID().String()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	if second.Snapshot.Parent == nil || *second.Snapshot.Parent != first.Snapshot.ID() {
		t.Errorf("parent %v, want %s", second.Snapshot.Parent, first.Snapshot.ID().Short())
	}
	if s := second.Snapshot.Summary; s.BytesRead != 0 || s.FilesUnmodified != 1 {
		t.Errorf("second backup read %d bytes, %d unmodified; want 0 and 1", s.BytesRead, s.FilesUnmodified)
	}
	// Force wins over a parent, as it always did.
	forced, err := backup.Run(ctx, r, backup.Options{Paths: []string{src}, Force: true, Parent: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Snapshot.Summary.BytesRead == 0 || forced.Snapshot.Parent != nil {
		t.Errorf("Force read %d bytes with parent %v; want everything read and no parent", forced.Snapshot.Summary.BytesRead, forced.Snapshot.Parent)
	}
}

// refusingProtections is a repository whose protection files cannot be
// saved (a full disk, a server that refuses them).
type refusingProtections struct{ *repo.Repository }

func (r refusingProtections) SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	if t == repo.ProtectFile {
		return repo.ID{}, errors.New("no room")
	}
	return r.Repository.SaveFile(ctx, t, data)
}

// A backup before a system change was kept only by `cadang run`'s own
// retention: a forget by hand (the README's retention section) removed it
// after its daily rule. With ProtectFor the snapshot is protected in the
// repository, which every forget honours; a protection that cannot be
// saved leaves the snapshot and says why.
func TestRunProtectFor(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "spse.conf"), []byte("db=spse"))
	r := newRepo(t)
	o := backup.Options{Paths: []string{src}, Reason: "upgrade", Tags: []string{"before-change"},
		ProtectFor: 90 * 24 * time.Hour, ProtectReason: "before-change: upgrade"}
	res, err := backup.Run(ctx, r, o)
	if err != nil || res.ProtectionErr != nil || res.Protection == nil {
		t.Fatalf("%v %v %+v", err, res.ProtectionErr, res.Protection)
	}
	ps, err := snapshot.Protections(ctx, r)
	if err != nil || len(ps) != 1 {
		t.Fatalf("%v %v", ps, err)
	}
	p := ps[0]
	if p.Snapshot != res.Snapshot.ID() || !p.Until.Equal(res.Snapshot.Time.Add(90*24*time.Hour)) || p.Reason != "before-change: upgrade" {
		t.Errorf("protection %+v", p)
	}
	if ok, _ := snapshot.IsProtected(ps, res.Snapshot.ID(), time.Now().Add(89*24*time.Hour)); !ok {
		t.Error("not protected for 89 days")
	}

	res, err = backup.Run(ctx, refusingProtections{r}, o)
	if err != nil || res.Snapshot == nil || res.Protection != nil || res.ProtectionErr == nil ||
		!strings.Contains(res.ProtectionErr.Error(), "saved, but not protected from forget: ") || !strings.Contains(res.ProtectionErr.Error(), "no room") {
		t.Fatalf("%v %+v", err, res)
	}
	if sns, err := snapshot.ListSnapshots(ctx, r, snapshot.Filter{}); err != nil || len(sns) != 2 {
		t.Errorf("the unprotected snapshot is not there: %d %v", len(sns), err)
	}
}
