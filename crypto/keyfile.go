package crypto

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeyFileVersion is the version of the key file format written by this package.
const KeyFileVersion = 1

// keyFileAD is bound to the sealed master key, so that a sealed blob or
// config can never be passed off as key material.
var keyFileAD = []byte("cadang key file v1")

// KeyFile is one password's wrapping of the master key. A repository may
// have several; each unlocks the same master key.
type KeyFile struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Host     string    `json:"host,omitempty"`
	Username string    `json:"username,omitempty"`
	KDF      string    `json:"kdf"`
	Params   KDFParams `json:"params"`
	Salt     []byte    `json:"salt"`
	// Data is the master key (encryption key, then ID key: 64 bytes),
	// sealed under the password-derived wrapping key.
	Data []byte `json:"data"`
}

// ErrWrongPassword is returned by Unwrap when the password does not open
// an intact key file.
var ErrWrongPassword = errors.New("wrong password")

// NewKeyFile wraps k under password.
func NewKeyFile(k *Key, password []byte, p KDFParams, host, user string, now time.Time) (*KeyFile, error) {
	salt, err := NewSalt()
	if err != nil {
		return nil, err
	}
	w, err := DeriveWrappingKey(password, salt, p)
	if err != nil {
		return nil, err
	}
	var raw [2 * KeySize]byte
	copy(raw[:KeySize], k.Encrypt[:])
	copy(raw[KeySize:], k.ID[:])
	data, err := w.Seal(nil, raw[:], keyFileAD)
	if err != nil {
		return nil, err
	}
	return &KeyFile{
		Version: KeyFileVersion, Created: now.UTC(), Host: host, Username: user,
		KDF: "argon2id", Params: p, Salt: salt, Data: data,
	}, nil
}

// ParseKeyFile decodes and validates a key file's JSON.
func ParseKeyFile(b []byte) (*KeyFile, error) {
	var kf KeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("decode key file: %w", err)
	}
	if kf.Version > KeyFileVersion {
		return nil, fmt.Errorf("%w: key file version %d (this program reads version %d)", ErrUnsupportedVersion, kf.Version, KeyFileVersion)
	}
	if kf.Version != KeyFileVersion {
		return nil, fmt.Errorf("invalid key file version %d", kf.Version)
	}
	if kf.KDF != "argon2id" {
		return nil, fmt.Errorf("key file uses unknown KDF %q", kf.KDF)
	}
	if err := kf.Params.Validate(); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(kf.Salt) < 16 {
		return nil, fmt.Errorf("key file: salt of %d bytes is too short", len(kf.Salt))
	}
	if len(kf.Data) != Overhead+2*KeySize {
		return nil, fmt.Errorf("key file: sealed key is %d bytes, want %d", len(kf.Data), Overhead+2*KeySize)
	}
	return &kf, nil
}

// Marshal encodes the key file as JSON.
func (kf *KeyFile) Marshal() ([]byte, error) { return json.MarshalIndent(kf, "", "  ") }

// Unwrap derives the wrapping key from password and opens the master key.
// It returns ErrWrongPassword if authentication fails; callers that have
// verified the file's integrity separately know that the password is at fault.
func (kf *KeyFile) Unwrap(password []byte) (*Key, error) {
	w, err := DeriveWrappingKey(password, kf.Salt, kf.Params)
	if err != nil {
		return nil, err
	}
	raw, err := w.Open(nil, kf.Data, keyFileAD)
	if errors.Is(err, ErrUnsupportedVersion) {
		return nil, err
	}
	if err != nil {
		return nil, ErrWrongPassword
	}
	k := &Key{}
	copy(k.Encrypt[:], raw[:KeySize])
	copy(k.ID[:], raw[KeySize:])
	k.noteDigest()
	return k, nil
}
