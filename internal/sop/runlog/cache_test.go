package runlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/repo"
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

// slowStore counts the record files loaded at once.
type slowStore struct {
	*runlogtest.MemStore
	mu            sync.Mutex
	now, most, of int
}

func (s *slowStore) LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	s.mu.Lock()
	s.now++
	s.of++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // a remote repository's round trip
	defer func() { s.mu.Lock(); s.now--; s.mu.Unlock() }()
	return s.MemStore.LoadFile(ctx, t, id)
}

// TestStoreFilesLoadedTogether: a remote repository's record files are
// loaded several at a time, each once per process, in the listed order.
func TestStoreFilesLoadedTogether(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	mem := runlogtest.NewID(repoA)
	fill(t, l, clk, mem, 12)
	s := &slowStore{MemStore: mem}
	want, err := readStore(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	fresh := Open(l.Path(), l.opt)
	for range 2 {
		got, err := fresh.readStore(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].computed != want[i].computed || !bytes.Equal(got[i].raw, want[i].raw) || got[i].where != want[i].where {
				t.Fatalf("entry %d: %s, want %s", i, got[i].where, want[i].where)
			}
		}
	}
	if s.most < 2 || s.most > storeLoads {
		t.Errorf("at most %d files loaded at once, want 2 to %d", s.most, storeLoads)
	}
	if s.of != len(want) {
		t.Errorf("%d loads for %d files read twice by one process, want each once", s.of, len(want))
	}
}
