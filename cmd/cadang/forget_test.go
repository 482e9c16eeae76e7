package main

// Tests of `cadang forget`: by name and by a retention policy. The
// snapshots with chosen times, hosts and tags are written through the
// library (backup has no --time), all naming the tree of one real backup,
// so that the repository stays consistent for check.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
)

type forgetSnap struct {
	label string
	time  string // RFC 3339
	host  string
	tags  []string
}

// forgetRepo makes a repository holding the given snapshots (and no other)
// and returns its path and the snapshots' full IDs by label. It sets
// CADANG_CONFIG to a configuration with [organization] timezone = tz, or
// to nothing when tz is "".
func forgetRepo(t *testing.T, tz string, snaps []forgetSnap) (string, map[string]string) {
	t.Helper()
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	t.Setenv("CADANG_CONFIG", "")
	src := t.TempDir()
	writeFileT(t, filepath.Join(src, "kontrak.txt"), []byte("kontrak pengadaan\n"), 0o644)
	base := str(t, cliBackup(t, repoDir, src), "snapshot_id")

	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	baseID, err := snapshot.FindSnapshotID(ctx, r, base)
	if err != nil {
		t.Fatal(err)
	}
	bsn, err := snapshot.LoadSnapshot(ctx, r, baseID)
	if err != nil {
		t.Fatal(err)
	}
	if tz != "" {
		cfg := filepath.Join(t.TempDir(), "cadang.toml")
		writeFileT(t, cfg, []byte(`[organization]
name = "LPSE Uji"
timezone = "`+tz+`"
[[job]]
name = "spse"
info_class = 7
classification = "rahasia"
  [[job.source]]
  name = "upload"
  paths = ["/srv/spse"]
  [[job.medium]]
  name = "disk-A"
  repository = "`+repoDir+`"
  repository_id = "`+r.ID()+`"
`), 0o600)
		t.Setenv("CADANG_CONFIG", cfg)
	}
	ids := map[string]string{}
	for _, s := range snaps {
		at, err := time.Parse(time.RFC3339, s.time)
		if err != nil {
			t.Fatal(err)
		}
		host := s.host
		if host == "" {
			host = "srv1"
		}
		sn := &snapshot.Snapshot{Time: at, Tree: bsn.Tree, Paths: []string{"/srv/spse"}, Hostname: host, Tags: s.tags,
			Reason: s.label, ProgramVersion: bsn.ProgramVersion}
		id, err := snapshot.SaveSnapshot(ctx, r, sn)
		if err != nil {
			t.Fatal(err)
		}
		ids[s.label] = id.String()
	}
	if err := r.RemoveFile(ctx, repo.SnapshotFile, baseID); err != nil {
		t.Fatal(err)
	}
	return repoDir, ids
}

// labelsLeft returns the labels of the repository's snapshots, sorted.
func labelsLeft(t *testing.T, repoDir string, ids map[string]string) []string {
	t.Helper()
	var out []string
	for _, sn := range cliSnapshots(t, repoDir) {
		found := false
		for l, id := range ids {
			if id == sn.ID {
				out = append(out, l)
				found = true
			}
		}
		if !found {
			t.Errorf("unexpected snapshot %s", sn.ID)
		}
	}
	slices.Sort(out)
	return out
}

// Two hosts; on srv1, c and d are 23:30 and 00:30 WIB: two days in
// Asia/Jakarta, one day (2 November) in UTC.
var forgetSnaps = []forgetSnap{
	{label: "a", time: "2026-11-01T02:00:00+07:00"},
	{label: "b", time: "2026-11-01T21:00:00+07:00"},
	{label: "c", time: "2026-11-02T23:30:00+07:00"},
	{label: "d", time: "2026-11-03T00:30:00+07:00"},
	{label: "e", time: "2026-11-01T02:00:00+07:00", host: "srv2"},
	{label: "f", time: "2026-11-02T02:00:00+07:00", host: "srv2", tags: []string{"monthly"}},
}

type forgetGroupOut struct {
	Host   *string  `json:"host"`
	Paths  []string `json:"paths"`
	Tags   []string `json:"tags"`
	Keep   []forgetSnapOut
	Remove []forgetSnapOut
}

type forgetSnapOut struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     string    `json:"time"`
	Hostname string    `json:"hostname"`
	Reasons  []string  `json:"reasons"`
	Tree     string    `json:"tree"`
	Paths    []string  `json:"paths"`
	Parsed   time.Time `json:"-"`
}

