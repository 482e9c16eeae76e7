package runlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
)

const repoB = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"

// hasWarning reports a warning finding.
func hasWarning(fs []Finding, copy string, p Problem) bool {
	for _, f := range fs {
		if f.Copy == copy && f.Problem == p && f.Warning {
			return true
		}
	}
	return false
}

func verifyErr(t *testing.T, l *Log, s RecordStore, o VerifyOptions, copy string, p Problem) *VerifyReport {
	t.Helper()
	rep, err := l.VerifyWith(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !has(rep.Findings, copy, p, "") {
		t.Fatalf("want %s %s, got:\n%s", copy, p, findings(rep))
	}
	if rep.First == nil {
		t.Fatalf("no first bad record named")
	}
	return rep
}

func verifyOK(t *testing.T, l *Log, s RecordStore, o VerifyOptions) *VerifyReport {
	t.Helper()
	rep, err := l.VerifyWith(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("want OK, got:\n%s", findings(rep))
	}
	return rep
}

func TestKeyCreatedOnFirstUseAndRecordsSigned(t *testing.T) {
	l, clk := newLog(t)
	if _, err := os.Stat(l.KeyFile()); !os.IsNotExist(err) {
		t.Fatalf("key exists before the first record: %v", err)
	}
	recs := fill(t, l, clk, nil, 2)
	fi, err := os.Stat(l.KeyFile())
	if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(l.KeyFile()) != filepath.Dir(l.Path()) {
		t.Fatalf("key file %s: %v %v", l.KeyFile(), fi, err)
	}
	pub, _ := l.PublicKey()
	for _, r := range recs {
		if r.Signer != sigkey.EncodePublic(pub) {
			t.Fatalf("record %s signer %q", r.ID, r.Signer)
		}
	}
	rep := verifyOK(t, l, nil, VerifyOptions{})
	if rep.Key != sigkey.Fingerprint(pub) || rep.Local.Signers[rep.Key] != 2 || len(rep.Local.Head) != 64 {
		t.Fatalf("report: %+v", rep)
	}
	// the signature covers the bytes that hold the previous hash
	b, _ := os.ReadFile(l.Path())
	line := strings.Split(string(b), "\n")[1]
	e := decode("", []byte(line))
	if st, err := e.sigState(); st != sigValid || !strings.Contains(string(e.raw), `"prev":"`+recs[0].Hash+`"`) {
		t.Fatalf("signature %v %v", st, err)
	}
	// a key file others can read is refused, and the record is still
	// written, unsigned, with a warning
	os.Chmod(l.KeyFile(), 0o644)
	r, err := l.Append(context.Background(), Record{Op: OpCheck, Result: OK}, nil)
	if !errors.Is(err, ErrUnsigned) || !errors.Is(err, ErrNotStored) || r.Seq != 3 || r.Signer != "" {
		t.Fatalf("append with a loose key: %+v %v", r, err)
	}
	rep = verifyErr(t, l, nil, VerifyOptions{}, "local", Unsigned)
	if !hasWarning(rep.Findings, "local", LooseKey) || rep.Key == "" {
		t.Fatalf("the loose key is not said: %s", findings(rep))
	}
	os.Chmod(l.KeyFile(), 0o600)
}

// The forgery of the issue: a local record rewritten from ok to failed,
// the chain recomputed after it, and records/ deleted in the repository.
func TestForgedLocalLogFailsVerify(t *testing.T) {
	ctx := context.Background()
	forge := func(t *testing.T, l *Log, key ed25519.PrivateKey) {
		tamperLocal(t, l, func(ls []string) []string {
			prev := ""
			for i, line := range ls {
				e := decode("", []byte(line))
				if i == 2 {
					e.rec.Result, e.rec.Failure = Failed, KindMedia
				}
				e.rec.Prev = prev
				var b []byte
				if key != nil {
					b, prev, _ = encode(&e.rec, key)
				} else {
					b, prev, _ = encode(&e.rec)
				}
				ls[i] = string(b)
			}
			return ls
		})
	}
	wipe := func(s *runlogtest.MemStore) {
		for _, id := range s.IDs(repo.RecordFile) {
			s.Remove(repo.RecordFile, id)
		}
	}
	t.Run("without the key", func(t *testing.T) {
		l, clk := newLog(t)
		s := runlogtest.NewID(repoA)
		fill(t, l, clk, s, 5)
		forge(t, l, nil)
		wipe(s)
		rep := verifyErr(t, l, s, VerifyOptions{}, "local", BadSignature)
		if rep.First.Seq != 1 {
			t.Errorf("first bad record: %v", rep.First)
		}
		verifyErr(t, l, s, VerifyOptions{}, "repository", Removed)
		verifyErr(t, l, nil, VerifyOptions{}, "local", BadSignature)
		// the next run does not seal the forgery into the repository
		if _, err := l.Append(ctx, Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, s); !errors.Is(err, ErrNotStored) {
			t.Fatalf("append after forgery: %v", err)
		}
		verifyErr(t, l, s, VerifyOptions{}, "repository", Removed)
		for _, id := range s.IDs(repo.RecordFile) {
			b, _ := s.LoadFile(ctx, repo.RecordFile, id)
			if e := decode("", b); e.isHead {
				t.Fatalf("a head was written over a forged log: %s", b)
			}
		}
	})
	t.Run("signatures stripped", func(t *testing.T) {
		l, clk := newLog(t)
		s := runlogtest.NewID(repoA)
		fill(t, l, clk, s, 5)
		forge(t, l, nil)
		tamperLocal(t, l, func(ls []string) []string {
			for i := range ls {
				ls[i] = strings.NewReplacer(`"signer":"`, `"x":"`).Replace(ls[i])
			}
			return ls
		})
		wipe(s)
		verifyErr(t, l, s, VerifyOptions{}, "repository", Removed)
	})
	t.Run("re-signed with the host key", func(t *testing.T) {
		// root on the server has the host key: the repository's records
		// and heads, or the head written down, still tell.
		l, clk := newLog(t)
		s := runlogtest.NewID(repoA)
		fill(t, l, clk, s, 5)
		rep := verifyOK(t, l, s, VerifyOptions{})
		minutes := rep.Local.Head
		key, _ := l.SigningKey()
		forge(t, l, key)
		verifyErr(t, l, s, VerifyOptions{}, "local", HeadMismatch)
		wipe(s)
		verifyErr(t, l, s, VerifyOptions{}, "repository", Removed)
		verifyErr(t, l, nil, VerifyOptions{ExpectHead: minutes}, "local", HeadNotFound)
	})
}

func TestReplayedRepositoryIsRolledBack(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	fill(t, l, clk, s, 3)
	old := s.Clone()
	fill(t, l, clk, s, 2)
	verifyOK(t, l, s, VerifyOptions{})
	verifyErr(t, l, old, VerifyOptions{}, "repository", RolledBack)
	fs, err := l.CheckRepository(ctx, old, nil)
	if err != nil || len(fs) == 0 {
		t.Fatalf("CheckRepository: %v %v", fs, err)
	}
	if fs, _ := l.CheckRepository(ctx, s, nil); len(fs) != 0 {
		t.Fatalf("CheckRepository of the current copy: %v", fs)
	}
	// The next run copies its records into the old copy, but no head: it
	// stays an older copy until accepted.
	if _, err := l.Sync(ctx, old); !errors.Is(err, ErrNotStored) || !strings.Contains(err.Error(), "older than the run log") {
		t.Fatalf("sync into the old copy: %v", err)
	}
	verifyErr(t, l, old, VerifyOptions{}, "repository", RolledBack)
	if _, err := l.AcceptRepository(ctx, old); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, l, old, VerifyOptions{})

	// a snapshot that a forget removed is back
	gone := strings.Repeat("5a", 32)
	if _, err := l.Append(ctx, Record{Op: OpForget, RepositoryID: repoA, Result: OK,
		Forget: &ForgetInfo{Removed: []ForgetItem{{Snapshot: gone, Reasons: []string{ReasonNotKept}}}}}, s); err != nil {
		t.Fatal(err)
	}
	// a snapshot that a backup made is gone, and no forget says why
	made := strings.Repeat("6b", 32)
	if _, err := l.Append(ctx, Record{Op: OpBackup, RepositoryID: repoA, Result: OK, Snapshots: []string{made}}, s); err != nil {
		t.Fatal(err)
	}
	if rep := verifyOK(t, l, s, VerifyOptions{Snapshots: []string{}}); !hasWarning(rep.Findings, "repository", MissingSnapshot) {
		t.Fatalf("want the missing snapshot named: %s", findings(rep))
	}
	verifyOK(t, l, s, VerifyOptions{Snapshots: []string{made}})
	verifyOK(t, l, s, VerifyOptions{Snapshots: []string{made, strings.Repeat("11", 32)}})
	verifyErr(t, l, s, VerifyOptions{Snapshots: []string{made, gone}}, "repository", Forgotten)
	if fs, _ := l.CheckRepository(ctx, s, []string{made, gone}); len(fs) != 1 || fs[0].Problem != Forgotten {
		t.Fatalf("CheckRepository: %v", fs)
	}
}

