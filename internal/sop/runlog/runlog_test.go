package runlog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
)

// repoA is the ID of the repository the tests' stores stand for.
const repoA = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"

var t0 = time.Date(2026, 1, 10, 2, 0, 0, 0, time.FixedZone("WITA", 8*3600))

type seededRand struct{ r *rand.ChaCha8 }

func (s seededRand) Read(p []byte) (int, error) { return s.r.Read(p) }

func newLog(t *testing.T) (*Log, *clock.Fake) { return newLogT(t) }

func newLogT(t testing.TB) (*Log, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	var seed [32]byte
	l := Open(filepath.Join(t.TempDir(), "sub", "runlog.jsonl"), Options{
		Clock: clk, Rand: seededRand{rand.NewChaCha8(seed)}, Host: "lpse-srv", Operator: "budi"})
	return l, clk
}

// fill appends n backup records, one per day, all copied into store.
func fill(t *testing.T, l *Log, clk *clock.Fake, store RecordStore, n int) []Record {
	t.Helper()
	var out []Record
	for i := 0; i < n; i++ {
		start := clk.Now()
		clk.Advance(10 * time.Minute)
		r, err := l.Append(context.Background(), Record{Op: OpBackup, Job: "spse-prod", Medium: "disk-A", RepositoryID: repoA,
			Start: start, End: clk.Now(), Result: OK, StandardMet: true, BytesAdded: int64(1000 * (i + 1))}, store)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		clk.Advance(24*time.Hour - 10*time.Minute)
	}
	return out
}

func TestAppendChain(t *testing.T) {
	l, clk := newLog(t)
	recs := fill(t, l, clk, nil, 3)
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.Host != "lpse-srv" || r.Operator != "budi" || r.DurationMS != 600000 {
			t.Errorf("record %d: %+v", i, r)
		}
		if i > 0 && r.Prev != recs[i-1].Hash {
			t.Errorf("record %d does not link to %d", i, i-1)
		}
		if r.Chain != recs[0].Chain {
			t.Errorf("chain changed")
		}
	}
	if !strings.HasPrefix(recs[0].ID, "20260110-021000-") {
		t.Errorf("id %q", recs[0].ID)
	}
	got, err := l.Records()
	if err != nil || len(got) != 3 || got[2].Hash != recs[2].Hash {
		t.Fatalf("Records: %v %v", got, err)
	}
	rep, err := l.Verify(context.Background(), nil)
	if err != nil || !rep.OK() || rep.Local.Head != recs[2].Hash {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// the mirror is plain JSON lines, one envelope per line
	b, _ := os.ReadFile(l.Path())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var env struct {
		Hash   string
		Record map[string]any
	}
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &env) != nil || env.Record["job"] != "spse-prod" {
		t.Fatalf("mirror: %q", lines)
	}
}

