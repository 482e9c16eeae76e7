package runlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
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
	path := l.cache.path
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

// TestStoreFilesLoadedTogether: a remote repository's record files are
// loaded several at a time, in the listed order, and each once: a file
// this host loaded or saved before is read from beside the mirror. 'log
// verify' loads them all again.
func TestStoreFilesLoadedTogether(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	mem := runlogtest.NewID(repoA)
	fill(t, l, clk, mem, 12)
	s := &slowStore{MemStore: mem, delay: 2 * time.Millisecond}
	want, err := readStore(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	same := func(got []entry) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].err != nil || got[i].computed != want[i].computed || !bytes.Equal(got[i].raw, want[i].raw) || got[i].where != want[i].where {
				t.Fatalf("entry %d: %s %v, want %s", i, got[i].where, got[i].err, want[i].where)
			}
		}
	}
	loads := func() int { s.mu.Lock(); defer s.mu.Unlock(); return s.of }

	// The files this host saved are known already.
	got, err := Open(l.Path(), l.opt).readStore(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	same(got)
	if n := loads(); n != 0 {
		t.Fatalf("%d files loaded that this host saved", n)
	}

	// Without them (another host's files, a new machine): each loaded
	// once, several at a time.
	if err := os.RemoveAll(l.cache.store); err != nil {
		t.Fatal(err)
	}
	fresh := Open(l.Path(), l.opt)
	for range 2 {
		got, err := fresh.readStore(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		same(got)
	}
	if s.most < 2 || s.most > storeLoads {
		t.Errorf("at most %d files loaded at once, want 2 to %d", s.most, storeLoads)
	}
	if n := loads(); n != len(want) {
		t.Errorf("%d loads for %d files read twice by one process, want each once", n, len(want))
	}
	got, err = Open(l.Path(), l.opt).readStore(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	same(got)
	if n := loads(); n != len(want) {
		t.Errorf("the next process loaded %d files again", n-len(want))
	}

	// 'log verify' reads the repository's files, not the copies here.
	if rep, err := Open(l.Path(), l.opt).Verify(ctx, s); err != nil || !rep.OK() {
		t.Fatalf("verify: %v %s", err, findings(rep))
	}
	if n := loads(); n != 2*len(want) {
		t.Errorf("verify loaded %d of %d files", n-len(want), len(want))
	}
}

// TestStoredFilesDamaged: a torn or damaged line of the kept files only
// costs a load.
func TestStoredFilesDamaged(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	mem := runlogtest.NewID(repoA)
	fill(t, l, clk, mem, 3)
	p := filepath.Join(l.cache.store, repoA)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines[0] = lines[0][:len(lines[0])-9]                                           // torn in its contents
	lines[1] = regexp.MustCompile(`"seq":\d`).ReplaceAllString(lines[1], `"seq":9`) // still JSON, altered
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &slowStore{MemStore: mem, delay: 2 * time.Millisecond}
	fresh := Open(l.Path(), l.opt)
	if fs, err := fresh.CheckRepository(ctx, s, nil); err != nil || len(fs) > 0 {
		t.Fatalf("check: %v %v", err, fs)
	}
	if s.of != 2 {
		t.Errorf("%d files loaded, want the 2 whose lines were damaged", s.of)
	}
}

// TestVerifyForgetsDamagedFiles: a kept copy stands in for a repository
// file damaged since; 'log verify' reads the file itself, reports it, and
// drops the kept copy, so that the next command finds the record missing
// and copies it in again.
func TestVerifyForgetsDamagedFiles(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	s.Salted = true // a repository names every copy anew
	recs := fill(t, l, clk, s, 4)
	s.Replace(repo.RecordFile, storeFiles(t, s)[2], []byte("damaged"))
	if fs, err := Open(l.Path(), l.opt).CheckRepository(ctx, s, nil); err != nil || len(fs) > 0 {
		t.Fatalf("everyday check with the kept copy: %v %v", err, fs)
	}
	verifyErr(t, Open(l.Path(), l.opt), s, VerifyOptions{}, "repository", Unreadable)
	c := Open(l.Path(), l.opt)
	fs, err := c.CheckRepository(ctx, s, nil)
	if err != nil || !has(fs, "repository", Removed, recs[1].ID) {
		t.Fatalf("everyday check after verify: %v %v, want record %s removed", err, fs, recs[1].ID)
	}
	saves := s.Saves
	if n, err := c.Sync(ctx, s); err != nil || n != 1 || s.Saves != saves+1 {
		t.Fatalf("sync copied %d (%v; %d saves), want the damaged record copied again", n, err, s.Saves-saves)
	}
	rep, err := Open(l.Path(), l.opt).Verify(ctx, s)
	if err != nil || has(rep.Findings, "repository", Removed, "") || !has(rep.Findings, "repository", Unreadable, "") {
		t.Fatalf("after the copy: %v, want only the damaged file reported:\n%s", err, findings(rep))
	}
}

// TestForgetStoredKeepsHeadsAndReadable: a damaged head's kept copy stays
// (the next run writes a newer head; a missing one would look like an
// older copy of the repository), and so does the copy of a file that
// could not be read for another reason than damage.
func TestForgetStoredKeepsHeadsAndReadable(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	fill(t, l, clk, s, 3)
	var head, rec repo.ID
	for _, id := range s.IDs(repo.RecordFile) {
		b, _ := s.LoadFile(ctx, repo.RecordFile, id)
		if e := decode("", b); e.isHead && e.head.Seq == 3 {
			head = id
		} else if !e.isHead && e.rec.Seq == 1 {
			rec = id
		}
	}
	s.Replace(repo.RecordFile, head, []byte("damaged"))
	lost := &failingStore{MemStore: s, fail: rec}
	Open(l.Path(), l.opt).Verify(ctx, lost)
	fresh := Open(l.Path(), l.opt)
	for _, id := range []repo.ID{head, rec} {
		if _, ok := fresh.cache.storedFile(repoA, id); !ok {
			t.Errorf("kept copy of %s dropped", id.Short())
		}
	}
	clk.Advance(time.Hour)
	if _, err := fresh.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, s); err != nil {
		t.Fatalf("append after a damaged head: %v", err)
	}
}

// failingStore cannot read one file, as after a lost connection.
type failingStore struct {
	*runlogtest.MemStore
	fail repo.ID
}

func (f *failingStore) LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	if id == f.fail {
		return nil, errors.New("connection reset by peer")
	}
	return f.MemStore.LoadFile(ctx, t, id)
}

