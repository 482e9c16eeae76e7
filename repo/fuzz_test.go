package repo

// Fuzz targets for the decoders of what is read from storage: the pack
// header, the index file, and key files. The seed corpus under
// testdata/fuzz/ is made from real encoded values; regenerate it with
//
//	CADANG_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus ./repo
//
// and fuzz with, for example,
//
//	go test -run '^$' -fuzz '^FuzzDecodePackHeader$' -fuzztime 30s ./repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/mem"
)

// fuzzPW is the password of the key files in the seed corpus.
const fuzzPW = "fuzz password"

func fuzzID(n byte) ID {
	return sha256.Sum256([]byte{n})
}

// fuzzBlobs returns n pack entries with plausible lengths, and the number
// of data bytes they cover.
func fuzzBlobs(n int) ([]PackBlob, int64) {
	var off int64
	blobs := make([]PackBlob, n)
	for i := range blobs {
		l := uint32(crypto.Overhead + 1 + 100*i)
		blobs[i] = PackBlob{Type: BlobType(1 + i%2), ID: fuzzID(byte(i)), Offset: uint32(off), Length: l, RawLength: l - crypto.Overhead - 1, Compression: byte(i % 2)}
		off += int64(l)
	}
	return blobs, off
}

func packHeaderSeeds() []struct {
	hdr []byte
	n   int64
} {
	var out []struct {
		hdr []byte
		n   int64
	}
	for _, n := range []int{0, 1, 2, 5} {
		blobs, size := fuzzBlobs(n)
		out = append(out, struct {
			hdr []byte
			n   int64
		}{encodePackHeader(blobs), size})
	}
	return out
}

func FuzzDecodePackHeader(f *testing.F) {
	for _, s := range packHeaderSeeds() {
		f.Add(s.hdr, s.n)
	}
	f.Fuzz(func(t *testing.T, b []byte, packDataLen int64) {
		blobs, err := decodePackHeader(b, packDataLen)
		if err != nil {
			if blobs != nil {
				t.Fatal("blobs returned with an error")
			}
			return
		}
		// Whatever is accepted describes the pack's data exactly and
		// encodes back to the same bytes.
		var off int64
		for i, e := range blobs {
			if !e.Type.Valid() || int64(e.Offset) != off || e.Length < crypto.Overhead+1 {
				t.Fatalf("entry %d accepted with type %d offset %d length %d", i, e.Type, e.Offset, e.Length)
			}
			off += int64(e.Length)
		}
		if off != packDataLen {
			t.Fatalf("blobs cover %d of %d bytes", off, packDataLen)
		}
		if !bytes.Equal(encodePackHeader(blobs), b) {
			t.Fatal("decoded header does not encode to the same bytes")
		}
		// The index accepts what a pack header gives.
		idx := NewIndex()
		if err := idx.AddPack(fuzzID(0), blobs); err != nil {
			t.Fatal(err)
		}
		for _, e := range blobs {
			if _, ok := idx.Lookup(e.Type, e.ID); !ok {
				t.Fatalf("blob %s not found after AddPack", e.ID.Short())
			}
		}
	})
}

func indexFileSeeds() [][]byte {
	b1, _ := fuzzBlobs(1)
	b3, _ := fuzzBlobs(3)
	return [][]byte{
		encodeIndexFile(nil),
		encodeIndexFile([]IndexPack{{ID: fuzzID(100), Blobs: b1}}),
		encodeIndexFile([]IndexPack{{ID: fuzzID(101), Blobs: b3}, {ID: fuzzID(102)}, {ID: fuzzID(103), Blobs: b1}}),
	}
}

func FuzzDecodeIndexFile(f *testing.F) {
	for _, s := range indexFileSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		packs, err := decodeIndexFile(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeIndexFile(packs), b) {
			t.Fatal("decoded index does not encode to the same bytes")
		}
		// Loading it into the in-memory index must work, and every blob
		// must then be found in one of the packs that listed it.
		idx := NewIndex()
		if err := idx.bulkAdd(packs); err != nil {
			t.Fatalf("bulkAdd: %v", err)
		}
		where := map[ID][]ID{}
		for _, p := range packs {
			for _, e := range p.Blobs {
				where[e.ID] = append(where[e.ID], p.ID)
			}
		}
		for _, p := range packs {
			for _, e := range p.Blobs {
				loc, ok := idx.Lookup(e.Type, e.ID)
				if !ok {
					t.Fatalf("blob %s not found after loading", e.ID.Short())
				}
				if !slices.Contains(where[e.ID], loc.Pack) {
					t.Fatalf("blob %s found in pack %s, which does not list it", e.ID.Short(), loc.Pack.Short())
				}
			}
		}
	})
}