func forgetJSON(t *testing.T, res cliResult) []forgetGroupOut {
	t.Helper()
	if n := strings.Count(strings.TrimSpace(res.stdout), "\n"); n != 0 {
		t.Fatalf("forget --json printed %d lines, want one:\n%s", n+1, res)
	}
	var out []forgetGroupOut
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("forget --json: %v\n%s", err, res)
	}
	return out
}

// summarize writes groups as "HOST: keep l(reason,...) l ... remove l l".
func summarize(groups []forgetGroupOut, ids map[string]string) string {
	label := func(id string) string {
		for l, x := range ids {
			if x == id {
				return l
			}
		}
		return "?" + id
	}
	var lines []string
	for _, g := range groups {
		host := "-"
		if g.Host != nil {
			host = *g.Host
		}
		var f []string
		f = append(f, host+":", "keep")
		for _, s := range g.Keep {
			f = append(f, label(s.ID)+"("+strings.Join(s.Reasons, ",")+")")
		}
		f = append(f, "remove")
		for _, s := range g.Remove {
			f = append(f, label(s.ID))
		}
		lines = append(lines, strings.Join(f, " "))
	}
	return strings.Join(lines, "; ")
}

func TestCLIForgetPolicy(t *testing.T) {
	repoDir, ids := forgetRepo(t, "Asia/Jakarta", forgetSnaps)
	all := []string{"a", "b", "c", "d", "e", "f"}

	// A dry run prints the plan per group, says the zone, and removes nothing.
	res := cliOK(t, "-r", repoDir, "forget", "--keep-daily", "2", "--dry-run")
	for _, want := range []string{
		"calendar in Asia/Jakarta ([organization] timezone of ", "; keep 2 daily snapshots\n",
		"host srv1, paths /srv/spse: keep 2, would remove 2\n",
		"host srv2, paths /srv/spse: keep 2, would remove 0\n",
		"ID        Time                     Host  Tags     Paths      Action  Reasons\n",
		"ID        Time                     Host  Tags  Paths      Action  Reasons\n" +
			ids["d"][:8] + "  2026-11-03 00:30:00 WIB  srv1        /srv/spse  keep    daily snapshot\n" +
			ids["c"][:8] + "  2026-11-02 23:30:00 WIB  srv1        /srv/spse  keep    daily snapshot\n" +
			ids["b"][:8] + "  2026-11-01 21:00:00 WIB  srv1        /srv/spse  remove  \n",
		ids["f"][:8] + "  2026-11-02 02:00:00 WIB  srv2  monthly  /srv/spse  keep    daily snapshot\n",
		"would remove 2 snapshots (dry run: nothing was changed)\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, res.stdout)
		}
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, all) {
		t.Errorf("after the dry run: %v", got)
	}

	// --json: one line, an array of groups; times in the calendar's zone.
	res = cliOK(t, "-r", repoDir, "--json", "forget", "--keep-daily", "2", "--dry-run")
	groups := forgetJSON(t, res)
	if got, want := summarize(groups, ids), "srv1: keep d(daily snapshot) c(daily snapshot) remove b a; srv2: keep f(daily snapshot) e(daily snapshot) remove"; got != want {
		t.Errorf("--json:\n got %s\nwant %s", got, want)
	}
	g := groups[0]
	if !slices.Equal(g.Paths, []string{"/srv/spse"}) || g.Tags != nil || g.Keep[0].Time != "2026-11-03T00:30:00+07:00" ||
		g.Keep[0].ShortID != ids["d"][:8] || g.Keep[0].Tree == "" || g.Remove[0].Reasons == nil || len(g.Remove[0].Reasons) != 0 {
		t.Errorf("--json group: %+v", g)
	}
	if !strings.Contains(res.stderr, "calendar in Asia/Jakarta") {
		t.Errorf("--json does not say the zone on stderr:\n%s", res)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, all) {
		t.Errorf("after the JSON dry run: %v", got)
	}

	// More rules: reasons accumulate; keep-tag; keep-within (from the
	// group's newest snapshot).
	res = cliOK(t, "-r", repoDir, "--json", "forget", "--keep-last", "1", "--keep-within", "1d", "--keep-tag", "monthly", "--dry-run")
	if got, want := summarize(forgetJSON(t, res), ids),
		"srv1: keep d(within 1d,last snapshot) c(within 1d) remove b a; srv2: keep f(tag monthly,within 1d,last snapshot) remove e"; got != want {
		t.Errorf("last+within+tag:\n got %s\nwant %s", got, want)
	}

	// The policy removes exactly a and b; the rest still checks.
	res = cliOK(t, "-r", repoDir, "forget", "--keep-daily", "2")
	if !strings.Contains(res.stdout, "removed 2 snapshots (their data stays in the repository until a prune)") ||
		!strings.Contains(res.stdout, "keep 2, remove 2") {
		t.Errorf("forget output:\n%s", res)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"c", "d", "e", "f"}) {
		t.Errorf("after forget --keep-daily 2: %v", got)
	}
	// Again: nothing more to remove.
	res = cliOK(t, "-r", repoDir, "forget", "--keep-daily", "2")
	if !strings.Contains(res.stdout, "removed no snapshots") {
		t.Errorf("second forget:\n%s", res)
	}
	cliOK(t, "-r", repoDir, "check")
}

