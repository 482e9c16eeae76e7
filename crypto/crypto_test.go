package crypto_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/lpse/cadang/crypto"
)

// cheapKDF keeps tests fast; the defaults are measured by BenchmarkKDF.
var cheapKDF = crypto.KDFParams{Time: 1, Memory: 8 << 10, Threads: 1}

func newKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := newKey(t)
	for _, n := range []int{0, 1, 15, 16, 17, 4096, 1 << 20} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ad := []byte("data/abc")
		sealed, err := k.Seal(nil, pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != n+crypto.Overhead {
			t.Fatalf("%d bytes sealed to %d, want +%d", n, len(sealed), crypto.Overhead)
		}
		if n >= 16 && bytes.Contains(sealed, pt[:16]) {
			t.Fatal("plaintext visible in sealed object")
		}
		got, err := k.Open(nil, sealed, ad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: open: %v", n, err)
		}
	}
}

// TestSealAppends: Seal and Open append to dst and leave its prefix alone.
func TestSealAppends(t *testing.T) {
	k := newKey(t)
	prefix := []byte("prefix")
	sealed, err := k.Seal(bytes.Clone(prefix), []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, prefix) {
		t.Fatal("Seal overwrote dst")
	}
	dst := make([]byte, 3, 100)
	got, err := k.Open(dst, sealed[len(prefix):], nil)
	if err != nil || string(got[3:]) != "hello" || len(got) != 8 {
		t.Fatalf("Open into dst: %q %v", got, err)
	}
}

// TestEveryBitAuthenticated flips each bit of a sealed object in turn.
func TestEveryBitAuthenticated(t *testing.T) {
	k := newKey(t)
	sealed, _ := k.Seal(nil, []byte("tender 2024: pagu 1.000.000.000"), []byte("ad"))
	for i := range sealed {
		for bit := range 8 {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			_, err := k.Open(nil, bad, []byte("ad"))
			// A higher version byte is an object this program cannot
			// read (from a newer writer, or damaged: only a content
			// hash can tell); it still yields nothing.
			want := crypto.ErrAuth
			if i == 0 && bad[0] > sealed[0] {
				want = crypto.ErrUnsupportedVersion
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d bit %d: %v, want %v", i, bit, err, want)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := k.Open(nil, sealed[:n], []byte("ad")); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := k.Open(nil, append(bytes.Clone(sealed), 0), []byte("ad")); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("extended: %v", err)
	}
}

func TestADAndKeyBound(t *testing.T) {
	k, other := newKey(t), newKey(t)
	sealed, _ := k.Seal(nil, []byte("x"), []byte("snapshots"))
	if _, err := k.Open(nil, sealed, []byte("records")); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("other associated data: %v", err)
	}
	if _, err := k.Open(nil, sealed, nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("no associated data: %v", err)
	}
	if _, err := other.Open(nil, sealed, []byte("snapshots")); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("other key: %v", err)
	}
}

// TestSaltsDiffer: every seal uses a fresh salt, hence a fresh subkey, so
// equal plaintexts give unrelated ciphertexts.
func TestSaltsDiffer(t *testing.T) {
	k := newKey(t)
	seen := map[string]bool{}
	for range 1000 {
		s, _ := k.Seal(nil, []byte("same"), nil)
		salt := string(s[1 : 1+crypto.SaltSize])
		if seen[salt] {
			t.Fatal("salt repeated")
		}
		seen[salt] = true
	}
}

func TestBlobID(t *testing.T) {
	k, other := newKey(t), newKey(t)
	data := []byte("chunk")
	id := k.BlobID(data)
	if id != k.BlobID(data) {
		t.Fatal("BlobID not deterministic")
	}
	if id == other.BlobID(data) {
		t.Fatal("BlobID does not depend on the key")
	}
	if id == k.BlobID([]byte("chunk.")) {
		t.Fatal("BlobID collision")
	}
	// It is keyed BLAKE3-256, as documented.
	h, _ := blake3.NewKeyed(k.ID[:])
	h.Write(data)
	if !bytes.Equal(h.Sum(nil), id[:]) {
		t.Fatal("BlobID is not keyed BLAKE3")
	}
	var unkeyed [32]byte
	copy(unkeyed[:], blake3.New().Sum(nil))
	if k.BlobID(nil) == unkeyed {
		t.Fatal("empty blob ID equals the unkeyed hash")
	}
}

