package runlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
)

// A check of a medium mounted read-only cannot copy its own record: its
// note says the storage was read-only, and Health (status) does not warn
// of it however old it is. A later copy that fails for another reason (the
// medium writable again, then full) notes the record again, and that note
// is warned of.
func TestReadOnlyCopyIsNotWarnedUntilAWritableCopyFails(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	fill(t, l, clk, store, 2)

	erofs := &fs.PathError{Op: "open", Path: "/mnt/disk-a/records/tmp-1", Err: syscall.EROFS}
	for _, ro := range []error{erofs, &repo.ReadOnlyError{Location: "sftp:backup@nas:/srv/disk-a", Err: errors.New("permission denied: Read-only file system")}} {
		t.Run(fmt.Sprintf("%T", ro), func(t *testing.T) {
			store.FailSave = fmt.Errorf("save: %w", ro)
			r, err := l.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK, Start: clk.Now(), End: clk.Now()}, store)
			if !errors.Is(err, ErrNotStored) {
				t.Fatalf("append on a read-only store: %v", err)
			}
			if p := pendingIn(l, repoA)[r.Hash]; !p.ReadOnly {
				t.Fatalf("the note of a copy refused as read-only does not say so: %+v", p)
			}
			clk.Advance(3 * time.Hour)
			fs, err := l.Health(clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if hasAny(fs, NotCopied, r.ID) {
				t.Fatalf("status warns of a record whose only target was read-only:\n%v", fs)
			}

			// Writable again, the next copy fails for another reason.
			store.FailSave = errors.New("no space left on device")
			if _, err := l.Sync(ctx, store); !errors.Is(err, ErrNotStored) {
				t.Fatalf("sync: %v", err)
			}
			if p := pendingIn(l, repoA)[r.Hash]; p.ReadOnly {
				t.Fatalf("the note of a copy that failed on a writable medium still says read-only: %+v", p)
			}
			clk.Advance(3 * time.Hour)
			if fs, _ = l.Health(clk.Now()); !anyProblem(fs, NotCopied) {
				t.Fatalf("status does not warn of a record that a writable run failed to copy:\n%v", fs)
			}
			store.FailSave = nil
			if _, err := l.Sync(ctx, store); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func anyProblem(fs []Finding, p Problem) bool {
	for _, f := range fs {
		if f.Problem == p {
			return true
		}
	}
	return false
}