func TestCLIForgetTimeZone(t *testing.T) {
	// In UTC, c (16:30Z) and d (17:30Z) are one day: c goes, b stays.
	repoDir, ids := forgetRepo(t, "UTC", forgetSnaps)
	res := cliOK(t, "-r", repoDir, "--json", "forget", "--keep-daily", "2", "--host", "srv1")
	if got, want := summarize(forgetJSON(t, res), ids), "srv1: keep d(daily snapshot) b(daily snapshot) remove c a"; got != want {
		t.Errorf("UTC:\n got %s\nwant %s", got, want)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"b", "d", "e", "f"}) {
		t.Errorf("after forget in UTC: %v", got)
	}

	// Without a configuration: the local zone, and the output says so.
	repoDir, _ = forgetRepo(t, "", forgetSnaps)
	res = cliOK(t, "-r", repoDir, "forget", "--keep-daily", "2", "--dry-run")
	if !strings.Contains(res.stdout, "calendar in the local time zone (") || !strings.Contains(res.stdout, "no [organization] timezone configured") {
		t.Errorf("no configuration:\n%s", res)
	}
}

func TestCLIForgetGroupAndFilter(t *testing.T) {
	repoDir, ids := forgetRepo(t, "Asia/Jakarta", forgetSnaps)
	// a and e have the same time: in one group, the larger ID comes first.
	ae, older := "a e", "e"
	if ids["a"] < ids["e"] {
		ae, older = "e a", "a"
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--keep-last", "1"}, "srv1: keep d(last snapshot) remove c b a; srv2: keep f(last snapshot) remove e"},
		{[]string{"--keep-last", "1", "--group-by", "host"}, "srv1: keep d(last snapshot) remove c b a; srv2: keep f(last snapshot) remove e"},
		{[]string{"--keep-last", "1", "--group-by", ""}, "-: keep d(last snapshot) remove c f b " + ae},
		{[]string{"--keep-last", "1", "--group-by", "paths"}, "-: keep d(last snapshot) remove c f b " + ae},
		{[]string{"--keep-last", "1", "--group-by", "host,tags"}, "srv1: keep d(last snapshot) remove c b a; srv2: keep e(last snapshot) remove; srv2: keep f(last snapshot) remove"},
		{[]string{"--keep-last", "1", "--host", "srv2"}, "srv2: keep f(last snapshot) remove e"},
		{[]string{"--keep-last", "1", "--tag", "monthly"}, "srv2: keep f(last snapshot) remove"},
		// One a day (in WIB), and the oldest of the group as counts are left.
		{[]string{"--keep-daily", "-1", "--group-by", ""}, "-: keep d(daily snapshot) c(daily snapshot) b(daily snapshot) " +
			older + "(oldest daily snapshot) remove f " + strings.TrimSpace(strings.TrimSuffix(ae, older))},
	} {
		res := cliOK(t, append([]string{"-r", repoDir, "--json", "forget", "--dry-run"}, tc.args...)...)
		if got := summarize(forgetJSON(t, res), ids); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	cliOK(t, "-r", repoDir, "forget", "--keep-last", "1", "--host", "srv2")
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"a", "b", "c", "d", "f"}) {
		t.Errorf("after forget --host srv2: %v", got)
	}
}

func TestCLIForgetRefuses(t *testing.T) {
	repoDir, ids := forgetRepo(t, "Asia/Jakarta", forgetSnaps[:2])
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "forget: give snapshots or a policy (--keep-...); refusing to forget everything"},
		{[]string{"--keep-daily", "0", "--host", "srv1"}, "refusing to forget everything"},
		{[]string{"--dry-run"}, "refusing to forget everything"},
		{[]string{ids["a"][:8], "--keep-last", "1"}, "forget: give snapshots or a policy (--keep-...), not both"},
		{[]string{"--keep-within", "30"}, "--keep-within: invalid duration"},
		{[]string{"--keep-within", "5x"}, "unknown unit"},
		{[]string{"--keep-last", "-1"}, "--keep-last"},
		{[]string{"--keep-daily", "1", "--group-by", "user"}, "--group-by"},
		{[]string{"--keep-tag", ","}, "--keep-tag"},
	} {
		res := cliCode(t, 1, append([]string{"-r", repoDir, "forget"}, tc.args...)...)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, res)
		}
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after the refusals: %v", got)
	}
}

