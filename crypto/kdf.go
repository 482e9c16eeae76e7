package crypto

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the argon2id cost parameters stored in each key file.
type KDFParams struct {
	Time    uint32 `json:"time"`    // passes over memory
	Memory  uint32 `json:"memory"`  // KiB
	Threads uint8  `json:"threads"` // lanes
}

// DefaultKDFParams returns the argon2id cost of new key files: about 64 MiB
// and, on the 2-core machines this was tuned on, roughly 0.1-0.2 s per
// attempt (see BenchmarkKDF).
func DefaultKDFParams() KDFParams { return KDFParams{Time: 3, Memory: 64 << 10, Threads: 2} }

// CheapKDFParams returns the cheapest argon2id cost Validate accepts
// (one pass over 8 MiB, one thread). It is for tests and examples that
// create many repositories; a key file made with it protects its password
// far less than DefaultKDFParams, so never use it for a real repository.
func CheapKDFParams() KDFParams { return KDFParams{Time: 1, Memory: 8 << 10, Threads: 1} }

// Validate rejects parameters that are unusable or absurd, so that a
// damaged key file cannot make Open allocate terabytes.
func (p KDFParams) Validate() error {
	switch {
	case p.Time == 0 || p.Time > 100:
		return fmt.Errorf("argon2id time %d out of range 1..100", p.Time)
	case p.Memory < 8<<10 || p.Memory > 4<<20:
		return fmt.Errorf("argon2id memory %d KiB out of range 8 MiB..4 GiB", p.Memory)
	case p.Threads == 0:
		return errors.New("argon2id threads must be at least 1")
	}
	return nil
}

// WrappingKey stretches a password into a key that seals the master key.
type WrappingKey struct{ k [KeySize]byte }

// DeriveWrappingKey runs argon2id over the password and salt.
func DeriveWrappingKey(password, salt []byte, p KDFParams) (*WrappingKey, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(salt) < 16 {
		return nil, fmt.Errorf("argon2id salt of %d bytes is too short", len(salt))
	}
	w := &WrappingKey{}
	copy(w.k[:], argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, KeySize))
	return w, nil
}

// Seal seals plaintext under the wrapping key; see Key.Seal.
func (w *WrappingKey) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	return seal(&w.k, nil, dst, plaintext, ad)
}

// Open opens an object sealed under the wrapping key; see Key.Open.
func (w *WrappingKey) Open(dst, sealed, ad []byte) ([]byte, error) {
	return open(&w.k, nil, dst, sealed, ad)
}

// NewSalt returns 32 random bytes for a key file.
func NewSalt() ([]byte, error) {
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	return s, nil
}
