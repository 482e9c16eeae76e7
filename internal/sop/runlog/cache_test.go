package runlog

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
)

// badSig replaces the signature of the local mirror's line i with a
// well-formed one that does not match, and returns that line decoded.
func badSig(t *testing.T, l *Log, i int) entry {
	t.Helper()
	var e entry
	tamperLocal(t, l, func(ls []string) []string {
		e = decode("", []byte(ls[i]))
		e.sig = base64.StdEncoding.EncodeToString(make([]byte, 64))
		b, _, err := envelopeOf(e)
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = string(b)
		return ls
	})
	return e
}

// TestVerifiedDigests: the signatures that held are written beside the
// mirror, so that the next command does not check them again; a signature
// that changed is checked anew; and 'log verify' ignores the file.
func TestVerifiedDigests(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	fill(t, l, clk, s, 4)
	path := strings.TrimSuffix(l.Path(), ".jsonl") + ".verified"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n < 4 {
		t.Fatalf("%s holds %d digests after 4 signed records and their heads", path, n)
	}

	// A signature altered after it was checked is not found in the file.
	e := badSig(t, l, 1)
	fresh := Open(l.Path(), l.opt)
	clk.Advance(time.Hour)
	if _, err := fresh.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, s); !errors.Is(err, ErrNotStored) {
		t.Fatalf("append after a signature was altered: %v, want the head refused", err)
	}

	// A digest put into the file by hand is taken by the everyday checks
	// (so the file is read), never by 'log verify'.
	d := sigDigest(&e)
	if err := os.WriteFile(path, append(b, hex.EncodeToString(d[:])+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh = Open(l.Path(), l.opt)
	clk.Advance(time.Hour)
	if _, err := fresh.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, s); err != nil {
		t.Fatalf("append with the altered signature's digest on file: %v", err)
	}
	verifyErr(t, Open(l.Path(), l.opt), s, VerifyOptions{}, "local", BadSignature)
}
