package repo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestUnknownVersionIsNotDamage: an index file of a newer index version is
// reported as unsupported (ErrUnsupportedVersion, *UnsupportedError), not
// as damage: damage sends an administrator to 'repair', which drops what
// it cannot read. An unknown seal byte is the exception, and damage: a
// new seal version comes only with a new config version (doc/design.md
// §13), and anyone can write a file under its hash.
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
	var de *repo.DamagedError
	if !errors.As(err, &de) || errors.Is(err, repo.ErrUnsupportedVersion) || errors.Is(err, crypto.ErrAuth) ||
		!strings.Contains(err.Error(), "seal version 2") {
		t.Fatalf("seal version 2: %v (%T), want a *DamagedError that names the version", err, err)
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
