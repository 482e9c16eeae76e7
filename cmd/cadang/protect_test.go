package main

// Tests of `cadang protect`: protected snapshots are refused by a named
// forget, kept by a policy (forget and `cadang run`), and forgotten again
// once the protection is lifted or has expired.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
)

type protectionOut struct {
	ID       string     `json:"id"`
	Snapshot string     `json:"snapshot"`
	ShortID  string     `json:"short_id"`
	Until    *time.Time `json:"until"`
	Reason   string     `json:"reason"`
	Host     string     `json:"host"`
	Username string     `json:"username"`
	Time     time.Time  `json:"time"`
	Active   bool       `json:"active"`
	Exists   *bool      `json:"snapshot_exists"`
}

func protectList(t *testing.T, repoDir string) []protectionOut {
	t.Helper()
	res := cliOK(t, "-r", repoDir, "--json", "protect", "--list")
	if n := strings.Count(strings.TrimSpace(res.stdout), "\n"); n != 0 {
		t.Fatalf("protect --list --json printed %d lines, want one:\n%s", n+1, res)
	}
	var out []protectionOut
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("protect --list --json: %v\n%s", err, res)
	}
	return out
}

func TestCLIProtect(t *testing.T) {
	repoDir, ids := forgetRepo(t, "", forgetSnaps[:4]) // a, b, c, d on srv1
	a, b, c := ids["a"][:8], ids["b"][:8], ids["c"][:8]

	// Nothing protected yet.
	if res := cliOK(t, "-r", repoDir, "protect", "--list"); res.stdout != "no protected snapshots\n" {
		t.Errorf("empty list:\n%s", res)
	}
	if got := protectList(t, repoDir); len(got) != 0 {
		t.Errorf("empty --json list: %+v", got)
	}

	res := cliOK(t, "-r", repoDir, "protect", "--until", "2099-03-01", "--reason", "audit BPK", a)
	if want := "protected snapshot " + a + " until 2099-03-01 (audit BPK)\n"; res.stdout != want {
		t.Errorf("protect:\n got %q\nwant %q", res.stdout, want)
	}
	res = cliOK(t, "-r", repoDir, "--json", "protect", "--for", "90d", ids["b"])
	var made []protectionOut
	if err := json.Unmarshal([]byte(res.stdout), &made); err != nil || len(made) != 1 {
		t.Fatalf("protect --json: %v\n%s", err, res)
	}
	wantUntil := time.Now().AddDate(0, 0, 90)
	if m := made[0]; m.Snapshot != ids["b"] || m.Until == nil || m.Until.Sub(wantUntil).Abs() > time.Minute || !m.Active || m.Reason != "" {
		t.Errorf("protect --for 90d --json: %+v", m)
	}

	// A named forget of a protected snapshot fails before removing
	// anything, even the unprotected one named with it; it did nothing,
	// so the run log has no failed run of it to follow up.
	log := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv("CADANG_LOG", log)
	res = cliCode(t, 1, "-r", repoDir, "forget", c, a)
	if b, err := os.ReadFile(log); err == nil && len(b) > 0 {
		t.Errorf("a refused forget was recorded:\n%s", b)
	}
	if want := "snapshot " + a + " is protected until 2099-03-01 (audit BPK); 'cadang protect --remove " + a + "' lifts it"; !strings.Contains(res.stderr, want) {
		t.Errorf("named forget of a protected snapshot:\n%s\nwant %q", res, want)
	}
	if strings.Contains(res.stdout, "removed") {
		t.Errorf("named forget removed something:\n%s", res)
	}
	cliCode(t, 1, "-r", repoDir, "forget", "--dry-run", b)
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("after the refused forgets: %v", got)
	}

	// --list: a table, and --json one line with every field.
	res = cliOK(t, "-r", repoDir, "protect", "--list")
	for _, want := range []string{"Snapshot  Until", "Reason", "Status", a + "  2099-03-01", "audit BPK", "active", "2 protections, 2 active\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("protect --list lacks %q:\n%s", want, res.stdout)
		}
	}
	list := protectList(t, repoDir)
	if len(list) != 2 {
		t.Fatalf("--list --json: %+v", list)
	}
	byID := map[string]protectionOut{}
	for _, p := range list {
		byID[p.Snapshot] = p
	}
	pa := byID[ids["a"]]
	if pa.ShortID != a || pa.Reason != "audit BPK" || pa.Until == nil || pa.Until.Format(time.DateOnly) != "2099-03-01" ||
		!pa.Active || pa.Exists == nil || !*pa.Exists || len(pa.ID) != 64 || pa.Time.IsZero() || pa.Host == "" {
		t.Errorf("--list --json entry of a: %+v", pa)
	}

	// A policy keeps the protected snapshots, with their reasons.
	res = cliOK(t, "-r", repoDir, "--json", "forget", "--keep-last", "1")
	if got, want := summarize(forgetJSON(t, res), ids), "srv1: keep d(last snapshot) b(protected) a(protected: audit BPK) remove c"; got != want {
		t.Errorf("policy forget:\n got %s\nwant %s", got, want)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("after the policy forget: %v", got)
	}

	// Lifted, the snapshot can be forgotten by name.
	res = cliOK(t, "-r", repoDir, "protect", "--remove", a)
	if want := "lifted the protection of snapshot " + a + " (1 protection file removed)\n"; res.stdout != want {
		t.Errorf("protect --remove:\n got %q\nwant %q", res.stdout, want)
	}
	if res = cliOK(t, "-r", repoDir, "protect", "--remove", a); res.stdout != "snapshot "+a+" was not protected\n" {
		t.Errorf("second protect --remove:\n%s", res)
	}
	cliOK(t, "-r", repoDir, "forget", a)
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"b", "d"}) {
		t.Errorf("after forget of the unprotected snapshot: %v", got)
	}

	// A protection of a snapshot that is gone is listed as such and can be
	// removed by its prefix.
	expireRepo := openTestRepo(t, repoDir)
	gone, err := repo.ParseID(ids["c"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Protect(context.Background(), expireRepo, gone, time.Time{}, "arsip"); err != nil {
		t.Fatal(err)
	}
	// An expired protection does not count.
	bid, _ := repo.ParseID(ids["b"])
	if _, err := snapshot.Unprotect(context.Background(), expireRepo, bid); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.SaveProtection(context.Background(), expireRepo, snapshot.Protection{Snapshot: bid,
		Until: time.Now().Add(-time.Hour), Reason: "old"}); err != nil {
		t.Fatal(err)
	}
	expireRepo.Close()
	res = cliOK(t, "-r", repoDir, "protect", "--list")
	for _, want := range []string{c + "  forever", "active, snapshot gone", b, "expired", "2 protections, 1 active\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("protect --list lacks %q:\n%s", want, res.stdout)
		}
	}
	cliOK(t, "-r", repoDir, "forget", b)
	res = cliOK(t, "-r", repoDir, "--json", "protect", "--remove", c, b)
	if want := `[{"snapshot":"` + ids["c"] + `","removed":1},{"snapshot":"` + ids["b"] + `","removed":1}]`; strings.TrimSpace(res.stdout) != want {
		t.Errorf("protect --remove --json:\n got %s\nwant %s", res.stdout, want)
	}
	if got := protectList(t, repoDir); len(got) != 0 {
		t.Errorf("after removing all: %+v", got)
	}
	cliOK(t, "-r", repoDir, "check")
}

