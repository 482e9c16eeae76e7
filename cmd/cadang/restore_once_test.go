package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A failed restore named each failed file twice on stderr: an "error:
// PATH: why" line, then "NOT RESTORED: PATH" in the list after it, 600
// lines for 300 files. Each file not restored is now named once, in its
// NOT RESTORED line with its cause; the entry whose error is not a file's
// (the symlink in the way of a directory) keeps its one "error:" line;
// the --json summary and the record are as before.
func TestCLIRestoreFailedFileNamedOnce(t *testing.T) {
	repoDir := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	src := t.TempDir()
	const inTheWay, below = 7, 4
	for i := range inTheWay {
		writeFileT(t, filepath.Join(src, "a", fmt.Sprintf("f%d", i)), []byte("f"), 0o644)
	}
	for i := range below {
		writeFileT(t, filepath.Join(src, "b", fmt.Sprintf("g%d", i)), []byte("g"), 0o644)
	}
	writeFileT(t, filepath.Join(src, "ok"), []byte("ok"), 0o644)
	cliBackup(t, repoDir, src)
	mk := func() string {
		target := t.TempDir()
		for i := range inTheWay {
			if err := os.MkdirAll(filepath.Join(target, "a", fmt.Sprintf("f%d", i)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(t.TempDir(), filepath.Join(target, "b")); err != nil {
			t.Fatal(err)
		}
		return target
	}
	res := cliCode(t, 3, "-r", repoDir, "restore", "latest:"+src, "--target", mk(), "--overwrite", "never")

	want := map[string]string{} // failed path: the cause its line gives
	for i := range inTheWay {
		want[filepath.Join(src, "a", fmt.Sprintf("f%d", i))] = "a directory is in the way"
	}
	for i := range below {
		want[filepath.Join(src, "b", fmt.Sprintf("g%d", i))] = "its directory could not be restored"
	}
	lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
	for p, cause := range want {
		var named []string
		for _, l := range lines {
			if strings.Contains(l, p+":") || strings.HasSuffix(l, p) {
				named = append(named, l)
			}
		}
		if len(named) != 1 {
			t.Errorf("%s named on %d lines of stderr, want 1:\n%s", p, len(named), strings.Join(named, "\n"))
			continue
		}
		if prefix := "NOT RESTORED: " + p + ": " + cause; !strings.HasPrefix(named[0], prefix) {
			t.Errorf("line %q, want it to begin %q", named[0], prefix)
		}
		if strings.Contains(named[0], "not restored: its") {
			t.Errorf("line %q says not restored twice", named[0])
		}
	}
	b := "error: " + filepath.Join(src, "b") + ": a symbolic link is in the way of the directory"
	if n := strings.Count(res.stderr, filepath.Join(src, "b")+":"); n != 1 || !strings.Contains(res.stderr, b) {
		t.Errorf("the symlink in the way is named on %d lines, want one %q:\n%s", n, b, res.stderr)
	}
	if last := closingLine(res.stderr); !strings.Contains(last, fmt.Sprintf("%d file(s) could not be restored (listed above)", len(want))) ||
		!strings.Contains(last, "by cause: ") {
		t.Errorf("closing line %q", last)
	}
	rec := lastRecord(t)
	if rec.Restore == nil || rec.Restore.FilesFailed != int64(len(want)) {
		t.Errorf("record: %+v; want %d files failed", rec.Restore, len(want))
	}

	// --json: the summary still lists each failed file and its error.
	res = cliCode(t, 3, "-r", repoDir, "--json", "restore", "latest:"+src, "--target", mk(), "--overwrite", "never")
	var sum struct {
		FailedFiles      []string `json:"failed_files"`
		FilesNotRestored int      `json:"files_not_restored"`
		Errors           []struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	out := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if err := json.Unmarshal([]byte(out[len(out)-1]), &sum); err != nil {
		t.Fatalf("%v: %s", err, res.stdout)
	}
	if sum.FilesNotRestored != len(want) || len(sum.FailedFiles) != len(want) || len(sum.Errors) != len(want)+1 {
		t.Errorf("--json: files_not_restored %d, %d failed files, %d errors; want %d, %d, %d",
			sum.FilesNotRestored, len(sum.FailedFiles), len(sum.Errors), len(want), len(want), len(want)+1)
	}
	if strings.Contains(res.stderr, "NOT RESTORED") || strings.Contains(res.stderr, "error: ") {
		t.Errorf("--json printed the list on stderr too:\n%s", res.stderr)
	}
}