func TestConcurrentAppendsStayLinear(t *testing.T) {
	l, _ := newLog(t)
	l2 := Open(l.Path(), Options{Clock: l.opt.Clock, Host: "h", Operator: "o"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lg := l
			if i%2 == 1 {
				lg = l2
			}
			if _, err := lg.Append(context.Background(), Record{Op: OpCheck, Result: OK}, nil); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	rep, err := l.Verify(context.Background(), nil)
	if err != nil || !rep.OK() || rep.Local.Records != 20 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestFailedRepositoryWriteKeepsLocalRecordAndSyncsLater(t *testing.T) {
	l, clk := newLog(t)
	store := runlogtest.NewID(repoA)
	fill(t, l, clk, store, 2)
	store.FailSave = errors.New("disk full")
	r, err := l.Append(context.Background(), Record{Op: OpBackup, Job: "spse-prod", RepositoryID: repoA, Result: Failed, Failure: KindOutOfSpace}, store)
	if !errors.Is(err, ErrNotStored) || r.Seq != 3 {
		t.Fatalf("got %v, %+v", err, r)
	}
	rep, err := l.Verify(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Findings) != 1 || rep.Findings[0].Problem != NotCopied || rep.Findings[0].RecordID != r.ID {
		t.Fatalf("want one not-copied warning, got %v", rep.Findings)
	}
	// a failed open: local only, and never copied, as it names no
	// repository
	if _, err := l.Append(context.Background(), Record{Op: OpBackup, Result: Failed, Failure: KindWrongPassword}, nil); err != nil {
		t.Fatal(err)
	}
	store.FailSave = nil
	n, err := l.Sync(context.Background(), store)
	if err != nil || n != 1 {
		t.Fatalf("sync copied %d, %v", n, err)
	}
	rep, _ = l.Verify(context.Background(), store)
	if len(rep.Findings) != 0 {
		t.Fatalf("after sync: %v", rep.Findings)
	}
	all, err := StoreRecords(context.Background(), store)
	if err != nil || len(all) != 3 || all[2].Failure != KindOutOfSpace {
		t.Fatalf("store records: %v %v", all, err)
	}
}

// local tampering: rewrite the mirror's lines with edit.
func tamperLocal(t *testing.T, l *Log, edit func(lines []string) []string) {
	t.Helper()
	b, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines = edit(lines)
	if err := os.WriteFile(l.Path(), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// storeFiles maps seq -> file ID of the record files in a store.
func storeFiles(t *testing.T, s *runlogtest.MemStore) map[uint64]repo.ID {
	t.Helper()
	out := map[uint64]repo.ID{}
	for _, id := range s.IDs(repo.RecordFile) {
		b, _ := s.LoadFile(context.Background(), repo.RecordFile, id)
		e := decode("", b)
		out[e.rec.Seq] = id
	}
	return out
}

func has(fs []Finding, copy string, p Problem, recID string) bool {
	for _, f := range fs {
		if f.Copy == copy && f.Problem == p && (recID == "" || f.RecordID == recID) && !f.Warning {
			return true
		}
	}
	return false
}

func TestVerifyDetectsTampering(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*Log, *runlogtest.MemStore, []Record) {
		l, clk := newLog(t)
		s := runlogtest.NewID(repoA)
		return l, s, fill(t, l, clk, s, 6)
	}
	check := func(t *testing.T, l *Log, s *runlogtest.MemStore, copy string, p Problem, recID string) {
		t.Helper()
		rep, err := l.Verify(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || !has(rep.Findings, copy, p, recID) {
			t.Fatalf("want %s %s naming %s, got:\n%s", copy, p, recID, findings(rep))
		}
		// the local-only verify must see local tampering too
		if copy == "local" && p != Removed && p != Differs {
			rep, _ := l.Verify(ctx, nil)
			if !has(rep.Findings, copy, p, recID) {
				t.Fatalf("local-only verify missed it:\n%s", findings(rep))
			}
		}
	}

	t.Run("local edited", func(t *testing.T) {
		l, s, recs := setup(t)
		tamperLocal(t, l, func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], `"bytes_added":3000`, `"bytes_added":3001`, 1)
			return ls
		})
		check(t, l, s, "local", Altered, recs[2].ID)
		check(t, l, s, "local", Differs, recs[2].ID)
	})
	t.Run("local edited with hash recomputed", func(t *testing.T) {
		l, s, recs := setup(t)
		tamperLocal(t, l, func(ls []string) []string {
			e := decode("", []byte(ls[2]))
			e.rec.Result = Failed
			line, _, _ := encode(&e.rec)
			ls[2] = string(line)
			return ls
		})
		check(t, l, s, "local", BrokenLink, recs[3].ID)
		check(t, l, s, "local", BadSignature, recs[2].ID)
	})
	t.Run("local deleted", func(t *testing.T) {
		l, s, recs := setup(t)
		tamperLocal(t, l, func(ls []string) []string { return append(ls[:2], ls[3:]...) })
		check(t, l, s, "local", Removed, recs[2].ID) // named from the repository copy
		rep, _ := l.Verify(ctx, nil)
		if !has(rep.Findings, "local", Removed, "") || !strings.Contains(findings(rep), recs[1].ID) {
			t.Fatalf("local-only verify: %s", findings(rep))
		}
	})
	t.Run("local last deleted", func(t *testing.T) {
		l, s, recs := setup(t)
		tamperLocal(t, l, func(ls []string) []string { return ls[:5] })
		check(t, l, s, "local", Removed, recs[5].ID)
	})
	t.Run("local swapped", func(t *testing.T) {
		l, s, recs := setup(t)
		tamperLocal(t, l, func(ls []string) []string { ls[2], ls[3] = ls[3], ls[2]; return ls })
		check(t, l, s, "local", Reordered, recs[3].ID)
		check(t, l, s, "local", Reordered, recs[2].ID)
	})
	t.Run("repository edited", func(t *testing.T) {
		l, s, recs := setup(t)
		id := storeFiles(t, s)[3]
		b, _ := s.LoadFile(ctx, repo.RecordFile, id)
		s.Replace(repo.RecordFile, id, bytes.Replace(b, []byte(`"result":"ok"`), []byte(`"result":"failed"`), 1))
		check(t, l, s, "repository", Altered, recs[2].ID)
	})
	t.Run("repository deleted", func(t *testing.T) {
		l, s, recs := setup(t)
		s.Remove(repo.RecordFile, storeFiles(t, s)[3])
		check(t, l, s, "repository", Removed, recs[2].ID)
		// without the local mirror the gap is still seen
		pub, _ := l.PublicKey()
		rep, _ := Open(filepath.Join(t.TempDir(), "none.jsonl"), Options{Trust: []string{sigkey.Fingerprint(pub)}}).Verify(ctx, s)
		if !has(rep.Findings, "repository", Removed, "") {
			t.Fatalf("repository-only verify: %s", findings(rep))
		}
	})
	t.Run("repository swapped", func(t *testing.T) {
		// Someone with the repository password rewrites records 3 and 4 in
		// swapped order, recomputing their hashes.
		l, s, recs := setup(t)
		files := storeFiles(t, s)
		load := func(seq uint64) Record {
			b, _ := s.LoadFile(ctx, repo.RecordFile, files[seq])
			return decode("", b).rec
		}
		r3, r4 := load(3), load(4)
		r4.Seq, r4.Prev = 3, recs[1].Hash
		b4, h4, _ := encode(&r4)
		r3.Seq, r3.Prev = 4, h4
		b3, _, _ := encode(&r3)
		s.Replace(repo.RecordFile, files[3], b4)
		s.Replace(repo.RecordFile, files[4], b3)
		check(t, l, s, "repository", BrokenLink, recs[4].ID)
		// Records 3 and 4 swapped and linked anew keep their logged
		// times: record 3, now seq 4, is logged before seq 3. That alone
		// is the clock's (a warning); the signatures and the local
		// copy prove the rewrite.
		rep, _ := l.Verify(ctx, s)
		if !hasWarning(rep.Findings, "repository", ClockBack) || !strings.Contains(findings(rep), "clock-back (warning): record "+recs[2].ID) {
			t.Errorf("no clock-back warning for the swapped record:\n%s", findings(rep))
		}
		check(t, l, s, "repository", BadSignature, recs[2].ID)
		check(t, l, s, "local", Differs, recs[2].ID)
	})
}

func findings(r *VerifyReport) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintln(&b, f)
	}
	return b.String()
}

