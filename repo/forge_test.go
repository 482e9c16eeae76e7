package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// ForgeCopies stores what a client holding the password can upload even
// through an append-only server: a pack that names each of the blobs but
// holds 16 wrong bytes under each (sealed with the right associated data,
// so that only the hash of the plaintext shows them wrong), and an index
// file naming it. The pack's name sorts before every pack stored so far
// (and starts with 00), so that repair index, which orders packs by name,
// puts its copies first. It returns the pack.
func ForgeCopies(tb testing.TB, r *Repository, blobs []BlobLocation) ID {
	tb.Helper()
	return forgeCopies(tb, r, blobs, true)
}

// ForgePack is ForgeCopies with a pack of any name.
func ForgePack(tb testing.TB, r *Repository, blobs []BlobLocation) ID {
	tb.Helper()
	return forgeCopies(tb, r, blobs, false)
}

func forgeCopies(tb testing.TB, r *Repository, blobs []BlobLocation, first bool) ID {
	tb.Helper()
	ctx := context.Background()
	// A genuine pack whose name starts with 00 as well made the forged
	// copies second now and then (1 run in a few hundred).
	lowest := ID{0, 0xff}
	if first {
		if err := r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
			if id, err := ParseID(fi.Name); err == nil && bytes.Compare(id[:], lowest[:]) < 0 {
				lowest = id
			}
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
	}
	for try := 0; try < 1000000; try++ {
		var buf []byte
		var hdr []PackBlob
		for _, b := range blobs {
			off := len(buf)
			buf = append(buf, compressNone)
			var err error
			if buf, err = r.key.Seal(buf, make([]byte, 16), blobAD(b.Type, b.ID, compressNone)); err != nil {
				tb.Fatal(err)
			}
			hdr = append(hdr, PackBlob{Type: b.Type, ID: b.ID, Offset: uint32(off), Length: uint32(len(buf) - off), RawLength: 16})
		}
		n := len(buf)
		buf, err := r.key.Seal(buf, encodePackHeader(hdr), packHeaderAD)
		if err != nil {
			tb.Fatal(err)
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-n))
		id := storedName(buf)
		if first && bytes.Compare(id[:], lowest[:]) >= 0 {
			continue // a new nonce, another name
		}
		if err := r.be.Save(ctx, backend.Handle{Type: PackFile, Name: id.String()}, buf); err != nil {
			tb.Fatal(err)
		}
		if _, err := r.WriteIndex(ctx, []IndexPack{{ID: id, Blobs: hdr}}); err != nil {
			tb.Fatal(err)
		}
		return id
	}
	tb.Fatalf("no pack name below %s in 1000000 tries", lowest)
	return ID{}
}
