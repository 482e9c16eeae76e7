package crypto

import (
	"errors"
	"sync"
	"testing"

	"github.com/zeebo/blake3"
)

// TestVerifyCatchesFaults: Verify opens with a subkey derived afresh and
// checks the key's digest, so that a fault in any state Seal used is
// caught, where Open (the same pooled state) would pass.
func TestVerifyCatchesFaults(t *testing.T) {
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("snapshots")
	sealed, err := k.Seal(nil, []byte(`{"time":"2026-12-07T05:00:00Z"}`), ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(sealed, ad); err != nil {
		t.Fatalf("Verify of a good seal: %v", err)
	}

	// The sealed bytes changed before they were hashed.
	bad := append([]byte(nil), sealed...)
	bad[len(bad)/2] ^= 1
	if err := k.Verify(bad, ad); !errors.Is(err, ErrAuth) {
		t.Errorf("Verify of changed bytes: %v", err)
	}

	// A pooled hasher keyed with a changed key: Seal and Open agree, the
	// real key does not.
	wrong := k.Encrypt
	wrong[3] ^= 0x20
	k.sealPool = sync.Pool{New: func() any {
		h, err := blake3.NewKeyed(wrong[:])
		if err != nil {
			panic(err)
		}
		return h
	}}
	faulty, err := k.Seal(nil, []byte("x"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(nil, faulty, ad); err != nil {
		t.Fatalf("Open with the same faulty hasher: %v", err)
	}
	if err := k.Verify(faulty, ad); !errors.Is(err, ErrAuth) {
		t.Errorf("Verify of a seal made with a faulty pooled hasher: %v", err)
	}
	k.sealPool = sync.Pool{}

	// The key's own bytes changed.
	k.Encrypt[0] ^= 1
	if err := k.Verify(sealed, ad); !errors.Is(err, ErrKeyChanged) {
		t.Errorf("Verify with a changed key: %v", err)
	}
	k.Encrypt[0] ^= 1
	if err := k.Verify(sealed, ad); err != nil {
		t.Errorf("Verify after the key was put back: %v", err)
	}

	// A key built as a literal takes its digest at the first Verify.
	lit := &Key{Encrypt: k.Encrypt, ID: k.ID}
	if err := lit.Verify(sealed, ad); err != nil {
		t.Errorf("Verify with a literal key: %v", err)
	}
}
