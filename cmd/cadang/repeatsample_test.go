package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
)

// TestRestoreTestRepeatCommandDrawsSameSample: the command a restore test
// prints "to repeat the same sample" left out --snapshots, so with four
// snapshots it drew three of them where the test had drawn one. Run as
// printed, it draws the same snapshots and files.
func TestRestoreTestRepeatCommandDrawsSameSample(t *testing.T) {
	h := newSOPHarness(t)
	log := filepath.Join(h.dir, "bare.jsonl")
	bare := bareCLI(t, log)
	repoArgs := []string{"-r", h.repoA, "--password-file", h.pw}
	for i := 0; i < 4; i++ {
		bare(0, append(repoArgs, "backup", "-q", h.src)...)
	}
	out, _ := bare(0, append(repoArgs, "restore-test", "--snapshots", "1", "--sample", "2", "--seed", "9", "--lang", "en")...)
	var cmd string
	for _, l := range strings.Split(out, "\n") {
		if _, after, ok := strings.Cut(l, "To repeat the same sample"); ok {
			cmd = strings.TrimSpace(strings.TrimLeft(after, ": |*"))
			cmd = strings.TrimSpace(strings.TrimRight(cmd, "|"))
		}
	}
	want := "cadang -r " + h.repoA + " restore-test --seed 9 --sample 2 --snapshots 1"
	if cmd != want {
		t.Fatalf("repeat command %q, want %q:\n%s", cmd, want, out)
	}
	first := lastTest(t, bare)
	args := strings.Fields(strings.TrimPrefix(cmd, "cadang "))
	again, _ := bare(0, append([]string{"--password-file", h.pw, "--json"}, args...)...)
	var rec runlog.Record
	if err := json.Unmarshal([]byte(again), &rec); err != nil {
		t.Fatalf("%v\n%s", err, again)
	}
	if len(first.Snapshots) != 1 || !reflect.DeepEqual(first.Snapshots, rec.Test.Snapshots) || !reflect.DeepEqual(first.Items, rec.Test.Items) {
		t.Errorf("the printed command drew another sample:\n%+v\n%+v", first, rec.Test)
	}
}

// lastTest is the TestInfo of the last record of the run log bare uses.
func lastTest(t *testing.T, bare func(int, ...string) (string, string)) *runlog.TestInfo {
	t.Helper()
	js, _ := bare(0, "log", "--json")
	var recs []runlog.Record
	if err := json.Unmarshal([]byte(js), &recs); err != nil || len(recs) == 0 || recs[len(recs)-1].Test == nil {
		t.Fatalf("run log: %v\n%s", err, js)
	}
	return recs[len(recs)-1].Test
}
