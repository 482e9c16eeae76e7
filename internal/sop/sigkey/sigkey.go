// Package sigkey keeps the ed25519 keys that sign the SOP's evidence: the
// run log's records (package runlog) and the documents made from them
// (package docsign). A private key is a PEM "PRIVATE KEY" block (PKCS #8),
// the form `openssl genpkey -algorithm ed25519` writes, so an operator can
// make the key of a removable token without cadang; a public key is written
// as 64 hex digits and named by its fingerprint.
package sigkey

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Fingerprint names a public key: the first 128 bits of the SHA-256 of its
// 32 bytes, in hex, grouped by four for reading aloud. 128 bits are beyond
// any second-preimage search, and short enough to copy into minutes.
func Fingerprint(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	h := hex.EncodeToString(s[:16])
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// EncodePublic writes a public key as 64 hex digits.
func EncodePublic(pub ed25519.PublicKey) string { return hex.EncodeToString(pub) }

// ParsePublic reads a public key written by EncodePublic.
func ParsePublic(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: want %d hex digits", s, 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// MatchFingerprint reports whether s names pub: its fingerprint (with or
// without the colons) or its 64 hex digits.
func MatchFingerprint(s string, pub ed25519.PublicKey) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return false
	}
	if s == EncodePublic(pub) {
		return true
	}
	fp := Fingerprint(pub)
	return s == fp || s == strings.ReplaceAll(fp, ":", "")
}

// ErrLooseMode is wrapped by Load when a private key file can be read by
// its group or by others.
var ErrLooseMode = errors.New("private key file is readable by group or others")

// Load reads a private key file (PEM PKCS #8, ed25519). A file that its
// group or others can read is refused: a signing key that others may have
// copied proves nothing.
func Load(file string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s (mode %04o): %w; chmod 600 it", file, fi.Mode().Perm(), ErrLooseMode)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", file, err)
	}
	return k, nil
}

// LoadPublic returns the public half of the private key in file, whatever
// the file's mode: a verification needs only that, and says itself what it
// thinks of a key others could read (loose reports it).
func LoadPublic(file string) (pub ed25519.PublicKey, loose bool, err error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", file, err)
	}
	return Public(k), fi.Mode().Perm()&0o077 != 0, nil
}

// Parse reads the bytes of a private key file.
func Parse(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New(`not a PEM "PRIVATE KEY" block`)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key", k)
	}
	return ek, nil
}

// Generate makes a new key from rand (crypto/rand when nil) and writes it
// to file, mode 0600, which must not exist yet.
func Generate(file string, rand io.Reader) (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	// Written to a temporary name and linked into place, so that a
	// process that loses a race, or a crash, never leaves a half-written
	// key for the next run to refuse.
	tmp, err := os.CreateTemp(filepath.Dir(file), ".cadang-key-*")
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		err = pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), file)
		}
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", file, err)
		}
	} else {
		tmp.Close()
		return nil, fmt.Errorf("signing key %s: %w", file, err)
	}
	return k, nil
}

// LoadOrCreate loads the key in file, creating it on first use. created
// says whether it was made now. Two processes creating it at once end with
// the same key: the loser of the race loads the winner's.
func LoadOrCreate(file string, rand io.Reader) (k ed25519.PrivateKey, created bool, err error) {
	k, err = Load(file)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = Generate(file, rand)
	if errors.Is(err, fs.ErrExist) {
		k, err = Load(file)
		return k, false, err
	}
	return k, err == nil, err
}

// Public returns the public half of k.
func Public(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
