package snapshot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
	"github.com/lpse/cadang/repo/repotest"
	"github.com/lpse/cadang/snapshot"
)

// uploadJunk stores b in the repository's directory of type t, named by
// its SHA-256, as anyone who reaches an append-only server can: no key is
// needed. It returns the file's ID.
func uploadJunk(t *testing.T, be backend.Backend, ft repo.FileType, b []byte) repo.ID {
	t.Helper()
	sum := sha256.Sum256(b)
	name := hex.EncodeToString(sum[:])
	if err := be.Save(context.Background(), backend.Handle{Type: ft, Name: name}, b); err != nil {
		t.Fatal(err)
	}
	id, err := repo.ParseID(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func unreadableIDs(bad []snapshot.UnreadableProtection) []repo.ID {
	var ids []repo.ID
	for _, f := range bad {
		ids = append(ids, f.ID)
	}
	slices.SortFunc(ids, func(a, b repo.ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// TestProtectionsUnreadable: a protection file that cannot be read, a
// junk upload or a sealed file that holds no protection, used to stop
// every forget with no command to remove it, and to stop protect --list
// and --remove too. Now forget passes over junk that was never a
// protection and stops at a sealed one (it cannot tell what that file
// protects), the rest reads past both, and RemoveUnreadableProtections
// takes such files out and nothing else.
func TestProtectionsUnreadable(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	a := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}}
	aid, err := snapshot.SaveSnapshot(ctx, r, &a)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := snapshot.Protect(ctx, r, aid, time.Time{}, "audit")
	if err != nil {
		t.Fatal(err)
	}
	junk := uploadJunk(t, be, repo.ProtectFile, append([]byte{1}, make([]byte, 300)...))
	sealed, err := r.SaveFile(ctx, repo.ProtectFile, []byte("not a protection"))
	if err != nil {
		t.Fatal(err)
	}
	noSnap, err := r.SaveFile(ctx, repo.ProtectFile, []byte(`{"reason":"x","time":"2026-12-07T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []repo.ID{junk, sealed, noSnap}
	slices.SortFunc(want, func(a, b repo.ID) int { return bytes.Compare(a[:], b[:]) })

	ps, bad, err := snapshot.LoadProtections(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].ID != p1.ID {
		t.Errorf("readable protections: %+v, want only %s", ps, p1.ID.Short())
	}
	if got := unreadableIDs(bad); !slices.Equal(got, want) {
		t.Errorf("unreadable: %v, want %v", got, want)
	}
	for _, f := range bad {
		if !repo.IsDamaged(f.Err) {
			t.Errorf("protection file %s: %v is not damage", f.ID.Short(), f.Err)
		}
	}

	// The junk upload was never a protection (foreign: its seal is not
	// this repository's) and is passed over; the sealed files could have
	// been anything a holder of the key wrote, and stop Protections.
	var passed []repo.ID
	_, err = snapshot.ProtectionsPassing(ctx, r, func(f snapshot.UnreadableProtection) { passed = append(passed, f.ID) })
	var ue *snapshot.UnreadableProtectionsError
	if !errors.As(err, &ue) || len(ue.Files) != 2 || !repo.IsDamaged(err) || slices.ContainsFunc(ue.Files, func(f snapshot.UnreadableProtection) bool { return f.ID == junk }) {
		t.Fatalf("Protections: %v, want an UnreadableProtectionsError of the 2 sealed files that is damage", err)
	}
	if !slices.Equal(passed, []repo.ID{junk}) {
		t.Errorf("passed over %v, want the junk file %s", passed, junk.Short())
	}

	// Lifting what is known works beside them.
	if n, err := snapshot.Unprotect(ctx, r, aid); err != nil || n != 1 {
		t.Fatalf("Unprotect: %d, %v", n, err)
	}
	p2, err := snapshot.Protect(ctx, r, aid, time.Time{}, "again")
	if err != nil {
		t.Fatal(err)
	}

	removed, err := snapshot.RemoveUnreadableProtections(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := unreadableIDs(removed); !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	ps, err = snapshot.Protections(ctx, r)
	if err != nil {
		t.Fatalf("Protections after the removal: %v", err)
	}
	if len(ps) != 1 || ps[0].ID != p2.ID {
		t.Errorf("protections left: %+v, want only %s", ps, p2.ID.Short())
	}
	if removed, err := snapshot.RemoveUnreadableProtections(ctx, r); err != nil || len(removed) != 0 {
		t.Errorf("second removal: %v, %v", removed, err)
	}
}

// flakyLoader fails the first load of one file as damage, then reads it:
// a fault of the read, not of the file.
type flakyLoader struct {
	*repo.Repository
	id    repo.ID
	loads int
	fault error // returned for every load of id, if set, instead of damage once
}

func (f *flakyLoader) LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	if t == repo.ProtectFile && id == f.id {
		f.loads++
		if f.fault != nil {
			return nil, f.fault
		}
		if f.loads == 1 {
			return nil, &repo.DamagedError{File: backend.Handle{Type: t, Name: id.String()}, Err: errors.New("short read")}
		}
	}
	return f.Repository.LoadFile(ctx, t, id)
}

// TestRemoveUnreadableProtectionsRereads: a file that reads on the second
// try stays, and a backend error stops both the listing and the removal
// instead of counting as damage.
func TestRemoveUnreadableProtectionsRereads(t *testing.T) {
	ctx := context.Background()
	r := repotest.New(t, mem.New(), "pw", repo.InitOptions{})
	a := snapshot.Snapshot{Time: time.Now(), Paths: []string{"/srv/a"}}
	aid, err := snapshot.SaveSnapshot(ctx, r, &a)
	if err != nil {
		t.Fatal(err)
	}
	p, err := snapshot.Protect(ctx, r, aid, time.Time{}, "audit")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyLoader{Repository: r, id: p.ID}
	removed, err := snapshot.RemoveUnreadableProtections(ctx, fl)
	if err != nil || len(removed) != 0 {
		t.Fatalf("removed %v, %v: a file that read the second time went", removed, err)
	}
	if fl.loads != 2 {
		t.Errorf("the file was read %d times, want 2", fl.loads)
	}
	if ps, err := snapshot.Protections(ctx, r); err != nil || len(ps) != 1 {
		t.Fatalf("protections after: %v, %v", ps, err)
	}

	down := errors.New("connection reset")
	fl = &flakyLoader{Repository: r, id: p.ID, fault: down}
	if _, _, err := snapshot.LoadProtections(ctx, fl); !errors.Is(err, down) {
		t.Errorf("LoadProtections over a failing backend: %v", err)
	}
	if _, err := snapshot.RemoveUnreadableProtections(ctx, fl); !errors.Is(err, down) {
		t.Errorf("RemoveUnreadableProtections over a failing backend: %v", err)
	}
	if ps, err := snapshot.Protections(ctx, r); err != nil || len(ps) != 1 {
		t.Fatalf("protections after the failing backend: %v, %v", ps, err)
	}
}

// racingRemover removes a file just before its own removal of it, as a
// second administrator's --remove-unreadable would.
type racingRemover struct{ *repo.Repository }

func (r racingRemover) RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error {
	if err := r.Repository.RemoveFile(ctx, t, id); err != nil {
		return err
	}
	return r.Repository.RemoveFile(ctx, t, id)
}

// TestRemoveUnreadableProtectionsRace: a file removed by someone else
// meanwhile is neither an error nor counted, and the others still go.
func TestRemoveUnreadableProtectionsRace(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repotest.New(t, be, "pw", repo.InitOptions{})
	uploadJunk(t, be, repo.ProtectFile, append([]byte{1}, make([]byte, 100)...))
	uploadJunk(t, be, repo.ProtectFile, append([]byte{1}, make([]byte, 200)...))
	removed, err := snapshot.RemoveUnreadableProtections(ctx, racingRemover{r})
	if err != nil || len(removed) != 0 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, bad, err := snapshot.LoadProtections(ctx, r); err != nil || len(bad) != 0 {
		t.Fatalf("left: %v, %v", bad, err)
	}
}

// TestMayCoverUnreadable: a snapshot whose file cannot be read may be
// covered by a protection that names it, or through a tag change by one
// with an original or whose snapshot is gone; not by an expired one, nor by
// one of a readable snapshot without an original.
func TestMayCoverUnreadable(t *testing.T) {
	now := time.Now()
	id := func(b byte) repo.ID { return repo.ID{b} }
	ps := []snapshot.Protection{
		{ID: id(1), Snapshot: id(10)},                                              // names it
		{ID: id(2), Snapshot: id(11), Original: id(12)},                            // has an original
		{ID: id(3), Snapshot: id(13)},                                              // its snapshot is gone
		{ID: id(4), Snapshot: id(14)},                                              // of a readable snapshot
		{ID: id(5), Snapshot: id(15), Until: now.Add(-time.Hour)},                  // expired, snapshot gone
		{ID: id(6), Snapshot: id(10), Until: now.Add(-time.Hour)},                  // expired, names it
		{ID: id(7), Snapshot: id(16), Original: id(17), Until: now.Add(time.Hour)}, // holds an hour more
	}
	readable := map[repo.ID]bool{id(11): true, id(14): true, id(16): true}
	var got []repo.ID
	for _, p := range snapshot.MayCoverUnreadable(ps, id(10), func(x repo.ID) bool { return readable[x] }, now) {
		got = append(got, p.ID)
	}
	if want := []repo.ID{id(1), id(2), id(3), id(7)}; !slices.Equal(got, want) {
		t.Errorf("MayCoverUnreadable: %v, want %v", got, want)
	}
}
