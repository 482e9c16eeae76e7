package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// TestNewerConfigVersion: a config that a newer cadang sealed under its own
// version byte is a version error, not damage (the counterpart of the
// damaged version byte in fault_test.go).
func TestNewerConfigVersion(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	pw := []byte("newer")
	r, err := Init(ctx, be, pw, InitOptions{KDF: crypto.CheapKDFParams()})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := marshalConfig(&r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	hdr := configHeader(FormatVersion + 1)
	sealed, err := r.key.Seal(append([]byte(nil), hdr...), plain, hdr)
	if err != nil {
		t.Fatal(err)
	}
	r.freeCodecs()
	h := backend.Handle{Type: ConfigFile}
	if err := be.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, h, sealed); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, be, pw, Options{NoIndex: true})
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Version != FormatVersion+1 || IsDamaged(err) {
		t.Fatalf("want a version error for version %d, got %T: %v", FormatVersion+1, err, err)
	}
}
