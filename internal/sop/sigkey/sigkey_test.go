package sigkey

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestGenerateLoadAndMode(t *testing.T) {
	f := filepath.Join(t.TempDir(), "sub", "op.key")
	k, err := Generate(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi, err)
	}
	if _, err := Generate(f, nil); err == nil {
		t.Fatal("an existing key was overwritten")
	}
	back, err := Load(f)
	if err != nil || !back.Equal(k) {
		t.Fatalf("load: %v", err)
	}
	os.Chmod(f, 0o640)
	if _, err := Load(f); !errors.Is(err, ErrLooseMode) || !strings.Contains(err.Error(), f) {
		t.Fatalf("a key its group can read: %v", err)
	}
	pub, loose, err := LoadPublic(f)
	if err != nil || !loose || !pub.Equal(Public(k)) {
		t.Fatalf("LoadPublic: %v %v", loose, err)
	}
	fp := Fingerprint(pub)
	if len(fp) != 39 || !MatchFingerprint(fp, pub) || !MatchFingerprint(strings.ReplaceAll(fp, ":", ""), pub) ||
		!MatchFingerprint(EncodePublic(pub), pub) || MatchFingerprint(fp[:10], pub) {
		t.Fatalf("fingerprint %q", fp)
	}
	if p, err := ParsePublic(EncodePublic(pub)); err != nil || !p.Equal(pub) {
		t.Fatalf("ParsePublic: %v", err)
	}
}

func TestLoadOrCreateRace(t *testing.T) {
	f := filepath.Join(t.TempDir(), "runlog.key")
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k, _, err := LoadOrCreate(f, nil)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = EncodePublic(Public(k))
		}(i)
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("two keys made: %v", keys)
		}
	}
}

// A key made by openssl is read as is (an operator's token key).
func TestOpenSSLKey(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	f := filepath.Join(t.TempDir(), "op.pem")
	if out, err := exec.Command("openssl", "genpkey", "-algorithm", "ed25519", "-out", f).CombinedOutput(); err != nil {
		t.Skipf("openssl cannot make ed25519 keys: %v %s", err, out)
	}
	os.Chmod(f, 0o600)
	if _, err := Load(f); err != nil {
		t.Fatal(err)
	}
}
