package repo

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// NewerFormatPack writes a pack as a future cadang might: one good blob
// (seal version 1) and a header whose plaintext version is 2 (headerV2) or
// whose seal version byte is 2 (sealV2). With index it also writes an index
// entry for the blob. Returns the pack and blob IDs.
func NewerFormatPack(tb testing.TB, r *Repository, plain []byte, mode string, index bool) (ID, ID) {
	tb.Helper()
	ctx := context.Background()
	id := r.BlobID(plain)
	buf := []byte{compressNone}
	buf, err := r.key.Seal(buf, plain, blobAD(DataBlob, id, compressNone))
	if err != nil {
		tb.Fatal(err)
	}
	hdr := []PackBlob{{Type: DataBlob, ID: id, Offset: 0, Length: uint32(len(buf)), RawLength: uint32(len(plain))}}
	ph := encodePackHeader(hdr)
	if mode == "headerV2" {
		ph[0] = 2
	}
	n := len(buf)
	buf, err = r.key.Seal(buf, ph, packHeaderAD)
	if err != nil {
		tb.Fatal(err)
	}
	if mode == "sealV2" {
		buf[n] = 2 // seal version byte of the header
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-n))
	pid := storedName(buf)
	if err := r.be.Save(ctx, backend.Handle{Type: PackFile, Name: pid.String()}, buf); err != nil {
		tb.Fatal(err)
	}
	if index {
		if _, err := r.WriteIndex(ctx, []IndexPack{{ID: pid, Blobs: hdr}}); err != nil {
			tb.Fatal(err)
		}
	}
	return pid, id
}
