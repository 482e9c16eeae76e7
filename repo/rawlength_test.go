package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/local"
)

// craftedBlob is a stored blob as a hostile writer would make it: any
// payload, any compression byte, any recorded raw length.
type craftedBlob struct {
	t       BlobType
	id      ID
	comp    byte
	payload []byte
	raw     uint32
}

// craftPack seals the blobs into a pack with a header, stores it and an
// index file for it, and adds it to r's index, as a writer that knows the
// password can.
func craftPack(t *testing.T, r *Repository, blobs ...craftedBlob) ID {
	t.Helper()
	ctx := context.Background()
	var buf []byte
	var hdr []PackBlob
	for _, c := range blobs {
		off := len(buf)
		buf = append(buf, c.comp)
		var err error
		if buf, err = r.key.Seal(buf, c.payload, blobAD(c.t, c.id, c.comp)); err != nil {
			t.Fatal(err)
		}
		hdr = append(hdr, PackBlob{Type: c.t, ID: c.id, Offset: uint32(off), Length: uint32(len(buf) - off), RawLength: c.raw, Compression: c.comp})
	}
	n := len(buf)
	buf, err := r.key.Seal(buf, encodePackHeader(hdr), packHeaderAD)
	if err != nil {
		t.Fatal(err)
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-n))
	id := storedName(buf)
	if err := r.be.Save(ctx, backend.Handle{Type: PackFile, Name: id.String()}, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteIndex(ctx, []IndexPack{{ID: id, Blobs: hdr}}); err != nil {
		t.Fatal(err)
	}
	if err := r.idx.AddPack(id, hdr); err != nil {
		t.Fatal(err)
	}
	return id
}

// zstdBomb returns a zstd frame of a few KiB, without a content size in
// its header, that expands to n × 128 KiB of zeros (RLE blocks).
func zstdBomb(n int) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38} // magic; no FCS, not single segment; 128 KiB window
	for i := 0; i < n; i++ {
		last := 0
		if i == n-1 {
			last = 1
		}
		h := uint32(last) | 1<<1 | (128<<10)<<3 // RLE block of 128 KiB
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	return b
}

func newCraftRepo(t *testing.T) *Repository {
	t.Helper()
	_, r := newCraftRepoDir(t)
	return r
}

// newCraftRepoDir is newCraftRepo that also returns the repository's
// directory, for tests that change its files (packFile).
func newCraftRepoDir(t *testing.T) (string, *Repository) {
	t.Helper()
	dir := t.TempDir() + "/repo"
	be, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewTestRepository(t, be, "pw", InitOptions{})
	t.Cleanup(func() { r.Close() })
	return dir, r
}

// packFile is where the local backend keeps pack id under dir.
func packFile(dir string, id ID) string {
	return filepath.Join(dir, "data", id.String()[:2], id.String())
}

// wantRawDamage checks that err is damage naming the blob and the pack,
// with the given words.
func wantRawDamage(t *testing.T, err error, id, pack ID, words string) {
	t.Helper()
	if !IsDamaged(err) {
		t.Fatalf("err = %v, want damage", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, id.Short()) && !strings.Contains(msg, id.String()) || !strings.Contains(msg, pack.String()) || !strings.Contains(msg, words) {
		t.Fatalf("error %q does not name blob %s, pack %s and %q", msg, id.Short(), pack.Short(), words)
	}
}

// A 2 KiB frame that would expand to 64 MiB, recorded as 1000 bytes,
// fails after at most those 1000 bytes, through both ways of loading.
func TestDecompressionBoundedByRawLength(t *testing.T) {
	ctx := context.Background()
	r := newCraftRepo(t)
	id := ID(r.key.BlobID(make([]byte, 1000)))
	pack := craftPack(t, r, craftedBlob{t: DataBlob, id: id, comp: compressZstd, payload: zstdBomb(512), raw: 1000})

	if _, err := r.decoder(); err != nil { // not counted below
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := r.LoadBlob(ctx, DataBlob, id, nil)
	runtime.ReadMemStats(&after)
	wantRawDamage(t, err, id, pack, "decompress to the recorded 1000 bytes")
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Fatalf("loading the bomb allocated %d bytes", got)
	}

	loc, _ := r.LookupBlob(DataBlob, id)
	calls := 0
	err = r.LoadBlobsFromPack(ctx, pack, []BlobLocation{loc}, func(_ BlobLocation, _ []byte, err error) error {
		calls++
		wantRawDamage(t, err, id, pack, "decompress to the recorded 1000 bytes")
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("LoadBlobsFromPack: %v, %d calls", err, calls)
	}
}

func TestRawLengthMustMatch(t *testing.T) {
	ctx := context.Background()
	r := newCraftRepo(t)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("cadang "), 700) // 4900 bytes
	frame := enc.EncodeAll(plain, nil)            // records its content size
	id := ID(r.key.BlobID(plain))

	// The frame says 4900, the header 100: refused before decoding.
	pack := craftPack(t, r, craftedBlob{t: TreeBlob, id: id, comp: compressZstd, payload: frame, raw: 100})
	_, err = r.LoadBlob(ctx, TreeBlob, id, nil)
	wantRawDamage(t, err, id, pack, "decompress to the recorded 100 bytes")

	// Fewer bytes than recorded.
	id2 := ID(r.key.BlobID(plain[:10]))
	pack2 := craftPack(t, r, craftedBlob{t: DataBlob, id: id2, comp: compressZstd, payload: enc.EncodeAll(plain[:10], nil), raw: 200})
	_, err = r.LoadBlob(ctx, DataBlob, id2, nil)
	wantRawDamage(t, err, id2, pack2, "decompressed to 10 bytes, the index or pack header records 200")

	// An uncompressed blob whose recorded length is not its length.
	id3 := ID(r.key.BlobID(plain[:20]))
	pack3 := craftPack(t, r, craftedBlob{t: DataBlob, id: id3, comp: compressNone, payload: plain[:20], raw: 21})
	_, err = r.LoadBlob(ctx, DataBlob, id3, nil)
	wantRawDamage(t, err, id3, pack3, "plaintext is 20 bytes, the index or pack header records 21")

	// And a correct one loads.
	id4 := ID(r.key.BlobID(plain))
	craftPack(t, r, craftedBlob{t: DataBlob, id: id4, comp: compressZstd, payload: frame, raw: uint32(len(plain))})
	got, err := r.LoadBlob(ctx, DataBlob, id4, nil)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("good blob: %v", err)
	}
}

// check --read-data opens blobs with the pack header's raw length.
func TestCheckReadDataBoundedByRawLength(t *testing.T) {
	ctx := context.Background()
	r := newCraftRepo(t)
	id := ID(r.key.BlobID(make([]byte, 1000)))
	pack := craftPack(t, r, craftedBlob{t: DataBlob, id: id, comp: compressZstd, payload: zstdBomb(512), raw: 1000})
	res, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Problems {
		if p.Blob != nil && p.Blob.ID == id && strings.Contains(p.Error(), pack.String()) && strings.Contains(p.Error(), "recorded 1000 bytes") {
			found = true
		}
	}
	if !found {
		t.Fatalf("check does not report the bomb: %v", res.Problems)
	}
}
