package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unwritableLogs returns run-log paths that can be read (as an empty log)
// but not written, so that a command does its work and only its record
// fails: a symlink into a directory that does not exist (a log on a disk
// that is not mounted), which stops root too, and, for a user other than
// root, a file in a read-only directory.
func unwritableLogs(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(dir, "runlog.jsonl")
	if err := os.Symlink(filepath.Join(dir, "unmounted", "runlog.jsonl"), link); err != nil {
		t.Fatal(err)
	}
	logs := map[string]string{"dangling symlink": link}
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		logs["read-only directory"] = filepath.Join(ro, "runlog.jsonl")
	}
	return logs
}

// TestRunNotRecorded: `cadang run` whose backup succeeded but whose record
// cannot be written exits 13, as restore does, and says so; a run that
// failed keeps its own code (1 for a failed dump), not 13.
func TestRunNotRecorded(t *testing.T) {
	for name, log := range unwritableLogs(t) {
		t.Run(name, func(t *testing.T) {
			h := newSOPHarness(t)
			t.Setenv(envLog, log)
			h.at("2026-12-01T02:00:00+08:00")
			out, errs, code := h.cad("run", "spse-db")
			if code != 13 {
				t.Fatalf("run with an unwritable run log: exit %d, want 13\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			for _, want := range []string{"warning: run log:", "this backup is not recorded", "the backup itself succeeded, but it is not in the run log", "--log-file"} {
				if !strings.Contains(errs, want) {
					t.Errorf("no %q in\n%s", want, errs)
				}
			}
			if !strings.Contains(out, "backup (not recorded) of spse-db on disk-A: ok") {
				t.Errorf("what the run did is not said:\n%s", out)
			}
			// The backup itself is on the medium.
			snaps := h.must(0, "-r", h.repoA, "--password-file", h.pw, "snapshots", "--json")
			if strings.Count(snaps, `"id"`) != 2 {
				t.Errorf("the run's two snapshots are not on the medium:\n%s", snaps)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(log), "unmounted")); err == nil {
				t.Errorf("something was written behind the run log's link")
			}

			// A failed dump: the run failed, and its code stays 1.
			if err := os.WriteFile(h.fail, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			out, errs, code = h.cad("run", "spse-db")
			if code != 1 || !strings.Contains(errs, "this backup is not recorded") || strings.Contains(errs, "itself succeeded") ||
				!strings.Contains(errs, "dump-failed") {
				t.Errorf("failed run with an unwritable run log: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
		})
	}
}

// TestRestoreTestNotRecorded: a restore test that passed but cannot be
// recorded exits 13 (with a configuration file and without one), prints
// what it found, and writes no document for --output, which would cite no
// record; a test that failed keeps its code.
func TestRestoreTestNotRecorded(t *testing.T) {
	for name, log := range unwritableLogs(t) {
		t.Run(name, func(t *testing.T) {
			h := newSOPHarness(t)
			h.at("2026-12-01T02:00:00+08:00")
			h.must(0, "run", "spse-db")
			t.Setenv(envLog, log)
			doc := filepath.Join(h.dir, "ba-uji.md")
			out, errs, code := h.cad("restore-test", "--job", "spse-db", "-o", doc)
			if code != 13 {
				t.Fatalf("restore-test with an unwritable run log: exit %d, want 13\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			for _, want := range []string{"this restore-test is not recorded", "the restore-test itself succeeded, but it is not in the run log",
				"restore test of spse-db: ok", "--output: no document written"} {
				if !strings.Contains(errs, want) {
					t.Errorf("no %q in\n%s", want, errs)
				}
			}
			if !strings.Contains(out, "spse-db") {
				t.Errorf("the test's report is not printed:\n%s", out)
			}
			if _, err := os.Stat(doc); err == nil {
				t.Errorf("a document was written for an unrecorded test")
			}

			// Without a configuration file: the repository's test.
			bare := bareCLI(t, log)
			_, errs = bare(13, "-r", h.repoA, "--password-file", h.pw, "restore-test", "--sample", "2")
			if !strings.Contains(errs, "the restore-test itself succeeded") {
				t.Errorf("restore-test of a repository:\n%s", errs)
			}

			// A test that fails (a wrong password: nothing can be
			// restored) keeps its own code.
			wrong := filepath.Join(h.dir, "wrong-pw")
			if err := os.WriteFile(wrong, []byte("salah\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errs = bare(12, "-r", h.repoA, "--password-file", wrong, "restore-test", "--sample", "2")
			if strings.Contains(errs, "itself succeeded") {
				t.Errorf("a failed test is said to have succeeded:\n%s", errs)
			}
		})
	}
}
