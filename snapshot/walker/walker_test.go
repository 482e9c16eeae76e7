package walker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

func TestHelpers(t *testing.T) {
	ctx := context.Background()
	r, src, sn1, sn2 := twoSnapshots(t)

	// Diff
	var changes []string
	st, err := Diff(ctx, r, sn1, sn2, func(c Change) error {
		if strings.HasPrefix(c.Path, src+"/") {
			changes = append(changes, fmt.Sprintf("%s %s c=%v", c.Kind, strings.TrimPrefix(c.Path, src+"/"), c.Content))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+ added c=false", "M change c=true", "- remove c=false"}
	if !slices.Equal(changes, want) || st.Added != 1 || st.Removed != 1 {
		t.Errorf("diff: %q %+v", changes, st)
	}

	// Ls (non-recursive)
	var ls []string
	Ls(ctx, r, sn2, src, false, func(p string, n *snapshot.Node) error {
		ls = append(ls, filepath.Base(p))
		return nil
	})
	if !slices.Equal(ls, []string{"added", "change", "d", "keep"}) {
		t.Errorf("ls: %v", ls)
	}

	// Find across snapshots
	var found []string
	Find(ctx, r, []*snapshot.Snapshot{sn1, sn2}, []string{"*.sql", "remove"}, func(sn *snapshot.Snapshot, p string, n *snapshot.Node) error {
		found = append(found, sn.ID().Short()+":"+filepath.Base(p))
		return nil
	})
	if len(found) != 3 {
		t.Errorf("find: %v", found)
	}

	// Dump a directory as tar
	var buf bytes.Buffer
	if err := Dump(ctx, r, sn2, src, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, "f.sql") {
			b, _ := io.ReadAll(tr)
			if !bytes.Equal(b, snapshottest.RandBytes(5, 70<<10)) {
				t.Error("tar content differs")
			}
		}
	}
	base := filepath.Base(src)
	if len(names) != 6 || names[0] != base+"/" {
		t.Errorf("tar names: %v", names)
	}

	// Stats
	s, err := ComputeStats(ctx, r, []*snapshot.Snapshot{sn1, sn2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Snapshots != 2 || s.Files != 8 || s.DataBlobs == 0 || s.RawDataSize >= s.TotalSize || s.StoredSize == 0 {
		t.Errorf("stats: %+v", s)
	}

}

// twoSnapshots backs up a small tree twice, with changes in between
// (change, added, remove), into a fresh in-memory repository.
func twoSnapshots(t *testing.T) (r *snapshottest.Repo, src string, sn1, sn2 *snapshot.Snapshot) {
	t.Helper()
	src = t.TempDir()
	snapshottest.WriteFile(t, filepath.Join(src, "keep"), []byte("same"))
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v1"))
	snapshottest.WriteFile(t, filepath.Join(src, "remove"), []byte("bye"))
	snapshottest.WriteFile(t, filepath.Join(src, "d", "f.sql"), snapshottest.RandBytes(5, 70<<10))
	r = snapshottest.New(snapshottest.SmallParams)
	a := &archiver.Archiver{Repo: r, Hostname: "h", Tags: []string{"t1"}}
	sn1 = mustSnapshot(t, a, src)
	snapshottest.WriteFile(t, filepath.Join(src, "change"), []byte("v2!"))
	snapshottest.WriteFile(t, filepath.Join(src, "added"), []byte("new"))
	if err := os.Remove(filepath.Join(src, "remove")); err != nil {
		t.Fatal(err)
	}
	sn2 = mustSnapshot(t, a, src)
	return r, src, sn1, sn2
}

func mustSnapshot(t *testing.T, a *archiver.Archiver, paths ...string) *snapshot.Snapshot {
	t.Helper()
	sn, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return sn
}

// The real and the in-memory repository implement what ComputeStats asks for.
var (
	_ Repository = (*repo.Repository)(nil)
	_ Repository = (*snapshottest.Repo)(nil)
)
