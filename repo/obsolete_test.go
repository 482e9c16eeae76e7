package repo_test

import (
	"context"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestObsoletePacks: a blob whose only copy is in an obsolete pack stays
// readable, but writers do not deduplicate against it; once stored again,
// the live copy is the one the index gives, also after reopening.
func TestObsoletePacks(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
	data := []byte("dokumen tender yang sudah tidak dipakai")
	id, _, err := r.SaveBlob(ctx, repo.DataBlob, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	old, ok := r.LookupBlob(repo.DataBlob, id)
	if !ok {
		t.Fatal("blob not indexed")
	}
	set, err := r.MarkObsolete(ctx, []repo.IndexPack{{ID: old.Pack, Blobs: []repo.PackBlob{{Type: repo.DataBlob, ID: id, Offset: old.Offset, Length: old.Length}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.HasBlob(repo.DataBlob, id) {
		t.Error("HasBlob is true for a blob only in an obsolete pack: a writer would deduplicate against it")
	}
	if _, ok := r.LookupBlob(repo.DataBlob, id); !ok {
		t.Error("LookupBlob lost a blob in an obsolete pack: readers must still find it")
	}
	if got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil || string(got) != string(data) {
		t.Fatalf("LoadBlob from an obsolete pack: %q %v", got, err)
	}
	_, isNew, err := r.SaveBlob(ctx, repo.DataBlob, data)
	if err != nil || !isNew {
		t.Fatalf("SaveBlob of a blob only in an obsolete pack: new=%v err=%v, want it stored again", isNew, err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	live, _ := r.LookupBlob(repo.DataBlob, id)
	if live.Pack == old.Pack || !r.HasBlob(repo.DataBlob, id) {
		t.Errorf("after storing again: pack %s (old %s), HasBlob %v", live.Pack.Short(), old.Pack.Short(), r.HasBlob(repo.DataBlob, id))
	}
	r.Close()

	r, err = repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if l, _ := r.LookupBlob(repo.DataBlob, id); l.Pack == old.Pack || !r.HasBlob(repo.DataBlob, id) {
		t.Errorf("after reopening the index gives pack %s (obsolete %s)", l.Pack.Short(), old.Pack.Short())
	}
	sets, err := r.ObsoleteSets(ctx)
	if err != nil || len(sets) != 1 || sets[0].ID != set.ID || len(sets[0].Packs) != 1 || sets[0].Packs[0].ID != old.Pack {
		t.Fatalf("ObsoleteSets: %+v %v", sets, err)
	}
	if err := r.RemoveObsolete(ctx, set.ID); err != nil {
		t.Fatal(err)
	}
	if sets, _ := r.ObsoleteSets(ctx); len(sets) != 0 {
		t.Errorf("%d obsolete sets after RemoveObsolete", len(sets))
	}
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Errorf("check: %v %v", err, res.Problems)
	}
}

// TestDropPacksThenRemove: a pack goes only after the index stops naming
// it, and dropping it rewrites just the index files that named it.
func TestDropPacksThenRemove(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
	defer r.Close()
	keep, _, _ := r.SaveBlob(ctx, repo.DataBlob, []byte("tetap"))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	drop, _, _ := r.SaveBlob(ctx, repo.DataBlob, []byte("dibuang"))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dl, _ := r.LookupBlob(repo.DataBlob, drop)
	if err := r.RemovePack(ctx, dl.Pack); err == nil {
		t.Fatal("RemovePack removed a pack the index names")
	}
	n, err := r.DropPacks(ctx, map[repo.ID]struct{}{dl.Pack: {}})
	if err != nil || n != 1 {
		t.Fatalf("DropPacks: %d files rewritten, %v; want 1", n, err)
	}
	if _, ok := r.LookupBlob(repo.DataBlob, drop); ok {
		t.Error("the dropped pack's blob is still indexed")
	}
	if _, ok := r.LookupBlob(repo.DataBlob, keep); !ok {
		t.Error("DropPacks lost another pack's blob")
	}
	if err := r.RemovePack(ctx, dl.Pack); err != nil {
		t.Fatal(err)
	}
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 || len(res.UnindexedPacks) != 0 {
		t.Errorf("check: %v %v, unindexed %v", err, res.Problems, res.UnindexedPacks)
	}
}

// TestReaderOutlivesPrunedCopy: a session whose index still points at an
// obsolete pack that prune deleted meanwhile (the blob was stored again
// elsewhere) reads the live copy, and its check does not call the deleted
// pack missing.
func TestReaderOutlivesPrunedCopy(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
	data := []byte("berita acara serah terima")
	id, _, _ := r.SaveBlob(ctx, repo.DataBlob, data)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := r.LookupBlob(repo.DataBlob, id)
	if _, err := r.MarkObsolete(ctx, []repo.IndexPack{{ID: q.Pack}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	open := func() *repo.Repository {
		t.Helper()
		x, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	reader := open() // its index: the blob is in the obsolete pack only
	defer reader.Close()
	writer := open()
	if _, isNew, err := writer.SaveBlob(ctx, repo.DataBlob, data); err != nil || !isNew {
		t.Fatalf("store again: %v %v", isNew, err)
	}
	if err := writer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	pruner := open()
	if _, err := pruner.DropPacks(ctx, map[repo.ID]struct{}{q.Pack: {}}); err != nil {
		t.Fatal(err)
	}
	if err := pruner.RemovePack(ctx, q.Pack); err != nil {
		t.Fatal(err)
	}
	pruner.Close()

	if got, err := reader.LoadBlob(ctx, repo.DataBlob, id, nil); err != nil || string(got) != string(data) {
		t.Fatalf("LoadBlob after the pruned copy went: %q %v", got, err)
	}
	var got []byte
	err := reader.LoadBlobsFromPack(ctx, q.Pack, []repo.BlobLocation{q}, func(_ repo.BlobLocation, plain []byte, err error) error {
		if err != nil {
			return err
		}
		got = append([]byte(nil), plain...)
		return nil
	})
	if err != nil || string(got) != string(data) {
		t.Fatalf("LoadBlobsFromPack of the deleted pack: %q %v", got, err)
	}
	res, err := reader.Check(ctx, repo.CheckOptions{})
	if err != nil || len(res.Problems) != 0 {
		t.Errorf("check beside the prune: %v %v", err, res.Problems)
	}
}
