package docsign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func key(t *testing.T, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestSignVerify(t *testing.T) {
	doc := []byte("%PDF-1.7\nBerita Acara Pelaksanaan Restore\n...")
	k := key(t, 1)
	sig := Sign(k, "restore.pdf", doc)
	s, err := Verify(doc, sig)
	if err != nil || !s.Key.Equal(k.Public()) || s.Name != "restore.pdf" || s.Size != int64(len(doc)) {
		t.Fatalf("%+v %v", s, err)
	}
	// every single byte changed fails
	for i := range doc {
		d := bytes.Clone(doc)
		d[i] ^= 0x20
		if _, err := Verify(d, sig); !errors.Is(err, ErrMismatch) {
			t.Fatalf("byte %d altered: %v", i, err)
		}
	}
	if _, err := Verify(append(bytes.Clone(doc), ' '), sig); !errors.Is(err, ErrMismatch) {
		t.Fatalf("byte appended: %v", err)
	}
	// a signature made by another key over the altered document names
	// that key: trust is the caller's decision
	d := append(bytes.Clone(doc), '!')
	s, err = Verify(d, Sign(key(t, 2), "restore.pdf", d))
	if err != nil || s.Key.Equal(k.Public()) {
		t.Fatalf("re-signed: %v", err)
	}
	// a signature file whose key was swapped does not hold
	forged := bytes.Replace(sig, []byte(s.Fingerprint()), nil, 1)
	other := Sign(key(t, 2), "restore.pdf", doc)
	mixed := append(bytes.Split(sig, []byte("key: "))[0], bytes.SplitN(other, []byte("key: "), 2)[1]...)
	mixed = bytes.Replace(mixed, bytes.Split(bytes.SplitN(other, []byte("signature: "), 2)[1], []byte("\n"))[0], bytes.Split(bytes.SplitN(sig, []byte("signature: "), 2)[1], []byte("\n"))[0], 1)
	if _, err := Verify(doc, mixed); err == nil {
		t.Fatal("key swapped: verified")
	}
	if _, err := Verify(doc, forged[:20]); err == nil {
		t.Fatal("truncated signature file accepted")
	}
}
