package repo

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// IDSize is the length in bytes of every identifier in a repository: blob
// IDs (keyed BLAKE3 of the plaintext) and file names (SHA-256 of the stored
// bytes).
const IDSize = 32

// ID names a blob or a stored file.
type ID [IDSize]byte

// String returns the ID as lower-case hex, the form used in file names.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first eight hex digits, enough for humans to tell IDs apart.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// Compare orders IDs as their hex forms sort (byte by byte), for
// slices.SortFunc: -1, 0 or +1.
func (id ID) Compare(other ID) int { return bytes.Compare(id[:], other[:]) }

// IsNull reports whether id is the zero ID.
func (id ID) IsNull() bool { return id == ID{} }

// MarshalText encodes the ID as hex, so IDs appear as strings in JSON.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex ID.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseID decodes a full 64-digit hex ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("invalid ID %q: want %d hex digits, got %d", s, 2*IDSize, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid ID %q: %w", s, err)
	}
	return id, nil
}

// BlobType says what a blob holds. Data and tree blobs live in separate packs.
type BlobType uint8

const (
	// DataBlob holds a chunk of file content.
	DataBlob BlobType = 1
	// TreeBlob holds an encoded directory or other metadata.
	TreeBlob BlobType = 2
)

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

// Valid reports whether t is a known blob type.
func (t BlobType) Valid() bool { return t == DataBlob || t == TreeBlob }

// BlobLocation says where a blob is stored: which pack, and which bytes of it.
type BlobLocation struct {
	Type   BlobType
	ID     ID
	Pack   ID
	Offset uint32 // of the sealed blob within the pack
	Length uint32 // of the sealed blob as stored
}