func TestCLIForgetNamed(t *testing.T) {
	repoDir, ids := forgetRepo(t, "", forgetSnaps[:4])
	// A missing name removes nothing, not even the names before it.
	res := cliCode(t, 1, "-r", repoDir, "forget", ids["a"][:8], "deadbeef")
	if !strings.Contains(res.stderr, "snapshot ID deadbeef: no matching snapshot found") || strings.Count(res.stderr, "deadbeef") != 1 {
		t.Errorf("missing snapshot:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "forget", "--dry-run", ids["a"][:8])
	if res.stdout != "would remove snapshot "+ids["a"][:8]+"\n" {
		t.Errorf("named dry run:\n%s", res)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("after the failed and the dry forget: %v", got)
	}
	res = cliOK(t, "-r", repoDir, "forget", ids["a"][:8], ids["b"], ids["a"][:6])
	if res.stdout != "removed snapshot "+ids["a"][:8]+"\nremoved snapshot "+ids["b"][:8]+"\n" {
		t.Errorf("named forget:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "--json", "forget", ids["c"][:8])
	groups := forgetJSON(t, res)
	if len(groups) != 1 || groups[0].Host != nil || len(groups[0].Keep) != 0 || len(groups[0].Remove) != 1 || groups[0].Remove[0].ID != ids["c"] {
		t.Errorf("named --json: %s", res.stdout)
	}
	if got := labelsLeft(t, repoDir, ids); !slices.Equal(got, []string{"d"}) {
		t.Errorf("after named forget: %v", got)
	}
	if _, err := os.Stat(repoDir); err != nil {
		t.Fatal(err)
	}
	cliOK(t, "-r", repoDir, "check")
}

// TestCLITimesInOrganizationZone: with an [organization] timezone
// configured, the CLI prints times in it, the zone of the run log and the
// SOP documents, whatever the machine's zone; --utc still prints UTC, and
// protect --until reads its date in the zone that is shown.
func TestCLITimesInOrganizationZone(t *testing.T) {
	repoDir, ids := forgetRepo(t, "Asia/Jakarta", []forgetSnap{{label: "a", time: "2026-03-01T20:30:00Z", host: "spse"}})
	out := cliOK(t, "-r", repoDir, "snapshots").stdout
	if !strings.Contains(out, "2026-03-02 03:30:00 WIB") {
		t.Errorf("snapshots: not in Asia/Jakarta:\n%s", out)
	}
	out = cliOK(t, "-r", repoDir, "--utc", "snapshots").stdout
	if !strings.Contains(out, "2026-03-01 20:30:00 UTC") {
		t.Errorf("snapshots --utc: not in UTC:\n%s", out)
	}
	// A date is read in the organization's zone, --utc or not.
	cliOK(t, "-r", repoDir, "--utc", "--json", "protect", ids["a"], "--until", "2099-01-02", "--reason", "zone test")
	out = cliOK(t, "-r", repoDir, "--json", "protect", "--list").stdout
	if !strings.Contains(out, `"until":"2099-01-02T00:00:00+07:00"`) {
		t.Errorf("protect --until 2099-01-02 not midnight in Asia/Jakarta:\n%s", out)
	}
	// Its end reads back as the day typed, --utc or not (it read
	// "2099-01-01 17:00" under --utc).
	if out := cliOK(t, "-r", repoDir, "--utc", "protect", "--list").stdout; !strings.Contains(out, "2099-01-02") || strings.Contains(out, "17:00") {
		t.Errorf("protect --list under --utc:\n%s", out)
	}
	// The run log's table says its zone, and --utc changes it.
	for flags, zone := range map[string]string{"": "(WIB)", "--utc": "(UTC)"} {
		args := []string{"-r", repoDir, "log"}
		if flags != "" {
			args = append([]string{flags}, args...)
		}
		if out := cliOK(t, args...).stdout; !strings.Contains(strings.SplitN(out, "\n", 2)[0], zone) {
			t.Errorf("log %s: the heading does not say %s:\n%s", flags, zone, out)
		}
	}
	t.Setenv("CADANG_CONFIG", "")
	out = cliOK(t, "-r", repoDir, "snapshots").stdout
	if want := time.Date(2026, 3, 1, 20, 30, 0, 0, time.UTC).Local().Format("2006-01-02 15:04:05 MST"); !strings.Contains(out, want) {
		t.Errorf("snapshots without a configuration: want the machine's zone (%s):\n%s", want, out)
	}
}