func openTestRepo(t *testing.T, repoDir string) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCLIProtectRefuses(t *testing.T) {
	repoDir, ids := forgetRepo(t, "", forgetSnaps[:1])
	a := ids["a"][:8]
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "protect: name the snapshots (or give --list)"},
		{[]string{"--for", "30d", "--until", "2099-01-01", a}, "give --for or --until, not both"},
		{[]string{"--until", "2001-01-01", a}, "the date has passed"},
		{[]string{"--until", "1 March", a}, "give a date as 2006-01-02"},
		{[]string{"--for", "30", a}, "--for: invalid duration"},
		{[]string{"--for", "0d", a}, "longer than zero"},
		{[]string{"--list", a}, "protect --list takes no snapshots"},
		{[]string{"--remove", "--reason", "x", a}, "protect --remove takes no"},
		{[]string{"--list", "--remove"}, "exclude each other"},
		{[]string{"ffffffff"}, "no matching snapshot"},
	} {
		res := cliRun(t, nil, append([]string{"-r", repoDir, "protect"}, tc.args...)...)
		if res.code == 0 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("protect %v: want a failure saying %q:\n%s", tc.args, tc.want, res)
		}
	}
	if got := protectList(t, repoDir); len(got) != 0 {
		t.Errorf("a refused protect saved %+v", got)
	}
}

