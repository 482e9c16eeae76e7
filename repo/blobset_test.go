package repo_test

import (
	"context"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
)

func TestBlobSet(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
	var ids []repo.ID
	for i := range 300 {
		id, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte{byte(i), byte(i >> 8), 7})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// Reopened, the blobs are in the index's table (not its recent map),
	// where the set keeps one bit each.
	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := r.Index().NewBlobSet()
	if s.Bytes() > 8*((300+63)/64) {
		t.Errorf("the empty set holds %d bytes: its blobs are not in the table", s.Bytes())
	}
	for i, id := range ids {
		if i%3 == 0 && !s.Add(repo.DataBlob, id) {
			t.Fatalf("Add of a new blob said it was there")
		}
	}
	if s.Add(repo.DataBlob, ids[0]) {
		t.Error("Add of a blob already in the set said it was new")
	}
	outside := repo.ID{9, 9, 9}
	if !s.Add(repo.TreeBlob, outside) || !s.Has(repo.TreeBlob, outside) || s.Has(repo.DataBlob, outside) {
		t.Error("a blob outside the index is not kept apart by type")
	}
	for i, id := range ids {
		if s.Has(repo.DataBlob, id) != (i%3 == 0) {
			t.Fatalf("Has(blob %d) = %v", i, !(i%3 == 0))
		}
		if s.Has(repo.TreeBlob, id) {
			t.Fatal("a data blob is in the set as a tree blob")
		}
	}
	if s.Len() != 101 {
		t.Errorf("Len %d, want 101", s.Len())
	}
}
