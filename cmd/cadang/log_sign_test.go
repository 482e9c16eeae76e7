package main

// The run log as evidence (issue 13): forged local records, a medium put
// back from an older copy, and signed documents, through the CLI against
// real repositories.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// daily makes daily runs of spse-db, on the given days of November 2026.
func (h *sopHarness) daily(days ...int) {
	h.t.Helper()
	for _, d := range days {
		h.at(fmt.Sprintf("2026-11-%02dT02:00:00+08:00", d))
		h.must(0, "run", "spse-db")
	}
}

func TestLogVerifyForgedLocalRecord(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21, 22)
	h.must(0, "log", "verify", "--job", "spse-db")
	// The forgery of the issue: record 2 turned from ok into failed, the
	// chain recomputed after it (no key at hand: signatures kept as they
	// were), and records/ deleted in the repository.
	lines := strings.Split(strings.TrimRight(mustRead(t, h.log), "\n"), "\n")
	prev := ""
	for i, line := range lines {
		var env map[string]json.RawMessage
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(env["record"], &rec)
		if i == 1 {
			rec["result"], rec["failure"] = "failed", "media"
		}
		rec["prev"] = prev
		raw, _ := json.Marshal(rec)
		env["record"] = raw
		prev = sha256hex(raw)
		env["hash"], _ = json.Marshal(prev)
		b, _ := json.Marshal(env)
		lines[i] = string(b)
	}
	if err := os.WriteFile(h.log, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(h.repoA, "records")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(h.repoA, "records"), 0o700)
	out, errs, code := h.cad("log", "verify", "--job", "spse-db")
	for _, want := range []string{"local: bad-signature", "repository: removed", "first bad record: local: bad-signature"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("forged log: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
		}
	}
	// the local-only verify sees it too
	if _, _, code := h.cad("log", "verify"); code != 1 {
		t.Errorf("local-only verify of a forged log: exit %d", code)
	}
	// the next run does not seal the forgery into the repository
	h.at("2026-11-30T02:00:00+08:00")
	h.cad("run", "spse-db")
	if out, _, code := h.cad("log", "verify", "--job", "spse-db"); code != 1 || !strings.Contains(out, "repository: removed") {
		t.Errorf("after the next run: exit %d\n%s", code, out)
	}
}

func TestReplayedMediumIsRolledBack(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20)
	old := filepath.Join(h.dir, "disk-a-old")
	if err := os.CopyFS(old, os.DirFS(h.repoA)); err != nil {
		t.Fatal(err)
	}
	h.daily(21, 22, 23)
	// the medium is put back from its older copy
	if err := os.RemoveAll(h.repoA); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old, h.repoA); err != nil {
		t.Fatal(err)
	}
	out, errs, code := h.cad("log", "verify", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, "repository: rolled-back") || !strings.Contains(out, "repository: removed") ||
		strings.Contains(errs, "older than the run log says") {
		t.Errorf("log verify of a replayed medium (findings once, on stdout): exit %d\n%s%s", code, out, errs)
	}
	// When this host wrote its last head (the run of the 23rd, 02:00
	// WITA) is said in the organisation's zone, which it names; --utc
	// says it in UTC, as every other time.
	if !strings.Contains(out, "on 2026-11-23 02:00 WITA") {
		t.Errorf("log verify does not give the head's time in the organisation's zone:\n%s", out)
	}
	if out, _, _ := h.cad("--utc", "log", "verify", "--job", "spse-db"); !strings.Contains(out, "on 2026-11-22 18:00 UTC") {
		t.Errorf("log verify --utc does not give the head's time in UTC:\n%s", out)
	}
	// check fails on it, though the repository itself is sound
	out, errs, code = h.cad("check", "-r", h.repoA, "--password-file", h.pw)
	if code == 0 || !strings.Contains(out+errs, "rolled-back") {
		t.Errorf("check of a replayed medium: exit %d\n%s%s", code, out, errs)
	}
	// said as check's problems, not also as warnings when it opened it
	for _, line := range strings.Split(out+errs, "\n") {
		if strings.Contains(line, "older than the run log says") && !strings.HasPrefix(line, "error: ") {
			t.Errorf("check says the replayed medium besides its problems: %q", line)
		}
	}
	// an SOP command warns and goes on; the records it copies into the
	// medium do not make it current
	h.at("2026-11-24T02:00:00+08:00")
	_, errs, code = h.cad("run", "spse-db")
	if n := strings.Count(errs, "older than the run log says"); n != 1 {
		t.Errorf("the replayed medium is said %d times:\n%s", n, errs)
	}
	if code != 0 || !strings.Contains(errs, "older than the run log says") || !strings.Contains(errs, "head not written") {
		t.Errorf("run on a replayed medium: exit %d\n%s", code, errs)
	}
	out, errs, code = h.cad("log", "verify", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, "repository: rolled-back") || !strings.Contains(out, "repository: missing-snapshot (warning)") {
		t.Errorf("log verify after the run: exit %d\n%s%s", code, out, errs)
	}
	// put back on purpose: accepted, and from then on current
	h.must(0, "log", "verify", "--job", "spse-db", "--accept-rollback")
	h.must(0, "check", "-r", h.repoA, "--password-file", h.pw)
}