func TestKindOf(t *testing.T) {
	cases := map[error]FailureKind{
		nil:                                   "",
		errors.New("x"):                       KindOther,
		context.Canceled:                      KindInterrupted,
		fmt.Errorf("w: %w", os.ErrPermission): KindSourceUnreadable,
		Fail(KindLock, errors.New("locked")):  KindLock,
		fmt.Errorf("open: %w", Failf(KindWrongPassword, "no key")): KindWrongPassword,
	}
	for err, want := range cases {
		if got := KindOf(err); got != want {
			t.Errorf("KindOf(%v) = %q, want %q", err, got, want)
		}
	}
	for _, k := range Kinds {
		for _, l := range []i18n.Lang{i18n.ID, i18n.EN} {
			if s := KindLabel(l, k); strings.HasPrefix(s, i18n.Missing) {
				t.Errorf("no label for %s", k)
			}
		}
	}
}

func TestQueryAndFormats(t *testing.T) {
	l, clk := newLog(t)
	fill(t, l, clk, nil, 3)
	l.Append(context.Background(), Record{Op: OpBackup, Job: "other", Result: Failed, Failure: KindMedia, Start: clk.Now(), End: clk.Now()}, nil)
	rs, _ := l.Records()
	got := Select(rs, Filter{Since: t0.Add(24 * time.Hour), Job: "spse-prod", Result: OK})
	if len(got) != 2 {
		t.Fatalf("select: %d", len(got))
	}
	if got := Select(rs, Filter{Result: Failed}); len(got) != 1 || got[0].Job != "other" {
		t.Fatalf("select failed: %v", got)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rs); err != nil || strings.Count(b.String(), "\n") != 5 || !strings.Contains(b.String(), "media") {
		t.Fatalf("csv: %v\n%s", err, b.String())
	}
	b.Reset()
	WriteJSON(&b, rs)
	var back []Record
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 4 {
		t.Fatal(err)
	}
	b.Reset()
	WriteTable(&b, rs, i18n.ID, t0.Location())
	if !strings.Contains(b.String(), "Media backup salah atau tidak terpasang") || !strings.Contains(b.String(), "Berhasil") {
		t.Fatalf("table:\n%s", b.String())
	}
	if r, err := FindRecord(rs, rs[1].ID[:18], ""); err != nil || r.ID != rs[1].ID {
		t.Fatalf("prefix: %v", err)
	}
	if r, err := FindRecord(rs, "latest", OpBackup); err != nil || r.Job != "other" {
		t.Fatalf("latest: %v", err)
	}
}

