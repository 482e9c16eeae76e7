package repo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestForgedRawLengthAtGoodLocation: an index file that names the
// good pack, offset and length of a blob with another raw length. Both
// records are kept (they differ in raw), rawLengthAt returns the first one
// for that (pack, offset, length), and loadBlob's "tried" list, compared
// by sameLocation (which ignores raw), passes the good record over.
func TestForgedRawLengthAtGoodLocation(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	d := randBytes(5, 10_000)
	id, _, err := r.SaveBlob(ctx, repo.DataBlob, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ := r.LookupBlob(repo.DataBlob, id)
	// raw 7: its little-endian bytes sort before 10,000's, so the loader
	// puts the forged record first.
	if _, err := r.WriteIndex(ctx, []repo.IndexPack{{ID: l.Pack, Blobs: []repo.PackBlob{
		{Type: repo.DataBlob, ID: id, Offset: l.Offset, Length: l.Length, RawLength: 7}}}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = reopen(t, dir)
	defer r.Close()
	got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
	if err != nil || !bytes.Equal(got, d) {
		t.Errorf("LoadBlob of the good copy fails: %v", err)
	}
	err = r.LoadBlobsFromPack(ctx, l.Pack, []repo.BlobLocation{l}, func(_ repo.BlobLocation, plain []byte, err error) error {
		if err != nil || !bytes.Equal(plain, d) {
			t.Errorf("LoadBlobsFromPack of the good copy fails: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != repo.ProblemIndexMismatch || !strings.Contains(res.Problems[0].Error(), "raw length of 7 bytes") {
		t.Errorf("check --read-data: want one index mismatch naming the raw length, got %v", res.Problems)
	}
}
