package snapshot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// loadCounter counts the bytes loaded per file.
type loadCounter struct {
	backend.Backend
	mu     sync.Mutex
	loaded map[string]int
}

func (c *loadCounter) Load(ctx context.Context, h backend.Handle, off, n int64) ([]byte, error) {
	b, err := c.Backend.Load(ctx, h, off, n)
	c.mu.Lock()
	c.loaded[h.Name] += len(b)
	c.mu.Unlock()
	return b, err
}

// Junk in snapshots/ (anyone who reaches an append-only server can upload
// it, up to the server's 640 MiB a file) was read whole by every listing:
// every backup's search for its parent, every 'snapshots', 'restore latest'
// and copy. A listing now reads no file larger than any snapshot file, and
// passes over it; "latest" is the newest of the others. SaveSnapshot
// refuses to write a snapshot that large.
func TestSnapshotFileTooLargeIsNotRead(t *testing.T) {
	ctx := context.Background()
	be := &loadCounter{Backend: mem.New(), loaded: map[string]int{}}
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	old := snapshot.Snapshot{Time: time.Now().Add(-time.Hour), Paths: []string{"/srv/a"}}
	if _, err := snapshot.SaveSnapshot(ctx, r, &old); err != nil {
		t.Fatal(err)
	}
	sn := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}}
	id, err := snapshot.SaveSnapshot(ctx, r, &sn)
	if err != nil {
		t.Fatal(err)
	}

	// Too large to save, so nothing is saved.
	huge := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}, Reason: strings.Repeat("r", snapshot.MaxFileSize)}
	if _, err := snapshot.SaveSnapshot(ctx, r, &huge); !errors.Is(err, snapshot.ErrSnapshotTooLarge) {
		t.Fatalf("SaveSnapshot of %d bytes: %v", len(huge.Reason), err)
	}

	at := uploadJunk(t, be.Backend, repo.SnapshotFile, snapshottest.RandBytes(3, snapshot.MaxStoredSize))
	over := uploadJunk(t, be.Backend, repo.SnapshotFile, snapshottest.RandBytes(4, snapshot.MaxStoredSize+1))

	var passed, other []error
	latest, err := snapshot.FindSnapshotSkipping(ctx, r, "latest", snapshot.Filter{}, snapshot.PassUnreadable(func(_ repo.ID, err error) {
		if snapshot.Passed(err) {
			passed = append(passed, err)
		} else {
			other = append(other, err)
		}
	}))
	if err != nil || latest.ID() != id {
		t.Fatalf("latest: %v, %v", latest, err)
	}
	// The file of the largest size a snapshot may have is read (and is
	// foreign); the one a byte larger is not read at all.
	var big *snapshot.FileTooLargeError
	if len(passed) != 2 || len(other) != 0 || !errors.As(passed[0], &big) && !errors.As(passed[1], &big) ||
		big.ID != over || big.Size != snapshot.MaxStoredSize+1 {
		t.Fatalf("passed over %v, other %v", passed, other)
	}
	if n := be.loaded[over.String()]; n != 0 {
		t.Errorf("the file too large was read: %d bytes", n)
	}
	if n := be.loaded[at.String()]; n != snapshot.MaxStoredSize {
		t.Errorf("the file of the largest allowed size: %d bytes read", n)
	}
	why := snapshot.PassedWhy(big)
	if !strings.Contains(why, "not read") || !strings.Contains(why, "cadang check") {
		t.Errorf("PassedWhy: %s", why)
	}
	// Named by its ID, it is read whole: it is junk.
	if _, err := snapshot.LoadSnapshot(ctx, r, over); !errors.Is(err, repo.ErrForeignFile) {
		t.Errorf("LoadSnapshot of the large junk by ID: %v", err)
	}
}

// repo's bound on a forgotten file's stored size is this package's bound
// on its JSON, sealed.
func TestForgottenSizeBoundsAgree(t *testing.T) {
	if snapshot.MaxForgottenSize+crypto.Overhead != repo.MaxForgottenFileSize {
		t.Errorf("snapshot %d + %d != repo %d", snapshot.MaxForgottenSize, crypto.Overhead, repo.MaxForgottenFileSize)
	}
}

// understating reports a smaller size than the stored one for one file in
// its listings, as a broken or hostile server could.
type understating struct {
	*loadCounter
	name string
}

func (u *understating) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	return u.loadCounter.List(ctx, t, func(fi backend.FileInfo) error {
		if fi.Name == u.name {
			fi.Size = 100
		}
		return fn(fi)
	})
}

// A listing that understates a file's size no longer makes a listing read
// the file whole: the listed size bounds the read, and the file fails as
// damaged. Before, the size check passed the file and LoadFile read all of
// it (up to the REST client's 4 GiB).
func TestSnapshotListingReadsNoMoreThanListed(t *testing.T) {
	ctx := context.Background()
	lc := &loadCounter{Backend: mem.New(), loaded: map[string]int{}}
	be := &understating{loadCounter: lc}
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	sn := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}}
	id, err := snapshot.SaveSnapshot(ctx, r, &sn)
	if err != nil {
		t.Fatal(err)
	}
	junk := uploadJunk(t, lc.Backend, repo.SnapshotFile, snapshottest.RandBytes(5, 3*snapshot.MaxStoredSize))
	be.name = junk.String()

	var passed []error
	sns, err := snapshot.ListSnapshotsSkipping(ctx, r, snapshot.Filter{}, snapshot.PassUnreadable(func(_ repo.ID, err error) {
		passed = append(passed, err)
	}))
	if err != nil || len(sns) != 1 || sns[0].ID() != id {
		t.Fatalf("listing: %v %v", sns, err)
	}
	if got := lc.loaded[junk.String()]; got > 100 {
		t.Errorf("read %d bytes of a file listed with 100", got)
	}
	if len(passed) != 1 || !strings.Contains(passed[0].Error(), "does not match its name") {
		t.Errorf("the understated file: %v", passed)
	}
}