// TestTableAddedAndManual: the terminal table shows bytes added only for
// operations that add to a repository (a restore's 0 B read as "nothing
// done"), and marks a manual backup so it is not taken for the job's.
func TestTableAddedAndManual(t *testing.T) {
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	rs := []Record{
		{ID: "run", Op: OpBackup, Job: "j", Result: OK, BytesAdded: 3 << 20, Start: at, End: at,
			Sources: []Source{{Name: "db"}}},
		{ID: "hand", Op: OpBackup, Job: "j", Result: OK, BytesAdded: 5 << 20, Tags: []string{TagManual}, Start: at, End: at},
		{ID: "rest", Op: OpRestore, Job: "j", Result: OK, BytesRead: 7 << 20, Start: at, End: at},
		{ID: "cp", Op: OpCopy, Job: "j", Result: OK, BytesAdded: 1 << 20, Start: at, End: at},
		{ID: "fail", Op: OpBackup, Job: "j", Result: Failed, Failure: KindMedia, Start: at, End: at, Sources: []Source{{Name: "db"}}},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rs, i18n.EN, time.UTC); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	row := func(id string) []string {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == id {
				return f
			}
		}
		t.Fatalf("no row %s in\n%s", id, b.String())
		return nil
	}
	cases := []struct {
		id, added string
		manual    bool
	}{{"run", "3.0 MiB", false}, {"hand", "5.0 MiB", true}, {"rest", "-", false}, {"cp", "1.0 MiB", false}, {"fail", "-", false}}
	for _, c := range cases {
		r := strings.Join(row(c.id), " ")
		if !strings.Contains(r, " "+c.added+" ") {
			t.Errorf("row %s: want added %q: %s", c.id, c.added, r)
		}
		if strings.Contains(r, "[manual]") != c.manual {
			t.Errorf("row %s: manual marker want %v: %s", c.id, c.manual, r)
		}
	}
	if strings.Contains(strings.Join(row("rest"), " "), "0 B") {
		t.Errorf("a restore shows 0 B added:\n%s", b.String())
	}
}