// retentionHarness is an SOP harness whose one job, spse-upload, backs up
// to disk-A and keeps one daily snapshot.
func retentionHarness(t *testing.T) *sopHarness {
	t.Helper()
	h := newSOPHarness(t)
	cfg := mustRead(t, h.cfg)
	i := strings.Index(cfg, "repository_id = \"")
	idA := cfg[i+len("repository_id = \"") : i+len("repository_id = \"")+64]
	common := cfg[:strings.Index(cfg, "[[job]]")]
	if err := os.WriteFile(h.cfg, []byte(common+fmt.Sprintf(`
[[job]]
name = "spse-upload"
info_class = 7
classification = "rahasia"
active_since = 2026-11-01
  [[job.source]]
  name = "upload"
  paths = [%q]
  [[job.medium]]
  name = "disk-A"
  repository = %q
  repository_id = %q
  password_file = %q
  [job.retention]
  daily = 1
`, h.src, h.repoA, idA, h.pw)), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// `cadang run` keeps a snapshot protected with `cadang protect`, however
// old, and records why.
func TestSOPRunKeepsProtected(t *testing.T) {
	h := retentionHarness(t)
	daily := filepath.Join(h.src, "harian.bin")
	var first string
	for day := 1; day <= 3; day++ {
		writeFileT(t, daily, randBytes(uint64(day), 10<<10), 0o600)
		h.at(fmt.Sprintf("2026-11-%02dT02:00:00+08:00", day))
		h.must(0, "run", "spse-upload")
		if day == 1 {
			var bk runlog.Record
			for _, r := range h.records() {
				if r.Op == runlog.OpBackup {
					bk = r
				}
			}
			if len(bk.Snapshots) != 1 {
				t.Fatalf("day 1 backup: %+v", bk)
			}
			first = bk.Snapshots[0]
			h.must(0, "-r", h.repoA, "--password-file", h.pw, "protect", "--reason", "sengketa tender", first)
		}
	}
	var sns []snapJSON
	if err := json.Unmarshal([]byte(h.must(0, "-r", h.repoA, "--password-file", h.pw, "--json", "snapshots")), &sns); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, sn := range sns {
		left = append(left, fmt.Sprint(sn.Time.In(time.FixedZone("WITA", 8*3600)).Day()))
	}
	if !slices.Equal(left, []string{"1", "3"}) {
		t.Fatalf("snapshots left: days %v, want 1 (protected) and 3", left)
	}
	var last runlog.Record
	for _, r := range h.records() {
		if r.Op == runlog.OpForget {
			last = r
		}
	}
	found := false
	for _, it := range last.Forget.Kept {
		if it.Snapshot == first {
			found = slices.Equal(it.Reasons, []string{"protected: sengketa tender"})
		}
	}
	if !found || last.Forget.Protected != 1 {
		t.Errorf("the last forget record does not keep %s as protected: %+v", first[:8], *last.Forget)
	}
}

// TestSOPRunJunkProtection: junk in protected/ that no holder of the key
// sealed is passed over by the daily run's retention with a warning; a
// file sealed with the key that holds no protection makes it fail (nobody
// can tell what it protects), and the failure recorded in the run log
// names the remedy, since `cadang run` prints no hint of its own for each
// job. The backup of the same run is kept.
func TestSOPRunJunkProtection(t *testing.T) {
	h := retentionHarness(t)
	writeFileT(t, filepath.Join(h.src, "harian.bin"), randBytes(1, 10<<10), 0o600)
	h.at("2026-11-01T02:00:00+08:00")
	h.must(0, "run", "spse-upload")
	// Junk that no holder of the key sealed: passed over, with a warning.
	junk := uploadJunkFile(t, h.repoA, "protected", 71)
	writeFileT(t, filepath.Join(h.src, "harian.bin"), randBytes(2, 10<<10), 0o600)
	h.at("2026-11-02T02:00:00+08:00")
	_, stderr, code := h.cad("run", "spse-upload")
	if code != 0 || !strings.Contains(stderr, "protection file "+junk[:8]+" of repository ") {
		t.Fatalf("run beside a junk protection file: exit %d\n%s", code, stderr)
	}
	// Sealed with the key but holding no protection: it could protect
	// anything, and retention stops.
	sealed, err := openTestRepoPw(t, h.repoA, h.pw).SaveFile(context.Background(), repo.ProtectFile, []byte("no protection"))
	if err != nil {
		t.Fatal(err)
	}
	name := sealed.String()
	writeFileT(t, filepath.Join(h.src, "harian.bin"), randBytes(3, 10<<10), 0o600)
	h.at("2026-11-03T02:00:00+08:00")
	_, stderr, code = h.cad("run", "spse-upload")
	if code == 0 {
		t.Fatalf("run beside a protection file that holds no protection succeeded:\n%s", stderr)
	}
	var bk, fg runlog.Record
	for _, r := range h.records() {
		switch r.Op {
		case runlog.OpBackup:
			bk = r
		case runlog.OpForget:
			fg = r
		}
	}
	if bk.Result != runlog.OK || !bk.Start.After(time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("the day's backup: %+v", bk)
	}
	if fg.Result != runlog.Failed || fg.Failure != runlog.KindIntegrity ||
		!strings.Contains(fg.Message, "protected/"+name) || !strings.Contains(fg.Message, "'cadang protect --remove-unreadable' removes them") {
		t.Errorf("the forget record does not name the file and the remedy: %+v", fg)
	}
}

// openTestRepoPw opens the repository at repoDir with the password in the
// file pwFile.
func openTestRepoPw(t *testing.T, repoDir, pwFile string) *repo.Repository {
	t.Helper()
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(strings.TrimSpace(string(pw))), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestCLIProtectNamesZone: protect's confirmation printed the end of a
// protection by --for as "until 2027-12-08 09:31", with no zone, while
// backup --reason names it: it now names the organisation's zone, as
// snapshots does. A day given with --until stays that day.
func TestCLIProtectNamesZone(t *testing.T) {
	repoDir := cliNewRepo(t)
	dir := t.TempDir()
	t.Setenv(envLog, filepath.Join(dir, "runlog.jsonl"))
	cfg := filepath.Join(dir, "cadang.toml")
	writeFileT(t, cfg, []byte("[organization]\ntimezone = \"Asia/Makassar\"\n"), 0o600)
	t.Setenv("CADANG_CONFIG", cfg)
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "kontrak.txt"), []byte("kontrak pengadaan\n"), 0o644)
	id := str(t, cliBackup(t, repoDir, src), "snapshot_id")[:8]

	res := cliOK(t, "-r", repoDir, "protect", "--for", "90d", "--reason", "audit BPK", id)
	m := regexp.MustCompile(`^protected snapshot ` + id + ` until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) WITA \(audit BPK\)\n$`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("protect --for should name the zone:\n%s", res)
	}
	wita, err := time.LoadLocation("Asia/Makassar")
	if err != nil {
		t.Fatal(err)
	}
	printed, err := time.ParseInLocation(time.DateTime, m[1], wita)
	if err != nil {
		t.Fatal(err)
	}
	ps := protectList(t, repoDir)
	if len(ps) != 1 || ps[0].Until == nil || ps[0].Until.Sub(printed).Abs() >= time.Second {
		t.Errorf("printed end %s, recorded %+v", printed, ps)
	}
	res = cliOK(t, "-r", repoDir, "protect", "--until", "2099-03-01", "--reason", "audit BPK", id)
	if want := "protected snapshot " + id + " until 2099-03-01 (audit BPK)\n"; res.stdout != want {
		t.Errorf("protect --until:\n got %q\nwant %q", res.stdout, want)
	}
}
