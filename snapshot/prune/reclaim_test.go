package prune_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/prune"
	"github.com/lpse/cadang/snapshot/snapshottest"
)

// lpseDay writes day n of a small LPSE-like source: a database dump whose
// rows change a little every day, and uploads that grow.
func lpseDay(t *testing.T, src string, n int) {
	t.Helper()
	var dump bytes.Buffer
	for row := range 60000 {
		v := row
		if (row*7+n*13)%97 == 0 { // about 1% of the rows change each day
			v = row*1000 + n
		}
		fmt.Fprintf(&dump, "INSERT INTO paket VALUES (%d, 'Pengadaan %d', %d);\n", row, row%500, v)
	}
	snapshottest.WriteFile(t, filepath.Join(src, "db", "spse.sql"), dump.Bytes())
	snapshottest.WriteFile(t, filepath.Join(src, "upload", fmt.Sprintf("dok-%02d.pdf", n)), snapshottest.RandBytes(uint64(1000+n), 400<<10))
	os.Remove(filepath.Join(src, "upload", fmt.Sprintf("dok-%02d.pdf", n-5))) // old uploads are archived away
}

// TestPruneReclaimsToFreshSize: after N daily backups, forgetting all but
// the last and pruning (twice: mark, then delete), the repository is
// within a few percent of a fresh backup of that last day: the unused
// share prune tolerates (MaxUnused, 5% by default) and index files.
func TestPruneReclaimsToFreshSize(t *testing.T) {
	const days = 10
	e := newEnv(t)
	src := t.TempDir()
	var sns []*snapshot.Snapshot
	var want map[string]snapshottest.FileState
	for n := 1; n <= days; n++ {
		lpseDay(t, src, n)
		want = snapshottest.ScanTree(t, src)
		sns = append(sns, e.backup(src))
	}
	grown := e.size()
	e.forget(sns[:days-1]...)
	e.prune(prune.Options{})
	e.prune(prune.Options{})
	after := e.size()

	fresh := newEnv(t)
	fresh.backup(src)
	base := fresh.size()
	t.Logf("after %d days: %d bytes; after forget and two prunes: %d; a fresh backup of the last day: %d (%.1f%%)",
		days, grown, after, base, 100*float64(after-base)/float64(base))
	if float64(after) > 1.08*float64(base) {
		t.Errorf("pruned repository %d bytes, a fresh one %d: more than 8%% apart", after, base)
	}
	e.check()
	e.restoreEqual(sns[days-1], src, want)
}
