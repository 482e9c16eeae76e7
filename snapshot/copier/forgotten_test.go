package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/retention"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// A destination that keeps fewer snapshots than its source (a medium or an
// offsite repository with a shorter retention) got every snapshot its own
// retention removed back with the next copy, their data uploaded again,
// day after day. A forget records what it removed, and a copy passes
// those over unless told otherwise.
func TestCopyDoesNotBringBackForgottenSnapshots(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, dstDir := newRepo(t, "b")
	sns := backups(t, src, 3, 40, 200<<10)
	res := mustCopy(t, dst, src, sns)
	if res.Copied != 3 {
		t.Fatalf("first copy: %+v", res)
	}
	// The destination keeps the newest only.
	groups := keepLast(t, dst)
	removed, err := retention.Forget(ctx, dst, groups)
	if err != nil || len(removed) != 2 {
		t.Fatalf("forget: %v, %v", removed, err)
	}
	orig, err := snapshot.ForgottenOriginals(ctx, dst, nil)
	if err != nil || len(orig) != 2 {
		t.Fatalf("forgotten originals: %v, %v", orig, err)
	}
	for _, sn := range sns[:2] {
		if _, ok := orig[sn.ID()]; !ok {
			t.Errorf("source snapshot %s is not recorded as forgotten", sn.ID().Short())
		}
	}

	res, err = Copy(ctx, dst, src, sns, Options{})
	if err != nil || res.Copied != 0 || res.Skipped != 1 || res.NotAgain != 2 || res.DataBlobs+res.TreeBlobs != 0 {
		t.Fatalf("copy after the forget: %+v, %v", res, err)
	}
	for _, r := range res.Snapshots[:2] {
		if r.Forgotten.IsZero() || !r.Dest.IsNull() || r.Skipped {
			t.Errorf("result: %+v", r)
		}
	}
	// Told to, it copies them again.
	res, err = Copy(ctx, dst, src, sns, Options{IncludeForgotten: true})
	if err != nil || res.Copied != 2 || res.NotAgain != 0 {
		t.Fatalf("copy with IncludeForgotten: %+v, %v", res, err)
	}
	checkRepo(t, dst)

	// A forgotten file that cannot be read is passed over, with word of it:
	// what it recorded may be copied again, which loses nothing.
	junk := snapshottest.RandBytes(9, 500)
	sum := sha256.Sum256(junk)
	junkName := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dstDir, "forgotten", junkName), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	var told []repo.ID
	if _, err := Copy(ctx, dst, src, sns, Options{UnreadableForgotten: func(id repo.ID, _ error) { told = append(told, id) }}); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].String() != junkName {
		t.Errorf("told of %v", told)
	}
	gone, err := snapshot.RemoveUnreadableForgotten(ctx, dst)
	if err != nil || len(gone) != 1 || gone[0].String() != junkName {
		t.Fatalf("RemoveUnreadableForgotten: %v, %v", gone, err)
	}
	if orig, err := snapshot.ForgottenOriginals(ctx, dst, func(id repo.ID, err error) { t.Errorf("%s: %v", id, err) }); err != nil || len(orig) != 2 {
		t.Errorf("after the repair: %v, %v", orig, err)
	}
}