// A record written before failed runs were never within their standard
// may say standard_met true for a quick failed or partial run: it is
// read as not met (the monthly analysis's rule), and log --csv says so.
func TestOldFailedRunNotWithinStandard(t *testing.T) {
	at := time.Date(2026, 2, 2, 2, 0, 0, 0, time.UTC)
	rs := []Record{
		{ID: "ok", Op: OpBackup, Result: OK, StandardMet: true, Start: at, End: at},
		{ID: "failed", Op: OpBackup, Result: Failed, Failure: KindDumpFailed, StandardMet: true, Start: at, End: at},
		{ID: "partial", Op: OpBackup, Result: Partial, Failure: KindSourceUnreadable, StandardMet: true, Start: at, End: at},
	}
	for i, want := range []bool{true, false, false} {
		if got := rs[i].MetStandard(); got != want {
			t.Errorf("%s: MetStandard %v, want %v", rs[i].ID, got, want)
		}
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "standard_met")
	for i, want := range []string{"true", "false", "false"} {
		if got := rows[i+1][col]; got != want {
			t.Errorf("csv: %s standard_met %s, want %s", rows[i+1][0], got, want)
		}
	}
}

// A run's record (it has its sources' outcomes) is the job's backup
// whatever its tags: 'cadang run --tag manual' made the job's own runs
// read as plain backups, and status called the job never backed up.
func TestJobBackupBySources(t *testing.T) {
	for _, c := range []struct {
		r    Record
		want bool
	}{
		{Record{Op: OpBackup}, true},
		{Record{Op: OpBackup, Tags: []string{TagManual}}, false},
		{Record{Op: OpBackup, Tags: []string{TagManual}, Sources: []Source{{Name: "database"}}}, true},
		{Record{Op: OpRestore}, false},
	} {
		if got := c.r.JobBackup(); got != c.want {
			t.Errorf("%+v: JobBackup %v, want %v", c.r, got, c.want)
		}
	}
}

// TestVerifyTextProblems: the verification sentence never says "0 could
// not be restored" above an error that names an entry not restored; it
// counts the entries the errors name apart from the failed files.
func TestVerifyTextProblems(t *testing.T) {
	cases := []struct {
		info RestoreInfo
		read int64
		want string
	}{
		{RestoreInfo{VerifyKind: VerifySome, FilesVerified: 4, ItemsWithErrors: 2}, 4,
			"4 of 4 files verified. 2 entries had problems (see the error messages): not restored, or restored without some of their metadata."},
		{RestoreInfo{VerifyKind: VerifySome, FilesVerified: 3, FilesFailed: 1, ItemsWithErrors: 2}, 4,
			"3 of 4 files verified; 1 could not be restored. 2 other entries had problems (see the error messages): not restored, or restored without some of their metadata."},
		{RestoreInfo{VerifyKind: VerifySome, FilesVerified: 3, FilesFailed: 1}, 4,
			"3 of 4 files verified; 1 could not be restored."},
		{RestoreInfo{VerifyKind: VerifyBlobs, ItemsWithErrors: 1}, 4,
			"Restored without --verify: each blob was checked on decryption (authenticated encryption), the files were not read back. 1 entry had problems (see the error messages): not restored, or restored without some of its metadata."},
	}
	for i, c := range cases {
		r := Record{Op: OpRestore, FilesRead: c.read, Restore: &c.info}
		if got := VerifyText(i18n.EN, &r); got != c.want {
			t.Errorf("case %d:\n got %q\nwant %q", i, got, c.want)
		}
	}
	r := Record{Op: OpRestore, FilesRead: 4, Restore: &cases[0].info}
	if got := VerifyText(i18n.ID, &r); !strings.Contains(got, "4 dari 4 berkas terverifikasi. 2 entri bermasalah") {
		t.Errorf("id: %q", got)
	}
	// What the restore left different on purpose is said too.
	r.Restore = &RestoreInfo{VerifyKind: VerifyBlobs, OwnersNotRestored: true, SetIDDropped: 2, DevicesSkipped: 3}
	got := VerifyText(i18n.EN, &r)
	for _, want := range []string{"Owners were not restored", "2 files were restored without their setuid/setgid bit", "3 device nodes were left out (--no-devices)."} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in %q", want, got)
		}
	}
}
