// Package crypto holds the keys of a repository and the few primitives the
// repository format uses: sealing (authenticated encryption), keyed blob IDs
// and password stretching.
//
// Sealing uses AES-256-GCM under a fresh subkey for every sealed object. The
// subkey is derived with keyed BLAKE3 from the master encryption key and a
// 192-bit random salt stored in front of the ciphertext; under each subkey
// exactly one message is encrypted, with the all-zero nonce. A (key, nonce)
// pair therefore repeats only if two salts collide, which after 2^64 sealed
// objects has probability below 2^-64. doc/design.md gives the full argument.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/zeebo/blake3"
)

// KeySize is the size of every symmetric key in bytes.
const KeySize = 32

// SaltSize is the size of the random per-object salt in a sealed object.
const SaltSize = 24

// sealVersion is the first byte of every sealed object.
const sealVersion = 1

// Overhead is the number of bytes Seal adds to a plaintext:
// version (1) + salt (24) + GCM tag (16).
const Overhead = 1 + SaltSize + 16

// ErrAuth is returned when a sealed object fails authentication: it was
// damaged, truncated, sealed under another key, or bound to other
// associated data.
var ErrAuth = errors.New("authentication failed: data damaged or wrong key")

// ErrUnsupportedVersion is wrapped by the errors for an object written in a
// format version newer than this program knows: a seal version or key file
// version from a newer cadang. It is not a wrong password. Whether it is
// damage depends on whether the caller verified the object's bytes some
// other way (a content hash): a version byte alone cannot tell a newer
// writer from a flipped bit.
var ErrUnsupportedVersion = errors.New("unsupported format version")

// Key is a repository's master key. It never leaves memory unencrypted; key
// files hold it wrapped under a password-derived key.
type Key struct {
	// Encrypt keys the derivation of per-object sealing subkeys.
	Encrypt [KeySize]byte `json:"encrypt"`
	// ID keys BLAKE3 for blob IDs, so IDs do not reveal content to anyone
	// without the key.
	ID [KeySize]byte `json:"id"`

	idPool   sync.Pool // *blake3.Hasher keyed with ID
	sealPool sync.Pool // *blake3.Hasher keyed with Encrypt

	// digest is the SHA-256 of Encrypt and ID, taken when the key was
	// made or unwrapped (or, for a Key built as a literal, at its first
	// Verify): Verify compares it, so that a memory fault in the key's
	// long-lived bytes is caught before it seals a file.
	digestOnce sync.Once
	digest     [sha256.Size]byte
}

// noteDigest records the key's digest, once.
func (k *Key) noteDigest() {
	k.digestOnce.Do(func() { k.digest = k.sum() })
}

func (k *Key) sum() [sha256.Size]byte {
	var b [2 * KeySize]byte
	copy(b[:], k.Encrypt[:])
	copy(b[KeySize:], k.ID[:])
	return sha256.Sum256(b[:])
}

// ErrKeyChanged is returned by Verify when the key's bytes in memory are
// no longer those it was made or unwrapped with.
var ErrKeyChanged = errors.New("the key in memory changed since it was loaded (a memory fault)")

// Verify reports whether sealed opens with k: it derives the object's
// subkey afresh (not from the pooled hashers Seal uses) and first checks
// that the key's own bytes are those it was loaded with. A writer that
// promises its files open (the repository's rule that a sealed file whose
// bytes match its name always opens with the key, doc/design.md §8) calls
// it on what it sealed before it saves it: a memory fault in the sealed
// bytes, in a pooled hasher or in the key itself is then caught, where
// opening with the same state that sealed would pass.
func (k *Key) Verify(sealed, ad []byte) error {
	k.noteDigest()
	if k.sum() != k.digest {
		return ErrKeyChanged
	}
	_, err := open(&k.Encrypt, nil, nil, sealed, ad)
	return err
}

// NewRandomKey returns a master key from crypto/rand.
func NewRandomKey() (*Key, error) {
	k := &Key{}
	if _, err := rand.Read(k.Encrypt[:]); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	if _, err := rand.Read(k.ID[:]); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	k.noteDigest()
	return k, nil
}

