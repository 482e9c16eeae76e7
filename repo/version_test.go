package repo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestUnknownVersionIsNotDamage: a file sealed with a newer seal version,
// or an index file of a newer index version, is reported as unsupported
// (ErrUnsupportedVersion, *UnsupportedError), never as damage: damage
// sends an administrator to 'repair', which drops what it cannot read.
func TestUnknownVersionIsNotDamage(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := repo.NewTestRepository(t, be, "pw", repo.InitOptions{})
	id, err := r.SaveFile(ctx, repo.SnapshotFile, []byte(`{"time":"2026-12-04T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := be.Load(ctx, backend.Handle{Type: repo.SnapshotFile, Name: id.String()}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	newer := append([]byte(nil), raw...)
	newer[0] = 2 // a seal version from the future
	sum := sha256.Sum256(newer)
	newID, _ := repo.ParseID(hex.EncodeToString(sum[:]))
	if err := be.Save(ctx, backend.Handle{Type: repo.SnapshotFile, Name: newID.String()}, newer); err != nil {
		t.Fatal(err)
	}
	_, err = r.LoadFile(ctx, repo.SnapshotFile, newID)
	var ue *repo.UnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, repo.ErrUnsupportedVersion) || repo.IsDamaged(err) || errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("seal version 2: %v (%T), want an *UnsupportedError that is not damage", err, err)
	}

	// An index file whose plaintext says version 2.
	if _, err := r.SaveFile(ctx, repo.IndexFile, []byte("CDIX\x02")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Open passes over it (indexskip.go) and says why.
	r, err = repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	skipped := r.SkippedFiles()
	if len(skipped) != 1 || !errors.Is(skipped[0], repo.ErrUnsupportedVersion) || repo.IsDamaged(skipped[0]) {
		t.Fatalf("index version 2: %v, want ErrUnsupportedVersion and not damage", skipped)
	}
}