func TestBlobIDConcurrent(t *testing.T) {
	k := newKey(t)
	want := k.BlobID([]byte("x"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if k.BlobID([]byte("x")) != want {
					t.Error("concurrent BlobID differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestKDFParamsValidate(t *testing.T) {
	if err := crypto.DefaultKDFParams().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	if crypto.DefaultKDFParams().Memory != 64<<10 {
		t.Fatalf("default memory %d KiB, the issue asks for 64 MiB", crypto.DefaultKDFParams().Memory)
	}
	for _, p := range []crypto.KDFParams{
		{Time: 0, Memory: 64 << 10, Threads: 1},
		{Time: 101, Memory: 64 << 10, Threads: 1},
		{Time: 1, Memory: 8<<10 - 1, Threads: 1},
		{Time: 1, Memory: 4<<20 + 1, Threads: 1},
		{Time: 1, Memory: 64 << 10, Threads: 0},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
		if _, err := crypto.DeriveWrappingKey([]byte("pw"), make([]byte, 32), p); err == nil {
			t.Errorf("derive with %+v accepted", p)
		}
	}
	if _, err := crypto.DeriveWrappingKey([]byte("pw"), make([]byte, 15), cheapKDF); err == nil {
		t.Error("short salt accepted")
	}
}

func TestWrappingKey(t *testing.T) {
	salt, err := crypto.NewSalt()
	if err != nil || len(salt) != 32 {
		t.Fatal(err)
	}
	w1, _ := crypto.DeriveWrappingKey([]byte("pw"), salt, cheapKDF)
	w2, _ := crypto.DeriveWrappingKey([]byte("pw"), salt, cheapKDF)
	w3, _ := crypto.DeriveWrappingKey([]byte("pw2"), salt, cheapKDF)
	s, _ := w1.Seal(nil, []byte("k"), nil)
	if got, err := w2.Open(nil, s, nil); err != nil || string(got) != "k" {
		t.Fatalf("same password and salt: %v", err)
	}
	if _, err := w3.Open(nil, s, nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("other password: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	k := newKey(t)
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("WIB", 7*3600))
	kf, err := crypto.NewKeyFile(k, []byte("rahasia"), cheapKDF, "server-lpse", "backup", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{k.Encrypt[:], k.ID[:]} {
		if bytes.Contains(b, secret) {
			t.Fatal("master key in the clear in the key file")
		}
	}
	kf2, err := crypto.ParseKeyFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !kf2.Created.Equal(now) || kf2.Created.Location() != time.UTC || kf2.Host != "server-lpse" || kf2.Username != "backup" || kf2.Params != cheapKDF {
		t.Fatalf("metadata changed: %+v", kf2)
	}
	got, err := kf2.Unwrap([]byte("rahasia"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Encrypt != k.Encrypt || got.ID != k.ID {
		t.Fatal("unwrapped key differs")
	}
	if _, err := kf2.Unwrap([]byte("salah")); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	// A second key file for the same key has its own salt.
	kf3, _ := crypto.NewKeyFile(k, []byte("rahasia"), cheapKDF, "", "", now)
	if bytes.Equal(kf3.Salt, kf.Salt) || bytes.Equal(kf3.Data, kf.Data) {
		t.Fatal("two key files share salt or ciphertext")
	}
}

func TestParseKeyFileRejects(t *testing.T) {
	k := newKey(t)
	kf, _ := crypto.NewKeyFile(k, []byte("pw"), cheapKDF, "h", "u", time.Now())
	good, _ := kf.Marshal()
	edit := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in key file %s", old, good)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"not json":    []byte("cadang"),
		"truncated":   good[:len(good)/2],
		"version":     edit(`"version": 1`, `"version": 2`),
		"kdf":         edit(`"kdf": "argon2id"`, `"kdf": "scrypt"`),
		"time":        edit(`"time": 1`, `"time": 0`),
		"memory":      edit(`"memory": 8192`, `"memory": 1073741824`),
		"threads":     edit(`"threads": 1`, `"threads": 0`),
		"data length": edit(`"data": "`, `"data": "AAAA`),
		"short salt":  shortSalt(t, kf),
	} {
		if _, err := crypto.ParseKeyFile(b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "wrong password") {
			t.Errorf("%s: reported as wrong password: %v", name, err)
		}
	}
}

func shortSalt(t *testing.T, kf *crypto.KeyFile) []byte {
	c := *kf
	c.Salt = c.Salt[:8]
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func benchSizes() []struct {
	name string
	n    int
} {
	return []struct {
		name string
		n    int
	}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}}
}

func BenchmarkBlobID(b *testing.B) {
	k := newKey(b)
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			data := make([]byte, s.n)
			b.SetBytes(int64(s.n))
			for b.Loop() {
				k.BlobID(data)
			}
		})
	}
}

// BenchmarkSeal includes the per-object subkey derivation.
func BenchmarkSeal(b *testing.B) {
	k := newKey(b)
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			data := make([]byte, s.n)
			dst := make([]byte, 0, s.n+crypto.Overhead)
			b.SetBytes(int64(s.n))
			for b.Loop() {
				if _, err := k.Seal(dst, data, []byte("ad")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newKey(b)
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			sealed, _ := k.Seal(nil, make([]byte, s.n), []byte("ad"))
			dst := make([]byte, 0, s.n)
			b.SetBytes(int64(s.n))
			for b.Loop() {
				if _, err := k.Open(dst, sealed, []byte("ad")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKDF measures one password attempt with the default argon2id
// parameters: the cost of every Open and of every guess.
func BenchmarkKDF(b *testing.B) {
	salt, _ := crypto.NewSalt()
	for b.Loop() {
		if _, err := crypto.DeriveWrappingKey([]byte("correct horse battery staple"), salt, crypto.DefaultKDFParams()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenInPlace: the plaintext comes back inside the sealed buffer, and a
// flipped bit or a wrong AD still fails.
func TestOpenInPlace(t *testing.T) {
	k := newKey(t)
	for _, n := range []int{0, 1, 17, 4096, 1 << 20} {
		pt := bytes.Repeat([]byte{byte(n + 1)}, n)
		sealed, err := k.Seal(nil, pt, []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(sealed)
		got, err := k.OpenInPlace(buf, []byte("ad"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if n > 0 && &got[0] != &buf[1+crypto.SaltSize] {
			t.Fatalf("%d bytes: plaintext was copied out of the sealed buffer", n)
		}
		bad := bytes.Clone(sealed)
		bad[len(bad)/2] ^= 4
		if _, err := k.OpenInPlace(bad, []byte("ad")); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("%d bytes, flipped bit: %v", n, err)
		}
		if _, err := k.OpenInPlace(bytes.Clone(sealed), []byte("other")); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("%d bytes, wrong AD: %v", n, err)
		}
	}
	if _, err := k.OpenInPlace(make([]byte, crypto.Overhead-1), nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("short: %v", err)
	}
}
