package copier

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// failFirstProtection is a destination whose first protection write
// fails, as on a medium that filled up after the snapshots.
type failFirstProtection struct {
	*repo.Repository
	failed bool
}

var errMediumFull = errors.New("no space left on device")

func (d *failFirstProtection) SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	if t == repo.ProtectFile && !d.failed {
		d.failed = true
		return repo.ID{}, errMediumFull
	}
	return d.Repository.SaveFile(ctx, t, data)
}

// A protection that cannot be written does not hide the snapshots copied
// nor stop the other protections: Copy reports it in Result and returns a
// *ProtectionsError naming it.
func TestCopyReportsProtectionNotWritten(t *testing.T) {
	ctx := context.Background()
	src, _ := newRepo(t, "a")
	dst, _ := newRepo(t, "b")
	dir := t.TempDir()
	snapshottest.MakeFiles(t, filepath.Join(dir, "data"), 5)
	sns := []*snapshot.Snapshot{backup(t, src, filepath.Join(dir, "data")), backup(t, src, filepath.Join(dir, "data"))}
	for _, sn := range sns {
		if _, err := snapshot.SaveProtection(ctx, src, snapshot.Protection{Snapshot: sn.ID(), Reason: "audit", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Copy(ctx, &failFirstProtection{Repository: dst}, src, sns, Options{})
	var pe *ProtectionsError
	if !errors.Is(err, ErrProtectionsNotCopied) || !errors.As(err, &pe) || errors.Is(err, ErrIncomplete) || !errors.Is(err, errMediumFull) {
		t.Fatalf("Copy: %v, want a *ProtectionsError of the failed write", err)
	}
	if res.Copied != 2 || res.ProtectionsAdded != 1 || len(res.ProtectionErrors) != 1 || len(pe.Failed) != 1 {
		t.Fatalf("result: %+v", res)
	}
	f := res.ProtectionErrors[0]
	if f.Source != sns[0].ID() || f.Dest != res.Snapshots[0].Dest || f.Reason != "audit" || f.Error == "" {
		t.Errorf("protection error %+v, want the first snapshot %s and its copy %s", f, sns[0].ID().Short(), res.Snapshots[0].Dest.Short())
	}
	ps, _, err := snapshot.LoadProtections(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Snapshot != res.Snapshots[1].Dest {
		t.Errorf("destination protections: %+v, want one of %s", ps, res.Snapshots[1].Dest.Short())
	}
}