// fuzzKeyFileSeeds returns real key files for fuzzPW, made with cheap KDF
// parameters so that fuzzing the unlock path stays fast.
func fuzzKeyFileSeeds(tb testing.TB) [][]byte {
	k := &crypto.Key{}
	for i := range k.Encrypt {
		k.Encrypt[i], k.ID[i] = byte(i), byte(255-i)
	}
	kf, err := crypto.NewKeyFile(k, []byte(fuzzPW), crypto.CheapKDFParams(), "host", "user", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	full, err := kf.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	kf.Host, kf.Username = "", ""
	bare, err := kf.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{full, bare, []byte(`{}`), []byte(`{"version":1,"kdf":"argon2id"}`)}
}

func FuzzParseKeyFile(f *testing.F) {
	for _, s := range fuzzKeyFileSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kf, err := crypto.ParseKeyFile(b)
		if err != nil {
			return
		}
		if kf.Version != crypto.KeyFileVersion || kf.Params.Validate() != nil || len(kf.Data) != crypto.Overhead+2*crypto.KeySize || len(kf.Salt) < 16 {
			t.Fatalf("invalid key file accepted: %+v", kf)
		}
		// What is accepted survives a round trip.
		m, err := kf.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		kf2, err := crypto.ParseKeyFile(m)
		if err != nil {
			t.Fatalf("re-encoded key file rejected: %v", err)
		}
		if kf2.Params != kf.Params || !bytes.Equal(kf2.Salt, kf.Salt) || !bytes.Equal(kf2.Data, kf.Data) {
			t.Fatal("key file changed in a round trip")
		}
	})
}

// FuzzUnlock feeds a key file to the repository's key loading, stored both
// under its own hash (as if intact) and under another name (as if
// damaged). Open must give a key, ErrWrongPassword, or a damage report;
// never a panic.
func FuzzUnlock(f *testing.F) {
	for _, s := range fuzzKeyFileSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if kf, err := crypto.ParseKeyFile(b); err == nil {
			p := kf.Params
			if p.Memory > 64<<10 || p.Time > 3 || p.Threads > 4 {
				t.Skip("KDF parameters too costly for fuzzing")
			}
		}
		ctx := context.Background()
		for _, intact := range []bool{true, false} {
			be := mem.New()
			name := storedName(b)
			if !intact {
				name[0] ^= 1
			}
			if err := be.Save(ctx, backend.Handle{Type: KeyFile, Name: name.String()}, b); err != nil {
				t.Fatal(err)
			}
			k, id, err := unlock(ctx, be, []byte(fuzzPW), unlockLimits{})
			switch {
			case err == nil:
				if k == nil || id != name || !intact {
					t.Fatalf("unlock succeeded with key %v from %s (intact %v)", k != nil, id.Short(), intact)
				}
			case !intact:
				if !IsDamaged(err) || errors.Is(err, ErrWrongPassword) {
					t.Fatalf("key file under a wrong name: %v", err)
				}
			default:
				// An intact file (its name vouches for its bytes) with a seal
				// version above ours is a newer format, not damage (§13).
				if !IsDamaged(err) && !errors.Is(err, ErrWrongPassword) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("unexpected error: %v", err)
				}
			}
		}
	})
}

// TestWriteFuzzCorpus writes the seed corpus under testdata/fuzz. It runs
// only when CADANG_WRITE_FUZZ_CORPUS is set; otherwise it checks that the
// checked-in corpus exists.
func TestWriteFuzzCorpus(t *testing.T) {
	write := os.Getenv("CADANG_WRITE_FUZZ_CORPUS") != ""
	put := func(target, name string, args ...any) {
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&buf, "[]byte(%q)\n", v)
			case int64:
				fmt.Fprintf(&buf, "int64(%d)\n", v)
			}
		}
		p := filepath.Join("testdata", "fuzz", target, name)
		if !write {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("seed corpus file missing (regenerate with CADANG_WRITE_FUZZ_CORPUS=1): %v", err)
			}
			return
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range packHeaderSeeds() {
		put("FuzzDecodePackHeader", fmt.Sprintf("seed-%d", i), s.hdr, s.n)
	}
	for i, s := range indexFileSeeds() {
		put("FuzzDecodeIndexFile", fmt.Sprintf("seed-%d", i), s)
	}
	for i, s := range fuzzKeyFileSeeds(t) {
		put("FuzzParseKeyFile", fmt.Sprintf("seed-%d", i), s)
		put("FuzzUnlock", fmt.Sprintf("seed-%d", i), s)
	}
}