func TestUnknownKey(t *testing.T) {
	l, clk := newLog(t)
	s := runlogtest.NewID(repoA)
	fill(t, l, clk, s, 2)
	// someone appends to the mirror with a key of their own
	intruder := Open(l.Path(), Options{Clock: clk, KeyFile: filepath.Join(t.TempDir(), "other.key")})
	r, err := intruder.Append(context.Background(), Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, s)
	if !errors.Is(err, ErrNotStored) || !strings.Contains(err.Error(), "head not written") {
		t.Fatalf("the intruder's own log sealed a head: %v", err)
	}
	for range 2 {
		if _, err := intruder.Append(context.Background(), Record{Op: OpForget, RepositoryID: repoA, Result: OK}, s); !errors.Is(err, ErrNotStored) {
			t.Fatal(err)
		}
	}
	rep := verifyErr(t, l, s, VerifyOptions{}, "local", UnknownKey)
	if rep.First == nil || rep.First.RecordID != r.ID {
		t.Fatalf("first bad record %v, want %s", rep.First, r.ID)
	}
	// one finding per key, saying how many it signed and how to trust it
	var unknown []Finding
	for _, f := range rep.Findings {
		if f.Problem == UnknownKey && f.Copy == "local" {
			unknown = append(unknown, f)
		}
	}
	if pub, _ := intruder.PublicKey(); len(unknown) != 1 || !strings.HasPrefix(unknown[0].Detail, "3 records signed by key "+sigkey.Fingerprint(pub)) ||
		!strings.Contains(unknown[0].Detail, "--trust-key "+sigkey.Fingerprint(pub)) || unknown[0].RecordID != r.ID {
		t.Fatalf("want one unknown-key finding for the 3 records: %s", findings(rep))
	}
	verifyErr(t, l, s, VerifyOptions{}, "repository", UnknownKey)
	// trusted by fingerprint (the machine this one replaced), it verifies
	pub, _ := intruder.PublicKey()
	trusting := Open(l.Path(), Options{Clock: clk, Trust: []string{sigkey.Fingerprint(pub)}})
	verifyOK(t, trusting, s, VerifyOptions{}) // in the repository, though no head covers it yet
	if _, err := trusting.Sync(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, trusting, s, VerifyOptions{})
}