// TestForgetStoredConcurrently: two commands dropping different files of
// one repository at once both take effect.
func TestForgetStoredConcurrently(t *testing.T) {
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	fill(t, l, clk, s, 2)
	p := filepath.Join(l.cache.store, repoA)
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var recs []repo.ID
	for _, id := range s.IDs(repo.RecordFile) {
		b, _ := s.LoadFile(context.Background(), repo.RecordFile, id)
		if !decode("", b).isHead {
			recs = append(recs, id)
		}
	}
	for i := 0; i < 50; i++ {
		if err := os.WriteFile(p, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		a, b := Open(l.Path(), l.opt), Open(l.Path(), l.opt)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for j, c := range []*Log{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c.ForgetStored(repoA, recs[j])
			}()
		}
		close(start)
		wg.Wait()
		c := Open(l.Path(), l.opt).cache
		for _, id := range recs {
			if _, ok := c.storedFile(repoA, id); ok {
				t.Fatalf("round %d: the drop of %s was lost", i, id.Short())
			}
		}
	}
}

// TestCopyRecordPendingForSource: a copy's record concerns its source as
// well as the destination it is stored in. Until a command that opens the
// source syncs it, the source lacks it; the everyday check of the source
// must take it as pending, not report the source as an older copy (which
// it did, after every cadang copy).
func TestCopyRecordPendingForSource(t *testing.T) {
	ctx := context.Background()
	l, _ := newLog(t)
	src, dst := runlogtest.NewID(repoA), runlogtest.NewID(repoB)
	if _, err := l.Append(ctx, Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, src); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, Record{Op: OpCopy, RepositoryID: repoB, Result: OK, Copy: &CopyInfo{From: "/mnt/a", FromID: repoA}}, dst); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*runlogtest.MemStore{src, dst} {
		if fs, err := Open(l.Path(), l.opt).CheckRepository(ctx, s, nil); err != nil || len(fs) > 0 {
			t.Errorf("check of %s after the copy: %v %v", s.ID()[:4], err, fs)
		}
	}
	// The next command on the source copies the record in.
	if _, err := l.Sync(ctx, src); err != nil {
		t.Fatal(err)
	}
	if n := len(storeFiles(t, src)); n < 2 {
		t.Errorf("the source holds %d record files after a sync, want its backup's and the copy's", n)
	}
	if fs, err := Open(l.Path(), l.opt).CheckRepository(ctx, src, nil); err != nil || len(fs) > 0 {
		t.Errorf("check of the source after a sync: %v %v", err, fs)
	}
}
