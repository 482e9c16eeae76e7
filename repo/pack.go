package repo

import (
	"encoding/binary"
	"fmt"

	"github.com/lpse/cadang/crypto"
)

// A pack file is a sequence of stored blobs (compression byte || sealed
// payload) followed by a sealed header
// that lists them and a 4-byte little-endian length of the sealed header:
//
//	blob_1 | ... | blob_n | seal(header) | uint32(len(seal(header)))
//
// The header entries appear in the order of the blobs, so offsets are the
// running sum of the stored lengths. See doc/design.md ("Pack files").

// packHeaderEntrySize is the size of one plaintext header entry:
// type (1) | compression (1) | stored length (4) | raw length (4) | ID (32).
const packHeaderEntrySize = 1 + 1 + 4 + 4 + IDSize

// packHeaderVersion is the first byte of a plaintext pack header.
const packHeaderVersion = 1

// maxPackHeaderEntries bounds the header a reader will accept, so that a
// damaged length field cannot make it allocate gigabytes.
const maxPackHeaderEntries = 1 << 20

var packHeaderAD = []byte("cadang pack header v1")

// Compression methods, stored in the first byte of a stored blob (in the
// clear, authenticated as associated data) and in the pack header.
const (
	compressNone byte = 0
	compressZstd byte = 1
)

// PackBlob is one entry of a pack header.
type PackBlob struct {
	Type        BlobType `json:"type"`
	ID          ID       `json:"id"`
	Offset      uint32   `json:"offset"`
	Length      uint32   `json:"length"`     // sealed length in the pack
	RawLength   uint32   `json:"raw_length"` // plaintext length after decompression
	Compression byte     `json:"compression"`
}

// blobAD is the associated data bound to a sealed blob: its type, ID and
// compression byte. A blob moved to another ID or type, or with its
// compression byte changed, fails authentication.
func blobAD(t BlobType, id ID, comp byte) []byte {
	var ad [1 + IDSize + 1]byte
	ad[0] = byte(t)
	copy(ad[1:], id[:])
	ad[1+IDSize] = comp
	return ad[:]
}

func encodePackHeader(blobs []PackBlob) []byte {
	b := make([]byte, 1, 1+len(blobs)*packHeaderEntrySize)
	b[0] = packHeaderVersion
	for _, e := range blobs {
		var ent [packHeaderEntrySize]byte
		ent[0] = byte(e.Type)
		ent[1] = e.Compression
		binary.LittleEndian.PutUint32(ent[2:], e.Length)
		binary.LittleEndian.PutUint32(ent[6:], e.RawLength)
		copy(ent[10:], e.ID[:])
		b = append(b, ent[:]...)
	}
	return b
}

// decodePackHeader parses a plaintext header. packDataLen is the number of
// bytes in front of the sealed header; the blobs must fill it exactly.
func decodePackHeader(b []byte, packDataLen int64) ([]PackBlob, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("pack header: empty")
	}
	if b[0] > packHeaderVersion {
		return nil, fmt.Errorf("pack header: %w: version %d (this program reads version %d)", ErrUnsupportedVersion, b[0], packHeaderVersion)
	}
	if b[0] != packHeaderVersion {
		return nil, fmt.Errorf("pack header: invalid version %d", b[0])
	}
	b = b[1:]
	if len(b)%packHeaderEntrySize != 0 {
		return nil, fmt.Errorf("pack header: length %d is not a multiple of %d", len(b), packHeaderEntrySize)
	}
	n := len(b) / packHeaderEntrySize
	if n > maxPackHeaderEntries {
		return nil, fmt.Errorf("pack header: %d entries exceed the limit", n)
	}
	blobs := make([]PackBlob, n)
	var off int64
	for i := range blobs {
		ent := b[i*packHeaderEntrySize:]
		e := &blobs[i]
		e.Type = BlobType(ent[0])
		if !e.Type.Valid() {
			return nil, fmt.Errorf("pack header: entry %d has unknown blob type %d", i, ent[0])
		}
		e.Compression = ent[1]
		if e.Compression != compressNone && e.Compression != compressZstd {
			return nil, fmt.Errorf("pack header: entry %d has unknown compression %d", i, ent[1])
		}
		e.Length = binary.LittleEndian.Uint32(ent[2:])
		e.RawLength = binary.LittleEndian.Uint32(ent[6:])
		copy(e.ID[:], ent[10:10+IDSize])
		if e.Length < crypto.Overhead+1 {
			return nil, fmt.Errorf("pack header: entry %d (blob %s) has impossible length %d", i, e.ID.Short(), e.Length)
		}
		e.Offset = uint32(off)
		off += int64(e.Length)
		if off > packDataLen {
			return nil, fmt.Errorf("pack header: blobs end at %d, beyond the pack's %d data bytes", off, packDataLen)
		}
	}
	if off != packDataLen {
		return nil, fmt.Errorf("pack header: blobs cover %d of the pack's %d data bytes", off, packDataLen)
	}
	return blobs, nil
}

// packTrailer locates the sealed header from the last 4 bytes of a pack of
// the given size.
func packTrailer(size int64, tail []byte) (hdrOff, hdrLen int64, err error) {
	if len(tail) != 4 {
		return 0, 0, fmt.Errorf("pack trailer: want 4 bytes, got %d", len(tail))
	}
	hdrLen = int64(binary.LittleEndian.Uint32(tail))
	if hdrLen < crypto.Overhead+1 || hdrLen+4 > size {
		return 0, 0, fmt.Errorf("pack trailer: header length %d does not fit a pack of %d bytes", hdrLen, size)
	}
	return size - 4 - hdrLen, hdrLen, nil
}