var headRe = regexp.MustCompile(`(?:head|terakhir): ([0-9a-f]{64})\.`)

func TestSignedDocumentsAndExpectHead(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	var key struct {
		Fingerprint string `json:"fingerprint"`
		PublicKey   string `json:"public_key"`
	}
	oneLine(t, "log key", h.must(0, "--json", "log", "key"), &key)
	if fi, err := os.Stat(filepath.Join(h.dir, "runlog.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key beside the log: %v %v", fi, err)
	}
	if _, errs, code := h.cad("report", "inventory", "--sign"); code != 1 || !strings.Contains(errs, "--sign needs --output") {
		t.Errorf("--sign to standard output: exit %d\n%s", code, errs)
	}
	doc := filepath.Join(h.dir, "inventaris.md")
	h.must(0, "report", "inventory", "-o", doc, "--sign")
	text := mustRead(t, doc)
	m := headRe.FindStringSubmatch(text)
	if m == nil || !strings.Contains(text, key.Fingerprint) {
		t.Fatalf("the footer must show the full head and the key %s:\n%s", key.Fingerprint, text)
	}
	if out := h.must(0, "report", "verify", doc); !strings.Contains(out, "good signature") || !strings.Contains(out, key.Fingerprint) {
		t.Errorf("report verify: %s", out)
	}
	// one byte changed
	b := []byte(text)
	b[len(b)/2] ^= 1
	os.WriteFile(doc, b, 0o640)
	if out, errs, code := h.cad("report", "verify", doc); code != 1 || !strings.Contains(errs, "changed after it was signed") {
		t.Errorf("altered document: exit %d\n%s%s", code, out, errs)
	}
	// a document signed by an operator key is accepted by that key only
	opKey := filepath.Join(h.dir, "token", "operator.key")
	h.must(0, "log", "key", "--generate", opKey)
	doc2 := filepath.Join(h.dir, "log.md")
	h.must(0, "--sign-key", opKey, "report", "runlog", "-o", doc2, "--sign")
	if _, errs, code := h.cad("report", "verify", doc2); code != 1 || !strings.Contains(errs, "not this host's key") {
		t.Errorf("operator-signed document without the key named: exit %d\n%s", code, errs)
	}
	var op struct {
		Fingerprint string `json:"fingerprint"`
	}
	oneLine(t, "op key", h.must(0, "--json", "--sign-key", opKey, "report", "verify", doc2), &op)
	h.must(0, "report", "verify", doc2, "--key", op.Fingerprint)

	// the head in the footer, written into the minutes, is checked later
	h.at("2026-11-29T02:00:00+08:00")
	h.must(0, "--sign-key", opKey, "run", "spse-db") // countersigned
	out := h.must(0, "log", "verify", "--expect-head", m[1], "--job", "spse-db")
	if !strings.Contains(out, "expected head found: seq 2") || !strings.Contains(out, "countersigned by key") {
		t.Errorf("log verify --expect-head:\n%s", out)
	}
	if out, _, code := h.cad("log", "verify", "--expect-head", strings.Repeat("ab", 32)); code != 1 || !strings.Contains(out, "expected-head-not-found") {
		t.Errorf("wrong expected head: exit %d\n%s", code, out)
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The host key replaced (deleted by someone covering tracks, or lost): a
// new one is made, and every record signed by the old one is by an
// unknown key until that key is named (from the minutes).
func TestLogVerifyUnknownKey(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20)
	var old struct {
		Fingerprint string `json:"fingerprint"`
	}
	oneLine(t, "log key", h.must(0, "--json", "log", "key"), &old)
	if err := os.Remove(filepath.Join(h.dir, "runlog.key")); err != nil {
		t.Fatal(err)
	}
	h.daily(21)
	out, errs, code := h.cad("log", "verify", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, "local: unknown-key") || !strings.Contains(out, "signed by key "+old.Fingerprint) ||
		!strings.Contains(out, "first bad record: local: unknown-key") {
		t.Errorf("records of a replaced key: exit %d\n%s%s", code, out, errs)
	}
	// one line for the key, however many records it signed, naming the
	// flag that exists
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "local: unknown-key") || strings.HasPrefix(l, "repository: unknown-key") {
			n++
		}
	}
	if n != 2 || !strings.Contains(out, "--trust-key "+old.Fingerprint) || strings.Contains(out, "(--trust)") {
		t.Errorf("want one unknown-key line per copy naming --trust-key, got %d:\n%s", n, out)
	}
	h.must(0, "--trust-key", old.Fingerprint, "log", "verify", "--job", "spse-db")
	h.must(0, "log", "verify", "--trust-key", old.Fingerprint, "--job", "spse-db")
	// or trusted in the configuration
	cfg := mustRead(t, h.cfg)
	writeFileT(t, h.cfg, []byte(strings.Replace(cfg, "[log]\n", "[log]\ntrust_keys = [\""+old.Fingerprint+"\"]\n", 1)), 0o600)
	h.must(0, "log", "verify", "--job", "spse-db")
	writeFileT(t, h.cfg, []byte(strings.Replace(cfg, "[log]\n", "[log]\ntrust_keys = [\"12ab\"]\n", 1)), 0o600)
	if _, errs, code := h.cad("log", "verify"); code != 1 || !strings.Contains(errs, "key log.trust_keys[0]") {
		t.Errorf("a malformed trust key: exit %d\n%s", code, errs)
	}
}