func TestUnsignedBeforeSigningOnly(t *testing.T) {
	l, clk := newLog(t)
	// two records written before signing existed
	var prev string
	var lines []string
	for i := 1; i <= 2; i++ {
		b, h, _ := encode(&Record{Chain: "00aa00aa00aa00aa", Seq: uint64(i), Prev: prev, ID: "old", Logged: t0, Op: OpBackup, Result: OK})
		lines, prev = append(lines, string(b)), h
	}
	os.MkdirAll(filepath.Dir(l.Path()), 0o700)
	os.WriteFile(l.Path(), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	clk.Advance(time.Hour)
	fill(t, l, clk, nil, 2)
	rep := verifyOK(t, l, nil, VerifyOptions{})
	if !hasWarning(rep.Findings, "local", Unsigned) || !strings.Contains(findings(rep), "before signing was introduced") {
		t.Fatalf("want the unsigned warning: %s", findings(rep))
	}
	// an unsigned record after a signed one is an error
	recs, _ := l.Records()
	last := recs[len(recs)-1]
	b, _, _ := encode(&Record{Chain: last.Chain, Seq: last.Seq + 1, Prev: last.Hash, ID: "late", Logged: clk.Now(), Op: OpBackup, Result: OK})
	f, _ := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(append(b, '\n'))
	f.Close()
	verifyErr(t, l, nil, VerifyOptions{}, "local", Unsigned)
}

func TestOnlyConcerningRecordsAreMirrored(t *testing.T) {
	ctx := context.Background()
	l, clk := newLog(t)
	a, b := runlogtest.NewID(repoA), runlogtest.NewID(repoB)
	fill(t, l, clk, a, 2)
	if _, err := l.Append(ctx, Record{Op: OpBackup, Job: "other", RepositoryID: repoB, Result: OK}, b); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, Record{Op: OpCopy, RepositoryID: repoB, Result: OK, Copy: &CopyInfo{FromID: repoA}}, b); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sync(ctx, a); err != nil {
		t.Fatal(err)
	}
	ra, _ := StoreRecords(ctx, a)
	rb, _ := StoreRecords(ctx, b)
	if len(ra) != 3 || ra[2].Op != OpCopy || len(rb) != 2 {
		t.Fatalf("A holds %d, B %d", len(ra), len(rb))
	}
	for _, r := range ra {
		if r.Job == "other" {
			t.Fatalf("B's backup was copied into A")
		}
	}
	verifyOK(t, l, a, VerifyOptions{})
	verifyOK(t, l, b, VerifyOptions{})
	// a record of B removed from B is an error, not a warning
	for _, id := range b.IDs(repo.RecordFile) {
		raw, _ := b.LoadFile(ctx, repo.RecordFile, id)
		if e := decode("", raw); !e.isHead && e.rec.Job == "other" {
			b.Remove(repo.RecordFile, id)
		}
	}
	verifyErr(t, l, b, VerifyOptions{}, "repository", Removed)
	// a run that found its medium absent names no repository: listed, not an error
	if _, err := l.Append(ctx, Record{Op: OpBackup, Medium: "disk-A", Result: Failed, Failure: KindMedia}, nil); err != nil {
		t.Fatal(err)
	}
	rep := verifyOK(t, l, a, VerifyOptions{Medium: "disk-A"})
	if !hasWarning(rep.Findings, "repository", MediumAbsent) {
		t.Fatalf("want the absent medium named: %s", findings(rep))
	}
	// a run whose medium was there but whose repository did not open (its
	// password file missing) did not find the medium absent: said as what it was
	if _, err := l.Append(ctx, Record{Op: OpBackup, Medium: "disk-B", Result: Failed, Failure: KindOther,
		Message: "password file: open /etc/cadang/NOPE: no such file or directory"}, nil); err != nil {
		t.Fatal(err)
	}
	rep = verifyOK(t, l, a, VerifyOptions{Medium: "disk-B"})
	if hasWarning(rep.Findings, "repository", MediumAbsent) {
		t.Fatalf("a medium whose repository did not open was called absent: %s", findings(rep))
	}
	if !hasWarning(rep.Findings, "repository", NotOpened) || !strings.Contains(findings(rep), "/etc/cadang/NOPE") {
		t.Fatalf("want the unopened repository named with its cause: %s", findings(rep))
	}
}

