package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPerRunRatios: ratios pair measures of the same run, skip failed
// ones, and the median is of the ratios, not a ratio of medians.
func TestPerRunRatios(t *testing.T) {
	a := []RemoteMeasure{{Measure: Measure{Run: 0, Wall: 1}}, {Measure: Measure{Run: 1, Wall: 9}}, {Measure: Measure{Run: 2, Wall: 4}},
		{Measure: Measure{Run: 3, Wall: 1, Err: "boom"}}}
	b := []RemoteMeasure{{Measure: Measure{Run: 2, Wall: 2}}, {Measure: Measure{Run: 1, Wall: 3}}, {Measure: Measure{Run: 0, Wall: 4}},
		{Measure: Measure{Run: 3, Wall: 1}}}
	got := perRunRatios(a, b, func(m RemoteMeasure) float64 { return m.Wall })
	// Ratios 0.25, 3, 2: median 2. The ratio of medians would be 4/3.
	if got.N != 3 || got.Median != 2 || got.Min != 0.25 || got.Max != 3 {
		t.Fatalf("got %+v, want median 2 of 3 ratios, 0.25-3", got)
	}
	if s := got.String(); s != "2.00 (0.25–3.00)" {
		t.Errorf("String() = %q", s)
	}
}

// TestRemoteQuick (BENCH_REMOTE=1) runs the remote and copy benchmarks at
// a tiny scale against the real servers, once: every step succeeds, every restore is
// identical, the copies verify and the tables come out. It asserts
// nothing about time.
func TestRemoteQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the remote benchmark starts servers and builds cadang")
	}
	// Minutes on a loaded 2-core machine (395 s at load 18, 2026-12-05):
	// too long for every go test ./..., so it is asked for.
	if os.Getenv("BENCH_REMOTE") == "" {
		t.Skip("BENCH_REMOTE not set: set BENCH_REMOTE=1 to run the remote and copy benchmarks once at scale 0.01 (needs versitygw, sshd, ssh, restic 0.19)")
	}
	var missing []string
	if findBinary("versitygw", "") == "" {
		missing = append(missing, "versitygw (go install "+VersitygwModule+")")
	}
	if !isExecutable("/usr/sbin/sshd") {
		missing = append(missing, "/usr/sbin/sshd (apt-get install openssh-server)")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		missing = append(missing, "ssh (restic's SFTP runs it)")
	}
	restic := findBinary("restic", "")
	if restic == "" || !strings.HasPrefix(toolVersion(restic, "version"), "restic 0.19") {
		missing = append(missing, "restic 0.19.x (go install "+ResticModule+")")
	}
	if len(missing) > 0 {
		t.Skipf("missing: %s", strings.Join(missing, ", "))
	}
	work := t.TempDir()
	ctx := context.Background()
	log := testWriter{t}
	res, err := RunRemote(ctx, RemoteOptions{WorkDir: work, Scale: 0.01, Runs: 1, Cadang: "build", Restic: restic, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("a step failed:\n%s", res.Markdown("test"))
	}
	for _, tg := range []string{"s3", "s3 +20ms", "sftp", "sftp +20ms"} {
		for _, tool := range []string{"cadang", "restic"} {
			ms := res.Measures[tg][tool][RStepRestore]
			if len(ms) != 1 || ms[0].Verified == nil || !*ms[0].Verified {
				t.Errorf("%s %s: restore not verified: %+v", tg, tool, ms)
			}
		}
	}
	md := res.Markdown("test")
	if !strings.Contains(md, "| sftp +20ms | restore |") || !strings.Contains(md, "delayed/direct") {
		t.Errorf("report lacks rows:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(work, "servers", "sshd", "sshd.pid")); err == nil {
		b, _ := os.ReadFile(filepath.Join(work, "servers", "sshd", "sshd.pid"))
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pidAlive(pid) {
			t.Errorf("sshd still running after RunRemote")
		}
	}

	cres, err := RunCopy(ctx, CopyOptions{WorkDir: work, Scale: 0.01, Days: 3, Reps: 1, Cadang: filepath.Join(work, "bin", "cadang"), Restic: restic, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if cres.Failed() {
		t.Fatalf("copy failed:\n%s", cres.Markdown("test"))
	}
	for _, tool := range []string{"cadang", "restic"} {
		if cm := cres.Measures[tool]; cm.CopiedSnapshots != 3 || cm.SourceSnapshots != 3 {
			t.Errorf("%s: %d snapshots copied of %d, want 3 of 3", tool, cm.CopiedSnapshots, cm.SourceSnapshots)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