// Forgotten files do not pile up: past a bound, a forget merges them.
func TestForgottenFilesAreMerged(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t, "a")
	var want []repo.ID
	for i := range 40 {
		id := repo.ID(sha256.Sum256([]byte{byte(i)}))
		want = append(want, id)
		if err := snapshot.RecordForgotten(ctx, r, []snapshot.ForgottenSnapshot{{ID: id, Original: id}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	n := 0
	if err := r.ListFiles(ctx, repo.ForgottenFile, func(repo.ID) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n > 33 {
		t.Errorf("%d forgotten files", n)
	}
	orig, err := snapshot.ForgottenOriginals(ctx, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range want {
		if _, ok := orig[id]; !ok {
			t.Errorf("%s lost in the merge", id.Short())
		}
	}
}

// A snapshot whose tags changed in the source since the destination forgot
// it (a legal hold added, which the destination's policy may keep) is
// copied: a record counts for the tags it names.
func TestCopyCopiesAForgottenSnapshotRetagged(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	sns := backups(t, src, 2, 60, 50<<10)
	mustCopy(t, dst, src, sns)
	if _, err := retention.Forget(ctx, dst, keepLast(t, dst)); err != nil {
		t.Fatal(err)
	}
	held, err := snapshot.ChangeTags(ctx, src, sns[0], nil, []string{"legal"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Copy(ctx, dst, src, []*snapshot.Snapshot{held, sns[1]}, Options{})
	if err != nil || res.Copied != 1 || res.NotAgain != 0 || res.Snapshots[0].Source != held.ID() || res.Snapshots[0].Dest.IsNull() {
		t.Fatalf("copy of the retagged snapshot: %+v, %v", res, err)
	}
}

// oldServer stands for a REST server of an older cadang: it knows no
// forgotten/ and answers so.
type oldServer struct{ backend.Backend }

var errOld = fmt.Errorf("server answered 400 Bad Request: bad path: unknown file type %q: %w", "forgotten", backend.ErrUnknownType)

func (o oldServer) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == backend.ForgottenFile {
		return errOld
	}
	return o.Backend.List(ctx, t, fn)
}

func (o oldServer) Save(ctx context.Context, h backend.Handle, b []byte) error {
	if h.Type == backend.ForgottenFile {
		return errOld
	}
	return o.Backend.Save(ctx, h, b)
}

// A destination served by an older cadang holds no forgotten files and can
// hold none: copies and checks go on as before, and a forget removes what
// its policy says and warns that it could not record it.
func TestForgottenOnAnOlderServer(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dstDir := filepath.Join(t.TempDir(), "repo")
	be, err := local.Create(ctx, dstDir)
	if err != nil {
		t.Fatal(err)
	}
	dst := repotest.New(t, oldServer{be}, "b", repo.InitOptions{Chunk: snapshottest.SmallParams})
	sns := backups(t, src, 2, 80, 50<<10)
	mustCopy(t, dst, src, sns)
	removed, err := retention.Forget(ctx, dst, keepLast(t, dst))
	if len(removed) != 1 || !errors.Is(err, snapshot.ErrNotRecorded) {
		t.Fatalf("forget: removed %d, %v", len(removed), err)
	}
	res := mustCopy(t, dst, src, sns)
	if res.Copied != 1 || res.NotAgain != 0 {
		t.Errorf("copy: %+v", res)
	}
	checkRepo(t, dst)
}

// A removal that failed is not recorded: a record of a snapshot that is
// still there would keep a copy from bringing it back once it is lost.
func TestFailedRemovalIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	sns := backups(t, src, 3, 90, 50<<10)
	mustCopy(t, dst, src, sns)
	groups := keepLast(t, dst)
	removed, err := retention.Forget(ctx, &failSecondRemove{Repository: dst}, groups)
	if len(removed) != 1 || err == nil || errors.Is(err, snapshot.ErrNotRecorded) {
		t.Fatalf("forget: removed %v, %v", removed, err)
	}
	set, err := snapshot.ForgottenOriginals(ctx, dst, nil)
	if err != nil || len(set) != 1 {
		t.Fatalf("recorded: %v, %v", set, err)
	}
	for o, es := range set {
		if len(es) != 1 || es[0].ID != removed[0] {
			t.Errorf("recorded %s: %+v, want only the removed %s", o.Short(), es, removed[0].Short())
		}
	}
}

type failSecondRemove struct {
	*repo.Repository
	n int
}

func (f *failSecondRemove) RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error {
	if t == repo.SnapshotFile {
		if f.n++; f.n == 2 {
			return errors.New("append-only")
		}
	}
	return f.Repository.RemoveFile(ctx, t, id)
}

// A forgotten file larger than any is not read: copies pass over it by its
// listed size, and repair removes it.
func TestForgottenFileTooLargeIsNotRead(t *testing.T) {
	ctx := context.Background()
	r, dir := newRepo(t, "a")
	junk := make([]byte, snapshot.MaxForgottenSize+100)
	junk[0] = 1
	sum := sha256.Sum256(junk)
	name := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, "forgotten", name), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	var told []error
	if _, err := snapshot.ForgottenOriginals(ctx, r, func(_ repo.ID, err error) { told = append(told, err) }); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || !errors.Is(told[0], snapshot.ErrForgottenTooLarge) {
		t.Fatalf("told %v", told)
	}
	gone, err := snapshot.RemoveUnreadableForgotten(ctx, r)
	if err != nil || len(gone) != 1 || gone[0].String() != name {
		t.Fatalf("repair: %v, %v", gone, err)
	}
}

// backups backs up n versions of one file into src, the file's bytes drawn
// from seed on, and returns the snapshots.
func backups(t *testing.T, src *repo.Repository, n int, seed uint64, size int) []*snapshot.Snapshot {
	t.Helper()
	data := t.TempDir()
	var sns []*snapshot.Snapshot
	for i := range n {
		snapshottest.WriteFile(t, filepath.Join(data, "f"), snapshottest.RandBytes(seed+uint64(i), size))
		sns = append(sns, backup(t, src, data))
	}
	return sns
}

// keepLast plans to keep the newest snapshot of r.
func keepLast(t *testing.T, r *repo.Repository) []retention.Group {
	t.Helper()
	have, err := snapshot.ListSnapshots(context.Background(), r, snapshot.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return retention.Plan(have, retention.Policy{Last: 1}, retention.Options{GroupBy: retention.DefaultGroupBy, Location: time.UTC})
}