func TestCountersignAndExpectHead(t *testing.T) {
	l, clk := newLog(t)
	opKey, err := sigkey.Generate(filepath.Join(t.TempDir(), "token", "operator.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.opt.Cosign = opKey
	s := runlogtest.NewID(repoA)
	recs := fill(t, l, clk, s, 3)
	if recs[0].Cosigner != sigkey.EncodePublic(sigkey.Public(opKey)) {
		t.Fatalf("cosigner %q", recs[0].Cosigner)
	}
	rep := verifyOK(t, l, s, VerifyOptions{ExpectHead: recs[1].Hash})
	if rep.ExpectedSeq != 2 || rep.Local.Cosigners[sigkey.Fingerprint(sigkey.Public(opKey))] != 3 {
		t.Fatalf("report: %+v", rep)
	}
	verifyErr(t, l, s, VerifyOptions{ExpectHead: strings.Repeat("0", 64)}, "local", HeadNotFound)
	verifyErr(t, l, s, VerifyOptions{ExpectHead: recs[1].Hash[:16]}, "local", HeadNotFound)
	// a countersignature that does not hold
	tamperLocal(t, l, func(ls []string) []string {
		i := strings.Index(ls[1], `"cosig":"`) + len(`"cosig":"`)
		c := []byte(ls[1])
		c[i] ^= 1
		ls[1] = string(c)
		return ls
	})
	verifyErr(t, l, nil, VerifyOptions{}, "local", BadSignature)
}

// Two processes recording at once into one repository (two cron jobs on
// one medium): whatever the order of their syncs, no head is refused and
// the repository is not taken for an older copy.
func TestConcurrentSyncsIntoOneRepository(t *testing.T) {
	l, clk := newLog(t)
	l2 := Open(l.Path(), Options{Clock: clk, Host: "h", Operator: "o"})
	s := runlogtest.NewID(repoA)
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lg := l
			if i%2 == 1 {
				lg = l2
			}
			if _, err := lg.Append(context.Background(), Record{Op: OpBackup, RepositoryID: repoA, Result: OK}, s); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if _, err := l.Sync(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	rep := verifyOK(t, l, s, VerifyOptions{})
	if rep.Repo.Records != 12 || rep.Repo.NewestHead == nil || rep.Repo.NewestHead.Last != 12 {
		t.Fatalf("repository: %+v", rep.Repo)
	}
}