// TestDamagedRecordFileCopiedAgain: the run log keeps the repository's
// record files beside the mirror, so an everyday command does not see one
// damaged in the repository; check does, and the record is then compared,
// and copied in again, as missing.
func TestDamagedRecordFileCopiedAgain(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	dir := filepath.Join(h.repoA, "records")
	names := func() []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	before := names()
	// Every record and head file damaged. (A bit flipped: writing "x" in
	// the middle left a file whose byte there was "x" intact, 1 in 256.)
	damageFiles(t, h.repoA, before)
	out, errs, code := h.cad("check", "-r", h.repoA, "--password-file", h.pw)
	for _, want := range []string{"is damaged", "older than the run log says"} {
		if code != 1 || !strings.Contains(out+errs, want) {
			t.Errorf("check of damaged record files: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
		}
	}
	// The two runs' records, found missing, are copied in anew with the
	// check's own and its head. (The damaged heads' kept copies stay: a
	// head gone missing would make the repository look like an older copy.)
	if after := names(); len(after) != len(before)+4 {
		t.Errorf("%d record files before, %d after: the records were not copied again", len(before), len(after))
	}
}

// recordFiles returns the names of the repository's run-log files and
// whether each holds a head, read with the repository's password.
func recordFiles(t *testing.T, repoDir, pwFile string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(strings.TrimSpace(mustRead(t, pwFile))), repo.Options{Lock: repo.NoLock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]bool{}
	err = r.ListFiles(ctx, repo.RecordFile, func(id repo.ID) error {
		b, err := r.LoadFile(ctx, repo.RecordFile, id)
		if err != nil {
			return err
		}
		out[id.String()] = strings.HasPrefix(string(b), `{"head":`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// damageFiles flips a byte in the middle of each named record file and
// returns the damaged bytes by name.
func damageFiles(t *testing.T, repoDir string, names []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		p := filepath.Join(repoDir, "records", n)
		b := mustRead(t, p)
		b = b[:len(b)/2] + string(b[len(b)/2]^1) + b[len(b)/2+1:]
		os.Chmod(p, 0o600)
		if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// checkKept fails unless keep holds exactly the damaged files' bytes and
// the repository none of them.
func checkKept(t *testing.T, keep, repoDir string, damaged map[string]string) {
	t.Helper()
	kept, err := filepath.Glob(filepath.Join(keep, "*", "*"))
	if err != nil || len(kept) != len(damaged) {
		t.Fatalf("kept files %v (%v), want %d", kept, err, len(damaged))
	}
	for _, p := range kept {
		want, ok := damaged[filepath.Base(p)]
		if !ok {
			t.Errorf("kept %s, which was not damaged", p)
			continue
		}
		if got := mustRead(t, p); got != want {
			t.Errorf("%s: kept bytes differ from the damaged file's", p)
		}
		if _, err := os.Stat(filepath.Join(repoDir, "records", filepath.Base(p))); err == nil {
			t.Errorf("%s is still in the repository", filepath.Base(p))
		}
	}
}

// TestRepairRecords: a damaged run-log file makes every check fail until
// `repair records` takes it out. What this host kept of the files when
// they were intact is saved again, heads included, so the repository does
// not read as rolled back; the bytes are kept; the repair is recorded; and
// check and log verify pass afterwards.
func TestRepairRecords(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	before := recordFiles(t, h.repoA, h.pw)
	var all []string
	for n := range before {
		all = append(all, n)
	}
	heads := 0
	for _, head := range before {
		if head {
			heads++
		}
	}
	damaged := damageFiles(t, h.repoA, all) // every record and every head
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	// The check fails, drops its kept copies of the damaged records (not
	// of the heads) and copies the records in again.
	h.must(1, append([]string{"check"}, repoArgs...)...)

	keep := filepath.Join(t.TempDir(), "kept")
	out := h.must(0, append([]string{"repair", "records", "--keep-dir", keep}, repoArgs...)...)
	if want := fmt.Sprintf("%d damaged run-log file(s) removed; first %d saved again", len(damaged), heads); heads == 0 || !strings.Contains(out, want) {
		t.Fatalf("repair records: no %q\n%s", want, out)
	}
	checkKept(t, keep, h.repoA, damaged)
	out, errs, code := h.cad(append([]string{"check"}, repoArgs...)...)
	if code != 0 || strings.Contains(errs, "older than") {
		t.Fatalf("check after the repair: exit %d\n%s%s", code, out, errs)
	}
	h.must(0, "log", "verify", "--job", "spse-db")
	out = h.must(0, append([]string{"repair", "records", "--keep-dir", keep}, repoArgs...)...)
	if !strings.Contains(out, "no damaged run-log file") {
		t.Errorf("second repair: %s", out)
	}
	out = h.must(0, "log", "list")
	if n := strings.Count(out, "Repair"); n != 2 {
		t.Errorf("log list shows %d repairs, want 2:\n%s", n, out)
	}
	// The monthly report lists the repairs with what they did, in the
	// document's language.
	mon := h.must(0, "report", "monthly", "--month", "2026-11")
	for _, want := range []string{"7. Retensi, pemangkasan dan perbaikan", "2 kali perbaikan repositori", "Perbaikan",
		fmt.Sprintf("%d berkas catatan log yang rusak dikeluarkan dari repositori", len(damaged))} {
		if !strings.Contains(mon, want) {
			t.Errorf("monthly report: no %q:\n%s", want, mon)
		}
	}
}

// TestRepairRecordsCopiesLocalFirst: with no copy kept on this host (the
// kept copies deleted, as a cache may be), the records of the damaged
// files come back from the local run log before the files go.
func TestRepairRecordsCopiesLocalFirst(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	var recs []string
	for n, head := range recordFiles(t, h.repoA, h.pw) {
		if !head {
			recs = append(recs, n)
		}
	}
	damaged := damageFiles(t, h.repoA, recs)
	if err := os.RemoveAll(strings.TrimSuffix(h.log, ".jsonl") + ".store"); err != nil {
		t.Fatal(err)
	}
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	keep := filepath.Join(t.TempDir(), "kept")
	out := h.must(0, append([]string{"repair", "records", "--keep-dir", keep}, repoArgs...)...)
	if want := fmt.Sprintf("%d damaged run-log file(s) removed; first 0 saved again from the copies kept on this host and %d record(s)", len(damaged), len(damaged)); !strings.Contains(out, want) {
		t.Fatalf("repair records: no %q\n%s", want, out)
	}
	checkKept(t, keep, h.repoA, damaged)
	h.must(0, append([]string{"check"}, repoArgs...)...)
	h.must(0, "log", "verify", "--job", "spse-db")
}

// TestRepairRecordsRefusesWhatCannotComeBack: run with a run log that
// holds nothing of the repository (another user's, or a lost one), a
// damaged file that no kept copy can put back is not removed without
// --force.
func TestRepairRecordsRefusesWhatCannotComeBack(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	var one []string
	for n := range recordFiles(t, h.repoA, h.pw) {
		one = append(one, n)
		break
	}
	damaged := damageFiles(t, h.repoA, one)
	other := []string{"--log-file", filepath.Join(t.TempDir(), "other.jsonl"), "-r", h.repoA, "--password-file", h.pw}
	keep := filepath.Join(t.TempDir(), "kept")
	out, errs, code := h.cad(append([]string{"repair", "records", "--keep-dir", keep}, other...)...)
	if code == 0 || !strings.Contains(errs, "cannot be put back") || !strings.Contains(errs, "--force") {
		t.Fatalf("repair with another run log: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(h.repoA, "records", one[0])); err != nil {
		t.Fatalf("the damaged file was removed without --force: %v", err)
	}
	h.must(0, append([]string{"repair", "records", "--force", "--keep-dir", keep}, other...)...)
	checkKept(t, keep, h.repoA, damaged)
}

// TestRepairRecordsLeavesAnotherLogsHeads: a damaged head of host A, found
// by another user's check (whose run log then holds records of the
// repository too, and no copy of the head), is not removed by that user's
// repair: only A's kept copy can put it back, and without it A would find
// the repository older than its log. A's own repair puts it back.
func TestRepairRecordsLeavesAnotherLogsHeads(t *testing.T) {
	h := newSOPHarness(t)
	h.daily(20, 21)
	var heads []string
	for n, head := range recordFiles(t, h.repoA, h.pw) {
		if head {
			heads = append(heads, n)
		}
	}
	damaged := damageFiles(t, h.repoA, heads)
	other := []string{"--log-file", filepath.Join(t.TempDir(), "other.jsonl"), "-r", h.repoA, "--password-file", h.pw}
	h.must(1, append([]string{"check"}, other...)...)
	keep := filepath.Join(t.TempDir(), "kept")
	out, errs, code := h.cad(append([]string{"repair", "records", "--keep-dir", keep}, other...)...)
	if code == 0 || !strings.Contains(errs, "run log of another host or user") || !strings.Contains(errs, "nothing was removed") {
		t.Fatalf("repair with the other user's log: exit %d\n%s%s", code, out, errs)
	}
	for _, n := range heads {
		if _, err := os.Stat(filepath.Join(h.repoA, "records", n)); err != nil {
			t.Fatalf("head %s removed: %v", n, err)
		}
	}
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	// A repair that stops after putting the heads back (its keep directory
	// cannot be made), run again, does not save them a second time.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.must(1, append([]string{"repair", "records", "--keep-dir", notDir}, repoArgs...)...)
	out = h.must(0, append([]string{"repair", "records", "--keep-dir", keep}, repoArgs...)...)
	if want := fmt.Sprintf("%d damaged run-log file(s) removed; first 0 saved again", len(damaged)); !strings.Contains(out, want) {
		t.Errorf("repair run again: no %q\n%s", want, out)
	}
	checkKept(t, keep, h.repoA, damaged)
	out, errs, code = h.cad(append([]string{"check"}, repoArgs...)...)
	if code != 0 || strings.Contains(errs, "older than") {
		t.Fatalf("check after the repair: exit %d\n%s%s", code, out, errs)
	}
}

// A medium put back from an older copy that holds a snapshot a recorded
// forget removed: --accept-rollback accepts the heads, not that snapshot;
// every message says what clears it (cadang forget ID), and that does.
func TestAcceptRollbackForgottenSnapshot(t *testing.T) {
	h := newSOPHarness(t)
	r := h.repoB
	pw := []string{"-r", r, "--password-file", h.pw}
	src := filepath.Join(h.dir, "SRC")
	writeFileT(t, filepath.Join(src, "f"), []byte("a\n"), 0o600)
	h.must(0, append(pw, "backup", src, "-q")...)
	writeFileT(t, filepath.Join(src, "f"), []byte("a\nb\n"), 0o600)
	h.must(0, append(pw, "backup", src, "-q")...)
	old := filepath.Join(h.dir, "old")
	if err := os.CopyFS(old, os.DirFS(r)); err != nil {
		t.Fatal(err)
	}
	h.must(0, append(pw, "forget", "--keep-last", "1", "-q")...)
	if err := os.RemoveAll(r); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old, r); err != nil {
		t.Fatal(err)
	}
	out, errs, code := h.cad(append(pw, "log", "verify", "--accept-rollback")...)
	i := strings.Index(out, "remove them again with: cadang -r "+r+" forget ")
	if code != 1 || !strings.Contains(out, "forgotten-snapshot") || i < 0 || !strings.Contains(errs, "'cadang forget ID' removes it again") {
		t.Fatalf("verify --accept-rollback: exit %d\n%s%s", code, out, errs)
	}
	id := strings.TrimSpace(out[i+len("remove them again with: cadang -r "+r+" forget "):])
	if out, errs, code := h.cad(append(pw, "check")...); code == 0 || !strings.Contains(out+errs, "'cadang forget "+id) {
		t.Fatalf("check of the accepted medium: exit %d\n%s%s", code, out, errs)
	}
	h.must(0, append(pw, "forget", id)...)
	h.must(0, append(pw, "log", "verify")...)
	h.must(0, append(pw, "check")...)
}