// BlobID returns the keyed BLAKE3-256 hash of data. It is safe for
// concurrent use.
func (k *Key) BlobID(data []byte) [32]byte {
	h, _ := k.idPool.Get().(*blake3.Hasher)
	if h == nil {
		var err error
		h, err = blake3.NewKeyed(k.ID[:])
		if err != nil {
			panic(err) // cannot happen: the key has the right length
		}
	} else {
		h.Reset()
	}
	_, _ = h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	k.idPool.Put(h)
	return out
}

// subkey derives the one-time AES-256 key for a salt. pool, if not nil,
// holds hashers already keyed with master (keying BLAKE3 costs more than
// hashing the few bytes that follow).
func subkey(master *[KeySize]byte, pool *sync.Pool, salt []byte) cipher.AEAD {
	var h *blake3.Hasher
	if pool != nil {
		h, _ = pool.Get().(*blake3.Hasher)
	}
	if h == nil {
		var err error
		h, err = blake3.NewKeyed(master[:])
		if err != nil {
			panic(err) // cannot happen: the key has the right length
		}
	} else {
		h.Reset()
	}
	defer func() {
		if pool != nil {
			pool.Put(h)
		}
	}()
	_, _ = h.Write([]byte("cadang seal v1"))
	_, _ = h.Write(salt)
	var sk [KeySize]byte
	h.Sum(sk[:0])
	block, err := aes.NewCipher(sk[:])
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

var zeroNonce [12]byte

// Seal encrypts and authenticates plaintext, binding ad (associated data,
// typically the object's ID) to it, and appends the result to dst.
func (k *Key) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	return seal(&k.Encrypt, &k.sealPool, dst, plaintext, ad)
}

// Open authenticates and decrypts a sealed object, appending the plaintext
// to dst. It returns ErrAuth if anything about the object or ad differs
// from what was sealed.
func (k *Key) Open(dst, sealed, ad []byte) ([]byte, error) {
	return open(&k.Encrypt, &k.sealPool, dst, sealed, ad)
}

// OpenInPlace is Open without a copy: it decrypts sealed where it lies and
// returns the plaintext as a subslice of it. Whatever the outcome, sealed's
// bytes are no longer the sealed object afterwards. Restore and check use it
// on pack data they loaded into a buffer of their own, where a second
// buffer per blob would only feed the garbage collector.
func (k *Key) OpenInPlace(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return open(&k.Encrypt, &k.sealPool, nil, sealed, ad) // the same error
	}
	ct := sealed[1+SaltSize:]
	return open(&k.Encrypt, &k.sealPool, ct[:0], sealed, ad)
}

func seal(key *[KeySize]byte, pool *sync.Pool, dst, plaintext, ad []byte) ([]byte, error) {
	n := len(dst)
	need := n + Overhead + len(plaintext)
	if cap(dst) < need {
		nd := make([]byte, n, need)
		copy(nd, dst)
		dst = nd
	}
	dst = dst[:n+1+SaltSize]
	dst[n] = sealVersion
	salt := dst[n+1 : n+1+SaltSize]
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("seal: random salt: %w", err)
	}
	return subkey(key, pool, salt).Seal(dst, zeroNonce[:], plaintext, ad), nil
}

func open(key *[KeySize]byte, pool *sync.Pool, dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w (sealed object of %d bytes is shorter than the %d-byte minimum)", ErrAuth, len(sealed), Overhead)
	}
	if sealed[0] != sealVersion {
		if sealed[0] > sealVersion {
			return nil, fmt.Errorf("%w: seal version %d (this program reads version %d)", ErrUnsupportedVersion, sealed[0], sealVersion)
		}
		// Every version up to ours is known, so a lower one is damage.
		return nil, fmt.Errorf("%w (invalid seal version %d)", ErrAuth, sealed[0])
	}
	salt := sealed[1 : 1+SaltSize]
	out, err := subkey(key, pool, salt).Open(dst, zeroNonce[:], sealed[1+SaltSize:], ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}
