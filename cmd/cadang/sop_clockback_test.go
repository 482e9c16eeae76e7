package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/testexec"
)

// verifyHead runs `log verify --job spse-db --json` and returns its exit
// code, the seq of the repository's newest head, and the findings.
func verifyHead(h *sopHarness) (int, uint64, string) {
	h.t.Helper()
	out, errs, code := h.cad("log", "verify", "--job", "spse-db", "--json")
	var vr struct {
		Repository struct {
			NewestHead *struct {
				Seq uint64 `json:"seq"`
			} `json:"newest_head"`
		} `json:"repository"`
		Findings []struct {
			Problem string `json:"problem"`
			Warning bool   `json:"warning"`
			Detail  string `json:"detail"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &vr); err != nil {
		h.t.Fatalf("log verify --json: %v\n%s\n%s", err, out, errs)
	}
	var seq uint64
	if vr.Repository.NewestHead != nil {
		seq = vr.Repository.NewestHead.Seq
	}
	b, _ := json.Marshal(vr.Findings)
	return code, seq, string(b)
}

// TestSOPClockBack is the README walk's reproduction: a run, a run with
// the clock 60 s back (an NTP correction), log verify, another run. The
// second record, logged before the first, is a clock-back warning: log
// verify passes, the next run writes its head into the repository, and
// status warns (exit 1, nagios WARNING) instead of saying OK. The walk
// found it "reordered": verify failed, no head reached the repository
// again, and status said OK.
func TestSOPClockBack(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	h.at("2026-12-01T01:59:00+08:00")
	h.must(0, "run", "spse-db")

	out, errs, code := h.cad("log", "verify", "--job", "spse-db")
	if code != 0 || !strings.Contains(out, "clock-back (warning)") || !strings.Contains(out, "1m0s before record") {
		t.Fatalf("log verify after the clock stepped back: exit %d, want 0 with a clock-back warning\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	out, errs, code = h.cad("run", "spse-db")
	if code != 0 || strings.Contains(errs, "kept locally only") {
		t.Fatalf("the next run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, seq, fs := verifyHead(h)
	if code != 0 || seq != 3 {
		t.Fatalf("after the next run: verify exit %d, newest head at seq %d, want 0 and 3; findings %s", code, seq, fs)
	}

	out, errs, code = h.cad("status", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, "clock stepped back between two run-log records") || !strings.Contains(out, "WARNING") {
		t.Fatalf("status: exit %d, want 1 with the clock-back warning\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	out, _, code = h.cad("status", "--job", "spse-db", "--format", "nagios")
	if code != 1 || !strings.HasPrefix(out, "CADANG WARNING - spse-db: runlog-clock-back") {
		t.Fatalf("status --format nagios: exit %d\n%s", code, out)
	}
}

// TestSOPSwappedRunLog: records swapped in the local file are still
// reordered: log verify fails, the next run writes no head (and says so),
// and status warns that the run log cannot reach the repositories.
func TestSOPSwappedRunLog(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	for range 3 {
		h.must(0, "run", "spse-db")
	}
	b, err := os.ReadFile(h.log)
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	ls[0], ls[1] = ls[1], ls[0]
	if err := os.WriteFile(h.log, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, fs := verifyHead(h); code != 1 || !strings.Contains(fs, `"problem":"reordered","warning":false`) {
		t.Fatalf("verify of a swapped log: exit %d, want 1 with reordered; findings %s", code, fs)
	}
	_, errs, _ := h.cad("run", "spse-db")
	if !strings.Contains(errs, "head not written into the repository: the local run log has problems") {
		t.Fatalf("run after the swap does not say its head was refused:\n%s", errs)
	}
	if _, seq, _ := verifyHead(h); seq != 3 {
		t.Fatalf("newest head at seq %d, want it left at 3", seq)
	}
	out, errs, code := h.cad("status", "--job", "spse-db", "--format", "nagios")
	if code != 1 || !strings.HasPrefix(out, "CADANG WARNING - spse-db: runlog-problems") {
		t.Fatalf("status of a swapped log: exit %d, want 1 and runlog-problems\n%s\n%s", code, out, errs)
	}
	out, _, _ = h.cad("status", "--job", "spse-db")
	if !strings.Contains(out, "no head of it is written into the repositories") || !strings.Contains(out, "reordered") {
		t.Fatalf("status text does not say why:\n%s", out)
	}
}

// TestSOPClockBackMonthly: a clock set days back (to November, after a
// run of 1 December) still records, verifies with a warning, and the
// monthly analysis counts each run on its own logged day: the run after
// the step in November's, the run before it in December's.
func TestSOPClockBackMonthly(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	first := h.last()
	h.at("2026-11-28T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	second := h.last()
	if first.Job != "spse-db" || second.Job != "spse-db" || !second.Logged.Before(first.Logged) {
		t.Fatalf("want two backups, the second logged first: %+v %+v", first, second)
	}
	if code, seq, fs := verifyHead(h); code != 0 || seq != 2 || !strings.Contains(fs, "72h0m0s before record "+first.ID) {
		t.Fatalf("verify: exit %d, head seq %d, findings %s", code, seq, fs)
	}
	nov := h.must(0, "report", "monthly", "--month", "2026-11")
	dec := h.must(0, "report", "monthly", "--month", "2026-12")
	// The time-standard table counts the job's backups of the month:
	// one in each.
	const one = "| spse-db | 1 | 1 | 100,0% |"
	if !strings.Contains(nov, one) {
		t.Errorf("November's analysis does not count the backup logged on 28 November:\n%s", nov)
	}
	if !strings.Contains(dec, one) {
		t.Errorf("December's analysis does not count the backup of 1 December:\n%s", dec)
	}
	// The documents place the second run by its logged time: whoever makes
	// one is told which record the clock may have misplaced (a backdated
	// record looks like any other run in a document).
	_, stderr, code := h.cad("report", "runlog", "--since", "2026-11-01", "--until", "2026-12-31")
	if code != 0 || !strings.Contains(stderr, "1 run-log record logged earlier than the record before it") || !strings.Contains(stderr, second.ID) {
		t.Errorf("report runlog over a clock step: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestSOPStatusMonitoringUser: a monitoring user who may read the run log
// but not the host's signing key beside it (mode 0600) still gets the
// status and the run log's warnings, not UNKNOWN.
func TestSOPStatusMonitoringUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run cadang as another user")
	}
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	h.at("2026-12-01T01:59:00+08:00")
	h.must(0, "run", "spse-db")

	pub, bin := testexec.PublicCopy(t, "cadang.test")
	logFile := filepath.Join(pub, "runlog.jsonl")
	copyFile := func(from, to string, mode os.FileMode) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeFileT(t, to, b, mode)
	}
	copyFile(h.log, logFile, 0o644)
	copyFile(strings.TrimSuffix(h.log, ".jsonl")+".key", filepath.Join(pub, "runlog.key"), 0o600)
	cfgText, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(pub, "cadang.toml")
	writeFileT(t, cfg, []byte(strings.ReplaceAll(string(cfgText), h.log, logFile)), 0o644)

	cmd := exec.Command(bin, "--config", cfg, "status", "--job", "spse-db", "--format", "nagios")
	cmd.Env = append(os.Environ(), "CADANG_TEST_AS_CLI=1", "HOME="+pub, "XDG_STATE_HOME="+pub, envLog+"=", envNow+"=2026-12-01T03:00:00+08:00")
	testexec.AsNobody(cmd)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.HasPrefix(out.String(), "CADANG WARNING - spse-db: runlog-clock-back") {
		t.Fatalf("status as a monitoring user: exit %d (%v), want 1 and the clock-back warning:\n%s\n%s", code, err, out.String(), errb.String())
	}
}

// TestSOPClockBackAdvice: status and log verify say what to do about a
// clock that stepped back (the clock and its synchronisation), in the
// --lang language with the same facts (both records, how far back);
// and while the clock still stands behind the newest record, status
// warns (clock-behind, the record and how far) instead of OK, and
// prints no negative age.
func TestSOPClockBackAdvice(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	first := h.last()
	h.at("2026-12-01T01:59:00+08:00")
	h.must(0, "run", "spse-db")
	second := h.last()
	const action = "check the system clock and its time synchronisation (timedatectl; NTP or chrony: chronyc tracking) and, after a power cut, the hardware clock (hwclock --show)"
	const actionID = "periksa jam sistem dan sinkronisasi waktunya (timedatectl; NTP atau chrony: chronyc tracking) dan, setelah listrik padam, jam perangkat keras (hwclock --show)"

	out := h.must(0, "log", "verify")
	if !strings.Contains(out, "1m0s before record "+first.ID) || !strings.Contains(out, action) {
		t.Errorf("log verify does not say what to do:\n%s", out)
	}
	out = h.must(0, "--lang", "id", "log", "verify")
	wantID := "lokal: clock-back (peringatan): catatan " + second.ID + " (seq 2) di baris 2: dicatat pada 2026-12-01 01:59:00 WITA, 1 menit sebelum catatan " + first.ID + " (seq 1) yang dicatat pada 2026-12-01 02:00:00 WITA"
	for _, want := range []string{wantID, actionID, "log pelaksanaan utuh", "hanya salinan lokal yang diperiksa"} {
		if !strings.Contains(out, want) {
			t.Errorf("log verify --lang id lacks %q:\n%s", want, out)
		}
	}
	for _, english := range []string{"logged at", "the run log is intact", "local mirror", "check the system clock"} {
		if strings.Contains(out, english) {
			t.Errorf("log verify --lang id says %q in English:\n%s", english, out)
		}
	}

	out, _, code := h.cad("status", "--job", "spse-db")
	if code != 1 || !strings.Contains(out, action) {
		t.Errorf("status: exit %d, want 1 and what to do:\n%s", code, out)
	}
	out, _, _ = h.cad("--lang", "id", "status", "--job", "spse-db")
	want := "spse-db: jam mundur di antara dua catatan log: catatan " + second.ID + " (seq 2) dicatat pada 2026-12-01 01:59:00 WITA, 1 menit sebelum catatan " + first.ID + " (seq 1)"
	if !strings.Contains(out, want) || !strings.Contains(out, actionID) {
		t.Errorf("status --lang id lacks the records, the step or what to do; want\n%s\n%s\ngot:\n%s", want, actionID, out)
	}

	// The clock now stands 1 h 16 min behind the first record, the
	// newest by its time (each command runs a minute after the last).
	h.at("2026-12-01T00:44:00+08:00")
	out, errs, code := h.cad("status", "--job", "spse-db", "--format", "nagios")
	if code != 1 || !strings.HasPrefix(out, "CADANG WARNING - spse-db: clock-behind") || strings.Contains(out, "=-") {
		t.Errorf("status with the clock behind the newest record: exit %d, want 1, clock-behind and no negative age:\n%s\n%s", code, out, errs)
	}
	// Counted from the record's logged time, a moment past 02:00 (half
	// a second on a loaded machine): 1 h 15 min, then 1 h 14 min.
	behind := func(at string) time.Duration {
		t, _ := time.Parse(time.RFC3339, at)
		return first.Logged.Sub(t).Round(time.Second)
	}
	out, _, _ = h.cad("status", "--job", "spse-db")
	if !strings.Contains(out, "is "+behind("2026-12-01T00:45:00+08:00").String()+" behind record "+first.ID+" (seq 1), logged at") || !strings.Contains(out, action) {
		t.Errorf("status with the clock behind does not say how far behind which record, or what to do:\n%s", out)
	}
	out, _, _ = h.cad("--lang", "id", "status", "--job", "spse-db")
	if !strings.Contains(out, i18n.ID.Duration(behind("2026-12-01T00:46:00+08:00"))+" di belakang catatan "+first.ID+" (seq 1)") || !strings.Contains(out, actionID) {
		t.Errorf("status --lang id with the clock behind:\n%s", out)
	}
}

// TestSOPStatusClockMargin: status raises clock-behind only when the clock
// stands more than status.ClockMargin (2 minutes) behind the newest
// record, and its line gives both times in the organisation's zone, named
// (WITA), in English and in Bahasa Indonesia alike.
func TestSOPStatusClockMargin(t *testing.T) {
	h := newSOPHarness(t)
	h.at("2026-12-01T02:00:00+08:00")
	h.must(0, "run", "spse-db")
	newest := h.last()
	if d := newest.Logged.Sub(time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)); d < 0 || d > time.Second {
		t.Fatalf("the run logged its record at %v, want 02:00 WITA", newest.Logged)
	}

	// A minute and a half, then half a minute, behind: within the margin.
	h.at("2026-12-01T01:58:30+08:00")
	out, _, code := h.cad("status", "--job", "spse-db", "--format", "nagios")
	if code != 0 || !strings.HasPrefix(out, "CADANG OK - ") {
		t.Errorf("status 1.5 minutes behind the newest record: exit %d, want 0 and OK:\n%s", code, out)
	}
	out, _, code = h.cad("--lang", "id", "status", "--job", "spse-db")
	if code != 0 || strings.Contains(out, "jam sistem") {
		t.Errorf("status --lang id 0.5 minutes behind the newest record: exit %d, want 0 and no clock-behind:\n%s", code, out)
	}

	// Three minutes behind: the warning, its times named WITA.
	// The step is counted from the record's logged time, which the run
	// took a moment past 02:00 (on a loaded machine, half a second).
	step := func(at string) time.Duration {
		t, _ := time.Parse(time.RFC3339, at)
		return newest.Logged.Sub(t).Round(time.Second)
	}
	h.at("2026-12-01T01:57:00+08:00")
	out, _, code = h.cad("status", "--job", "spse-db")
	want := "spse-db: the system clock is behind the newest run-log record: the clock (2026-12-01 01:57:00 WITA) is " + step("2026-12-01T01:57:00+08:00").String() + " behind record " + newest.ID +
		fmt.Sprintf(" (seq %d), logged at 2026-12-01 02:00:00 WITA: ", newest.Seq) +
		"the clock stepped back after that record, or ran ahead when it was logged; the ages of backups cannot be told until the clock passes it; " +
		"check the system clock and its time synchronisation (timedatectl; NTP or chrony: chronyc tracking) and, after a power cut, the hardware clock (hwclock --show)\n"
	if code != 1 || !strings.HasSuffix(out, want) {
		t.Errorf("status 3 minutes behind: exit %d, want 1 and the last line\n%s\ngot:\n%s", code, want, out)
	}
	h.at("2026-12-01T01:50:00+08:00")
	out, _, code = h.cad("--lang", "id", "status", "--job", "spse-db")
	want = "spse-db: jam sistem di belakang catatan log terbaru: jam sistem (2026-12-01 01.50 WITA) " + i18n.ID.Duration(step("2026-12-01T01:50:00+08:00")) + " di belakang catatan " + newest.ID +
		fmt.Sprintf(" (seq %d) yang dicatat pada 2026-12-01 02.00 WITA: ", newest.Seq) +
		"jam mundur setelah catatan itu, atau terlalu maju saat catatan itu dibuat; umur cadangan tidak dapat dihitung sampai jam melewatinya; " +
		"periksa jam sistem dan sinkronisasi waktunya (timedatectl; NTP atau chrony: chronyc tracking) dan, setelah listrik padam, jam perangkat keras (hwclock --show)\n"
	if code != 1 || !strings.HasSuffix(out, want) {
		t.Errorf("status --lang id 10 minutes behind: exit %d, want 1 and the last line\n%s\ngot:\n%s", code, want, out)
	}
}
